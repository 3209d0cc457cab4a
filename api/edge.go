package api

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kefu"
)

// cleanParams refuses path and query parameters that are not clean text
// (control characters, NUL above all, or invalid UTF-8) with 400 naming the
// parameter, before any handler passes them to the database: PostgreSQL
// fails every statement that carries a NUL, SQLite does not, and both
// backends must answer alike.
func cleanParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		fields := map[string]string{}
		values := c.ParamValues()
		for i, name := range c.ParamNames() {
			if i < len(values) {
				kefu.CheckText(fields, name, values[i])
			}
		}
		for k, vs := range c.QueryParams() {
			if p := kefu.TextProblem(k); p != "" {
				fields[strconv.QuoteToASCII(k)] = p
				continue
			}
			for _, v := range vs {
				kefu.CheckText(fields, k, v)
			}
		}
		if len(fields) > 0 {
			return kefu.Invalid(fields)
		}
		return next(c)
	}
}

// securityHeaders go on every answer of the router (the /ws upgrade passes
// it by): no MIME sniffing, no full referrers to other sites, and HSTS when
// the public URL is https. API answers may not be framed or run anything;
// the app pages get their policy where they are served (servePage).
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	hsts := strings.HasPrefix(strings.ToLower(s.cfg.PublicURL), "https://")
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		p := c.Request().URL.Path
		if strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" || p == "/metrics" {
			// Files set their own, stricter policy (sandboxed).
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
			h.Set("X-Frame-Options", "DENY")
		}
		return next(c)
	}
}

var hostPattern = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

// pagePolicy is the Content-Security-Policy of the app's HTML pages
// (landing, signup, login, the console, /demo): scripts only from this
// origin (no inline script, no eval), styles from this origin or inline
// (Ant Design injects its styles at run time), images also as data: and
// blob: URLs (previews of files being uploaded), connections to this
// origin's API and WebSocket, and never in a frame. The WebSocket origin is
// named because older browsers do not count ws(s): as 'self'.
func (s *Server) pagePolicy(r *http.Request) string {
	var hosts []string
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Host != "" {
		hosts = append(hosts, u.Host)
	}
	if hostPattern.MatchString(r.Host) && (len(hosts) == 0 || !strings.EqualFold(hosts[0], r.Host)) {
		hosts = append(hosts, r.Host)
	}
	connect := "'self'"
	for _, h := range hosts {
		connect += " ws://" + h + " wss://" + h
	}
	return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
		"font-src 'self' data:; connect-src " + connect + "; frame-ancestors 'none'; base-uri 'self'; " +
		"form-action 'self'; object-src 'none'"
}

// metrics serves Prometheus metrics to loopback clients, or to anyone
// with the metrics token. A request that came through a proxy (it carries
// X-Forwarded-For or Forwarded) is not a loopback client, even when the
// proxy itself runs on this host. With no gatherer, metrics are served on
// their own listener (KEFU_METRICS_ADDR), and here there are none.
func (s *Server) metrics() echo.HandlerFunc {
	if s.cfg.Gatherer == nil {
		return func(c echo.Context) error {
			return kefu.Errorf(kefu.ENotFound, "metrics are served on the metrics address")
		}
	}
	h := echo.WrapHandler(promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
	return func(c echo.Context) error {
		r := c.Request()
		if tok := s.cfg.MetricsToken; tok != "" {
			got, ok := strings.CutPrefix(r.Header.Get(echo.HeaderAuthorization), "Bearer ")
			if ok && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1 {
				return h(c)
			}
		}
		if isLoopback(r) {
			return h(c)
		}
		if s.cfg.MetricsToken != "" {
			return kefu.Errorf(kefu.EAuth, "metrics need Authorization: Bearer <KEFU_METRICS_TOKEN>")
		}
		return kefu.Errorf(kefu.EDenied, "metrics are served to loopback clients only (see KEFU_METRICS_ADDR and KEFU_METRICS_TOKEN)")
	}
}

// isLoopback: the peer is this host and no proxy forwarded the request.
func isLoopback(r *http.Request) bool {
	if r.Header.Get(echo.HeaderXForwardedFor) != "" || r.Header.Get("Forwarded") != "" || r.Header.Get(echo.HeaderXRealIP) != "" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
