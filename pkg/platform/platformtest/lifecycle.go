package platformtest

import (
	"context"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Instances is what a platform that counts its instances (local mode)
// offers the suite: how many instances of the version with key run or
// start. With it the lifecycle cases check that Deploy and Remove stop
// what they retire promptly, not at an idle timeout.
type Instances interface {
	Instances(key string) int
}

// Prompt is how soon Deploy and Remove return, and how soon after them
// (and after the in-flight activations they wait for) retired instances
// are gone.
const Prompt = 2 * time.Second

// lifecycle are the cases of Deploy and Remove, the calls the entity
// collection makes after each action write.
var lifecycle = []testCase{
	{name: "Deploy", run: func(t *testing.T, s *suite) {
		a := s.stamped(t, "hello")
		s.timed(t, "Deploy", func(ctx context.Context) { s.p.Deploy(ctx, a) })
		wantResponse(t, s.run(t, a, `{"name":"deployed"}`), whisk.StatusSuccess, `{"greeting":"Hello, deployed!"}`)
	}},
	{name: "DeployWhatCannotRun", run: func(t *testing.T, s *suite) {
		seq := s.stamped(t, "hello")
		seq.Kind, seq.Code = whisk.KindSequence, ""
		s.timed(t, "Deploy of a sequence", func(ctx context.Context) { s.p.Deploy(ctx, seq) })
		none := s.stamped(t, "hello")
		none.Kind = "nosuch:0"
		s.timed(t, "Deploy of a kind without a runtime", func(ctx context.Context) { s.p.Deploy(ctx, none) })
		if c, ok := s.p.(Instances); ok {
			if n := c.Instances(seq.Key) + c.Instances(none.Key); n != 0 {
				t.Errorf("%d instances of what cannot run, want none", n)
			}
		}
	}},
	{name: "DeployRetiresOldVersion", run: func(t *testing.T, s *suite) {
		v1 := s.stamped(t, "hello")
		s.p.Deploy(context.Background(), v1)
		s.run(t, v1, `{"name":"v1"}`)
		v2 := *v1
		v2.Key += "/v2"
		v2.Version = "0.0.2"
		v2.Updated = v1.Updated + 1
		s.timed(t, "Deploy of the new version", func(ctx context.Context) { s.p.Deploy(ctx, &v2) })
		s.gone(t, v1, "the old version after Deploy of the new")
		res := s.run(t, &v2, `{"name":"v2"}`)
		wantResponse(t, res, whisk.StatusSuccess, `{"greeting":"Hello, v2!"}`)
		if !res.Cold {
			t.Error("the new version ran warm, want a new instance")
		}
	}},
	{name: "Remove", run: func(t *testing.T, s *suite) {
		a := s.stamped(t, "hello")
		s.p.Deploy(context.Background(), a)
		s.run(t, a, `{"name":"before"}`)
		s.timed(t, "Remove", func(ctx context.Context) { s.p.Remove(ctx, refOf(a)) })
		s.gone(t, a, "the action after Remove")
		// Created again: a newer stamp, and a fresh instance.
		again := *a
		again.Key += "/again"
		again.Updated = a.Updated + 1
		s.p.Deploy(context.Background(), &again)
		res := s.run(t, &again, `{"name":"after"}`)
		wantResponse(t, res, whisk.StatusSuccess, `{"greeting":"Hello, after!"}`)
		if !res.Cold {
			t.Errorf("run after Remove was warm: %s, logs %q", res.Response.Result, res.Logs)
		}
	}},
	{name: "RemoveLetsActivationsFinish", run: func(t *testing.T, s *suite) {
		if _, ok := s.p.(Instances); !ok {
			// Knative's pods finish their requests as they terminate;
			// only a platform that counts instances shows it here.
			t.Skip("the platform does not count its instances")
		}
		a := s.stamped(t, "sleep")
		s.run(t, a, `{"ms":0}`) // warm: the next run starts at once
		type outcome struct {
			res *platform.Result
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			res, err := s.p.Run(context.Background(), a, request(a, `{"ms":1500}`))
			done <- outcome{res, err}
		}()
		time.Sleep(500 * time.Millisecond) // on the warm instance by now
		start := time.Now()
		s.p.Remove(context.Background(), refOf(a))
		returned := time.Now()
		took := returned.Sub(start)
		// Run hands its result back a moment after the instance is done
		// with it (later still on a loaded machine): what Remove must wait
		// for is the activation's end, not Run's return.
		var o outcome
		select {
		case o = <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("the activation in flight during Remove never finished")
		}
		if o.err != nil {
			t.Fatalf("the activation in flight during Remove: %v", o.err)
		}
		wantResponse(t, o.res, whisk.StatusSuccess, `{"slept":1500}`)
		if o.res.End.After(returned) {
			t.Fatalf("Remove returned after %s, %s before the activation in flight ended; want it to wait", took, o.res.End.Sub(returned))
		}
		if took > 1500*time.Millisecond+Prompt {
			t.Errorf("Remove took %s for an activation of 1.5 s", took)
		}
		s.gone(t, a, "the action after Remove")
	}},
}

// stamped is action with an Updated stamp, as the store gives one.
func (s *suite) stamped(t *testing.T, name string) *platform.Action {
	t.Helper()
	a := s.action(t, name)
	a.Updated = time.Now().UnixMilli()
	return a
}

func refOf(a *platform.Action) platform.ActionRef {
	return platform.ActionRef{Path: a.Path, Updated: a.Updated}
}

// timed runs a lifecycle call and fails when it is not prompt: it runs
// inside an entity write request.
func (s *suite) timed(t *testing.T, what string, call func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	call(ctx)
	if d := time.Since(start); d > Prompt {
		t.Errorf("%s took %s, want at most %s", what, d, Prompt)
	}
}

// gone waits, on a platform that counts its instances, until the
// instances of a are gone, and fails when that takes longer than Prompt.
func (s *suite) gone(t *testing.T, a *platform.Action, what string) {
	t.Helper()
	c, ok := s.p.(Instances)
	if !ok {
		return
	}
	deadline := time.Now().Add(Prompt)
	for {
		n := c.Instances(a.Key)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %d instances still there after %s", what, n, Prompt)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
