package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"kefu/mailer"
	"kefu/tenants"
)

type inviteRequest struct {
	Email         string   `json:"email"`
	Role          string   `json:"role"`
	Skills        []string `json:"skills"`
	MaxConcurrent *int     `json:"max_concurrent"`
}

type inviteResponse struct {
	tenants.Invite
	// URL is the link that accepts the invitation (shown once; the admin
	// copies it when it was not e-mailed).
	URL     string `json:"url"`
	Emailed bool   `json:"emailed"`
}

// publicBase is the address links in e-mails and invitations start with:
// KEFU_PUBLIC_URL, or else the address this request came to.
func (s *Server) publicBase(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

func (s *Server) createInvite(c echo.Context) error {
	var req inviteRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	p := principal(c)
	inv, token, err := s.tenants.CreateInvite(c.Request().Context(), p, tenants.InviteInput(req))
	if err != nil {
		return err
	}
	// The token travels in the fragment, so it never reaches a server log.
	out := inviteResponse{Invite: inv, URL: s.publicBase(c) + "/invite#" + token}
	out.Emailed = s.mailInvite(c, p, inv.Email, out.URL)
	return c.JSON(http.StatusCreated, out)
}

// mailInvite sends the invitation when e-mail is configured, in the
// workspace's language. A failure is logged and answered as not e-mailed:
// the admin still has the link to pass on.
func (s *Server) mailInvite(c echo.Context, p tenants.Principal, to, link string) bool {
	if !s.EmailConfigured() {
		return false
	}
	ctx := c.Request().Context()
	t, err := s.tenants.Tenant(ctx, p.TenantID)
	if err != nil {
		s.log.WarnContext(ctx, "invite e-mail", "err", err)
		return false
	}
	msg, err := mailer.Compose(t.Language, mailer.Invite, to, map[string]string{"workspace": t.Name, "inviter": p.Name, "link": link})
	if err == nil {
		err = s.cfg.Mailer.Send(ctx, msg)
	}
	if err != nil {
		s.log.WarnContext(ctx, "invite e-mail", "tenant_id", p.TenantID, "err", err)
		return false
	}
	return true
}

func (s *Server) listInvites(c echo.Context) error {
	invs, err := s.tenants.Invites(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"invites": invs})
}

func (s *Server) revokeInvite(c echo.Context) error {
	if err := s.tenants.RevokeInvite(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type inviteTokenRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// lookupInvite tells the invitation page what the link is for; the token
// comes in the body, not the URL.
func (s *Server) lookupInvite(c echo.Context) error {
	var req inviteTokenRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	d, err := s.tenants.LookupInvite(c.Request().Context(), req.Token)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Server) acceptInvite(c echo.Context) error {
	var req inviteTokenRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	res, err := s.tenants.AcceptInvite(c.Request().Context(), req.Token, req.Name, req.Password)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"tenant": tenantOut(res.Tenant), "user": userOut(res.User), "token": res.Token})
}
