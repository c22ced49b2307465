package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// Interpreter is a language runtime found on the host.
type Interpreter struct {
	Family  string // "nodejs" or "python"
	Path    string // absolute path of the executable itself (not a shim)
	Version string // e.g. "20.20.2", "3.11.7"
}

// Kind returns the OpenWhisk kind the interpreter runs: "nodejs:<major>"
// or "python:<major>.<minor>".
func (it Interpreter) Kind() string {
	parts := strings.SplitN(it.Version, ".", 3)
	if it.Family == "python" && len(parts) >= 2 {
		return it.Family + ":" + parts[0] + "." + parts[1]
	}
	return it.Family + ":" + parts[0]
}

// family is what local mode knows about one language.
type family struct {
	name  string // OpenWhisk family
	lang  string // for messages
	exe   string // looked up on PATH
	probe []string
}

var families = []family{
	{
		name: "nodejs", lang: "Node.js", exe: "node",
		probe: []string{"-e", "console.log(process.execPath); console.log(process.versions.node)"},
	},
	{
		// -S: the probe needs no site-packages and starts faster without.
		name: "python", lang: "Python", exe: "python3",
		probe: []string{"-S", "-E", "-c", "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"},
	},
}

func familyOf(name string) *family {
	for i := range families {
		if families[i].name == name {
			return &families[i]
		}
	}
	return nil
}

// Detect looks up node and python3 on PATH and asks each for its real path
// and version. An interpreter that is absent is simply not returned; one
// that is present but does not answer is reported in the error, and the
// others are still returned.
func Detect(ctx context.Context) ([]Interpreter, error) {
	found, problems := detect(ctx)
	var errs []error
	for _, f := range families {
		errs = append(errs, problems[f.name])
	}
	return found, errors.Join(errs...)
}

// detect probes every family at once; problems maps a family to why its
// interpreter did not answer.
func detect(ctx context.Context) (found []Interpreter, problems map[string]error) {
	its := make([]*Interpreter, len(families))
	errs := make([]error, len(families))
	var wg sync.WaitGroup
	for i := range families {
		wg.Go(func() { its[i], errs[i] = families[i].detect(ctx) })
	}
	wg.Wait()
	problems = map[string]error{}
	for i, it := range its {
		if it != nil {
			found = append(found, *it)
		}
		if errs[i] != nil {
			problems[families[i].name] = errs[i]
		}
	}
	return found, problems
}

// detect returns nil, nil when the executable is not on PATH.
func (f *family) detect(ctx context.Context) (*Interpreter, error) {
	path, err := exec.LookPath(f.exe)
	if err != nil {
		return nil, nil // absent is not an error: the kinds are just not offered
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, f.probe...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w: %s", f.exe, path, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "/") || lines[1] == "" {
		return nil, fmt.Errorf("%s at %s: unexpected version output %q", f.exe, path, out)
	}
	return &Interpreter{Family: f.name, Path: lines[0], Version: lines[1]}, nil
}
