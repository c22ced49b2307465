package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// ConsoleFiles serves the browser console's static files (pkg/console).
type ConsoleFiles interface {
	// Serve writes the file at name (below /console/) and reports whether
	// there is one; when there is not it writes nothing.
	Serve(w http.ResponseWriter, r *http.Request, name string) bool
}

// console serves /console/*: static files, without authentication (the
// page asks for the namespace key and sends it to the API itself).
func (s *Server) console(c echo.Context) error {
	if !s.Console.Serve(c.Response(), c.Request(), c.Param("*")) {
		return whisk.NotFound()
	}
	return nil
}

// consoleRoot redirects /console to /console/, where the page's relative
// links resolve.
func consoleRoot(c echo.Context) error {
	to := "/console/"
	if q := c.Request().URL.RawQuery; q != "" {
		to += "?" + q
	}
	return c.Redirect(http.StatusMovedPermanently, to)
}
