package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
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

// Tokens of the test API server's static token file: the harness is in
// system:masters; the gateway authenticates as its service account from
// config/, so RBAC decides what it may do.
const (
	adminToken   = "kwhisk-test-admin-token"
	gatewayToken = "kwhisk-test-gateway-token"
	// gatewayUser is the service account of config/200-serviceaccount.yaml.
	gatewayUser = "system:serviceaccount:kwhisk:kwhisk-gateway"
)

// cluster is etcd and kube-apiserver on loopback.
type cluster struct {
	dir   string
	url   string // https://127.0.0.1:<port>
	procs []*exec.Cmd
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

// startCluster starts etcd and kube-apiserver from binDir, with state in
// dir, and returns once /readyz answers ok.
func startCluster(ctx context.Context, binDir, dir string) (*cluster, error) {
	c := &cluster{dir: dir}
	clientPort, err := freePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := freePort()
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	if err := c.start(filepath.Join(binDir, "etcd"), "etcd",
		"--name", "kwhisk-test", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "kwhisk-test="+peerURL, "--log-level", "warn",
	); err != nil {
		return nil, err
	}
	if err := poll(ctx, 30*time.Second, func() (bool, error) {
		resp, err := http.Get(etcdURL + "/health")
		if err != nil {
			return false, nil
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(b), `"health":"true"`), nil
	}); err != nil {
		c.stop()
		return nil, fmt.Errorf("etcd not healthy: %w", err)
	}

	keyFile := filepath.Join(dir, "sa.key")
	if err := writeRSAKey(keyFile); err != nil {
		c.stop()
		return nil, err
	}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(
		adminToken+",admin,admin-uid,\"system:masters\"\n"+
			gatewayToken+","+gatewayUser+",gateway-uid,\"system:serviceaccounts,system:serviceaccounts:kwhisk\"\n"), 0o600); err != nil {
		c.stop()
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		c.stop()
		return nil, err
	}
	c.url = "https://127.0.0.1:" + strconv.Itoa(port)
	if err := c.start(filepath.Join(binDir, "kube-apiserver"), "kube-apiserver",
		"--etcd-servers", etcdURL,
		"--secure-port", strconv.Itoa(port), "--bind-address", "127.0.0.1",
		"--cert-dir", filepath.Join(dir, "certs"),
		"--service-account-key-file", keyFile, "--service-account-signing-key-file", keyFile,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--token-auth-file", tokens,
		"--authorization-mode", "RBAC",
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--disable-admission-plugins", "ServiceAccount",
	); err != nil {
		c.stop()
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if err := poll(ctx, 60*time.Second, func() (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := client.Do(req)
		if err != nil {
			return false, nil
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && string(b) == "ok", nil
	}); err != nil {
		c.stop()
		return nil, fmt.Errorf("kube-apiserver not ready (log in %s): %w", dir, err)
	}
	return c, nil
}

// start runs a binary with its output in <dir>/<name>.log.
func (c *cluster) start(bin, name string, args ...string) error {
	log, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	c.procs = append(c.procs, cmd)
	return nil
}

// stop ends the API server, then etcd.
func (c *cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	c.procs = nil
}

// config is a client configuration for token.
func (c *cluster) config(token string) *rest.Config {
	return &rest.Config{
		Host:            c.url,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		Timeout:         15 * time.Second,
		QPS:             100, Burst: 200,
	}
}

// kubeconfig writes a kubeconfig for token and returns its path.
func (c *cluster) kubeconfig(name, token string) (string, error) {
	path := filepath.Join(c.dir, name+".kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: %s
  user:
    token: %s
contexts:
- name: test
  context:
    cluster: test
    user: %s
current-context: test
`, c.url, name, token, name)
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return os.WriteFile(path, b, 0o600)
}

// poll calls cond until it is true, it fails, ctx ends or within passes,
// backing off from 10 ms to 250 ms between calls.
func poll(ctx context.Context, within time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	wait := 10 * time.Millisecond
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %s", within)
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
}
