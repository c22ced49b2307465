// Command kwhisk is the OpenWhisk API gateway: `kwhisk serve` runs it,
// `kwhisk admin` manages namespaces and keys.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/gateway"
)

const usage = "usage: kwhisk serve [--listen ADDR] [--data-dir DIR] [--platform local] [--store-url URL] | kwhisk admin namespace create|list|delete|limits"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		var cfg config.Config
		if cfg, err = config.Parse(os.Args[2:], os.Getenv); err == nil {
			err = gateway.Serve(ctx, cfg, os.Stdout)
		}
	case "admin":
		err = gateway.Admin(ctx, os.Args[2:], os.Getenv, os.Stdout)
	default:
		err = &config.UsageError{Msg: usage}
	}
	var help *config.HelpRequested
	if errors.As(err, &help) {
		fmt.Print(help.Usage)
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kwhisk:", err)
		if config.IsUsage(err) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
