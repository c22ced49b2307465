package launcher

import (
	"strconv"

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
	// The heap limit makes V8 fail with its own message before the
	// kernel's limit is reached; the data limit allows V8's own data
	// (about 50 MB), the young generation and buffers beyond the heap.
	Memory: &family.Memory{
		Env:            func(mb int) []string { return []string{"NODE_OPTIONS=--max-old-space-size=" + strconv.Itoa(mb)} },
		DataHeadroomMB: 128,
	},
	Capabilities: family.Capabilities{StemCells: true, Concurrent: true},
}
