package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// errorBody is OpenWhisk's error shape; code is the transaction id.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

var kindStatus = map[whisk.Kind]int{
	whisk.KindInternal:         http.StatusInternalServerError,
	whisk.KindInvalid:          http.StatusBadRequest,
	whisk.KindUnauthorized:     http.StatusUnauthorized,
	whisk.KindForbidden:        http.StatusForbidden,
	whisk.KindNotFound:         http.StatusNotFound,
	whisk.KindMethodNotAllowed: http.StatusMethodNotAllowed,
	whisk.KindNotAcceptable:    http.StatusNotAcceptable,
	whisk.KindConflict:         http.StatusConflict,
	whisk.KindTooLarge:         http.StatusRequestEntityTooLarge,
	whisk.KindUnsupportedMedia: http.StatusUnsupportedMediaType,
	whisk.KindUnprocessable:    http.StatusUnprocessableEntity,
	whisk.KindThrottled:        http.StatusTooManyRequests,
	whisk.KindUnavailable:      http.StatusServiceUnavailable,
}

// defaultMessage is the text used when an error carries no message of its
// own: OpenWhisk's defaults for 403 and 404, else the reason phrase.
func defaultMessage(status int) string {
	switch status {
	case http.StatusNotFound:
		return whisk.MsgNotFound
	case http.StatusForbidden:
		return whisk.MsgNotAuthorized
	}
	return http.StatusText(status)
}

// errorHandler renders any error returned by a handler.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := http.StatusInternalServerError, ""
	var we *whisk.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &we):
		status, msg = kindStatus[we.Kind], we.Message
		if we.Kind == whisk.KindInternal {
			s.logInternal(c, err)
			msg = "Internal server error."
		}
	case errors.As(err, &he):
		status = he.Code
		if status == http.StatusNotFound {
			msg = "The requested resource could not be found."
		} else if status == http.StatusRequestEntityTooLarge {
			msg = "Request larger than allowed."
		}
	default:
		s.logInternal(c, err)
		msg = "Internal server error."
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if msg == "" {
		msg = defaultMessage(status)
	}
	if status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Basic realm="OpenWhisk secure realm"`)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status) // the client is gone if this fails; nothing left to report
		return
	}
	_ = c.JSON(status, errorBody{Error: msg, Code: transactionID(c)}) // as above
}
