package api_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

const system = "/api/v1/namespaces/whisk.system"

// TestStandardPackages checks OpenWhisk's utils and samples packages as
// installed at start: published in /whisk.system, their actions Node.js
// actions of the platform's default kind with OpenWhisk's annotations,
// usable from another namespace directly, in sequences, rules and
// bindings, and not writable by it.
func TestStandardPackages(t *testing.T) {
	h := newHarness(t)
	r := do(t, h, "GET", system+"/packages", guestAuth, "")
	mustStatus(t, r, 200)
	var list []struct {
		Name    string `json:"name"`
		Publish bool   `json:"publish"`
	}
	_ = json.Unmarshal(r.body, &list)
	var names []string
	for _, p := range list {
		if !p.Publish {
			t.Errorf("package %s is not published", p.Name)
		}
		names = append(names, p.Name)
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "alarms,cloudevents,samples,utils" {
		t.Errorf("/whisk.system packages = %s", got)
	}

	r = do(t, h, "GET", system+"/packages/utils", guestAuth, "")
	mustStatus(t, r, 200)
	var utils struct {
		Annotations []map[string]any `json:"annotations"`
		Actions     []struct {
			Name        string           `json:"name"`
			Annotations []map[string]any `json:"annotations"`
		} `json:"actions"`
	}
	_ = json.Unmarshal(r.body, &utils)
	if mustJSON(utils.Annotations) != `[{"key":"description","value":"Building blocks that format and assemble data"}]` {
		t.Errorf("utils annotations = %s", mustJSON(utils.Annotations))
	}
	names = nil
	for _, a := range utils.Actions {
		names = append(names, a.Name)
		ann := mustJSON(a.Annotations)
		if !strings.Contains(ann, `{"key":"description","value":`) || !strings.Contains(ann, `{"key":"exec","value":"nodejs:20"}`) {
			t.Errorf("utils/%s annotations = %s", a.Name, ann)
		}
	}
	sort.Strings(names)
	if got := strings.Join(names, ","); got != "cat,date,echo,head,hosturl,namespace,smash,sort,split" {
		t.Errorf("utils actions = %s", got)
	}
	r = do(t, h, "GET", system+"/actions/samples/helloPromises", guestAuth, "")
	mustStatus(t, r, 200)
	var act struct {
		Exec struct {
			Kind string `json:"kind"`
			Code string `json:"code"`
		} `json:"exec"`
		Annotations []map[string]any `json:"annotations"`
	}
	_ = json.Unmarshal(r.body, &act)
	if act.Exec.Kind != "nodejs:20" || !strings.Contains(act.Exec.Code, "function main(") ||
		!strings.Contains(mustJSON(act.Annotations), `{"key":"provide-api-key","value":true}`) {
		t.Errorf("samples/helloPromises = %s", r.body)
	}

	// Invoked by the guest: recorded in the guest's namespace.
	r = do(t, h, "POST", system+"/actions/utils/echo?blocking=true", guestAuth, `{"a":1}`)
	mustStatus(t, r, 200)
	if m := r.json(t); m["namespace"] != "guest" || mustJSON(m["response"].(map[string]any)["result"]) != `{"a":1}` ||
		!strings.Contains(mustJSON(m["annotations"]), `"value":"whisk.system/utils/echo"`) {
		t.Errorf("echo record = %s", r.body)
	}
	// In a sequence, a rule and a binding of the guest.
	mustStatus(t, do(t, h, "PUT", ns+"/actions/lines", guestAuth,
		`{"exec":{"kind":"sequence","components":["/whisk.system/utils/split","/whisk.system/utils/sort","/whisk.system/utils/head","/whisk.system/utils/cat"]}}`), 200)
	r = do(t, h, "POST", ns+"/actions/lines?blocking=true", guestAuth, `{"payload":"b\na"}`)
	mustStatus(t, r, 200)
	if n := len(r.json(t)["logs"].([]any)); n != 4 {
		t.Errorf("sequence ran %d components: %s", n, r.body)
	}
	mustStatus(t, do(t, h, "PUT", ns+"/triggers/tick", guestAuth, `{}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/rules/echoTick", guestAuth, `{"trigger":"/_/tick","action":"/whisk.system/utils/echo"}`), 200)
	mustStatus(t, do(t, h, "PUT", ns+"/packages/myutils", guestAuth, `{"binding":{"namespace":"whisk.system","name":"utils"}}`), 200)
	mustStatus(t, do(t, h, "POST", ns+"/actions/myutils/echo?blocking=true", guestAuth, `{}`), 200)
	// Not the guest's to change.
	mustStatus(t, do(t, h, "PUT", system+"/actions/utils/echo?overwrite=true", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 403)
	mustStatus(t, do(t, h, "DELETE", system+"/packages/samples", guestAuth, ""), 403)
}

// TestStandardPackagesReinstall checks that installing the catalog again
// leaves unchanged entities alone (no new version for the platform) and
// replaces changed ones.
func TestStandardPackagesReinstall(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	// From the store: the API's action cache is not told of these writes,
	// which the gateway makes only before it serves.
	get := func() (string, int64) {
		doc, err := h.st.GetEntity(ctx, "whisk.system/utils", "echo")
		if err != nil {
			t.Fatal(err)
		}
		var a whisk.Action
		if err := json.Unmarshal(doc.Body, &a); err != nil {
			t.Fatal(err)
		}
		return a.Exec.Kind, a.Updated
	}
	kind, before := get()
	if err := events.InstallCatalog(ctx, h.st, "nodejs:20"); err != nil {
		t.Fatal(err)
	}
	if k, after := get(); k != kind || after != before {
		t.Errorf("reinstalled unchanged: %s %d, was %s %d", k, after, kind, before)
	}
	if err := events.InstallCatalog(ctx, h.st, "nodejs:22"); err != nil {
		t.Fatal(err)
	}
	if k, after := get(); k != "nodejs:22" || after <= before {
		t.Errorf("reinstalled with another kind: %s %d, was %s %d", k, after, kind, before)
	}
}
