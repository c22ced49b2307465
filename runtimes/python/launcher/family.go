package launcher

import (
	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/runtimes/family"
)

// Family is the python family: python3 on PATH, the kind naming its
// major.minor version, one image per kind on the official python image.
var Family = family.Family{
	Name: "python", Lang: "Python", Dir: "python",
	Probe: &family.Probe{
		// -S: the probe needs no site-packages and starts faster without.
		Exe: "python3", Args: []string{"-S", "-E", "-c", "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"},
	},
	VersionParts: 2,
	Images: []family.Image{
		{Kind: "python:3.11", Main: "python", Base: "docker.io/library/python:3.11-slim"},
		{Kind: "python:3.12", Main: "python/312", Base: "docker.io/library/python:3.12-slim"},
	},
	Launcher: func(it family.Found, dir string) (*actionloop.Launcher, error) {
		return Setup(it.Path, dir, family.HostEnv(it.Path))
	},
	ImageLauncher:   ForImage,
	StemPlaceholder: "# kwhisk stem cell: the action's code replaces this file when the cell is assigned.\n",
	Memory:          &family.Memory{},
	Capabilities:    family.Capabilities{StemCells: true},
}
