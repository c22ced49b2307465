package events

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/runtimes/nodejs/launcher"
)

// TestPackagesManifest checks the standard packages against OpenWhisk's:
// the actions, each with its code and a description, and no code file
// that no manifest names.
func TestPackagesManifest(t *testing.T) {
	pkgs, err := loadPackages()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"utils":   {"cat", "date", "echo", "head", "hosturl", "namespace", "smash", "sort", "split"},
		"samples": {"cat", "countdown", "curl", "greeting", "head", "helloPromises", "helloWorld", "invoke", "printParams", "wordCount", "wordCountAsync"},
	}
	if len(pkgs) != len(want) {
		t.Fatalf("%d packages, want %d", len(pkgs), len(want))
	}
	for _, p := range pkgs {
		if p.description == "" {
			t.Errorf("package %s has no description", p.name)
		}
		var names []string
		for _, a := range p.actions {
			names = append(names, a.name)
			if len(a.annotations) == 0 || a.annotations[0].Key != "description" {
				t.Errorf("%s/%s: annotations %v do not start with the description", p.name, a.name, a.annotations)
			}
			if !strings.Contains(a.code, "function main(") {
				t.Errorf("%s/%s has no main", p.name, a.name)
			}
		}
		sort.Strings(names)
		if !reflect.DeepEqual(names, want[p.name]) {
			t.Errorf("%s actions = %v, want %v", p.name, names, want[p.name])
		}
		files, _ := fs.Glob(packageFiles, "packages/"+p.name+"/*.js")
		if len(files) != len(p.actions) {
			t.Errorf("%s has %d code files for %d actions: %v", p.name, len(files), len(p.actions), files)
		}
	}
	// The annotations keep the manifest's order and values.
	for _, a := range pkgs[0].actions {
		if a.name == "head" {
			var keys []string
			for _, kv := range a.annotations {
				keys = append(keys, kv.Key)
			}
			if got := strings.Join(keys, ","); got != "description,parameters,sampleInput,sampleOutput" {
				t.Errorf("utils/head annotation keys = %s", got)
			}
			if got := string(a.annotations.Get("parameters")); !strings.Contains(got, `"name": "num"`) {
				t.Errorf("utils/head parameters = %s", got)
			}
		}
	}
}

func TestCatalogNodeKind(t *testing.T) {
	rts := []platform.Runtime{{Family: "python", Kind: "python:3.11", Default: true}, {Family: "nodejs", Kind: "nodejs:22"}, {Family: "nodejs", Kind: "nodejs:24", Default: true}}
	if got := CatalogNodeKind(rts); got != "nodejs:24" {
		t.Errorf("CatalogNodeKind = %s, want the default nodejs:24", got)
	}
	if got := CatalogNodeKind(rts[:1]); got != fallbackNodeKind {
		t.Errorf("CatalogNodeKind without Node.js = %s", got)
	}
}

// runner calls the main of each action of the calls in argv, in turn,
// and prints their results as one array: undefined as {}, a throw as
// {"thrown": message}. The actions' own console output goes to stderr.
const runner = `
console.log = (...a) => console.error(...a);
(async () => {
  const out = [];
  for (const c of JSON.parse(process.argv[1])) {
    try {
      const r = await require(c.file)(c.params);
      out.push(r === undefined ? {} : r);
    } catch (e) {
      out.push({ thrown: String((e && e.message) || e) });
    }
  }
  process.stdout.write(JSON.stringify(out));
})();
`

// call is one run of packages/<pkg>/<action>.js.
type call struct {
	pkg, action string
	params      any
}

// runActions runs the calls in one node process with env added.
func runActions(t *testing.T, node string, calls []call, env ...string) []map[string]any {
	t.Helper()
	dir := t.TempDir()
	type run struct {
		File   string `json:"file"`
		Params any    `json:"params"`
	}
	var runs []run
	for _, c := range calls {
		code, err := packageFiles.ReadFile("packages/" + c.pkg + "/" + c.action + ".js")
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, c.pkg+"-"+c.action+".js")
		if err := os.WriteFile(file, append(code, "\nmodule.exports = main;\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run{file, c.params})
	}
	// The packages the Node.js runtime bundles, as the launcher offers
	// them (NODE_PATH).
	modules, err := launcher.InstallModules(dir)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(runs)
	cmd := exec.Command(node, "-e", runner, string(in))
	cmd.Env = append(append(os.Environ(), "NODE_PATH="+modules), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res []map[string]any
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(calls) {
		t.Fatalf("node printed %q: %v", out, err)
	}
	return res
}

// runAction runs one action.
func runAction(t *testing.T, node, pkg, action string, params any, env ...string) map[string]any {
	t.Helper()
	return runActions(t, node, []call{{pkg, action, params}}, env...)[0]
}

// TestPackagesActions runs each action's code with Node.js and checks its
// result against OpenWhisk's catalog tests.
func TestPackagesActions(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH")
	}
	env := []string{"__OW_NAMESPACE=guest", "__OW_API_HOST=https://host.test"}
	lines := []any{"seven", "eight", "nine"}
	tests := []struct {
		pkg, action string
		params      map[string]any
		want        string
	}{
		{"utils", "echo", map[string]any{"a": 1, "b": []any{"x"}}, `{"a":1,"b":["x"]}`},
		{"utils", "cat", map[string]any{"lines": lines, "other": 1}, `{"lines":["seven","eight","nine"],"payload":"seven\neight\nnine"}`},
		{"utils", "cat", map[string]any{}, `{"lines":[],"payload":""}`},
		{"utils", "sort", map[string]any{"lines": lines}, `{"length":3,"lines":["eight","nine","seven"]}`},
		{"utils", "sort", map[string]any{"lines": []any{10, 9, 1}}, `{"length":3,"lines":[1,10,9]}`},
		{"utils", "head", map[string]any{"lines": lines, "num": 2}, `{"lines":["seven","eight"],"num":2}`},
		{"utils", "head", map[string]any{"lines": lines}, `{"lines":["seven"],"num":1}`},
		{"utils", "split", map[string]any{"payload": "seven,eight,nine", "separator": ","}, `{"lines":["seven","eight","nine"],"payload":"seven,eight,nine"}`},
		{"utils", "split", map[string]any{"payload": "a\r\nb\nc"}, `{"lines":["a","b","c"],"payload":"a\r\nb\nc"}`},
		{"utils", "split", map[string]any{}, `{"thrown":"Cannot read properties of undefined (reading 'toString')"}`},
		{"utils", "smash", map[string]any{"$fieldName": "x", "a": 1, "c": map[string]any{"d": 3}}, `{"x":{"a":1,"c":{"d":3}}}`},
		{"utils", "smash", map[string]any{"$fieldName": "x"}, `{"x":{}}`},
		{"utils", "smash", map[string]any{"a": 1}, `{"error":"Expected an argument '$fieldName' of type 'string'."}`},
		{"utils", "namespace", map[string]any{}, `{"namespace":"guest"}`},
		{"utils", "hosturl", map[string]any{}, `{"url":"https://host.test/api/v1/namespaces/guest/actions"}`},
		{"utils", "hosturl", map[string]any{"path": "echo"}, `{"url":"https://host.test/api/v1/namespaces/guest/actions/echo"}`},
		{"utils", "hosturl", map[string]any{"path": "utils/echo"}, `{"url":"https://host.test/api/v1/namespaces/guest/actions/utils/echo"}`},
		{"utils", "hosturl", map[string]any{"trigger": true, "path": "echo"}, `{"url":"https://host.test/api/v1/namespaces/guest/triggers/echo"}`},
		{"utils", "hosturl", map[string]any{"web": true}, `{"url":"https://host.test/api/v1/web/guest"}`},
		{"utils", "hosturl", map[string]any{"web": true, "path": "echo", "ext": ".text"}, `{"url":"https://host.test/api/v1/web/guest/default/echo.text"}`},
		{"utils", "hosturl", map[string]any{"web": true, "path": "utils/echo"}, `{"url":"https://host.test/api/v1/web/guest/utils/echo"}`},
		{"utils", "hosturl", map[string]any{"web": true, "trigger": true}, `{"error":"triggers are not allowed for web actions."}`},
		{"utils", "hosturl", map[string]any{"web": true, "path": "echo", "ext": ".exe"}, `{"error":"extension for web action must be one of [\".html\", \".http\", \".json\", \".svg\", \".text\"]."}`},
		{"utils", "hosturl", map[string]any{"trigger": true, "path": "p/t"}, `{"error":"triggers are not allowed in packages."}`},
		{"samples", "greeting", map[string]any{"dummy": "dummy"}, `{"payload":"Hello, stranger from somewhere!"}`},
		{"samples", "greeting", map[string]any{"name": "Mork"}, `{"payload":"Hello, Mork from somewhere!"}`},
		{"samples", "greeting", map[string]any{"payload": "Mork", "place": "Ork"}, `{"payload":"Hello, Mork from Ork!"}`},
		{"samples", "helloWorld", map[string]any{"payload": "Cat"}, `{}`},
		{"samples", "wordCount", map[string]any{"payload": "Five fuzzy felines"}, `{"count":3}`},
		{"samples", "wordCount", map[string]any{}, `{"thrown":"Cannot read properties of undefined (reading 'toString')"}`},
		{"samples", "wordCountAsync", map[string]any{"payload": "Five fuzzy felines"}, `{"count":3}`},
		{"samples", "cat", map[string]any{"lines": []any{1, 2, 3}}, `{"lines":[1,2,3],"payload":"1\n2\n3\n"}`},
		{"samples", "cat", map[string]any{}, `{"error":"You must specify a lines parameter!"}`},
		{"samples", "head", map[string]any{"lines": []any{1, 2, 3, 4}, "num": 2}, `{"lines":[1,2],"num":2}`},
		{"samples", "head", map[string]any{"lines": []any{1, 2, 3, 4}, "num": 2.7}, `{"lines":[1,2],"num":2}`},
		{"samples", "head", map[string]any{"lines": []any{1, 2, 3, 4}, "num": "3"}, `{"lines":[1],"num":1}`},
		{"samples", "head", map[string]any{"num": 2}, `{"error":"You must specify a lines parameter!"}`},
		{"samples", "printParams", map[string]any{"x": 1, "b": 5, "z": 2}, `{"params":{"b":5,"x":1,"z":2}}`},
	}
	if launcher.Bundled() { // countdown requires the openwhisk client
		tests = append(tests, struct {
			pkg, action string
			params      map[string]any
			want        string
		}{"samples", "countdown", map[string]any{"n": 0}, `{}`})
	}
	calls := []call{{"utils", "date", map[string]any{}}}
	for _, tt := range tests {
		calls = append(calls, call{tt.pkg, tt.action, tt.params})
	}
	results := runActions(t, node, calls, env...)
	// date: an ISO 8601 time.
	if d, _ := results[0]["date"].(string); len(d) != len("2016-03-22T00:59:55.961Z") || !strings.HasSuffix(d, "Z") {
		t.Errorf("utils/date = %q", d)
	}
	for i, tt := range tests {
		got := results[i+1]
		var want map[string]any
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s/%s %v = %v, want %v", tt.pkg, tt.action, tt.params, mustJSON(got), tt.want)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestPackagesInvokeTheAPI checks the samples that call the REST API with
// the invoker's key, through the openwhisk client the Node.js runtime
// bundles: countdown invokes itself with n-1, helloPromises invokes
// greeting and splits its greeting, invoke returns date's activation.
func TestPackagesInvokeTheAPI(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH")
	}
	if !launcher.Bundled() {
		t.Skip("built without the bundled openwhisk package: `make node-client` installs it")
	}
	const key = "uuid:secret"
	var mu sync.Mutex
	var calls []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.RequestURI()+" "+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(key)) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"The supplied authentication is invalid","code":"x"}`)
			return
		}
		switch r.URL.Path {
		case "/api/v1/namespaces/whisk.system/actions/samples/countdown":
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"activationId":"a1"}`)
		case "/api/v1/namespaces/whisk.system/actions/samples/greeting":
			_, _ = io.WriteString(w, `{"activationId":"a2","response":{"success":true,"result":{"payload":"Hello, Mork from Ork!"}}}`)
		case "/api/v1/namespaces/whisk.system/actions/utils/date":
			_, _ = io.WriteString(w, `{"activationId":"a3","response":{"success":true,"result":{"date":"2016-03-22T00:59:55.961Z"}}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"The requested resource does not exist.","code":"x"}`)
		}
	}))
	defer api.Close()
	env := []string{"__OW_NAMESPACE=guest", "__OW_API_HOST=" + api.URL, "__OW_API_KEY=" + key, "__OW_ACTION_NAME=/whisk.system/samples/countdown"}

	if got := mustJSON(runAction(t, node, "samples", "countdown", map[string]any{"n": 3}, env...)); got != `{"activationId":"a1"}` {
		t.Errorf("countdown = %s", got)
	}
	if got := mustJSON(runAction(t, node, "samples", "helloPromises", map[string]any{"name": "Mork", "place": "Ork"}, env...)); got != `{"lines":["Hello,","Mork","from","Ork!"]}` {
		t.Errorf("helloPromises = %s", got)
	}
	if got := runAction(t, node, "samples", "invoke", map[string]any{}, env...); got["activationId"] != "a3" {
		t.Errorf("invoke = %v, want date's activation", got)
	}
	want := []string{
		`POST /api/v1/namespaces/whisk.system/actions/samples/countdown? {"n":2}`,
		`POST /api/v1/namespaces/whisk.system/actions/samples/greeting?blocking=true {"name":"Mork","place":"Ork"}`,
		`POST /api/v1/namespaces/whisk.system/actions/utils/date?blocking=true {}`,
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("API calls = %q, want %q", calls, want)
	}
	// Without the key (no provide-api-key) the client has none: an error.
	if got := runAction(t, node, "samples", "countdown", map[string]any{"n": 1}, "__OW_API_KEY=",
		"__OW_API_HOST="+api.URL, "__OW_ACTION_NAME=/whisk.system/samples/countdown"); !strings.Contains(mustJSON(got), "Missing api_key") {
		t.Errorf("countdown without a key = %v", got)
	}
	// With a key the gateway refuses, the call is an error too.
	if got := runAction(t, node, "samples", "invoke", map[string]any{}, "__OW_API_KEY=uuid:wrong",
		"__OW_API_HOST="+api.URL); !strings.Contains(mustJSON(got), "401") {
		t.Errorf("invoke with a wrong key = %v", got)
	}
}
