package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func (s *Server) getPackage(c echo.Context) error {
	p, err := entityPath(c, "name")
	if err != nil {
		return err
	}
	view, err := s.Packages.Get(c.Request().Context(), identity(c).Namespace, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}

func (s *Server) putPackage(c echo.Context) error {
	p, err := entityPath(c, "name")
	if err != nil {
		return err
	}
	if _, err := own(c, p.Name); err != nil {
		return err
	}
	var put whisk.PackagePut
	if err := bindBody(c, &put); err != nil {
		return err
	}
	pkg, err := s.Packages.Put(c.Request().Context(), identity(c).Namespace, p, &put, boolParam(c, "overwrite", false))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pkg)
}

func (s *Server) deletePackage(c echo.Context) error {
	p, err := entityPath(c, "name")
	if err != nil {
		return err
	}
	if _, err := own(c, p.Name); err != nil {
		return err
	}
	pkg, err := s.Packages.Delete(c.Request().Context(), p, boolParam(c, "force", false))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pkg)
}

func (s *Server) listPackages(c echo.Context) error {
	ns, err := pathNamespace(c)
	if err != nil {
		return err
	}
	p, err := listRequest(c, "packages")
	if err != nil {
		return err
	}
	list, total, err := s.Packages.List(c.Request().Context(), identity(c).Namespace, ns, p.skip, p.limit)
	if err != nil {
		return err
	}
	return renderList(c, "packages", p, list, total, (*whisk.Package).Summary)
}

// bindBody reads a PUT body (at most the server's entity size) as a JSON
// object into v.
func bindBody(c echo.Context, v any) error {
	body, err := readBody(c, maxEntitySize)
	if err != nil {
		return err
	}
	return decodeObject(body, v, false)
}
