package podrunner

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeUserAgent is the kubelet's: Knative's queue-proxy and activator
// tell probes from traffic by it (a probe counted as a request would keep
// a revision from ever scaling to zero).
var probeUserAgent = "kube-probe/" + strings.Join(strings.SplitN(strings.TrimPrefix(kubeletVersion, "v"), ".", 3)[:2], ".")

// probeClient is shared by all HTTP probes; like the kubelet's, it keeps
// no connections and follows no redirects (a 3xx is a success).
var probeClient = sync.OnceValue(func() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			Proxy:             nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
})

// probes runs the container's probes against process cmd until ctx ends
// (the process exited): the startup probe first, then readiness and
// liveness. A failed startup or liveness probe kills the process, which
// the restart policy then restarts.
func (c *container) probes(ctx context.Context, cmd *exec.Cmd, env []string, dir string) {
	s := c.spec
	if p := s.StartupProbe; p != nil {
		passed := false
		c.watch(ctx, p, env, dir, false, 1, func(ok bool) bool {
			if ok {
				passed = true
				c.set(func() {
					c.started = true
					c.ready = s.ReadinessProbe == nil
				})
			} else {
				c.w.logf("%s: startup probe failed: killing", s.Name)
				c.kill(ctx, cmd, p)
			}
			return false
		})
		if !passed {
			return
		}
	}
	if p := s.ReadinessProbe; p != nil {
		go c.watch(ctx, p, env, dir, false, max(p.SuccessThreshold, 1), func(ok bool) bool {
			c.set(func() { c.ready = ok })
			return true
		})
	}
	if p := s.LivenessProbe; p != nil {
		go c.watch(ctx, p, env, dir, true, 1, func(ok bool) bool {
			if !ok {
				c.w.logf("%s: liveness probe failed: killing", s.Name)
				c.kill(ctx, cmd, p)
			}
			return ok
		})
	}
}

// watch probes every period from the initial delay and calls on when the
// result changes from state (consecutive successes reaching successes, or
// failures reaching the failure threshold); on returns whether to go on.
// A startup probe (state false, successes 1) that keeps failing reports
// false too.
func (c *container) watch(ctx context.Context, p *v1.Probe, env []string, dir string, state bool, successes int32, on func(bool) bool) {
	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	if p.PeriodSeconds == 0 {
		period = 10 * time.Second
	}
	if m := c.w.r.cfg.MaxProbePeriod; m > 0 {
		period = min(period, m)
	}
	failures := p.FailureThreshold
	if failures <= 0 {
		failures = 3
	}
	if sleep(ctx, time.Duration(p.InitialDelaySeconds)*time.Second) != nil {
		return
	}
	startup := !state && successes == 1 && p == c.spec.StartupProbe
	var succ, fail int32
	for {
		ok, msg := c.probe(ctx, p, env, dir)
		if ctx.Err() != nil {
			return
		}
		if ok {
			succ, fail = succ+1, 0
		} else {
			succ, fail = 0, fail+1
		}
		switch {
		case ok && !state && succ >= successes:
			state = true
			if !on(true) {
				return
			}
		case !ok && (state || startup) && fail >= failures:
			c.w.logf("%s: probe failed %d times: %s", c.spec.Name, fail, msg)
			state = false
			if !on(false) {
				return
			}
		}
		if sleep(ctx, period) != nil {
			return
		}
	}
}

// probe runs p once; an exec probe runs in the host with the container's
// environment and working directory.
func (c *container) probe(ctx context.Context, p *v1.Probe, env []string, dir string) (ok bool, msg string) {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	podIP := c.w.podIP().String()
	switch {
	case p.HTTPGet != nil:
		return c.httpProbe(ctx, p.HTTPGet, podIP)
	case p.TCPSocket != nil:
		port, err := c.port(p.TCPSocket.Port)
		if err != nil {
			return false, err.Error()
		}
		return dialProbe(ctx, podIP, port)
	case p.GRPC != nil:
		return dialProbe(ctx, podIP, int(p.GRPC.Port))
	case p.Exec != nil:
		if len(p.Exec.Command) == 0 {
			return false, "exec probe without a command"
		}
		cmd := c.w.host.Command(ctx, p.Exec.Command[0], p.Exec.Command[1:]...)
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return false, fmt.Sprintf("exec %v: %v: %s", p.Exec.Command, err, out)
		}
		return true, ""
	}
	return false, "probe has no handler"
}

// preStop runs the container's preStop hook, if it has one, until the
// hook returns or ctx ends. The hook's outcome does not matter:
// SIGTERM follows either way.
func (c *container) preStop(ctx context.Context) {
	if c.spec.Lifecycle == nil || c.spec.Lifecycle.PreStop == nil {
		return
	}
	h := c.spec.Lifecycle.PreStop
	switch {
	case h.HTTPGet != nil:
		c.httpProbe(ctx, h.HTTPGet, c.w.podIP().String())
	case h.Exec != nil && len(h.Exec.Command) > 0:
		_ = c.w.host.Command(ctx, h.Exec.Command[0], h.Exec.Command[1:]...).Run()
	case h.Sleep != nil:
		t := time.NewTimer(time.Duration(h.Sleep.Seconds) * time.Second)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

func (c *container) httpProbe(ctx context.Context, g *v1.HTTPGetAction, podIP string) (bool, string) {
	port, err := c.port(g.Port)
	if err != nil {
		return false, err.Error()
	}
	host := g.Host
	if host == "" {
		host = podIP
	}
	scheme := "http"
	if g.Scheme == v1.URISchemeHTTPS {
		scheme = "https"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+path, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", probeUserAgent)
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		if _, ours := map[string]bool{"User-Agent": true, "Accept": true}[http.CanonicalHeaderKey(h.Name)]; ours {
			req.Header.Set(h.Name, h.Value) // the probe's own replaces the default
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := probeClient().Do(req)
	if err != nil {
		return false, err.Error()
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 10<<10)
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
}

func dialProbe(ctx context.Context, host string, port int) (bool, string) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false, err.Error()
	}
	conn.Close()
	return true, ""
}

// port is a probe's port: a number, or the name of one of the
// container's ports.
func (c *container) port(p intstr.IntOrString) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	for _, cp := range c.spec.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("no port named %q in container %s", p.StrVal, c.spec.Name)
}
