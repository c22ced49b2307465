// Package run runs a process's long-lived parts as one group with one
// stop order, in the manner of controller-runtime's manager: every part
// starts at once, and when the group stops (its context ends or a part
// fails) the parts stop one after the other in the order they were added.
// It imports only the standard library.
package run

import (
	"context"
	"fmt"
	"time"
)

// Group is a set of parts run together. Build it with New, Add every
// part, then call Run once.
type Group struct {
	grace time.Duration
	parts []part
}

type part struct {
	name string
	run  func(ctx context.Context) error
	stop func(ctx context.Context) error
}

// New returns an empty group whose stop steps share a grace period: the
// context every stop function gets ends grace after the group starts
// stopping.
func New(grace time.Duration) *Group {
	return &Group{grace: grace}
}

// Add adds a part. Either function may be nil.
//
// run is the part's loop: it runs until its context ends and then returns
// nil (an error it returns then is the group's too). A run that returns nil early just ends (a one-off task); one that returns
// an error before the group stops makes the group stop.
//
// stop is how the part winds down when its turn comes in the stop order:
// it is called with the group's grace context, and run's context is
// cancelled after it returns. A part without stop is stopped by cancelling
// run's context alone.
//
// Parts stop in the order they were added, each one completely (stop
// returned, run returned) before the next.
func (g *Group) Add(name string, run, stop func(ctx context.Context) error) {
	g.parts = append(g.parts, part{name: name, run: run, stop: stop})
}

// Run starts every part and blocks until ctx ends or a part fails, then
// stops the parts in order. It returns the first error: the failure that
// stopped the group, else the first error of a stop function or of a run
// function returning late. ctx's values reach every part; its
// cancellation is only the signal to stop.
func (g *Group) Run(ctx context.Context) error {
	base := context.WithoutCancel(ctx)
	// Every run sends at most one error: the buffer never blocks it.
	failed := make(chan error, len(g.parts))
	cancels := make([]context.CancelFunc, len(g.parts))
	dones := make([]chan struct{}, len(g.parts))
	for i, p := range g.parts {
		pctx, cancel := context.WithCancel(base)
		cancels[i], dones[i] = cancel, make(chan struct{})
		if p.run == nil {
			close(dones[i])
			continue
		}
		go func(done chan struct{}) {
			defer close(done)
			if err := p.run(pctx); err != nil {
				failed <- fmt.Errorf("%s: %w", p.name, err)
			}
		}(dones[i])
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-failed:
	}
	graceCtx, cancelGrace := context.WithTimeout(base, g.grace)
	defer cancelGrace()
	for i, p := range g.parts {
		if p.stop != nil {
			if err := p.stop(graceCtx); err != nil && first == nil {
				first = fmt.Errorf("%s: %w", p.name, err)
			}
		}
		cancels[i]()
		<-dones[i]
	}
	// Every run has returned: what failed meanwhile is in failed.
	for {
		select {
		case err := <-failed:
			if first == nil {
				first = err
			}
		default:
			return first
		}
	}
}
