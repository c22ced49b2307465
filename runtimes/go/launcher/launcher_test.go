package launcher

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
)

const hello = `package main

func Main(p map[string]any) map[string]any { return map[string]any{"hello": p["name"]} }
`

// toolchain returns the go command, wrapped in a script that counts its
// builds in the returned file, and the toolchain's version.
func toolchain(t *testing.T) (goExe, version, count string) {
	t.Helper()
	real, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain")
	}
	out, err := exec.Command(real, "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	count = filepath.Join(dir, "builds")
	script := "#!/bin/sh\n[ \"$1\" = build ] && echo >> " + count + "\nexec " + real + " \"$@\"\n"
	goExe = filepath.Join(dir, "go")
	if err := os.WriteFile(goExe, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return goExe, strings.TrimPrefix(strings.TrimSpace(string(out)), "go"), count
}

func builds(t *testing.T, count string) int {
	t.Helper()
	b, err := os.ReadFile(count)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func config(t *testing.T, code string) *actionloop.Config {
	return &actionloop.Config{Dir: filepath.Join(t.TempDir(), "inst"), Code: code}
}

// Concurrent inits of the same code build it once; later inits, even of a
// compiler without a toolchain, reuse the binary.
func TestPrepareBuildsOncePerDigest(t *testing.T) {
	goExe, version, count := toolchain(t)
	cache := filepath.Join(t.TempDir(), "cache")
	c := NewCompiler(Options{Go: goExe, Version: version, CacheDir: cache, Env: os.Environ()})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			cfg := config(t, hello)
			argv, err := c.Prepare(context.Background(), cfg)
			if err != nil {
				t.Errorf("Prepare: %v", err)
				return
			}
			if diff := cmp.Diff([]string{filepath.Join(cfg.Dir, "exec")}, argv); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
		})
	}
	wg.Wait()
	if n := builds(t, count); n != 1 {
		t.Errorf("%d builds for three inits of the same code, want 1", n)
	}

	offline := NewCompiler(Options{Version: version, CacheDir: cache})
	cfg := config(t, hello)
	if _, err := offline.Prepare(context.Background(), cfg); err != nil {
		t.Errorf("Prepare of cached code without a toolchain: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "main.go")); err != nil {
		t.Errorf("the instance lacks the code's files: %v", err)
	}
	_, err := offline.Prepare(context.Background(), config(t, hello+"\n// changed\n"))
	var ce *actionloop.CodeError
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "no Go toolchain") {
		t.Errorf("Prepare of new code without a toolchain = %v, want a code error about the toolchain", err)
	}
	if n := builds(t, count); n != 1 {
		t.Errorf("%d builds, want still 1", n)
	}
}

func TestCompileErrors(t *testing.T) {
	goExe, version, _ := toolchain(t)
	tests := []struct {
		name, main string
		files      map[string]string
		want       string
	}{
		{"not package main", "main", map[string]string{"main.go": "package hello\n\nfunc Main() {}\n"},
			"The action's Go code must be package main, not package hello (main.go)."},
		{"no entry point", "nowhere", map[string]string{"main.go": hello}, "Action entrypoint 'nowhere' is not a function."},
		{"not an identifier", "no-where", map[string]string{"main.go": hello}, "Action entrypoint 'no-where' is not a valid Go function name."},
		{"type error", "main", map[string]string{"main.go": "package main\n\nfunc Main() int { return \"x\" }\n"},
			"Compilation has failed: ./main.go:3:26: cannot use \"x\" (untyped string constant) as int value in return statement"},
		{"no sources", "main", map[string]string{"README": "hi"}, "The action has no Go source files at its root, and no prebuilt 'exec'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, src := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := Compile(context.Background(), Options{Go: goExe, Version: version, Env: os.Environ()}, dir, tt.main)
			var ce *actionloop.CodeError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile = %v, want a code error", err)
			}
			if ce.Message != tt.want {
				t.Errorf("message %q, want %q", ce.Message, tt.want)
			}
		})
	}
}

func TestEntryName(t *testing.T) {
	for in, want := range map[string]string{"": "Main", "main": "Main", "hello": "Hello", "Niam": "Niam", "élan": "Élan"} {
		if got := entryName(in); got != want {
			t.Errorf("entryName(%q) = %q, want %q", in, got, want)
		}
	}
}
