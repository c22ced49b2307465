package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// CodeSource serves what a revision's runtime fetches at boot: its
// action's code and run keys.
type CodeSource interface {
	// Code returns the code with digest ("sha256:<hex>") that token
	// grants: a KindUnauthorized error for a bad token, KindNotFound when
	// no such code is stored.
	Code(ctx context.Context, digest, token string) (string, error)
	// RunKeys returns the keys (hex) that the runtime of the action token
	// names checks its run requests with (pkg/runtime/runauth): a
	// KindUnauthorized error for a bad token.
	RunKeys(ctx context.Context, digest, token string) ([]string, error)
}

// bearer is the token of "Authorization: Bearer <token>".
func bearer(c echo.Context) (string, error) {
	token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
	if !ok || token == "" {
		return "", whisk.Errorf(whisk.KindUnauthorized, "A bearer token is required.")
	}
	return token, nil
}

// getCode is GET /api/v1/code/{digest} with "Authorization: Bearer
// <token>": the code exactly as stored.
func (s *Server) getCode(c echo.Context) error {
	if s.Code == nil {
		return whisk.NotFound()
	}
	token, err := bearer(c)
	if err != nil {
		return err
	}
	code, err := s.Code.Code(c.Request().Context(), c.Param("digest"), token)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(code))
}

// getRunKeys is GET /api/v1/run-keys/{digest} with "Authorization: Bearer
// <token>": {"keys":["<hex>",...]} (wire.RunKeys).
func (s *Server) getRunKeys(c echo.Context) error {
	if s.Code == nil {
		return whisk.NotFound()
	}
	token, err := bearer(c)
	if err != nil {
		return err
	}
	keys, err := s.Code.RunKeys(c.Request().Context(), c.Param("digest"), token)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, wire.RunKeys{Keys: keys})
}
