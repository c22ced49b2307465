package actionloop

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func zipOf(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestUnpack(t *testing.T) {
	tests := []struct {
		name    string
		code    string
		binary  bool
		want    map[string]string // files under the dir
		wantErr string            // a developer error
	}{
		{name: "text", code: "function main() {}", want: map[string]string{"index.js": "function main() {}"}},
		{name: "base64 text", code: base64.StdEncoding.EncodeToString([]byte("x=1")), binary: true,
			want: map[string]string{"index.js": "x=1"}},
		{name: "zip", code: zipOf(t, map[string]string{"package.json": `{"main":"lib/a.js"}`, "lib/a.js": "a", "./b": "b"}),
			binary: true, want: map[string]string{"package.json": `{"main":"lib/a.js"}`, "lib/a.js": "a", "b": "b"}},
		{name: "zip slip", code: zipOf(t, map[string]string{"../evil.js": "x"}), binary: true,
			wantErr: "The action's zip file has an entry outside its root: ../evil.js"},
		{name: "absolute", code: zipOf(t, map[string]string{"/etc/evil": "x"}), binary: true,
			wantErr: "The action's zip file has an entry outside its root: /etc/evil"},
		{name: "not base64", code: "!!!!", binary: true,
			wantErr: "Unable to decode the action's code as base64: illegal base64 data at input byte 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "code")
			err := Unpack(dir, "index.js", tt.code, tt.binary)
			var ce *CodeError
			switch {
			case tt.wantErr != "":
				if !errors.As(err, &ce) || ce.Message != tt.wantErr {
					t.Fatalf("Unpack() = %v, want developer error %q", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("Unpack() = %v", err)
			}
			got := map[string]string{}
			err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				rel, _ := filepath.Rel(dir, path) // path is under dir
				got[filepath.ToSlash(rel)] = string(b)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}
