package actionloop_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Config.Timeout bounds init as well as each run, so a test that means to
// time out a run with a short limit would time out a slow init instead on
// a loaded machine. runLimit picks such a test's limit from what starting
// the same code costs here and now.
const (
	minRunLimit = 300 * time.Millisecond // what the tests use on an idle machine
	maxRunLimit = 20 * time.Second
	initMargin  = 5 // the limit is at least this many starts
)

// runLimit starts the code with launcher l (a generous limit), stops it,
// and returns a time limit that leaves a start of that code initMargin
// times what this one took: at least floor (and minRunLimit), at most
// maxRunLimit, rounded up to a multiple of floor so that messages stay
// readable.
func runLimit(t *testing.T, l *actionloop.Launcher, dir string, code string, concurrency int, floor time.Duration) time.Duration {
	t.Helper()
	floor = max(floor, minRunLimit)
	start := time.Now()
	inst, failed, err := actionloop.Start(context.Background(), l, &actionloop.Config{
		Dir: filepath.Join(dir, "probe"), Code: code, Timeout: maxRunLimit, LogLimit: 1 << 20, Concurrency: concurrency,
	})
	took := time.Since(start)
	if err != nil || failed != nil {
		t.Fatalf("probe Start: %v %+v", err, failed)
	}
	if err := inst.Stop(); err != nil {
		t.Fatalf("probe Stop: %v", err)
	}
	limit := min(max((initMargin*took+floor-1)/floor*floor, floor), maxRunLimit)
	t.Logf("a start took %v: time limit %v", took, limit)
	return limit
}

// A run past the time limit is killed. (The limit leaves init a margin on
// this machine; the run never ends, so the timeout is the run's.)
func TestRunTimeout(t *testing.T) {
	requireInterpreter(t, "node")
	ctx := context.Background()
	work := t.TempDir()
	l := launcher("nodejs", work)
	code := mustRead("testdata/slow.js")
	limit := runLimit(t, l, work, code, 0, 300*time.Millisecond)
	inst, failed, err := actionloop.Start(ctx, l, &actionloop.Config{
		Dir:      filepath.Join(work, "slow"),
		Code:     code,
		Timeout:  limit,
		LogLimit: 1 << 20,
	})
	if err != nil || failed != nil {
		t.Fatalf("Start: %v %+v", err, failed)
	}
	defer inst.Stop()
	out, err := inst.Run(ctx, &actionloop.Request{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := `{"error":"The action exceeded its time limits of ` + strconv.FormatInt(limit.Milliseconds(), 10) + ` milliseconds."}`
	if out.Response.StatusCode != whisk.StatusDeveloperError || string(out.Response.Result) != want || !out.Timeout {
		t.Errorf("outcome %d %s timeout %v; want %d %s timeout true", out.Response.StatusCode, out.Response.Result, out.Timeout, whisk.StatusDeveloperError, want)
	}
	wantLogs := []string{
		"stderr: The action did not initialize or run as expected. Log data might be missing.",
		"stdout: working",
	}
	if diff := cmp.Diff(wantLogs, untimed(out.Logs)); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
}
