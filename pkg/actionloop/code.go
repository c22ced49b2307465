package actionloop

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxUnzippedBytes caps what a zip may expand to (code itself is capped at
// 48 MB by the API).
const maxUnzippedBytes = 1 << 30

// CodeError is a problem with the action's code: a developer error, not a
// failure of the gateway. Its Message is what the activation reports.
type CodeError struct{ Message string }

func (e *CodeError) Error() string { return e.Message }

func codeErr(msg string) error { return &CodeError{Message: msg} }

// Unpack creates dir and puts the code in it: source text as the file
// named source, base64 code decoded and, when it is a zip, unzipped. A
// *CodeError reports code that cannot be unpacked.
func Unpack(dir, source, code string, binary bool) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	if !binary {
		return os.WriteFile(filepath.Join(dir, source), []byte(code), 0o600)
	}
	data, err := base64.StdEncoding.DecodeString(code)
	if err != nil {
		return codeErr("Unable to decode the action's code as base64: " + err.Error())
	}
	if !isZip(data) {
		return os.WriteFile(filepath.Join(dir, source), data, 0o600)
	}
	return unzip(dir, data)
}

func isZip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

// unzip extracts data into dir. Entries must stay inside dir: absolute
// names, ".." elements and links are refused.
func unzip(dir string, data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return codeErr("Unable to unzip the action's code: " + err.Error())
	}
	var total int64
	for _, f := range zr.File {
		name := strings.TrimPrefix(filepath.FromSlash(f.Name), "./")
		if name == "" {
			continue
		}
		if !filepath.IsLocal(name) || strings.Contains(f.Name, `\`) {
			return codeErr("The action's zip file has an entry outside its root: " + f.Name)
		}
		path := filepath.Join(dir, name)
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(path, 0o700); err != nil {
				return err
			}
			continue
		case !mode.IsRegular():
			return codeErr("The action's zip file has an entry that is not a regular file: " + f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		n, err := extract(path, f, mode, maxUnzippedBytes-total)
		total += n
		if err != nil {
			return err
		}
	}
	return nil
}

func extract(path string, f *zip.File, mode fs.FileMode, room int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, codeErr("Unable to unzip the action's code: " + err.Error())
	}
	defer rc.Close()
	perm := fs.FileMode(0o600)
	if mode&0o111 != 0 {
		perm = 0o700
	}
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return 0, err
	}
	r := &taggedReader{r: io.LimitReader(rc, room+1)}
	n, err := io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	switch {
	case n > room:
		return n, codeErr("The action's zip file expands to more than 1 GB.")
	case err != nil && r.err != nil:
		return n, codeErr("Unable to unzip the action's code: " + r.err.Error())
	}
	return n, err
}

// taggedReader remembers its reader's error, so a corrupt zip entry can be
// told from a failing disk.
type taggedReader struct {
	r   io.Reader
	err error
}

func (t *taggedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.err = err
	}
	return n, err
}
