package ingress

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDNS starts dnsmasq on a loopback address of its own (all of
// 127.0.0.0/8 is local on Linux) and a free port, and resolves names
// through it as a pod would through the lab's 10.77.0.1:53.
func TestDNS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("dnsmasq binds as root")
	}
	if _, err := DNSBinary(); err != nil {
		t.Skip(err)
	}
	const ip = "127.77.0.53"
	// A port free on that address for UDP and TCP alike.
	var port int
	for range 20 {
		u, err := net.ListenPacket("udp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		port = u.LocalAddr().(*net.UDPAddr).Port
		tl, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		u.Close()
		if err == nil {
			tl.Close()
			break
		}
		port = 0
	}
	if port == 0 {
		t.Fatal("no free port")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := DNS(ctx, DNSConfig{IP: ip, Port: port, Answer: "10.77.0.1", Dir: dir})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		select {
		case <-d.Done():
		case <-time.After(10 * time.Second):
			t.Error("dnsmasq did not stop")
		}
	}()
	if d.Addr() != net.JoinHostPort(ip, strconv.Itoa(port)) {
		t.Errorf("Addr = %s", d.Addr())
	}

	lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
	defer lcancel()
	r := d.Resolver()
	for _, name := range []string{"x.y.svc.cluster.local", "autoscaler.knative-serving.svc.cluster.local.", "cluster.local"} {
		ips, err := r.LookupHost(lctx, name)
		if err != nil || len(ips) != 1 || ips[0] != "10.77.0.1" {
			t.Errorf("%s: %v %v, want [10.77.0.1]", name, ips, err)
		}
	}
	// Over TCP too (resolvers fall back to it for large answers).
	tcp := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "tcp", d.Addr())
	}}
	if ips, err := tcp.LookupHost(lctx, "a.b.svc.cluster.local"); err != nil || len(ips) != 1 || ips[0] != "10.77.0.1" {
		t.Errorf("over TCP: %v %v", ips, err)
	}
	// Nothing outside the cluster domain: no upstream.
	if ips, err := r.LookupHost(lctx, "example.com."); err == nil {
		t.Errorf("example.com resolved to %v", ips)
	}
	if ips, err := r.LookupHost(lctx, "cluster.localx."); err == nil {
		t.Errorf("cluster.localx resolved to %v", ips)
	}

	// The pid file names the running dnsmasq; the log records the queries.
	pid, err := os.ReadFile(filepath.Join(dir, "dnsmasq.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(string(pid))); err != nil || n <= 0 {
		t.Errorf("pid file: %q", pid)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "dnsmasq.log"))
	if !strings.Contains(string(log), "x.y.svc.cluster.local") {
		t.Errorf("query not in the log:\n%s", log)
	}

	// Stopped with the context.
	cancel()
	select {
	case <-d.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("dnsmasq did not stop")
	}
	qctx, qcancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer qcancel()
	if _, err := r.LookupHost(qctx, "x.y.svc.cluster.local"); err == nil {
		t.Error("still answering after the context ended")
	}
}

func TestDNSNeedsIPAndDir(t *testing.T) {
	if _, err := DNS(context.Background(), DNSConfig{Dir: t.TempDir()}); err == nil {
		t.Error("no IP: no error")
	}
	if _, err := DNS(context.Background(), DNSConfig{IP: "127.0.0.1"}); err == nil {
		t.Error("no Dir: no error")
	}
}
