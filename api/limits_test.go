package api_test

import (
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"

	"kefu/api"
	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// TestRateLimits: signup/login and widget sessions are limited per client
// IP; over the limit the answer is 429 rate_limited with Retry-After.
func TestRateLimits(t *testing.T) {
	store := tenantstest.SQLite(t)
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	c := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus()})
	flowrun.New(c, flowrun.Config{})
	srv := httptest.NewServer(conform(api.New(api.Config{Tenants: ten, Chat: c, Logger: slog.New(slog.DiscardHandler), AuthPerMinute: 3, WidgetPerMinute: 4}).Handler()))
	t.Cleanup(srv.Close)
	a := &app{t: t, srv: srv, url: srv.URL}

	t.Run("logins past the budget get 429 with Retry-After", func(t *testing.T) {
		var last resp
		for i := 0; i < 6; i++ {
			last = a.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": "nobody", "email": "a@b.co", "password": "password1"})
			if last.Status == 429 {
				break
			}
		}
		if last.Status != 429 || last.Code() != "rate_limited" {
			t.Fatalf("got %d %s", last.Status, last.Raw)
		}
		if s, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
		}
	})
	t.Run("widget sessions past the budget get 429", func(t *testing.T) {
		var last resp
		for i := 0; i < 10; i++ {
			last = a.do("POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": "wk_nope"})
			if last.Status == 429 {
				break
			}
		}
		if last.Status != 429 {
			t.Fatalf("got %d %s", last.Status, last.Raw)
		}
	})
}
