package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// maxEntitySize bounds any request body at the server layer.
const maxEntitySize = 50 * 1024 * 1024

// actionPath resolves {namespace}, {package} and {name} of an action route.
func (s *Server) actionPath(c echo.Context) (whisk.EntityPath, error) {
	name, pkg := param(c, "name"), param(c, "package")
	for _, seg := range []string{pkg, name} {
		if seg == "" {
			continue
		}
		if err := whisk.CheckName(seg); err != nil {
			return whisk.EntityPath{}, err
		}
	}
	p := whisk.EntityPath{Package: pkg, Name: name}
	ns, err := s.namespace(c, p.Qualified())
	if err != nil {
		return p, err
	}
	p.Namespace = ns
	return p, nil
}

func (s *Server) getAction(c echo.Context) error {
	p, err := s.actionPath(c)
	if err != nil {
		return err
	}
	a, err := s.Actions.Get(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.View(boolParam(c, "code", true)))
}

func (s *Server) putAction(c echo.Context) error {
	p, err := s.actionPath(c)
	if err != nil {
		return err
	}
	body, err := readBody(c, maxEntitySize)
	if err != nil {
		return err
	}
	var put whisk.ActionPut
	if err := decodeObject(body, &put, false); err != nil {
		return err
	}
	a, err := s.Actions.Put(c.Request().Context(), p, &put, boolParam(c, "overwrite", false))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.View(true))
}

func (s *Server) deleteAction(c echo.Context) error {
	p, err := s.actionPath(c)
	if err != nil {
		return err
	}
	a, err := s.Actions.Delete(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.View(true))
}

func (s *Server) listActions(c echo.Context) error { return s.listActionsIn(c, "") }

func (s *Server) listPackageActions(c echo.Context) error {
	pkg := param(c, "package")
	if err := whisk.CheckName(pkg); err != nil {
		return err
	}
	return s.listActionsIn(c, pkg)
}

func (s *Server) listActionsIn(c echo.Context, pkg string) error {
	ns, err := s.namespace(c, pkg)
	if err != nil {
		return err
	}
	skip, limit, err := listPage(c, "actions")
	if err != nil {
		return err
	}
	count := boolParam(c, "count", false)
	if count {
		skip, limit = 0, 1
	}
	list, total, err := s.Actions.List(c.Request().Context(), ns, pkg, skip, limit)
	if err != nil {
		return err
	}
	if count {
		return c.JSON(http.StatusOK, map[string]int{"actions": total})
	}
	out := make([]whisk.ActionSummary, len(list))
	for i, a := range list {
		out[i] = a.Summary()
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) invokeAction(c echo.Context) error {
	p, err := s.actionPath(c)
	if err != nil {
		return err
	}
	var wait time.Duration
	if v := c.QueryParam("timeout"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 1 || ms > 60000 {
			return whisk.Invalid(whisk.MsgTimeoutParam)
		}
		wait = time.Duration(ms) * time.Millisecond
	}
	body, err := readBody(c, whisk.MaxPayloadSize)
	if err != nil {
		return err
	}
	var payload map[string]json.RawMessage
	if err := decodeObject(body, &payload, true); err != nil {
		return err
	}
	id := identity(c)
	out, err := s.Invoker.Invoke(c.Request().Context(),
		activation.Caller{Namespace: id.Namespace, Subject: id.Subject, Key: id.Key},
		activation.Request{Path: p, Payload: payload, Blocking: boolParam(c, "blocking", false), Wait: wait, TransactionID: transactionID(c)})
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerActivationID, string(out.ID))
	if out.Record == nil {
		return c.JSON(http.StatusAccepted, map[string]whisk.ActivationID{"activationId": out.ID})
	}
	return renderRecord(c, out.Record, boolParam(c, "result", false))
}

// renderRecord answers a blocking invoke: 200 on success, 502 for
// application and developer errors, 500 for whisk errors; an array result
// goes out bare.
func renderRecord(c echo.Context, rec *whisk.Activation, resultOnly bool) error {
	status := http.StatusOK
	switch rec.Response.StatusCode {
	case whisk.StatusSuccess:
	case whisk.StatusApplicationError, whisk.StatusDeveloperError:
		status = http.StatusBadGateway
	default:
		status = http.StatusInternalServerError
	}
	res := bytes.TrimSpace(rec.Response.Result)
	if len(res) > 0 && res[0] == '[' || resultOnly {
		if len(res) == 0 {
			res = []byte("{}")
		}
		return c.JSONBlob(status, res)
	}
	return c.JSON(status, rec.View())
}
