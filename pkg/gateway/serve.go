package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kwhisk/kwhisk/pkg/api"
	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/controlplane"
	"github.com/kwhisk/kwhisk/pkg/debugserver"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/metrics"
	"github.com/kwhisk/kwhisk/pkg/run"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/store/postgres"
	"github.com/kwhisk/kwhisk/pkg/store/retention"
	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
	"github.com/kwhisk/kwhisk/pkg/tracing"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// openStore opens the store cfg.StoreURL selects: SQLite in the data dir
// when it is empty, else PostgreSQL. Failing to reach or migrate the
// database is a start-up problem of --store-url: a one-line usage error
// (exit 2) naming the flag. replica names the gateway replica the store
// serves (see postgres.Options.Replica), "" for tools; commits, if set,
// hears of the store's group commits.
func openStore(ctx context.Context, cfg config.Config, replica string, commits sqlite.CommitRecorder) (store.Store, error) {
	if cfg.StoreURL != "" {
		st, err := postgres.Open(ctx, cfg.StoreURL, postgres.Options{Replica: replica, Commits: commits})
		if err != nil {
			// pgx spreads a connect error's causes over several lines.
			msg := strings.Join(strings.Fields(err.Error()), " ")
			return nil, &config.UsageError{Msg: "flag --store-url: cannot use the PostgreSQL store: " + msg}
		}
		return st, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "kwhisk.db"), sqlite.Options{Commits: commits})
}

// replicaName is what stays the same when this gateway restarts: its host
// (the pod, on Kubernetes) and its data dir.
func replicaName(cfg config.Config) string {
	host, _ := os.Hostname() // "" still leaves the data dir
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		dir = cfg.DataDir
	}
	return host + ":" + dir
}

// Serve runs the gateway until ctx ends, then drains. It prints the
// `wsk property set` line for the guest namespace on out once listening.
func Serve(ctx context.Context, cfg config.Config, out io.Writer) (err error) {
	logger := logging.New(os.Stderr, cfg.LogLevel)
	// One registry per gateway, so gateways in one process (tests) keep
	// their series apart.
	met := metrics.New(metrics.Options{})
	st, err := openStore(ctx, cfg, replicaName(cfg), met)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	// Retention stops before the store closes (defers run last first).
	retentionCtx, stopRetention := context.WithCancel(ctx)
	retained := make(chan struct{})
	go func() {
		defer close(retained)
		retention.Run(retentionCtx, st, retention.Options{Retention: cfg.ActivationRetention, Logf: func(format string, args ...any) { logger.Warn(fmt.Sprintf(format, args...)) }})
	}()
	defer func() { stopRetention(); <-retained }()
	if err := auth.Bootstrap(ctx, st); err != nil {
		return err
	}
	m, err := newMode(cfg, st, logger)
	if err != nil {
		return err
	}
	defer m.close()
	m.observe(met)

	tokens, err := events.LoadTokens(filepath.Join(cfg.DataDir, "events.key"))
	if err != nil {
		return err
	}
	var emitter *events.Emitter
	var onRecord func(*whisk.Activation)
	if cfg.EventsSink != "" {
		emitter = events.NewEmitter(cfg.EventsSink, 4096, logger)
		onRecord = emitter.Emit
	}
	var exporter *tracing.Exporter
	if cfg.OTLPEndpoint != "" {
		if exporter, err = tracing.NewExporter(ctx, cfg.OTLPEndpoint, api.BuildNo, logger); err != nil {
			return err
		}
	}
	opts := controlplane.Options{
		Tokens: tokens, APIHost: cfg.APIHost, BlockingWait: cfg.BlockingWait, OnRecord: onRecord, Log: logger,
		Throttles: cfg.Throttles, Context: ctx, MaxActionConcurrency: cfg.MaxActionConcurrency, Metrics: met,
	}
	if cfg.MetricsAddr == "" {
		opts.MetricsHandler = met.Handler()
	}
	if exporter != nil {
		opts.Tracer = exporter.Tracer()
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
		logger.Warn("recorded the activations the last stop interrupted", "count", n)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	httpSrv := &http.Server{Handler: ctrl.API, ReadHeaderTimeout: 10 * time.Second}
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			_ = ln.Close() // the API never served
			return fmt.Errorf("listen on %s: %w", cfg.MetricsAddr, err)
		}
	}
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
			logger.Error("alarm scheduler stopped", logging.Err(err))
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
			logger.Warn("activations still running at shutdown were left pending", logging.Err(err))
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
			logger.Error("shut down http", logging.Err(err))
		}
		return nil
	})
	if metricsLn != nil {
		// Served until the API has finished, so the drain can be watched.
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", met.Handler())
		metricsSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		g.Add("metrics", func(context.Context) error {
			if err := metricsSrv.Serve(metricsLn); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}, func(ctx context.Context) error {
			_ = metricsSrv.Shutdown(ctx) // scrapes are short; a late one may be cut
			return nil
		})
	}
	if exporter != nil { // the spans of the drained activations go out
		g.Add("traces", nil, func(ctx context.Context) error {
			if err := exporter.Shutdown(ctx); err != nil {
				logger.Warn("export the last trace spans", logging.Err(err))
			}
			return nil
		})
	}
	// The flush is not bounded by the drain timeout: what is recorded
	// must reach the disk.
	g.Add("store", nil, func(ctx context.Context) error { return st.Flush(context.WithoutCancel(ctx)) })

	guest := auth.WellKnown[0]
	fmt.Fprintf(out, "kwhisk is serving the OpenWhisk API on %s (data in %s)\n", cfg.APIHost, cfg.DataDir)
	if metricsLn != nil {
		fmt.Fprintf(out, "kwhisk is serving Prometheus metrics on http://%s/metrics\n", metricsLn.Addr())
	}
	fmt.Fprintf(out, "wsk property set --apihost %s --auth %s:%s\n", cfg.APIHost, guest.UUID, guest.Key)
	return g.Run(ctx)
}
