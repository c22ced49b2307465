package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
)

// ForImage is the go runtime image's launcher: the Go toolchain of the
// image, with the action cache (and a build cache, unless env sets
// GOCACHE) under dir. env is the environment instances and builds start
// from; later entries win.
func ForImage(ctx context.Context, dir string, env []string) (*actionloop.Launcher, error) {
	goExe, err := findGo(env)
	if err != nil {
		return nil, fmt.Errorf("go runtime: %w", err)
	}
	// The image's GOCACHE, when it sets one, is likely prewarmed with the
	// standard library; else builds share one under dir.
	buildEnv := append([]string{
		"GOCACHE=" + filepath.Join(dir, "gocache"), "GOPATH=" + filepath.Join(dir, "gopath"), "HOME=" + dir,
	}, env...)
	cmd := exec.CommandContext(ctx, goExe, "env", "GOVERSION")
	cmd.Env = buildEnv
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go runtime: %s env: %w", goExe, err)
	}
	version := strings.TrimPrefix(strings.TrimSpace(string(out)), "go")
	version, _, _ = strings.Cut(version, " ")
	c := NewCompiler(Options{Go: goExe, Version: version, CacheDir: filepath.Join(dir, "actions"), Env: buildEnv})
	return c.Launcher(env), nil
}

// findGo looks for the go command on env's PATH, then in /usr/local/go.
// The runtime's own binary is skipped: ko names it "go" too and puts it
// first on PATH.
func findGo(env []string) (string, error) {
	self, _ := os.Executable() // when unknown, nothing is skipped
	selfInfo, _ := os.Stat(self)
	var dirs []string
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = filepath.SplitList(p)
		}
	}
	for _, d := range append(dirs, "/usr/local/go/bin") {
		p := filepath.Join(d, "go")
		st, err := os.Stat(p)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 || (selfInfo != nil && os.SameFile(st, selfInfo)) {
			continue
		}
		return p, nil
	}
	return "", errors.New("no go command on PATH or in /usr/local/go/bin")
}
