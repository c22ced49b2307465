package controlplane_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/controlplane"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/platform/local"
	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
)

// gone is how soon after a delete or an update the processes of the
// versions it retired must have exited.
const gone = 3 * time.Second

// TestActionProcessesFollowWrites drives the real control plane over a
// real SQLite store and the real local platform through the API, and
// watches the launcher processes themselves in /proc: an update stops
// the old version's, a delete the action's, promptly rather than at the
// idle timeout (10 minutes here).
func TestActionProcessesFollowWrites(t *testing.T) {
	if _, err := os.Stat("/proc/self/cwd"); err != nil {
		t.Skip("no /proc")
	}
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "kwhisk.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := auth.Bootstrap(ctx, st); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "local")
	plat, err := local.New(local.Options{WorkDir: work, IdleTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plat.Close() })
	if !hasNode(plat) {
		t.Skip("no node on PATH")
	}
	ctrl := controlplane.New(st, plat, controlplane.Options{Tokens: events.NewTokens([]byte("0123456789abcdef0123456789abcdef"))})
	hs := httptest.NewServer(ctrl.API)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { _ = ctrl.Activations.Drain(ctx) })
	guest := auth.WellKnown[0]
	c := &client{t: t, url: hs.URL + "/api/v1/namespaces/_", authz: "Basic " + base64.StdEncoding.EncodeToString([]byte(guest.UUID+":"+guest.Key))}
	instances := filepath.Join(work, "instances")

	put := func(code string, overwrite bool) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"exec": map[string]string{"kind": "nodejs:default", "code": code}}) // plain values always marshal
		if status, b := c.do(http.MethodPut, "/actions/lc?overwrite="+strconv.FormatBool(overwrite), string(body)); status != http.StatusOK {
			t.Fatalf("put action: %d %s", status, b)
		}
	}
	invoke := func(want string) {
		t.Helper()
		status, b := c.do(http.MethodPost, "/actions/lc?blocking=true&result=true", `{}`)
		if status != http.StatusOK || !strings.Contains(string(b), want) {
			t.Fatalf("invoke: %d %s; want %s", status, b, want)
		}
	}

	put(`function main() { return { v: "one" } }`, false)
	invoke(`"one"`)
	v1 := launchers(t, instances)
	if len(v1) != 1 {
		t.Fatalf("launcher processes after the first invoke: %v, want one", v1)
	}

	put(`function main() { return { v: "two" } }`, true)
	waitGone(t, instances, v1, "the old version's launcher after the update")
	invoke(`"two"`)
	v2 := launchers(t, instances)
	if len(v2) != 1 || v2[0] == v1[0] {
		t.Fatalf("launcher processes after invoking the update: %v, want one new one (the old was %v)", v2, v1)
	}

	if status, b := c.do(http.MethodDelete, "/actions/lc", ""); status != http.StatusOK {
		t.Fatalf("delete action: %d %s", status, b)
	}
	waitGone(t, instances, v2, "the launcher after the delete")
	if left := launchers(t, instances); len(left) != 0 {
		t.Errorf("launcher processes after the delete: %v, want none", left)
	}
	if st := plat.Stats(); st.Instances != 0 || st.Pools != 0 {
		t.Errorf("platform after the delete: %+v, want no pools or instances", st)
	}
}

func hasNode(p *local.Platform) bool {
	for _, rt := range p.Runtimes() {
		if rt.Family == "nodejs" {
			return true
		}
	}
	return false
}

// launchers lists the processes running in an instance directory under
// dir: the local platform's launchers.
func launchers(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd")
		if err != nil || !strings.HasPrefix(cwd, dir+string(filepath.Separator)) {
			continue // gone, a zombie, or not ours
		}
		pids = append(pids, pid)
	}
	return pids
}

// waitGone fails unless the processes pids have exited within gone.
func waitGone(t *testing.T, dir string, pids []int, what string) {
	t.Helper()
	deadline := time.Now().Add(gone)
	for {
		left := slices.DeleteFunc(launchers(t, dir), func(pid int) bool { return !slices.Contains(pids, pid) })
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: processes %v still run %s later", what, left, gone)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type client struct {
	t     *testing.T
	url   string
	authz string
}

func (c *client) do(method, path, body string) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", c.authz)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, b
}
