package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func (s *Server) listNamespaces(c echo.Context) error {
	return c.JSON(http.StatusOK, []string{identity(c).Namespace})
}

func (s *Server) getLimits(c echo.Context) error {
	if _, err := own(c, ""); err != nil {
		return err
	}
	b := s.Actions.Bounds()
	t := identity(c).Throttles.Over(s.Throttles)
	concurrent := deref(t.ConcurrentInvocations)
	return c.JSON(http.StatusOK, map[string]any{
		"invocationsPerMinute":  deref(t.InvocationsPerMinute),
		"concurrentInvocations": concurrent,
		"firesPerMinute":        deref(t.FiresPerMinute),
		"minActionMemory":       b.MinMemory,
		"maxActionMemory":       b.MaxMemory,
		"minActionLogs":         b.MinLogs,
		"maxActionLogs":         b.MaxLogs,
		"minActionTimeout":      b.MinTimeout,
		"maxActionTimeout":      b.MaxTimeout,
		"minActionConcurrency":  b.MinConcurrency,
		"maxActionConcurrency":  b.MaxConcurrency,
		"maxParameterSize":      "1 MB",
		"maxActionInstances":    concurrent,
	})
}

// pathNamespace resolves the {namespace} path segment: "_" is the
// caller's; anything else must be a valid name. Entitlements are the
// domain's (or own's) to check.
func pathNamespace(c echo.Context) (string, error) {
	ns := param(c, "namespace")
	if ns == whisk.DefaultNamespace {
		return identity(c).Namespace, nil
	}
	if err := whisk.CheckNamespace(ns); err != nil {
		return "", err
	}
	return ns, nil
}

// own resolves {namespace} and requires it to be the caller's: what names
// the resource for the 403 message ("" for the generic one).
func own(c echo.Context, what string) (string, error) {
	ns, err := pathNamespace(c)
	if err != nil {
		return "", err
	}
	if ns == identity(c).Namespace {
		return ns, nil
	}
	if what == "" {
		return "", whisk.Errorf(whisk.KindForbidden, whisk.MsgNotAuthorized)
	}
	return "", whisk.Errorf(whisk.KindForbidden, "The supplied authentication is not authorized to access '%s/%s'.", ns, what)
}

// entityPath resolves {namespace} and the given name parameter.
func entityPath(c echo.Context, nameParam string) (whisk.EntityPath, error) {
	name := param(c, nameParam)
	if err := whisk.CheckName(name); err != nil {
		return whisk.EntityPath{}, err
	}
	ns, err := pathNamespace(c)
	if err != nil {
		return whisk.EntityPath{}, err
	}
	return whisk.EntityPath{Namespace: ns, Name: name}, nil
}

// caller is the activation caller of the request.
func caller(c echo.Context) activation.Caller {
	id := identity(c)
	return activation.Caller{Namespace: id.Namespace, Subject: id.Subject, Key: id.Key, Throttles: id.Throttles}
}
