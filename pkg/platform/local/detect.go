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
	Family  string // "nodejs", "python", "go" or "blackbox"
	Path    string // absolute path of the executable itself (not a shim); "" for blackbox
	Version string // e.g. "20.20.2", "3.11.7", "1.26.8"; "" for blackbox
	// Env holds variables the runtime needs from the host, e.g. GOCACHE
	// for go, so builds reuse the toolchain's warm cache.
	Env []string
}

// Kind returns the OpenWhisk kind the interpreter runs: "nodejs:<major>",
// "python:<major>.<minor>", "go:<major>.<minor>" or "blackbox".
func (it Interpreter) Kind() string {
	if it.Family == blackbox {
		return blackbox
	}
	parts := strings.SplitN(it.Version, ".", 3)
	if (it.Family == "python" || it.Family == "go") && len(parts) >= 2 {
		return it.Family + ":" + parts[0] + "." + parts[1]
	}
	return it.Family + ":" + parts[0]
}

// blackbox is the family, and the kind, of native code (docker-skeleton
// actions with code), which needs no interpreter.
const blackbox = "blackbox"

// family is what local mode knows about one language.
type family struct {
	name  string // OpenWhisk family
	lang  string // for messages
	exe   string // looked up on PATH
	probe []string
	// parse reads the probe's output lines; nil means two lines: the
	// executable's path and its version.
	parse func(lines []string) (*Interpreter, bool)
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

// toolchains are probed like families, but Missing does not explain their
// kinds: a go kind the host cannot run is simply not offered.
var toolchains = []family{
	{
		name: "go", lang: "Go", exe: "go",
		probe: []string{"env", "GOROOT", "GOVERSION", "GOCACHE"},
		parse: func(lines []string) (*Interpreter, bool) {
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "/") || !strings.HasPrefix(lines[1], "go1.") {
				return nil, false
			}
			// GOVERSION may carry a suffix: "go1.26.8 X:nodwarf5".
			version, _, _ := strings.Cut(strings.TrimPrefix(lines[1], "go"), " ")
			it := &Interpreter{Family: "go", Path: lines[0] + "/bin/go", Version: version}
			if lines[2] != "" && lines[2] != "off" {
				it.Env = []string{"GOCACHE=" + lines[2]}
			}
			return it, true
		},
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

// Detect looks up node, python3 and go on PATH and asks each for its real
// path and version; native code (blackbox) needs nothing and is always
// found. An interpreter that is absent is simply not returned; one that is
// present but does not answer is reported in the error, and the others are
// still returned.
func Detect(ctx context.Context) ([]Interpreter, error) {
	found, problems := detect(ctx)
	var errs []error
	for _, f := range append(families[:len(families):len(families)], toolchains...) {
		errs = append(errs, problems[f.name])
	}
	return found, errors.Join(errs...)
}

// detect probes every family at once; problems maps a family to why its
// interpreter did not answer.
func detect(ctx context.Context) (found []Interpreter, problems map[string]error) {
	all := append(families[:len(families):len(families)], toolchains...)
	its := make([]*Interpreter, len(all))
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i := range all {
		wg.Go(func() { its[i], errs[i] = all[i].detect(ctx) })
	}
	wg.Wait()
	problems = map[string]error{}
	for i, it := range its {
		if it != nil {
			found = append(found, *it)
		}
		if errs[i] != nil {
			problems[all[i].name] = errs[i]
		}
	}
	return append(found, Interpreter{Family: blackbox}), problems
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
	if f.parse != nil {
		if it, ok := f.parse(lines); ok {
			return it, nil
		}
		return nil, fmt.Errorf("%s at %s: unexpected version output %q", f.exe, path, out)
	}
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "/") || lines[1] == "" {
		return nil, fmt.Errorf("%s at %s: unexpected version output %q", f.exe, path, out)
	}
	return &Interpreter{Family: f.name, Path: lines[0], Version: lines[1]}, nil
}
