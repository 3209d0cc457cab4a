package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/webhook"
)

// The webhooks endpoints (admins, and admin API keys). Without a webhook
// service (a server built without one) they answer 404.

func (s *Server) hooks() (*webhook.Service, error) {
	if s.cfg.Webhooks == nil {
		return nil, kefu.Errorf(kefu.ENotFound, "no such endpoint")
	}
	return s.cfg.Webhooks, nil
}

func (s *Server) createWebhook(c echo.Context) error {
	h, err := s.hooks()
	if err != nil {
		return err
	}
	var in webhook.Input
	if err := bind(c, &in); err != nil {
		return err
	}
	w, err := h.Create(c.Request().Context(), tenantOf(c), in)
	if err != nil {
		return err
	}
	c.Set(auditTarget, w.ID)
	return c.JSON(http.StatusCreated, w)
}

func (s *Server) listWebhooks(c echo.Context) error {
	h, err := s.hooks()
	if err != nil {
		return err
	}
	ws, err := h.List(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"webhooks": ws})
}

func (s *Server) webhookEvents(c echo.Context) error {
	if _, err := s.hooks(); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"events": webhook.Events()})
}

func (s *Server) getWebhook(c echo.Context) error {
	h, err := s.hooks()
	if err != nil {
		return err
	}
	w, err := h.Get(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

func (s *Server) patchWebhook(c echo.Context) error {
	h, err := s.hooks()
	if err != nil {
		return err
	}
	var in webhook.Input
	if err := bind(c, &in); err != nil {
		return err
	}
	w, err := h.Update(c.Request().Context(), tenantOf(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

func (s *Server) deleteWebhook(c echo.Context) error {
	h, err := s.hooks()
	if err != nil {
		return err
	}
	if err := h.Delete(c.Request().Context(), tenantOf(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) rotateWebhookSecret(c echo.Context) error {
	h, err := s.hooks()
	if err != nil {
		return err
	}
	w, err := h.RotateSecret(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

func (s *Server) webhookDeliveries(c echo.Context) error {
	h, err := s.hooks()
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 50)
	if err != nil {
		return err
	}
	ds, next, err := h.Deliveries(c.Request().Context(), tenantOf(c), c.Param("id"), int(min(limit, 1000)), c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	var nextCursor any
	if next != "" {
		nextCursor = next
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": ds, "next_cursor": nextCursor})
}

func (s *Server) testWebhook(c echo.Context) error {
	h, err := s.hooks()
	if err != nil {
		return err
	}
	d, err := h.Test(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) redeliverWebhook(c echo.Context) error {
	h, err := s.hooks()
	if err != nil {
		return err
	}
	d, err := h.Redeliver(c.Request().Context(), tenantOf(c), c.Param("id"), c.Param("delivery_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}
