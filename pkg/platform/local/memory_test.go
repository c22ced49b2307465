package local

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// fakeCgroupFS lays out a mount table, a /proc/self/cgroup and a cgroup
// v2 directory whose controllers are given; the control files are plain
// files, so writes to them succeed.
func fakeCgroupFS(t *testing.T, controllers string) (mountinfo, self, base string) {
	t.Helper()
	root := t.TempDir()
	mount := filepath.Join(root, "sys", "fs", "cgroup")
	base = filepath.Join(mount, "user.slice", "gw.scope")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(root, "mountinfo"): "22 1 0:20 / /proc rw - proc proc rw\n" +
			"30 22 0:26 / " + mount + " rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
		filepath.Join(root, "cgroup"):                             "0::/user.slice/gw.scope\n",
		filepath.Join(base, "cgroup.controllers"):                 controllers + "\n",
		filepath.Join(base, "cgroup.subtree_control"):             "",
		filepath.Join(base, "kwhisk-7", "cgroup.subtree_control"): "",
	}
	for path, body := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, "mountinfo"), filepath.Join(root, "cgroup"), base
}

func TestDelegateCgroup(t *testing.T) {
	mountinfo, self, base := fakeCgroupFS(t, "cpu io memory pids")
	dir, err := delegateCgroup(mountinfo, self, 7)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(base, "kwhisk-7"); dir != want {
		t.Errorf("dir %q, want %q", dir, want)
	}
	for _, f := range []string{filepath.Join(base, "cgroup.subtree_control"), filepath.Join(dir, "cgroup.subtree_control")} {
		if b, _ := os.ReadFile(f); string(b) != "+memory" {
			t.Errorf("%s = %q, want +memory", f, b)
		}
	}

	m := &limiter{mode: memoryCgroup, parent: dir}
	l := &actionloop.Launcher{Command: []string{"/usr/bin/python3", "launcher.py"}, Env: []string{"LANG=C.UTF-8"}}
	got, lim, err := m.limit(l, memoryOf("python:3.11"), 128)
	if err != nil {
		t.Fatal(err)
	}
	inst := lim.cgroup
	if filepath.Dir(inst) != dir {
		t.Fatalf("instance cgroup %q is not in %q", inst, dir)
	}
	want := []string{"/bin/sh", "-c", `echo $$ >"$0/cgroup.procs" && exec "$@"`, inst, "/usr/bin/python3", "launcher.py"}
	if diff := cmp.Diff(want, got.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(filepath.Join(inst, "memory.max")); string(b) != "134217728" {
		t.Errorf("memory.max = %q, want 128 MB", b)
	}
	if err := os.WriteFile(filepath.Join(inst, "memory.events"), []byte("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !lim.oomKilled() {
		t.Error("oom_kill 1 not seen")
	}
	if diff := cmp.Diff([]string{"/usr/bin/python3", "launcher.py"}, l.Command); diff != "" {
		t.Errorf("the kind's launcher changed (-want +got):\n%s", diff)
	}
}

func TestDelegateCgroupNeedsTheMemoryController(t *testing.T) {
	mountinfo, self, _ := fakeCgroupFS(t, "cpu io pids")
	if _, err := delegateCgroup(mountinfo, self, 7); err == nil {
		t.Error("delegated a cgroup without the memory controller")
	}
	if _, err := delegateCgroup(filepath.Join(t.TempDir(), "none"), self, 7); err == nil {
		t.Error("delegated without a mount table")
	}
}

func TestRlimits(t *testing.T) {
	m := &limiter{mode: memoryRlimit}
	l := &actionloop.Launcher{Command: []string{"/usr/bin/node", "launcher.js"}, Env: []string{"LANG=C.UTF-8"}}
	tests := []struct {
		family  string
		command []string
		env     []string
	}{
		{"nodejs", []string{"/bin/sh", "-c", `ulimit -d 393216 && exec "$@"`, "sh", "/usr/bin/node", "launcher.js"},
			[]string{"LANG=C.UTF-8", "NODE_OPTIONS=--max-old-space-size=256"}},
		{"python", []string{"/bin/sh", "-c", `ulimit -d 262144 && exec "$@"`, "sh", "/usr/bin/node", "launcher.js"},
			[]string{"LANG=C.UTF-8"}},
		{"go", []string{"/usr/bin/node", "launcher.js"}, []string{"LANG=C.UTF-8"}}, // not limited
	}
	for _, tt := range tests {
		got, lim, err := m.limit(l, memoryOf(tt.family+":0"), 256)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.command, got.Command); diff != "" {
			t.Errorf("%s command (-want +got):\n%s", tt.family, diff)
		}
		if diff := cmp.Diff(tt.env, got.Env); diff != "" {
			t.Errorf("%s env (-want +got):\n%s", tt.family, diff)
		}
		if lim.oomKilled() || lim.release() != nil {
			t.Errorf("%s: an rlimit has no cgroup to read or remove", tt.family)
		}
	}
}

func TestExhausted(t *testing.T) {
	dev := whisk.Response{StatusCode: whisk.StatusDeveloperError}
	line := func(stream, text string) string { return "2026-01-01T00:00:00.000000000Z " + stream + ": " + text }
	tests := []struct {
		name string
		resp whisk.Response
		logs []string
		want bool
	}{
		{"v8", dev, []string{line("stderr", "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory")}, true},
		{"python", dev, []string{line("stderr", "Traceback (most recent call last):"), line("stderr", "MemoryError")}, true},
		{"python with text", dev, []string{line("stderr", "MemoryError: cannot allocate")}, true},
		{"printed on stdout", dev, []string{line("stdout", "MemoryError")}, false},
		{"other crash", dev, []string{line("stderr", "Segmentation fault")}, false},
		{"application error", whisk.Response{StatusCode: whisk.StatusApplicationError}, []string{line("stderr", "MemoryError")}, false},
	}
	for _, tt := range tests {
		if got := exhausted(tt.resp, tt.logs, nil); got != tt.want {
			t.Errorf("%s: exhausted = %v, want %v", tt.name, got, tt.want)
		}
	}
	if want := "The action exhausted its memory and was aborted."; MsgMemoryExhausted != want {
		t.Errorf("message %q, want OpenWhisk's %q", MsgMemoryExhausted, want)
	}
}
