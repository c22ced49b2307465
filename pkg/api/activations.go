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
	ns, err := own(c, "")
	if err != nil {
		return nil, err
	}
	id := param(c, "id")
	if err := whisk.CheckActivationID(id); err != nil {
		return nil, err
	}
	return s.Records.GetActivation(c.Request().Context(), ns, whisk.ActivationID(strings.ToLower(id)))
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
	ns, err := own(c, "")
	if err != nil {
		return err
	}
	q := store.ActivationQuery{Namespace: ns}
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
	docs := boolParam(c, "docs", false)
	if docs && boolParam(c, "count", false) {
		return whisk.Invalid("The parameter 'docs' is not permitted with 'count'.")
	}
	pg, err := listRequest(c, "activations")
	if err != nil {
		return err
	}
	q.Skip, q.Limit = pg.skip, pg.limit
	list, total, err := s.Records.ListActivations(c.Request().Context(), q)
	if err != nil {
		return err
	}
	if docs {
		return renderList(c, "activations", pg, list, total, (*whisk.Activation).View)
	}
	return renderList(c, "activations", pg, list, total, (*whisk.Activation).Summary)
}
