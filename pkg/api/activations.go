package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func (s *Server) activationRecord(c echo.Context) (*whisk.Activation, error) {
	ns, err := s.namespace(c, "")
	if err != nil {
		return nil, err
	}
	id := param(c, "id")
	if err := whisk.CheckActivationID(id); err != nil {
		return nil, err
	}
	return s.Activations.GetActivation(c.Request().Context(), ns, whisk.ActivationID(strings.ToLower(id)))
}

func (s *Server) getActivation(c echo.Context) error {
	a, err := s.activationRecord(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.View())
}

func (s *Server) getActivationLogs(c echo.Context) error {
	a, err := s.activationRecord(c)
	if err != nil {
		return err
	}
	logs := a.Logs
	if logs == nil {
		logs = []string{}
	}
	return c.JSON(http.StatusOK, map[string][]string{"logs": logs})
}

func (s *Server) getActivationResult(c echo.Context) error {
	a, err := s.activationRecord(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.Response.View())
}

func (s *Server) listActivations(c echo.Context) error {
	ns, err := s.namespace(c, "")
	if err != nil {
		return err
	}
	skip, limit, err := listPage(c, "activations")
	if err != nil {
		return err
	}
	q := store.ActivationQuery{Namespace: ns, Skip: skip, Limit: limit}
	if name := c.QueryParam("name"); name != "" {
		parts := strings.Split(strings.Trim(name, "/"), "/")
		if len(parts) > 2 {
			return whisk.Invalid("Parameter may be a 'simple' name or 'package-name/simple' name: %s", name)
		}
		for _, p := range parts {
			if err := whisk.CheckName(p); err != nil {
				return err
			}
		}
		q.Name = strings.Join(parts, "/")
	}
	for _, b := range []struct {
		name string
		dst  *int64
	}{{"since", &q.Since}, {"upto", &q.Upto}} {
		if v := c.QueryParam(b.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return whisk.Invalid("Parameter is not a valid value for epoch seconds: %s", v)
			}
			*b.dst = n
		}
	}
	docs, count := boolParam(c, "docs", false), boolParam(c, "count", false)
	if docs && count {
		return whisk.Invalid("The parameter 'docs' is not permitted with 'count'.")
	}
	if count {
		q.Skip, q.Limit = 0, 1
	}
	list, total, err := s.Activations.ListActivations(c.Request().Context(), q)
	if err != nil {
		return err
	}
	if count {
		return c.JSON(http.StatusOK, map[string]int{"activations": total})
	}
	if docs {
		out := make([]whisk.ActivationView, len(list))
		for i, a := range list {
			out[i] = a.View()
		}
		return c.JSON(http.StatusOK, out)
	}
	out := make([]whisk.ActivationSummary, len(list))
	for i, a := range list {
		out[i] = a.Summary()
	}
	return c.JSON(http.StatusOK, out)
}

// lister lists a collection straight from the store.
func (s *Server) lister(collection string) echo.HandlerFunc {
	return func(c echo.Context) error {
		ns, err := s.namespace(c, "")
		if err != nil {
			return err
		}
		skip, limit, err := listPage(c, collection)
		if err != nil {
			return err
		}
		docs, total, err := s.Entities.ListEntities(c.Request().Context(),
			store.ListQuery{Collection: store.Collection(collection), Namespace: ns, Skip: skip, Limit: limit})
		if err != nil {
			return err
		}
		if boolParam(c, "count", false) {
			return c.JSON(http.StatusOK, map[string]int{collection: total})
		}
		out := make([]rawJSON, len(docs))
		for i, d := range docs {
			out[i] = rawJSON(d.Body)
		}
		return c.JSON(http.StatusOK, out)
	}
}

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }
