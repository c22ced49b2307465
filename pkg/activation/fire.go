package activation

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"

	"github.com/kwhisk/kwhisk/pkg/tracing"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Triggers reads triggers.
type Triggers interface {
	Get(ctx context.Context, path whisk.EntityPath) (*whisk.Trigger, error)
}

// ruleLog is one entry of a trigger activation's logs.
type ruleLog struct {
	StatusCode   int                `json:"statusCode"`
	Success      bool               `json:"success"`
	ActivationID whisk.ActivationID `json:"activationId,omitempty"`
	Error        string             `json:"error,omitempty"`
	Rule         string             `json:"rule"`
	Action       string             `json:"action"`
}

// Fire fires the trigger at path with payload on behalf of caller. With no
// active rule it returns (nil, nil): nothing runs and nothing is recorded.
// Otherwise it returns the trigger activation's id at once; every linked
// rule is then processed in the background (active ones invoke their action
// through the normal, throttled invoke path) and the trigger activation is
// recorded with one log entry per rule. A fire over the caller's
// namespace fire rate fails as throttled (429), before the trigger is read.
// The traceparent among headers, if any, is the trigger activation's
// parent, and that activation the parent of its rules' activations.
func (s *Service) Fire(ctx context.Context, caller Caller, path whisk.EntityPath, payload map[string]json.RawMessage, headers http.Header, tid string) (*Outcome, error) {
	if s.triggers == nil {
		return nil, whisk.NotFound()
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	if err := s.throttles.fire(caller); err != nil {
		return nil, err
	}
	t, err := s.triggers.Get(ctx, path)
	if err != nil {
		return nil, err
	}
	active := false
	for _, r := range t.Rules {
		if r.Status == whisk.StatusActive {
			active = true
			break
		}
	}
	if !active {
		return nil, nil
	}
	result, err := json.Marshal(payload)
	if err != nil || payload == nil {
		result = []byte("{}")
	}
	r := &running{
		id: whisk.NewActivationID(), caller: caller, tid: tid, trigger: t, input: result,
		received: s.now(), acked: make(chan struct{}), done: make(chan struct{}), trace: tracing.Normalize(tracing.FromHeader(headers)),
	}
	args := t.Parameters.Object()
	for k, v := range payload {
		args[k] = v
	}
	h := map[string]string{}
	for k, v := range headers {
		if len(v) > 0 {
			h[lower(k)] = v[0]
		}
	}
	args["__ow_headers"], _ = json.Marshal(h) // a map of strings always marshals
	s.metrics.TriggerFired(caller.Namespace)
	return s.await(ctx, r, false, 0, func() *whisk.Activation {
		rec := r.pendingRecord()
		rec.Response = whisk.Response{Result: result}
		tp, end := s.fireSpan(r)
		defer end(rec)
		if tp != "" {
			rec.Annotations = append(rec.Annotations, whisk.KeyValue{Key: AnnotationTraceParent, Value: whisk.JSONString(tp)})
		}
		ids := make([]string, 0, len(t.Rules))
		for id := range t.Rules {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			rule := t.Rules[id]
			entry := ruleLog{Rule: id, Action: rule.Action.String()}
			if rule.Status != whisk.StatusActive {
				entry.StatusCode = whisk.StatusApplicationError
				entry.Error = "Rule '" + id + "' is inactive, action '" + entry.Action + "' was not activated."
				s.metrics.RuleActivation(caller.Namespace, RuleInactive)
			} else {
				out, err := s.Invoke(s.base, caller, Request{Path: rule.Action.EntityPath(), Payload: args, TransactionID: tid, TraceParent: tp})
				outcome := RuleFailed
				switch {
				case err == nil:
					entry.Success, entry.ActivationID = true, out.ID
					outcome = RuleInvoked
				case whisk.KindOf(err) == whisk.KindInternal || whisk.KindOf(err) == whisk.KindUnavailable:
					entry.StatusCode, entry.Error = whisk.StatusWhiskError, err.Error()
				default:
					entry.StatusCode, entry.Error = whisk.StatusApplicationError, whisk.MessageOf(err)
				}
				s.metrics.RuleActivation(caller.Namespace, outcome)
			}
			b, _ := json.Marshal(entry) // a struct of strings and ints always marshals
			rec.Logs = append(rec.Logs, string(b))
		}
		return rec
	})
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
