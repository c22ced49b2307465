package local

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Stem cells are launchers started ahead of demand without an action's
// code, as OpenWhisk prewarms containers: a cold start that finds one
// pays only for loading the code. The launcher protocol gains one step
// for them (see the launchers' "stem cells" sections):
//
//   - the launcher is started with __OW_STEM=1 and placeholder code; it
//     answers {"ok":true} on fd 3 as soon as its runtime is up, which is
//     the readiness signal actionloop.Start already waits for;
//   - its first request line is the load: the code has been written to
//     the code directory meanwhile and the request's value is
//     {"main":"<entry point>","env":{<init parameters>}}; the launcher
//     sets the environment, loads the code as it would at start and
//     answers {"ok":true} once its output is written, or {"error":"<message>"}
//     and exits.
//
// A launcher without stem support loads the placeholder, which defines
// no entry point, and fails: stem cells are then off for its kind.
//
// A stem cell is made for a kind and a set of limits (time, memory,
// logs), which its launcher is started with; only actions of that kind
// with source text and those limits take it. Cells are kept for each
// family's default kind with the default limits, and refilled in the
// background as they are taken.

// stemSpec is what stem cells are made for.
type stemSpec struct {
	kind   string
	limits whisk.Limits // timeout, memory and logs; concurrency 1
}

// stem is a started launcher waiting for code.
type stem struct {
	inst  *actionloop.Instance
	dir   string
	limit *memLimit
}

// stems holds the ready stem cells of every spec.
type stems struct {
	want  int
	specs map[string]*stemSpec // by kind

	mu       sync.Mutex
	ready    map[string][]*stem
	starting map[string]int
	broken   map[string]bool // kinds whose launcher cannot be a stem cell
	closed   bool
	changed  chan struct{} // closed and replaced when a start ends
}

func newStems(want int) *stems {
	return &stems{
		want:     want,
		specs:    map[string]*stemSpec{},
		ready:    map[string][]*stem{},
		starting: map[string]int{},
		broken:   map[string]bool{},
		changed:  make(chan struct{}),
	}
}

// stemLimits are the limits stem cells are made for: the defaults.
var stemLimits = whisk.DefaultBounds.Defaults()

// effectiveLimits fills unset limits with the defaults.
func effectiveLimits(l whisk.Limits) whisk.Limits {
	d := whisk.DefaultBounds.Defaults()
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.Memory <= 0 {
		l.Memory = d.Memory
	}
	if l.Concurrency <= 0 {
		l.Concurrency = 1
	}
	return l
}

// fits reports whether a can take a stem cell made for spec.
func (spec *stemSpec) fits(a *platform.Action) bool {
	l := effectiveLimits(a.Limits)
	return a.Kind == spec.kind && !a.Binary && a.Image == "" && l.Concurrency == 1 &&
		l.Timeout == spec.limits.Timeout && l.Memory == spec.limits.Memory && l.Logs == spec.limits.Logs
}

// take returns a ready stem cell a can use, if any, and whether the
// cells of its kind need a refill.
func (s *stems) take(a *platform.Action) (*stem, *stemSpec) {
	spec := s.specs[a.Kind]
	if spec == nil || !spec.fits(a) {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.ready[a.Kind]
	if len(list) == 0 {
		return nil, spec
	}
	st := list[len(list)-1]
	s.ready[a.Kind] = list[:len(list)-1]
	return st, spec
}

// reserve counts the stem cells of spec to start to keep want of them.
func (s *stems) reserve(spec *stemSpec) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.broken[spec.kind] {
		return 0
	}
	n := s.want - len(s.ready[spec.kind]) - s.starting[spec.kind]
	if n <= 0 {
		return 0
	}
	s.starting[spec.kind] += n
	return n
}

// add files a started stem cell; it reports false when it is not wanted
// any more (the platform closed) and must be stopped.
func (s *stems) add(spec *stemSpec, st *stem, broken bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.starting[spec.kind]--
	if broken {
		s.broken[spec.kind] = true
	}
	if st == nil || s.closed {
		return false
	}
	s.ready[spec.kind] = append(s.ready[spec.kind], st)
	return true
}

// close takes out every ready stem cell.
func (s *stems) close() (out []*stem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	close(s.changed)
	s.changed = make(chan struct{})
	for kind, list := range s.ready {
		out = append(out, list...)
		delete(s.ready, kind)
	}
	return out
}

func (s *stems) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, list := range s.ready {
		n += len(list)
	}
	return n
}

// stop ends a stem cell that was never assigned.
func (st *stem) stop() error {
	return errors.Join(st.inst.Stop(), st.limit.release())
}

// stemPlaceholder is the code a stem cell of kind starts with, from its
// family: no entry point, so a launcher without stem support fails on it.
func stemPlaceholder(kind string) string {
	if f := familyOfKind(kind); f != nil {
		return f.StemPlaceholder
	}
	return ""
}

// startStem starts one stem cell of spec and files it.
func (p *Platform) startStem(spec *stemSpec) {
	l := p.kinds[spec.kind]
	sl := *l
	sl.Env = append(append([]string(nil), l.Env...), "__OW_STEM=1")
	ll, lim, err := p.limiter.limit(&sl, memoryOf(spec.kind), spec.limits.Memory)
	if err != nil {
		p.stems.add(spec, nil, false)
		p.log.Warn("no stem cell", "kind", spec.kind, logging.Err(err))
		return
	}
	c := p.instanceConfig(spec.limits)
	c.Code = stemPlaceholder(spec.kind)
	inst, failed, err := actionloop.Start(p.ctx, ll, c)
	switch {
	case err != nil:
		_ = lim.release() // the start error is what matters
		p.stems.add(spec, nil, false)
		if p.ctx.Err() == nil {
			p.log.Warn("no stem cell", "kind", spec.kind, logging.Err(err))
		}
		return
	case failed != nil:
		_ = lim.release() // the launcher is gone; the cgroup is empty
		p.stems.add(spec, nil, true)
		p.log.Warn("no stem cells: the launcher did not start without code", "kind", spec.kind, "result", string(failed.Response.Result))
		return
	}
	st := &stem{inst: inst, dir: c.Dir, limit: lim}
	if !p.stems.add(spec, st, false) {
		p.stopped(st.stop())
	}
}

// refill starts stem cells of spec in the background until want are
// ready or starting.
func (p *Platform) refill(spec *stemSpec) {
	for range p.stems.reserve(spec) {
		if !p.background(func() { p.startStem(spec) }) {
			p.stems.add(spec, nil, false)
		}
	}
}

// loadRequest is the value of a stem cell's load request.
type loadRequest struct {
	Main string            `json:"main"`
	Env  map[string]string `json:"env"`
}

// load gives a's code to the stem cell st and returns the instance it has
// become, or the Outcome of a failed init (a developer error, as at a
// cold start), or an error when the platform failed.
func (p *Platform) load(ctx context.Context, st *stem, a *platform.Action, timeout time.Duration) (*instance, *actionloop.Outcome, error) {
	start := time.Now()
	l := p.kinds[a.Kind]
	if err := os.WriteFile(filepath.Join(st.dir, l.Source), []byte(a.Code), 0o600); err != nil {
		p.stopped(st.stop())
		return nil, nil, err
	}
	main := a.Main
	if main == "" {
		main = "main"
	}
	env := a.Env
	if env == nil {
		env = map[string]string{}
	}
	value, err := json.Marshal(loadRequest{Main: main, Env: env})
	if err != nil {
		p.stopped(st.stop())
		return nil, nil, err
	}
	out, err := st.inst.Run(ctx, &actionloop.Request{Value: value, ActionName: a.Path.FullyQualified(), ActionVersion: a.Version})
	if err != nil {
		p.stopped(st.stop())
		return nil, nil, err
	}
	if out.Response.StatusCode == whisk.StatusSuccess && st.inst.Usable() {
		return &instance{proc: st.inst, limit: st.limit, cold: &coldStart{start: start, initTime: time.Since(start), logs: out.Logs}}, nil, nil
	}
	p.stopped(st.stop())
	return nil, loadFailure(start, out, timeout), nil
}

// loadFailure turns the answer to a failed load into the Outcome of a
// failed init, worded as at a cold start.
func loadFailure(start time.Time, out *actionloop.Outcome, timeout time.Duration) *actionloop.Outcome {
	msg := actionloop.MsgInitExited
	switch {
	case out.Timeout:
		msg = actionloop.InitTimeoutMessage(timeout)
	case out.Response.StatusCode == whisk.StatusSuccess:
		msg = actionloop.MsgInitExited // answered, then died
	default:
		var body struct {
			Error json.RawMessage `json:"error"`
		}
		var s string
		if json.Unmarshal(out.Response.Result, &body) == nil && json.Unmarshal(body.Error, &s) == nil && s != "" && s != actionloop.MsgRunExited {
			msg = s
		}
	}
	logs := out.Logs
	warning := stderrLine(time.Now(), actionloop.MsgLogsIncomplete)
	if n := len(logs); n == 0 || !strings.HasSuffix(logs[n-1], " stderr: "+actionloop.MsgLogsIncomplete) {
		logs = append(logs, warning)
	}
	return &actionloop.Outcome{
		Start: start, End: time.Now(), Timeout: out.Timeout, Logs: logs,
		Response: whisk.Response{StatusCode: whisk.StatusDeveloperError, Result: whisk.ErrorResult(msg)},
	}
}

// stderrLine formats a log line as actionloop does.
func stderrLine(t time.Time, text string) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z") + " stderr: " + text
}

// wait waits until every spec has its stem cells ready or is broken, or
// the platform closed, or ctx ends.
func (s *stems) wait(ctx context.Context) error {
	for {
		s.mu.Lock()
		done := true
		for kind := range s.specs {
			if !s.closed && !s.broken[kind] && len(s.ready[kind]) < s.want {
				done = false
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
