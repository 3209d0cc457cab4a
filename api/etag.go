package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// etags gives every successful GET of the API a weak ETag, a hash of the
// body, and answers 304 Not Modified with no body when If-None-Match names
// it. The answer is still computed (a read costs the same), but a client
// polling a list or a conversation downloads it only when it changed. The
// hash is of the JSON before compression, so it does not depend on
// Accept-Encoding.
func etags(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodGet {
			return next(c)
		}
		res := c.Response()
		buf := &bufferedWriter{ResponseWriter: res.Writer, status: http.StatusOK}
		res.Writer = buf
		err := next(c)
		res.Writer = buf.ResponseWriter
		if err != nil && buf.body.Len() == 0 && !buf.wroteHeader {
			return err // the error handler writes the answer
		}
		w := buf.ResponseWriter
		if buf.status == http.StatusOK {
			sum := sha256.Sum256(buf.body.Bytes())
			tag := `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
			w.Header().Set("ETag", tag)
			if etagMatches(c.Request().Header.Get("If-None-Match"), tag) {
				w.Header().Del(echo.HeaderContentType)
				w.Header().Del(echo.HeaderContentLength)
				w.WriteHeader(http.StatusNotModified)
				res.Status = http.StatusNotModified
				return nil
			}
		}
		w.WriteHeader(buf.status)
		_, werr := w.Write(buf.body.Bytes())
		if err != nil {
			return err
		}
		return werr
	}
}

// etagMatches: If-None-Match lists tag (weak comparison, as RFC 9110 asks
// for If-None-Match), or is "*".
func etagMatches(header, tag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(tag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// bufferedWriter holds an answer back until its ETag is known.
type bufferedWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (b *bufferedWriter) WriteHeader(code int) {
	if !b.wroteHeader {
		b.status, b.wroteHeader = code, true
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

func (b *bufferedWriter) Unwrap() http.ResponseWriter { return b.ResponseWriter }
