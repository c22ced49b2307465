// Package family is the description of a runtime family (nodejs, python,
// go, blackbox): its kinds and how their interpreter is found, the
// launcher local mode starts, the runtime image main and what the family
// can do. Each family's package (runtimes/<dir>/launcher) exports one
// Family value; the registry (package runtimes) lists them, and local
// mode, the runtime image mains, .ko.yaml and config/ derive from or are
// checked against that list, so a new family is one description.
//
// It imports only the standard library and pkg/actionloop.
package family

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
)

// Family describes one runtime family. Values are read-only once
// declared.
type Family struct {
	// Name is the OpenWhisk family, the prefix of its kinds ("nodejs"); a
	// family without versions (VersionParts 0) has one kind, Name itself.
	Name string
	// Lang names the language in messages ("Node.js").
	Lang string
	// Dir is the family's folder under runtimes/ ("native" for blackbox).
	Dir string
	// Probe finds the family's interpreter on the host; nil means the
	// family needs none and is always found (native code).
	Probe *Probe
	// VersionParts is how many dotted parts of the interpreter's version
	// name its kind: 1 for nodejs:20, 2 for python:3.11.
	VersionParts int
	// Images are the kinds the family's runtime images run, oldest (the
	// default) first; each has its own image main, so ko can give it its
	// base image.
	Images []Image
	// Launcher says how local mode starts an instance with the
	// interpreter found on the host; dir is local mode's directory for
	// launcher scripts and build caches, shared by all families.
	Launcher func(it Found, dir string) (*actionloop.Launcher, error)
	// ImageLauncher is the launcher of the family's runtime image main:
	// the interpreter on the image, with dir for scripts and caches and
	// env the environment instances start from.
	ImageLauncher func(ctx context.Context, dir string, env []string) (*actionloop.Launcher, error)
	// LocalImage is the image the kind's runtime entry names in local
	// mode (OpenWhisk's, for blackbox); "" for none.
	LocalImage string
	// StemPlaceholder is the code a stem cell starts with: a comment,
	// which defines no entry point. Needed with StemCells.
	StemPlaceholder string
	// Memory is how local mode holds an instance to its action's memory
	// limit; nil: it does not (native code and Go, whose builds run in
	// the instance and need more than the action).
	Memory *Memory
	Capabilities
}

// Memory is how local mode limits the memory of a family's instance: a
// cgroup's memory.max or an RLIMIT_DATA of the limit, plus what the
// runtime needs told.
type Memory struct {
	// Env returns what tells the runtime its limit of mb megabytes
	// (Node.js's heap size); nil: nothing.
	Env func(mb int) []string
	// DataHeadroomMB is what an RLIMIT_DATA allows beyond the limit: the
	// runtime's own data outside the heap the limit is for.
	DataHeadroomMB int
}

// Capabilities are what a family's launcher can do; local mode derives
// its behaviour per kind from them.
type Capabilities struct {
	// StemCells: the launcher can start without code and load it later
	// (see pkg/platform/local/stem.go), so local mode prewarms it.
	StemCells bool
	// Concurrent: one instance runs several activations at once for
	// actions whose concurrency limit is above 1.
	Concurrent bool
	// Compiles: the first init of some code builds it (cached by digest).
	Compiles bool
	// CodeOnly: in local mode the kind runs code only, not docker images.
	CodeOnly bool
	// Optional: when local mode cannot run one of the family's kinds, the
	// kind is simply not offered, without an explanation of what the host
	// lacks (a toolchain rather than an interpreter).
	Optional bool
}

// Image is one kind's runtime image.
type Image struct {
	Kind string // "nodejs:22"
	// Main is the folder of its image main under runtimes/ ("nodejs/22");
	// the ko import path is github.com/kwhisk/kwhisk/runtimes/<Main>.
	Main string
	Base string // ko's base image for it, e.g. "docker.io/library/node:22-slim"
}

// Found is the interpreter (or toolchain) of a family found on a host.
type Found struct {
	Path    string // absolute path of the executable itself (not a shim)
	Version string // e.g. "20.20.2"
	// Env holds variables the runtime needs from the host, e.g. GOCACHE
	// for go, so builds reuse the toolchain's warm cache.
	Env []string
}

// Probe is how an interpreter is found: Exe on PATH, run with Args.
type Probe struct {
	Exe  string
	Args []string
	// Parse reads the output lines; nil means two lines: the executable's
	// path and its version.
	Parse func(lines []string) (Found, bool)
}

// KindOf is the kind an interpreter of version runs: "nodejs:20",
// "python:3.11", or Name for a family without versions.
func (f *Family) KindOf(version string) string {
	if f.VersionParts == 0 {
		return f.Name
	}
	parts := strings.SplitN(version, ".", f.VersionParts+1)
	return f.Name + ":" + strings.Join(parts[:min(len(parts), f.VersionParts)], ".")
}

// Kinds lists the kinds of the family's images.
func (f *Family) Kinds() []string {
	var kinds []string
	for _, im := range f.Images {
		kinds = append(kinds, im.Kind)
	}
	return kinds
}

// Detect looks up the family's executable on PATH and asks it for its
// real path and version. It returns nil, nil when the executable is
// absent, and an error when it is present but does not answer.
func (f *Family) Detect(ctx context.Context) (*Found, error) {
	p := f.Probe
	if p == nil {
		return &Found{}, nil
	}
	path, err := exec.LookPath(p.Exe)
	if err != nil {
		return nil, nil // absent is not an error: the kinds are just not offered
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, p.Args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w: %s", p.Exe, path, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if p.Parse != nil {
		if it, ok := p.Parse(lines); ok {
			return &it, nil
		}
		return nil, fmt.Errorf("%s at %s: unexpected version output %q", p.Exe, path, out)
	}
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "/") || lines[1] == "" {
		return nil, fmt.Errorf("%s at %s: unexpected version output %q", p.Exe, path, out)
	}
	return &Found{Path: lines[0], Version: lines[1]}, nil
}

// HostEnv is the environment local instances start from: the system
// directories on PATH, after the interpreter's own when exe is not "".
func HostEnv(exe string) []string {
	path := "/usr/local/bin:/usr/bin:/bin"
	if exe != "" {
		path = filepath.Dir(exe) + ":" + path
	}
	return []string{"PATH=" + path, "LANG=C.UTF-8"}
}
