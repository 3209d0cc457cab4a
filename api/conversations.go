package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/chat"
	"kefu/tenants"
)

func queryInt(c echo.Context, name string, def int64) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, kefu.Invalid(map[string]string{name: "must be a non-negative integer"})
	}
	return n, nil
}

func (s *Server) listConversations(c echo.Context) error {
	limit, err := queryInt(c, "limit", 50)
	if err != nil {
		return err
	}
	f := chat.ListFilter{
		Status: c.QueryParam("status"), Assignee: c.QueryParam("assignee"), Limit: int(limit), Cursor: c.QueryParam("cursor"),
		Label: c.QueryParam("label"), Team: c.QueryParam("team"), Sort: c.QueryParam("sort"), Snoozed: c.QueryParam("snoozed"),
		OpenOnly: c.QueryParam("open") == "true",
	}
	fields := map[string]string{}
	if v := c.QueryParam("updated_since"); v != "" {
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			fields["updated_since"] = "must be an RFC 3339 time"
		}
		f.UpdatedSince = &at
	}
	switch c.QueryParam("include") {
	case "":
	case "total":
		f.WithTotal = true
	default:
		fields["include"] = "must be total"
	}
	if len(fields) > 0 {
		return kefu.Invalid(fields)
	}
	page, err := s.chat.ConversationPage(c.Request().Context(), principal(c), f)
	if err != nil {
		return err
	}
	if page.Conversations == nil {
		page.Conversations = []chat.Conversation{}
	}
	out := map[string]any{"conversations": page.Conversations, "next_cursor": nil}
	if page.Next != "" {
		out["next_cursor"] = page.Next
	}
	if page.Total != nil {
		out["total"] = *page.Total
	}
	return c.JSON(http.StatusOK, out)
}

type createConversationRequest struct {
	VisitorID  string `json:"visitor_id"`
	ContactID  string `json:"contact_id"` // a contact is a visitor: the same id
	Message    string `json:"message"`
	TeamID     string `json:"team_id"`
	Team       string `json:"team"` // a team's id (as team_id)
	AssigneeID string `json:"assignee_id"`
}

// createConversation opens a conversation with a known visitor (contact).
func (s *Server) createConversation(c echo.Context) error {
	var req createConversationRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	fields := map[string]string{}
	if req.VisitorID != "" && req.ContactID != "" && req.VisitorID != req.ContactID {
		fields["contact_id"] = "give visitor_id or contact_id, not both"
	}
	if req.TeamID != "" && req.Team != "" && req.TeamID != req.Team {
		fields["team"] = "give team_id or team, not both"
	}
	if len(fields) > 0 {
		return kefu.Invalid(fields)
	}
	in := chat.StartInput{VisitorID: req.VisitorID, Message: req.Message, TeamID: req.TeamID, AssigneeID: req.AssigneeID}
	if in.VisitorID == "" {
		in.VisitorID = req.ContactID
	}
	if in.TeamID == "" {
		in.TeamID = req.Team
	}
	conv, err := s.chat.StartConversation(c.Request().Context(), principal(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, conv)
}

func (s *Server) getConversation(c echo.Context) error {
	conv, err := s.chat.Conversation(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) listMessages(c echo.Context) error {
	after, err := queryInt(c, "after_seq", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(c, "limit", 100)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 500 {
		return kefu.Invalid(map[string]string{"limit": "must be between 1 and 500"})
	}
	msgs, err := s.chat.Messages(c.Request().Context(), principal(c), c.Param("id"), after, int(limit))
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []chat.Message{}
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": msgs})
}

type postMessageRequest struct {
	Body        string   `json:"body"`
	ClientID    string   `json:"client_id"`
	Private     bool     `json:"private"`
	Attachments []string `json:"attachments"`
}

// postMessage answers 201 with a new message, or 200 with the original when
// client_id was seen before.
func (s *Server) postMessage(c echo.Context) error {
	var req postMessageRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	m, dup, err := s.chat.Send(c.Request().Context(), principal(c), chat.SendInput{
		ConversationID: c.Param("id"), ClientID: req.ClientID, Body: req.Body, Private: req.Private, Attachments: req.Attachments,
	})
	if err != nil {
		return err
	}
	if dup {
		return c.JSON(http.StatusOK, m)
	}
	return c.JSON(http.StatusCreated, m)
}

type assignRequest struct {
	AgentID string `json:"agent_id"`
	TeamID  string `json:"team_id"`
	Team    string `json:"team"` // a team's id or name, as before teams had ids
	Note    string `json:"note"`
}

func (s *Server) assign(c echo.Context) error {
	var req assignRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	p := principal(c)
	ok, err := s.tenants.Can(p, tenants.ObjConversations, tenants.ActAssign)
	if err != nil {
		return err
	}
	in := chat.AssignInput{AgentID: req.AgentID, TeamID: req.TeamID, Team: req.Team, Note: req.Note}
	// Without the assign permission (supervisors and up, developer keys)
	// an agent may only take an unassigned conversation themselves.
	if !ok {
		if !(p.Kind == tenants.KindUser && req.AgentID == p.ID && req.TeamID == "" && req.Team == "") {
			// Hide other tenants' ids first: 404 beats 403 for a foreign id.
			if _, err := s.chat.Conversation(c.Request().Context(), p, c.Param("id")); err != nil {
				return err
			}
			return kefu.Errorf(kefu.EDenied, "your role may not assign conversations to others")
		}
		in.TakeOnly = true
	}
	conv, err := s.chat.Assign(c.Request().Context(), p, c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) resolve(c echo.Context) error {
	conv, err := s.chat.Resolve(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) reopen(c echo.Context) error {
	conv, err := s.chat.Reopen(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

type readRequest struct {
	Seq *int64 `json:"seq"`
}

func (s *Server) read(c echo.Context) error {
	var req readRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Seq == nil {
		return kefu.Invalid(map[string]string{"seq": "is required"})
	}
	n, err := s.chat.MarkRead(c.Request().Context(), principal(c), c.Param("id"), *req.Seq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int64{"last_read_seq": n})
}
