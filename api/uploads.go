package api

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/chat"
)

// uploadSlack is what a multipart body may carry besides the file: the
// boundaries, the part headers and a few small fields.
const uploadSlack = 64 << 10

// upload takes one file (multipart field "file") from a user, an API key or
// a visitor, up to chat.MaxUploadBytes. The body is read as a stream and
// stored chunk by chunk: memory per upload stays at one chunk whatever the
// file's size (never ParseMultipartForm, never io.ReadAll).
func (s *Server) upload(c echo.Context) error {
	r := c.Request()
	// What comes before the file's bytes (other fields, part headers) is
	// held in memory by the multipart reader: keep it small.
	body := &cappedReader{ReadCloser: http.MaxBytesReader(c.Response(), r.Body, chat.MaxUploadBytes+uploadSlack), left: uploadSlack}
	r.Body = body
	mr, err := r.MultipartReader()
	if err != nil {
		return kefu.Invalid(map[string]string{"file": "send one file as the multipart/form-data field file"})
	}
	part, err := nextFile(mr)
	if err != nil {
		return err
	}
	defer part.Close()
	body.left = -1 // the file itself is bounded by MaxBytesReader
	att, err := s.chat.Upload(r.Context(), principal(c), chat.UploadInput{Name: part.FileName(), Body: uploadBody{part}, Declared: r.ContentLength})
	if err != nil {
		if kefu.Code(err) == kefu.ERateLimit || kefu.Code(err) == kefu.EInvalid {
			// Read the rest (bounded) so that the client, still sending,
			// gets the answer instead of a reset connection.
			_, _ = io.Copy(io.Discard, body)
		}
		return err
	}
	return c.JSON(http.StatusCreated, att)
}

// nextFile returns the part named "file" that carries a file name.
func nextFile(mr *multipart.Reader) (*multipart.Part, error) {
	for {
		p, err := mr.NextPart()
		switch {
		case err == io.EOF:
			return nil, kefu.Invalid(map[string]string{"file": "send one file as the multipart/form-data field file"})
		case err != nil:
			return nil, uploadErr(err)
		case p.FormName() == "file" && p.FileName() != "":
			return p, nil
		}
	}
}

// uploadErr maps what reading an upload may fail with to the contract's
// errors: too_large over the limits, else invalid_argument.
func uploadErr(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return kefu.Errorf(kefu.ETooLarge, "file is over %d MiB", chat.MaxUploadBytes>>20)
	case errors.Is(err, errHeadTooLarge):
		return kefu.Errorf(kefu.ETooLarge, "the form fields before the file are over %d KiB", uploadSlack>>10)
	}
	if _, ok := kefu.AsError(err); ok {
		return err
	}
	return kefu.Invalid(map[string]string{"file": "malformed multipart/form-data body"})
}

// uploadBody turns read errors into the contract's, for chat.Upload to
// pass on.
type uploadBody struct{ r io.Reader }

func (u uploadBody) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && err != io.EOF {
		err = uploadErr(err)
	}
	return n, err
}

var errHeadTooLarge = errors.New("multipart head too large")

// cappedReader fails once more than left bytes are read; left < 0 lifts
// the cap.
type cappedReader struct {
	io.ReadCloser
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return c.ReadCloser.Read(p)
	}
	if c.left == 0 {
		return 0, errHeadTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	return n, err
}

// file serves a file to whoever holds its signed, unexpired link, streaming
// it chunk by chunk. Only images are shown inline; anything else downloads,
// and nothing may run as a page.
func (s *Server) file(c echo.Context) error {
	f, body, err := s.chat.File(c.Request().Context(), c.Param("tenant"), c.Param("id"), c.QueryParam("exp"), c.QueryParam("sig"))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(int(f.FreshFor.Seconds())))
	disp := "attachment"
	if strings.HasPrefix(f.ContentType, "image/") && f.ContentType != "image/svg+xml" {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": f.Name}))
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	return c.Stream(http.StatusOK, f.ContentType, body)
}
