package platformtest

import (
	"archive/zip"
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

//go:embed all:actions
var actions embed.FS

// sources says where the suite's actions of each family are: their
// directory under actions/ (the go tool skips names starting with "_", so
// the Go actions are no package of this module) and file extension.
var sources = map[string]struct{ dir, ext string }{
	"nodejs":   {"nodejs", ".js"},
	"python":   {"python", ".py"},
	"go":       {"_go", ".go"},
	"blackbox": {"blackbox", ".sh"},
}

// Run runs the conformance suite. newPlatform makes a platform and
// registers its cleanup with t; Run calls it once per kind. Every kind the
// platform advertises is exercised when the suite has actions for its
// family (nodejs, python, go, blackbox); others are logged and skipped.
func Run(t *testing.T, newPlatform func(t *testing.T) platform.Platform) {
	rts := newPlatform(t).Runtimes()
	t.Run("Runtimes", func(t *testing.T) { checkRuntimes(t, rts) })
	for _, rt := range rts {
		src, ok := sources[rt.Family]
		if !ok {
			t.Logf("no conformance actions for family %q: %s not tested", rt.Family, rt.Kind)
			continue
		}
		t.Run(rt.Kind, func(t *testing.T) {
			s := &suite{p: newPlatform(t), kind: rt.Kind, family: rt.Family, dir: src.dir, ext: src.ext, seq: new(atomic.Int64)}
			for _, c := range slices.Concat(cases, lifecycle) {
				if (c.only != "" && c.only != rt.Family) || slices.Contains(c.except, rt.Family) {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, s)
				})
			}
		})
	}
}

func checkRuntimes(t *testing.T, rts []platform.Runtime) {
	if len(rts) == 0 {
		t.Fatal("Runtimes() is empty")
	}
	defaults := map[string]int{}
	kinds := map[string]bool{}
	for _, rt := range rts {
		if kinds[rt.Kind] {
			t.Errorf("kind %q listed twice", rt.Kind)
		}
		kinds[rt.Kind] = true
		if rt.Kind == whisk.KindBlackbox {
			if rt.Family != whisk.KindBlackbox {
				t.Errorf("kind blackbox has family %q, want blackbox", rt.Family)
			}
		} else if ok, _ := regexp.MatchString(`^`+regexp.QuoteMeta(rt.Family)+`:[0-9][0-9.]*$`, rt.Kind); !ok {
			t.Errorf("kind %q is not <family>:<version> of family %q", rt.Kind, rt.Family)
		}
		if _, ok := defaults[rt.Family]; !ok {
			defaults[rt.Family] = 0
		}
		if rt.Default {
			defaults[rt.Family]++
		}
	}
	for f, n := range defaults {
		if n != 1 {
			t.Errorf("family %q has %d default kinds, want 1", f, n)
		}
	}
}

// suite runs the cases of one kind on one platform.
type suite struct {
	p      platform.Platform
	kind   string
	family string
	dir    string // of its actions, under actions/
	ext    string
	seq    *atomic.Int64
}

// action returns a fresh action version (unique key and path) running the
// named action file of the kind's family.
func (s *suite) action(t *testing.T, name string) *platform.Action {
	t.Helper()
	b, err := actions.ReadFile("actions/" + s.dir + "/" + name + s.ext)
	if err != nil {
		t.Fatal(err)
	}
	// The kind is in the name too: a platform whose actions outlive the
	// suite (Knative Services) must not see one kind's action replaced
	// by another kind's of the same name.
	n := strings.NewReplacer(":", "", ".", "").Replace(s.kind) + "-" + strconv.FormatInt(s.seq.Add(1), 10)
	return &platform.Action{
		Key:     s.kind + "/" + t.Name() + "/" + n,
		Path:    whisk.EntityPath{Namespace: "guest", Name: name + "-" + n},
		Version: "0.0.1",
		Kind:    s.kind,
		Code:    string(b),
		Limits:  whisk.Limits{Timeout: 20000, Memory: 256, Logs: 10, Concurrency: 1},
	}
}

// zipAction is action for a directory of files, sent as a base64 zip.
func (s *suite) zipAction(t *testing.T, dir string) *platform.Action {
	t.Helper()
	root := "actions/" + s.dir + "/" + dir
	files := map[string][]byte{}
	err := fs.WalkDir(actions, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := actions.ReadFile(p)
		files[path.Clean(p[len(root)+1:])] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.zipFiles(t, files)
}

// zipFiles is action for the given files, sent as a base64 zip; exec is
// stored as executable, the others are not.
func (s *suite) zipFiles(t *testing.T, files map[string][]byte) *platform.Action {
	t.Helper()
	a := s.action(t, "echo")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := slices.Sorted(maps.Keys(files))
	for _, name := range names {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if name == "exec" {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err == nil {
			_, err = w.Write(files[name])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	a.Code, a.Binary = base64.StdEncoding.EncodeToString(buf.Bytes()), true
	return a
}

// request is a run request the way the activation service makes one.
func request(a *platform.Action, value string) *platform.RunRequest {
	return &platform.RunRequest{
		Value:         json.RawMessage(value),
		Namespace:     "guest",
		ActivationID:  whisk.NewActivationID(),
		TransactionID: "tid-" + a.Path.Name,
	}
}

func (s *suite) run(t *testing.T, a *platform.Action, value string) *platform.Result {
	t.Helper()
	return s.runRequest(t, a, request(a, value))
}

func (s *suite) runRequest(t *testing.T, a *platform.Action, req *platform.RunRequest) *platform.Result {
	t.Helper()
	res, err := s.p.Run(context.Background(), a, req)
	if err != nil {
		t.Fatalf("Run(%s, %.200s) = %v", a.Path, req.Value, err)
	}
	if res.Start.IsZero() || res.End.Before(res.Start) {
		t.Errorf("Run(%s): Start %v, End %v; want Start set and End not before it", a.Path, res.Start, res.End)
	}
	if res.Cold != (res.InitTime > 0) && res.Response.StatusCode == whisk.StatusSuccess {
		t.Errorf("Run(%s): Cold %v with InitTime %v", a.Path, res.Cold, res.InitTime)
	}
	return res
}

// wantResponse checks the status code and the result, compared as JSON.
func wantResponse(t *testing.T, res *platform.Result, status int, result string) {
	t.Helper()
	var want, got any
	if err := json.Unmarshal([]byte(result), &want); err != nil {
		t.Fatalf("bad want %s: %v", result, err)
	}
	if err := json.Unmarshal(res.Response.Result, &got); err != nil {
		t.Fatalf("result %.200s is not JSON: %v", res.Response.Result, err)
	}
	if res.Response.StatusCode != status {
		t.Errorf("statusCode = %d, want %d (result %.300s)", res.Response.StatusCode, status, res.Response.Result)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result (-want +got):\n%.2000s", diff)
	}
}

// logLine is the shape OpenWhisk's tests match activation log lines with.
var logLine = regexp.MustCompile(`^\d+-\d+-\d+T\d+:\d+:\d+\.\d+Z\s+(stdout|stderr): `)

// logText checks every line's shape and returns them as "<stream>: <text>".
func logText(t *testing.T, res *platform.Result) []string {
	t.Helper()
	out := make([]string, 0, len(res.Logs))
	for _, l := range res.Logs {
		m := logLine.FindStringSubmatchIndex(l)
		if m == nil {
			t.Fatalf("log line %.200q does not match %s", l, logLine)
		}
		out = append(out, l[m[2]:])
	}
	return out
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func lastLine(t *testing.T, res *platform.Result) string {
	t.Helper()
	lines := logText(t, res)
	if len(lines) == 0 {
		t.Fatal("no logs")
	}
	return lines[len(lines)-1]
}
