package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// conductorDuration is what every run of conductorRun takes: a
// composition's duration is the sum of its runs'.
const conductorDuration = 42 * time.Millisecond

// conductorRun plays OpenWhisk's test actions by name (ConductorsApiTests'
// fake load balancer): "conductor" is tests/dat/actions/conductor.js,
// "step" is step.js; anything else echoes its input.
func conductorRun(a *platform.Action, req *platform.RunRequest) *platform.Result {
	var args map[string]json.RawMessage
	_ = json.Unmarshal(req.Value, &args)
	var out any = json.RawMessage(req.Value)
	switch a.Path.Name {
	case "conductor":
		if _, ok := args["error"]; ok {
			break // errors pass on
		}
		res := map[string]any{}
		for _, k := range []string{"action", "state"} {
			if v, ok := args[k]; ok {
				res[k] = v
				delete(args, k)
			}
		}
		var params map[string]json.RawMessage
		_ = json.Unmarshal(args["params"], &params)
		delete(args, "params")
		for k, v := range params {
			args[k] = v
		}
		res["params"] = args
		out = res
	case "step":
		var n float64
		if err := json.Unmarshal(args["n"], &n); err != nil {
			out = map[string]string{"error": "missing parameter"}
		} else {
			out = map[string]float64{"n": n + 1}
		}
	}
	b, _ := json.Marshal(out)
	status := whisk.StatusSuccess
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) == nil && probe["error"] != nil {
		status = whisk.StatusApplicationError
	}
	start := time.Now()
	return &platform.Result{Start: start, End: start.Add(conductorDuration), Response: whisk.Response{StatusCode: status, Result: b}}
}

// invokeRecord invokes blocking and returns the status and the record.
func invokeRecord(t *testing.T, h *harness, path, body string) (int, map[string]any) {
	t.Helper()
	r := do(t, h, "POST", ns+"/actions/"+path+"?blocking=true", guestAuth, body)
	return r.status, r.json(t)
}

func result(rec map[string]any) any   { return rec["response"].(map[string]any)["result"] }
func status(rec map[string]any) any   { return rec["response"].(map[string]any)["status"] }
func logIDs(rec map[string]any) []any { l, _ := rec["logs"].([]any); return l }

func annotation(rec map[string]any, key string) any {
	anns, _ := rec["annotations"].([]any)
	for _, a := range anns {
		kv := a.(map[string]any)
		if kv["key"] == key {
			return kv["value"]
		}
	}
	return nil
}

// checkComposition checks what WskConductorTests' checkConductorLogsAndAnnotations
// does: n activation ids in logs, each a record caused by the composition
// with causedBy "sequence" and a waitTime; the composition's duration is
// the sum of theirs, its memory the largest of theirs; and the
// composition's own annotations.
func checkComposition(t *testing.T, h *harness, rec map[string]any, n int) {
	t.Helper()
	ids := logIDs(rec)
	if len(ids) != n {
		t.Fatalf("logs = %v, want %d ids", ids, n)
	}
	var total, memory float64
	for _, id := range ids {
		c := waitFor(t, h, id.(string))
		if c["cause"] != rec["activationId"] {
			t.Errorf("child %s cause = %v, want %v", id, c["cause"], rec["activationId"])
		}
		if annotation(c, "causedBy") != "sequence" || annotation(c, "waitTime") == nil {
			t.Errorf("child %s annotations = %s", id, mustJSON(c["annotations"]))
		}
		total += c["duration"].(float64)
		memory = max(memory, annotation(c, "limits").(map[string]any)["memory"].(float64))
	}
	if rec["duration"] != total {
		t.Errorf("duration = %v, want the sum %v", rec["duration"], total)
	}
	if got := annotation(rec, "limits").(map[string]any)["memory"]; got != memory {
		t.Errorf("memory = %v, want the largest %v", got, memory)
	}
	if annotation(rec, "kind") != "sequence" || annotation(rec, "conductor") != true || annotation(rec, "waitTime") == nil {
		t.Errorf("composition annotations = %s", mustJSON(rec["annotations"]))
	}
	if topmost := rec["cause"] == nil; annotation(rec, "topmost") != topmost {
		t.Errorf("topmost = %v, want %v", annotation(rec, "topmost"), topmost)
	}
}

func newConductorHarness(t *testing.T) *harness {
	h := newHarnessWith(t, harnessOptions{throttles: unthrottled, run: conductorRun, blockingWait: 5 * time.Second})
	conductor := `{"exec":{"kind":"nodejs:20","code":"x"},"annotations":[{"key":"conductor","value":true}]}`
	mustStatus(t, do(t, h, "PUT", ns+"/actions/echo", guestAuth, conductor), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/conductor", guestAuth, conductor), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/step", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"limits":{"memory":257}}`), 200)
	return h
}

func TestConductorNoContinuation(t *testing.T) {
	h := newConductorHarness(t)
	code, rec := invokeRecord(t, h, "echo", `{"payload":"p","state":"s"}`)
	if code != 200 || !cmp.Equal(result(rec), map[string]any{"payload": "p", "state": "s"}) {
		t.Errorf("plain result = %d %v", code, result(rec))
	}
	checkComposition(t, h, rec, 1)
	if child := waitFor(t, h, logIDs(rec)[0].(string)); annotation(child, "kind") != "nodejs:20" || annotation(child, "conductor") != nil {
		t.Errorf("the conductor's own run is a plain action activation: %s", mustJSON(child["annotations"]))
	}

	code, rec = invokeRecord(t, h, "echo", `{"error":"e"}`)
	if code != 502 || status(rec) != "application error" || !cmp.Equal(result(rec), map[string]any{"error": "e"}) {
		t.Errorf("error result = %d %v %v", code, status(rec), result(rec))
	}
	checkComposition(t, h, rec, 1)

	// A wrapped result {params} is unwrapped; the other fields go.
	code, rec = invokeRecord(t, h, "echo", `{"params":{"payload":"p"},"result":"r","state":"s"}`)
	if code != 200 || !cmp.Equal(result(rec), map[string]any{"payload": "p"}) {
		t.Errorf("wrapped result = %d %v", code, result(rec))
	}
	// A params value that is not an object is boxed as {value}.
	if _, rec = invokeRecord(t, h, "echo", `{"params":[1,2]}`); !cmp.Equal(result(rec), map[string]any{"value": []any{1.0, 2.0}}) {
		t.Errorf("boxed params = %v", result(rec))
	}
	// "conductor" on a sequence has no effect.
	mustStatus(t, do(t, h, "PUT", ns+"/actions/seq", guestAuth, `{"exec":{"kind":"sequence","components":["/_/step"]},"annotations":[{"key":"conductor","value":true}]}`), 200)
	if code, rec = invokeRecord(t, h, "seq", `{"n":1,"action":"step"}`); code != 200 || len(logIDs(rec)) != 1 || annotation(rec, "conductor") != nil {
		t.Errorf("sequence annotated conductor = %d %s", code, mustJSON(rec))
	}
}

func TestConductorInvalidContinuation(t *testing.T) {
	h := newConductorHarness(t)
	other := otherUser(t, h)
	mustStatus(t, do(t, h, "PUT", "/api/v1/namespaces/other/actions/step", other, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	for _, tt := range []struct{ action, msg string }{
		{`"invalid#Action"`, `Failed to parse action name from json value "invalid#Action" during composition.`},
		{`42`, `Failed to parse action name from json value 42 during composition.`},
		{`{"a": 1}`, `Failed to parse action name from json value {"a":1} during composition.`},
		{`null`, `Failed to parse action name from json value null during composition.`},
		{`"/step"`, `Failed to parse action name from json value "/step" during composition.`},
		{`"a/b/c/d"`, `Failed to parse action name from json value "a/b/c/d" during composition.`},
		{`"missingAction"`, `Failed to resolve action with name 'guest/missingAction' during composition.`},
		{`"nopkg/missingAction"`, `Failed to resolve action with name 'guest/nopkg/missingAction' during composition.`},
		{`"/other/step"`, `Failed entitlement check for action with name 'other/step' during composition.`},
	} {
		code, rec := invokeRecord(t, h, "echo", `{"payload":"p","action":`+tt.action+`}`)
		if code != 502 || status(rec) != "application error" || !cmp.Equal(result(rec), map[string]any{"error": tt.msg}) {
			t.Errorf("action %s = %d %v %v, want %q", tt.action, code, status(rec), result(rec), tt.msg)
			continue
		}
		checkComposition(t, h, rec, 2) // echo, echo
	}
}

func TestConductorContinuation(t *testing.T) {
	h := newConductorHarness(t)
	for _, tt := range []struct {
		name, body string
		code       int
		want       any
		logs       int
	}{
		{"one step", `{"action":"step","n":1}`, 200, map[string]any{"n": 2.0}, 3},
		{"params", `{"action":"step","params":{"n":1}}`, 200, map[string]any{"n": 2.0}, 3},
		{"fully qualified", `{"action":"/guest/step","n":1}`, 200, map[string]any{"n": 2.0}, 3},
		{"default namespace", `{"action":"/_/step","n":1}`, 200, map[string]any{"n": 2.0}, 3},
		{"component error reaches the conductor", `{"action":"step"}`, 502, map[string]any{"error": "missing parameter"}, 3},
		{"state forwarded", `{"action":"step","state":{"witness":42},"n":1}`, 200, map[string]any{"n": 2.0, "witness": 42.0}, 3},
		{"two steps", `{"action":"step","state":{"action":"step"},"n":1}`, 200, map[string]any{"n": 3.0}, 5},
		{"nested", `{"action":"conductor","params":{"action":"step"},"n":1}`, 200, map[string]any{"n": 2.0}, 3},
		{"nested then outer step", `{"action":"conductor","state":{"action":"step"},"params":{"action":"step"},"n":1}`, 200, map[string]any{"n": 3.0}, 5},
		{"two levels", `{"action":"conductor","state":{"action":"step"},"params":{"action":"conductor","state":{"action":"step"},"params":{"action":"step"}},"n":1}`, 200, map[string]any{"n": 4.0}, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, rec := invokeRecord(t, h, "conductor", tt.body)
			if code != tt.code || !cmp.Equal(result(rec), tt.want) {
				t.Fatalf("= %d %v, want %d %v", code, result(rec), tt.code, tt.want)
			}
			checkComposition(t, h, rec, tt.logs)
		})
	}

	// A nested composition is one entry of its parent's logs, with its own.
	_, rec := invokeRecord(t, h, "conductor", `{"action":"conductor","params":{"action":"step"},"n":1}`)
	nested := waitFor(t, h, logIDs(rec)[1].(string))
	if nested["cause"] != rec["activationId"] || annotation(nested, "topmost") != false || annotation(nested, "causedBy") != "sequence" {
		t.Errorf("nested composition = %s", mustJSON(nested))
	}
	checkComposition(t, h, nested, 3)
	if want := 5 * float64(conductorDuration.Milliseconds()); rec["duration"] != want {
		t.Errorf("duration = %v, want %v", rec["duration"], want)
	}
	// Through result=true the caller gets the result only.
	r := do(t, h, "POST", ns+"/actions/conductor?blocking=true&result=true", guestAuth, `{"action":"step","n":1}`)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"n":2}` {
		t.Errorf("result=true = %d %s", r.status, r.body)
	}
}

func TestConductorNonBlocking(t *testing.T) {
	h := newConductorHarness(t)
	r := do(t, h, "POST", ns+"/actions/conductor", guestAuth, `{"action":"step","state":{"action":"step"},"n":1}`)
	mustStatus(t, r, 202)
	id, _ := r.json(t)["activationId"].(string)
	rec := waitFor(t, h, id)
	if !cmp.Equal(result(rec), map[string]any{"n": 3.0}) {
		t.Errorf("result = %v", result(rec))
	}
	checkComposition(t, h, rec, 5)
}

func TestConductorAndSequences(t *testing.T) {
	h := newConductorHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/steps", guestAuth, `{"exec":{"kind":"sequence","components":["/_/step","/_/step"]}}`), 200)
	// A sequence as a component: one entry in the logs, its components below it.
	code, rec := invokeRecord(t, h, "conductor", `{"action":"steps","n":1}`)
	if code != 200 || !cmp.Equal(result(rec), map[string]any{"n": 3.0}) {
		t.Fatalf("sequence component = %d %v", code, result(rec))
	}
	checkComposition(t, h, rec, 3)
	seq := waitFor(t, h, logIDs(rec)[1].(string))
	if len(logIDs(seq)) != 2 || annotation(seq, "topmost") != false {
		t.Errorf("sequence component record = %s", mustJSON(seq))
	}
	// A composition in a sequence: a component like any other.
	mustStatus(t, do(t, h, "PUT", ns+"/actions/wrap", guestAuth, `{"exec":{"kind":"sequence","components":["/_/step","/_/conductor"]}}`), 200)
	code, rec = invokeRecord(t, h, "wrap", `{"n":1}`)
	if code != 200 || !cmp.Equal(result(rec), map[string]any{"n": 2.0}) || len(logIDs(rec)) != 2 {
		t.Fatalf("composition in a sequence = %d %s", code, mustJSON(rec))
	}
	comp := waitFor(t, h, logIDs(rec)[1].(string))
	if comp["cause"] != rec["activationId"] || annotation(comp, "conductor") != true || annotation(comp, "topmost") != false {
		t.Errorf("composition in a sequence = %s", mustJSON(comp))
	}
	checkComposition(t, h, comp, 1)
}

func TestConductorBinding(t *testing.T) {
	h := newConductorHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/packages/package1", guestAuth, `{"parameters":[{"key":"fromPkg","value":1}]}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/packages/package2", guestAuth, `{"binding":{"namespace":"guest","name":"package1"},"parameters":[{"key":"fromBinding","value":2}]}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/package1/echo", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"annotations":[{"key":"conductor","value":true}]}`), 200)
	code, rec := invokeRecord(t, h, "package2/echo", `{"payload":"p"}`)
	want := map[string]any{"payload": "p", "fromPkg": 1.0, "fromBinding": 2.0}
	if code != 200 || !cmp.Equal(result(rec), want) {
		t.Errorf("through a binding = %d %v", code, result(rec))
	}
	if annotation(rec, "binding") != "guest/package2" || annotation(rec, "path") != "guest/package1/echo" {
		t.Errorf("binding annotations = %s", mustJSON(rec["annotations"]))
	}
	checkComposition(t, h, rec, 1)
	// A component named through the binding.
	code, rec = invokeRecord(t, h, "conductor", `{"action":"package2/echo","params":{"x":1}}`)
	if code != 200 || !cmp.Equal(result(rec), map[string]any{"x": 1.0, "fromPkg": 1.0, "fromBinding": 2.0}) {
		t.Errorf("component through a binding = %d %v", code, result(rec))
	}
}

func TestConductorLimits(t *testing.T) {
	h := newConductorHarness(t)
	const limit = 50 // the default sequence length
	tooLong := map[string]any{"error": "Too many actions in the composition."}
	nest := func(n int, field, action string) string {
		s := "{}"
		for i := 0; i < n; i++ {
			s = fmt.Sprintf(`{"action":%q,%q:%s}`, action, field, s)
		}
		return s
	}
	steps := nest(limit, "state", "step") // limit steps, chained through state
	body := func(s string, extra string) string { return s[:len(s)-1] + "," + extra + "}" }

	code, rec := invokeRecord(t, h, "conductor", body(steps, `"n":0`))
	if code != 200 || !cmp.Equal(result(rec), map[string]any{"n": float64(limit)}) || len(logIDs(rec)) != 2*limit+1 {
		t.Errorf("at the component limit = %d %v, %d logs", code, result(rec), len(logIDs(rec)))
	}
	if want := float64((2*limit + 1) * int(conductorDuration.Milliseconds())); rec["duration"] != want {
		t.Errorf("duration = %v, want %v", rec["duration"], want)
	}
	code, rec = invokeRecord(t, h, "conductor", `{"action":"step","state":`+steps+`,"n":0}`)
	if code != 502 || status(rec) != "application error" || !cmp.Equal(result(rec), tooLong) {
		t.Errorf("one component over = %d %v %v", code, status(rec), result(rec))
	}
	// The components of nested compositions count against the same limit.
	code, rec = invokeRecord(t, h, "conductor", `{"action":"conductor","params":`+steps+`,"n":0}`)
	if code != 200 || !cmp.Equal(result(rec), map[string]any{"n": float64(limit)}) {
		t.Errorf("nested at the limit = %d %v", code, result(rec))
	}
	code, rec = invokeRecord(t, h, "conductor", `{"action":"conductor","params":{"action":"step","state":`+steps+`},"n":0}`)
	if code != 502 || !cmp.Equal(result(rec), tooLong) {
		t.Errorf("nested over the limit = %d %v", code, result(rec))
	}
	// Conductor calls: at most 2×limit+1.
	recurse := nest(limit, "params", "conductor")
	code, rec = invokeRecord(t, h, "conductor", body(recurse, `"n":0`))
	if code != 200 || !cmp.Equal(result(rec), map[string]any{"n": 0.0}) {
		t.Errorf("recursion at the limit = %d %v", code, result(rec))
	}
	code, rec = invokeRecord(t, h, "conductor", `{"action":"conductor","params":`+recurse+`,"n":0}`)
	if code != 502 || !cmp.Equal(result(rec), tooLong) {
		t.Errorf("recursion over the limit = %d %v", code, result(rec))
	}
	// A sequence component counts once, and a sequence after a long
	// composition still has its own budget.
	mustStatus(t, do(t, h, "PUT", ns+"/actions/steps", guestAuth, `{"exec":{"kind":"sequence","components":["/_/step","/_/step"]}}`), 200)
	code, rec = invokeRecord(t, h, "conductor", `{"action":"steps","state":`+nest(limit-1, "state", "steps")+`,"n":0}`)
	if code != 200 || !cmp.Equal(result(rec), map[string]any{"n": float64(2 * limit)}) {
		t.Errorf("%d sequence components = %d %v", limit, code, result(rec))
	}
}
