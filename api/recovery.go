package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"kefu/audit"
	"kefu/mailer"
	"kefu/tenants"
)

// loginByEmail signs in without a workspace: one session when the password
// matched in one workspace; the workspaces (to choose from, then sign in
// naming one) when it matched in several. Nothing is listed before a
// password matched.
func (s *Server) loginByEmail(c echo.Context, req loginRequest) error {
	ctx := audit.WithClient(c.Request().Context(), c.RealIP(), c.Request().UserAgent())
	res, err := s.tenants.LoginByEmail(ctx, req.Email, req.Password)
	if err != nil {
		return err
	}
	if res.Token == "" {
		return c.JSON(http.StatusOK, map[string]any{"workspaces": res.Workspaces})
	}
	s.audit.Record(ctx, res.TenantID, audit.Entry{Actor: audit.Actor{Type: "user", ID: res.User.ID, Name: res.User.Name}, Action: audit.LoginSucceeded, TargetType: "user", TargetID: res.User.ID})
	return c.JSON(http.StatusOK, map[string]any{"token": res.Token, "user": userOut(res.User)})
}

// publicConfig tells the sign-in pages what this server offers.
func (s *Server) publicConfig(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"email_enabled": s.EmailConfigured()})
}

type forgotRequest struct {
	Email  string `json:"email"`
	Tenant string `json:"tenant"` // optional: only this workspace's account
}

// mailTimeout bounds the background work of one reset request.
const mailTimeout = 30 * time.Second

// forgotPassword always answers 202 once the input is well formed: the
// links are made and mailed after the answer, so neither its content nor
// its timing says whether the address has an account. Without e-mail
// nothing is made (the sign-in page does not offer this then).
func (s *Server) forgotPassword(c echo.Context) error {
	var req forgotRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := tenants.CheckResetRequest(req.Email, req.Tenant); err != nil {
		return err
	}
	if s.EmailConfigured() {
		select {
		case s.resetQueue <- struct{}{}:
			base := s.publicBase(c)
			ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), mailTimeout)
			go func() {
				defer func() { cancel(); <-s.resetQueue }()
				// One request at a time on this node, so that the
				// per-account hourly count is checked and kept in turn.
				select {
				case s.resetTurn <- struct{}{}:
					defer func() { <-s.resetTurn }()
					s.mailResets(ctx, base, req)
				case <-ctx.Done():
				}
			}()
		default:
			s.log.WarnContext(c.Request().Context(), "password reset: too many requests waiting; one dropped")
		}
	}
	return c.NoContent(http.StatusAccepted)
}

// maxResetQueue bounds the reset requests waiting on a node (beyond it
// they are dropped, and answered as every other).
const maxResetQueue = 64

func (s *Server) mailResets(ctx context.Context, base string, req forgotRequest) {
	links, err := s.tenants.RequestPasswordReset(ctx, req.Email, req.Tenant)
	if err != nil {
		s.log.WarnContext(ctx, "password reset", "err", err)
		return
	}
	for _, l := range links {
		// The token travels in the fragment, so it never reaches a server log.
		msg, err := mailer.Compose(l.Language, mailer.PasswordReset, l.Email, map[string]string{"workspace": l.Workspace.Name, "link": base + "/reset#" + l.Token})
		if err == nil {
			err = s.cfg.Mailer.Send(ctx, msg)
		}
		if err != nil {
			s.log.WarnContext(ctx, "password reset e-mail", "tenant_id", l.Workspace.ID, "err", err)
		}
	}
}

type resetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// resetPassword sets a new password with a mailed token; every session of
// the account ends. The answer names the workspace and address, for the
// sign-in that follows.
func (s *Server) resetPassword(c echo.Context) error {
	var req resetRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ws, email, err := s.tenants.ResetPasswordWithToken(c.Request().Context(), req.Token, req.Password)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"workspace": ws, "email": email})
}
