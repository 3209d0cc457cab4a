package kefu

import "context"

type ctxKey int

const requestIDKey ctxKey = iota

// WithRequestID returns ctx carrying the request id the HTTP edge gave the
// request (X-Request-Id), so that what the services log while serving it
// carries the id too (the logger reads it from the context).
func WithRequestID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}
