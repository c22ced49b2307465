package local

import (
	"fmt"
	"path/filepath"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/platform"
	golauncher "github.com/kwhisk/kwhisk/runtimes/go/launcher"
	nativelauncher "github.com/kwhisk/kwhisk/runtimes/native/launcher"
)

// otherLauncher makes the launchers of the kinds that need no script: go,
// whose code is compiled with the toolchain found (or brings a prebuilt
// exec) and cached by digest under dir, and blackbox, native code run by
// the docker-skeleton convention.
func otherLauncher(it Interpreter, dir string) (*actionloop.Launcher, error) {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
	switch it.Family {
	case "go":
		build := append([]string{
			"PATH=" + filepath.Dir(it.Path) + ":/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
			"HOME=" + dir, "GOPATH=" + filepath.Join(dir, "gopath"),
		}, it.Env...)
		c := golauncher.NewCompiler(golauncher.Options{
			Go: it.Path, Version: it.Version, CacheDir: filepath.Join(dir, "go"+it.Version), Env: build,
		})
		return c.Launcher(env), nil
	case blackbox:
		return nativelauncher.Launcher(env), nil
	}
	return nil, fmt.Errorf("no launcher for family %q", it.Family)
}

// runtimeOf completes the Runtimes entry of it's kind: the blackbox kind
// names OpenWhisk's skeleton image and runs only code.
func runtimeOf(it Interpreter, rt platform.Runtime) platform.Runtime {
	if it.Family == blackbox {
		rt.Image = nativelauncher.Image
		rt.CodeOnly = true
	}
	return rt
}
