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
type runContext struct {
	caller   Caller
	tid      string
	received time.Time
	// unavailable is the first platform error that says the data plane
	// could not be reached (whisk.KindUnavailable): nothing ran, and a
	// blocking caller gets it as a 503 besides the record.
	unavailable error
}

// execute runs action a (primitive or sequence) with input and returns its
// record, not yet stored. cause is the enclosing sequence's id, if any;
// atomic counts the atomic actions run so far by the topmost sequence.
func (s *Service) execute(rc *runContext, a *whisk.Action, input json.RawMessage, keys map[string]json.RawMessage, id whisk.ActivationID, cause whisk.ActivationID, topmost bool, atomic *int) *whisk.Activation {
	if a.Exec.Kind == whisk.KindSequence {
		return s.runSequence(rc, a, input, keys, id, cause, topmost, atomic)
	}
	*atomic++
	rec := s.runPrimitive(rc, a, input, keys, id)
	if cause != "" {
		rec.Cause = cause
		rec.Annotations = append(rec.Annotations, whisk.KeyValue{Key: "causedBy", Value: json.RawMessage(`"sequence"`)})
	}
	return rec
}

// runPrimitive hands one activation to the platform and builds its record.
func (s *Service) runPrimitive(rc *runContext, a *whisk.Action, input json.RawMessage, keys map[string]json.RawMessage, id whisk.ActivationID) *whisk.Activation {
	timeout := time.Duration(a.Limits.Timeout) * time.Millisecond
	started := s.now()
	req := &platform.RunRequest{
		Value: mergeInput(a.Parameters, input, keys), Namespace: rc.caller.Namespace, ActivationID: id,
		TransactionID: rc.tid, Deadline: started.Add(timeout),
	}
	if a.Annotations.Truthy("provide-api-key") {
		req.APIKey = rc.caller.Key
	}
	// The run outlives the HTTP request; the platform enforces the
	// action's own time limit, the margin only guards against a stuck one.
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	res, err := s.runner.Run(ctx, platform.ActionOf(a), req)
	rec := &whisk.Activation{
		Namespace: rc.caller.Namespace, Name: a.Name, Version: a.Version, Subject: rc.caller.Subject,
		ActivationID: id, Logs: []string{},
	}
	if err != nil {
		s.log("run activation %s: %v", id, err)
		if whisk.IsKind(err, whisk.KindUnavailable) && rc.unavailable == nil {
			rc.unavailable = err
		}
		now := s.now()
		rec.Start, rec.End = started.UnixMilli(), now.UnixMilli()
		rec.Duration = rec.End - rec.Start
		rec.Response = whisk.Response{StatusCode: whisk.StatusWhiskError, Result: whisk.ErrorResult("Failed to run the action: " + err.Error())}
		rec.Annotations = append(baseAnnotations(a), whisk.KeyValue{Key: "waitTime", Value: jsonInt(started.Sub(rc.received).Milliseconds())})
		return rec
	}
	rec.Start, rec.End = res.Start.UnixMilli(), res.End.UnixMilli()
	rec.Duration = rec.End - rec.Start
	rec.Response = res.Response
	if res.Logs != nil {
		rec.Logs = res.Logs
	}
	wait := res.Start.Sub(rc.received).Milliseconds()
	if wait < 0 {
		wait = 0
	}
	ann := whisk.KeyValues{
		{Key: "path", Value: whisk.JSONString(a.Path().String())},
		{Key: "waitTime", Value: jsonInt(wait)},
		{Key: "kind", Value: whisk.JSONString(a.Exec.Kind)},
		{Key: "timeout", Value: jsonBool(res.Timeout)},
		{Key: "limits", Value: limitsJSON(a.Limits)},
	}
	if res.Cold {
		ann = append(ann, whisk.KeyValue{Key: "initTime", Value: jsonInt(res.InitTime.Milliseconds())})
	}
	if a.Binding != "" {
		ann = append(ann, whisk.KeyValue{Key: "binding", Value: whisk.JSONString(a.Binding)})
	}
	rec.Annotations = ann
	return rec
}

// runSequence runs the components of sequence a one after the other, each
// with its own stored record, and returns the sequence's record.
func (s *Service) runSequence(rc *runContext, a *whisk.Action, input json.RawMessage, payload map[string]json.RawMessage, id, cause whisk.ActivationID, topmost bool, atomic *int) *whisk.Activation {
	start := s.now()
	rec := &whisk.Activation{
		Namespace: rc.caller.Namespace, Name: a.Name, Version: a.Version, Subject: rc.caller.Subject,
		ActivationID: id, Cause: cause, Start: start.UnixMilli(), Logs: []string{},
	}
	limits := a.Limits
	limits.Memory = 0
	var duration int64
	// The payload goes to the first component only; an "error" key in it
	// does not stop the sequence.
	next, first := input, true
	var last *whisk.Activation
	var failure *whisk.Response
	for _, c := range a.Exec.Components {
		if *atomic >= s.maxSequence {
			failure = &whisk.Response{StatusCode: whisk.StatusApplicationError, Result: whisk.ErrorResult("Too many actions in the sequence.")}
			break
		}
		p, err := whisk.ParseFullyQualified(c)
		if err != nil {
			failure = &whisk.Response{StatusCode: whisk.StatusApplicationError, Result: whisk.ErrorResult("Sequence component does not exist.")}
			break
		}
		comp, err := s.actions.ResolveAction(context.Background(), rc.caller.Namespace, p)
		if err != nil {
			msg := "Sequence component does not exist."
			if whisk.IsKind(err, whisk.KindForbidden) {
				msg = err.Error()
			}
			failure = &whisk.Response{StatusCode: whisk.StatusApplicationError, Result: whisk.ErrorResult(msg)}
			break
		}
		cid := whisk.NewActivationID()
		var keys map[string]json.RawMessage
		if first {
			keys, first = payload, false
		}
		crec := s.execute(rc, comp, next, keys, cid, id, false, atomic)
		if err := s.records.PutActivation(context.Background(), crec); err != nil {
			s.log("record activation %s: %v", cid, err)
		}
		rec.Logs = append(rec.Logs, string(cid))
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
	ann := whisk.KeyValues{
		{Key: "topmost", Value: jsonBool(topmost)},
		{Key: "path", Value: whisk.JSONString(a.Path().String())},
		{Key: "waitTime", Value: jsonInt(max(0, start.Sub(rc.received).Milliseconds()))},
		{Key: "kind", Value: json.RawMessage(`"sequence"`)},
		{Key: "limits", Value: limitsJSON(limits)},
	}
	if a.Binding != "" {
		ann = append(ann, whisk.KeyValue{Key: "binding", Value: whisk.JSONString(a.Binding)})
	}
	if cause != "" {
		ann = append(ann, whisk.KeyValue{Key: "causedBy", Value: json.RawMessage(`"sequence"`)})
	}
	rec.Annotations = ann
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

func baseAnnotations(a *whisk.Action) whisk.KeyValues {
	kind := a.Exec.Kind
	ann := whisk.KeyValues{
		{Key: "path", Value: whisk.JSONString(a.Path().String())},
		{Key: "kind", Value: whisk.JSONString(kind)},
		{Key: "limits", Value: limitsJSON(a.Limits)},
	}
	if a.Binding != "" {
		ann = append(ann, whisk.KeyValue{Key: "binding", Value: whisk.JSONString(a.Binding)})
	}
	return ann
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
