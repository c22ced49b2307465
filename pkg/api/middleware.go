package api

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

const (
	headerRequestID    = "X-Request-ID"
	headerActivationID = "X-Openwhisk-Activation-Id"
	keyTransaction     = "tid"
	keyIdentity        = "identity"
)

const tidAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// withTransaction sets the transaction id: the caller's X-Request-ID unless
// it starts with "sid_", else 32 random alphanumerics. With debug logging
// on it logs the request once answered (logRequest); it does both in one
// middleware because echo allocates each Pre middleware's closure per
// request.
func (s *Server) withTransaction(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tid := c.Request().Header.Get(headerRequestID)
		if tid == "" || strings.HasPrefix(tid, "sid_") {
			var b [32]byte
			for i := range b {
				b[i] = tidAlphabet[rand.IntN(len(tidAlphabet))]
			}
			tid = string(b[:])
		}
		c.Set(keyTransaction, tid)
		c.Response().Header().Set(headerRequestID, tid)
		if s.Log.Enabled(c.Request().Context(), slog.LevelDebug) {
			return s.logRequest(c, next)
		}
		return next(c)
	}
}

// MsgMalformedQuery prefixes the 400 of a query string with a malformed
// percent escape.
const MsgMalformedQuery = "The request's query string is invalid: "

// validQuery answers 400 to a request whose query string has a malformed
// percent escape, on every route, before authentication: OpenWhisk's HTTP
// layer refuses such a request too, where net/url would silently drop the
// pair (so `?limit=%zz` would list with the default limit).
func validQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := url.QueryUnescape(c.Request().URL.RawQuery); err != nil {
			return whisk.Invalid("%s%v", MsgMalformedQuery, err)
		}
		return next(c)
	}
}

func transactionID(c echo.Context) string {
	tid, _ := c.Get(keyTransaction).(string)
	return tid
}

// preflight answers any OPTIONS under /api/v1 with 200 and the CORS
// headers, before routing and without authentication.
func preflight(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodOptions && (r.URL.Path == "/api/v1" || strings.HasPrefix(r.URL.Path, "/api/v1/")) &&
			!strings.HasPrefix(r.URL.Path, "/api/v1/web/") {
			return withCORS(func(c echo.Context) error { return c.NoContent(http.StatusOK) })(c)
		}
		return next(c)
	}
}

// withCORS adds OpenWhisk's CORS headers to every /api/v1 response.
func withCORS(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "GET, DELETE, POST, PUT, HEAD")
		h.Set("Access-Control-Allow-Headers", "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent")
		return next(c)
	}
}

// Authenticator checks Basic credentials.
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (*auth.Identity, error)
}

// withAuth requires valid Basic credentials.
func (s *Server) withAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := s.Auth.Authenticate(c.Request().Context(), c.Request().Header.Get("Authorization"))
		if err != nil {
			return err
		}
		c.Set(keyIdentity, id)
		return next(c)
	}
}

func identity(c echo.Context) *auth.Identity {
	id, _ := c.Get(keyIdentity).(*auth.Identity)
	return id
}

// withJSONBody rejects bodies that are not JSON (415).
func withJSONBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength != 0 && (r.Method == http.MethodPut || r.Method == http.MethodPost) {
			ct := r.Header.Get("Content-Type")
			if ct != "" {
				mt, _, _ := strings.Cut(ct, ";")
				mt = strings.ToLower(strings.TrimSpace(mt))
				if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
					return whisk.Errorf(whisk.KindUnsupportedMedia, "The request's Content-Type is not supported. Expected:\napplication/json")
				}
			}
		}
		return next(c)
	}
}
