package debugserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServesProfilesOnLoopback(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine profile:") {
		t.Errorf("goroutine profile: %d %.200s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
}

func TestRefusesOtherAddresses(t *testing.T) {
	ln, err := Listen("0.0.0.0:0")
	if err == nil {
		ln.Close()
		t.Fatal("Listen on 0.0.0.0 succeeded")
	}
	if !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("error = %v", err)
	}
}
