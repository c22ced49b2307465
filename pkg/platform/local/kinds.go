package local

import (
	"fmt"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/runtimes"
	"github.com/kwhisk/kwhisk/runtimes/family"
)

// Missing explains the kinds the host cannot run (platform.Unsupported).
var _ platform.Explainer = (*Platform)(nil)

// launcher says how to start instances with it, as its family describes;
// dir holds launcher scripts and build caches. Concurrency follows the
// family's capabilities.
func launcher(it Interpreter, dir string) (*actionloop.Launcher, error) {
	f := runtimes.Lookup(it.Family)
	if f == nil {
		return nil, fmt.Errorf("no launcher for family %q", it.Family)
	}
	l, err := f.Launcher(it.found(), dir)
	if err != nil {
		return nil, fmt.Errorf("%s launcher: %w", f.Name, err)
	}
	l.Concurrent = f.Concurrent
	return l, nil
}

// runtimeOf completes the Runtimes entry of it's kind from its family:
// the blackbox kind names OpenWhisk's skeleton image and runs only code.
func runtimeOf(it Interpreter, rt platform.Runtime) platform.Runtime {
	if f := runtimes.Lookup(it.Family); f != nil {
		rt.Image, rt.CodeOnly = f.LocalImage, f.CodeOnly
	}
	return rt
}

// familyOfKind returns the registered family of kind, or nil.
func familyOfKind(kind string) *family.Family {
	name, _, _ := strings.Cut(kind, ":")
	return runtimes.Lookup(name)
}

// memoryOf is how instances of kind are held to their memory limit: its
// family's Memory, nil when they are not.
func memoryOf(kind string) *family.Memory {
	if f := familyOfKind(kind); f != nil {
		return f.Memory
	}
	return nil
}
