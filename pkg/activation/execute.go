package activation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// runContext is what every activation of one top-level invoke shares.
// Its runs happen one after the other, so it needs no lock.
type runContext struct {
	// ctx is the parent of every run and record write: the service's base
	// context, since the activation outlives the request that started it.
	// With tracing on it carries the span of the activation running.
	ctx context.Context
	// trace is the traceparent of the activation running: its own span's
	// with tracing on, else the caller's; "" if none.
	trace    string
	caller   Caller
	tid      string
	received time.Time
	// atomic counts the primitive actions run so far (a sequence stops at
	// the service's maxSequence).
	atomic int
	// unavailable is the first platform error that says the data plane
	// could not be reached (whisk.KindUnavailable): nothing ran, and a
	// blocking caller gets it as a 503 besides the record.
	unavailable error
}

// step is one action to run within a top-level activation.
type step struct {
	action *whisk.Action
	input  json.RawMessage
	// keys are input's decoded keys when the caller has them; nil: decode
	// input if needed.
	keys map[string]json.RawMessage
	id   whisk.ActivationID
	// cause is the enclosing sequence's or composition's activation id;
	// "" for the top-level action.
	cause whisk.ActivationID
	// acct is the accounting a conductor run as a component of a
	// composition shares with it; nil: a composition starts its own.
	acct *accounting
}

// execute runs st's action (primitive, sequence or conductor) in its own
// span and returns its record, not yet stored.
func (s *Service) execute(rc *runContext, st step) *whisk.Activation {
	return s.span(rc, st, s.dispatch)
}

// dispatch runs st's action by its kind.
func (s *Service) dispatch(rc *runContext, st step) *whisk.Activation {
	if st.action.Exec.Kind == whisk.KindSequence {
		return s.runSequence(rc, st)
	}
	if isConductor(st.action) {
		return s.runComposition(rc, st)
	}
	rc.atomic++
	return s.runPrimitive(rc, st)
}

// runPrimitive hands one activation to the platform and builds its record.
func (s *Service) runPrimitive(rc *runContext, st step) *whisk.Activation {
	a := st.action
	req := &platform.RunRequest{
		Value: mergeInput(a.Parameters, st.input, st.keys), Namespace: rc.caller.Namespace, ActivationID: st.id,
		TransactionID: rc.tid, TraceParent: rc.trace,
	}
	if a.Annotations.Truthy("provide-api-key") {
		req.APIKey = rc.caller.Key
	}
	// The run outlives the HTTP request. No deadline is set here: the
	// platform starts the action's time limit when the run starts, after
	// any wait for an instance or a Service, and bounds that wait itself
	// (platform.Platform.Run).
	res, err := s.runner.Run(rc.ctx, platform.ActionOf(a), req)
	rec := &whisk.Activation{
		Namespace: rc.caller.Namespace, Name: a.Name, Version: a.Version, Subject: rc.caller.Subject,
		ActivationID: st.id, Cause: st.cause, Logs: []string{},
	}
	ann := annotations{action: a, cause: st.cause, limits: a.Limits, trace: rc.trace}
	if err != nil {
		s.logError("run activation", rc.tid, rc.caller.Namespace, st.id, err)
		if whisk.IsKind(err, whisk.KindUnavailable) && rc.unavailable == nil {
			rc.unavailable = err
		}
		// Nothing ran: the time until the platform gave up was spent
		// waiting, and the record starts and ends then.
		now := s.now()
		rec.Start, rec.End = now.UnixMilli(), now.UnixMilli()
		rec.Response = whisk.Response{StatusCode: whisk.StatusWhiskError, Result: whisk.ErrorResult("Failed to run the action: " + err.Error())}
		wait := max(0, now.Sub(rc.received))
		ann.waitTime = jsonInt(wait.Milliseconds())
		rec.Annotations = ann.build()
		s.metrics.Activation(rc.caller.Namespace, a, a.Exec.Kind, rec.Response.StatusCode, 0, wait, false, 0)
		return rec
	}
	rec.Start, rec.End = res.Start.UnixMilli(), res.End.UnixMilli()
	rec.Duration = rec.End - rec.Start
	rec.Response = res.Response
	if res.Logs != nil {
		rec.Logs = res.Logs
	}
	wait := max(0, res.Start.Sub(rc.received))
	ann.waitTime = jsonInt(wait.Milliseconds())
	ann.timeout = jsonBool(res.Timeout)
	if res.Cold {
		ann.initTime = jsonInt(res.InitTime.Milliseconds())
	}
	rec.Annotations = ann.build()
	s.metrics.Activation(rc.caller.Namespace, a, a.Exec.Kind, rec.Response.StatusCode, res.End.Sub(res.Start), wait, res.Cold, res.InitTime)
	return rec
}

// runSequence runs the components of st's sequence one after the other,
// each with its own stored record, and returns the sequence's record.
func (s *Service) runSequence(rc *runContext, st step) *whisk.Activation {
	a := st.action
	start := s.now()
	rec := &whisk.Activation{
		Namespace: rc.caller.Namespace, Name: a.Name, Version: a.Version, Subject: rc.caller.Subject,
		ActivationID: st.id, Cause: st.cause, Start: start.UnixMilli(), Logs: []string{},
	}
	limits := a.Limits
	limits.Memory = 0
	var duration int64
	// The payload goes to the first component only; an "error" key in it
	// does not stop the sequence.
	next, first := st.input, true
	var last *whisk.Activation
	var failure *whisk.Response
	for _, c := range a.Exec.Components {
		if rc.atomic >= s.maxSequence {
			failure = &whisk.Response{StatusCode: whisk.StatusApplicationError, Result: whisk.ErrorResult("Too many actions in the sequence.")}
			break
		}
		p, err := whisk.ParseFullyQualified(c)
		if err != nil {
			failure = &whisk.Response{StatusCode: whisk.StatusApplicationError, Result: whisk.ErrorResult("Sequence component does not exist.")}
			break
		}
		comp, err := s.actions.ResolveAction(rc.ctx, rc.caller.Namespace, p)
		if err != nil {
			msg := "Sequence component does not exist."
			if whisk.IsKind(err, whisk.KindForbidden) {
				msg = err.Error()
			}
			failure = &whisk.Response{StatusCode: whisk.StatusApplicationError, Result: whisk.ErrorResult(msg)}
			break
		}
		cst := step{action: comp, input: next, id: whisk.NewActivationID(), cause: st.id}
		if first {
			cst.keys, first = st.keys, false
		}
		crec := s.execute(rc, cst)
		if err := s.records.PutActivation(rc.ctx, crec); err != nil {
			s.logError("record activation", rc.tid, rc.caller.Namespace, cst.id, err)
		}
		rec.Logs = append(rec.Logs, string(cst.id))
		duration += crec.Duration
		if comp.Limits.Memory > limits.Memory {
			limits.Memory = comp.Limits.Memory
		}
		if m := memoryOf(crec); m > limits.Memory {
			limits.Memory = m
		}
		last = crec
		if crec.Response.StatusCode != whisk.StatusSuccess {
			break
		}
		next = crec.Response.Result
	}
	end := s.now()
	rec.End = end.UnixMilli()
	rec.Duration = duration
	switch {
	case failure != nil:
		rec.Response = *failure
	case last != nil:
		rec.Response = last.Response
	default:
		rec.Response = whisk.Response{Result: json.RawMessage("{}")}
	}
	if limits.Memory == 0 {
		limits.Memory = a.Limits.Memory
	}
	wait := max(0, start.Sub(rc.received))
	rec.Annotations = annotations{
		action: a, cause: st.cause, sequence: true, limits: limits, trace: rc.trace,
		waitTime: jsonInt(wait.Milliseconds()),
	}.build()
	s.metrics.Activation(rc.caller.Namespace, a, whisk.KindSequence, rec.Response.StatusCode, time.Duration(duration)*time.Millisecond, wait, false, 0)
	return rec
}

// memoryOf reads the memory limit a record's limits annotation reports.
func memoryOf(rec *whisk.Activation) int {
	var l whisk.Limits
	if raw := rec.Annotations.Get("limits"); raw != nil && json.Unmarshal(raw, &l) == nil {
		return l.Memory
	}
	return 0
}

// mergeInput merges an action's (non-init) parameters with its input: an
// object input wins per key; an array input passes as is; anything else
// counts as no input. keys, if not nil, are the input object's decoded
// keys (the API has them already); otherwise they are decoded here. The
// input object's bytes are copied, never re-encoded.
func mergeInput(params whisk.KeyValues, input json.RawMessage, keys map[string]json.RawMessage) json.RawMessage {
	in := bytes.TrimSpace(input)
	isObject := len(in) > 0 && in[0] == '{'
	if len(in) > 0 && in[0] == '[' {
		return in
	}
	n := 0
	for _, p := range params {
		if !p.Init {
			n++
		}
	}
	if n == 0 {
		if isObject {
			return in
		}
		return json.RawMessage("{}")
	}
	if isObject && keys == nil {
		if err := json.Unmarshal(in, &keys); err != nil {
			isObject = false
		}
	}
	var buf bytes.Buffer
	buf.Grow(len(in) + 64*n)
	buf.WriteByte('{')
	first := true
	seen := make(map[string]bool, n)
	for i := len(params) - 1; i >= 0; i-- { // later entries win
		p := params[i]
		if p.Init || seen[p.Key] {
			continue
		}
		seen[p.Key] = true
		if _, ok := keys[p.Key]; ok && isObject {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(p.Key) // strings always marshal
		buf.Write(k)
		buf.WriteByte(':')
		if len(p.Value) == 0 {
			buf.WriteString("null")
		} else {
			buf.Write(p.Value)
		}
	}
	if isObject {
		inner := bytes.TrimSpace(in[1 : len(in)-1])
		if len(inner) > 0 {
			if !first {
				buf.WriteByte(',')
			}
			buf.Write(inner)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// annotations are the annotations of one activation record: the one
// place that knows their keys and their order (OpenWhisk's).
type annotations struct {
	action *whisk.Action
	limits whisk.Limits // a sequence reports its components' largest memory
	// sequence marks a sequence's finished record: it says whether it is
	// topmost.
	sequence bool
	// composition marks a composition's record (finished or pending): its
	// kind is "sequence" and it says conductor:true.
	composition bool
	// cause is the enclosing sequence's id: a component says causedBy.
	cause whisk.ActivationID
	// The measurements, nil until known (a pending record has none).
	waitTime, timeout, initTime json.RawMessage
	// trace is the traceparent the activation ran in; "" leaves it out.
	trace string
}

func (n annotations) build() whisk.KeyValues {
	var kv whisk.KeyValues
	add := func(key string, v json.RawMessage) {
		if v != nil {
			kv = append(kv, whisk.KeyValue{Key: key, Value: v})
		}
	}
	if n.sequence {
		add("topmost", jsonBool(n.cause == ""))
	}
	add("path", whisk.JSONString(n.action.Path().String()))
	add("waitTime", n.waitTime)
	if n.composition {
		add("kind", whisk.JSONString(whisk.KindSequence))
		add("conductor", json.RawMessage("true"))
	} else {
		add("kind", whisk.JSONString(n.action.Exec.Kind))
	}
	add("timeout", n.timeout)
	add("limits", limitsJSON(n.limits))
	add("initTime", n.initTime)
	if n.action.Binding != "" {
		add("binding", whisk.JSONString(n.action.Binding))
	}
	if n.cause != "" {
		add("causedBy", json.RawMessage(`"sequence"`))
	}
	if n.trace != "" {
		add(AnnotationTraceParent, whisk.JSONString(n.trace))
	}
	return kv
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
