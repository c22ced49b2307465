package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/auth"
)

// otherUser creates namespace "other" and returns its Authorization.
func otherUser(t *testing.T, h *harness) string {
	t.Helper()
	key, err := auth.Create(context.Background(), h.st, "other")
	if err != nil {
		t.Fatal(err)
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key))
}

func mustStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body %s", r.status, want, r.body)
	}
}

func TestPackagesAndBindings(t *testing.T) {
	h := newHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/packages/default", guestAuth, `{}`), 400)
	r := do(t, h, "PUT", ns+"/packages/my%20pkg", guestAuth, `{"parameters":[{"key":"key1a","value":"pa"},{"key":"key1b","value":"pb"}]}`)
	mustStatus(t, r, 200)
	if m := r.json(t); m["binding"] == nil || len(m["binding"].(map[string]any)) != 0 {
		t.Errorf("package binding = %v, want {}", m["binding"])
	}
	mustStatus(t, do(t, h, "PUT", ns+"/packages/my%20pkg", guestAuth, `{}`), 409)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/my%20pkg/act", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"parameters":[{"key":"key0","value":"a0"}]}`), 200)
	r = do(t, h, "PUT", ns+"/packages/bound", guestAuth, `{"binding":{"namespace":"_","name":"my pkg"},"parameters":[{"key":"key2a","value":"b2a"},{"key":"key1b","value":"bb"}],"annotations":[{"key":"binding","value":"spoofed"}]}`)
	mustStatus(t, r, 200)
	if got := r.json(t)["annotations"]; !strings.Contains(mustJSON(got), `"namespace":"guest"`) || strings.Contains(mustJSON(got), "spoofed") {
		t.Errorf("binding annotation = %s", mustJSON(got))
	}
	// Binding checks.
	mustStatus(t, do(t, h, "PUT", ns+"/packages/b2", guestAuth, `{"binding":{"namespace":"guest","name":"nope"}}`), 400)
	mustStatus(t, do(t, h, "PUT", ns+"/packages/b3", guestAuth, `{"binding":{"namespace":"guest","name":"bound"}}`), 400)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/plain", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	r = do(t, h, "PUT", ns+"/packages/b4", guestAuth, `{"binding":{"namespace":"guest","name":"plain"}}`)
	if r.status != 409 || r.json(t)["error"] != "Cannot bind to a resource that is not a package." {
		t.Errorf("bind to action: %d %s", r.status, r.body)
	}
	r = do(t, h, "PUT", ns+"/packages/my%20pkg?overwrite=true", guestAuth, `{"binding":{"namespace":"guest","name":"bound"}}`)
	if r.status != 400 && r.status != 409 {
		t.Errorf("package to binding: %d %s", r.status, r.body)
	}
	// GET through the binding: merged parameters, the bound package's actions.
	r = do(t, h, "GET", ns+"/packages/bound", guestAuth, "")
	mustStatus(t, r, 200)
	var view struct {
		Parameters []map[string]any `json:"parameters"`
		Actions    []map[string]any `json:"actions"`
	}
	_ = json.Unmarshal(r.body, &view)
	if len(view.Actions) != 1 || view.Actions[0]["name"] != "act" || len(view.Parameters) != 3 {
		t.Errorf("binding view = %s", r.body)
	}
	// Invoke through the binding: package → binding → action → payload.
	r = do(t, h, "POST", ns+"/actions/bound/act?blocking=true", guestAuth, `{"p":"payload"}`)
	mustStatus(t, r, 200)
	rec := r.json(t)
	want := map[string]any{"key0": "a0", "key1a": "pa", "key1b": "bb", "key2a": "b2a", "p": "payload"}
	if diff := cmp.Diff(want, rec["response"].(map[string]any)["result"]); diff != "" {
		t.Errorf("merged parameters (-want +got):\n%s", diff)
	}
	ann := mustJSON(rec["annotations"])
	if !strings.Contains(ann, `"key":"binding","value":"guest/bound"`) || !strings.Contains(ann, `"key":"path","value":"guest/my pkg/act"`) {
		t.Errorf("annotations = %s", ann)
	}
	r = do(t, h, "POST", ns+"/actions/my%20pkg/act?blocking=true", guestAuth, `{}`)
	if strings.Contains(string(r.body), `"binding"`) {
		t.Errorf("direct invoke has a binding annotation: %s", r.body)
	}
	// Writes through a binding are refused; list of package actions works through it.
	r = do(t, h, "PUT", ns+"/actions/bound/new", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`)
	if r.status != 400 || r.json(t)["error"] != "Operation not permitted on package binding." {
		t.Errorf("write through binding: %d %s", r.status, r.body)
	}
	if r := do(t, h, "GET", ns+"/actions/bound/", guestAuth, ""); !strings.Contains(string(r.body), `"name":"act"`) {
		t.Errorf("list through binding = %s", r.body)
	}
	// Delete: non-empty needs force.
	r = do(t, h, "DELETE", ns+"/packages/my%20pkg", guestAuth, "")
	if r.status != 409 || r.json(t)["error"] != "Package not empty (contains 1 entity). Set force param or delete package contents." {
		t.Errorf("non-empty delete: %d %s", r.status, r.body)
	}
	mustStatus(t, do(t, h, "DELETE", ns+"/packages/bound", guestAuth, ""), 200)
	mustStatus(t, do(t, h, "DELETE", ns+"/packages/my%20pkg?force=true", guestAuth, ""), 200)
	mustStatus(t, do(t, h, "GET", ns+"/actions/my%20pkg/act", guestAuth, ""), 404)
	// The invoke path's cache forgets the actions a forced delete removed.
	mustStatus(t, do(t, h, "POST", ns+"/actions/my%20pkg/act?blocking=true", guestAuth, "{}"), 404)
	r = do(t, h, "GET", ns+"/packages/my%20pkg", guestAuth, "")
	if r.status != 404 || r.json(t)["error"] != "The requested resource 'guest/my pkg' does not exist." {
		t.Errorf("missing package: %d %s", r.status, r.body)
	}
	// Cross-collection names clash.
	r = do(t, h, "GET", ns+"/packages/plain", guestAuth, "")
	if r.status != 409 {
		t.Errorf("package GET of an action: %d %s", r.status, r.body)
	}
}

func TestEntitlements(t *testing.T) {
	h := newHarness(t)
	other := otherUser(t, h)
	on := "/api/v1/namespaces/other"
	mustStatus(t, do(t, h, "PUT", on+"/packages/shared", other, `{"publish":true,"parameters":[{"key":"s","value":1}]}`), 200)
	mustStatus(t, do(t, h, "PUT", on+"/packages/private", other, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", on+"/actions/shared/a", other, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", on+"/actions/private/b", other, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", on+"/actions/top", other, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)

	for _, tt := range []struct{ method, path, body string }{
		{"GET", on + "/actions/top", ""},
		{"POST", on + "/actions/top", "{}"},
		{"DELETE", on + "/actions/top", ""},
		{"PUT", on + "/actions/top?overwrite=true", `{"exec":{"kind":"nodejs:20","code":"y"}}`},
		{"GET", on + "/actions/private/b", ""},
		{"GET", on + "/packages/private", ""},
		{"GET", on + "/packages/missing", ""},
		{"GET", "/api/v1/namespaces/nobody/packages/x", ""},
		{"PUT", on + "/actions/shared/new", `{"exec":{"kind":"nodejs:20","code":"y"}}`},
		{"DELETE", on + "/actions/shared/a", ""},
		{"GET", on + "/triggers", ""},
		{"GET", on + "/activations", ""},
	} {
		if r := do(t, h, tt.method, tt.path, guestAuth, tt.body); r.status != 403 {
			t.Errorf("%s %s = %d %s, want 403", tt.method, tt.path, r.status, r.body)
		}
	}
	// Shared: readable, listable, invocable, bindable; recorded in the caller's namespace.
	mustStatus(t, do(t, h, "GET", on+"/actions/shared/a", guestAuth, ""), 200)
	r := do(t, h, "POST", on+"/actions/shared/a?blocking=true", guestAuth, `{}`)
	mustStatus(t, r, 200)
	if m := r.json(t); m["namespace"] != "guest" || !strings.Contains(mustJSON(m["annotations"]), `"value":"other/shared/a"`) {
		t.Errorf("shared invoke record = %s", r.body)
	}
	r = do(t, h, "GET", on+"/packages", guestAuth, "")
	if !strings.Contains(string(r.body), `"shared"`) || strings.Contains(string(r.body), `"private"`) {
		t.Errorf("other's package list = %s", r.body)
	}
	mustStatus(t, do(t, h, "GET", on+"/actions/shared/", guestAuth, ""), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/packages/mine", guestAuth, `{"binding":{"namespace":"other","name":"shared"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/packages/nope", guestAuth, `{"binding":{"namespace":"other","name":"private"}}`), 403)
	r = do(t, h, "POST", ns+"/actions/mine/a?blocking=true", guestAuth, `{}`)
	mustStatus(t, r, 200)
	if res := r.json(t)["response"].(map[string]any)["result"].(map[string]any); res["s"] != float64(1) {
		t.Errorf("inherited through a binding of a shared package: %v", res)
	}
	// A sequence over the shared action works until the package turns private.
	mustStatus(t, do(t, h, "PUT", ns+"/actions/seq", guestAuth, `{"exec":{"kind":"sequence","components":["/other/shared/a"]}}`), 200)
	mustStatus(t, do(t, h, "POST", ns+"/actions/seq?blocking=true", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", on+"/packages/shared?overwrite=true", other, `{"publish":false}`), 200)
	r = do(t, h, "POST", ns+"/actions/seq?blocking=true", guestAuth, `{}`)
	if r.status != 403 || !strings.Contains(string(r.body), "not authorized") {
		t.Errorf("sequence over a now private package: %d %s", r.status, r.body)
	}
}

func TestTriggersAndRules(t *testing.T) {
	h := newHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/t", guestAuth, `{"parameters":[{"key":"tp","value":"T"}]}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/t", guestAuth, `{}`), 409)
	r := do(t, h, "PUT", ns+"/triggers/t?overwrite=true", guestAuth, `{}`)
	if m := r.json(t); m["version"] != "0.0.2" || !strings.Contains(mustJSON(m["parameters"]), `"tp"`) {
		t.Errorf("trigger update = %s", r.body)
	}
	// No rules: 204 and no record.
	r = do(t, h, "POST", ns+"/triggers/t", guestAuth, `{}`)
	mustStatus(t, r, 204)
	mustStatus(t, do(t, h, "POST", ns+"/triggers/missing", guestAuth, `{}`), 404)

	r = do(t, h, "PUT", ns+"/rules/r", guestAuth, `{"name":"r","status":"","trigger":"/_/t","action":"/_/a"}`)
	mustStatus(t, r, 200)
	if m := r.json(t); m["status"] != "active" || mustJSON(m["trigger"]) != `{"name":"t","path":"guest"}` {
		t.Errorf("rule = %s", r.body)
	}
	mustStatus(t, do(t, h, "PUT", ns+"/rules/bad", guestAuth, `{"trigger":"/_/nope","action":"/_/a"}`), 400)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/bad", guestAuth, `{"trigger":"/_/t"}`), 400)
	r = do(t, h, "GET", ns+"/triggers/t", guestAuth, "")
	if got := mustJSON(r.json(t)["rules"]); got != `{"guest/r":{"action":{"name":"a","path":"guest"},"status":"active"}}` {
		t.Errorf("trigger rules = %s", got)
	}
	// Fire: 202, the trigger record, and the rule's action run with trigger params + payload + headers.
	r = do(t, h, "POST", ns+"/triggers/t", guestAuth, `{"p":"P"}`)
	mustStatus(t, r, 202)
	tid := r.json(t)["activationId"].(string)
	trec := waitFor(t, h, tid)
	if _, ok := trec["end"]; ok || mustJSON(trec["annotations"]) != `[]` || mustJSON(trec["response"].(map[string]any)["result"]) != `{"p":"P"}` {
		t.Errorf("trigger record = %s", mustJSON(trec))
	}
	logs := trec["logs"].([]any)
	var entry map[string]any
	if len(logs) != 1 || json.Unmarshal([]byte(logs[0].(string)), &entry) != nil || entry["success"] != true || entry["rule"] != "guest/r" || entry["action"] != "guest/a" {
		t.Fatalf("trigger logs = %v", logs)
	}
	arec := waitFor(t, h, entry["activationId"].(string))
	res := arec["response"].(map[string]any)["result"].(map[string]any)
	if res["p"] != "P" || res["tp"] != "T" || res["__ow_headers"] == nil {
		t.Errorf("rule action input = %v", res)
	}
	if _, ok := arec["cause"]; ok {
		t.Errorf("rule-started activation has a cause")
	}
	// Disable: the fire answers 204; status survives updates.
	mustStatus(t, do(t, h, "POST", ns+"/rules/r", guestAuth, `{"status":"inactive","trigger":null,"action":null}`), 200)
	mustStatus(t, do(t, h, "POST", ns+"/triggers/t", guestAuth, `{}`), 204)
	r = do(t, h, "PUT", ns+"/rules/r?overwrite=true", guestAuth, `{"trigger":"/_/t","action":"/_/a"}`)
	if m := r.json(t); m["status"] != "inactive" || m["version"] != "0.0.2" {
		t.Errorf("updated rule = %s", r.body)
	}
	mustStatus(t, do(t, h, "POST", ns+"/rules/r", guestAuth, `{"status":"bogus"}`), 400)
	mustStatus(t, do(t, h, "POST", ns+"/rules/missing", guestAuth, `{"status":"active"}`), 404)
	// A second rule to a deleted action: two log entries, the failure with statusCode 1.
	mustStatus(t, do(t, h, "POST", ns+"/rules/r", guestAuth, `{"status":"active"}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/gone", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/r2", guestAuth, `{"trigger":"/_/t","action":"/_/gone"}`), 200)
	mustStatus(t, do(t, h, "DELETE", ns+"/actions/gone", guestAuth, ""), 200)
	r = do(t, h, "POST", ns+"/triggers/t", guestAuth, `{}`)
	mustStatus(t, r, 202)
	trec = waitFor(t, h, r.json(t)["activationId"].(string))
	if logs := mustJSON(trec["logs"]); !strings.Contains(logs, `\"statusCode\":1`) || !strings.Contains(logs, `The requested resource does not exist.`) {
		t.Errorf("logs with a deleted action = %s", logs)
	}
	// List has no status; delete works while active.
	r = do(t, h, "GET", ns+"/rules", guestAuth, "")
	if strings.Contains(string(r.body), `"status"`) || !strings.Contains(string(r.body), `"r2"`) {
		t.Errorf("rule list = %s", r.body)
	}
	r = do(t, h, "DELETE", ns+"/rules/r", guestAuth, "")
	if r.status != 200 || r.json(t)["status"] != "inactive" {
		t.Errorf("rule delete = %d %s", r.status, r.body)
	}
	r = do(t, h, "GET", ns+"/triggers/t", guestAuth, "")
	if strings.Contains(string(r.body), `guest/r"`) {
		t.Errorf("deleted rule still linked: %s", r.body)
	}
	// Names are shared across collections.
	mustStatus(t, do(t, h, "PUT", ns+"/actions/t", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 409)
	mustStatus(t, do(t, h, "DELETE", ns+"/actions/t", guestAuth, ""), 409)
}

func TestSequences(t *testing.T) {
	h := newHarness(t)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"parameters":[{"key":"fromA","value":1}],"limits":{"memory":512}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/b", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"parameters":[{"key":"fromB","value":2}]}`), 200)
	for _, tt := range []struct{ body, msg string }{
		{`{"exec":{"kind":"sequence","components":[]}}`, "No component specified for the sequence."},
		{`{"exec":{"kind":"sequence","components":["/_/nope"]}}`, "Sequence component does not exist."},
		{`{"exec":{"kind":"sequence","components":["/_/s"]}}`, "Sequence may not refer to itself."},
		{`{"exec":{"kind":"sequence","components":["/_/a"` + strings.Repeat(`,"/_/a"`, 50) + `]}}`, "Too many actions in the sequence."},
	} {
		r := do(t, h, "PUT", ns+"/actions/s", guestAuth, tt.body)
		if r.status != 400 || r.json(t)["error"] != tt.msg {
			t.Errorf("PUT %s = %d %s, want %q", tt.body, r.status, r.body, tt.msg)
		}
	}
	r := do(t, h, "PUT", ns+"/actions/s", guestAuth, `{"exec":{"kind":"sequence","components":["/_/a","b"]},"parameters":[{"key":"dropped","value":1}]}`)
	if r.status != 400 {
		t.Errorf("2-part-less component accepted: %s", r.body)
	}
	r = do(t, h, "PUT", ns+"/actions/s", guestAuth, `{"exec":{"kind":"sequence","components":["/_/a","/guest/b"]},"parameters":[{"key":"dropped","value":1}]}`)
	mustStatus(t, r, 200)
	m := r.json(t)
	if mustJSON(m["exec"].(map[string]any)["components"]) != `["/guest/a","/guest/b"]` || mustJSON(m["parameters"]) != `[{"key":"_actions","value":["/guest/a","/guest/b"]}]` {
		t.Errorf("sequence doc = %s", r.body)
	}
	// Self-reference through an inner sequence.
	mustStatus(t, do(t, h, "PUT", ns+"/actions/outer", guestAuth, `{"exec":{"kind":"sequence","components":["/_/s","/_/a"]}}`), 200)
	r = do(t, h, "PUT", ns+"/actions/s?overwrite=true", guestAuth, `{"exec":{"kind":"sequence","components":["/_/outer"]}}`)
	if r.status != 400 || r.json(t)["error"] != "Sequence may not refer to itself." {
		t.Errorf("indirect self-reference: %d %s", r.status, r.body)
	}
	r = do(t, h, "POST", ns+"/actions/outer?blocking=true", guestAuth, `{"in":"x","error":"ignored"}`)
	mustStatus(t, r, 200)
	rec := r.json(t)
	want := map[string]any{"in": "x", "error": "ignored", "fromA": float64(1), "fromB": float64(2)}
	// The fake echoes, so "error" flows through; it must not stop the sequence.
	res := rec["response"].(map[string]any)
	if diff := cmp.Diff(want, res["result"]); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if logs := rec["logs"].([]any); len(logs) != 2 {
		t.Fatalf("outer logs = %v", logs)
	}
	ann := mustJSON(rec["annotations"])
	if !strings.Contains(ann, `"kind","value":"sequence"`) || !strings.Contains(ann, `"topmost","value":true`) || !strings.Contains(ann, `"memory":512`) {
		t.Errorf("sequence annotations = %s", ann)
	}
	inner := waitFor(t, h, rec["logs"].([]any)[0].(string))
	if inner["cause"] != rec["activationId"] || len(inner["logs"].([]any)) != 2 || !strings.Contains(mustJSON(inner["annotations"]), `"causedBy","value":"sequence"`) {
		t.Errorf("inner sequence record = %s", mustJSON(inner))
	}
	comp := waitFor(t, h, inner["logs"].([]any)[0].(string))
	if comp["cause"] != inner["activationId"] {
		t.Errorf("component cause = %v, want %v", comp["cause"], inner["activationId"])
	}
	// A failing component stops the sequence.
	r = do(t, h, "POST", ns+"/actions/s?blocking=true", guestAuth, `{"fail":1}`)
	if r.status != 502 || len(r.json(t)["logs"].([]any)) != 1 {
		t.Errorf("failing sequence = %d %s", r.status, r.body)
	}
	// An array result comes back bare.
	if r := do(t, h, "POST", ns+"/actions/s?blocking=true", guestAuth, `{"array":1}`); string(bytes.TrimSpace(r.body)) != `[1,2]` {
		t.Errorf("array sequence = %s", r.body)
	}
}

func TestWebActions(t *testing.T) {
	h := newHarness(t)
	web := `[{"key":"web-export","value":true},{"key":"final","value":true}]`
	mustStatus(t, do(t, h, "PUT", ns+"/actions/echo", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"parameters":[{"key":"fixed","value":"F"}],"annotations":`+web+`}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/hidden", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/secure", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"annotations":[{"key":"web-export","value":true},{"key":"require-whisk-auth","value":true}]}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/secret", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"annotations":[{"key":"web-export","value":true},{"key":"require-whisk-auth","value":"s3"}]}`), 200)

	r := do(t, h, "POST", "/api/v1/web/guest/default/echo.json/some/path?q=1", "", `{"b":true}`)
	mustStatus(t, r, 200)
	m := r.json(t)
	if m["q"] != "1" || m["b"] != true || m["fixed"] != "F" || m["__ow_method"] != "post" || m["__ow_path"] != "/some/path" || m["__ow_user"] != nil {
		t.Errorf("input = %s", r.body)
	}
	if ct := m["__ow_headers"].(map[string]any)["content-type"]; ct != "application/json" {
		t.Errorf("content-type header = %v", ct)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("X-Openwhisk-Activation-Id") == "" {
		t.Errorf("headers = %v", r.header)
	}
	mustStatus(t, do(t, h, "GET", "/api/v1/web/guest/default/echo.json?fixed=x", "", ""), 400)
	mustStatus(t, do(t, h, "GET", "/api/v1/web/guest/default/echo.json?__ow_user=x", "", ""), 400)
	mustStatus(t, do(t, h, "GET", "/api/v1/web/guest/default/hidden.json", "", ""), 404)
	mustStatus(t, do(t, h, "GET", "/api/v1/web/nobody/default/echo.json", "", ""), 404)
	if r := do(t, h, "GET", "/api/v1/web/guest/default/echo.json", guestAuth, ""); r.json(t)["__ow_user"] != "guest" {
		t.Errorf("authenticated __ow_user = %s", r.body)
	}
	mustStatus(t, do(t, h, "GET", "/api/v1/web/guest/default/secure.json", "", ""), 401)
	mustStatus(t, do(t, h, "GET", "/api/v1/web/guest/default/secure.json", guestAuth, ""), 200)
	mustStatus(t, do(t, h, "GET", "/api/v1/web/guest/default/secret.json", "", ""), 401)
	req := func(hdr string) int {
		rq, _ := newRequest("GET", h.url+"/api/v1/web/guest/default/secret.json", "")
		rq.Header.Set("X-Require-Whisk-Auth", hdr)
		return send(t, rq).status
	}
	if got := req("s3"); got != 200 {
		t.Errorf("secret header: %d", got)
	}
	// OPTIONS is answered without running the action.
	r = do(t, h, "OPTIONS", "/api/v1/web/guest/default/echo.json", "", "")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Methods") != "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH" || len(r.body) != 0 {
		t.Errorf("OPTIONS = %d %v", r.status, r.header)
	}
}

func TestWebResponses(t *testing.T) {
	h := newHarness(t)
	put := func(name string) {
		mustStatus(t, do(t, h, "PUT", ns+"/actions/"+name, guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"},"annotations":[{"key":"web-export","value":true}]}`), 200)
	}
	put("w")
	tests := []struct {
		name, path, body, accept string
		status                   int
		ctype, entity            string
	}{
		{"http html", "w", `{"body":"<b>hi</b>"}`, "", 200, "text/html", "<b>hi</b>"},
		{"http status and headers", "w", `{"statusCode":"201","headers":{"X-A":[1,"two"],"Content-Type":"text/plain"},"body":"ok"}`, "", 201, "text/plain", "ok"},
		{"http no body", "w", `{"statusCode":204}`, "", 204, "", ""},
		{"http json body", "w", `{"body":{"a":1}}`, "", 200, "application/json", `{"a":1}`},
		{"http png base64", "w", `{"headers":{"Content-Type":"image/png"},"body":"aGk="}`, "", 200, "image/png", "hi"},
		{"http type mismatch", "w", `{"headers":{"Content-Type":"text/html"},"body":{"a":1}}`, "", 400, "", ""},
		{"http not acceptable", "w", `{"body":"<b>hi</b>"}`, "application/json", 406, "", ""},
		{"html", "w.html", `{"html":"<p>x</p>"}`, "", 200, "text/html", "<p>x</p>"},
		{"text object", "w.text", `{"text":{"a":1}}`, "", 200, "text/plain", "{\n  \"a\": 1\n}"},
		{"text missing", "w.text", `{"other":1}`, "", 404, "", ""},
		{"svg", "w.svg", `{"svg":"<svg/>"}`, "", 200, "image/svg+xml", "<svg/>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The fake echoes the input, so the body's keys become the result.
			rq, _ := newRequest("POST", h.url+"/api/v1/web/guest/default/"+tt.path, tt.body)
			rq.Header.Set("Content-Type", "application/json")
			if tt.accept != "" {
				rq.Header.Set("Accept", tt.accept)
			}
			r := send(t, rq)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.ctype != "" && !strings.HasPrefix(r.header.Get("Content-Type"), tt.ctype) {
				t.Errorf("content-type = %q, want %q", r.header.Get("Content-Type"), tt.ctype)
			}
			if tt.status < 300 && tt.entity != strings.TrimSpace(string(r.body)) {
				t.Errorf("entity = %q, want %q", r.body, tt.entity)
			}
			if tt.name == "http status and headers" && strings.Join(r.header.Values("X-A"), ",") != "1,two" {
				t.Errorf("X-A = %v", r.header.Values("X-A"))
			}
		})
	}
	_ = time.Second
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A rule may only name a trigger and an action its creator can read:
// another namespace's trigger is 403 with OpenWhisk's message, and nothing
// is written.
func TestRuleEntitlements(t *testing.T) {
	h := newHarness(t)
	other := otherUser(t, h)
	on := "/api/v1/namespaces/other"
	mustStatus(t, do(t, h, "PUT", on+"/triggers/t1", other, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", on+"/actions/top", other, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/mine", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/a", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)

	for _, tt := range []struct{ body, want string }{
		{`{"trigger":"/other/t1","action":"/guest/a"}`, "The supplied authentication is not authorized to access 'other/t1'."},
		{`{"trigger":"/other/missing","action":"/_/a"}`, "The supplied authentication is not authorized to access 'other/missing'."},
		{`{"trigger":{"path":"other","name":"t1"},"action":"/_/a"}`, "The supplied authentication is not authorized to access 'other/t1'."},
		{`{"trigger":"/_/mine","action":"/other/top"}`, "The supplied authentication is not authorized to access 'other/top'."},
		{`{"trigger":"/other/t1","action":"/other/top"}`, "The supplied authentication is not authorized to access 'other/t1, other/top'."},
	} {
		r := do(t, h, "PUT", ns+"/rules/r", guestAuth, tt.body)
		if r.status != 403 || r.json(t)["error"] != tt.want {
			t.Errorf("PUT rule %s = %d %s, want 403 %q", tt.body, r.status, r.body, tt.want)
		}
	}
	mustStatus(t, do(t, h, "GET", ns+"/rules/r", guestAuth, ""), 404)
	r := do(t, h, "GET", on+"/triggers/t1", other, "")
	mustStatus(t, r, 200)
	if rules, ok := r.json(t)["rules"]; ok && len(rules.(map[string]any)) > 0 {
		t.Errorf("other's trigger rules = %v, want none", rules)
	}
	// An update may not move a rule onto another's trigger either.
	mustStatus(t, do(t, h, "PUT", ns+"/rules/r", guestAuth, `{"trigger":"/_/mine","action":"/_/a"}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/r?overwrite=true", guestAuth, `{"trigger":"/other/t1"}`), 403)
	r = do(t, h, "GET", ns+"/rules/r", guestAuth, "")
	if m := r.json(t); m["status"] != "active" || mustJSON(m["trigger"]) != `{"name":"mine","path":"guest"}` {
		t.Errorf("rule after refused update = %s", r.body)
	}
}
