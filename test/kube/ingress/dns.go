package ingress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DNSConfig configures [DNS].
type DNSConfig struct {
	// IP is the address dnsmasq binds (in the lab 10.77.0.1, which every
	// pod's resolv.conf names); Port defaults to 53.
	IP   string
	Port int
	// Answer is the address every name in Domain resolves to; default IP
	// (the ingress listens there too). Domain defaults to "cluster.local".
	Answer string
	Domain string
	// Dir receives dnsmasq.pid and dnsmasq.log (with every query logged).
	Dir string
	// Binary defaults to [DNSBinary].
	Binary string
}

// DNSServer is a running dnsmasq.
type DNSServer struct {
	addr string
	done chan struct{}
}

// Addr is the "ip:port" the server answers on (UDP and TCP).
func (d *DNSServer) Addr() string { return d.addr }

// Done is closed once dnsmasq has exited after the context ended.
func (d *DNSServer) Done() <-chan struct{} { return d.done }

// DNSBinary finds dnsmasq: on PATH, else Debian's /usr/sbin/dnsmasq
// (package dnsmasq-base, which is all that is needed; /usr/sbin is often
// not on a user's PATH).
func DNSBinary() (string, error) {
	if p, err := exec.LookPath("dnsmasq"); err == nil {
		return p, nil
	}
	const debian = "/usr/sbin/dnsmasq"
	if _, err := os.Stat(debian); err != nil {
		return "", errors.New("dnsmasq not found (apt-get install -y --no-install-recommends dnsmasq-base)")
	}
	return debian, nil
}

// DNS starts dnsmasq answering every name in the cluster domain with one
// address and nothing else (no upstream, no /etc/hosts: the lab has no way
// out, and a name that leaked out would only time out), which is the
// cluster DNS the test network needs: with no ClusterIPs, every Service
// name leads to the ingress, which forwards by Host. DNS returns once a
// query is answered; dnsmasq is stopped when ctx ends.
//
// dnsmasq rather than a DNS server of our own: it is one Debian package
// (dnsmasq-base), answers over UDP and TCP, and its query log shows what
// each pod asked.
func DNS(ctx context.Context, cfg DNSConfig) (*DNSServer, error) {
	if net.ParseIP(cfg.IP) == nil || cfg.Dir == "" {
		return nil, errors.New("ingress: DNS needs an IP and a Dir")
	}
	if cfg.Port == 0 {
		cfg.Port = 53
	}
	if cfg.Answer == "" {
		cfg.Answer = cfg.IP
	}
	if cfg.Domain == "" {
		cfg.Domain = "cluster.local"
	}
	if cfg.Binary == "" {
		b, err := DNSBinary()
		if err != nil {
			return nil, err
		}
		cfg.Binary = b
	}
	logFile := filepath.Join(cfg.Dir, "dnsmasq.log")
	cmd := exec.Command(cfg.Binary,
		"--keep-in-foreground",
		"--conf-file=/dev/null", // no /etc/dnsmasq.conf or its conf-dir
		"--no-resolv", "--no-hosts",
		"--listen-address="+cfg.IP, "--bind-interfaces",
		"--port="+strconv.Itoa(cfg.Port),
		"--address=/"+cfg.Domain+"/"+cfg.Answer,
		"--pid-file="+filepath.Join(cfg.Dir, "dnsmasq.pid"),
		"--log-facility="+logFile, "--log-queries",
		// Stay root: the pid and log files are in a root-owned test dir,
		// and it is the only user the lab's namespaces know to be there.
		"--user=root",
	)
	out, err := os.Create(filepath.Join(cfg.Dir, "dnsmasq.out"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("ingress: start dnsmasq: %w", err)
	}
	d := &DNSServer{addr: net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port)), done: make(chan struct{})}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(exited) }()
	go func() {
		defer close(d.done)
		select {
		case <-exited:
			return
		case <-ctx.Done():
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	r := d.Resolver()
	probe := "ready." + cfg.Domain
	deadline := time.Now().Add(10 * time.Second)
	for {
		qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		ips, err := r.LookupHost(qctx, probe)
		cancel()
		if err == nil && len(ips) > 0 && ips[0] == cfg.Answer {
			return d, nil
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(cfg.Dir, "dnsmasq.out"))
			l, _ := os.ReadFile(logFile)
			return nil, fmt.Errorf("ingress: dnsmasq exited: %s%s", strings.TrimSpace(string(b)), tail(l))
		case <-ctx.Done():
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("ingress: dnsmasq on %s does not answer %s (last: %v %v)", d.addr, probe, ips, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Resolver is a Go resolver that asks only this server, whatever the
// machine's resolv.conf says.
func (d *DNSServer) Resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, network, d.addr)
		},
	}
}

func tail(b []byte) string {
	const n = 2000
	if len(b) == 0 {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return "\n" + strings.TrimSpace(string(b))
}
