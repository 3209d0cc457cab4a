package api

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/chat"
	"kefu/routing"
)

type flowRequest struct {
	Name  string          `json:"name"`
	Graph json.RawMessage `json:"graph"`
}

func (r flowRequest) graph() (routing.Graph, error) {
	if len(r.Graph) == 0 || string(r.Graph) == "null" {
		return routing.Graph{}, kefu.Invalid(map[string]string{"graph": "is required"})
	}
	return routing.DecodeGraph(r.Graph)
}

func (s *Server) listFlows(c echo.Context) error {
	flows, err := s.chat.Flows(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"flows": flows})
}

func (s *Server) createFlow(c echo.Context) error {
	var req flowRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	g, err := req.graph()
	if err != nil {
		return err
	}
	f, err := s.chat.CreateFlow(c.Request().Context(), principal(c), req.Name, g)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, f)
}

func (s *Server) getFlow(c echo.Context) error {
	v, err := queryInt(c, "version", 0)
	if err != nil {
		return err
	}
	f, err := s.chat.Flow(c.Request().Context(), principal(c), c.Param("id"), int(v))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

func (s *Server) updateFlow(c echo.Context) error {
	var req flowRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	g, err := req.graph()
	if err != nil {
		return err
	}
	f, err := s.chat.UpdateFlow(c.Request().Context(), principal(c), c.Param("id"), req.Name, g)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

type versionRequest struct {
	Version int `json:"version"`
}

// publishFlow publishes the latest version, or {version} for a rollback.
func (s *Server) publishFlow(c echo.Context) error { return s.publishVersion(c, false) }

// rollbackFlow publishes {version} (required) again.
func (s *Server) rollbackFlow(c echo.Context) error { return s.publishVersion(c, true) }

func (s *Server) publishVersion(c echo.Context, rollback bool) error {
	var req versionRequest
	if rollback || c.Request().ContentLength != 0 {
		if err := bind(c, &req); err != nil {
			return err
		}
	}
	switch {
	case rollback && req.Version < 1:
		return kefu.Invalid(map[string]string{"version": "is required: the version to publish again"})
	case req.Version < 0:
		return kefu.Invalid(map[string]string{"version": "must be a version of this flow"})
	}
	f, err := s.chat.PublishFlow(c.Request().Context(), principal(c), c.Param("id"), req.Version)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

func (s *Server) flowVersions(c echo.Context) error {
	vs, err := s.chat.FlowVersions(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"versions": vs})
}

type simulateRequest struct {
	Event   string             `json:"event"`
	Visitor routing.VisitorEnv `json:"visitor"`
	Message *struct {
		Text          string `json:"text"`
		HasAttachment bool   `json:"has_attachment"`
	} `json:"message"`
	Conversation *routing.ConversationEnv `json:"conversation"`
	At           string                   `json:"at"`
	Version      int                      `json:"version"`
	Graph        json.RawMessage          `json:"graph"`
	LLM          bool                     `json:"llm"` // ask the real model at llm nodes (a dry run)
}

func (s *Server) simulateFlow(c echo.Context) error {
	var req simulateRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	in := chat.SimulateInput{Event: req.Event, Visitor: req.Visitor, At: req.At, Version: req.Version, AskLLM: req.LLM}
	if req.Message != nil {
		in.Message = routing.MessageEnv{Text: req.Message.Text, HasAttachment: req.Message.HasAttachment}
	}
	if req.Conversation != nil {
		in.Conversation = *req.Conversation
	}
	if len(req.Graph) > 0 && string(req.Graph) != "null" {
		g, err := routing.DecodeGraph(req.Graph)
		if err != nil {
			return err
		}
		in.Graph = &g
	}
	res, err := s.chat.Simulate(c.Request().Context(), principal(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"trace": res.Trace, "result": res})
}

type replayRequest struct {
	Limit   int `json:"limit"`
	Version int `json:"version"`
}

func (s *Server) replayFlow(c echo.Context) error {
	var req replayRequest
	if c.Request().ContentLength != 0 {
		if err := bind(c, &req); err != nil {
			return err
		}
	}
	rep, err := s.chat.Replay(c.Request().Context(), principal(c), c.Param("id"), req.Version, req.Limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

func (s *Server) conversationEvents(c echo.Context) error {
	evs, err := s.chat.ConversationEvents(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"events": evs})
}
