package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
