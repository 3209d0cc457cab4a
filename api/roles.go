package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"kefu/tenants"
)

type roleRequest struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
}

// listRoles answers the tenant's roles and the catalogue of permissions
// the admin's role table has a column for.
func (s *Server) listRoles(c echo.Context) error {
	roles, err := s.tenants.Roles(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"roles": roles, "permissions": tenants.Catalogue})
}

func (s *Server) createRole(c echo.Context) error {
	var req roleRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	r, err := s.tenants.CreateRole(c.Request().Context(), principal(c), req.Name, req.Permissions)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (s *Server) updateRole(c echo.Context) error {
	var req roleRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	r, err := s.tenants.UpdateRole(c.Request().Context(), principal(c), c.Param("name"), req.Permissions)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) deleteRole(c echo.Context) error {
	if err := s.tenants.DeleteRole(c.Request().Context(), principal(c), c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
