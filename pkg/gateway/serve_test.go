package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/config"
)

// TestServeStops runs the gateway in local mode, asks it for the API
// root, then ends its context: Serve drains and returns nil.
func TestServeStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // Serve listens on it again
	cfg := config.Default()
	cfg.DataDir, cfg.Listen, cfg.APIHost = t.TempDir(), addr, "http://"+addr
	cfg.DrainTimeout = 5 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, pw); _ = pw.Close() }()
	lines := bufio.NewScanner(pr)
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "wsk property set") {
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	resp, err := http.Get(cfg.APIHost + "/api/v1")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /api/v1: %d, want 200", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get(cfg.APIHost + "/api/v1"); err == nil {
		t.Error("the gateway still accepts requests after it stopped")
	}
}
