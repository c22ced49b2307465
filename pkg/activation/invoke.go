package activation

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/tracing"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Actions resolves the action a caller addresses: entitlements checked,
// parameters merged package → binding → action.
type Actions interface {
	ResolveAction(ctx context.Context, caller string, path whisk.EntityPath) (*whisk.Action, error)
	// CheckAccess reports a 403 if caller may not read every action that
	// the (sequence) action a runs.
	CheckAccess(ctx context.Context, caller string, a *whisk.Action) error
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

// Recorder hears what the activation service does, for metrics
// (*metrics.Metrics is one). Its methods run on the invoke path: they
// must be cheap and never block.
type Recorder interface {
	// Activation reports a completed activation (primitive, sequence or
	// composition) of action a recorded in namespace ns: its kind as the
	// record says it, status code, duration and wait, and whether it
	// started cold and its init time then.
	Activation(ns string, a *whisk.Action, kind string, status int, duration, wait time.Duration, cold bool, init time.Duration)
	// Throttled reports a request of ns refused with 429 (a Throttle
	// constant says why).
	Throttled(ns, reason string)
	// BlockingAccepted reports a blocking invoke of ns answered 202.
	BlockingAccepted(ns string)
	// TriggerFired reports a fire of a trigger of ns that made an
	// activation.
	TriggerFired(ns string)
	// RuleActivation reports a rule a trigger activation of ns processed
	// (a Rule constant is its outcome).
	RuleActivation(ns, outcome string)
}

// Rule outcomes (Recorder.RuleActivation).
const (
	RuleInvoked  = "invoked"  // its action's invoke was accepted
	RuleInactive = "inactive" // the rule is inactive: nothing ran
	RuleFailed   = "failed"   // the invoke was refused
)

// noRecorder discards.
type noRecorder struct{}

func (noRecorder) Activation(string, *whisk.Action, string, int, time.Duration, time.Duration, bool, time.Duration) {
}
func (noRecorder) Throttled(string, string)      {}
func (noRecorder) BlockingAccepted(string)       {}
func (noRecorder) TriggerFired(string)           {}
func (noRecorder) RuleActivation(string, string) {}

// Caller is who invokes: the activation is recorded in its namespace.
type Caller struct {
	Namespace string
	Subject   string
	Key       string // "uuid:key", passed on with provide-api-key
	// Throttles are the namespace's own limits; nil fields take the
	// service's defaults.
	Throttles whisk.Throttles
}

// Request is one invoke.
type Request struct {
	Path    whisk.EntityPath // resolved, no "_"
	Payload map[string]json.RawMessage
	// Input is Payload as the caller received it (a JSON object), if it
	// has it; it saves encoding Payload again.
	Input         json.RawMessage
	Blocking      bool
	Wait          time.Duration // blocking wait; 0 means the service default
	TransactionID string
	// TraceParent is the caller's W3C traceparent (the invoke request's
	// header, or the trigger activation's for a rule): the activation's
	// parent. "" or an invalid one: none.
	TraceParent string
}

// Outcome is what the caller gets: the id always, the record when the
// activation finished within the wait.
type Outcome struct {
	ID     whisk.ActivationID
	Record *whisk.Activation
	// Err is set with Record when the data plane was unavailable (nothing
	// ran; the record says whisk internal error): the caller answers with
	// it, a 503, as OpenWhisk does when no invoker can take the work.
	Err error
}

// Service invokes actions and sequences and fires triggers.
type Service struct {
	// base is the parent context of the work that outlives a request:
	// runs, record writes, the invokes of a trigger's rules.
	base        context.Context
	actions     Actions
	triggers    Triggers
	runner      Runner
	records     Records
	wait        time.Duration
	maxSequence int
	log         *slog.Logger
	onRecord    func(*whisk.Activation)
	inflight    sync.WaitGroup
	running     sync.Map // activation id → *running, while in flight
	now         func() time.Time
	throttles   *throttles
	// writable says whether records can be stored now (see New).
	writable func() error
	metrics  Recorder
	tracer   trace.Tracer // nil: tracing off
}

// Options configure a Service. Zero values mean: BlockingWait 60 s,
// MaxSequence 50, a nil Log discards, OpenWhisk's throttles.
type Options struct {
	// Triggers lets Fire read triggers; nil disables Fire.
	Triggers     Triggers
	BlockingWait time.Duration
	MaxSequence  int
	// Log receives the failures of work that outlives its request (runs,
	// record writes), with the request id, namespace and activation id.
	Log *slog.Logger
	// OnRecord, if set, sees every top-level record once it is stored.
	// It must not block.
	OnRecord func(*whisk.Activation)
	// Throttles are the per-namespace limits of namespaces that set none;
	// nil fields mean OpenWhisk's (DefaultThrottles).
	Throttles whisk.Throttles
	// Tracer, if set, starts a span per activation (docs/design.md, "Logs
	// and traces"); nil turns tracing off, and a caller's traceparent is
	// then passed on unchanged.
	Tracer trace.Tracer
	// Context is the parent of the work that outlives the request that
	// started it (runs, record writes, the invokes of a trigger's rules):
	// its values pass on; its cancellation is ignored, since an activation
	// once started is recorded (Drain waits for them). Nil: an empty one.
	Context context.Context
	// Metrics hears of activations, throttles and fires; nil: nothing
	// does.
	Metrics Recorder
}

// New returns a Service.
func New(actions Actions, runner Runner, records Records, opts Options) *Service {
	if opts.BlockingWait <= 0 {
		opts.BlockingWait = 60 * time.Second
	}
	if opts.MaxSequence <= 0 {
		opts.MaxSequence = 50
	}
	if opts.Metrics == nil {
		opts.Metrics = noRecorder{}
	}
	base := context.Background()
	if opts.Context != nil {
		base = context.WithoutCancel(opts.Context)
	}
	// A store that can run out of room (a full disk) says so before an
	// activation starts: the record of one already running has room kept
	// for it, a new one would not.
	writable := func() error { return nil }
	if w, ok := records.(interface{ Writable() error }); ok {
		writable = w.Writable
	}
	th := newThrottles(opts.Throttles, time.Now)
	th.refused = opts.Metrics.Throttled
	return &Service{base: base, actions: actions, triggers: opts.Triggers, runner: runner, records: records, wait: opts.BlockingWait,
		maxSequence: opts.MaxSequence, log: logging.OrDiscard(opts.Log), onRecord: opts.OnRecord, now: time.Now,
		throttles: th, metrics: opts.Metrics, writable: writable, tracer: opts.Tracer}
}

// Throttles are the limits of namespaces that set none of their own, every
// field set: what the API reports as the system's. The caller may keep
// and change it.
func (s *Service) Throttles() whisk.Throttles { return withDefaults(s.throttles.defaults) }

// Invoke starts an activation of the action at req.Path on behalf of
// caller. A blocking invoke returns the record if it completes within the
// wait; otherwise (and for non-blocking invokes) the record is nil and the
// activation goes on, durably recorded as pending. An invoke over the
// caller's namespace rate or concurrent limit fails as throttled (429);
// one admitted counts as in flight until its record is complete. While
// the store cannot take records (a full disk) it fails as unavailable.
func (s *Service) Invoke(ctx context.Context, caller Caller, req Request) (_ *Outcome, err error) {
	received := s.now()
	if err := s.writable(); err != nil {
		return nil, err
	}
	done, err := s.throttles.invoke(caller)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			done() // refused: it is not in flight
		}
	}()
	a, err := s.actions.ResolveAction(ctx, caller.Namespace, req.Path)
	if err != nil {
		return nil, err
	}
	if a.FinalViolation(req.Payload) {
		return nil, whisk.Invalid(whisk.MsgReservedParameters)
	}
	if err := s.actions.CheckAccess(ctx, caller.Namespace, a); err != nil {
		return nil, err
	}
	input := req.Input
	if len(input) == 0 {
		input, err = json.Marshal(req.Payload)
		if err != nil || req.Payload == nil {
			input = []byte("{}")
		}
	}
	r := &running{
		id: whisk.NewActivationID(), caller: caller, tid: req.TransactionID, action: a, input: input,
		received: received, acked: make(chan struct{}), done: make(chan struct{}), trace: tracing.Normalize(req.TraceParent),
	}
	return s.await(ctx, r, req.Blocking, req.Wait, func() *whisk.Activation {
		defer done()
		return s.execute(s.runContext(r), step{action: a, input: input, keys: req.Payload, id: r.id})
	})
}

// await runs exec in the background for r and answers the caller: with the
// record if blocking and it completes within the wait, else with the id
// after r's pending entry is durable.
func (s *Service) await(ctx context.Context, r *running, blocking bool, wait time.Duration, exec func() *whisk.Activation) (*Outcome, error) {
	if !blocking {
		if err := s.records.AddPending(ctx, r.pendingRecord()); err != nil {
			return nil, fmt.Errorf("record pending activation: %w", err)
		}
		r.state = stateAcked
		close(r.acked)
		s.launch(r, exec)
		return &Outcome{ID: r.id}, nil
	}
	s.launch(r, exec)
	if wait <= 0 || wait > s.wait {
		wait = s.wait
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-r.done:
		return &Outcome{ID: r.id, Record: r.record, Err: r.unavailable()}, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	// Acknowledge with the id only: make the activation durable first.
	if !r.ack() {
		<-r.done
		return &Outcome{ID: r.id, Record: r.record, Err: r.unavailable()}, nil
	}
	err := s.records.AddPending(context.WithoutCancel(ctx), r.pendingRecord())
	close(r.acked)
	if err != nil {
		s.logError("record pending activation", r.tid, r.caller.Namespace, r.id, err)
	}
	s.metrics.BlockingAccepted(r.caller.Namespace)
	return &Outcome{ID: r.id}, nil
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

const (
	stateRunning = iota
	stateAcked   // 202 sent: the pending entry is (being) written
	stateDone
)

// running is one top-level activation between start and record.
type running struct {
	id       whisk.ActivationID
	caller   Caller
	tid      string
	action   *whisk.Action // nil for trigger activations
	trigger  *whisk.Trigger
	input    json.RawMessage
	received time.Time
	trace    string // the caller's traceparent, normalized; "" if none

	rc     *runContext // shared by the activation's runs; set by runContext()
	mu     sync.Mutex
	state  int
	acked  chan struct{} // closed once the pending entry is durable
	done   chan struct{} // closed once record is set and stored
	record *whisk.Activation
}

// runContext returns the run context of r's activation, made over the
// service's base context on first use; with tracing on, the caller's
// traceparent is the parent of its spans.
func (s *Service) runContext(r *running) *runContext {
	if r.rc == nil {
		ctx := s.base
		if s.tracer != nil && r.trace != "" {
			ctx = trace.ContextWithRemoteSpanContext(ctx, tracing.Parse(r.trace))
		}
		r.rc = &runContext{ctx: ctx, caller: r.caller, tid: r.tid, received: r.received, trace: r.trace}
	}
	return r.rc
}

// unavailable is the data plane's unavailability error, if the run met
// one; read it only after done is closed.
func (r *running) unavailable() error {
	if r.rc == nil {
		return nil
	}
	return r.rc.unavailable
}

// ack marks the activation acknowledged unless it already completed.
func (r *running) ack() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == stateDone {
		return false
	}
	r.state = stateAcked
	return true
}

// complete marks the activation completed and reports whether it had been
// acknowledged (so its pending entry must be durable before the record).
func (r *running) complete() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	acked := r.state == stateAcked
	r.state = stateDone
	return acked
}

// pendingRecord is the pending form of the record: enough to report it.
func (r *running) pendingRecord() *whisk.Activation {
	a := &whisk.Activation{
		Namespace: r.caller.Namespace, Subject: r.caller.Subject, ActivationID: r.id,
		Start: r.received.UnixMilli(), Logs: []string{}, Annotations: whisk.KeyValues{},
	}
	switch {
	case r.action != nil:
		a.Name, a.Version = r.action.Name, r.action.Version
		a.Annotations = annotations{action: r.action, limits: r.action.Limits, composition: isConductor(r.action)}.build()
	case r.trigger != nil:
		a.Name, a.Version = r.trigger.Name, r.trigger.Version
	}
	return a
}

func (s *Service) launch(r *running, exec func() *whisk.Activation) {
	s.inflight.Add(1)
	s.running.Store(r.id, r)
	go func() {
		defer s.inflight.Done()
		defer s.running.Delete(r.id)
		rec := exec()
		if r.complete() {
			<-r.acked
		}
		r.record = rec
		if err := s.records.PutActivation(s.base, rec); err != nil {
			s.logError("record activation", r.tid, r.caller.Namespace, r.id, err)
		}
		close(r.done)
		if s.onRecord != nil {
			s.onRecord(rec)
		}
	}()
}

// logError logs a failure of the activation id of namespace, started by
// the request tid.
func (s *Service) logError(msg, tid, namespace string, id whisk.ActivationID, err error) {
	s.log.LogAttrs(s.base, slog.LevelError, msg, slog.String(logging.KeyRequestID, tid),
		slog.String(logging.KeyNamespace, namespace), slog.String(logging.KeyActivationID, string(id)), logging.Err(err))
}

// Await returns the record of a top-level activation started by this
// service once it completes, or nil if it is not in flight (it finished
// earlier, or never ran here): then the store has it, if anyone does.
func (s *Service) Await(ctx context.Context, id whisk.ActivationID) (*whisk.Activation, error) {
	v, ok := s.running.Load(id)
	if !ok {
		return nil, nil
	}
	r := v.(*running)
	select {
	case <-r.done:
		return r.record, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
