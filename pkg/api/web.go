package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/tracing"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Web action messages.
const (
	msgNotReady          = "Response not yet ready."
	msgWebProcessing     = "There was an error processing your request."
	msgWebMissingProp    = "Response does not include requested property."
	msgWebNotHTTP        = "Response is not valid 'message/http'."
	msgWebTypeMismatch   = "Response type in header did not match generated content type."
	msgWebUnknownType    = "Response did not specify a known content-type."
	webDefaultAllowHdrs  = "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent"
	webDefaultAllowMeths = "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH"
)

var webExtensions = map[string]bool{"http": true, "json": true, "html": true, "svg": true, "text": true}

// webTarget is what a web URL addresses.
type webTarget struct {
	path whisk.EntityPath
	ext  string // http, json, html, svg or text
	rest string // __ow_path
}

// parseWebPath reads /api/v1/web/{ns}/{pkg}/{action}[.ext][/rest].
func parseWebPath(c echo.Context) (webTarget, bool) {
	ns, pkg, tail := param(c, "namespace"), param(c, "package"), c.Param("*")
	if u, err := url.PathUnescape(tail); err == nil {
		tail = u
	}
	name, rest, found := strings.Cut(tail, "/")
	if found {
		rest = "/" + rest
	}
	t := webTarget{ext: "http", rest: rest}
	if i := strings.LastIndexByte(name, '.'); i > 0 && webExtensions[name[i+1:]] {
		t.ext, name = name[i+1:], name[:i]
	}
	if pkg == whisk.DefaultPackage {
		pkg = ""
	}
	t.path = whisk.EntityPath{Namespace: ns, Package: pkg, Name: name}
	for _, seg := range []string{ns, pkg, name} {
		if seg != "" && !whisk.ValidName(seg) {
			return t, false
		}
	}
	return t, name != "" && ns != ""
}

// web serves web actions: the action runs as its owner, with the request
// turned into parameters and its result turned into the HTTP response.
func (s *Server) web(c echo.Context) error {
	t, ok := parseWebPath(c)
	if !ok {
		return whisk.NotFound()
	}
	return s.serveWeb(c, t, nil)
}

// serveWeb runs the web action t addresses for the request. pathParams
// (an API route's path parameters) join the action's input after the
// request's own parameters, as OpenWhisk's API gateway passes them.
func (s *Server) serveWeb(c echo.Context, t webTarget, pathParams map[string]string) error {
	req := c.Request()
	owner := t.path.Namespace
	a, err := s.Resolver.ResolveAction(req.Context(), owner, t.path)
	if err != nil || !a.Annotations.IsTrue("web-export") {
		return whisk.NotFound()
	}
	customOptions := a.Annotations.IsTrue("web-custom-options")
	if !customOptions {
		setWebCORS(c)
		if req.Method == http.MethodOptions {
			return c.NoContent(http.StatusOK)
		}
	}
	var user string
	if id := s.webIdentity(req); id != nil {
		user = id.Namespace
	}
	if !(customOptions && req.Method == http.MethodOptions) {
		if err := checkWebAuth(a, req, user); err != nil {
			return err
		}
	}
	body, err := readBody(c, whisk.MaxPayloadSize)
	if err != nil {
		return err
	}
	payload, err := webInput(a, req, body, t.rest, user)
	if err != nil {
		return err
	}
	if len(pathParams) > 0 {
		given := make(map[string]json.RawMessage, len(pathParams))
		for k, v := range pathParams {
			if strings.HasPrefix(k, "__ow_") {
				return whisk.Invalid(whisk.MsgReservedParameters)
			}
			given[k] = whisk.JSONString(v)
		}
		if a.FinalViolation(given) {
			return whisk.Invalid(whisk.MsgReservedParameters)
		}
		for k, v := range given {
			payload[k] = v
		}
	}
	runAs := activation.Caller{Namespace: owner, Subject: owner}
	if s.Namespaces != nil {
		if ns, err := s.Namespaces.GetNamespace(req.Context(), owner); err == nil {
			runAs.Throttles = ns.Throttles
		}
	}
	out, err := s.Activations.Invoke(req.Context(), runAs,
		activation.Request{Path: t.path, Payload: payload, Blocking: true, TransactionID: transactionID(c),
			TraceParent: tracing.FromHeader(req.Header)})
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerActivationID, string(out.ID))
	if out.Err != nil {
		return out.Err
	}
	if out.Record == nil {
		return c.JSON(http.StatusAccepted, errorBody{Error: msgNotReady, Code: transactionID(c)})
	}
	return respondWeb(c, t.ext, out.Record)
}

// setWebCORS sets the CORS headers web actions answer with.
func setWebCORS(c echo.Context) {
	h := c.Response().Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", webDefaultAllowMeths)
	if rh := c.Request().Header.Get("Access-Control-Request-Headers"); rh != "" {
		h.Set("Access-Control-Allow-Headers", rh)
	} else {
		h.Set("Access-Control-Allow-Headers", webDefaultAllowHdrs)
	}
}

// webIdentity is the caller a web request's credentials name, nil when it
// sends none or invalid ones: web actions are anonymous unless they ask.
func (s *Server) webIdentity(req *http.Request) *auth.Identity {
	hdr := req.Header.Get("Authorization")
	if hdr == "" {
		return nil
	}
	id, err := s.Auth.Authenticate(req.Context(), hdr)
	if err != nil {
		return nil
	}
	return id
}

// checkWebAuth applies require-whisk-auth: true needs valid credentials, a
// string or number needs a matching X-Require-Whisk-Auth header.
func checkWebAuth(a *whisk.Action, req *http.Request, user string) error {
	v := bytes.TrimSpace(a.Annotations.Get("require-whisk-auth"))
	switch {
	case len(v) == 0 || string(v) == "false" || string(v) == "null":
		return nil
	case string(v) == "true":
		if user == "" {
			if req.Header.Get("Authorization") == "" {
				return &whisk.Error{Kind: whisk.KindUnauthorized, Message: whisk.MsgAuthMissing}
			}
			return &whisk.Error{Kind: whisk.KindUnauthorized, Message: whisk.MsgAuthInvalid}
		}
		return nil
	}
	if req.Header.Get("X-Require-Whisk-Auth") != whisk.EnvString(v) {
		return &whisk.Error{Kind: whisk.KindUnauthorized, Message: whisk.MsgAuthInvalid}
	}
	return nil
}

// webInput builds the action's input from the request.
func webInput(a *whisk.Action, req *http.Request, body []byte, rest, user string) (map[string]json.RawMessage, error) {
	headers := map[string]string{}
	for k, v := range req.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	if len(body) == 0 {
		delete(headers, "content-type")
	}
	hb, _ := json.Marshal(headers) // a map of strings always marshals
	in := map[string]json.RawMessage{
		"__ow_method":  whisk.JSONString(strings.ToLower(req.Method)),
		"__ow_headers": hb,
		"__ow_path":    whisk.JSONString(rest),
	}
	if user != "" {
		in["__ow_user"] = whisk.JSONString(user)
	}
	mediaType, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if a.Annotations.IsTrue("raw-http") {
		in["__ow_query"] = whisk.JSONString(req.URL.RawQuery)
		switch {
		case len(body) == 0:
			in["__ow_body"] = whisk.JSONString("")
		case isJSONType(mediaType) || !isTextType(mediaType):
			in["__ow_body"] = whisk.JSONString(base64.StdEncoding.EncodeToString(body))
		default:
			in["__ow_body"] = whisk.JSONString(string(body))
		}
		return in, nil
	}
	user2 := map[string]json.RawMessage{}
	for k, v := range req.URL.Query() {
		if len(v) > 0 {
			user2[k] = whisk.JSONString(v[0])
		}
	}
	if len(body) > 0 {
		trimmed := bytes.TrimSpace(body)
		switch {
		case isJSONType(mediaType) || (mediaType == "" && json.Valid(trimmed)):
			if len(trimmed) > 0 && trimmed[0] == '{' {
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(trimmed, &obj); err != nil {
					return nil, whisk.Malformed(err.Error())
				}
				for k, v := range obj {
					user2[k] = v
				}
			} else if json.Valid(trimmed) {
				in["__ow_body"] = json.RawMessage(trimmed)
			} else {
				in["__ow_body"] = whisk.JSONString(string(body))
			}
		case mediaType == "application/x-www-form-urlencoded":
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, whisk.Malformed(err.Error())
			}
			for k, v := range form {
				if len(v) > 0 {
					user2[k] = whisk.JSONString(v[0])
				}
			}
		case isTextType(mediaType):
			in["__ow_body"] = whisk.JSONString(string(body))
		default:
			in["__ow_body"] = whisk.JSONString(base64.StdEncoding.EncodeToString(body))
		}
	}
	for k := range user2 {
		if strings.HasPrefix(k, "__ow_") {
			return nil, whisk.Invalid(whisk.MsgReservedParameters)
		}
	}
	if a.FinalViolation(user2) {
		return nil, whisk.Invalid(whisk.MsgReservedParameters)
	}
	for k, v := range user2 {
		in[k] = v
	}
	return in, nil
}

func isJSONType(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func isTextType(mt string) bool {
	switch {
	case strings.HasPrefix(mt, "text/"), mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded", isJSONType(mt):
		return true
	}
	return false
}
