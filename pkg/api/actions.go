package api

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/tracing"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// maxEntitySize bounds any request body at the server layer.
const maxEntitySize = 50 * 1024 * 1024

// actionPath resolves {namespace}, {package} and {name} of an action route.
func actionPath(c echo.Context) (whisk.EntityPath, error) {
	name, pkg := param(c, "name"), param(c, "package")
	for _, seg := range []string{pkg, name} {
		if seg == "" {
			continue
		}
		if err := whisk.CheckName(seg); err != nil {
			return whisk.EntityPath{}, err
		}
	}
	ns, err := pathNamespace(c)
	if err != nil {
		return whisk.EntityPath{}, err
	}
	return whisk.EntityPath{Namespace: ns, Package: pkg, Name: name}, nil
}

// ownActionPath is actionPath for writes: the caller's namespace only.
func ownActionPath(c echo.Context) (whisk.EntityPath, error) {
	p, err := actionPath(c)
	if err != nil {
		return p, err
	}
	if p.Namespace != identity(c).Namespace {
		return p, whisk.Errorf(whisk.KindForbidden, "The supplied authentication is not authorized to access '%s'.", p.String())
	}
	return p, nil
}

func (s *Server) getAction(c echo.Context) error {
	p, err := actionPath(c)
	if err != nil {
		return err
	}
	a, err := s.Resolver.ResolveAction(c.Request().Context(), identity(c).Namespace, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.View(boolParam(c, "code", true)))
}

func (s *Server) putAction(c echo.Context) error {
	p, err := ownActionPath(c)
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
	p, err := ownActionPath(c)
	if err != nil {
		return err
	}
	a, err := s.Actions.Delete(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.View(true))
}

func (s *Server) listActions(c echo.Context) error {
	ns, err := own(c, "")
	if err != nil {
		return err
	}
	return s.listActionsIn(c, ns, "")
}

// listPackageActions lists a package's actions; through a binding, the
// bound package's; another namespace's only if shared.
func (s *Server) listPackageActions(c echo.Context) error {
	p, err := entityPath(c, "package")
	if err != nil {
		return err
	}
	view, err := s.Packages.Get(c.Request().Context(), identity(c).Namespace, p)
	if err != nil {
		return err
	}
	if view.IsBinding() {
		return s.listActionsIn(c, view.Binding.Namespace, view.Binding.Name)
	}
	return s.listActionsIn(c, p.Namespace, p.Name)
}

func (s *Server) listActionsIn(c echo.Context, ns, pkg string) error {
	p, err := listRequest(c, "actions")
	if err != nil {
		return err
	}
	list, total, err := s.Actions.List(c.Request().Context(), ns, pkg, p.skip, p.limit)
	if err != nil {
		return err
	}
	return renderList(c, "actions", p, list, total, (*whisk.Action).Summary)
}

func (s *Server) invokeAction(c echo.Context) error {
	p, err := actionPath(c)
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
	body, payload, err := readPayload(c)
	if err != nil {
		return err
	}
	out, err := s.Activations.Invoke(c.Request().Context(), caller(c),
		activation.Request{Path: p, Payload: payload, Input: body, Blocking: boolParam(c, "blocking", false), Wait: wait, TransactionID: transactionID(c),
			TraceParent: tracing.FromHeader(c.Request().Header)})
	if err != nil {
		return err
	}
	c.Response().Header().Set(headerActivationID, string(out.ID))
	if out.Err != nil {
		return out.Err
	}
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
