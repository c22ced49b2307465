package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestConsoleRoutes: the console's files load without credentials, with
// their types; /console redirects to /console/; a missing file is the API's
// 404.
func TestConsoleRoutes(t *testing.T) {
	h := newHarness(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct{ path, want string }{{"/console", "/console/"}, {"/console?x=1", "/console/?x=1"}} {
		resp, err := noFollow.Get(h.url + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != c.want {
			t.Errorf("GET %s: %d to %q, want 301 to %q", c.path, resp.StatusCode, resp.Header.Get("Location"), c.want)
		}
	}

	index := do(t, h, http.MethodGet, "/console/", "", "")
	if index.status != http.StatusOK || index.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /console/: %d %q", index.status, index.header.Get("Content-Type"))
	}
	if !strings.Contains(string(index.body), `src="./assets/console.js"`) {
		t.Errorf("index page without its script:\n%s", index.body)
	}
	if index.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("the console's files carry the API's CORS headers")
	}
	js := do(t, h, http.MethodGet, "/console/assets/console.js", "", "")
	if js.status != http.StatusOK || js.header.Get("Content-Type") != "text/javascript; charset=utf-8" || len(js.body) == 0 {
		t.Errorf("GET console.js: %d %q, %d bytes", js.status, js.header.Get("Content-Type"), len(js.body))
	}
	head := do(t, h, http.MethodHead, "/console/index.html", "", "")
	if head.status != http.StatusOK || len(head.body) != 0 {
		t.Errorf("HEAD index.html: %d, %d bytes", head.status, len(head.body))
	}
	// With wrong credentials too: the files never look at them.
	if r := do(t, h, http.MethodGet, "/console/", "Basic bm86bm8=", ""); r.status != http.StatusOK {
		t.Errorf("GET /console/ with bad credentials: %d", r.status)
	}

	missing := do(t, h, http.MethodGet, "/console/nothing.js", "", "")
	if missing.status != http.StatusNotFound {
		t.Fatalf("GET a missing file: %d %s", missing.status, missing.body)
	}
	if m := missing.json(t); m["error"] != "The requested resource does not exist." || m["code"] != missing.header.Get("X-Request-ID") {
		t.Errorf("missing file's body: %s", missing.body)
	}
}
