package api

import (
	"bytes"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// mountWeb serves the built web app: hashed assets with a long cache, the
// widget script and demo page, and index.html for every other page route so
// the single-page app can route them. HTML pages carry the app's
// Content-Security-Policy and may not be framed; the widget script, which
// customers embed in their own sites, carries no frame or page policy (it
// is a script, and its API calls are cross-origin without credentials).
func (s *Server) mountWeb(web fs.FS) {
	if web == nil {
		s.e.GET("/", func(c echo.Context) error {
			s.pageHeaders(c)
			return c.HTML(http.StatusOK, "<!doctype html><title>Kefu</title><p>The web app is not built. Run <code>make build</code>.</p>")
		})
		return
	}
	serveFile := func(c echo.Context, name, cache string) error {
		b, err := fs.ReadFile(web, name)
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "not found")
		}
		if strings.HasSuffix(name, ".html") {
			s.pageHeaders(c)
			if name == "demo.html" && s.cfg.PublicDemo {
				b = bytes.Replace(b, []byte(`<meta name="kefu-demo" content="staff">`), []byte(`<meta name="kefu-demo" content="public">`), 1)
			}
		}
		c.Response().Header().Set("Cache-Control", cache)
		ct := "application/octet-stream"
		switch {
		case strings.HasSuffix(name, ".html"):
			ct = "text/html; charset=utf-8"
		case strings.HasSuffix(name, ".js"):
			ct = "text/javascript; charset=utf-8"
		case strings.HasSuffix(name, ".css"):
			ct = "text/css; charset=utf-8"
		case strings.HasSuffix(name, ".svg"):
			ct = "image/svg+xml"
		case strings.HasSuffix(name, ".png"):
			ct = "image/png"
		case strings.HasSuffix(name, ".txt"):
			ct = "text/plain; charset=utf-8"
		case strings.HasSuffix(name, ".ico"):
			ct = "image/x-icon"
		case strings.HasSuffix(name, ".json"):
			ct = "application/json"
		}
		return c.Blob(http.StatusOK, ct, b)
	}
	s.e.GET("/widget.js", func(c echo.Context) error {
		c.Response().Header().Set("Access-Control-Allow-Origin", "*")
		return serveFile(c, "widget.js", "public, max-age=300")
	})
	s.e.GET("/demo", func(c echo.Context) error { return serveFile(c, "demo.html", "no-cache") })
	s.e.GET("/assets/*", func(c echo.Context) error {
		name := strings.TrimPrefix(c.Request().URL.Path, "/")
		if !fs.ValidPath(name) {
			return echo.NewHTTPError(http.StatusNotFound, "not found")
		}
		return serveFile(c, name, "public, max-age=31536000, immutable")
	})
	spa := func(c echo.Context) error { return serveFile(c, "index.html", "no-cache") }
	s.e.GET("/", spa)
	s.e.GET("/*", func(c echo.Context) error {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, "/api/") || p == "/ws" {
			return echo.NewHTTPError(http.StatusNotFound, "not found")
		}
		// A file at the root of the build (favicon.svg, robots.txt …).
		if name := strings.TrimPrefix(p, "/"); name != "" && !strings.Contains(name, "/") && fs.ValidPath(name) {
			if st, err := fs.Stat(web, name); err == nil && !st.IsDir() {
				return serveFile(c, name, "public, max-age=3600")
			}
		}
		return spa(c)
	})
}

// pageHeaders: the app pages' policy, and no framing (clickjacking).
func (s *Server) pageHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", s.pagePolicy(c.Request()))
	h.Set("X-Frame-Options", "DENY")
}
