package api

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"kefu"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[string]int{
	kefu.EInvalid:     http.StatusBadRequest,
	kefu.EAuth:        http.StatusUnauthorized,
	kefu.EDenied:      http.StatusForbidden,
	kefu.ENotFound:    http.StatusNotFound,
	kefu.EExists:      http.StatusConflict,
	kefu.EConflict:    http.StatusConflict,
	kefu.ETooLarge:    http.StatusRequestEntityTooLarge,
	kefu.EFlow:        http.StatusUnprocessableEntity,
	kefu.ERateLimit:   http.StatusTooManyRequests,
	kefu.EUnavailable: http.StatusServiceUnavailable,
	kefu.EInternal:    http.StatusInternalServerError,
	kefu.EMethod:      http.StatusMethodNotAllowed,

	kefu.EIdempotencyReused: http.StatusUnprocessableEntity,
	kefu.EQuota:             http.StatusPaymentRequired,
	kefu.EOriginNotAllowed:  http.StatusForbidden,
	kefu.EIdentityInvalid:   http.StatusForbidden,
	kefu.EIdentityRequired:  http.StatusForbidden,
	kefu.EPrechatRequired:   http.StatusBadRequest,
}

// codeOfStatus maps the statuses Echo itself produces back to codes.
var codeOfStatus = map[int]string{
	http.StatusBadRequest:            kefu.EInvalid,
	http.StatusUnauthorized:          kefu.EAuth,
	http.StatusForbidden:             kefu.EDenied,
	http.StatusNotFound:              kefu.ENotFound,
	http.StatusMethodNotAllowed:      kefu.EMethod,
	http.StatusRequestEntityTooLarge: kefu.ETooLarge,
	http.StatusUnsupportedMediaType:  kefu.EInvalid,
	http.StatusTooManyRequests:       kefu.ERateLimit,
	http.StatusServiceUnavailable:    kefu.EUnavailable,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Params  map[string]any    `json:"params,omitempty"`
}

// handleError writes every error in the contract's shape. Unknown errors are
// a 500 with a generic message; their cause is logged once, with the request
// and tenant ids.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	body := errorDetail{Code: kefu.EInternal, Message: "internal error"}
	status := http.StatusInternalServerError
	var he *echo.HTTPError
	if e, ok := kefu.AsError(err); ok {
		body = errorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields, Params: e.Params}
		if st, ok := statusOf[e.Code]; ok {
			status = st
		}
		if e.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
		}
	} else if errors.As(err, &he) {
		status = he.Code
		body.Code = codeOfStatus[he.Code]
		if body.Code == "" {
			body.Code = kefu.EInternal
		}
		if m, ok := he.Message.(string); ok {
			body.Message = m
		} else {
			body.Message = http.StatusText(he.Code)
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			body.Message = "request body is too large"
		}
	}
	if status >= 500 {
		// A fault is an error a human must look at; 503 (a dependency is
		// down, or the server is draining) is a warning: its cause has its
		// own alert, and readiness probes would repeat it every few seconds.
		level := slog.LevelError
		if status == http.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		s.log.Log(c.Request().Context(), level, "request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"tenant_id", tenantOf(c), "method", c.Request().Method, "path", c.Path(), "err", err)
		if body.Code == kefu.EInternal {
			body.Message = "internal error"
		}
	}
	if status == http.StatusTooManyRequests && c.Response().Header().Get("Retry-After") == "" {
		c.Response().Header().Set("Retry-After", "1")
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	// The code is the contract; the message follows Accept-Language.
	if lang := kefu.Language(c.Request().Header.Get("Accept-Language")); lang != "en" {
		l := kefu.LocalizeError(lang, &kefu.Error{Message: body.Message, Fields: body.Fields})
		body.Message, body.Fields = l.Message, l.Fields
	}
	_ = c.JSON(status, errorBody{Error: body})
}
