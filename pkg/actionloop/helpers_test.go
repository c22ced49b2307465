package actionloop_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	nodelauncher "github.com/kwhisk/kwhisk/runtimes/nodejs/launcher"
	pylauncher "github.com/kwhisk/kwhisk/runtimes/python/launcher"
)

// launcher writes the family's launcher script into dir and returns how to
// start it with the interpreter found on PATH.
func launcher(family, dir string) *actionloop.Launcher {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
	switch family {
	case "nodejs":
		node, err := exec.LookPath("node")
		if err != nil {
			panic(err)
		}
		script := filepath.Join(dir, nodelauncher.ScriptName)
		if err := os.WriteFile(script, nodelauncher.Script, 0o600); err != nil {
			panic(err)
		}
		return &actionloop.Launcher{Command: nodelauncher.Command(node, script), Source: nodelauncher.CodeFile, Env: env}
	case "python":
		out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		if err != nil {
			panic(err)
		}
		script := filepath.Join(dir, pylauncher.ScriptName)
		if err := os.WriteFile(script, pylauncher.Script, 0o600); err != nil {
			panic(err)
		}
		python := strings.TrimSpace(string(out))
		return &actionloop.Launcher{Command: pylauncher.Command(python, script), Source: pylauncher.CodeFile, Env: env}
	}
	panic("unknown family " + family)
}

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// untimed returns the log lines without their timestamps, sorted, as the
// order of lines from different streams is not fixed.
func untimed(logs []string) []string {
	out := make([]string, 0, len(logs))
	for _, l := range logs {
		out = append(out, strings.TrimLeft(l[30:], " "))
	}
	sort.Strings(out)
	return out
}
