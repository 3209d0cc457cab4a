package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

type apiKeyRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (s *Server) createAPIKey(c echo.Context) error {
	var req apiKeyRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	k, key, err := s.tenants.CreateAPIKey(c.Request().Context(), principal(c), req.Name, req.Role)
	if err != nil {
		return err
	}
	c.Set(auditTarget, k.ID)
	c.Set(auditDetails, map[string]any{"name": k.Name, "role": k.Role})
	return c.JSON(http.StatusCreated, map[string]any{"id": k.ID, "name": k.Name, "role": k.Role, "prefix": k.Prefix, "created_by": k.CreatedBy, "created_at": k.CreatedAt, "key": key})
}

func (s *Server) listAPIKeys(c echo.Context) error {
	keys, err := s.tenants.APIKeys(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"api_keys": keys})
}

func (s *Server) revokeAPIKey(c echo.Context) error {
	if err := s.tenants.RevokeAPIKey(c.Request().Context(), tenantOf(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
