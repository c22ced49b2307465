package apigw

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Doc is a Swagger 2.0 document as decoded JSON.
type Doc = map[string]any

// ResponseTypes are the web action extensions a route may use.
var ResponseTypes = []string{"json", "http", "html", "text", "svg"}

// Verbs are the operations an API path may define, lower case as Swagger
// keys them.
var Verbs = []string{"get", "put", "post", "delete", "patch", "head", "options"}

// secretHeader carries a secured web action's secret from the gateway to
// the action (require-whisk-auth).
const secretHeader = "message.headers.X-Require-Whisk-Auth"

// requestPath ends the target URL of an http route: the action receives
// the request's path.
const requestPath = "$(request.path)"

// Endpoint is one operation of an API: a verb on a path relative to the
// base path, served by a web action.
type Endpoint struct {
	RelPath string // "/items/{id}"
	Verb    string // any case
	// The action: its namespace, package ("" for none) and name.
	Namespace, Package, Action string
	// Host is the scheme and host of the web action URL ("https://h").
	Host         string
	ResponseType string // one of ResponseTypes
	// PathParams are the Swagger parameter objects of the path's
	// parameters, as the client sent them (nil: none).
	PathParams []any
	// SecureKey is the action's require-whisk-auth value, nil when the
	// action is not secured.
	SecureKey any
}

// New returns an API with no paths, named title (the base path when "").
func New(basePath, title string) Doc {
	if title == "" {
		title = basePath
	}
	return Doc{
		"swagger":  "2.0",
		"info":     map[string]any{"title": title, "version": "1.0.0"},
		"basePath": basePath,
		"paths":    map[string]any{},
		"x-ibm-configuration": map[string]any{
			"assembly": map[string]any{},
			"cors":     map[string]any{"enabled": true},
		},
	}
}

// WebActionURL is the URL of a web action with a response type.
func WebActionURL(host, ns, pkg, action, ext string) string {
	if pkg == "" {
		pkg = "default"
	}
	return host + "/api/v1/web/" + ns + "/" + pkg + "/" + action + "." + ext
}

// AddEndpoint adds (or replaces) the endpoint's operation.
func AddEndpoint(d Doc, e Endpoint) {
	verb := strings.ToLower(e.Verb)
	id := OperationID(verb, e.RelPath)
	url := WebActionURL(e.Host, e.Namespace, e.Package, e.Action, e.ResponseType)
	paths := object(d, "paths")
	path := object(paths, e.RelPath)
	op := map[string]any{
		"operationId": id,
		"x-openwhisk": map[string]any{"url": url, "namespace": e.Namespace, "package": e.Package, "action": e.Action},
		"responses":   map[string]any{"default": map[string]any{"description": "Default response"}},
	}
	if len(e.PathParams) > 0 {
		op["parameters"] = e.PathParams
	}
	path[verb] = op

	target := url
	if e.ResponseType == "http" {
		target += requestPath
	}
	execute := []any{map[string]any{"invoke": map[string]any{"target-url": target, "verb": "keep"}}}
	if e.SecureKey != nil {
		execute = append(execute, map[string]any{"set-variable": map[string]any{
			"actions": []any{map[string]any{"set": secretHeader, "value": e.SecureKey}},
		}})
	}
	c := map[string]any{"operations": []any{id}, "execute": execute}
	cases := switchCases(d)
	if i := caseIndex(cases, id); i >= 0 {
		cases[i] = c
	} else {
		cases = append(cases, c)
	}
	setSwitchCases(d, cases)
}

// RemoveEndpoint removes the verb of relPath, or the whole path when verb
// is "". Its errors are OpenWhisk's messages.
func RemoveEndpoint(d Doc, relPath, verb string) error {
	verb = strings.ToLower(verb)
	paths := object(d, "paths")
	path, ok := paths[relPath].(map[string]any)
	switch {
	case !ok && verb == "":
		return fmt.Errorf("path %s does not exist in the API", relPath)
	case verb == "":
		for v := range path {
			removeCase(d, OperationID(v, relPath))
		}
		delete(paths, relPath)
		return nil
	case !ok || path[verb] == nil:
		return fmt.Errorf("path %s with operation %s does not exist in the API", relPath, verb)
	}
	delete(path, verb)
	removeCase(d, OperationID(verb, relPath))
	if len(operations(path)) == 0 {
		delete(paths, relPath)
	}
	return nil
}

// Empty reports whether the API has no operation left.
func Empty(d Doc) bool {
	paths, _ := d["paths"].(map[string]any)
	for _, p := range paths {
		if p, ok := p.(map[string]any); ok && len(operations(p)) > 0 {
			return false
		}
	}
	return true
}

// BasePath and Title read the document's base path and name.
func BasePath(d Doc) string { s, _ := d["basePath"].(string); return s }

func Title(d Doc) string {
	info, _ := d["info"].(map[string]any)
	s, _ := info["title"].(string)
	return s
}

var wordRE = regexp.MustCompile(`\w\S*`)
var nonIDRE = regexp.MustCompile(`[^0-9a-zA-Z_-]`)

// OperationID names an operation as OpenWhisk does: the verb, then each
// word of the path capitalised ("get" "/items/{id}" → "getItemsId").
func OperationID(verb, relPath string) string {
	words := wordRE.ReplaceAllStringFunc(nonIDRE.ReplaceAllString(relPath, " "), func(w string) string {
		return strings.ToUpper(w[:1]) + strings.ToLower(w[1:])
	})
	return strings.ToLower(verb) + strings.ReplaceAll(words, " ", "")
}

var pathParamRE = regexp.MustCompile(`\{([^/]+)\}`)

// PathParams lists the names of a path's parameters ("/a/{x}/{y}" → x, y).
func PathParams(relPath string) []string {
	var names []string
	for _, m := range pathParamRE.FindAllStringSubmatch(relPath, -1) {
		names = append(names, m[1])
	}
	return names
}

// operations returns the verbs a path object defines.
func operations(path map[string]any) []string {
	var out []string
	for _, v := range Verbs {
		if _, ok := path[v].(map[string]any); ok {
			out = append(out, v)
		}
	}
	return out
}

// sortedPaths returns the document's relative paths in order.
func sortedPaths(d Doc) []string {
	paths, _ := d["paths"].(map[string]any)
	out := make([]string, 0, len(paths))
	for p := range paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// object returns m[key] as an object, creating it when absent.
func object(m map[string]any, key string) map[string]any {
	if o, ok := m[key].(map[string]any); ok {
		return o
	}
	o := map[string]any{}
	m[key] = o
	return o
}

// switchCases returns x-ibm-configuration.assembly.execute[0]
// .operation-switch.case, where the gateway keeps each operation's target.
func switchCases(d Doc) []any {
	cfg, _ := d["x-ibm-configuration"].(map[string]any)
	asm, _ := cfg["assembly"].(map[string]any)
	exec, _ := asm["execute"].([]any)
	for _, e := range exec {
		e, _ := e.(map[string]any)
		if sw, ok := e["operation-switch"].(map[string]any); ok {
			cases, _ := sw["case"].([]any)
			return cases
		}
	}
	return nil
}

func setSwitchCases(d Doc, cases []any) {
	asm := object(object(d, "x-ibm-configuration"), "assembly")
	exec, _ := asm["execute"].([]any)
	for _, e := range exec {
		if e, ok := e.(map[string]any); ok {
			if sw, ok := e["operation-switch"].(map[string]any); ok {
				sw["case"] = cases
				return
			}
		}
	}
	asm["execute"] = append([]any{map[string]any{"operation-switch": map[string]any{"case": cases}}}, exec...)
}

// caseIndex finds the case of an operation id; -1 when there is none.
func caseIndex(cases []any, id string) int {
	for i, c := range cases {
		c, _ := c.(map[string]any)
		if ops, _ := c["operations"].([]any); len(ops) > 0 && ops[0] == id {
			return i
		}
	}
	return -1
}

func removeCase(d Doc, id string) {
	cases := switchCases(d)
	if i := caseIndex(cases, id); i >= 0 {
		setSwitchCases(d, append(cases[:i:i], cases[i+1:]...))
	}
}

// caseOf returns the case of an operation id, nil when there is none.
func caseOf(d Doc, id string) map[string]any {
	cases := switchCases(d)
	if i := caseIndex(cases, id); i >= 0 {
		c, _ := cases[i].(map[string]any)
		return c
	}
	return nil
}
