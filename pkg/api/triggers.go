package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// ownPath resolves {namespace} and {name} of a route for an entity that
// only its own namespace may touch.
func ownPath(c echo.Context) (whisk.EntityPath, error) {
	p, err := entityPath(c, "name")
	if err != nil {
		return p, err
	}
	if _, err := own(c, p.Name); err != nil {
		return p, err
	}
	return p, nil
}

func (s *Server) getTrigger(c echo.Context) error {
	p, err := ownPath(c)
	if err != nil {
		return err
	}
	t, err := s.Triggers.Get(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) putTrigger(c echo.Context) error {
	p, err := ownPath(c)
	if err != nil {
		return err
	}
	var put whisk.TriggerPut
	if err := bindBody(c, &put); err != nil {
		return err
	}
	t, err := s.Triggers.Put(c.Request().Context(), p, &put, boolParam(c, "overwrite", false))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) deleteTrigger(c echo.Context) error {
	p, err := ownPath(c)
	if err != nil {
		return err
	}
	t, err := s.Triggers.Delete(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) listTriggers(c echo.Context) error {
	ns, err := own(c, "")
	if err != nil {
		return err
	}
	p, err := listRequest(c, "triggers")
	if err != nil {
		return err
	}
	list, total, err := s.Triggers.List(c.Request().Context(), ns, p.skip, p.limit)
	if err != nil {
		return err
	}
	return renderList(c, "triggers", p, list, total, (*whisk.Trigger).Summary)
}

// fireTrigger answers 204 when no rule is active, else 202 with the
// trigger activation's id.
func (s *Server) fireTrigger(c echo.Context) error {
	p, err := ownPath(c)
	if err != nil {
		return err
	}
	_, payload, err := readPayload(c)
	if err != nil {
		return err
	}
	out, err := s.Activations.Fire(c.Request().Context(), caller(c), p, payload, c.Request().Header, transactionID(c))
	if err != nil {
		return err
	}
	if out == nil {
		return c.NoContent(http.StatusNoContent)
	}
	c.Response().Header().Set(headerActivationID, string(out.ID))
	return c.JSON(http.StatusAccepted, map[string]whisk.ActivationID{"activationId": out.ID})
}
