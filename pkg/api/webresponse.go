package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// respondWeb turns a web action's activation into the HTTP response the
// extension asks for.
func respondWeb(c echo.Context, ext string, rec *whisk.Activation) error {
	var result json.RawMessage
	switch rec.Response.StatusCode {
	case whisk.StatusSuccess:
		result = rec.Response.Result
	case whisk.StatusApplicationError:
		var e struct {
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(rec.Response.Result, &e) != nil || len(e.Error) == 0 {
			return whisk.Invalid(msgWebProcessing)
		}
		result = e.Error
	default:
		return whisk.Invalid(msgWebProcessing)
	}
	result = bytes.TrimSpace(result)
	switch ext {
	case "json":
		if len(result) == 0 || (result[0] != '{' && result[0] != '[') {
			return whisk.Invalid("Response is not valid 'application/json'.")
		}
		return webBlob(c, http.StatusOK, "application/json", result)
	case "html", "svg", "text":
		return respondField(c, ext, result)
	default:
		return respondHTTP(c, result)
	}
}

// respondField serves one string property of the result: body, else the
// property named like the extension.
func respondField(c echo.Context, ext string, result json.RawMessage) error {
	types := map[string]string{"html": "text/html; charset=UTF-8", "svg": "image/svg+xml", "text": "text/plain; charset=UTF-8"}
	var obj map[string]json.RawMessage
	if json.Unmarshal(result, &obj) != nil {
		return whisk.Errorf(whisk.KindNotFound, msgWebMissingProp)
	}
	v, ok := obj["body"]
	if !ok {
		v, ok = obj[ext]
	}
	if !ok {
		return whisk.Errorf(whisk.KindNotFound, msgWebMissingProp)
	}
	v = bytes.TrimSpace(v)
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		if ext != "text" {
			return whisk.Invalid("Response is not valid '%s'.", strings.SplitN(types[ext], ";", 2)[0])
		}
		if len(v) > 0 && (v[0] == '{' || v[0] == '[') {
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, v, "", "  ") // v came from a valid JSON document
			s = pretty.String()
		} else {
			s = string(v)
		}
	}
	return webBlob(c, http.StatusOK, types[ext], []byte(s))
}

// respondHTTP serves a {headers, statusCode, body} result.
func respondHTTP(c echo.Context, result json.RawMessage) error {
	var r struct {
		Headers    map[string]json.RawMessage `json:"headers"`
		StatusCode json.RawMessage            `json:"statusCode"`
		Body       json.RawMessage            `json:"body"`
	}
	if len(result) == 0 || result[0] != '{' || json.Unmarshal(result, &r) != nil {
		return whisk.Invalid(msgWebNotHTTP)
	}
	h := c.Response().Header()
	contentType := ""
	for k, raw := range r.Headers {
		vals, err := headerValues(raw)
		if err != nil {
			return whisk.Invalid(msgWebNotHTTP)
		}
		for _, v := range vals {
			h.Add(k, v)
		}
		if strings.EqualFold(k, "Content-Type") && len(vals) > 0 {
			contentType = vals[0]
		}
	}
	status := 0
	if sc := bytes.TrimSpace(r.StatusCode); len(sc) > 0 && string(sc) != "null" {
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(sc))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return whisk.Invalid(msgWebNotHTTP)
		}
		switch x := v.(type) {
		case json.Number:
			n = x
		case string:
			n = json.Number(x)
		default:
			return whisk.Invalid(msgWebNotHTTP)
		}
		i, err := strconv.Atoi(string(n))
		if err != nil || i < 100 || i > 599 {
			return whisk.Invalid(msgWebNotHTTP)
		}
		status = i
	}
	body := bytes.TrimSpace(r.Body)
	var entity []byte
	switch {
	case len(body) == 0 || string(body) == "null" || string(body) == `""`:
	case body[0] == '"':
		var s string
		if json.Unmarshal(body, &s) != nil {
			return whisk.Invalid(msgWebNotHTTP)
		}
		if contentType == "" {
			contentType = "text/html"
		}
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return whisk.Invalid(msgWebUnknownType)
		}
		entity = []byte(s)
		if !isTextType(mt) || isJSONType(mt) {
			if dec, err := base64.StdEncoding.DecodeString(s); err == nil {
				entity = dec
			} else if !isJSONType(mt) {
				return whisk.Invalid(msgWebNotHTTP)
			}
		}
	default:
		if contentType == "" {
			contentType = "application/json"
		}
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return whisk.Invalid(msgWebUnknownType)
		}
		if !isJSONType(mt) {
			return whisk.Invalid(msgWebTypeMismatch)
		}
		entity = body
	}
	if status == 0 {
		status = http.StatusNoContent
		if len(entity) > 0 {
			status = http.StatusOK
		}
	}
	if contentType != "" && len(entity) > 0 {
		if !accepts(c.Request().Header.Get("Accept"), contentType) {
			h.Del("Content-Type")
			return whisk.Errorf(whisk.KindNotAcceptable, "Resource representation is only available with these types:\n%s", contentType)
		}
		h.Set("Content-Type", contentType)
	}
	return webBlob(c, status, "", entity)
}

// headerValues reads a header value: a scalar or an array of scalars.
func headerValues(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			v, err := scalarString(e)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	v, err := scalarString(raw)
	if err != nil {
		return nil, err
	}
	return []string{v}, nil
}

func scalarString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '{' || raw[0] == '[' {
		return "", fmt.Errorf("not a scalar")
	}
	return whisk.EnvString(raw), nil
}

// accepts reports whether an Accept header admits the content type.
func accepts(accept, contentType string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return true
	}
	major, _, _ := strings.Cut(mt, "/")
	for _, part := range strings.Split(accept, ",") {
		a, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "*/*" || a == mt || a == major+"/*" {
			return true
		}
	}
	return false
}

// webBlob writes an entity; HEAD gets the headers only.
func webBlob(c echo.Context, status int, contentType string, b []byte) error {
	if contentType != "" {
		c.Response().Header().Set("Content-Type", contentType)
	}
	if c.Request().Method == http.MethodHead || len(b) == 0 {
		return c.NoContent(status)
	}
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(b)
	return err
}
