package knative

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/runtime/runauth"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Messages of activations that failed between the gateway and the runtime
// (OpenWhisk's wording, as local mode reports them).
const (
	MsgRunExited      = "The action did not produce a valid response and exited unexpectedly."
	MsgLogsIncomplete = "The action did not initialize or run as expected. Log data might be missing."
)

// MaxResponseBytes bounds what the gateway reads of a run response: the
// result (1 MB), the logs (up to the 10 MB log limit) and their framing.
const MaxResponseBytes = 32 << 20

// RunMargin is how long past the revision's timeoutSeconds the gateway
// waits for an answer: Knative answers 504 by then, so only a connection
// that hangs gets that far.
const RunMargin = 15 * time.Second

// runWait bounds one run request of a: the revision's timeoutSeconds,
// which Knative applies to the request from when it reaches the ingress
// (a cold start included), and RunMargin.
func (p *Platform) runWait(a *platform.Action) time.Duration {
	return time.Duration(timeoutSeconds(a.Limits.Timeout, p.o.ReadyTimeout))*time.Second + RunMargin
}

// invoke sends the activation to the revision at url, once (again after
// runauth.RefetchAfter if the runtime refused the gateway's signature,
// which ran nothing), and waits at most wait (runWait) for the answer. The body has no deadline: the
// request may wait in Knative's activator for a pod, so the runtime
// starts the action's time limit, enforces it, and sets __OW_DEADLINE
// when the run reaches it. Failures before the request was sent are the
// platform's (an error); the connection lost after it was sent, or a 502
// from Knative, means the action's container died, a developer error as
// in local mode. No answer within wait, and other statuses than 200, are
// Knative's own failures (an error): the runtime reports the action's
// timeouts itself.
func (p *Platform) invoke(ctx context.Context, url string, a *platform.Action, req *platform.RunRequest, wait time.Duration) (*platform.Result, error) {
	body, err := json.Marshal(wire.RunRequest{
		Value: value(req.Value), Namespace: req.Namespace, ActionName: a.Path.FullyQualified(),
		ActionVersion: a.Version, ActivationID: string(req.ActivationID), TransactionID: req.TransactionID,
		APIKey: req.APIKey, TraceParent: req.TraceParent,
	})
	if err != nil {
		return nil, fmt.Errorf("encode run request: %w", err)
	}
	runCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var sent atomic.Bool
	runCtx = httptrace.WithClientTrace(runCtx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { sent.Store(i.Err == nil) },
	})
	start := time.Now()
	resp, raw, err := p.post(runCtx, url, a, req, body, start.Add(wait))
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		// The runtime refused the signature before it ran anything: it
		// may not have fetched a key the gateway has just rotated in yet,
		// which it does at most every runauth.RefetchAfter. Once more
		// after that, as the same activation.
		t := time.NewTimer(runauth.RefetchAfter)
		select {
		case <-t.C:
			resp, raw, err = p.post(runCtx, url, a, req, body, start.Add(wait))
		case <-runCtx.Done():
			t.Stop()
			err = runCtx.Err()
		}
	}
	switch {
	case err == nil:
	case ctx.Err() == nil && runCtx.Err() != nil:
		return nil, fmt.Errorf("revision at %s did not answer within %s", url, wait)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case sent.Load():
		return lost(start, MsgRunExited), nil
	default:
		return nil, fmt.Errorf("send activation to %s: %w", url, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusBadGateway:
		// Knative's queue-proxy lost the runtime under the request: the
		// container died (killed for its memory, say).
		return lost(start, MsgRunExited), nil
	case http.StatusUnauthorized:
		// The runtime refused the signature twice: the run keys' Secret
		// changed in a way its pods cannot follow (an operator's mistake),
		// or a clock is off by more than runauth.Skew.
		return nil, fmt.Errorf("revision at %s refused the gateway's run request (check the %s Secret and the clocks): %.200s", url, RunKeysSecret, raw)
	default:
		return nil, fmt.Errorf("revision at %s answered %s: %.200s", url, resp.Status, raw)
	}
	if len(raw) > MaxResponseBytes {
		return nil, fmt.Errorf("revision at %s answered more than %d bytes", url, MaxResponseBytes)
	}
	var out wire.RunResponse
	if err := json.Unmarshal(raw, &out); err != nil || out.Response == nil {
		return nil, fmt.Errorf("revision at %s answered an invalid run response: %v: %.200s", url, err, raw)
	}
	return result(&out), nil
}

// post sends one signed run request with body to the revision at url and
// reads the answer. Only the gateway may run the action: the runtime
// refuses a request without the signature, one that ran before (a
// replay), and one past expiry, the longest the gateway waits for it.
func (p *Platform) post(ctx context.Context, url string, a *platform.Action, req *platform.RunRequest, body []byte, expiry time.Time) (*http.Response, []byte, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(url, "/")+"/run", bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("run request to %s: %w", url, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("X-Request-Id", req.TransactionID)
	if req.TraceParent != "" {
		hreq.Header[wire.HeaderTraceParent] = []string{req.TraceParent}
	}
	hreq.Header.Set(runauth.Header, p.o.RunKeys.sign(a.Path.FullyQualified(), body, expiry))
	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	_ = resp.Body.Close() // fully read or failed; nothing more to learn
	return resp, raw, err
}

// result maps a run response onto the platform's result. A response with
// initTime is the revision's first run: a cold start, which began with
// the init.
func result(out *wire.RunResponse) *platform.Result {
	res := &platform.Result{
		Start:    time.UnixMilli(out.Start),
		End:      time.UnixMilli(out.End),
		Timeout:  out.Timeout,
		Response: whisk.Response{StatusCode: out.Response.StatusCode, Result: out.Response.Result},
		Logs:     out.Logs,
	}
	if out.InitTime != nil {
		res.Cold = true
		// Millisecond resolution must not make a cold start look warm.
		res.InitTime = max(time.Duration(*out.InitTime)*time.Millisecond, time.Millisecond)
		res.Start = res.Start.Add(-time.Duration(*out.InitTime) * time.Millisecond)
	}
	if res.End.Before(res.Start) {
		res.End = res.Start
	}
	if res.Logs == nil {
		res.Logs = []string{}
	}
	return res
}

// lost is the result of an activation whose answer never came.
func lost(start time.Time, msg string) *platform.Result {
	now := time.Now()
	return &platform.Result{
		Start: start, End: now,
		Response: whisk.Response{StatusCode: whisk.StatusDeveloperError, Result: whisk.ErrorResult(msg)},
		Logs:     []string{now.UTC().Format("2006-01-02T15:04:05.000000000Z") + " stderr: " + MsgLogsIncomplete},
	}
}

func value(v json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(v)) == 0 {
		return json.RawMessage(`{}`)
	}
	return v
}
