package api

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/entity"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func (s *Server) getRule(c echo.Context) error {
	p, err := ownPath(c)
	if err != nil {
		return err
	}
	r, err := s.Rules.Get(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) putRule(c echo.Context) error {
	p, err := ownPath(c)
	if err != nil {
		return err
	}
	var put entity.RulePut
	if err := bindBody(c, &put); err != nil {
		return err
	}
	r, err := s.Rules.Put(c.Request().Context(), identity(c).Namespace, p, &put, boolParam(c, "overwrite", false))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// setRuleStatus enables or disables a rule: POST {"status": ...}.
func (s *Server) setRuleStatus(c echo.Context) error {
	p, err := ownPath(c)
	if err != nil {
		return err
	}
	var body struct {
		Status json.RawMessage `json:"status"`
	}
	if err := bindBody(c, &body); err != nil {
		return err
	}
	var status string
	if len(body.Status) > 0 && string(body.Status) != "null" {
		if err := json.Unmarshal(body.Status, &status); err != nil {
			return whisk.Invalid(entity.MsgRuleBadStatus)
		}
	}
	if err := s.Rules.SetStatus(c.Request().Context(), p, status); err != nil {
		return err
	}
	return c.String(http.StatusOK, "OK")
}

func (s *Server) deleteRule(c echo.Context) error {
	p, err := ownPath(c)
	if err != nil {
		return err
	}
	r, err := s.Rules.Delete(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) listRules(c echo.Context) error {
	ns, err := own(c, "")
	if err != nil {
		return err
	}
	p, err := listRequest(c, "rules")
	if err != nil {
		return err
	}
	list, total, err := s.Rules.List(c.Request().Context(), ns, p.skip, p.limit)
	if err != nil {
		return err
	}
	return renderList(c, "rules", p, list, total, func(r *whisk.Rule) *whisk.Rule { return r })
}
