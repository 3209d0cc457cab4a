package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/chat"
)

// contactRequest is a contact's fields; absent ones stay as they are.
type contactRequest struct {
	Name       *string        `json:"name"`
	Email      *string        `json:"email"`
	Phone      *string        `json:"phone"`
	Notes      *string        `json:"notes"`
	Attributes map[string]any `json:"attributes"`
	ExternalID *string        `json:"external_id"`
}

func (r contactRequest) input() chat.ContactInput {
	return chat.ContactInput{Name: r.Name, Email: r.Email, Phone: r.Phone, Notes: r.Notes, Attributes: r.Attributes, ExternalID: r.ExternalID}
}

func (s *Server) listContacts(c echo.Context) error {
	limit, err := queryInt(c, "limit", 50)
	if err != nil {
		return err
	}
	f := chat.ContactFilter{Query: c.QueryParam("q"), Limit: int(limit), Cursor: c.QueryParam("cursor")}
	if v := c.QueryParam("updated_since"); v != "" {
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return kefu.Invalid(map[string]string{"updated_since": "must be an RFC 3339 time"})
		}
		f.UpdatedSince = &at
	}
	list, next, err := s.chat.Contacts(c.Request().Context(), principal(c), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []chat.Contact{}
	}
	var nextCursor any
	if next != "" {
		nextCursor = next
	}
	return c.JSON(http.StatusOK, map[string]any{"contacts": list, "next_cursor": nextCursor})
}

func (s *Server) getContact(c echo.Context) error {
	ct, err := s.chat.Contact(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ct)
}

func (s *Server) createContact(c echo.Context) error {
	var req contactRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ct, err := s.chat.CreateContact(c.Request().Context(), principal(c), req.input())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, ct)
}

func (s *Server) patchContact(c echo.Context) error {
	var req contactRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ct, err := s.chat.UpdateContact(c.Request().Context(), principal(c), c.Param("id"), req.input())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ct)
}

func (s *Server) mergeContact(c echo.Context) error {
	var req struct {
		OtherID string `json:"other_id"`
	}
	if err := bind(c, &req); err != nil {
		return err
	}
	ct, err := s.chat.MergeContacts(c.Request().Context(), principal(c), c.Param("id"), req.OtherID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ct)
}
