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

// TestServeMetricsAddr: with --metrics-addr, /metrics is served there
// without credentials, with local mode's instance gauges, and no longer
// on the API's port.
func TestServeMetricsAddr(t *testing.T) {
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close() // Serve listens on it again
		return ln.Addr().String()
	}
	addr, metricsAddr := free(), free()
	cfg := config.Default()
	cfg.DataDir, cfg.Listen, cfg.APIHost, cfg.MetricsAddr = t.TempDir(), addr, "http://"+addr, metricsAddr
	cfg.DrainTimeout = 5 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, pw); _ = pw.Close() }()
	lines := bufio.NewScanner(pr)
	sawMetrics := false
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "wsk property set") {
		sawMetrics = sawMetrics || strings.Contains(lines.Text(), "http://"+metricsAddr+"/metrics")
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if !sawMetrics {
		t.Error("Serve did not say where it serves metrics")
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := get("http://" + metricsAddr + "/metrics")
	if status != http.StatusOK || !strings.Contains(body, `kwhisk_local_instances{state="idle"}`) || !strings.Contains(body, "kwhisk_store_commit_duration_seconds") {
		t.Errorf("GET /metrics on --metrics-addr: %d\n%s", status, body)
	}
	if status, _ := get(cfg.APIHost + "/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics on the API with --metrics-addr: %d, want 404", status)
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
}
