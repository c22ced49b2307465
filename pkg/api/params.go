package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// param returns a path parameter, unescaped when the router matched the
// raw (still escaped) path.
func param(c echo.Context, name string) string {
	v := c.Param(name)
	if c.Request().URL.RawPath != "" {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

// listPage parses limit and skip with OpenWhisk's messages; collection
// names the collection in them.
func listPage(c echo.Context, collection string) (skip, limit int, err error) {
	limit = 30
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, whisk.Invalid("The value '%s' is not an integer for %s.", v, collection)
		}
		if n < 0 || n > 200 {
			return 0, 0, whisk.Invalid("The value '%d' is not in the range of 0 to 200 for %s.", n, collection)
		}
		limit = n
		if limit == 0 {
			limit = 200
		}
	}
	if v := c.QueryParam("skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, whisk.Invalid("The value '%s' is not an integer for %s.", v, collection)
		}
		if n < 0 {
			return 0, 0, whisk.Invalid("The value '%d' is not greater than or equal to 0 for %s.", n, collection)
		}
		skip = n
	}
	return skip, limit, nil
}

// boolParam reads a boolean query parameter; absent gives def.
func boolParam(c echo.Context, name string, def bool) bool {
	v := c.QueryParam(name)
	if v == "" {
		return def
	}
	return strings.EqualFold(v, "true")
}

// readBody reads the request body up to max bytes; a larger body is a 413
// with what named in the message.
func readBody(c echo.Context, max int64) ([]byte, error) {
	r := c.Request()
	if r.ContentLength > max {
		return nil, whisk.Errorf(whisk.KindTooLarge, "Request larger than allowed: %d > %d bytes.", r.ContentLength, max)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, whisk.Malformed("could not read the request body")
	}
	if int64(len(b)) > max {
		return nil, whisk.Errorf(whisk.KindTooLarge, "Request larger than allowed: %d > %d bytes.", len(b), max)
	}
	return b, nil
}

// decodeObject decodes a JSON object body into v; empty is 400 "request
// entity expected" unless allowEmpty.
func decodeObject(body []byte, v any, allowEmpty bool) error {
	t := strings.TrimSpace(string(body))
	if t == "" {
		if allowEmpty {
			return nil
		}
		return whisk.Invalid(whisk.MsgEntityExpected)
	}
	if t[0] != '{' {
		return whisk.Malformed("expected a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var we *whisk.Error
		if errors.As(err, &we) {
			return we
		}
		return whisk.Malformed(describeJSONError(err))
	}
	return nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("'%s' must be of type %s, found %s", field, typeName(te.Type.String()), te.Value)
	}
	return err.Error()
}

func typeName(t string) string {
	switch {
	case strings.Contains(t, "int"):
		return "number"
	case strings.Contains(t, "bool"):
		return "boolean"
	case strings.Contains(t, "string"), strings.Contains(t, "SemVer"):
		return "string"
	case strings.HasPrefix(t, "[]"), strings.Contains(t, "KeyValues"):
		return "array"
	}
	return "object"
}

// readPayload reads an invoke or fire body: at most 1 MB, a JSON object or
// nothing. It returns the trimmed bytes and the decoded object.
func readPayload(c echo.Context) ([]byte, map[string]json.RawMessage, error) {
	body, err := readBody(c, whisk.MaxPayloadSize)
	if err != nil {
		return nil, nil, err
	}
	var payload map[string]json.RawMessage
	if err := decodeObject(body, &payload, true); err != nil {
		return nil, nil, err
	}
	return bytes.TrimSpace(body), payload, nil
}
