package actionloop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func startConcurrent(t *testing.T, n int, timeout time.Duration) *actionloop.Instance {
	t.Helper()
	l, work := concurrentLauncher(t)
	return startConcurrentWith(t, l, work, n, timeout)
}

// concurrentLauncher is a concurrent Node.js launcher in a new work dir.
func concurrentLauncher(t *testing.T) (*actionloop.Launcher, string) {
	t.Helper()
	requireInterpreter(t, "node")
	work := t.TempDir()
	l := launcher("nodejs", work)
	l.Concurrent = true
	return l, work
}

func startConcurrentWith(t *testing.T, l *actionloop.Launcher, work string, n int, timeout time.Duration) *actionloop.Instance {
	t.Helper()
	inst, failed, err := actionloop.Start(context.Background(), l, &actionloop.Config{
		Dir: filepath.Join(work, "gather"), Code: mustRead("testdata/gather.js"),
		Timeout: timeout, LogLimit: 1 << 20, Concurrency: n,
	})
	if err != nil || failed != nil {
		t.Fatalf("Start: %v %+v", err, failed)
	}
	t.Cleanup(func() {
		if err := inst.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	if got := inst.Capacity(); got != n {
		t.Fatalf("Capacity() = %d, want %d", got, n)
	}
	return inst
}

func activationID(i int) whisk.ActivationID {
	return whisk.ActivationID(fmt.Sprintf("%032x", i+1))
}

// Activations run at once in one launcher, each with its own logs and
// __OW_ variables: in the first round none of them ends before all have
// started (the action counts arrivals across rounds; the second round
// checks a warm instance).
func TestConcurrentRuns(t *testing.T) {
	const n = 4
	inst := startConcurrent(t, n, 10*time.Second)
	for round := range 2 {
		outs := make([]*actionloop.Outcome, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				out, err := inst.Run(context.Background(), &actionloop.Request{
					Value:        json.RawMessage(fmt.Sprintf(`{"i":%d,"n":%d}`, i, n*(round+1))),
					ActivationID: activationID(i),
				})
				if err != nil {
					t.Errorf("round %d, run %d: %v", round, i, err)
				}
				outs[i] = out
			})
		}
		wg.Wait()
		for i, out := range outs {
			if out == nil {
				continue
			}
			want := fmt.Sprintf(`{"i":%d,"id":"%s"}`, i, activationID(i))
			if out.Response.StatusCode != 0 || string(out.Response.Result) != want {
				t.Errorf("run %d: %d %s, want %s", i, out.Response.StatusCode, out.Response.Result, want)
			}
			wantLogs := []string{fmt.Sprintf("stderr: end %d", i), fmt.Sprintf("stdout: start %d", i)}
			if diff := cmp.Diff(wantLogs, untimed(out.Logs)); diff != "" {
				t.Errorf("run %d logs (-want +got):\n%s", i, diff)
			}
		}
	}
	if !inst.Usable() {
		t.Error("instance unusable after successful runs")
	}
}

// A run past its limit kills the launcher: it reports the timeout, the
// others in flight that the action did not exit cleanly.
func TestConcurrentTimeout(t *testing.T) {
	const n = 3
	l, work := concurrentLauncher(t)
	limit := runLimit(t, l, work, mustRead("testdata/gather.js"), n, time.Second)
	inst := startConcurrentWith(t, l, work, n, limit)
	type result struct {
		out *actionloop.Outcome
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v := fmt.Sprintf(`{"i":%d,"n":%d,"hang":true}`, i, n)
			out, err := inst.Run(context.Background(), &actionloop.Request{Value: json.RawMessage(v), ActivationID: activationID(i)})
			results[i] = result{out, err}
		})
	}
	wg.Wait()
	timeouts := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("run %d: %v", i, r.err)
		}
		var e struct{ Error string }
		_ = json.Unmarshal(r.out.Response.Result, &e) // checked below
		switch {
		case r.out.Timeout && e.Error == actionloop.RunTimeoutMessage(limit):
			timeouts++
		case r.out.Timeout || (e.Error != actionloop.MsgRunExited && e.Error != actionloop.RunTimeoutMessage(limit)):
			t.Errorf("run %d: %+v %s", i, r.out, r.out.Response.Result)
		}
		if got := untimed(r.out.Logs); !strings.Contains(strings.Join(got, "\n"), fmt.Sprintf("stdout: start %d", i)) {
			t.Errorf("run %d logs %q lack its own line", i, got)
		}
	}
	if timeouts == 0 {
		t.Error("no run reported the timeout")
	}
	if inst.Usable() {
		t.Error("instance usable after a timeout")
	}
}
