package launcher

import (
	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/runtimes/family"
)

// Family is the nodejs family: node on PATH, the kind naming its major
// version, one image per kind on the official node image.
var Family = family.Family{
	Name: "nodejs", Lang: "Node.js", Dir: "nodejs",
	Probe: &family.Probe{
		Exe: "node", Args: []string{"-e", "console.log(process.execPath); console.log(process.versions.node)"},
	},
	VersionParts: 1,
	Images: []family.Image{
		{Kind: "nodejs:20", Main: "nodejs", Base: "docker.io/library/node:20-slim"},
		{Kind: "nodejs:22", Main: "nodejs/22", Base: "docker.io/library/node:22-slim"},
	},
	Launcher: func(it family.Found, dir string) (*actionloop.Launcher, error) {
		return Setup(it.Path, dir, family.HostEnv(it.Path))
	},
	ImageLauncher:   ForImage,
	StemPlaceholder: "// kwhisk stem cell: the action's code replaces this file when the cell is assigned.\n",
	Capabilities:    family.Capabilities{StemCells: true, Concurrent: true},
}
