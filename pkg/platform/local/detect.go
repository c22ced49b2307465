package local

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/kwhisk/kwhisk/runtimes"
	"github.com/kwhisk/kwhisk/runtimes/family"
)

// Interpreter is a language runtime found on the host.
type Interpreter struct {
	Family  string // a family of the registry: "nodejs", "python", "go" or "blackbox"
	Path    string // absolute path of the executable itself (not a shim); "" for blackbox
	Version string // e.g. "20.20.2", "3.11.7", "1.26.8"; "" for blackbox
	// Env holds variables the runtime needs from the host, e.g. GOCACHE
	// for go, so builds reuse the toolchain's warm cache.
	Env []string
}

// Kind returns the OpenWhisk kind the interpreter runs, as its family
// names it: "nodejs:<major>", "python:<major>.<minor>",
// "go:<major>.<minor>" or "blackbox".
func (it Interpreter) Kind() string {
	if f := runtimes.Lookup(it.Family); f != nil {
		return f.KindOf(it.Version)
	}
	major, _, _ := strings.Cut(it.Version, ".")
	return it.Family + ":" + major
}

func (it Interpreter) found() family.Found {
	return family.Found{Path: it.Path, Version: it.Version, Env: it.Env}
}

// Detect asks every family of the registry for its interpreter on PATH
// (node, python3, go) with its real path and version; native code
// (blackbox) needs nothing and is always found. An interpreter that is
// absent is simply not returned; one that is present but does not answer
// is reported in the error, and the others are still returned.
func Detect(ctx context.Context) ([]Interpreter, error) {
	found, problems := detect(ctx)
	var errs []error
	for _, f := range runtimes.Families() {
		errs = append(errs, problems[f.Name])
	}
	return found, errors.Join(errs...)
}

// detect probes every family at once, and lists what it found in the
// registry's order; problems maps a family to why its interpreter did not
// answer.
func detect(ctx context.Context) (found []Interpreter, problems map[string]error) {
	all := runtimes.Families()
	its := make([]*family.Found, len(all))
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i := range all {
		wg.Go(func() { its[i], errs[i] = all[i].Detect(ctx) })
	}
	wg.Wait()
	problems = map[string]error{}
	for i, it := range its {
		if it != nil {
			found = append(found, Interpreter{Family: all[i].Name, Path: it.Path, Version: it.Version, Env: it.Env})
		}
		if errs[i] != nil {
			problems[all[i].Name] = errs[i]
		}
	}
	return found, problems
}
