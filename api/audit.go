package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/audit"
)

// audited maps the routes whose success is an administrative or security
// action to what the audit log calls it. Sign-ins are recorded by login
// itself (a failure has no principal).
var audited = map[string]string{
	"POST /api/v1/me/password":                 audit.PasswordChanged,
	"PATCH /api/v1/tenant":                     audit.SettingsChanged,
	"POST /api/v1/agents":                      audit.UserCreated,
	"PATCH /api/v1/agents/:id":                 audit.UserChanged,
	"DELETE /api/v1/agents/:id":                audit.UserDeleted,
	"POST /api/v1/agents/:id/deactivate":       audit.UserDeactivated,
	"POST /api/v1/agents/:id/reactivate":       audit.UserReactivated,
	"POST /api/v1/agents/:id/password":         audit.PasswordReset,
	"POST /api/v1/api-keys":                    audit.APIKeyCreated,
	"DELETE /api/v1/api-keys/:id":              audit.APIKeyRevoked,
	"POST /api/v1/webhooks":                    audit.WebhookCreated,
	"PATCH /api/v1/webhooks/:id":               audit.WebhookChanged,
	"DELETE /api/v1/webhooks/:id":              audit.WebhookDeleted,
	"POST /api/v1/webhooks/:id/rotate-secret":  audit.WebhookRotated,
	"POST /api/v1/flows/:id/publish":           audit.FlowPublished,
	"POST /api/v1/flows/:id/rollback":          audit.FlowPublished,
	"PUT /api/v1/bots/llm":                     audit.LLMChanged,
	"GET /api/v1/contacts/:id/export":          audit.ContactExported,
	"POST /api/v1/contacts/:id/erase":          audit.ContactErased,
	"GET /api/v1/conversations/:id/transcript": audit.TranscriptExport,
}

// Context keys a handler sets when the route does not name the target
// (a create) or the action has details worth keeping.
const (
	auditTarget  = "audit.target"
	auditDetails = "audit.details"
)

// targetTypes names what a route's first segment after /api/v1 acts on.
var targetTypes = map[string]string{
	"agents": "user", "api-keys": "api_key", "webhooks": "webhook", "flows": "flow", "contacts": "contact",
	"conversations": "conversation", "tenant": "tenant", "bots": "bot", "me": "user",
}

// auditTrail puts the client in the request's context (for audit.Record
// anywhere below) and records the audited routes that succeed.
func (s *Server) auditTrail(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.SetRequest(r.WithContext(audit.WithClient(r.Context(), c.RealIP(), r.UserAgent())))
		err := next(c)
		action, ok := audited[r.Method+" "+c.Path()]
		if !ok || err != nil || c.Response().Status >= 300 {
			return err
		}
		p := principal(c)
		e := audit.Entry{Actor: audit.ActorOf(p), Action: action, TargetID: c.Param("id")}
		seg, _, _ := strings.Cut(strings.TrimPrefix(c.Path(), "/api/v1/"), "/")
		e.TargetType = targetTypes[seg]
		if seg == "me" {
			e.TargetID = p.ID
		}
		if id, ok := c.Get(auditTarget).(string); ok {
			e.TargetID = id
		}
		if d, ok := c.Get(auditDetails).(map[string]any); ok {
			e.Details = d
		}
		s.audit.Record(c.Request().Context(), p.TenantID, e)
		return nil
	}
}

func (s *Server) listAudit(c echo.Context) error {
	limit, err := queryInt(c, "limit", 0)
	if err != nil {
		return err
	}
	f := audit.Filter{Action: c.QueryParam("action"), ActorID: c.QueryParam("actor_id"), Target: c.QueryParam("target_id"), Limit: int(limit), Cursor: c.QueryParam("cursor")}
	fields := map[string]string{}
	for name, t := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := c.QueryParam(name); v != "" {
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				fields[name] = "must be an RFC 3339 time"
			}
			*t = at
		}
	}
	if len(fields) > 0 {
		return kefu.Invalid(fields)
	}
	entries, next, err := s.audit.List(c.Request().Context(), tenantOf(c), f)
	if err != nil {
		return err
	}
	var nextCursor any
	if next != "" {
		nextCursor = next
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries, "next_cursor": nextCursor})
}
