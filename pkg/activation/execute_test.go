package activation

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func TestMergeInput(t *testing.T) {
	params := whisk.KeyValues{
		{Key: "a", Value: json.RawMessage(`1`)},
		{Key: "b", Value: json.RawMessage(`"B"`)},
		{Key: "secret", Value: json.RawMessage(`"s"`), Init: true},
	}
	tests := []struct {
		name   string
		params whisk.KeyValues
		input  string
		want   map[string]any // nil: compare raw
		raw    string
	}{
		{name: "payload wins", params: params, input: `{"b":"payload","c":[1]}`, want: map[string]any{"a": 1.0, "b": "payload", "c": []any{1.0}}},
		{name: "empty object", params: params, input: `{}`, want: map[string]any{"a": 1.0, "b": "B"}},
		{name: "no input", params: params, input: ``, want: map[string]any{"a": 1.0, "b": "B"}},
		{name: "scalar input counts as none", params: params, input: `42`, want: map[string]any{"a": 1.0, "b": "B"}},
		{name: "array passes as is", params: params, input: `[1,2]`, raw: `[1,2]`},
		{name: "no params keeps the bytes", input: ` {"x": 1} `, raw: `{"x": 1}`},
		{name: "no params, no input", input: ``, raw: `{}`},
		{name: "later duplicate wins", params: whisk.KeyValues{{Key: "a", Value: json.RawMessage(`1`)}, {Key: "a", Value: json.RawMessage(`2`)}}, input: `{}`, want: map[string]any{"a": 2.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeInput(tt.params, json.RawMessage(tt.input), nil)
			if tt.want == nil {
				if string(got) != tt.raw {
					t.Errorf("got %s, want %s", got, tt.raw)
				}
				return
			}
			var m map[string]any
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatalf("invalid JSON %s: %v", got, err)
			}
			if diff := cmp.Diff(tt.want, m); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnnotations(t *testing.T) {
	action := &whisk.Action{Namespace: "guest", Name: "hello", Exec: whisk.Exec{Kind: "nodejs:20"}, Limits: whisk.Limits{Timeout: 60000, Memory: 256, Logs: 10, Concurrency: 1}}
	bound := *action
	bound.Binding = "guest/bound"
	seq := &whisk.Action{Namespace: "guest", Name: "seq", Exec: whisk.Exec{Kind: whisk.KindSequence}, Limits: action.Limits}
	n := json.RawMessage(`3`)
	tests := []struct {
		name string
		ann  annotations
		want []string
	}{
		{"pending", annotations{action: action, limits: action.Limits}, []string{"path", "kind", "limits"}},
		{"pending in a binding", annotations{action: &bound, limits: bound.Limits}, []string{"path", "kind", "limits", "binding"}},
		{"primitive, warm", annotations{action: action, limits: action.Limits, waitTime: n, timeout: jsonBool(false)},
			[]string{"path", "waitTime", "kind", "timeout", "limits"}},
		{"primitive, cold, in a sequence", annotations{action: &bound, limits: bound.Limits, cause: "c", waitTime: n, timeout: jsonBool(false), initTime: n},
			[]string{"path", "waitTime", "kind", "timeout", "limits", "initTime", "binding", "causedBy"}},
		{"primitive that did not run", annotations{action: action, limits: action.Limits, waitTime: n}, []string{"path", "waitTime", "kind", "limits"}},
		{"topmost sequence", annotations{action: seq, limits: seq.Limits, sequence: true, waitTime: n},
			[]string{"topmost", "path", "waitTime", "kind", "limits"}},
		{"nested sequence", annotations{action: seq, limits: seq.Limits, sequence: true, cause: "c", waitTime: n},
			[]string{"topmost", "path", "waitTime", "kind", "limits", "causedBy"}},
		{"pending composition", annotations{action: action, limits: action.Limits, composition: true},
			[]string{"path", "kind", "conductor", "limits"}},
		{"nested composition", annotations{action: &bound, limits: bound.Limits, sequence: true, composition: true, cause: "c", waitTime: n},
			[]string{"topmost", "path", "waitTime", "kind", "conductor", "limits", "binding", "causedBy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv := tt.ann.build()
			var got []string
			for _, p := range kv {
				got = append(got, p.Key)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("keys (-want, +got):\n%s", diff)
			}
			if tt.ann.sequence {
				if want := jsonBool(tt.ann.cause == ""); string(kv.Get("topmost")) != string(want) {
					t.Errorf("topmost %s, want %s", kv.Get("topmost"), want)
				}
			}
			if tt.ann.composition && (string(kv.Get("kind")) != `"sequence"` || string(kv.Get("conductor")) != "true") {
				t.Errorf("composition kind %s, conductor %s", kv.Get("kind"), kv.Get("conductor"))
			}
			if got := whisk.EnvString(kv.Get("path")); got != tt.ann.action.Path().String() {
				t.Errorf("path %q, want %q", got, tt.ann.action.Path().String())
			}
		})
	}
}

// runnerFunc is a Runner of a function.
type runnerFunc func(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error)

func (f runnerFunc) Run(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error) {
	return f(ctx, a, req)
}

// A platform's wait for somewhere to run (a Service becoming Ready, a
// queue) is the platform's to bound, not the action's time limit: the run
// gets no deadline from the activation, and when the platform gives up,
// the record shows the wait as waitTime, not as duration.
func TestRunWaitIsNotTheTimeLimit(t *testing.T) {
	const wait = 150 * time.Millisecond
	action := &whisk.Action{Namespace: "guest", Name: "hello", Exec: whisk.Exec{Kind: "nodejs:20"}, Limits: whisk.Limits{Timeout: 100, Memory: 256, Logs: 10, Concurrency: 1}}
	var hasDeadline bool
	s := New(nil, runnerFunc(func(ctx context.Context, a *platform.Action, req *platform.RunRequest) (*platform.Result, error) {
		_, hasDeadline = ctx.Deadline()
		time.Sleep(wait) // the platform waits longer than the action's limit
		return nil, whisk.Errorf(whisk.KindUnavailable, "not ready")
	}), nil, Options{})
	received := time.Now()
	rec := s.runPrimitive(&runContext{ctx: context.Background(), caller: Caller{Namespace: "guest"}, received: received}, step{action: action, id: "id"})
	if hasDeadline {
		t.Error("the run's context has a deadline; the platform starts the limit when the run starts")
	}
	if rec.Response.StatusCode != whisk.StatusWhiskError {
		t.Errorf("status %d, want a whisk error", rec.Response.StatusCode)
	}
	if rec.Duration != 0 || rec.End != rec.Start {
		t.Errorf("start %d, end %d, duration %d; want nothing run: start = end, duration 0", rec.Start, rec.End, rec.Duration)
	}
	var waited int64
	if err := json.Unmarshal(rec.Annotations.Get("waitTime"), &waited); err != nil || waited < wait.Milliseconds() {
		t.Errorf("waitTime %s, want at least %d", rec.Annotations.Get("waitTime"), wait.Milliseconds())
	}
}
