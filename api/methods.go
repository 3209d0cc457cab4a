package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"kefu"
)

// probeMethods are the methods a 405's Allow header may list.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// noEndpoint answers a request under /api/v1 that no route took. Echo's
// router lets a group's catch-all win over its own 405, so this asks the
// router which other methods the path has: when some do, the answer is 405
// method_not_allowed with Allow naming them; otherwise 404 not_found.
func (s *Server) noEndpoint(c echo.Context) error {
	if allow := s.allowedMethods(c.Request()); len(allow) > 0 {
		c.Response().Header().Set(echo.HeaderAllow, strings.Join(allow, ", "))
		return kefu.Errorf(kefu.EMethod, "%s is not allowed here; allowed: %s", c.Request().Method, strings.Join(allow, ", "))
	}
	return kefu.Errorf(kefu.ENotFound, "no such endpoint")
}

// allowedMethods are the methods that reach a real route (not a catch-all)
// at r's path. It costs a few router lookups, on 404s only.
func (s *Server) allowedMethods(r *http.Request) []string {
	path := echo.GetPath(r)
	var allow []string
	for _, m := range probeMethods {
		if m == r.Method {
			continue
		}
		c := s.e.NewContext(r, nil)
		s.e.Router().Find(m, path, c)
		if s.routes[m+" "+c.Path()] {
			allow = append(allow, m)
		}
	}
	return allow
}

// routeSet is every method and path the router serves, catch-alls aside.
func routeSet(e *echo.Echo) map[string]bool {
	set := map[string]bool{}
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Method, "echo_route_") || strings.HasSuffix(r.Path, "*") {
			continue
		}
		set[r.Method+" "+r.Path] = true
	}
	return set
}

// compressJSONAbove is the size from which API answers are gzipped: below
// it, compression saves less than its headers and its CPU cost.
const compressJSONAbove = 1 << 10

// compressJSON gzips API answers of compressJSONAbove bytes or more for
// clients that accept gzip (Vary: Accept-Encoding on every answer). File
// downloads are left alone: they are often compressed already, and a
// download must keep its Content-Length. /ws never passes the router.
func compressJSON() echo.MiddlewareFunc {
	return middleware.GzipWithConfig(middleware.GzipConfig{
		Level:     5,
		MinLength: compressJSONAbove,
		Skipper: func(c echo.Context) bool {
			return strings.HasPrefix(c.Request().URL.Path, "/api/v1/files/")
		},
	})
}
