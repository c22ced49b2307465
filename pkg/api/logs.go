package api

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/logging"
)

// logRequest serves c with next and logs the request at debug level once
// it is answered: its method, path, status and duration, with the request
// id, the caller's namespace once authenticated and the activation it
// started, if any. withTransaction calls it only with debug on.
func (s *Server) logRequest(c echo.Context, next echo.HandlerFunc) error {
	start := time.Now()
	if err := next(c); err != nil {
		c.Error(err) // answer now, so the status is known
	}
	r, w := c.Request(), c.Response()
	attrs := append(s.requestAttrs(c),
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", w.Status), slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000))
	if id := w.Header().Get(headerActivationID); id != "" {
		attrs = append(attrs, slog.String(logging.KeyActivationID, id))
	}
	s.Log.LogAttrs(r.Context(), slog.LevelDebug, "request", attrs...)
	return nil
}

// logInternal logs an internal error, whose details the caller does not
// see: the body says only "Internal server error." with the request id.
func (s *Server) logInternal(c echo.Context, err error) {
	r := c.Request()
	attrs := append(s.requestAttrs(c), slog.String("method", r.Method), slog.String("path", r.URL.Path), logging.Err(err))
	s.Log.LogAttrs(r.Context(), slog.LevelError, "internal error", attrs...)
}

// requestAttrs are the request id and, once authenticated, the caller's
// namespace.
func (s *Server) requestAttrs(c echo.Context) []slog.Attr {
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String(logging.KeyRequestID, transactionID(c)))
	if id := identity(c); id != nil {
		attrs = append(attrs, slog.String(logging.KeyNamespace, id.Namespace))
	}
	return attrs
}
