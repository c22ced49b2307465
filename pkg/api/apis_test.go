package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/platform"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

const (
	createAPI = "/api/v1/web/whisk.system/apimgmt/createApi.http"
	getAPI    = "/api/v1/web/whisk.system/apimgmt/getApi.http"
	deleteAPI = "/api/v1/web/whisk.system/apimgmt/deleteApi.http"
)

var guestUUID = auth.WellKnown[0].UUID

// apiRun answers the "page" action with an http result whose body is the
// action's input; others echo their input.
func apiRun(a *platform.Action, req *platform.RunRequest) *platform.Result {
	if a.Path.Name == "page" {
		res, _ := json.Marshal(map[string]any{"statusCode": 200, "body": json.RawMessage(req.Value)})
		return &platform.Result{Response: whisk.Response{Result: res}}
	}
	return echoRun(a, req)
}

// cliAPIDoc is the apidoc body the wsk CLI sends for
// `wsk api create BASE REL VERB ACTION`.
func cliAPIDoc(base, rel, verb, action string, extra string) string {
	return `{"apidoc":{"namespace":"_","gatewayBasePath":"` + base + `","gatewayPath":"` + rel + `","gatewayMethod":"` + verb +
		`","id":"API:_:` + base + `","action":{"name":"` + action + `","namespace":"_","backendMethod":"GET","backendUrl":"http://gw.example/api/v1/web/_/default/` +
		action + `.http","authkey":"x:y"` + extra + `}}}`
}

func webAction(t *testing.T, h *harness, name string, annotations string) {
	t.Helper()
	mustStatus(t, do(t, h, "PUT", ns+"/actions/"+name, guestAuth,
		`{"exec":{"kind":"nodejs:20","code":"x"},"annotations":[{"key":"web-export","value":true}`+annotations+`]}`), 200)
}

// apiList is the getApi answer as the Go client reads it.
type apiList struct {
	APIs []struct {
		Value struct {
			Namespace string         `json:"namespace"`
			URL       string         `json:"gwApiUrl"`
			Activated bool           `json:"gwApiActivated"`
			Doc       map[string]any `json:"apidoc"`
		} `json:"value"`
	} `json:"apis"`
}

func getAPIs(t *testing.T, h *harness, query string) apiList {
	t.Helper()
	r := do(t, h, "GET", getAPI+query, guestAuth, "")
	mustStatus(t, r, 200)
	var l apiList
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("getApi body %s: %v", r.body, err)
	}
	return l
}

func TestAPIManagementLifecycle(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{throttles: unthrottled, run: apiRun, blockingWait: testBlockingWait})
	webAction(t, h, "hello", "")
	webAction(t, h, "bye", "")

	r := do(t, h, "POST", createAPI+"?accesstoken=DUMMY&responsetype=json&spaceguid="+guestUUID, guestAuth, cliAPIDoc("/hello", "/world", "get", "hello", ""))
	mustStatus(t, r, 200)
	var created struct {
		Namespace string         `json:"namespace"`
		URL       string         `json:"gwApiUrl"`
		Activated bool           `json:"gwApiActivated"`
		Doc       map[string]any `json:"apidoc"`
	}
	if err := json.Unmarshal(r.body, &created); err != nil {
		t.Fatal(err)
	}
	if want := h.url + "/api/" + guestUUID + "/hello"; created.URL != want || !created.Activated || created.Namespace != "guest" {
		t.Errorf("created = %+v, want gwApiUrl %s, activated, namespace guest", created, want)
	}
	if created.Doc["swagger"] != "2.0" || created.Doc["basePath"] != "/hello" {
		t.Errorf("apidoc = %v", created.Doc)
	}
	op := created.Doc["paths"].(map[string]any)["/world"].(map[string]any)["get"].(map[string]any)
	xow := op["x-openwhisk"].(map[string]any)
	if op["operationId"] != "getWorld" || xow["namespace"] != "guest" || xow["action"] != "hello" || xow["package"] != "" ||
		xow["url"] != "http://gw.example/api/v1/web/guest/default/hello.json" {
		t.Errorf("operation = %v", op)
	}

	// A second verb and a second path join the same API.
	mustStatus(t, do(t, h, "POST", createAPI+"?responsetype=json", guestAuth, cliAPIDoc("/hello", "/world", "post", "bye", "")), 200)
	mustStatus(t, do(t, h, "POST", createAPI+"?responsetype=text", guestAuth, cliAPIDoc("/hello", "/moon", "get", "bye", "")), 200)
	mustStatus(t, do(t, h, "POST", createAPI, guestAuth, cliAPIDoc("/other", "/x", "get", "hello", "")), 200)

	l := getAPIs(t, h, "")
	if len(l.APIs) != 2 {
		t.Fatalf("getApi lists %d APIs, want 2: %+v", len(l.APIs), l)
	}
	l = getAPIs(t, h, "?basepath=/hello")
	if len(l.APIs) != 1 || len(l.APIs[0].Value.Doc["paths"].(map[string]any)) != 2 {
		t.Fatalf("getApi /hello = %+v", l)
	}
	if l = getAPIs(t, h, "?basepath=/hello"); l.APIs[0].Value.Doc["info"].(map[string]any)["title"] != "/hello" {
		t.Errorf("title = %v", l.APIs[0].Value.Doc["info"])
	}
	if l = getAPIs(t, h, "?basepath=/hello"); len(getAPIs(t, h, "?basepath=/none").APIs) != 0 {
		t.Errorf("getApi /none lists APIs")
	}
	// By name (the title).
	if l = getAPIs(t, h, "?basepath="+url.QueryEscape("/other")); len(l.APIs) != 1 {
		t.Errorf("getApi /other = %+v", l)
	}

	// Delete one verb, then one path, then the API.
	mustStatus(t, do(t, h, "DELETE", deleteAPI+"?basepath=/hello&relpath=/world&operation=POST", guestAuth, ""), 200)
	paths := getAPIs(t, h, "?basepath=/hello").APIs[0].Value.Doc["paths"].(map[string]any)
	if w := paths["/world"].(map[string]any); w["post"] != nil || w["get"] == nil {
		t.Errorf("after deleting POST /world: %v", w)
	}
	mustStatus(t, do(t, h, "DELETE", deleteAPI+"?basepath=/hello&relpath=/moon", guestAuth, ""), 200)
	if paths = getAPIs(t, h, "?basepath=/hello").APIs[0].Value.Doc["paths"].(map[string]any); paths["/moon"] != nil {
		t.Errorf("after deleting /moon: %v", paths)
	}
	r = do(t, h, "DELETE", deleteAPI+"?basepath=/hello&relpath=/moon", guestAuth, "")
	wantMgmtError(t, r, "API deletion failure: path /moon does not exist in the API")
	mustStatus(t, do(t, h, "DELETE", deleteAPI+"?basepath=/hello&force=true", guestAuth, ""), 200)
	if l = getAPIs(t, h, "?basepath=/hello"); len(l.APIs) != 0 {
		t.Errorf("after delete: %+v", l)
	}
	wantMgmtError(t, do(t, h, "DELETE", deleteAPI+"?basepath=/hello", guestAuth, ""), "API deletion failure: API '/hello' does not exist.")
	// Removing the last operation removes the API.
	mustStatus(t, do(t, h, "DELETE", deleteAPI+"?basepath=/other&relpath=/x&operation=get", guestAuth, ""), 200)
	if l = getAPIs(t, h, ""); len(l.APIs) != 0 {
		t.Errorf("after deleting the last operation: %+v", l)
	}
}

func wantMgmtError(t *testing.T, r response, msg string) {
	t.Helper()
	if r.status != http.StatusBadGateway {
		t.Fatalf("status = %d, want 502; body %s", r.status, r.body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil || m["error"] != msg {
		t.Errorf("body %s, want error %q", r.body, msg)
	}
}

func TestAPIManagementErrors(t *testing.T) {
	h := newHarness(t)
	badKey := "Basic " + base64.StdEncoding.EncodeToString([]byte(guestUUID+":"+strings.Repeat("x", 64)))
	for _, tt := range []struct {
		name, method, path, authz, body, msg string
	}{
		{"create without auth", "POST", createAPI, "", cliAPIDoc("/a", "/b", "get", "x", ""), "A valid auth key is required."},
		{"create with a bad key", "POST", createAPI, badKey, cliAPIDoc("/a", "/b", "get", "x", ""), "A valid auth key is required."},
		{"get without auth", "GET", getAPI, "", "", "Invalid authentication."},
		{"delete without auth", "DELETE", deleteAPI + "?basepath=/a", "", "", "__ow_user is required."},
		{"no apidoc", "POST", createAPI, guestAuth, `{}`, "apidoc is required."},
		{"apidoc not JSON", "POST", createAPI, guestAuth, `{"apidoc":"{nope"}`, "apidoc field cannot be parsed. Ensure it is valid JSON."},
		{"no namespace", "POST", createAPI, guestAuth, `{"apidoc":{"gatewayBasePath":"/a"}}`, "apidoc is missing the namespace field"},
		{"no base path", "POST", createAPI, guestAuth, `{"apidoc":{"namespace":"_"}}`, "apidoc is missing the gatewayBasePath field"},
		{"no action", "POST", createAPI, guestAuth, `{"apidoc":{"namespace":"_","gatewayBasePath":"/a","gatewayPath":"/b","gatewayMethod":"get"}}`, "apidoc is missing the action field."},
		{"no authkey", "POST", createAPI, guestAuth, `{"apidoc":{"namespace":"_","gatewayBasePath":"/a","gatewayPath":"/b","gatewayMethod":"get","action":{"name":"x","namespace":"_","backendMethod":"GET","backendUrl":"http://h/x"}}}`, "action is missing the authkey field."},
		{"swagger and base path", "POST", createAPI, guestAuth, `{"apidoc":{"namespace":"_","gatewayBasePath":"/a","swagger":"{}"}}`, "swagger and gatewayBasePath are mutually exclusive and cannot be specified together."},
		{"swagger without paths", "POST", createAPI, guestAuth, `{"apidoc":{"namespace":"_","swagger":"{\"basePath\":\"/a\",\"info\":{}}"}}`, "API creation failure: swagger is missing the paths field."},
		{"bad verb", "POST", createAPI, guestAuth, cliAPIDoc("/a", "/b", "fetch", "x", ""), "API creation failure: 'fetch' is not a valid API verb. Valid values are: GET, PUT, POST, DELETE, PATCH, HEAD, OPTIONS"},
		{"bad response type", "POST", createAPI + "?responsetype=xml", guestAuth, cliAPIDoc("/a", "/b", "get", "x", ""), "API creation failure: 'xml' is not a valid response type. Valid values are: json, http, html, text, svg"},
		{"relative base path", "POST", createAPI, guestAuth, cliAPIDoc("a", "/b", "get", "x", ""), "API creation failure: 'a' must begin with '/'."},
		{"path parameters need http", "POST", createAPI + "?responsetype=json", guestAuth, cliAPIDoc("/a", "/items/{id}", "get", "x", ""), "API creation failure: The action must use a response type of '.http' in order to receive the path parameters."},
		{"base path parameters", "POST", createAPI + "?responsetype=http", guestAuth, cliAPIDoc("/a/{x}", "/b", "get", "x", ""), "API creation failure: The base path (/a/{x}) cannot have parameters. Only the relative path supports path parameters."},
		{"delete without base path", "DELETE", deleteAPI, guestAuth, "", "basepath is required."},
		{"operation without path", "DELETE", deleteAPI + "?basepath=/a&operation=get", guestAuth, "", "When specifying an operation, the path is required."},
		{"delete missing", "DELETE", deleteAPI + "?basepath=/nope", guestAuth, "", "API deletion failure: API '/nope' does not exist."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantMgmtError(t, do(t, h, tt.method, tt.path, tt.authz, tt.body), tt.msg)
		})
	}
	mustStatus(t, do(t, h, "POST", "/api/v1/web/whisk.system/apimgmt/nothing.http", guestAuth, "{}"), 404)
	mustStatus(t, do(t, h, "POST", createAPI, guestAuth, `[1]`), 400)
}

func TestAPIRoutes(t *testing.T) {
	h := newHarnessWith(t, harnessOptions{throttles: unthrottled, run: apiRun, blockingWait: testBlockingWait})
	webAction(t, h, "hello", "")
	webAction(t, h, "page", "")
	webAction(t, h, "secret", `,{"key":"require-whisk-auth","value":"s3cr3t"}`)
	webAction(t, h, "authed", `,{"key":"require-whisk-auth","value":true}`)
	mustStatus(t, do(t, h, "PUT", ns+"/actions/plain", guestAuth, `{"exec":{"kind":"nodejs:20","code":"x"}}`), 200)

	create := func(base, rel, verb, action, rt, extra string) {
		t.Helper()
		mustStatus(t, do(t, h, "POST", createAPI+"?responsetype="+rt, guestAuth, cliAPIDoc(base, rel, verb, action, extra)), 200)
	}
	create("/hello", "/world", "get", "hello", "json", "")
	create("/shop", "/items/{id}", "get", "page", "http", "")
	create("/shop", "/items/{id}/reviews/{rid}", "put", "page", "http", "")
	create("/shop", "/items/special", "get", "hello", "json", "")
	create("/sec", "/s", "get", "secret", "json", `,"secureKey":"s3cr3t"`)
	create("/sec", "/a", "get", "authed", "json", `,"secureKey":true`)
	create("/sec", "/plain", "get", "plain", "json", "")
	base := "/api/" + guestUUID

	// json: the action's result; query parameters reach it.
	r := do(t, h, "GET", base+"/hello/world?name=Ada", "", "")
	mustStatus(t, r, 200)
	if m := r.json(t); m["name"] != "Ada" || m["__ow_method"] != "get" || m["__ow_path"] != "" {
		t.Errorf("GET /hello/world = %v", m)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
	if r.header.Get("X-Openwhisk-Activation-Id") == "" {
		t.Errorf("no activation id header")
	}
	// A verb the path does not define is 404; a preflight is answered.
	mustStatus(t, do(t, h, "POST", base+"/hello/world", "", "{}"), 404)
	r = do(t, h, "OPTIONS", base+"/hello/world", "", "")
	mustStatus(t, r, 200)
	if r.header.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight without CORS headers: %v", r.header)
	}
	mustStatus(t, do(t, h, "GET", base+"/hello/moon", "", ""), 404)
	mustStatus(t, do(t, h, "GET", base+"/nothing/world", "", ""), 404)
	mustStatus(t, do(t, h, "GET", "/api/"+strings.Repeat("0", 32)+"/hello/world", "", ""), 404)

	// Path parameters reach an http action by name, with the relative path.
	r = do(t, h, "GET", base+"/shop/items/42?x=1", "", "")
	mustStatus(t, r, 200)
	if m := r.json(t); m["id"] != "42" || m["x"] != "1" || m["__ow_path"] != "/items/42" {
		t.Errorf("GET /shop/items/42 = %v", m)
	}
	r = do(t, h, "PUT", base+"/shop/items/7/reviews/abc", "", `{"stars":5}`)
	mustStatus(t, r, 200)
	if m := r.json(t); m["id"] != "7" || m["rid"] != "abc" || m["stars"] != float64(5) || m["__ow_method"] != "put" {
		t.Errorf("PUT /shop/items/7/reviews/abc = %v", m)
	}
	// A literal path wins over a parameter.
	if m := do(t, h, "GET", base+"/shop/items/special", "", "").json(t); m["id"] != nil {
		t.Errorf("GET /shop/items/special reached the parameter route: %v", m)
	}
	mustStatus(t, do(t, h, "GET", base+"/shop/items", "", ""), 404)

	// A secured web action gets its secret from the API; require-whisk-auth
	// true still needs credentials.
	mustStatus(t, do(t, h, "GET", base+"/sec/s", "", ""), 200)
	mustStatus(t, do(t, h, "GET", "/api/v1/web/guest/default/secret.json", "", ""), 401)
	mustStatus(t, do(t, h, "GET", base+"/sec/a", "", ""), 401)
	if m := do(t, h, "GET", base+"/sec/a", guestAuth, "").json(t); m["__ow_user"] != "guest" {
		t.Errorf("GET /sec/a with credentials = %v", m)
	}
	// A route to an action that is not a web action is refused as its web
	// URL is.
	r = do(t, h, "GET", base+"/sec/plain", "", "")
	mustStatus(t, r, 404)
	if m := r.json(t); m["error"] != whisk.MsgNotFound {
		t.Errorf("non-web action route: %v", m)
	}
	// The root base path (the npm client's default) takes what no longer
	// base path does.
	create("/", "/top", "get", "hello", "json", "")
	if m := do(t, h, "GET", base+"/top?v=1", "", "").json(t); m["v"] != "1" {
		t.Errorf("GET /top = %v", m)
	}
	mustStatus(t, do(t, h, "GET", base+"/hello/top", "", ""), 404)
	mustStatus(t, do(t, h, "GET", base+"/hello/world", "", ""), 200)

	// The OpenWhisk API is routed as before.
	mustStatus(t, do(t, h, "GET", "/api/v1/nothing", guestAuth, ""), 404)
	mustStatus(t, do(t, h, "GET", ns+"/actions/hello", guestAuth, ""), 200)
}

// A Swagger file (wsk api create --config-file) replaces the API whole.
func TestAPIFromSwagger(t *testing.T) {
	h := newHarness(t)
	webAction(t, h, "hello", "")
	swagger := map[string]any{
		"swagger": "2.0", "basePath": "/book", "info": map[string]any{"title": "Books", "version": "1.0"},
		"paths": map[string]any{"/list": map[string]any{"get": map[string]any{
			"operationId": "getList", "responses": map[string]any{"default": map[string]any{"description": "ok"}},
			"x-openwhisk": map[string]any{"namespace": "guest", "package": "", "action": "hello", "url": "http://gw/api/v1/web/guest/default/hello.json"},
		}}},
	}
	sw, _ := json.Marshal(swagger)
	body, _ := json.Marshal(map[string]any{"apidoc": map[string]any{"namespace": "_", "swagger": string(sw)}})
	r := do(t, h, "POST", createAPI, guestAuth, string(body))
	mustStatus(t, r, 200)
	if l := getAPIs(t, h, "?basepath=Books"); len(l.APIs) != 1 || l.APIs[0].Value.Doc["basePath"] != "/book" {
		t.Fatalf("getApi by name = %+v", l)
	}
	r = do(t, h, "GET", "/api/"+guestUUID+"/book/list?q=1", "", "")
	mustStatus(t, r, 200)
	if m := r.json(t); m["q"] != "1" {
		t.Errorf("GET /book/list = %v", m)
	}
	// An operation that names no web action is refused.
	swagger["paths"] = map[string]any{"/x": map[string]any{"get": map[string]any{"operationId": "getX"}}}
	body, _ = json.Marshal(map[string]any{"apidoc": map[string]any{"namespace": "_", "swagger": swagger}})
	wantMgmtError(t, do(t, h, "POST", createAPI, guestAuth, string(body)),
		"API creation failure: The operation 'get' of path '/x' does not name an OpenWhisk web action (x-openwhisk).")
}
