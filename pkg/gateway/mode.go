package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/controlplane"
	"github.com/kwhisk/kwhisk/pkg/metrics"
	"github.com/kwhisk/kwhisk/pkg/platform/local"
	"github.com/kwhisk/kwhisk/pkg/run"
	"github.com/kwhisk/kwhisk/pkg/store"
)

// mode is what the choice of platform (--platform) brings to the
// gateway: the platform itself, the control plane options only that
// platform fills (the code route, the broker subscriber), how the alarm
// scheduler runs, and its own long-running parts. Serve builds one mode
// and never asks which it is.
type mode interface {
	// platform runs the actions.
	platform() controlplane.Platform
	// options sets what the mode adds to the control plane's options.
	options(o *controlplane.Options)
	// runAlarms runs the alarm scheduler (run) until ctx ends.
	runAlarms(ctx context.Context, run func(context.Context) error) error
	// start adds the mode's long-running parts to g.
	start(g *run.Group)
	// observe registers the mode's own gauges (its instances or
	// Services) with m, read at each scrape.
	observe(m *metrics.Metrics)
	// close releases what the mode holds once g has stopped.
	close()
}

// newMode builds the mode cfg.Platform names over the store.
func newMode(cfg config.Config, st store.Store, log *slog.Logger) (mode, error) {
	if cfg.Platform == "knative" {
		k, err := newKnativeMode(cfg, st, log)
		if err != nil {
			return nil, fmt.Errorf("start knative platform: %w", err)
		}
		return k, nil
	}
	p, err := local.New(local.Options{
		WorkDir:               filepath.Join(cfg.DataDir, "runtimes"),
		APIHost:               cfg.APIHost,
		IdleTimeout:           cfg.IdleTimeout,
		MaxInstances:          cfg.MaxInstances,
		MaxInstancesPerAction: cfg.MaxActionInstances,
		StemCells:             cfg.StemCells,
		Log:                   log,
	})
	if err != nil {
		return nil, fmt.Errorf("start local platform: %w", err)
	}
	return localMode{p}, nil
}

// localMode runs actions as local processes: no code route (launchers
// get code over their pipe), no broker, alarms at once (one process).
type localMode struct{ p *local.Platform }

func (m localMode) platform() controlplane.Platform { return m.p }
func (localMode) options(*controlplane.Options)     {}
func (localMode) start(*run.Group)                  {}

func (m localMode) observe(met *metrics.Metrics) {
	met.WatchLocalInstances(func() metrics.LocalInstances {
		st := m.p.Stats()
		return metrics.LocalInstances{Running: st.Instances - st.Starting - st.Idle, Starting: st.Starting, Idle: st.Idle}
	})
}
func (m localMode) close() { m.p.Close() }

func (localMode) runAlarms(ctx context.Context, run func(context.Context) error) error {
	return run(ctx)
}
