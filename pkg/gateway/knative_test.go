package gateway

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadRuntimes(t *testing.T) {
	dir := t.TempDir()
	// A mounted ConfigMap: the keys are symlinks into a hidden dated dir.
	data := filepath.Join(dir, "..2026_01_01_00_00_00.1")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"nodejs-20":   "registry.example/runtime-nodejs@sha256:1\n",
		"python-3.11": "registry.example/runtime-python@sha256:2",
		"blackbox":    "registry.example/runtime-native@sha256:3",
		"empty":       "  \n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(data, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(data, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(data, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	got, err := readRuntimes(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"nodejs:20":   "registry.example/runtime-nodejs@sha256:1",
		"python:3.11": "registry.example/runtime-python@sha256:2",
		"blackbox":    "registry.example/runtime-native@sha256:3",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("readRuntimes (-want, +got):\n%s", diff)
	}
	if _, err := readRuntimes(t.TempDir()); err == nil {
		t.Error("readRuntimes of an empty directory succeeded")
	}
}
