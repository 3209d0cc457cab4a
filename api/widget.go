package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/chat"
	"kefu/tenants"
)

type widgetSessionRequest struct {
	WidgetKey    string `json:"widget_key"`
	VisitorToken string `json:"visitor_token"`
	Visitor      struct {
		Name       string         `json:"name"`
		Email      string         `json:"email"`
		Attributes map[string]any `json:"attributes"`
	} `json:"visitor"`
	// Identity is what Kefu.identify passed: the site's id for the person,
	// and hash = hex HMAC-SHA256(identity secret, id).
	Identity *struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
		Hash  string `json:"hash"`
	} `json:"identity"`
}

// widgetTenant finds the tenant of a widget key and refuses a page whose
// origin the tenant does not allow (403 origin_not_allowed), noting it for
// the admin.
func (s *Server) widgetTenant(c echo.Context, key string) (tenants.Tenant, error) {
	t, err := s.tenants.TenantByWidgetKey(c.Request().Context(), key)
	if err != nil {
		if kefu.Code(err) == kefu.ENotFound {
			return t, kefu.Errorf(kefu.ENotFound, "unknown widget key")
		}
		return t, err
	}
	origin := c.Request().Header.Get("Origin")
	if s.ownOrigin(c.Request(), origin) || tenants.OriginAllowed(t, origin) {
		return t, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 2*time.Second)
	defer cancel()
	if err := s.tenants.RecordRefusedOrigin(ctx, t.ID, origin); err != nil {
		s.log.WarnContext(ctx, "refused origin not recorded", "tenant_id", t.ID, "err", err)
	}
	return t, kefu.Errorf(kefu.EOriginNotAllowed, "this site may not run this workspace's chat widget")
}

// ownOrigin: the server's own pages (the demo page) may always run a widget.
func (s *Server) ownOrigin(r *http.Request, origin string) bool {
	if origin == "" {
		return false
	}
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return s.cfg.PublicURL != "" && strings.EqualFold(strings.TrimRight(s.cfg.PublicURL, "/"), origin)
}

func (s *Server) widgetSession(c echo.Context) error {
	var req widgetSessionRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.WidgetKey != "" {
		if _, err := s.widgetTenant(c, req.WidgetKey); err != nil {
			return err
		}
	}
	in := chat.VisitorInput{Name: req.Visitor.Name, Email: req.Visitor.Email, Attributes: req.Visitor.Attributes}
	if req.Identity != nil {
		in.Identity = &chat.Identity{ID: req.Identity.ID, Name: req.Identity.Name, Email: req.Identity.Email, Hash: req.Identity.Hash}
	}
	ws, err := s.chat.StartWidgetSession(c.Request().Context(), req.WidgetKey, req.VisitorToken, in)
	if err != nil {
		if kefu.Code(err) == kefu.ENotFound {
			return kefu.Errorf(kefu.ENotFound, "unknown widget key")
		}
		return err
	}
	out := map[string]any{"visitor_id": ws.VisitorID, "visitor_token": ws.VisitorToken, "identified": ws.Identified, "prechat_needed": ws.PrechatNeeded}
	if ws.IdentityError != "" {
		out["identity_error"] = ws.IdentityError
	}
	return c.JSON(http.StatusCreated, out)
}

// publicWidgetSettings is what a visitor's widget may know of the settings:
// no allowed origins, no secret.
type publicWidgetSettings struct {
	Color           string              `json:"color"`
	Position        string              `json:"position"`
	Greeting        string              `json:"greeting"`
	LauncherText    string              `json:"launcher_text"`
	AvatarURL       string              `json:"avatar_url"`
	Language        string              `json:"language"`
	Prechat         tenants.PrechatForm `json:"prechat"`
	RequireIdentity bool                `json:"require_identity"`
}

func publicSettings(ws tenants.WidgetSettings) publicWidgetSettings {
	return publicWidgetSettings{Color: ws.Color, Position: ws.Position, Greeting: ws.Greeting, LauncherText: ws.LauncherText, AvatarURL: ws.AvatarURL,
		Language: ws.Language, Prechat: ws.Prechat, RequireIdentity: ws.RequireIdentity}
}

func (s *Server) widgetConfig(c echo.Context) error {
	t, err := s.widgetTenant(c, c.QueryParam("key"))
	if err != nil {
		return err
	}
	ws, err := s.tenants.WidgetSettingsOf(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	online := s.chat.OnlineCount(t.ID)
	av, err := s.availability(c, t.ID, online)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tenant_name": t.Name, "agents_online": online, "settings": publicSettings(ws),
		"business_hours": av.BusinessHours, "queue": av.Queue, "offline": av.Offline})
}

type prechatRequest struct {
	Name   string            `json:"name"`
	Email  string            `json:"email"`
	Phone  string            `json:"phone"`
	Fields map[string]string `json:"fields"`
}

// widgetPrechat puts a visitor's pre-chat answers on their contact
// (bearer: the visitor token).
func (s *Server) widgetPrechat(c echo.Context) error {
	var req prechatRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if len(req.Fields) > tenants.MaxPrechatFields {
		return kefu.Invalid(map[string]string{"fields": "at most 20 fields"})
	}
	_, err := s.chat.SubmitPrechat(c.Request().Context(), principal(c), chat.PrechatInput{Name: req.Name, Email: req.Email, Phone: req.Phone, Fields: req.Fields})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// csatRequest is a visitor's rating. rating is the contract's first name for
// score; either is accepted.
type csatRequest struct {
	ConversationID string `json:"conversation_id"`
	Score          int    `json:"score"`
	Rating         int    `json:"rating"`
	Comment        string `json:"comment"`
}

// widgetCSAT stores a visitor's rating of their resolved conversation
// (bearer: the visitor token).
func (s *Server) widgetCSAT(c echo.Context) error {
	var req csatRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Score == 0 {
		req.Score = req.Rating
	}
	conv, err := s.chat.SubmitCSAT(c.Request().Context(), principal(c), req.ConversationID, req.Score, req.Comment)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv.ForVisitor())
}
