package activation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Messages of compositions, OpenWhisk's.
const (
	MsgCompositionTooLong = "Too many actions in the composition."
)

// MsgComponentInvalid is what a conductor gets when the action it names is
// not a valid action name; v is the JSON value it returned.
func MsgComponentInvalid(v json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		b.Reset()
		b.Write(v)
	}
	return fmt.Sprintf("Failed to parse action name from json value %s during composition.", b.String())
}

// MsgComponentNotFound is what a conductor gets when the action it names
// does not exist; name is "ns/[pkg/]name".
func MsgComponentNotFound(name string) string {
	return fmt.Sprintf("Failed to resolve action with name '%s' during composition.", name)
}

// MsgComponentNotAccessible is what a conductor gets when the caller may
// not invoke the action it names.
func MsgComponentNotAccessible(name string) string {
	return fmt.Sprintf("Failed entitlement check for action with name '%s' during composition.", name)
}

// isConductor reports whether a drives a composition: an action, not a
// sequence, with a truthy "conductor" annotation.
func isConductor(a *whisk.Action) bool {
	return a.Exec.Kind != whisk.KindSequence && a.Annotations.Truthy("conductor")
}

// accounting counts the invocations of a composition and of the
// compositions it runs as components, which share it: the limit is global
// to the hierarchy. A sequence component counts as one component,
// however many actions it runs; a sequence's own compositions start over.
type accounting struct {
	components int
	conductors int
}

// runComposition runs the composition st's conductor drives, as OpenWhisk
// does: the conductor runs on the input; while its result names an
// "action", that component runs on the result's "params", and the
// conductor runs again on the component's result merged with the "state"
// it returned. The first result without "action" ends the composition: its
// "params" if it has them, else the whole result, with the conductor's
// status. Each run has its own stored record caused by the composition's;
// the composition's record lists their ids in order.
//
// A component's failure does not end the composition by itself: the
// conductor gets the error result and decides, so a conductor that passes
// errors on ends with it. A name that does not resolve is given to the
// conductor as an error result, as is a component past the limit; a
// conductor call past the limit ends the composition.
func (s *Service) runComposition(rc *runContext, st step) *whisk.Activation {
	a := st.action
	start := s.now()
	acct := st.acct
	if acct == nil {
		acct = &accounting{}
	}
	// A composition counts as one atomic action of a sequence it is in;
	// the sequences it runs count their own.
	saved := rc.atomic
	defer func() { rc.atomic = saved + 1 }()

	rec := &whisk.Activation{
		Namespace: rc.caller.Namespace, Name: a.Name, Version: a.Version, Subject: rc.caller.Subject,
		ActivationID: st.id, Cause: st.cause, Start: start.UnixMilli(), Logs: []string{},
	}
	memory := a.Limits.Memory
	var duration int64
	// run runs the conductor itself (as a plain action) or a component,
	// and accounts for its record.
	run := func(conductor bool, action *whisk.Action, input json.RawMessage, keys map[string]json.RawMessage, shared *accounting) *whisk.Activation {
		cst := step{action: action, input: input, keys: keys, id: whisk.NewActivationID(), cause: st.id, acct: shared}
		rc.atomic = 0
		var crec *whisk.Activation
		if conductor {
			crec = s.span(rc, cst, s.runPrimitive)
		} else {
			crec = s.execute(rc, cst)
		}
		if err := s.records.PutActivation(rc.ctx, crec); err != nil {
			s.logError("record activation", rc.tid, rc.caller.Namespace, cst.id, err)
		}
		rec.Logs = append(rec.Logs, string(cst.id))
		duration += crec.Duration
		if m := memoryOf(crec); m > memory {
			memory = m
		}
		return crec
	}

	// payload is the conductor's next input before state is merged in;
	// keys its decoded keys when known (the first call's).
	payload, keys := st.input, st.keys
	var state map[string]json.RawMessage
	var resp whisk.Response
	for {
		if acct.conductors > 2*s.maxSequence {
			resp = whisk.Response{StatusCode: whisk.StatusApplicationError, Result: whisk.ErrorResult(MsgCompositionTooLong)}
			break
		}
		acct.conductors++
		in, inKeys := conductorInput(payload, keys, state)
		crec := run(true, a, in, inKeys, nil)
		keys = nil

		var fields map[string]json.RawMessage
		if err := json.Unmarshal(crec.Response.Result, &fields); err != nil || fields == nil {
			// Not an object (an array): nothing to continue with.
			resp = crec.Response
			break
		}
		params := boxed(fields, "params", "value")
		state = nil
		if b := boxed(fields, "state", "state"); b != nil {
			_ = json.Unmarshal(b, &state)
		}
		next, ok := fields["action"]
		if !ok {
			resp = whisk.Response{StatusCode: crec.Response.StatusCode, Result: crec.Response.Result}
			if params != nil {
				resp.Result = params
			}
			break
		}

		var failure string
		path, valid := componentPath(next, rc.caller.Namespace)
		switch {
		case !valid:
			failure = MsgComponentInvalid(next)
		case acct.components >= s.maxSequence:
			failure = MsgCompositionTooLong
		default:
			comp, err := s.actions.ResolveAction(rc.ctx, rc.caller.Namespace, path)
			switch {
			case whisk.IsKind(err, whisk.KindForbidden):
				failure = MsgComponentNotAccessible(path.String())
			case err != nil:
				failure = MsgComponentNotFound(path.String())
			default:
				var shared *accounting
				if isConductor(comp) {
					shared = acct // a nested composition counts its own calls here
				} else {
					acct.components++
				}
				payload = run(false, comp, params, nil, shared).Response.Result
				continue
			}
		}
		payload = whisk.ErrorResult(failure)
	}

	end := s.now()
	rec.End = end.UnixMilli()
	rec.Duration = duration
	rec.Response = resp
	limits := a.Limits
	limits.Memory = memory
	wait := max(0, start.Sub(rc.received))
	rec.Annotations = annotations{
		action: a, cause: st.cause, sequence: true, composition: true, limits: limits, trace: rc.trace,
		waitTime: jsonInt(wait.Milliseconds()),
	}.build()
	s.metrics.Activation(rc.caller.Namespace, a, whisk.KindSequence, rec.Response.StatusCode, time.Duration(duration)*time.Millisecond, wait, false, 0)
	return rec
}

// conductorInput is a conductor's input: payload with state's fields
// merged in (state wins), or no input if payload is not an object. keys
// are payload's decoded keys, if known and state adds none.
func conductorInput(payload json.RawMessage, keys, state map[string]json.RawMessage) (json.RawMessage, map[string]json.RawMessage) {
	in := bytes.TrimSpace(payload)
	if len(in) == 0 || in[0] != '{' {
		return nil, nil
	}
	if len(state) == 0 {
		return in, keys
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(in, &m); err != nil || m == nil {
		m = map[string]json.RawMessage{}
	}
	for k, v := range state {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, nil
	}
	return b, m
}

// boxed returns fields[key] if it is an object, {box: value} if it is
// something else, nil if absent: how OpenWhisk reads a conductor's params
// and state.
func boxed(fields map[string]json.RawMessage, key, box string) json.RawMessage {
	v, ok := fields[key]
	if !ok {
		return nil
	}
	if t := bytes.TrimSpace(v); len(t) > 0 && t[0] == '{' {
		return t
	}
	b, _ := json.Marshal(map[string]json.RawMessage{box: v}) // a valid raw value always marshals
	return b
}

// componentPath resolves the action a conductor names, as OpenWhisk does:
// a JSON string of one to three valid name segments; "/ns/name",
// "/ns/pkg/name" and "ns/pkg/name" are fully qualified, "name" and
// "pkg/name" relative to ns; "_" as namespace means ns.
func componentPath(v json.RawMessage, ns string) (whisk.EntityPath, bool) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return whisk.EntityPath{}, false
	}
	var parts []string
	for _, p := range strings.Split(s, "/") {
		if p == "" {
			continue
		}
		if !whisk.ValidName(p) {
			return whisk.EntityPath{}, false
		}
		parts = append(parts, p)
	}
	n := len(parts)
	leadingSlash := strings.HasPrefix(s, "/")
	if n < 1 || n > 3 || (leadingSlash && n == 1) {
		return whisk.EntityPath{}, false
	}
	if !leadingSlash && n < 3 {
		parts = append([]string{ns}, parts...)
	}
	var p whisk.EntityPath
	if len(parts) == 2 {
		p = whisk.EntityPath{Namespace: parts[0], Name: parts[1]}
	} else {
		p = whisk.EntityPath{Namespace: parts[0], Package: parts[1], Name: parts[2]}
	}
	return p.Resolve(ns), true
}
