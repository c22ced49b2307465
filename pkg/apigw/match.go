package apigw

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Target is the web action an operation runs.
type Target struct {
	Namespace, Package, Action string
	ResponseType               string
	// Params are the path parameters' values ("/items/{id}" matched by
	// "/items/42": id=42).
	Params map[string]string
	// Secret is the value the gateway sends as X-Require-Whisk-Auth for a
	// secured web action; "" when none.
	Secret string
}

// Match finds the operation of the API that serves verb on relPath (the
// request path after the base path). A path matches a template segment
// by segment, "{name}" matching any one segment; of several matching
// templates the one with the most literal segments wins. ok is false when
// no path matches or the path does not define the verb.
func Match(d Doc, relPath, verb string) (t Target, pathFound, ok bool) {
	verb = strings.ToLower(verb)
	if relPath == "" {
		relPath = "/"
	}
	if len(relPath) > 1 {
		relPath = strings.TrimSuffix(relPath, "/")
	}
	reqSegs := strings.Split(relPath, "/")
	paths, _ := d["paths"].(map[string]any)
	best, bestLiterals := "", -1
	var bestParams map[string]string
	for _, tmpl := range sortedPaths(d) {
		params, literals, ok := matchTemplate(tmpl, reqSegs)
		if ok && literals > bestLiterals {
			best, bestLiterals, bestParams = tmpl, literals, params
		}
	}
	if bestLiterals < 0 {
		return Target{}, false, false
	}
	path, _ := paths[best].(map[string]any)
	if _, defined := path[verb].(map[string]any); !defined {
		return Target{}, true, false
	}
	t, err := target(d, best, verb)
	if err != nil {
		return Target{}, true, false
	}
	t.Params = bestParams
	return t, true, true
}

// matchTemplate matches request segments against a path template.
func matchTemplate(tmpl string, reqSegs []string) (map[string]string, int, bool) {
	if len(tmpl) > 1 {
		tmpl = strings.TrimSuffix(tmpl, "/")
	}
	segs := strings.Split(tmpl, "/")
	if len(segs) != len(reqSegs) {
		return nil, 0, false
	}
	params, literals := map[string]string{}, 0
	for i, s := range segs {
		if m := pathParamRE.FindStringSubmatch(s); m != nil && m[0] == s {
			if reqSegs[i] == "" {
				return nil, 0, false
			}
			params[m[1]] = reqSegs[i]
			continue
		}
		if s != reqSegs[i] {
			return nil, 0, false
		}
		literals++
	}
	return params, literals, true
}

var webURLRE = regexp.MustCompile(`/api/v1/web/([^/]+)/([^/]+)/([^/]+?)\.(\w+)(?:\$\(request\.path\))?$`)

// target reads the web action an operation names: its x-openwhisk
// extension, else the target URL of its case in x-ibm-configuration.
func target(d Doc, relPath, verb string) (Target, error) {
	paths, _ := d["paths"].(map[string]any)
	path, _ := paths[relPath].(map[string]any)
	op, _ := path[verb].(map[string]any)
	id, _ := op["operationId"].(string)
	if id == "" {
		id = OperationID(verb, relPath)
	}
	c := caseOf(d, id)
	var t Target
	if xow, ok := op["x-openwhisk"].(map[string]any); ok {
		t.Namespace, _ = xow["namespace"].(string)
		t.Package, _ = xow["package"].(string)
		t.Action, _ = xow["action"].(string)
		url, _ := xow["url"].(string)
		url = strings.TrimSuffix(url, requestPath)
		if i := strings.LastIndexByte(url, '.'); i >= 0 {
			t.ResponseType = url[i+1:]
		}
	} else if url := targetURL(c); url != "" {
		if m := webURLRE.FindStringSubmatch(url); m != nil {
			t.Namespace, t.Package, t.Action, t.ResponseType = m[1], m[2], m[3], m[4]
			if t.Package == "default" {
				t.Package = ""
			}
		}
	}
	if t.Namespace == "" || t.Action == "" {
		return Target{}, fmt.Errorf("The operation '%s' of path '%s' does not name an OpenWhisk web action (x-openwhisk).", verb, relPath)
	}
	if !slices.Contains(ResponseTypes, t.ResponseType) {
		return Target{}, fmt.Errorf("The operation '%s' of path '%s' has the response type '%s'; valid types are %s.",
			verb, relPath, t.ResponseType, strings.Join(ResponseTypes, ", "))
	}
	t.Secret = secret(c)
	return t, nil
}

// targetURL is a case's invoke target-url.
func targetURL(c map[string]any) string {
	exec, _ := c["execute"].([]any)
	for _, e := range exec {
		e, _ := e.(map[string]any)
		if inv, ok := e["invoke"].(map[string]any); ok {
			s, _ := inv["target-url"].(string)
			return s
		}
	}
	return ""
}

// secret is the X-Require-Whisk-Auth value a case sets, as a header value.
func secret(c map[string]any) string {
	exec, _ := c["execute"].([]any)
	for _, e := range exec {
		e, _ := e.(map[string]any)
		sv, _ := e["set-variable"].(map[string]any)
		actions, _ := sv["actions"].([]any)
		for _, a := range actions {
			a, _ := a.(map[string]any)
			if a["set"] != secretHeader {
				continue
			}
			switch v := a["value"].(type) {
			case string:
				return v
			case float64:
				return strconv.FormatFloat(v, 'f', -1, 64)
			case bool:
				return strconv.FormatBool(v)
			}
		}
	}
	return ""
}

var validParamPathRE = regexp.MustCompile(`/\{([^/]+)\}/|/\{([^/]+)\}$`)

// Validate checks a complete API before it is stored: the fields
// OpenWhisk requires of a Swagger file, path parameters only in relative
// paths and only for http routes, each declared, and every operation
// naming a web action with a known response type. Messages are
// OpenWhisk's where it has one.
func Validate(d Doc) error {
	bp, _ := d["basePath"].(string)
	switch {
	case bp == "":
		return errors.New("swagger is missing the basePath field.")
	case d["paths"] == nil:
		return errors.New("swagger is missing the paths field.")
	case d["info"] == nil:
		return errors.New("swagger is missing the info field.")
	case !strings.HasPrefix(bp, "/"):
		return fmt.Errorf("The base path '%s' must begin with '/'.", bp)
	case validParamPathRE.MatchString(bp):
		return fmt.Errorf("The base path (%s) cannot have parameters. Only the relative path supports path parameters.", bp)
	}
	if _, ok := d["paths"].(map[string]any); !ok {
		return errors.New("swagger paths must be an object.")
	}
	paths := d["paths"].(map[string]any)
	for _, rel := range sortedPaths(d) {
		if !strings.HasPrefix(rel, "/") {
			return fmt.Errorf("The path '%s' must begin with '/'.", rel)
		}
		path, ok := paths[rel].(map[string]any)
		if !ok {
			return fmt.Errorf("The path '%s' must be an object.", rel)
		}
		for _, verb := range operations(path) {
			t, err := target(d, rel, verb)
			if err != nil {
				return err
			}
			if !validParamPathRE.MatchString(rel) {
				continue
			}
			if t.ResponseType != "http" {
				return errors.New("The action must use a response type of '.http' in order to receive the path parameters.")
			}
			op := path[verb].(map[string]any)
			id, _ := op["operationId"].(string)
			if u := targetURL(caseOf(d, id)); u != "" && !strings.HasSuffix(u, ".http"+requestPath) {
				return fmt.Errorf("The target-url for operationId '%s' must end in '%s' in order for actions to receive the path parameters.", id, requestPath)
			}
			declared := paramNames(path["parameters"], op["parameters"])
			for _, name := range PathParams(rel) {
				if !declared[name] {
					return fmt.Errorf("The parameter '%s' defined in path '%s' does not match any of the parameters defined for the path in the swagger file.", name, rel)
				}
			}
		}
	}
	return nil
}

// paramNames collects the names of Swagger parameter lists.
func paramNames(lists ...any) map[string]bool {
	names := map[string]bool{}
	for _, l := range lists {
		ps, _ := l.([]any)
		for _, p := range ps {
			p, _ := p.(map[string]any)
			if n, ok := p["name"].(string); ok {
				names[n] = true
			}
		}
	}
	return names
}
