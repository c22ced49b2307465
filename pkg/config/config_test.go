package config

import (
	"log/slog"
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
	if c.Listen != "127.0.0.1:3233" || c.Platform != "local" || c.APIHost != "http://127.0.0.1:3233" || c.BlockingWait != time.Minute ||
		c.ActivationRetention != 7*24*time.Hour {
		t.Errorf("defaults = %+v", c)
	}
	if c.MetricsAddr != "" {
		t.Errorf("default metrics addr = %q, want none (the API serves /metrics)", c.MetricsAddr)
	}
	c, err = Parse([]string{"--listen", "127.0.0.1:9000"}, env(map[string]string{"KWHISK_LISTEN": "127.0.0.1:8000", "KWHISK_DATA_DIR": "/tmp/x", "KWHISK_BLOCKING_WAIT": "3s",
		"KWHISK_METRICS_ADDR": ":9090"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.DataDir != "/tmp/x" || c.BlockingWait != 3*time.Second || c.MetricsAddr != ":9090" {
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
		{args: []string{"--metrics-addr", "9090"}, want: "--metrics-addr"},
		{args: []string{"--blocking-wait", "soon"}, want: "blocking-wait"},
		{args: []string{"--activation-retention", "-1h"}, want: "--activation-retention"},
		{env: map[string]string{"KWHISK_ACTIVATION_RETENTION": "week"}, want: "KWHISK_ACTIVATION_RETENTION"},
		{args: []string{"--log-level", "loud"}, want: "log-level"},
		{env: map[string]string{"KWHISK_LOG_LEVEL": "verbose"}, want: "KWHISK_LOG_LEVEL"},
		{args: []string{"--otlp-endpoint", "collector:4318"}, want: "--otlp-endpoint"},
		{env: map[string]string{"KWHISK_PLATFORM": "x"}, want: "--platform"},
		{env: map[string]string{"KWHISK_BLOCKING_WAIT": "x"}, want: "KWHISK_BLOCKING_WAIT"},
		{args: []string{"--store-url", "mysql://db/kwhisk"}, want: "--store-url"},
		{args: []string{"--activation-retention", "-1h"}, want: "--activation-retention"},
		{args: []string{"--activation-retention", "7d"}, want: "activation-retention"},
		{args: []string{"--store-url", "postgres://u:p@:5432/x%zz"}, want: "--store-url"},
		{args: []string{"--store-url", "postgres:///kwhisk"}, want: "--store-url"},
		{env: map[string]string{"KWHISK_STORE_URL": "sqlite:///tmp/x"}, want: "--store-url"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.args, env(tt.env))
		if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%v, %v) = %v, want a one-line usage error naming %q", tt.args, tt.env, err, tt.want)
		}
	}
}

func TestThrottleAndSupervisorFlags(t *testing.T) {
	c, err := Parse(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Throttles.InvocationsPerMinute != nil || c.Throttles.ConcurrentInvocations != nil || c.Throttles.FiresPerMinute != nil {
		t.Errorf("throttles without flags = %+v, want all unset", c.Throttles)
	}
	if c.IdleTimeout != 10*time.Minute || c.StemCells != 1 || c.MaxInstances != 0 || c.MaxActionInstances != 0 {
		t.Errorf("supervisor defaults = %v, %d, %d, %d", c.IdleTimeout, c.StemCells, c.MaxInstances, c.MaxActionInstances)
	}
	c, err = Parse([]string{"--invocations-per-minute", "1000", "--fires-per-minute=0", "--idle-timeout", "30s", "--stem-cells", "2", "--max-instances", "8"},
		env(map[string]string{"KWHISK_CONCURRENT_INVOCATIONS": "7", "KWHISK_FIRES_PER_MINUTE": "5"}))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{*c.Throttles.InvocationsPerMinute, *c.Throttles.ConcurrentInvocations, *c.Throttles.FiresPerMinute, c.IdleTimeout, c.StemCells, c.MaxInstances}
	want := []any{1000, 7, 0, 30 * time.Second, 2, 8}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("parsed %v, want %v", got, want)
			break
		}
	}
	for _, args := range [][]string{
		{"--concurrent-invocations", "-1"},
		{"--invocations-per-minute", "many"},
		{"--idle-timeout", "0s"},
		{"--stem-cells", "-2"},
	} {
		name := strings.TrimPrefix(args[0], "--")
		if _, err := Parse(args, env(nil)); err == nil || !IsUsage(err) || !strings.Contains(err.Error(), name) {
			t.Errorf("Parse(%v) = %v, want a usage error naming %s", args, err, name)
		}
	}
}

// --max-action-concurrency (KWHISK_MAX_ACTION_CONCURRENCY) bounds an
// action's limits.concurrency; 500 unless set, at least 1.
func TestMaxActionConcurrency(t *testing.T) {
	c, err := Parse(nil, env(nil))
	if err != nil || c.MaxActionConcurrency != 500 {
		t.Errorf("default = %d, %v; want 500", c.MaxActionConcurrency, err)
	}
	c, err = Parse(nil, env(map[string]string{"KWHISK_MAX_ACTION_CONCURRENCY": "8"}))
	if err != nil || c.MaxActionConcurrency != 8 {
		t.Errorf("from env = %d, %v; want 8", c.MaxActionConcurrency, err)
	}
	c, err = Parse([]string{"--max-action-concurrency", "1"}, env(map[string]string{"KWHISK_MAX_ACTION_CONCURRENCY": "8"}))
	if err != nil || c.MaxActionConcurrency != 1 {
		t.Errorf("flag over env = %d, %v; want 1", c.MaxActionConcurrency, err)
	}
	if _, err := Parse([]string{"--max-action-concurrency", "0"}, env(nil)); !IsUsage(err) || !strings.Contains(err.Error(), "max-action-concurrency") {
		t.Errorf("0 = %v, want a usage error naming the flag", err)
	}
}

func TestStoreURL(t *testing.T) {
	c, err := Parse(nil, env(nil))
	if err != nil || c.StoreURL != "" {
		t.Fatalf("default store URL = %q, %v; want empty (SQLite)", c.StoreURL, err)
	}
	for _, u := range []string{"postgres://kwhisk:secret@db:5432/kwhisk?sslmode=require", "postgresql://db/kwhisk", "postgres:///kwhisk?host=/run/postgresql"} {
		c, err := Parse(nil, env(map[string]string{"KWHISK_STORE_URL": u}))
		if err != nil || c.StoreURL != u {
			t.Errorf("KWHISK_STORE_URL=%s: got %q, %v", u, c.StoreURL, err)
		}
	}
	_, err = Parse([]string{"--store-url", "mysql://kwhisk:secret@db/kwhisk"}, env(nil))
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad store URL: %v, want an error that does not show the password", err)
	}
}

func TestActivationRetention(t *testing.T) {
	c, err := Parse(nil, env(nil))
	if err != nil || c.ActivationRetention != 7*24*time.Hour {
		t.Fatalf("default retention = %v, %v; want 7 days", c.ActivationRetention, err)
	}
	c, err = Parse(nil, env(map[string]string{"KWHISK_ACTIVATION_RETENTION": "0"}))
	if err != nil || c.ActivationRetention != 0 {
		t.Errorf("KWHISK_ACTIVATION_RETENTION=0: %v, %v; want 0 (keep all)", c.ActivationRetention, err)
	}
	c, err = Parse([]string{"--activation-retention", "36h"}, env(nil))
	if err != nil || c.ActivationRetention != 36*time.Hour {
		t.Errorf("--activation-retention 36h: %v, %v", c.ActivationRetention, err)
	}
}

// --log-level (KWHISK_LOG_LEVEL) defaults to info; --otlp-endpoint to none.
func TestLogLevelAndOTLPEndpoint(t *testing.T) {
	c, err := Parse(nil, env(nil))
	if err != nil || c.LogLevel != slog.LevelInfo || c.OTLPEndpoint != "" {
		t.Errorf("defaults = %v, %q, %v; want info, none", c.LogLevel, c.OTLPEndpoint, err)
	}
	c, err = Parse([]string{"--otlp-endpoint", "http://127.0.0.1:4318"}, env(map[string]string{"KWHISK_LOG_LEVEL": "debug"}))
	if err != nil || c.LogLevel != slog.LevelDebug || c.OTLPEndpoint != "http://127.0.0.1:4318" {
		t.Errorf("set = %v, %q, %v; want debug, http://127.0.0.1:4318", c.LogLevel, c.OTLPEndpoint, err)
	}
}

func TestDebugAddrIsLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0", "127.0.0.2:1"} {
		c, err := Parse([]string{"--debug-addr", addr}, env(nil))
		if err != nil || c.DebugAddr != addr {
			t.Errorf("--debug-addr %s: %v, %q", addr, err, c.DebugAddr)
		}
	}
	c, err := Parse(nil, env(map[string]string{"KWHISK_DEBUG_ADDR": "127.0.0.1:7070"}))
	if err != nil || c.DebugAddr != "127.0.0.1:7070" {
		t.Errorf("KWHISK_DEBUG_ADDR: %v, %q", err, c.DebugAddr)
	}
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "[::]:6060", "10.0.0.1:6060", "example.com:6060", "127.0.0.1"} {
		_, err := Parse([]string{"--debug-addr", addr}, env(nil))
		if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), "--debug-addr") || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--debug-addr %s: %v, want a usage error about loopback", addr, err)
		}
	}
}
