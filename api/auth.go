package api

import (
	"strings"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/tenants"
)

const principalKey = "kefu.principal"

func principal(c echo.Context) tenants.Principal {
	p, _ := c.Get(principalKey).(tenants.Principal)
	return p
}

func tenantOf(c echo.Context) string { return principal(c).TenantID }

// authenticate verifies the bearer token (session token or API key); the
// tenant of every request comes from here and nowhere else.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			return kefu.Errorf(kefu.EAuth, "missing bearer token")
		}
		p, err := s.tenants.Authenticate(c.Request().Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		if p.Kind == tenants.KindVisitor {
			return kefu.Errorf(kefu.EAuth, "visitor tokens are for the widget socket only")
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// authenticateAny is authenticate that also accepts a visitor token (for
// uploads from the widget).
func (s *Server) authenticateAny(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
		if !ok || token == "" {
			return kefu.Errorf(kefu.EAuth, "missing bearer token")
		}
		p, err := s.tenants.Authenticate(c.Request().Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// can refuses with 403 unless the principal's role may act on obj.
func (s *Server) can(obj, act string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ok, err := s.tenants.Can(principal(c), obj, act)
			if err != nil {
				return err
			}
			if !ok {
				return kefu.Errorf(kefu.EDenied, "your role may not %s %s", act, strings.ReplaceAll(obj, "_", " "))
			}
			return next(c)
		}
	}
}
