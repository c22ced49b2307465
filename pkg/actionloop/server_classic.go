package actionloop

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Classic mode: OpenWhisk's own container protocol, /init once and then
// /run, with the logs on the runtime's stdout and stderr.

// initBody is OpenWhisk's /init body.
type initBody struct {
	Value struct {
		Name   string            `json:"name"`
		Main   string            `json:"main"`
		Code   string            `json:"code"`
		Binary bool              `json:"binary"`
		Env    map[string]string `json:"env"`
	} `json:"value"`
}

// serveInit is the classic /init: once, with OpenWhisk's answers.
func (s *Server) serveInit(w http.ResponseWriter, r *http.Request) {
	if s.action != nil {
		writeJSON(w, http.StatusForbidden, errorResult(MsgInitTwice))
		return
	}
	s.initMu.Lock()
	defer s.initMu.Unlock()
	s.state.mu.Lock()
	done := s.state.cfg != nil
	s.state.mu.Unlock()
	if done {
		writeJSON(w, http.StatusForbidden, errorResult(MsgInitTwice))
		return
	}
	var body initBody
	if err := decodeBody(w, r, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, errorResult("The init request is not valid JSON: "+err.Error()))
		return
	}
	v := body.Value
	// The invoker applies the action's log limit; this bounds what one
	// activation may buffer here.
	cfg := &Config{Code: v.Code, Binary: v.Binary, Main: v.Main, Env: v.Env, APIHost: s.apiHost,
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
		writeJSON(w, http.StatusInternalServerError, errorResult(err.Error()))
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
func (s *Server) serveClassicRun(w http.ResponseWriter, r *http.Request, body *runBody) {
	out, _, failed, err := s.runOnce(r.Context(), body.request())
	if failed != nil {
		out = failed
	}
	switch {
	case errors.Is(err, errNotInitialized):
		writeJSON(w, http.StatusForbidden, errorResult(MsgNotInitialized))
		return
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, errorResult(err.Error()))
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
	var out, errs bytes.Buffer
	for _, l := range lines {
		if len(l) < timestampWidth {
			continue
		}
		switch rest := l[timestampWidth:]; {
		case strings.HasPrefix(rest, streamTags[stdout]):
			out.WriteString(rest[len(streamTags[stdout]):] + "\n")
		case strings.HasPrefix(rest, streamTags[stderr]):
			errs.WriteString(rest[len(streamTags[stderr]):] + "\n")
		}
	}
	out.WriteString(Sentinel + "\n")
	errs.WriteString(Sentinel + "\n")
	_, _ = s.stdout.Write(out.Bytes()) // the container's own streams: nowhere to report
	_, _ = s.stderr.Write(errs.Bytes())
}
