// Command 312 is the python runtime main again, under its own import path so
// ko can give it another base image (python:3.12 for python:3.12); see
// ../main.go and docs/runtime-protocol.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kwhisk/kwhisk/pkg/runtime/imageserver"
	"github.com/kwhisk/kwhisk/runtimes/python/launcher"
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
