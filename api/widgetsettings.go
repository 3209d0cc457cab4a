package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"kefu/tenants"
)

// widgetSettingsBody is the admin's view of the widget: its settings, the
// origins allowed to run it, the identity secret, and the origins refused
// lately.
type widgetSettingsBody struct {
	tenants.WidgetSettings
	AllowedOrigins []string                `json:"allowed_origins"`
	IdentitySecret string                  `json:"identity_secret"`
	RefusedOrigins []tenants.RefusedOrigin `json:"refused_origins"`
}

type putWidgetSettingsRequest struct {
	tenants.WidgetSettings
	AllowedOrigins *[]string `json:"allowed_origins"`
}

func (s *Server) widgetSettingsOut(c echo.Context, t tenants.Tenant) error {
	ctx := c.Request().Context()
	ws, err := s.tenants.WidgetSettingsOf(ctx, t.ID)
	if err != nil {
		return err
	}
	sec, err := s.tenants.IdentitySecret(ctx, t.ID)
	if err != nil {
		return err
	}
	refused, err := s.tenants.RefusedOrigins(ctx, t.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, widgetSettingsBody{WidgetSettings: ws, AllowedOrigins: t.AllowedOrigins, IdentitySecret: sec, RefusedOrigins: refused})
}

func (s *Server) getWidgetSettings(c echo.Context) error {
	t, err := s.tenants.Tenant(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	return s.widgetSettingsOut(c, t)
}

// putWidgetSettings replaces the settings (and, when given, the allowed
// origins); nothing is written unless all of it validates.
func (s *Server) putWidgetSettings(c echo.Context) error {
	var req putWidgetSettingsRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := req.WidgetSettings.Normalized(); err != nil {
		return err
	}
	t, err := s.tenants.Tenant(ctx, tenantOf(c))
	if err != nil {
		return err
	}
	if req.AllowedOrigins != nil {
		if t, err = s.tenants.UpdateTenant(ctx, t.ID, tenants.TenantUpdate{AllowedOrigins: req.AllowedOrigins}); err != nil {
			return err
		}
	}
	if _, err := s.tenants.SetWidgetSettings(ctx, t.ID, req.WidgetSettings); err != nil {
		return err
	}
	return s.widgetSettingsOut(c, t)
}

// rotateIdentitySecret replaces the identity secret: hashes made with the
// old one stop binding.
func (s *Server) rotateIdentitySecret(c echo.Context) error {
	sec, err := s.tenants.RotateIdentitySecret(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"identity_secret": sec})
}
