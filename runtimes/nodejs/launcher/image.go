package launcher

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
)

// Setup writes the launcher script and the bundled packages into dir and
// returns how to start it with the interpreter at exe; env is what every
// instance starts from, with the packages' folder added first on
// NODE_PATH, where Node.js looks after the action's own node_modules.
func Setup(exe, dir string, env []string) (*actionloop.Launcher, error) {
	script := filepath.Join(dir, ScriptName)
	if err := os.WriteFile(script, Script, 0o600); err != nil {
		return nil, err
	}
	mods, err := InstallModules(dir)
	if err != nil {
		return nil, err
	}
	return &actionloop.Launcher{Command: Command(exe, script), Source: CodeFile, Env: withNodePath(env, mods), Concurrent: true}, nil
}

// ForImage is the runtime image's launcher: node on PATH, the script in
// dir.
func ForImage(_ context.Context, dir string, env []string) (*actionloop.Launcher, error) {
	exe, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("nodejs runtime: %w", err)
	}
	return Setup(exe, dir, env)
}
