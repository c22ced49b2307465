// Command native is the runtime image of native code (kind blackbox) and
// the proxy in front of blackbox images: it serves one action over HTTP as
// docs/runtime-protocol.md describes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kwhisk/kwhisk/pkg/runtime/imageserver"
	"github.com/kwhisk/kwhisk/runtimes/native/launcher"
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
