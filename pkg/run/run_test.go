package run

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder logs the order in which parts stop.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, s)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// loop is a run function that waits for its context, then logs name.
func (r *recorder) loop(name string, started *sync.WaitGroup) func(context.Context) error {
	started.Add(1)
	return func(ctx context.Context) error {
		started.Done()
		<-ctx.Done()
		r.add(name)
		return nil
	}
}

func TestStopOrder(t *testing.T) {
	var r recorder
	var started sync.WaitGroup
	g := New(time.Second)
	g.Add("scheduler", r.loop("scheduler", &started), nil)
	g.Add("http", r.loop("http run", &started), func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("stop context has no grace deadline")
		}
		r.add("http stop")
		return nil
	})
	g.Add("activations", nil, func(context.Context) error { r.add("drain"); return nil })
	g.Add("store", nil, func(context.Context) error { r.add("flush"); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	started.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{"scheduler", "http stop", "http run", "drain", "flush"}
	if got := r.got(); !slices.Equal(got, want) {
		t.Errorf("stop order %v, want %v", got, want)
	}
}

func TestFailureStopsGroup(t *testing.T) {
	var r recorder
	var started sync.WaitGroup
	boom := errors.New("boom")
	g := New(time.Second)
	g.Add("alarms", r.loop("alarms", &started), nil)
	g.Add("once", func(context.Context) error { return nil }, nil) // a one-off task ends quietly
	g.Add("http", func(context.Context) error { started.Wait(); return boom }, nil)
	g.Add("store", nil, func(context.Context) error { r.add("flush"); return errors.New("later") })
	err := g.Run(context.Background())
	if !errors.Is(err, boom) || err.Error() != "http: boom" {
		t.Errorf("Run = %v, want http: boom", err)
	}
	if got, want := r.got(), []string{"alarms", "flush"}; !slices.Equal(got, want) {
		t.Errorf("stop order %v, want %v", got, want)
	}
}

func TestStopError(t *testing.T) {
	g := New(time.Second)
	g.Add("store", nil, func(context.Context) error { return errors.New("disk full") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Run(ctx); err == nil || err.Error() != "store: disk full" {
		t.Errorf("Run = %v, want store: disk full", err)
	}
}

func TestValuesReachParts(t *testing.T) {
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	g := New(time.Second)
	got := make(chan any, 2)
	g.Add("part", func(ctx context.Context) error { got <- ctx.Value(key{}); <-ctx.Done(); return nil },
		func(ctx context.Context) error { got <- ctx.Value(key{}); return nil })
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	if v := <-got; v != "v" {
		t.Errorf("run sees value %v, want v", v)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "v" {
		t.Errorf("stop sees value %v, want v", v)
	}
}
