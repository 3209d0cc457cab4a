package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/chat"
)

// upload takes one file (multipart field "file") from a user, an API key or
// a visitor, up to chat.MaxUploadBytes.
func (s *Server) upload(c echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, chat.MaxUploadBytes+64<<10)
	fh, err := c.FormFile("file")
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return kefu.Errorf(kefu.ETooLarge, "file is over %d MiB", chat.MaxUploadBytes>>20)
	case err != nil:
		return kefu.Invalid(map[string]string{"file": "send one file as the multipart/form-data field file"})
	case fh.Size > chat.MaxUploadBytes:
		return kefu.Errorf(kefu.ETooLarge, "file is over %d MiB", chat.MaxUploadBytes>>20)
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, chat.MaxUploadBytes+1))
	if err != nil {
		return err
	}
	att, err := s.chat.Upload(r.Context(), principal(c), fh.Filename, data)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, att)
}

// file serves a file to whoever holds its signed link. Only images are shown
// inline; anything else downloads, and nothing may run as a page.
func (s *Server) file(c echo.Context) error {
	name, ct, data, err := s.chat.File(c.Request().Context(), c.Param("tenant"), c.Param("id"), c.QueryParam("sig"))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=86400")
	disp := "attachment"
	if strings.HasPrefix(ct, "image/") && ct != "image/svg+xml" {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name}))
	return c.Blob(http.StatusOK, ct, data)
}
