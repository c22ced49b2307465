package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseDefaultsEnvAndFlags(t *testing.T) {
	c, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:3233" || c.Platform != "local" || c.APIHost != "http://127.0.0.1:3233" || c.BlockingWait != time.Minute {
		t.Errorf("defaults = %+v", c)
	}
	c, err = Parse([]string{"--listen", "127.0.0.1:9000"}, env(map[string]string{"KWHISK_LISTEN": "127.0.0.1:8000", "KWHISK_DATA_DIR": "/tmp/x", "KWHISK_BLOCKING_WAIT": "3s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.DataDir != "/tmp/x" || c.BlockingWait != 3*time.Second {
		t.Errorf("env then flags = %+v", c)
	}
}

func TestParseErrorsNameTheFlag(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"--bogus"}, want: "bogus"},
		{args: []string{"--platform", "docker"}, want: "--platform"},
		{args: []string{"--listen", "nowhere"}, want: "--listen"},
		{args: []string{"--blocking-wait", "soon"}, want: "blocking-wait"},
		{env: map[string]string{"KWHISK_PLATFORM": "x"}, want: "--platform"},
		{env: map[string]string{"KWHISK_BLOCKING_WAIT": "x"}, want: "KWHISK_BLOCKING_WAIT"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.args, env(tt.env))
		if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%v, %v) = %v, want a one-line usage error naming %q", tt.args, tt.env, err, tt.want)
		}
	}
}
