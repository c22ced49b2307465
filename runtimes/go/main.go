// Command go is the runtime image of the go kinds, the image holding a Go
// toolchain: it serves one action over HTTP as
// docs/runtime-protocol.md describes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kwhisk/kwhisk/pkg/runtime/imageserver"
	"github.com/kwhisk/kwhisk/runtimes/go/launcher"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := imageserver.Main(ctx, imageserver.MainOptions{Launcher: launcher.ForImage, Environ: os.Environ()})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kwhisk runtime:", err)
		os.Exit(1)
	}
}
