package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/chat"
)

type widgetSessionRequest struct {
	WidgetKey    string `json:"widget_key"`
	VisitorToken string `json:"visitor_token"`
	Visitor      struct {
		Name       string         `json:"name"`
		Email      string         `json:"email"`
		Attributes map[string]any `json:"attributes"`
	} `json:"visitor"`
}

func (s *Server) widgetSession(c echo.Context) error {
	var req widgetSessionRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ws, err := s.chat.StartWidgetSession(c.Request().Context(), req.WidgetKey, req.VisitorToken, chat.VisitorInput{
		Name: req.Visitor.Name, Email: req.Visitor.Email, Attributes: req.Visitor.Attributes,
	})
	if err != nil {
		if kefu.Code(err) == kefu.ENotFound {
			return kefu.Errorf(kefu.ENotFound, "unknown widget key")
		}
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"visitor_id": ws.VisitorID, "visitor_token": ws.VisitorToken})
}

func (s *Server) widgetConfig(c echo.Context) error {
	t, err := s.tenants.TenantByWidgetKey(c.Request().Context(), c.QueryParam("key"))
	if err != nil {
		if kefu.Code(err) == kefu.ENotFound {
			return kefu.Errorf(kefu.ENotFound, "unknown widget key")
		}
		return err
	}
	online := s.chat.OnlineCount(t.ID)
	av, err := s.availability(c, t.ID, online)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tenant_name": t.Name, "agents_online": online,
		"business_hours": av.BusinessHours, "queue": av.Queue, "offline": av.Offline})
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
