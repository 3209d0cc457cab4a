package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"kefu"
)

func (s *Server) getOnboarding(c echo.Context) error {
	p := principal(c)
	out, err := s.onboarding.For(c.Request().Context(), p.TenantID, p.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

type onboardingPatch struct {
	Dismissed *bool `json:"dismissed"`
}

// patchOnboarding puts the checklist away for the caller (or brings it
// back); others in the workspace keep theirs.
func (s *Server) patchOnboarding(c echo.Context) error {
	var req onboardingPatch
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Dismissed == nil {
		return kefu.Invalid(map[string]string{"dismissed": "is required"})
	}
	p := principal(c)
	if err := s.onboarding.SetDismissed(c.Request().Context(), p.TenantID, p.ID, *req.Dismissed); err != nil {
		return err
	}
	return s.getOnboarding(c)
}
