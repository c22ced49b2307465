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
	"time"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/controlplane"
	"github.com/kwhisk/kwhisk/pkg/debugserver"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/run"
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
	m, err := newMode(cfg, st, logger.Printf)
	if err != nil {
		return err
	}
	defer m.close()

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
	opts := controlplane.Options{
		Tokens: tokens, APIHost: cfg.APIHost, BlockingWait: cfg.BlockingWait, OnRecord: onRecord, Logf: logger.Printf,
		Throttles: cfg.Throttles, Context: ctx, MaxActionConcurrency: cfg.MaxActionConcurrency,
	}
	m.options(&opts)
	ctrl := controlplane.New(st, m.platform(), opts)
	if err := ctrl.Install(ctx); err != nil {
		return err
	}
	activations := ctrl.Activations
	if n, err := activations.Recover(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Printf("recorded %d activations interrupted by the last stop", n)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	httpSrv := &http.Server{Handler: ctrl.API, ReadHeaderTimeout: 10 * time.Second}
	var debugLn net.Listener
	if cfg.DebugAddr != "" {
		if debugLn, err = debugserver.Listen(cfg.DebugAddr); err != nil {
			_ = ln.Close()
			return err
		}
	}

	// The long-running parts, in stop order: the background (alarm
	// scheduler, emitter, knative's watch, reconcile and Service writes);
	// then the API closes (503 to new requests but /ping and the
	// runtimes' fetches, which a revision starting for an activation in
	// flight needs); then in-flight activations drain; then the HTTP
	// server stops and finishes its requests (blocking invokes answer
	// with the drained activations); then the store flushes. Requests and
	// activations share the drain timeout.
	g := run.New(cfg.DrainTimeout)
	g.Add("alarms", func(ctx context.Context) error {
		if err := m.runAlarms(ctx, ctrl.RunAlarms); err != nil {
			logger.Printf("alarms: %v", err)
		}
		return nil
	}, nil)
	if emitter != nil {
		g.Add("emitter", emitter.Start, nil)
	}
	if debugLn != nil {
		g.Add("debug", func(ctx context.Context) error { return debugserver.Serve(ctx, debugLn) }, nil)
	}
	m.start(g)
	g.Add("close", nil, func(context.Context) error { ctrl.API.Close(); return nil })
	g.Add("activations", nil, func(ctx context.Context) error {
		if err := activations.Drain(ctx); err != nil {
			logger.Printf("activations still running at shutdown were left pending: %v", err)
		}
		return nil
	})
	g.Add("serve", func(context.Context) error { // the HTTP server
		if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, func(ctx context.Context) error {
		if err := httpSrv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			logger.Printf("shut down http: %v", err)
		}
		return nil
	})
	// The flush is not bounded by the drain timeout: what is recorded
	// must reach the disk.
	g.Add("store", nil, func(ctx context.Context) error { return st.Flush(context.WithoutCancel(ctx)) })

	guest := auth.WellKnown[0]
	fmt.Fprintf(out, "kwhisk is serving the OpenWhisk API on %s (data in %s)\n", cfg.APIHost, cfg.DataDir)
	fmt.Fprintf(out, "wsk property set --apihost %s --auth %s:%s\n", cfg.APIHost, guest.UUID, guest.Key)
	return g.Run(ctx)
}
