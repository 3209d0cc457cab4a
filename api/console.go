package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/chat"
	"kefu/tenants"
)

// The agent console's tools: inbox counts, triage fields, unassign, search,
// teams and canned replies.

func (s *Server) conversationCounts(c echo.Context) error {
	counts, err := s.chat.Counts(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, counts)
}

type patchConversationRequest struct {
	Labels   *[]string `json:"labels"`
	Priority *string   `json:"priority"`
	// SnoozedUntil: absent leaves it, null ends the snooze, a time snoozes.
	SnoozedUntil json.RawMessage `json:"snoozed_until"`
	// Attributes are merged in; a key set to null is removed.
	Attributes map[string]any `json:"attributes"`
}

func (s *Server) patchConversation(c echo.Context) error {
	var req patchConversationRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	in := chat.PatchInput{Labels: req.Labels, Priority: req.Priority, Attributes: req.Attributes}
	switch raw := string(req.SnoozedUntil); raw {
	case "":
	case "null":
		in.ClearSnooze = true
	default:
		var at time.Time
		if err := json.Unmarshal(req.SnoozedUntil, &at); err != nil {
			return kefu.Invalid(map[string]string{"snoozed_until": "must be an RFC 3339 time or null"})
		}
		in.SnoozedUntil = &at
	}
	conv, err := s.chat.Patch(c.Request().Context(), principal(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

// unassign: an agent may give back their own conversation; taking one from
// someone else needs the assign permission.
func (s *Server) unassign(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	ok, err := s.tenants.Can(p, tenants.ObjConversations, tenants.ActAssign)
	if err != nil {
		return err
	}
	if !ok {
		conv, err := s.chat.Conversation(ctx, p, c.Param("id"))
		if err != nil {
			return err
		}
		if conv.AssigneeID != p.ID {
			return kefu.Errorf(kefu.EDenied, "your role may not take conversations from others")
		}
	}
	conv, err := s.chat.Unassign(ctx, p, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) search(c echo.Context) error {
	limit, err := queryInt(c, "limit", 0)
	if err != nil {
		return err
	}
	hits, next, err := s.chat.Search(c.Request().Context(), principal(c), chat.SearchInput{
		Q: c.QueryParam("q"), Type: c.QueryParam("type"), Limit: int(limit), Cursor: c.QueryParam("cursor"),
	})
	if err != nil {
		return err
	}
	var nextCursor any
	if next != "" {
		nextCursor = next
	}
	return c.JSON(http.StatusOK, map[string]any{"results": hits, "next_cursor": nextCursor})
}

type teamRequest struct {
	Name    *string   `json:"name"`
	Members *[]string `json:"members"`
}

func (s *Server) listTeams(c echo.Context) error {
	teams, err := s.tenants.Teams(c.Request().Context(), principal(c).TenantID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"teams": teams})
}

func (s *Server) getTeam(c echo.Context) error {
	t, err := s.tenants.Team(c.Request().Context(), principal(c).TenantID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) createTeam(c echo.Context) error {
	var req teamRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	t, err := s.tenants.CreateTeam(c.Request().Context(), principal(c).TenantID, tenants.TeamInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, t)
}

func (s *Server) updateTeam(c echo.Context) error {
	var req teamRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	t, err := s.tenants.UpdateTeam(c.Request().Context(), principal(c).TenantID, c.Param("id"), tenants.TeamInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

func (s *Server) deleteTeam(c echo.Context) error {
	if err := s.chat.DeleteTeam(c.Request().Context(), principal(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type cannedRequest struct {
	Shortcut *string `json:"shortcut"`
	Body     *string `json:"body"`
	Scope    *string `json:"scope"`
}

// manageTenantReplies: the workspace's canned replies are for those who
// may administer the tenant (admins and owners).
func (s *Server) manageTenantReplies(c echo.Context) (bool, error) {
	return s.tenants.Can(principal(c), tenants.ObjTenant, tenants.ActWrite)
}

func (s *Server) listCannedReplies(c echo.Context) error {
	out, err := s.chat.CannedReplies(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"canned_replies": out})
}

func (s *Server) createCannedReply(c echo.Context) error {
	var req cannedRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	manage, err := s.manageTenantReplies(c)
	if err != nil {
		return err
	}
	r, err := s.chat.CreateCannedReply(c.Request().Context(), principal(c), manage, chat.CannedInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

func (s *Server) updateCannedReply(c echo.Context) error {
	var req cannedRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	manage, err := s.manageTenantReplies(c)
	if err != nil {
		return err
	}
	r, err := s.chat.UpdateCannedReply(c.Request().Context(), principal(c), manage, c.Param("id"), chat.CannedInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) deleteCannedReply(c echo.Context) error {
	manage, err := s.manageTenantReplies(c)
	if err != nil {
		return err
	}
	if err := s.chat.DeleteCannedReply(c.Request().Context(), principal(c), manage, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
