package ingress

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// transport sends a planned request to a ready endpoint of its backend,
// re-reading the endpoints on every attempt: while pods come and go (the
// activator swapped for a revision's pods, a pod restarted) an address
// can refuse connections for a moment, which a real data plane papers
// over with retries of its own.
type transport struct {
	table  *table
	within time.Duration
	// h1 speaks HTTP/1.1 (and carries upgrades); h2c speaks HTTP/2 with
	// prior knowledge, for requests that arrived so, as Knative's own
	// auto transport chooses by the request's protocol.
	h1, h2c http.RoundTripper
}

func newTransport(t *table, within time.Duration) *transport {
	dialer := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	h1 := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConns:        1000,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     90 * time.Second,
		// Bodies pass as they are; the client asked for what it accepts.
		DisableCompression: true,
	}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConns:        1000,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		Protocols:           &p,
	}
	return &transport{table: t, within: within, h1: h1, h2c: h2c}
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := req.Context().Value(planKey{}).(*plan)
	rt := t.h1
	if req.ProtoMajor == 2 {
		rt = t.h2c
	}
	var body *holdBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &holdBody{rc: req.Body}
	}
	deadline := time.Now().Add(t.within)
	wait := 10 * time.Millisecond
	refused := map[string]bool{}
	for {
		addrs, hop, rerr := t.table.resolve(p.backend)
		var err error = rerr
		if rerr == nil && hop > 0 {
			return nil, errorf(http.StatusLoopDetected, "backend %s became this ingress", p.backend)
		}
		if rerr == nil {
			addr := pick(addrs, refused, t.table.intn)
			out := req.Clone(req.Context())
			out.URL.Host = addr
			if body != nil {
				out.Body = body
			}
			resp, rtErr := rt.RoundTrip(out)
			if rtErr == nil {
				return resp, nil
			}
			if !isDialError(rtErr) || body != nil && body.touched() {
				return nil, rtErr
			}
			refused[addr] = true
			err = rtErr
		} else if !rerr.retry {
			return nil, rerr
		}
		if time.Now().Add(wait).After(deadline) {
			return nil, err
		}
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// pick chooses a ready address at random, avoiding those that refused a
// connection in this request while any other is left.
func pick(addrs []string, refused map[string]bool, intn func(int) int) string {
	fresh := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if !refused[a] {
			fresh = append(fresh, a)
		}
	}
	if len(fresh) == 0 {
		fresh = addrs
	}
	return fresh[intn(len(fresh))]
}

// isDialError is whether err is a failure to connect, so nothing of the
// request was sent and it may go elsewhere.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// holdBody lets one request body serve several attempts: a failed dial
// closes the body it was given without reading it, so Close only passes
// through once a read has happened (after which there is no retry); the
// server closes the inbound body in any case when the handler returns.
type holdBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *holdBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *holdBody) Close() error {
	if b.read.Load() {
		return b.rc.Close()
	}
	return nil
}

func (b *holdBody) touched() bool { return b.read.Load() }
