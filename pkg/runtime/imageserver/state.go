package imageserver

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
)

// The Server's instance: started at boot or on demand, shared by the runs
// in flight, replaced once it turns unusable and stopped when its last run
// ends. All of it goes through state.mu.

var errNotInitialized = errors.New(MsgNotInitialized)

// serverState is the mutable part of a Server.
type serverState struct {
	mu       sync.Mutex
	cfg      *actionloop.Config  // the action's code and limits, once known
	failed   *actionloop.Outcome // the boot init's failure, answered to every run
	inst     *actionloop.Instance
	initTime time.Duration // of inst (of the proxy's boot init), until a run reports it
	inflight map[*actionloop.Instance]int
	retired  map[*actionloop.Instance]bool // unusable; stopped when their runs end
}

// start starts an instance for the action unless a usable one appeared
// meanwhile (stale names the instance the caller found unusable). It
// returns the Outcome of a failed init, or an error of the runtime.
func (s *Server) start(ctx context.Context, stale *actionloop.Instance) (*actionloop.Outcome, error) {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	s.state.mu.Lock()
	cfg := s.state.cfg
	if cur := s.state.inst; cur != nil && (cur != stale && cur.Usable()) {
		s.state.mu.Unlock()
		return nil, nil
	}
	old := s.state.inst
	s.state.inst = nil
	stop := s.retire(old)
	s.state.mu.Unlock()
	if stop {
		go func() { _ = old.Stop() }() // its failure shows in no activation
	}
	if cfg == nil {
		return nil, errors.New("no action")
	}
	c := *cfg
	c.Dir = filepath.Join(s.work, "instances", strconv.FormatUint(s.seq.Add(1), 10))
	begin := time.Now()
	inst, failed, err := actionloop.Start(ctx, s.l, &c)
	if err != nil || failed != nil {
		return failed, err
	}
	s.state.mu.Lock()
	s.state.inst, s.state.initTime = inst, time.Since(begin)
	s.state.mu.Unlock()
	return nil, nil
}

// retire takes an unusable instance out of service; it reports whether
// the caller must stop it now (no run in flight). Called with state.mu.
func (s *Server) retire(inst *actionloop.Instance) bool {
	if inst == nil || s.state.retired[inst] {
		return false
	}
	if s.state.inflight[inst] == 0 {
		return true
	}
	s.state.retired[inst] = true
	return false
}

// acquire returns the instance to run on, starting one when there is
// none, with the init time to report (once per instance); or the Outcome
// of an init that failed.
func (s *Server) acquire(ctx context.Context) (*actionloop.Instance, time.Duration, *actionloop.Outcome, error) {
	for range 3 {
		s.state.mu.Lock()
		switch inst := s.state.inst; {
		case s.state.failed != nil:
			out := s.state.failed
			s.state.mu.Unlock()
			return nil, 0, out, nil
		case inst != nil && inst.Usable():
			s.state.inflight[inst]++
			initTime := s.state.initTime
			s.state.initTime = 0
			s.state.mu.Unlock()
			return inst, initTime, nil, nil
		case s.state.cfg == nil:
			s.state.mu.Unlock()
			return nil, 0, nil, errNotInitialized
		default:
			s.state.mu.Unlock()
			out, err := s.start(ctx, inst)
			if err != nil || out != nil {
				return nil, 0, out, err
			}
		}
	}
	return nil, 0, nil, errors.New("imageserver: no usable instance")
}

// release ends a run on inst, stopping it when it was retired and this
// was its last run.
func (s *Server) release(inst *actionloop.Instance) {
	s.state.mu.Lock()
	s.state.inflight[inst]--
	stop := false
	if s.state.inflight[inst] == 0 {
		delete(s.state.inflight, inst)
		if s.state.retired[inst] {
			delete(s.state.retired, inst)
			stop = true
		}
	}
	s.state.mu.Unlock()
	if stop {
		go func() { _ = inst.Stop() }() // its failure shows in no activation
	}
}

// stopAll stops every instance and removes a temporary work directory.
func (s *Server) stopAll() error {
	s.state.mu.Lock()
	insts := []*actionloop.Instance{}
	if s.state.inst != nil {
		insts = append(insts, s.state.inst)
	}
	for inst := range s.state.inflight {
		if inst != s.state.inst {
			insts = append(insts, inst)
		}
	}
	s.state.inst = nil
	s.state.mu.Unlock()
	var errs []error
	for _, inst := range insts {
		errs = append(errs, inst.Stop())
	}
	s.removeWork()
	return errors.Join(errs...)
}
