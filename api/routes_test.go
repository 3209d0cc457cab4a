package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"kefu/api"
	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// TestEveryRouteIsDocumented keeps api/openapi.yaml honest: every route the
// server registers appears in the spec with its method.
func TestEveryRouteIsDocumented(t *testing.T) {
	doc := loadSpec(t)
	paths := mapAt(doc, "paths")
	ten := tenants.NewService(tenantstest.SQLite(t), tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	c := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus()})
	flowrun.New(c, flowrun.Config{})
	t.Cleanup(func() { c.Close(context.Background()) })
	srv := api.New(api.Config{Tenants: ten, Chat: c, Logger: slog.New(slog.DiscardHandler), WS: http.NotFoundHandler(), Gatherer: nil})
	param := regexp.MustCompile(`:([a-z_]+)`)
	checked := 0
	for _, r := range srv.Routes() {
		if strings.Contains(r.Path, "*") || r.Path == "/" || strings.HasPrefix(r.Method, "echo_route_") || r.Method == "OPTIONS" {
			continue // the web app's catch-alls and CORS preflights
		}
		path := param.ReplaceAllString(r.Path, "{$1}")
		item, ok := paths[path].(map[string]any)
		if !ok {
			t.Errorf("%s %s is served but not in api/openapi.yaml", r.Method, path)
			continue
		}
		if _, ok := item[strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s is served but its method is not in api/openapi.yaml", r.Method, path)
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("only %d routes checked", checked)
	}
}
