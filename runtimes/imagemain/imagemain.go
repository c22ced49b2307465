// Package imagemain is the body of every runtime image main: it serves
// one action over HTTP with the family's image launcher, as
// docs/runtime-protocol.md describes. The mains themselves
// (runtimes/<family>[/<version>]/main.go) are one call to Main, generated
// from the registry, so each kind has its own import path (ko picks base
// images by import path) without copies of this code.
package imagemain

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kwhisk/kwhisk/pkg/runtime/imageserver"
	"github.com/kwhisk/kwhisk/runtimes/family"
)

// Main runs the runtime image of f until SIGTERM, and exits 1 when it
// fails.
func Main(f *family.Family) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	o := imageserver.MainOptions{Launcher: f.ImageLauncher, Environ: os.Environ()}
	if f.Memory != nil {
		o.MemoryEnv = f.Memory.Env
	}
	err := imageserver.Main(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kwhisk runtime:", err)
		os.Exit(1)
	}
}
