package console

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func serve(f *Files, method, name string, header http.Header) (*httptest.ResponseRecorder, bool) {
	r := httptest.NewRequest(method, "/console/"+name, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	ok := f.Serve(w, r, name)
	return w, ok
}

func TestServe(t *testing.T) {
	f := newFiles(fstest.MapFS{
		"dist/index.html":         {Data: []byte("<!doctype html><title>x</title>")},
		"dist/assets/console.js":  {Data: []byte("console.log(1)")},
		"dist/assets/index.css":   {Data: []byte("body{}")},
		"dist/assets/data.bin":    {Data: []byte{0, 1, 2}},
		"dist/assets/sub/x.svg":   {Data: []byte("<svg/>")},
		"outside-dist/secret.txt": {Data: []byte("no")},
	})
	for _, c := range []struct{ name, ctype, body string }{
		{"", "text/html; charset=utf-8", "<!doctype html><title>x</title>"},
		{"index.html", "text/html; charset=utf-8", "<!doctype html><title>x</title>"},
		{"assets/console.js", "text/javascript; charset=utf-8", "console.log(1)"},
		{"assets/index.css", "text/css; charset=utf-8", "body{}"},
		{"assets/sub/x.svg", "image/svg+xml", "<svg/>"},
		{"assets/data.bin", "application/octet-stream", "\x00\x01\x02"},
	} {
		w, ok := serve(f, http.MethodGet, c.name, nil)
		if !ok || w.Code != http.StatusOK {
			t.Fatalf("%q: served %v, status %d", c.name, ok, w.Code)
		}
		if got := w.Header().Get("Content-Type"); got != c.ctype {
			t.Errorf("%q: Content-Type %q, want %q", c.name, got, c.ctype)
		}
		if w.Body.String() != c.body {
			t.Errorf("%q: body %q", c.name, w.Body.String())
		}
		if got := w.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%q: Cache-Control %q", c.name, got)
		}
		if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(w.Header().Get("ETag")) {
			t.Errorf("%q: ETag %q", c.name, w.Header().Get("ETag"))
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%q: no nosniff", c.name)
		}
		csp := w.Header().Get("Content-Security-Policy")
		if html := strings.HasPrefix(c.ctype, "text/html"); html != strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("%q: Content-Security-Policy %q", c.name, csp)
		}
	}
	for _, name := range []string{"missing.js", "assets", "assets/", "../outside-dist/secret.txt", "dist/index.html"} {
		w, ok := serve(f, http.MethodGet, name, nil)
		if ok || w.Body.Len() != 0 || len(w.Header()) != 0 {
			t.Errorf("%q: served %v, wrote %d bytes and headers %v", name, ok, w.Body.Len(), w.Header())
		}
	}
}

func TestRevalidateAndHead(t *testing.T) {
	f := newFiles(fstest.MapFS{"dist/index.html": {Data: []byte("<p>a</p>")}})
	first, _ := serve(f, http.MethodGet, "", nil)
	etag := first.Header().Get("ETag")
	w, _ := serve(f, http.MethodGet, "", http.Header{"If-None-Match": {etag}})
	if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("If-None-Match %s: status %d, %d bytes", etag, w.Code, w.Body.Len())
	}
	w, _ = serve(f, http.MethodGet, "", http.Header{"If-None-Match": {`"other"`}})
	if w.Code != http.StatusOK {
		t.Errorf("stale ETag: status %d", w.Code)
	}
	w, _ = serve(f, http.MethodHead, "index.html", nil)
	if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "8" {
		t.Errorf("HEAD: status %d, %d bytes, Content-Length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
	// Another build, another ETag.
	g := newFiles(fstest.MapFS{"dist/index.html": {Data: []byte("<p>b</p>")}})
	if w, _ := serve(g, http.MethodGet, "", nil); w.Header().Get("ETag") == etag {
		t.Error("different files share an ETag")
	}
}

// TestEmbedded checks the committed build: an index page whose scripts
// and stylesheets are all in it.
func TestEmbedded(t *testing.T) {
	f := New()
	w, ok := serve(f, http.MethodGet, "", nil)
	if !ok || w.Code != http.StatusOK {
		t.Fatalf("index: served %v, status %d", ok, w.Code)
	}
	refs := regexp.MustCompile(`(?:src|href)="\./([^"]+)"`).FindAllStringSubmatch(w.Body.String(), -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d local files, want its script and stylesheet:\n%s", len(refs), w.Body.String())
	}
	for _, m := range refs {
		if w, ok := serve(f, http.MethodGet, m[1], nil); !ok || w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("%s, referenced by index.html: served %v, status %d", m[1], ok, w.Code)
		}
	}
}
