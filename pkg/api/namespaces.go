package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func (s *Server) listNamespaces(c echo.Context) error {
	return c.JSON(http.StatusOK, []string{identity(c).Namespace})
}

func (s *Server) getLimits(c echo.Context) error {
	ns, err := s.namespace(c, "")
	if err != nil {
		return err
	}
	_ = ns
	b := s.Actions.Bounds()
	t := s.Throttles
	own := identity(c).Throttles
	pick := func(own, def *int) int {
		if own != nil {
			return *own
		}
		return deref(def)
	}
	concurrent := pick(own.ConcurrentInvocations, t.ConcurrentInvocations)
	return c.JSON(http.StatusOK, map[string]any{
		"invocationsPerMinute":  pick(own.InvocationsPerMinute, t.InvocationsPerMinute),
		"concurrentInvocations": concurrent,
		"firesPerMinute":        pick(own.FiresPerMinute, t.FiresPerMinute),
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

// namespace resolves the {namespace} path segment: "_" is the caller's;
// another valid name is refused (403) since namespaces are private here
// until sharing arrives. what names the resource for the 403 message.
func (s *Server) namespace(c echo.Context, what string) (string, error) {
	own := identity(c).Namespace
	ns := param(c, "namespace")
	if ns == whisk.DefaultNamespace || ns == own {
		return own, nil
	}
	if err := whisk.CheckNamespace(ns); err != nil {
		return "", err
	}
	if what == "" {
		return "", whisk.Errorf(whisk.KindForbidden, whisk.MsgNotAuthorized)
	}
	return "", whisk.Errorf(whisk.KindForbidden, "The supplied authentication is not authorized to access '%s/%s'.", ns, what)
}
