package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// CodeSource serves action code to runtimes that fetch it at boot.
type CodeSource interface {
	// Code returns the code with digest ("sha256:<hex>") that token
	// grants: a KindUnauthorized error for a bad token, KindNotFound when
	// no such code is stored.
	Code(ctx context.Context, digest, token string) (string, error)
}

// getCode is GET /api/v1/code/{digest} with "Authorization: Bearer
// <token>": the code exactly as stored.
func (s *Server) getCode(c echo.Context) error {
	if s.Code == nil {
		return whisk.NotFound()
	}
	token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
	if !ok || token == "" {
		return whisk.Errorf(whisk.KindUnauthorized, "A bearer token is required.")
	}
	code, err := s.Code.Code(c.Request().Context(), c.Param("digest"), token)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(code))
}
