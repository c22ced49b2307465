package imageserver

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Classic mode: OpenWhisk's own container protocol, /init once and then
// /run, with the logs on the runtime's stdout and stderr.

// serveInit is the classic /init: once, with OpenWhisk's answers.
func (s *Server) serveInit(w http.ResponseWriter, r *http.Request) {
	if s.action != nil {
		writeJSON(w, http.StatusForbidden, actionloop.ErrorResult(MsgInitTwice))
		return
	}
	s.initMu.Lock()
	defer s.initMu.Unlock()
	s.state.mu.Lock()
	done := s.state.cfg != nil
	s.state.mu.Unlock()
	if done {
		writeJSON(w, http.StatusForbidden, actionloop.ErrorResult(MsgInitTwice))
		return
	}
	var body wire.InitRequest
	if err := decodeBody(w, r, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, actionloop.ErrorResult("The init request is not valid JSON: "+err.Error()))
		return
	}
	v := body.Value
	// The invoker applies the action's log limit; this bounds what one
	// activation may buffer here.
	cfg := &actionloop.Config{Code: v.Code, Binary: v.Binary, Main: v.Main, Env: v.Env, APIHost: s.apiHost,
		LogLimit: int64(whisk.DefaultBounds.MaxLogs) << 20}
	s.state.mu.Lock()
	s.state.cfg = cfg
	s.state.mu.Unlock()
	failed, err := s.start(r.Context(), nil)
	if err != nil || failed != nil {
		s.state.mu.Lock()
		s.state.cfg = nil // a failed init may be retried
		s.state.mu.Unlock()
	}
	switch {
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, actionloop.ErrorResult(err.Error()))
	case failed != nil:
		s.writeLogs(failed.Logs)
		writeJSON(w, http.StatusBadGateway, failed.Response.Result)
	default:
		writeJSON(w, http.StatusOK, json.RawMessage(`{"ok":true}`))
	}
}

// serveClassicRun answers OpenWhisk's /run: the bare result, 200 for a
// success or an application error and 502 for a developer error; the
// logs go to stdout and stderr, each followed by the sentinel.
func (s *Server) serveClassicRun(w http.ResponseWriter, r *http.Request, body *wire.RunRequest) {
	out, _, failed, err := s.runOnce(r.Context(), request(body))
	if failed != nil {
		out = failed
	}
	switch {
	case errors.Is(err, errNotInitialized):
		writeJSON(w, http.StatusForbidden, actionloop.ErrorResult(MsgNotInitialized))
		return
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, actionloop.ErrorResult(err.Error()))
		return
	}
	s.writeLogs(out.Logs)
	status := http.StatusOK
	if out.Response.StatusCode >= whisk.StatusDeveloperError {
		status = http.StatusBadGateway
	}
	writeJSON(w, status, out.Response.Result)
}

// writeLogs writes log lines as the action wrote them, then the sentinels.
func (s *Server) writeLogs(lines []string) {
	out, errs := actionloop.ContainerOutput(lines)
	_, _ = s.stdout.Write(out) // the container's own streams: nowhere to report
	_, _ = s.stderr.Write(errs)
}
