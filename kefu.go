// Package kefu holds the few types every layer of Kefu shares: the error
// codes of the public contract. Domain packages return *Error values (wrapped
// with %w as they travel up); the api and ws edges map the code to an HTTP
// status or a WebSocket error frame in one table each.
package kefu

import (
	"errors"
	"fmt"
	"time"
)

// Error codes, as in api/openapi.yaml (the Error schema).
const (
	EInvalid     = "invalid_argument"
	EAuth        = "unauthenticated"
	EDenied      = "permission_denied"
	ENotFound    = "not_found"
	EExists      = "already_exists"
	EConflict    = "conflict"
	ETooLarge    = "too_large"
	EFlow        = "invalid_flow"
	ERateLimit   = "rate_limited"
	EInternal    = "internal"
	EUnavailable = "unavailable"
	// EMethod: the path exists but not with this method (405, with Allow).
	EMethod = "method_not_allowed"
	// EIdempotencyReused: an Idempotency-Key came again with a different
	// request (422).
	EIdempotencyReused = "idempotency_key_reused"
	// EQuota: the tenant's plan allows no more of something (402); Params
	// say what (resource, limit, used, plan).
	EQuota = "quota_exceeded"
	// EOriginNotAllowed: the widget was loaded on a page whose origin is
	// not in the tenant's allowed origins (403).
	EOriginNotAllowed = "origin_not_allowed"
	// EIdentityInvalid: Kefu.identify's hash is not the tenant's HMAC of
	// the id (403 where an identity is required; otherwise the session
	// starts anonymous and says so).
	EIdentityInvalid = "identity_invalid"
	// EIdentityRequired: the tenant runs its widget for identified
	// visitors only, and none was given (403).
	EIdentityRequired = "identity_required"
	// EPrechatRequired: the pre-chat form's required fields are missing
	// on a visitor's first message (400, with fields).
	EPrechatRequired = "prechat_required"
)

// Error is an error a client may see: a stable code, a safe message, and for
// validation errors the offending fields.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	// RetryAfter, on a rate_limited error, is how long the caller should
	// wait; the HTTP edge sends it as Retry-After.
	RetryAfter time.Duration
	// Params are the numbers behind the message (a quota's limit and
	// use), for clients that write their own.
	Params map[string]any
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Code + ": " + e.Message
	}
	return fmt.Sprintf("%s: %s %v", e.Code, e.Message, e.Fields)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an invalid_argument error with per-field messages.
func Invalid(fields map[string]string) *Error {
	return &Error{Code: EInvalid, Message: "some fields are invalid", Fields: fields}
}

// Code returns the code of the first *Error in err's chain, or EInternal.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// RateLimited returns a rate_limited error that says when to retry.
func RateLimited(retry time.Duration, format string, args ...any) *Error {
	return &Error{Code: ERateLimit, Message: fmt.Sprintf(format, args...), RetryAfter: retry}
}
