package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/tenants"
)

// maxIdempotencyKey bounds an Idempotency-Key header.
const maxIdempotencyKey = 255

// idempotency makes a POST that carries an Idempotency-Key safe to retry:
// the first request with a key (per tenant and principal) runs and its answer
// is kept for 24 hours; a retry with the same request gets that answer again
// with Idempotent-Replayed: true and changes nothing; the same key with
// another request is 422 idempotency_key_reused, and a retry while the first
// is still running is 409 conflict. Answers that say "try again" — a server
// fault (5xx) or rate_limited — are not kept, so the retry runs.
func (s *Server) idempotency(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		key := req.Header.Get("Idempotency-Key")
		if req.Method != http.MethodPost || key == "" {
			return next(c)
		}
		if len(key) > maxIdempotencyKey || !kefu.CleanText(key) {
			return kefu.Invalid(map[string]string{"Idempotency-Key": "must be at most 255 characters of text"})
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			var mb *http.MaxBytesError
			var he *echo.HTTPError
			if errors.As(err, &mb) || (errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge) {
				return kefu.Errorf(kefu.ETooLarge, "request body is too large")
			}
			return kefu.Errorf(kefu.EInvalid, "could not read the request body")
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		io.WriteString(h, req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery+"\n")
		h.Write(body)
		hash := hex.EncodeToString(h.Sum(nil))

		ctx, p := req.Context(), principal(c)
		stored, err := s.tenants.Idempotent(ctx, p, key, hash)
		if err != nil {
			return err
		}
		if stored != nil {
			c.Response().Header().Set("Idempotent-Replayed", "true")
			return c.Blob(stored.Status, stored.ContentType, stored.Body)
		}
		rec := &recorder{ResponseWriter: c.Response().Writer}
		c.Response().Writer = rec
		err = next(c)
		if err != nil {
			c.Error(err) // written now, so that the answer is kept too
		}
		c.Response().Writer = rec.ResponseWriter
		s.keepAnswer(context.WithoutCancel(ctx), p, key, c.Response().Status, c.Response().Header().Get(echo.HeaderContentType), rec.body.Bytes())
		return nil
	}
}

// keepAnswer stores the answer to the request holding key, or lets the key
// go when the answer says to try again.
func (s *Server) keepAnswer(ctx context.Context, p tenants.Principal, key string, status int, contentType string, body []byte) {
	var err error
	if status >= 500 || status == http.StatusTooManyRequests {
		err = s.tenants.ReleaseIdempotent(ctx, p, key)
	} else {
		err = s.tenants.FinishIdempotent(ctx, p, key, tenants.StoredResponse{Status: status, ContentType: contentType, Body: body})
	}
	if err != nil {
		// The key stays in flight until its lease ends; retries get 409
		// meanwhile, never a second run.
		s.log.WarnContext(ctx, "idempotency key not stored", "tenant_id", p.TenantID, "err", err)
	}
}

// recorder passes an answer on and keeps a copy of its body.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
