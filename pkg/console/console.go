// Package console serves the activation console, the browser app built
// from web/console into dist/ and embedded in the binary, so a gateway
// serves it with nothing else installed.
//
// The build is committed: `go build` and `go install` of the module give
// a working console without Node.js, and `make console-check` (part of
// `make test`) rebuilds it from the lockfile and fails when the committed
// files differ from the sources.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// contentTypes are the types of the files a build holds. Fixed here, not
// taken from the mime package, whose table a host's /etc/mime.types can
// change (.js as application/javascript, say).
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".json":  "application/json",
	".map":   "application/json",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

// securityPolicy lets the page load only its own files and talk only to
// its own origin: the page holds a namespace key.
const securityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"style-src 'self' 'unsafe-inline'; script-src 'self'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"

type file struct {
	body        []byte
	etag        string
	contentType string
}

// Files are the console's files, by path below the console's root ("" is
// index.html).
type Files struct {
	files map[string]file
}

// New reads the embedded build.
func New() *Files { return newFiles(dist) }

func newFiles(fsys fs.FS) *Files {
	f := &Files{files: map[string]file{}}
	sub, err := fs.Sub(fsys, "dist")
	if err != nil {
		return f
	}
	_ = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		body, err := fs.ReadFile(sub, name)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(body)
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			ct = http.DetectContentType(body)
		}
		f.files[name] = file{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, contentType: ct}
		return nil
	})
	return f
}

// Serve writes the file at name, a path below the console's root, and
// reports whether there is one; when there is not it writes nothing. Every
// answer must be revalidated (no-cache) against its ETag: file names carry
// no content hash, and a new binary may bring new files under old names.
func (f *Files) Serve(w http.ResponseWriter, r *http.Request, name string) bool {
	name = strings.TrimPrefix(name, "/")
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	fl, ok := f.files[name]
	if !ok {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", fl.contentType)
	h.Set("ETag", fl.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if path.Ext(name) == ".html" {
		h.Set("Content-Security-Policy", securityPolicy)
		h.Set("Referrer-Policy", "no-referrer")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(fl.body))
	return true
}
