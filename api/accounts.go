package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/audit"
	"kefu/tenants"
)

type signupRequest struct {
	Company  string `json:"company"`
	Slug     string `json:"slug"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Language string `json:"language"` // en or zh-CN; default: the Accept-Language header
}

type tenantResponse struct {
	ID             string   `json:"id"`
	Slug           string   `json:"slug"`
	Name           string   `json:"name"`
	WidgetKey      string   `json:"widget_key"`
	AllowedOrigins []string `json:"allowed_origins"`
	AgentsSeeAll   bool     `json:"agents_see_all"`
	Language       string   `json:"language"`
	ReopenWindow   int      `json:"reopen_window_days"`
	Retention      int      `json:"retention_months"`
	// EmailConfigured: the server can send e-mail (KEFU_SMTP_URL); without
	// it, replies to visitors who left wait in the widget.
	EmailConfigured *bool `json:"email_configured,omitempty"`
}

func tenantOut(t tenants.Tenant) tenantResponse {
	return tenantResponse{ID: t.ID, Slug: t.Slug, Name: t.Name, WidgetKey: t.WidgetKey, AllowedOrigins: t.AllowedOrigins, AgentsSeeAll: t.AgentsSeeAll, Language: t.Language, ReopenWindow: t.ReopenWindowDays, Retention: t.RetentionMonths}
}

type userResponse struct {
	ID            string   `json:"id"`
	Email         string   `json:"email"`
	Name          string   `json:"name"`
	Role          string   `json:"role"`
	Skills        []string `json:"skills"`
	Teams         []string `json:"teams"`
	MaxConcurrent int      `json:"max_concurrent"`
	Load          int      `json:"active_conversations"`
	Status        string   `json:"status,omitempty"`
	// Active is false for a deactivated user (since DeactivatedAt).
	Active        bool       `json:"active"`
	DeactivatedAt *time.Time `json:"deactivated_at,omitempty"`
}

func userOut(u tenants.User) userResponse {
	return userResponse{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Skills: u.Skills, Teams: u.Teams, MaxConcurrent: u.MaxConcurrent, Load: u.Load,
		Active: u.Active, DeactivatedAt: u.DeactivatedAt}
}

func (s *Server) signup(c echo.Context) error {
	var req signupRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Language == "" {
		req.Language = c.Request().Header.Get("Accept-Language")
	}
	res, err := s.tenants.Signup(c.Request().Context(), tenants.SignupInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"tenant": tenantOut(res.Tenant), "user": userOut(res.User), "token": res.Token})
}

type loginRequest struct {
	Tenant   string `json:"tenant"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Server) login(c echo.Context) error {
	var req loginRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := audit.WithClient(c.Request().Context(), c.RealIP(), c.Request().UserAgent())
	if strings.TrimSpace(req.Tenant) == "" {
		return s.loginByEmail(c, req)
	}
	token, u, err := s.tenants.Login(ctx, req.Tenant, req.Email, req.Password)
	// A sign-in, or a refused one, is recorded in the workspace it named.
	code := kefu.Code(err)
	if t, terr := s.tenants.TenantBySlug(ctx, req.Tenant); terr == nil && (err == nil || code == kefu.EAuth || code == kefu.ERateLimit) {
		e := audit.Entry{Actor: audit.Actor{Type: "user", ID: u.ID, Name: u.Name}, Action: audit.LoginSucceeded, TargetType: "user", TargetID: u.ID}
		if err != nil {
			email := strings.ToValidUTF8(strings.TrimSpace(req.Email), "")
			if len(email) > 254 {
				email = email[:254]
			}
			e = audit.Entry{Actor: audit.Actor{Type: "anonymous"}, Action: audit.LoginFailed, Details: map[string]any{"email": email, "reason": code}}
		}
		s.audit.Record(ctx, t.ID, e)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"token": token, "user": userOut(u)})
}

func (s *Server) logout(c echo.Context) error {
	if err := s.tenants.Logout(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// logoutAll ends every session of the caller's user, this one included;
// their sockets close on every node.
func (s *Server) logoutAll(c echo.Context) error {
	if err := s.tenants.LogoutAll(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword sets the caller's own password; their other sessions end.
func (s *Server) changePassword(c echo.Context) error {
	var req changePasswordRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := s.tenants.ChangePassword(c.Request().Context(), principal(c), req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listSessions(c echo.Context) error {
	sessions, err := s.tenants.Sessions(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"sessions": sessions})
}

func (s *Server) revokeSession(c echo.Context) error {
	if err := s.tenants.RevokeSession(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) me(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	t, err := s.tenants.Tenant(ctx, p.TenantID)
	if err != nil {
		return err
	}
	perms, err := s.tenants.Permissions(p.TenantID, p.Role)
	if err != nil {
		return err
	}
	var user any
	if p.Kind == tenants.KindUser {
		u, err := s.tenants.User(ctx, p.TenantID, p.ID)
		if err != nil {
			return err
		}
		out := userOut(u)
		out.Status = s.chat.Status(p.TenantID, u.ID)
		user = out
	} else {
		user = map[string]string{"id": p.ID, "name": p.Name, "role": p.Role, "type": "api_key"}
	}
	return c.JSON(http.StatusOK, map[string]any{"user": user, "tenant": tenantOut(t), "permissions": perms})
}

func (s *Server) getTenant(c echo.Context) error {
	t, err := s.tenants.Tenant(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	out := tenantOut(t)
	mail := s.EmailConfigured()
	out.EmailConfigured = &mail
	return c.JSON(http.StatusOK, out)
}

type patchTenantRequest struct {
	Name           *string   `json:"name"`
	AllowedOrigins *[]string `json:"allowed_origins"`
	AgentsSeeAll   *bool     `json:"agents_see_all"`
	Language       *string   `json:"language"`
	ReopenWindow   *int      `json:"reopen_window_days"`
	Retention      *int      `json:"retention_months"`
}

func (s *Server) patchTenant(c echo.Context) error {
	var req patchTenantRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	t, err := s.tenants.UpdateTenant(c.Request().Context(), tenantOf(c), tenants.TenantUpdate{Name: req.Name, AllowedOrigins: req.AllowedOrigins, AgentsSeeAll: req.AgentsSeeAll, Language: req.Language, ReopenWindowDays: req.ReopenWindow, RetentionMonths: req.Retention})
	if err != nil {
		return err
	}
	out := tenantOut(t)
	mail := s.EmailConfigured()
	out.EmailConfigured = &mail
	return c.JSON(http.StatusOK, out)
}
