package platformtest

import (
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Init is bounded by the action's own time limit, as in OpenWhisk, so a
// case that means to time out a run with a short limit would time out a
// slow init instead on a loaded machine. runLimit picks the limit for such
// a case from what a cold start costs here and now.
const (
	minRunLimit = 1000  // ms; what the case uses on an idle machine
	maxRunLimit = 20000 // ms; the suite's default limit
	initMargin  = 5     // the limit is at least this many cold starts
)

// runLimit cold-starts a fresh version of the named action with the
// suite's default limit, runs it with value (which must succeed quickly)
// and returns a time limit in milliseconds that leaves a cold start of that
// action initMargin times what this one took: at least minRunLimit, at most
// maxRunLimit, in whole seconds so the messages stay readable.
func (s *suite) runLimit(t *testing.T, name, value string) int {
	t.Helper()
	probe := s.action(t, name)
	res := s.run(t, probe, value)
	if res.Response.StatusCode != whisk.StatusSuccess {
		t.Fatalf("probe run of %s: status %d, result %.300s", name, res.Response.StatusCode, res.Response.Result)
	}
	limit := limitFor(res)
	t.Logf("a cold start of %s took %v: time limit %d ms", name, res.InitTime, limit)
	return limit
}

// limitFor is runLimit's arithmetic over the probe's result.
func limitFor(probe *platform.Result) int {
	ms := int((initMargin*probe.InitTime + time.Second - 1) / time.Second * 1000)
	return min(max(ms, minRunLimit), maxRunLimit)
}
