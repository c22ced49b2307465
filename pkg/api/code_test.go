package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

type fakeCode map[string]string // token → code

func (f fakeCode) Code(_ context.Context, digest, token string) (string, error) {
	code, ok := f[token]
	switch {
	case !ok:
		return "", whisk.Errorf(whisk.KindUnauthorized, "bad token")
	case digest != "sha256:abc":
		return "", whisk.NotFound()
	}
	return code, nil
}

func (f fakeCode) RunKeys(_ context.Context, digest, token string) ([]string, error) {
	if _, ok := f[token]; !ok {
		return nil, whisk.Errorf(whisk.KindUnauthorized, "bad token")
	}
	return []string{"k1-" + digest, "k2"}, nil
}

// TestGetCode covers both fetches of a runtime: its code and its run keys.
func TestGetCode(t *testing.T) {
	withSource := New(Deps{Code: fakeCode{"good": "function main() {}"}})
	tests := []struct {
		name   string
		srv    *Server
		path   string
		auth   string
		status int
		body   string
	}{
		{"served", withSource, "/api/v1/code/sha256:abc", "Bearer good", http.StatusOK, "function main() {}"},
		{"no token", withSource, "/api/v1/code/sha256:abc", "", http.StatusUnauthorized, ""},
		{"basic auth is no token", withSource, "/api/v1/code/sha256:abc", "Basic Zm9vOmJhcg==", http.StatusUnauthorized, ""},
		{"bad token", withSource, "/api/v1/code/sha256:abc", "Bearer bad", http.StatusUnauthorized, ""},
		{"unknown digest", withSource, "/api/v1/code/sha256:def", "Bearer good", http.StatusNotFound, ""},
		{"local mode has no code route", New(Deps{}), "/api/v1/code/sha256:abc", "Bearer good", http.StatusNotFound, ""},
		{"run keys", withSource, "/api/v1/run-keys/sha256:abc", "Bearer good", http.StatusOK, `{"keys":["k1-sha256:abc","k2"]}` + "\n"},
		{"run keys need a token", withSource, "/api/v1/run-keys/sha256:abc", "", http.StatusUnauthorized, ""},
		{"run keys need a good token", withSource, "/api/v1/run-keys/sha256:abc", "Bearer bad", http.StatusUnauthorized, ""},
		{"local mode has no run keys", New(Deps{}), "/api/v1/run-keys/sha256:abc", "Bearer good", http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			tc.srv.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tc.status, body)
			}
			if tc.body != "" && string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
		})
	}
}

// TestCloseKeepsTheRuntimesRoutes: a closing gateway refuses new work
// with 503 but still serves /ping and what a revision starting for an
// activation in flight fetches.
func TestCloseKeepsTheRuntimesRoutes(t *testing.T) {
	s := New(Deps{Code: fakeCode{"good": "function main() {}"}})
	s.Close()
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/ping", http.StatusOK},
		{"/api/v1/code/sha256:abc", http.StatusOK},
		{"/api/v1/run-keys/sha256:abc", http.StatusOK},
		{"/api/v1/namespaces/_/actions", http.StatusServiceUnavailable},
		{"/api/v1/events/guest/t", http.StatusServiceUnavailable},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		req.Header.Set("Authorization", "Bearer good")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("%s while closing: %d %s, want %d", tc.path, rec.Code, rec.Body, tc.status)
		}
		if tc.status == http.StatusServiceUnavailable && !strings.Contains(rec.Body.String(), MsgShuttingDown) {
			t.Errorf("%s while closing: body %s, want %q", tc.path, rec.Body, MsgShuttingDown)
		}
	}
}
