package activation

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Actions resolves actions.
type Actions interface {
	Get(ctx context.Context, path whisk.EntityPath) (*whisk.Action, error)
}

// Runner runs one activation on the data plane.
type Runner interface {
	Run(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error)
}

// Records is where activation records go.
type Records interface {
	PutActivation(ctx context.Context, a *whisk.Activation) error
	AddPending(ctx context.Context, a *whisk.Activation) error
	TakePending(ctx context.Context) ([]*whisk.Activation, error)
}

// Caller is who invokes: the activation is recorded in its namespace.
type Caller struct {
	Namespace string
	Subject   string
	Key       string // "uuid:key", passed on with provide-api-key
}

// Request is one invoke.
type Request struct {
	Path          whisk.EntityPath // resolved, no "_"
	Payload       map[string]json.RawMessage
	Blocking      bool
	Wait          time.Duration // blocking wait; 0 means the service default
	TransactionID string
}

// Outcome is what the caller gets: the id always, the record when the
// activation finished within the wait.
type Outcome struct {
	ID     whisk.ActivationID
	Record *whisk.Activation
}

// Service invokes actions.
type Service struct {
	actions  Actions
	runner   Runner
	records  Records
	wait     time.Duration
	log      func(format string, args ...any)
	inflight sync.WaitGroup
	now      func() time.Time
}

// Options configure a Service. Zero values mean: BlockingWait 60 s,
// Logf discards.
type Options struct {
	BlockingWait time.Duration
	Logf         func(format string, args ...any)
}

// New returns a Service.
func New(actions Actions, runner Runner, records Records, opts Options) *Service {
	if opts.BlockingWait <= 0 {
		opts.BlockingWait = 60 * time.Second
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	return &Service{actions: actions, runner: runner, records: records, wait: opts.BlockingWait, log: opts.Logf, now: time.Now}
}

// Invoke starts an activation of the action at req.Path on behalf of
// caller. A blocking invoke returns the record if it completes within the
// wait; otherwise (and for non-blocking invokes) the record is nil and the
// activation goes on, durably recorded as pending.
func (s *Service) Invoke(ctx context.Context, caller Caller, req Request) (*Outcome, error) {
	received := s.now()
	a, err := s.actions.Get(ctx, req.Path)
	if err != nil {
		return nil, err
	}
	if a.FinalViolation(req.Payload) {
		return nil, whisk.Invalid(whisk.MsgReservedParameters)
	}
	act := s.start(caller, req, a, received)
	if !req.Blocking {
		if err := s.records.AddPending(ctx, act.skeleton()); err != nil {
			return nil, fmt.Errorf("record pending activation: %w", err)
		}
		close(act.acked)
		s.launch(act)
		return &Outcome{ID: act.id}, nil
	}
	s.launch(act)
	wait := s.wait
	if req.Wait > 0 && req.Wait < wait {
		wait = req.Wait
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-act.done:
		return &Outcome{ID: act.id, Record: act.record}, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	// Acknowledge with the id only: make the activation durable first.
	if !act.ack() {
		<-act.done
		return &Outcome{ID: act.id, Record: act.record}, nil
	}
	err = s.records.AddPending(context.WithoutCancel(ctx), act.skeleton())
	close(act.acked)
	if err != nil {
		s.log("record pending activation %s: %v", act.id, err)
	}
	return &Outcome{ID: act.id}, nil
}

// Drain waits until every activation in flight has been recorded, or ctx
// ends.
func (s *Service) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// MsgInterrupted is the result of an activation a restart cut short.
const MsgInterrupted = "The activation did not complete: the gateway stopped before the action finished."

// Recover records every activation a previous process acknowledged but did
// not complete as a whisk internal error.
func (s *Service) Recover(ctx context.Context) (int, error) {
	pending, err := s.records.TakePending(ctx)
	if err != nil {
		return 0, fmt.Errorf("take pending activations: %w", err)
	}
	now := s.now().UnixMilli()
	for _, a := range pending {
		a.Response = whisk.Response{StatusCode: whisk.StatusWhiskError, Result: whisk.ErrorResult(MsgInterrupted)}
		if a.End == 0 {
			a.End = now
			a.Duration = now - a.Start
		}
		if a.Logs == nil {
			a.Logs = []string{}
		}
		if err := s.records.PutActivation(ctx, a); err != nil {
			return 0, fmt.Errorf("record interrupted activation %s: %w", a.ActivationID, err)
		}
	}
	return len(pending), nil
}

// running is one activation between start and record.
type running struct {
	id       whisk.ActivationID
	caller   Caller
	req      Request
	action   *whisk.Action
	received time.Time

	mu     sync.Mutex
	state  int // 0 running, 1 acknowledged (202 sent), 2 completed
	acked  chan struct{}
	done   chan struct{}
	record *whisk.Activation
}

func (s *Service) start(caller Caller, req Request, a *whisk.Action, received time.Time) *running {
	return &running{
		id: whisk.NewActivationID(), caller: caller, req: req, action: a, received: received,
		acked: make(chan struct{}), done: make(chan struct{}),
	}
}

// ack marks the activation acknowledged unless it already completed.
func (r *running) ack() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == 2 {
		return false
	}
	r.state = 1
	return true
}

// complete marks the activation completed and reports whether it had been
// acknowledged (so its pending entry must be written before the record).
func (r *running) complete() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	acked := r.state == 1
	r.state = 2
	return acked
}

// skeleton is the pending form of the record: enough to report it.
func (r *running) skeleton() *whisk.Activation {
	return &whisk.Activation{
		Namespace: r.caller.Namespace, Name: r.action.Name, Version: r.action.Version,
		Subject: r.caller.Subject, ActivationID: r.id, Start: r.received.UnixMilli(),
		Annotations: baseAnnotations(r.action), Logs: []string{},
	}
}

func (s *Service) launch(r *running) {
	s.inflight.Add(1)
	if !r.req.Blocking {
		r.state = 1
	}
	go func() {
		defer s.inflight.Done()
		rec := s.run(r)
		if r.complete() {
			<-r.acked
		}
		r.record = rec
		if err := s.records.PutActivation(context.Background(), rec); err != nil {
			s.log("record activation %s: %v", r.id, err)
		}
		close(r.done)
	}()
}

// run hands the activation to the platform and builds its record.
func (s *Service) run(r *running) *whisk.Activation {
	a := r.action
	timeout := time.Duration(a.Limits.Timeout) * time.Millisecond
	deadline := s.now().Add(timeout)
	pa := platformAction(a)
	params := a.RunParameters(r.req.Payload)
	value, err := json.Marshal(params)
	if err != nil {
		value = []byte("{}")
	}
	req := &platform.RunRequest{
		Value: value, Namespace: r.caller.Namespace, ActivationID: r.id,
		TransactionID: r.req.TransactionID, Deadline: deadline,
	}
	if a.Annotations.Truthy("provide-api-key") {
		req.APIKey = r.caller.Key
	}
	// The run outlives the HTTP request; the platform enforces the
	// action's own time limit, the margin only guards against a stuck one.
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	res, err := s.runner.Run(ctx, pa, req)
	rec := r.skeleton()
	if err != nil {
		s.log("run activation %s: %v", r.id, err)
		now := s.now()
		rec.End = now.UnixMilli()
		rec.Duration = rec.End - rec.Start
		rec.Response = whisk.Response{StatusCode: whisk.StatusWhiskError, Result: whisk.ErrorResult("Failed to run the action: " + err.Error())}
		rec.Annotations = rec.Annotations.Set("waitTime", now.Sub(r.received).Milliseconds())
		return rec
	}
	rec.Start = res.Start.UnixMilli()
	rec.End = res.End.UnixMilli()
	rec.Duration = rec.End - rec.Start
	rec.Response = res.Response
	rec.Logs = res.Logs
	if rec.Logs == nil {
		rec.Logs = []string{}
	}
	wait := res.Start.Sub(r.received).Milliseconds()
	if wait < 0 {
		wait = 0
	}
	ann := whisk.KeyValues{
		{Key: "path", Value: jsonString(a.Path().String())},
		{Key: "waitTime", Value: jsonInt(wait)},
		{Key: "kind", Value: jsonString(a.Exec.Kind)},
		{Key: "timeout", Value: jsonBool(res.Timeout)},
		{Key: "limits", Value: limitsJSON(a.Limits)},
	}
	if res.Cold {
		ann = append(ann, whisk.KeyValue{Key: "initTime", Value: jsonInt(res.InitTime.Milliseconds())})
	}
	rec.Annotations = ann
	return rec
}

func baseAnnotations(a *whisk.Action) whisk.KeyValues {
	return whisk.KeyValues{
		{Key: "path", Value: jsonString(a.Path().String())},
		{Key: "kind", Value: jsonString(a.Exec.Kind)},
		{Key: "limits", Value: limitsJSON(a.Limits)},
	}
}

func platformAction(a *whisk.Action) *platform.Action {
	p := &platform.Action{
		Key:     a.Path().String() + "@" + a.Version.String() + "#" + fmt.Sprint(a.Updated),
		Path:    a.Path(),
		Version: a.Version.String(),
		Kind:    a.Exec.Kind,
		Code:    a.Exec.CodeString(),
		Binary:  a.Exec.Binary,
		Main:    a.Exec.Main,
		Image:   a.Exec.Image,
		Limits:  a.Limits,
	}
	for _, kv := range a.Parameters {
		if kv.Init {
			if p.Env == nil {
				p.Env = map[string]string{}
			}
			p.Env[kv.Key] = whisk.EnvString(kv.Value)
		}
	}
	return p
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // strings always marshal
	return b
}

func jsonInt(n int64) json.RawMessage { return json.RawMessage(fmt.Sprint(n)) }

func jsonBool(b bool) json.RawMessage {
	if b {
		return json.RawMessage("true")
	}
	return json.RawMessage("false")
}

func limitsJSON(l whisk.Limits) json.RawMessage {
	b, _ := json.Marshal(l) // a struct of ints always marshals
	return b
}
