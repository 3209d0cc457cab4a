package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"kefu/tenants"
)

type agentRequest struct {
	Email         string   `json:"email"`
	Name          string   `json:"name"`
	Password      string   `json:"password"`
	Role          string   `json:"role"`
	Skills        []string `json:"skills"`
	Teams         []string `json:"teams"`
	MaxConcurrent *int     `json:"max_concurrent"`
}

func (s *Server) agentOut(tenantID string, u tenants.User) userResponse {
	out := userOut(u)
	out.Status = s.chat.Status(tenantID, u.ID)
	return out
}

func (s *Server) createAgent(c echo.Context) error {
	var req agentRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	p := principal(c)
	u, err := s.tenants.CreateAgent(c.Request().Context(), p, tenants.AgentInput(req))
	if err != nil {
		return err
	}
	c.Set(auditTarget, u.ID)
	return c.JSON(http.StatusCreated, s.agentOut(p.TenantID, u))
}

func (s *Server) listAgents(c echo.Context) error {
	p := principal(c)
	users, err := s.tenants.Users(c.Request().Context(), p.TenantID)
	if err != nil {
		return err
	}
	out := make([]userResponse, len(users))
	for i, u := range users {
		out[i] = s.agentOut(p.TenantID, u)
	}
	return c.JSON(http.StatusOK, map[string]any{"agents": out})
}

func (s *Server) getAgent(c echo.Context) error {
	p := principal(c)
	u, err := s.tenants.User(c.Request().Context(), p.TenantID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.agentOut(p.TenantID, u))
}

type patchAgentRequest struct {
	Name          *string   `json:"name"`
	Role          *string   `json:"role"`
	Skills        *[]string `json:"skills"`
	Teams         *[]string `json:"teams"`
	MaxConcurrent *int      `json:"max_concurrent"`
}

func (s *Server) patchAgent(c echo.Context) error {
	var req patchAgentRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	p := principal(c)
	u, err := s.tenants.UpdateAgent(c.Request().Context(), p, c.Param("id"), tenants.AgentUpdate(req))
	if err != nil {
		return err
	}
	if req.Role != nil {
		c.Set(auditDetails, map[string]any{"role": *req.Role})
	}
	return c.JSON(http.StatusOK, s.agentOut(p.TenantID, u))
}

// deactivateAgent offboards a user: sessions, keys and sockets end, their
// conversations go back to the queue.
func (s *Server) deactivateAgent(c echo.Context) error {
	p := principal(c)
	u, err := s.tenants.DeactivateUser(c.Request().Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.agentOut(p.TenantID, u))
}

func (s *Server) reactivateAgent(c echo.Context) error {
	p := principal(c)
	u, err := s.tenants.ReactivateUser(c.Request().Context(), p, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.agentOut(p.TenantID, u))
}

func (s *Server) deleteAgent(c echo.Context) error {
	if err := s.tenants.DeleteUser(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type resetPasswordRequest struct {
	Password string `json:"password"`
}

// resetAgentPassword sets another user's password; their sessions end.
func (s *Server) resetAgentPassword(c echo.Context) error {
	var req resetPasswordRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := s.tenants.ResetPassword(c.Request().Context(), principal(c), c.Param("id"), req.Password); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
