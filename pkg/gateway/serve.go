package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/controller"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/platform/local"
	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// openStore opens the SQLite store in the data dir.
func openStore(ctx context.Context, dataDir string) (*sqlite.Store, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(dataDir, "kwhisk.db"), sqlite.Options{})
}

// Serve runs the gateway until ctx ends, then drains. It prints the
// `wsk property set` line for the guest namespace on out once listening.
func Serve(ctx context.Context, cfg config.Config, out io.Writer) (err error) {
	logger := log.New(os.Stderr, "kwhisk: ", log.LstdFlags|log.Lmicroseconds)
	st, err := openStore(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	if err := auth.Bootstrap(ctx, st); err != nil {
		return err
	}
	var plat controller.Platform
	var kn *knativeMode // nil in local mode
	if cfg.Platform == "knative" {
		if kn, err = newKnativeMode(cfg, st, logger.Printf); err != nil {
			return fmt.Errorf("start knative platform: %w", err)
		}
		plat = kn.platform
	} else {
		lp, err := local.New(local.Options{
			WorkDir:               filepath.Join(cfg.DataDir, "runtimes"),
			APIHost:               cfg.APIHost,
			IdleTimeout:           cfg.IdleTimeout,
			MaxInstances:          cfg.MaxInstances,
			MaxInstancesPerAction: cfg.MaxActionInstances,
			StemCells:             cfg.StemCells,
			Logf:                  logger.Printf,
		})
		if err != nil {
			return fmt.Errorf("start local platform: %w", err)
		}
		defer lp.Close()
		plat = lp
	}

	tokens, err := events.LoadTokens(filepath.Join(cfg.DataDir, "events.key"))
	if err != nil {
		return err
	}
	var emitter *events.Emitter
	var onRecord func(*whisk.Activation)
	if cfg.EventsSink != "" {
		emitter = events.NewEmitter(cfg.EventsSink, 4096, logger.Printf)
		onRecord = emitter.Emit
	}
	ctrl := controller.New(st, plat, controller.Options{
		Tokens: tokens, APIHost: cfg.APIHost, BlockingWait: cfg.BlockingWait, OnRecord: onRecord, Logf: logger.Printf,
		Subscriber: kn.subscriberOrNil(), Throttles: cfg.Throttles,
	})
	kn.attach(ctrl)
	if err := ctrl.Install(ctx); err != nil {
		return err
	}
	// Background parts: the alarm scheduler and the activation emitter;
	// they stop when the gateway does.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var background sync.WaitGroup
	defer func() { stopBackground(); background.Wait() }()
	kn.start(bgCtx, &background)
	background.Add(1)
	go func() {
		defer background.Done()
		if err := kn.runAlarms(bgCtx, ctrl.RunAlarms); err != nil {
			logger.Printf("alarms: %v", err)
		}
	}()
	if emitter != nil {
		background.Add(1)
		go func() { defer background.Done(); _ = emitter.Start(bgCtx) }()
	}
	invoker := ctrl.Invoker
	if n, err := invoker.Recover(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Printf("recorded %d activations interrupted by the last stop", n)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	httpSrv := &http.Server{Handler: ctrl.API, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()

	guest := auth.WellKnown[0]
	fmt.Fprintf(out, "kwhisk is serving the OpenWhisk API on %s (data in %s)\n", cfg.APIHost, cfg.DataDir)
	fmt.Fprintf(out, "wsk property set --apihost %s --auth %s:%s\n", cfg.APIHost, guest.UUID, guest.Key)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Drain: stop the scheduler, stop accepting and finish requests, then
	// in-flight activations, then flush the store (deferred Close).
	stopBackground()
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.DrainTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(drainCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Printf("shut down http: %v", err)
	}
	if err := invoker.Drain(drainCtx); err != nil {
		logger.Printf("activations still running at shutdown were left pending: %v", err)
	}
	return st.Flush(context.WithoutCancel(ctx))
}
