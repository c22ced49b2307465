package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// page is a parsed list request.
type page struct {
	skip, limit int
	count       bool
}

// listRequest parses limit, skip and count for a collection; with count
// only the total is needed.
func listRequest(c echo.Context, collection string) (page, error) {
	skip, limit, err := listPage(c, collection)
	if err != nil {
		return page{}, err
	}
	p := page{skip: skip, limit: limit, count: boolParam(c, "count", false)}
	if p.count {
		p.skip, p.limit = 0, 1
	}
	return p, nil
}

// renderList answers a list request: {"<collection>": total} for count,
// else the elements in their list view.
func renderList[T, V any](c echo.Context, collection string, p page, list []T, total int, view func(T) V) error {
	if p.count {
		return c.JSON(http.StatusOK, map[string]int{collection: total})
	}
	out := make([]V, len(list))
	for i, e := range list {
		out[i] = view(e)
	}
	return c.JSON(http.StatusOK, out)
}
