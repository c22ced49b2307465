package imageserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// proxyPatience is how long the proxy waits for the action's image to
// listen at boot.
const proxyPatience = 2 * time.Minute

// proxy serves a blackbox action whose own image runs beside the runtime
// (KWHISK_BLACKBOX_URL): it speaks OpenWhisk's container protocol to it,
// as the invoker would. The image's output is not the runtime's to read,
// so activations carry no logs.
type proxy struct {
	url    string
	client *http.Client
}

// init posts the action's /init, waiting for the image to listen; it
// returns the init's duration (that of the /init the image answered, as
// OpenWhisk's invoker measures it; waiting for the image to listen is its
// container's start), or the Outcome of an init that failed.
func (p *proxy) init(ctx context.Context, a *wire.ActionEnv, cfg *actionloop.Config, start time.Time) (time.Duration, *actionloop.Outcome) {
	body, err := json.Marshal(wire.InitRequest{Value: wire.InitValue{
		Name: path.Base(a.Name), Main: orMain(a.Main), Binary: a.Binary, Code: cfg.Code, Env: cfg.Env,
	}})
	if err != nil {
		return 0, failedInit(start, actionloop.DeveloperError(err.Error()), false)
	}
	ictx, cancel := context.WithTimeout(ctx, proxyPatience+cfg.Timeout)
	defer cancel()
	giveUp := time.Now().Add(proxyPatience)
	pause := fetchBackoff
	for {
		sent := time.Now()
		status, answer, _, err := p.post(ictx, "/init", body)
		switch {
		case err == nil && status == http.StatusOK:
			return time.Since(sent), nil
		case err == nil:
			return 0, failedInit(start, initAnswer(answer), false)
		case ictx.Err() != nil:
			return 0, failedInit(start, actionloop.DeveloperError(actionloop.InitTimeoutMessage(cfg.Timeout)), true)
		case time.Now().After(giveUp):
			return 0, failedInit(start, actionloop.DeveloperError(actionloop.MsgInitExited), false)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ictx.Done():
			t.Stop()
		}
		pause = min(pause*2, fetchMaxPause)
	}
}

func orMain(m string) string {
	if m == "" {
		return "main"
	}
	return m
}

func failedInit(start time.Time, resp whisk.Response, timedOut bool) *actionloop.Outcome {
	return &actionloop.Outcome{Start: start, End: time.Now(), Response: resp, Timeout: timedOut, Logs: []string{}}
}

// initAnswer maps an /init answer other than 200, as the invoker does.
func initAnswer(b []byte) whisk.Response {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && len(e.Error) > 0 && string(e.Error) != "null" {
		return whisk.Response{StatusCode: whisk.StatusDeveloperError, Result: wrapError(e.Error)}
	}
	return actionloop.DeveloperError("The action failed during initialization: " + string(b))
}

// run posts one activation to the image and maps its answer.
func (p *proxy) run(ctx context.Context, body *wire.RunRequest, cfg *actionloop.Config) wire.RunResponse {
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	// The image's __OW_DEADLINE is the limit enforced here, from now (see
	// serveRun).
	fwd := *body
	fwd.Deadline = wire.FormatDeadline(start.Add(cfg.Timeout))
	req, err := json.Marshal(&fwd)
	var resp whisk.Response
	timedOut := false
	if err == nil {
		var status int
		var answer []byte
		var n int
		status, answer, n, err = p.post(rctx, "/run", req)
		switch {
		case err != nil:
		case status == http.StatusOK:
			resp = actionloop.ResponseOf(answer, n)
		default:
			resp = actionloop.ResponseOf(answer, n)
			if resp.StatusCode == whisk.StatusApplicationError {
				resp.StatusCode = whisk.StatusDeveloperError
			} else if resp.StatusCode == whisk.StatusSuccess {
				resp = actionloop.DeveloperError(actionloop.MsgInvalidResponse + ": " + string(answer))
			}
		}
	}
	switch {
	case err == nil:
	case errors.Is(rctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		resp, timedOut = actionloop.DeveloperError(actionloop.RunTimeoutMessage(cfg.Timeout)), true
	default:
		resp = actionloop.DeveloperError(actionloop.MsgRunExited)
	}
	return wire.RunResponse{Response: &resp, Logs: []string{}, Timeout: timedOut, Start: start.UnixMilli(), End: time.Now().UnixMilli()}
}

// post sends body to the image's path and returns the status, the first
// MaxResultBytes+1 bytes of the answer and its length.
func (p *proxy) post(ctx context.Context, path string, body []byte) (int, []byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, actionloop.MaxResultBytes+1))
	n := int64(len(b))
	if err == nil && n > actionloop.MaxResultBytes {
		var rest int64
		rest, err = io.Copy(io.Discard, resp.Body)
		n += rest
	}
	return resp.StatusCode, b, int(n), err
}

// wrapError renders {"error":<v>}.
func wrapError(v []byte) json.RawMessage {
	b := make([]byte, 0, len(v)+10)
	b = append(b, `{"error":`...)
	b = append(b, v...)
	return append(b, '}')
}
