// Package apiserver starts a real kube-apiserver on its own etcd for tests:
// the binaries third_party/build.sh builds (KWHISK_KUBE_BIN names their
// directory), a self-signed serving certificate, static bearer tokens
// (always AdminToken, in system:masters; more from Options.Tokens) and RBAC,
// so a test can act both as the cluster's admin and as a service account
// whose rights its RBAC decides. Start returns once /readyz answers ok
// (about 3 s); Stop ends both processes.
package apiserver

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// AdminToken is the bearer token of the server's system:masters user.
const AdminToken = "kwhisk-test-admin-token"

// Token is a static bearer token of the server and who it stands for.
type Token struct {
	Token, User, UID string
	Groups           []string
}

// Options say where the binaries are and how to serve.
type Options struct {
	Bin string // directory holding etcd and kube-apiserver
	Dir string // state (etcd data, certificates, keys) and the two logs

	// Address is the address to serve on (default 127.0.0.1). Use
	// 0.0.0.0 to be reachable from other network namespaces; then set
	// Advertise too, the address the server publishes as the kubernetes
	// Service's endpoint (in a namespace with no default route the server
	// cannot choose one itself).
	Address   string
	Advertise string
	Port      int // 0: a free port

	Tokens []Token  // beyond AdminToken
	Args   []string // more kube-apiserver flags, after the defaults
}

// Server is a running etcd and kube-apiserver.
type Server struct {
	url   string
	port  int
	dir   string
	procs []proc
}

// proc is a started process; done closes when it has exited.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts etcd, then kube-apiserver, and waits until it is ready or
// ctx ends. On error nothing is left running.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Bin == "" || o.Dir == "" {
		return nil, errors.New("apiserver: Options.Bin and Options.Dir are required")
	}
	if o.Address == "" {
		o.Address = "127.0.0.1"
	}
	s := &Server{dir: o.Dir}
	if err := s.start(ctx, o); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, o Options) error {
	clientPort, err := freePort()
	if err != nil {
		return err
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	if err := s.run(filepath.Join(o.Bin, "etcd"), "etcd",
		"--name", "kwhisk-test", "--data-dir", filepath.Join(o.Dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "kwhisk-test="+peerURL, "--log-level", "warn",
	); err != nil {
		return err
	}
	if err := poll(ctx, 30*time.Second, func() bool {
		resp, err := http.Get(etcdURL + "/health")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(b), `"health":"true"`)
	}); err != nil {
		return fmt.Errorf("apiserver: etcd not healthy (log in %s): %w", o.Dir, err)
	}

	keyFile := filepath.Join(o.Dir, "sa.key")
	if err := writeRSAKey(keyFile); err != nil {
		return err
	}
	tokens := filepath.Join(o.Dir, "tokens.csv")
	var csv strings.Builder
	for _, t := range append([]Token{{AdminToken, "admin", "admin-uid", []string{"system:masters"}}}, o.Tokens...) {
		fmt.Fprintf(&csv, "%s,%s,%s,%q\n", t.Token, t.User, t.UID, strings.Join(t.Groups, ","))
	}
	if err := os.WriteFile(tokens, []byte(csv.String()), 0o600); err != nil {
		return err
	}
	s.port = o.Port
	if s.port == 0 {
		if s.port, err = freePort(); err != nil {
			return err
		}
	}
	host := o.Address
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	s.url = "https://" + net.JoinHostPort(host, strconv.Itoa(s.port))
	args := []string{
		"--etcd-servers", etcdURL,
		"--secure-port", strconv.Itoa(s.port), "--bind-address", o.Address,
		"--cert-dir", filepath.Join(o.Dir, "certs"),
		"--service-account-key-file", keyFile, "--service-account-signing-key-file", keyFile,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--token-auth-file", tokens,
		"--authorization-mode", "RBAC",
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--disable-admission-plugins", "ServiceAccount",
		// Webhooks (and aggregated APIs) are called at an endpoint of
		// their Service: there is no kube-proxy for ClusterIPs.
		"--enable-aggregator-routing=true",
	}
	if o.Advertise != "" {
		args = append(args, "--advertise-address", o.Advertise)
	}
	if err := s.run(filepath.Join(o.Bin, "kube-apiserver"), "kube-apiserver", append(args, o.Args...)...); err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	apiserver := s.procs[len(s.procs)-1].done
	exited := func() bool {
		select {
		case <-apiserver:
			return true
		default:
			return false
		}
	}
	if err := poll(ctx, 60*time.Second, func() bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+AdminToken)
		resp, err := client.Do(req)
		if err != nil {
			return exited()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && string(b) == "ok"
	}); err != nil || exited() {
		if err == nil {
			err = errors.New("exited")
		}
		return fmt.Errorf("apiserver: kube-apiserver not ready (log in %s): %w", o.Dir, err)
	}
	return nil
}

// URL is where this process reaches the server: https://<address>:<port>,
// with 127.0.0.1 for an unspecified address.
func (s *Server) URL() string { return s.url }

// Port is the server's port.
func (s *Server) Port() int { return s.port }

// Dir is the state directory, with etcd.log and kube-apiserver.log.
func (s *Server) Dir() string { return s.dir }

// Config is a client configuration for token at URL, with a raised rate
// limit (client-go's default of 5/s throttles a test at once).
func (s *Server) Config(token string) *rest.Config {
	return &rest.Config{
		Host:            s.url,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		Timeout:         15 * time.Second,
		QPS:             100, Burst: 200,
	}
}

// Kubeconfig writes a kubeconfig for token to path, with url as the
// server (URL when empty) and no CA check (the certificate is self-signed).
func (s *Server) Kubeconfig(path, url, token string) error {
	if url == "" {
		url = s.url
	}
	return WriteKubeconfig(path, url, token)
}

// WriteKubeconfig writes a kubeconfig naming server with a bearer token
// and no CA check.
func WriteKubeconfig(path, server, token string) error {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: test
  user:
    token: %s
contexts:
- name: test
  context:
    cluster: test
    user: test
current-context: test
`, server, token)
	return os.WriteFile(path, []byte(cfg), 0o600)
}

// run starts a binary with its output in <dir>/<name>.log, in a process
// group of its own that dies with this process.
func (s *Server) run(bin, name string, args ...string) error {
	log, err := os.Create(filepath.Join(s.dir, name+".log"))
	if err != nil {
		return err
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("apiserver: start %s: %w", name, err)
	}
	p := proc{cmd, make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	s.procs = append(s.procs, p)
	return nil
}

// Stop ends the API server, then etcd: SIGTERM, and SIGKILL after 10 s
// (the API server sometimes ignores SIGTERM).
func (s *Server) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	s.procs = nil
}

// freePort returns a loopback port nothing listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return os.WriteFile(path, b, 0o600)
}

// poll calls cond until it is true, ctx ends or within passes, backing
// off from 10 ms to 250 ms.
func poll(ctx context.Context, within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	wait := 10 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", within)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, 250*time.Millisecond)
	}
	return nil
}
