package launcher

import (
	"path/filepath"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/runtimes/family"
)

// Family is the go family: the toolchain found by `go env`, the kind
// naming its major.minor version; actions are compiled at init and
// cached by digest. A host without go simply does not offer the kind.
var Family = family.Family{
	Name: "go", Lang: "Go", Dir: "go",
	Probe: &family.Probe{
		Exe: "go", Args: []string{"env", "GOROOT", "GOVERSION", "GOCACHE"},
		Parse: parseGoEnv,
	},
	VersionParts: 2,
	Images: []family.Image{
		{Kind: "go:1.26", Main: "go", Base: "docker.io/library/golang:1.26"},
	},
	Launcher:      hostLauncher,
	ImageLauncher: ForImage,
	Capabilities:  family.Capabilities{Compiles: true, Optional: true},
}

// parseGoEnv reads GOROOT, GOVERSION and GOCACHE.
func parseGoEnv(lines []string) (family.Found, bool) {
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "/") || !strings.HasPrefix(lines[1], "go1.") {
		return family.Found{}, false
	}
	// GOVERSION may carry a suffix: "go1.26.8 X:nodwarf5".
	version, _, _ := strings.Cut(strings.TrimPrefix(lines[1], "go"), " ")
	it := family.Found{Path: lines[0] + "/bin/go", Version: version}
	if lines[2] != "" && lines[2] != "off" {
		it.Env = []string{"GOCACHE=" + lines[2]}
	}
	return it, true
}

// hostLauncher compiles with the toolchain found, caching binaries by
// digest under dir; builds see the toolchain's directory on PATH and the
// host's GOCACHE, instances only the system directories.
func hostLauncher(it family.Found, dir string) (*actionloop.Launcher, error) {
	build := append([]string{
		"PATH=" + filepath.Dir(it.Path) + ":/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
		"HOME=" + dir, "GOPATH=" + filepath.Join(dir, "gopath"),
	}, it.Env...)
	c := NewCompiler(Options{
		Go: it.Path, Version: it.Version, CacheDir: filepath.Join(dir, "go"+it.Version), Env: build,
	})
	return c.Launcher(family.HostEnv("")), nil
}
