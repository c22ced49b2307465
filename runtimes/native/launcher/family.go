package launcher

import (
	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/runtimes/family"
)

// Family is native code, the kind blackbox: no interpreter, so it is
// always found; in local mode it runs code only, never docker images. Its
// image, on a base with /bin/sh (exec files are often shell scripts),
// also proxies to the images of --docker actions.
var Family = family.Family{
	Name: "blackbox", Lang: "native code", Dir: "native",
	Images: []family.Image{
		{Kind: "blackbox", Main: "native", Base: "docker.io/library/debian:bookworm-slim"},
	},
	Launcher: func(family.Found, string) (*actionloop.Launcher, error) {
		return Launcher(family.HostEnv("")), nil
	},
	ImageLauncher: ForImage,
	LocalImage:    Image,
	Capabilities:  family.Capabilities{CodeOnly: true},
}
