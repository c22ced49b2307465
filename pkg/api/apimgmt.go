package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/apigw"
	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// APIStore keeps `wsk api` definitions, one per namespace and base path.
type APIStore interface {
	GetAPI(ctx context.Context, namespace, basePath string) (*store.API, error)
	PutAPI(ctx context.Context, api *store.API) error
	DeleteAPI(ctx context.Context, namespace, basePath string, rev int64) error
	ListAPIs(ctx context.Context, namespace string) ([]*store.API, error)
}

// apiPutRetries bounds the read-modify-write of an API that concurrent
// writers keep changing.
const apiPutRetries = 5

// mgmtResult is what createApi answers and getApi lists: the shape the
// API management actions give the clients (RetApi in the Go client).
type mgmtResult struct {
	Namespace string    `json:"namespace"`
	URL       string    `json:"gwApiUrl"`
	Activated bool      `json:"gwApiActivated"`
	TenantID  string    `json:"tenantId"`
	Doc       apigw.Doc `json:"apidoc"`
}

type mgmtItem struct {
	ID    string     `json:"id"`
	Key   string     `json:"key"`
	Value mgmtResult `json:"value"`
}

// apiManagement serves the API management web actions
// /whisk.system/apimgmt/{createApi,getApi,deleteApi}[.ext] that the wsk
// CLI, the openwhisk npm client and wskdeploy call: the gateway keeps the
// definitions itself instead of running actions against an external API
// gateway. As OpenWhisk's actions, they act for the caller their
// credentials name, take their arguments from the query and a JSON body,
// and answer a failure 502 {"error": ...}.
func (s *Server) apiManagement(c echo.Context) error {
	if s.APIs == nil || s.Namespaces == nil {
		return whisk.NotFound()
	}
	name := c.Param("*")
	if i := strings.LastIndexByte(name, '.'); i > 0 && webExtensions[name[i+1:]] {
		name = name[:i]
	}
	var op func(echo.Context, *auth.Identity, mgmtArgs) error
	switch name {
	case "createApi":
		op = s.createAPI
	case "getApi":
		op = s.getAPI
	case "deleteApi":
		op = s.deleteAPI
	default:
		return whisk.NotFound()
	}
	setWebCORS(c)
	if c.Request().Method == http.MethodOptions {
		return c.NoContent(http.StatusOK)
	}
	args, err := readMgmtArgs(c)
	if err != nil {
		return err
	}
	return op(c, s.webIdentity(c.Request()), args)
}

// mgmtArgs are a management call's arguments: query, then body fields.
type mgmtArgs map[string]json.RawMessage

func readMgmtArgs(c echo.Context) (mgmtArgs, error) {
	args := mgmtArgs{}
	for k, v := range c.Request().URL.Query() {
		if len(v) > 0 {
			args[k] = whisk.JSONString(v[0])
		}
	}
	body, err := readBody(c, whisk.MaxPayloadSize)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return nil, whisk.Malformed(err.Error())
		}
		for k, v := range obj {
			args[k] = v
		}
	}
	return args, nil
}

// str is a string argument; "" when absent or not a string.
func (a mgmtArgs) str(key string) string {
	var s string
	_ = json.Unmarshal(a[key], &s) // not a string reads as absent
	return s
}

// mgmtFailure is a management action's failure.
func mgmtFailure(c echo.Context, msg string) error {
	return c.JSON(http.StatusBadGateway, map[string]string{"error": msg})
}

// apiDoc is the apidoc argument of createApi.
type apiDoc struct {
	Namespace       string          `json:"namespace"`
	APIName         string          `json:"apiName"`
	GatewayBasePath string          `json:"gatewayBasePath"`
	GatewayPath     string          `json:"gatewayPath"`
	GatewayMethod   string          `json:"gatewayMethod"`
	PathParameters  []any           `json:"pathParameters"`
	Swagger         json.RawMessage `json:"swagger"`
	Action          *struct {
		Name          string `json:"name"`
		Namespace     string `json:"namespace"`
		BackendMethod string `json:"backendMethod"`
		BackendURL    string `json:"backendUrl"`
		AuthKey       string `json:"authkey"`
		SecureKey     any    `json:"secureKey"`
	} `json:"action"`
}

// parseAPIDoc reads apidoc (an object or a JSON string) and checks it
// with the messages of OpenWhisk's createApi.
func parseAPIDoc(raw json.RawMessage) (*apiDoc, apigw.Doc, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, errors.New("apidoc is required.")
	}
	if raw, ok := unquote(raw); ok {
		return parseAPIDoc(raw)
	}
	var d apiDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, nil, errors.New("apidoc field cannot be parsed. Ensure it is valid JSON.")
	}
	if d.Namespace == "" {
		return nil, nil, errors.New("apidoc is missing the namespace field")
	}
	if len(d.Swagger) > 0 && string(d.Swagger) != "null" {
		if d.GatewayBasePath != "" {
			return nil, nil, errors.New("swagger and gatewayBasePath are mutually exclusive and cannot be specified together.")
		}
		sw := d.Swagger
		if s, ok := unquote(sw); ok {
			sw = s
		}
		var doc apigw.Doc
		if err := json.Unmarshal(sw, &doc); err != nil || doc == nil {
			return nil, nil, errors.New("swagger field cannot be parsed. Ensure it is valid JSON.")
		}
		return &d, doc, nil
	}
	for _, f := range []struct {
		missing bool
		msg     string
	}{
		{d.GatewayBasePath == "", "apidoc is missing the gatewayBasePath field"},
		{d.GatewayPath == "", "apidoc is missing the gatewayPath field"},
		{d.GatewayMethod == "", "apidoc is missing the gatewayMethod field"},
		{d.Action == nil, "apidoc is missing the action field."},
	} {
		if f.missing {
			return nil, nil, errors.New(f.msg)
		}
	}
	for _, f := range []struct {
		missing bool
		msg     string
	}{
		{d.Action.BackendMethod == "", "action is missing the backendMethod field."},
		{d.Action.BackendURL == "", "action is missing the backendUrl field."},
		{d.Action.Namespace == "", "action is missing the namespace field."},
		{d.Action.Name == "", "action is missing the name field."},
		{d.Action.AuthKey == "", "action is missing the authkey field."},
	} {
		if f.missing {
			return nil, nil, errors.New(f.msg)
		}
	}
	return &d, nil, nil
}

// unquote reads a JSON string holding JSON.
func unquote(raw json.RawMessage) (json.RawMessage, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	return json.RawMessage(s), true
}

var hostRE = regexp.MustCompile(`^(\w+://[^/]+)`)

// createAPI adds an operation to the caller's API under the base path
// (creating the API), or replaces the API with a Swagger document.
func (s *Server) createAPI(c echo.Context, id *auth.Identity, args mgmtArgs) error {
	if id == nil {
		return mgmtFailure(c, "A valid auth key is required.")
	}
	d, swagger, err := parseAPIDoc(args["apidoc"])
	if err != nil {
		return mgmtFailure(c, err.Error())
	}
	fail := func(err error) error { return mgmtFailure(c, "API creation failure: "+err.Error()) }
	var basePath string
	var ep apigw.Endpoint
	if swagger != nil {
		if err := apigw.Validate(swagger); err != nil {
			return fail(err)
		}
		basePath = apigw.BasePath(swagger)
	} else {
		if ep, err = s.endpoint(c, id, d, args.str("responsetype")); err != nil {
			return fail(err)
		}
		basePath = d.GatewayBasePath
	}
	ctx := c.Request().Context()
	for try := 0; ; try++ {
		stored, err := s.APIs.GetAPI(ctx, id.Namespace, basePath)
		if err != nil && !store.IsNotFound(err) {
			return err
		}
		doc := swagger
		if doc == nil {
			doc = apigw.New(basePath, d.APIName)
			if stored != nil {
				if err := json.Unmarshal(stored.Body, &doc); err != nil {
					return fmt.Errorf("stored API %s%s: %w", id.Namespace, basePath, err)
				}
			}
			apigw.AddEndpoint(doc, ep)
			if err := apigw.Validate(doc); err != nil {
				return fail(err)
			}
		}
		body, err := json.Marshal(doc)
		if err != nil {
			return fail(err)
		}
		a := &store.API{Namespace: id.Namespace, BasePath: basePath, Updated: time.Now().UnixMilli(), Body: body}
		if stored != nil {
			a.Rev = stored.Rev
		}
		err = s.APIs.PutAPI(ctx, a)
		if err == nil {
			return c.JSON(http.StatusOK, s.describeAPI(c, id, doc))
		}
		if !whisk.IsKind(err, whisk.KindConflict) && !store.IsNotFound(err) || try == apiPutRetries {
			return err
		}
	}
}

// endpoint checks a createApi operation and completes it as OpenWhisk's
// createApi does: the caller's namespace replaces the client's ("_").
func (s *Server) endpoint(c echo.Context, id *auth.Identity, d *apiDoc, responseType string) (apigw.Endpoint, error) {
	if responseType == "" {
		responseType = "json"
	}
	verb := strings.ToLower(d.GatewayMethod)
	ns := d.Action.Namespace
	if ns == d.Namespace || ns == whisk.DefaultNamespace {
		ns = id.Namespace
	}
	pkg, name := "", strings.TrimPrefix(d.Action.Name, "/")
	if parts := strings.Split(name, "/"); len(parts) == 3 { // "ns/pkg/action"
		ns, pkg, name = parts[0], parts[1], parts[2]
	} else if len(parts) == 2 {
		pkg, name = parts[0], parts[1]
	}
	host := c.Scheme() + "://" + c.Request().Host
	if m := hostRE.FindString(d.Action.BackendURL); m != "" {
		host = m
	}
	switch {
	case !slices.Contains(apigw.ResponseTypes, responseType):
		return apigw.Endpoint{}, fmt.Errorf("'%s' is not a valid response type. Valid values are: %s", responseType, strings.Join(apigw.ResponseTypes, ", "))
	case !slices.Contains(apigw.Verbs, verb):
		return apigw.Endpoint{}, fmt.Errorf("'%s' is not a valid API verb. Valid values are: %s", d.GatewayMethod, strings.ToUpper(strings.Join(apigw.Verbs, ", ")))
	case !strings.HasPrefix(d.GatewayBasePath, "/"):
		return apigw.Endpoint{}, fmt.Errorf("'%s' must begin with '/'.", d.GatewayBasePath)
	case !strings.HasPrefix(d.GatewayPath, "/"):
		return apigw.Endpoint{}, fmt.Errorf("'%s' must begin with '/'.", d.GatewayPath)
	}
	for _, seg := range []string{ns, pkg, name} {
		if seg != "" && !whisk.ValidName(seg) {
			return apigw.Endpoint{}, fmt.Errorf("The action name '%s' is not valid.", d.Action.Name)
		}
	}
	params := d.PathParameters
	if len(params) == 0 {
		// The CLI sends no parameter objects; declare the path's own.
		for _, p := range apigw.PathParams(d.GatewayPath) {
			params = append(params, map[string]any{"name": p, "in": "path", "description": "Default description for '" + p + "'", "required": true, "type": "string"})
		}
	}
	return apigw.Endpoint{
		RelPath: d.GatewayPath, Verb: verb, Namespace: ns, Package: pkg, Action: name, Host: host,
		ResponseType: responseType, PathParams: params, SecureKey: d.Action.SecureKey,
	}, nil
}

// describeAPI describes a stored API to the clients; gwApiUrl is where the
// gateway serves it, as seen by the caller.
func (s *Server) describeAPI(c echo.Context, id *auth.Identity, doc apigw.Doc) mgmtResult {
	return mgmtResult{
		Namespace: id.Namespace, Activated: true, TenantID: id.UUID, Doc: doc,
		URL: c.Scheme() + "://" + c.Request().Host + "/api/" + id.UUID + strings.TrimSuffix(apigw.BasePath(doc), "/"),
	}
}

// findAPIs returns the caller's APIs a basepath argument selects: the API
// under a base path ("/..."), those named so (otherwise), or all ("").
func (s *Server) findAPIs(c echo.Context, ns, basePath string) ([]*store.API, error) {
	ctx := c.Request().Context()
	if strings.HasPrefix(basePath, "/") {
		a, err := s.APIs.GetAPI(ctx, ns, basePath)
		if store.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []*store.API{a}, nil
	}
	all, err := s.APIs.ListAPIs(ctx, ns)
	if err != nil || basePath == "" {
		return all, err
	}
	var named []*store.API
	for _, a := range all {
		var doc apigw.Doc
		if json.Unmarshal(a.Body, &doc) == nil && apigw.Title(doc) == basePath {
			named = append(named, a)
		}
	}
	return named, nil
}

// getAPI lists the caller's APIs, or the one a basepath (or name) selects.
func (s *Server) getAPI(c echo.Context, id *auth.Identity, args mgmtArgs) error {
	if id == nil {
		return mgmtFailure(c, "Invalid authentication.")
	}
	apis, err := s.findAPIs(c, id.Namespace, args.str("basepath"))
	if err != nil {
		return err
	}
	items := []mgmtItem{}
	for _, a := range apis {
		var doc apigw.Doc
		if err := json.Unmarshal(a.Body, &doc); err != nil {
			return fmt.Errorf("stored API %s%s: %w", a.Namespace, a.BasePath, err)
		}
		key := "API:" + a.Namespace + ":" + a.BasePath
		items = append(items, mgmtItem{ID: key, Key: key, Value: s.describeAPI(c, id, doc)})
	}
	return c.JSON(http.StatusOK, map[string]any{"apis": items})
}

// deleteAPI removes an API, one of its paths or one operation of a path;
// an API left without operations is removed.
func (s *Server) deleteAPI(c echo.Context, id *auth.Identity, args mgmtArgs) error {
	basePath, relPath, verb := args.str("basepath"), args.str("relpath"), args.str("operation")
	switch {
	case id == nil:
		return mgmtFailure(c, "__ow_user is required.")
	case basePath == "":
		return mgmtFailure(c, "basepath is required.")
	case relPath == "" && verb != "":
		return mgmtFailure(c, "When specifying an operation, the path is required.")
	}
	fail := func(msg string) error { return mgmtFailure(c, "API deletion failure: "+msg) }
	ctx := c.Request().Context()
	for try := 0; ; try++ {
		apis, err := s.findAPIs(c, id.Namespace, basePath)
		if err != nil {
			return err
		}
		if len(apis) == 0 {
			return fail("API '" + basePath + "' does not exist.")
		}
		a := apis[0]
		if relPath == "" {
			err = s.APIs.DeleteAPI(ctx, a.Namespace, a.BasePath, a.Rev)
		} else {
			var doc apigw.Doc
			if err := json.Unmarshal(a.Body, &doc); err != nil {
				return fmt.Errorf("stored API %s%s: %w", a.Namespace, a.BasePath, err)
			}
			if err := apigw.RemoveEndpoint(doc, relPath, verb); err != nil {
				return fail(err.Error())
			}
			if apigw.Empty(doc) {
				err = s.APIs.DeleteAPI(ctx, a.Namespace, a.BasePath, a.Rev)
			} else if a.Body, err = json.Marshal(doc); err == nil {
				a.Updated = time.Now().UnixMilli()
				err = s.APIs.PutAPI(ctx, a)
			}
		}
		if err == nil {
			return c.JSON(http.StatusOK, map[string]any{})
		}
		if !whisk.IsKind(err, whisk.KindConflict) && !store.IsNotFound(err) || try == apiPutRetries {
			return err
		}
	}
}
