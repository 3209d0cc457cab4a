package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/chat"
	"kefu/routing"
)

// businessHoursBody is the tenant's business hours as PUT takes them.
type businessHoursBody struct {
	Enabled  *bool            `json:"enabled"`
	Timezone string           `json:"timezone"`
	Schedule routing.Schedule `json:"schedule"`
	Holidays []string         `json:"holidays"`
}

// businessHoursResponse is the setting with what it means now, and whether
// replies can reach visitors who left (the admin page says so).
type businessHoursResponse struct {
	Configured      bool             `json:"configured"`
	Enabled         bool             `json:"enabled"`
	Timezone        string           `json:"timezone"`
	Schedule        routing.Schedule `json:"schedule"`
	Holidays        []string         `json:"holidays"`
	OpenNow         *bool            `json:"open_now"`
	NextOpenAt      *time.Time       `json:"next_open_at"`
	EmailConfigured bool             `json:"email_configured"`
	UpdatedAt       *time.Time       `json:"updated_at"`
}

func (s *Server) hoursOut(b chat.BusinessHours) businessHoursResponse {
	out := businessHoursResponse{Configured: b.Set, Enabled: b.Enabled, Timezone: b.Hours.Timezone, Schedule: b.Hours.Schedule, Holidays: b.Hours.Holidays, EmailConfigured: s.EmailConfigured()}
	if !b.Set {
		out.Enabled, out.Timezone = false, "UTC"
		return out
	}
	at := b.UpdatedAt
	out.UpdatedAt = &at
	if b.Applies() {
		open, next := hoursNow(b.Hours, time.Now())
		out.OpenNow, out.NextOpenAt = &open, next
	}
	return out
}

// hoursNow is whether the hours are open at now, and when they open next
// (nil when open, or when they never open).
func hoursNow(h routing.Hours, now time.Time) (bool, *time.Time) {
	if open, _ := h.OpenAt(now); open {
		return true, nil
	}
	if next, ok := h.NextOpen(now); ok {
		return false, &next
	}
	return false, nil
}

func (s *Server) getBusinessHours(c echo.Context) error {
	b, err := s.chat.BusinessHoursOf(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.hoursOut(b))
}

func (s *Server) putBusinessHours(c echo.Context) error {
	var req businessHoursBody
	if err := bind(c, &req); err != nil {
		return err
	}
	enabled := true
	if req.Enabled != nil {
		enabled = *req.Enabled
	}
	b, err := s.chat.SetBusinessHours(c.Request().Context(), principal(c), enabled, routing.Hours{Timezone: req.Timezone, Schedule: req.Schedule, Holidays: req.Holidays})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.hoursOut(b))
}

// widgetAvailability is what the public widget config says about who can
// answer and when.
type widgetAvailability struct {
	// BusinessHours: null when the tenant set none (or turned them off).
	BusinessHours *widgetHours `json:"business_hours"`
	Queue         widgetQueue  `json:"queue"`
	// Offline: nobody can answer now (no agent online, or closed); the
	// widget offers the offline form.
	Offline bool `json:"offline"`
}

type widgetHours struct {
	OpenNow    bool             `json:"open_now"`
	NextOpenAt *time.Time       `json:"next_open_at"`
	Timezone   string           `json:"timezone"`
	Schedule   routing.Schedule `json:"schedule"`
}

type widgetQueue struct {
	Length int `json:"length"`
	// ExpectedWaitSeconds is for a visitor joining now (behind Length
	// others); null when there is too little recent data to say.
	ExpectedWaitSeconds *int `json:"expected_wait_seconds"`
}

func (s *Server) availability(c echo.Context, tenantID string, online int) (widgetAvailability, error) {
	ctx := c.Request().Context()
	var out widgetAvailability
	b, err := s.chat.BusinessHoursOf(ctx, tenantID)
	if err != nil {
		return out, err
	}
	open := true
	if b.Applies() {
		wh := widgetHours{Timezone: b.Hours.Timezone, Schedule: b.Hours.Schedule}
		wh.OpenNow, wh.NextOpenAt = hoursNow(b.Hours, time.Now())
		open = wh.OpenNow
		out.BusinessHours = &wh
	}
	q, err := s.chat.QueueEstimateOf(ctx, tenantID)
	if err != nil {
		return out, err
	}
	out.Queue.Length = q.Length
	if w, ok := q.Wait(q.Length + 1); ok {
		secs := int(w.Seconds())
		out.Queue.ExpectedWaitSeconds = &secs
	}
	out.Offline = online == 0 || !open
	return out, nil
}

type offlineRequest struct {
	WidgetKey    string `json:"widget_key"`
	VisitorToken string `json:"visitor_token"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	Message      string `json:"message"`
	ClientID     string `json:"client_id"`
}

// widgetOffline takes the widget's offline form: the e-mail goes onto the
// visitor's contact and the message starts their conversation as usual.
func (s *Server) widgetOffline(c echo.Context) error {
	var req offlineRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ws, msg, err := s.chat.LeaveMessage(c.Request().Context(), req.WidgetKey, req.VisitorToken, chat.OfflineInput{
		Name: req.Name, Email: req.Email, Message: req.Message, ClientID: req.ClientID})
	if err != nil {
		if kefu.Code(err) == kefu.ENotFound && req.WidgetKey != "" {
			return kefu.Errorf(kefu.ENotFound, "unknown widget key")
		}
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{
		"visitor_id": ws.VisitorID, "visitor_token": ws.VisitorToken, "conversation_id": msg.ConversationID,
		"message": msg, "email_configured": s.EmailConfigured(),
	})
}
