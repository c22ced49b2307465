package local

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// fakeProc is a process that runs nothing; the pool tests drive the
// supervisor's state machine without launchers.
type fakeProc struct {
	capacity int
	dead     atomic.Bool
	stopped  atomic.Bool
}

func (f *fakeProc) Run(context.Context, *actionloop.Request) (*actionloop.Outcome, error) {
	return &actionloop.Outcome{}, nil
}
func (f *fakeProc) Capacity() int { return f.capacity }
func (f *fakeProc) Usable() bool  { return !f.dead.Load() && !f.stopped.Load() }
func (f *fakeProc) Stop() error   { f.stopped.Store(true); return nil }

func fakeAction(name, version string, concurrency int) *platform.Action {
	return &platform.Action{
		Key: name + "@" + version, Path: whisk.EntityPath{Namespace: "guest", Name: name}, Version: version, Kind: "nodejs:20",
		Limits: whisk.Limits{Timeout: 1000, Memory: 256, Logs: 10, Concurrency: concurrency},
	}
}

// harness drives pools the way Platform does, with fake processes: starts
// are recorded and completed by the test.
type harness struct {
	t       *testing.T
	s       *pools
	now     time.Time
	starts  []*pool // starts asked for and not yet completed
	stopped []*instance
}

func newHarness(t *testing.T, maxTotal, maxPer, maxQueue int) *harness {
	return &harness{t: t, s: newPools(maxTotal, maxPer, maxQueue), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (h *harness) apply(fx effects) {
	h.starts = append(h.starts, fx.starts...)
	h.stopped = append(h.stopped, fx.stop...)
}

// request enqueues one activation; it returns the waiter, or nil when it
// got a slot at once (then the grant).
func (h *harness) request(a *platform.Action, slots int) (*waiter, grant) {
	h.t.Helper()
	g, w, fx, err := h.s.enqueue(a, slots)
	if err != nil {
		h.t.Fatalf("enqueue: %v", err)
	}
	h.apply(fx)
	return w, g
}

// startNext completes the oldest pending start with a new fake process.
func (h *harness) startNext(capacity int) *instance {
	h.t.Helper()
	if len(h.starts) == 0 {
		h.t.Fatal("no start pending")
	}
	p := h.starts[0]
	h.starts = h.starts[1:]
	inst := &instance{proc: &fakeProc{capacity: capacity}, cold: &coldStart{start: h.now}}
	h.apply(h.s.started(p, inst, nil, nil, h.now))
	return inst
}

func granted(t *testing.T, w *waiter) grant {
	t.Helper()
	select {
	case g := <-w.ch:
		return g
	default:
		t.Fatal("waiter not granted")
		return grant{}
	}
}

func waiting(t *testing.T, w *waiter) {
	t.Helper()
	select {
	case g := <-w.ch:
		t.Fatalf("waiter granted %+v, want it still queued", g)
	default:
	}
}

func TestScaleUpToTheActionCapThenQueue(t *testing.T) {
	h := newHarness(t, 64, 3, 100)
	a := fakeAction("burst", "0.0.1", 1)
	var ws []*waiter
	for range 5 {
		w, _ := h.request(a, 1)
		ws = append(ws, w)
	}
	if len(h.starts) != 3 {
		t.Fatalf("%d starts for 5 queued under a cap of 3, want 3", len(h.starts))
	}
	var insts []*instance
	for range 3 {
		insts = append(insts, h.startNext(1))
	}
	// Every new instance took the head of the queue, and reported the cold start.
	for i, w := range ws[:3] {
		g := granted(t, w)
		if g.inst != insts[i] || g.cold == nil {
			t.Errorf("waiter %d got %+v, want instance %d with its cold start", i, g, i)
		}
	}
	waiting(t, ws[3])
	waiting(t, ws[4])
	h.apply(h.s.release(insts[1], true, h.now))
	if g := granted(t, ws[3]); g.inst != insts[1] || g.cold != nil {
		t.Errorf("fourth waiter got %+v, want the freed warm instance", g)
	}
	waiting(t, ws[4])
	if got := h.s.stats(); got != (Stats{Pools: 1, Instances: 3, Busy: 3, Queued: 1}) {
		t.Errorf("stats %+v", got)
	}
}

func TestStartsAFewAtATime(t *testing.T) {
	h := newHarness(t, 64, 16, 100)
	h.s.maxStarting = 2
	a := fakeAction("ramp", "0.0.1", 1)
	var ws []*waiter
	for range 10 {
		w, _ := h.request(a, 1)
		ws = append(ws, w)
	}
	if len(h.starts) != 2 {
		t.Fatalf("%d starts for 10 queued, want 2 at a time", len(h.starts))
	}
	first := h.startNext(1)
	granted(t, ws[0])
	if len(h.starts) != 2 {
		t.Fatalf("%d starts pending once one ended, want another begun", len(h.starts))
	}
	// The first instance serves the queue while the others start.
	h.apply(h.s.release(first, true, h.now))
	if g := granted(t, ws[1]); g.inst != first {
		t.Errorf("second activation got %+v, want the first instance", g)
	}
}

func TestConcurrentInstancesTakeSeveralActivations(t *testing.T) {
	h := newHarness(t, 64, 16, 100)
	a := fakeAction("multi", "0.0.1", 4)
	var ws []*waiter
	for range 6 {
		w, _ := h.request(a, 4)
		ws = append(ws, w)
	}
	if len(h.starts) != 2 {
		t.Fatalf("%d starts for 6 activations at 4 per instance, want 2", len(h.starts))
	}
	first := h.startNext(4)
	for _, w := range ws[:4] {
		if g := granted(t, w); g.inst != first {
			t.Fatalf("got %+v, want the first instance", g)
		}
	}
	second := h.startNext(4)
	for _, w := range ws[4:] {
		if g := granted(t, w); g.inst != second {
			t.Fatalf("got %+v, want the second instance", g)
		}
	}
	// A free slot on the busier instance is used first, so work packs.
	h.apply(h.s.release(first, true, h.now))
	_, g := h.request(a, 4)
	if g.inst != first {
		t.Errorf("next activation went to %p, want the busiest instance with a free slot %p", g.inst, first)
	}
}

func TestInstancesTakingFewerThanExpected(t *testing.T) {
	h := newHarness(t, 64, 16, 100)
	a := fakeAction("serial", "0.0.1", 4)
	var ws []*waiter
	for range 3 {
		w, _ := h.request(a, 4) // expected 4 per instance: one start
		ws = append(ws, w)
	}
	if len(h.starts) != 1 {
		t.Fatalf("%d starts, want 1", len(h.starts))
	}
	inst := h.startNext(1) // the launcher runs one at a time after all
	if inst.slots != 1 {
		t.Errorf("slots %d, want 1", inst.slots)
	}
	granted(t, ws[0])
	if len(h.starts) != 2 {
		t.Fatalf("%d more starts for the 2 still queued, want 2", len(h.starts))
	}
}

func TestCrashedInstanceIsReplaced(t *testing.T) {
	h := newHarness(t, 64, 1, 100)
	a := fakeAction("crash", "0.0.1", 1)
	w1, _ := h.request(a, 1)
	w2, _ := h.request(a, 1)
	inst := h.startNext(1)
	granted(t, w1)
	inst.proc.(*fakeProc).dead.Store(true)
	h.apply(h.s.release(inst, false, h.now))
	if diff := cmp.Diff([]*instance{inst}, h.stopped, cmp.Comparer(func(a, b *instance) bool { return a == b })); diff != "" {
		t.Errorf("stopped (-want +got):\n%s", diff)
	}
	if len(h.starts) != 1 {
		t.Fatalf("%d starts after the crash with one queued, want a replacement", len(h.starts))
	}
	next := h.startNext(1)
	if g := granted(t, w2); g.inst != next {
		t.Errorf("queued activation got %+v, want the replacement", g)
	}
}

func TestFailedStartIsReportedToOneActivation(t *testing.T) {
	h := newHarness(t, 64, 1, 100)
	a := fakeAction("broken", "0.0.1", 1)
	w1, _ := h.request(a, 1)
	w2, _ := h.request(a, 1)
	p := h.starts[0]
	h.starts = nil
	failed := &actionloop.Outcome{Response: whisk.Response{StatusCode: whisk.StatusDeveloperError}}
	h.apply(h.s.started(p, nil, failed, nil, h.now))
	if g := granted(t, w1); g.failed != failed {
		t.Errorf("first activation got %+v, want the failed init", g)
	}
	waiting(t, w2)
	if len(h.starts) != 1 {
		t.Errorf("%d starts for the activation still queued, want 1 (its own init)", len(h.starts))
	}
}

func TestIdleReaperSparesBusyInstances(t *testing.T) {
	h := newHarness(t, 64, 16, 100)
	a := fakeAction("reaped", "0.0.1", 1)
	w, _ := h.request(a, 1)
	inst := h.startNext(1)
	granted(t, w)
	if fx := h.s.reap(h.now.Add(time.Hour)); len(fx.stop) != 0 {
		t.Fatalf("reaped %d instances while the only one was busy", len(fx.stop))
	}
	h.apply(h.s.release(inst, true, h.now.Add(time.Minute)))
	if fx := h.s.reap(h.now.Add(time.Minute)); len(fx.stop) != 0 {
		t.Fatalf("reaped an instance idle for no time")
	}
	fx := h.s.reap(h.now.Add(time.Hour))
	if len(fx.stop) != 1 || fx.stop[0] != inst {
		t.Fatalf("reap after the idle timeout stopped %v, want the instance", fx.stop)
	}
	if got := h.s.stats(); got != (Stats{}) {
		t.Errorf("after scale to zero: %+v, want nothing left", got)
	}
}

func TestQueueIsBounded(t *testing.T) {
	h := newHarness(t, 64, 1, 2)
	a := fakeAction("bounded", "0.0.1", 1)
	h.request(a, 1)
	h.request(a, 1)
	_, _, _, err := h.s.enqueue(a, 1)
	if !whisk.IsKind(err, whisk.KindUnavailable) {
		t.Errorf("third queued = %v, want unavailable", err)
	}
}

func TestHostCapEvictsIdleOrWaits(t *testing.T) {
	h := newHarness(t, 1, 16, 100)
	x, y := fakeAction("x", "0.0.1", 1), fakeAction("y", "0.0.1", 1)
	wx, _ := h.request(x, 1)
	ix := h.startNext(1)
	granted(t, wx)
	wy, _ := h.request(y, 1)
	if len(h.starts) != 0 {
		t.Fatal("started y while the host was full of busy instances")
	}
	h.apply(h.s.release(ix, true, h.now))
	// x's instance went idle, y needs the room: x's is evicted.
	if len(h.stopped) != 1 || h.stopped[0] != ix || len(h.starts) != 1 {
		t.Fatalf("after x finished: stopped %v, %d starts; want x evicted and y started", h.stopped, len(h.starts))
	}
	iy := h.startNext(1)
	if g := granted(t, wy); g.inst != iy {
		t.Errorf("y got %+v", g)
	}
}

func TestNewVersionServesQueueOfTheOld(t *testing.T) {
	h := newHarness(t, 64, 1, 100)
	old, cur := fakeAction("v", "0.0.1", 1), fakeAction("v", "0.0.2", 1)
	w1, _ := h.request(old, 1)
	w2, _ := h.request(old, 1)
	inst := h.startNext(1)
	granted(t, w1)
	h.request(cur, 1) // retires the old version's pool
	h.apply(h.s.release(inst, true, h.now))
	if g := granted(t, w2); g.inst != inst {
		t.Fatalf("the old version's queued activation got %+v, want the old instance", g)
	}
	h.apply(h.s.release(inst, true, h.now))
	if len(h.stopped) != 1 || h.stopped[0] != inst {
		t.Errorf("stopped %v, want the old instance once its queue was served", h.stopped)
	}
}

func TestWithdrawnWaiterLeavesTheQueue(t *testing.T) {
	h := newHarness(t, 64, 1, 100)
	a := fakeAction("w", "0.0.1", 1)
	w1, _ := h.request(a, 1)
	w2, _ := h.request(a, 1)
	w3, _ := h.request(a, 1)
	if _, ok, covered := h.s.withdraw(w2, true); ok || covered {
		t.Fatalf("second waiter: granted %v, covered %v; want neither (only the first is covered by the start)", ok, covered)
	}
	if _, ok, covered := h.s.withdraw(w1, true); ok || !covered {
		t.Fatalf("first waiter: granted %v, covered %v; want covered by the start", ok, covered)
	}
	inst := h.startNext(1)
	granted(t, w1)
	h.apply(h.s.release(inst, true, h.now))
	if g := granted(t, w3); g.inst != inst {
		t.Errorf("third waiter got %+v after the second withdrew", g)
	}
}
