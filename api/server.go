// Package api is Kefu's HTTP edge: the REST API under /api/v1, health and
// metrics, and the embedded web app. Handlers bind and validate input, call
// one service, and map the result to a response type; the one error table
// in errors.go turns domain errors into the contract's error shape.
package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"kefu"
	"kefu/audit"
	"kefu/bots"
	"kefu/chat"
	"kefu/clientip"
	"kefu/mailer"
	"kefu/onboarding"
	"kefu/reports"
	"kefu/tenants"
	"kefu/webhook"
)

// MaxBodyBytes bounds every JSON request body (413 above).
const MaxBodyBytes = 1 << 20

// Config configures the HTTP server.
type Config struct {
	Tenants  *tenants.Service
	Chat     *chat.Service
	Bots     *bots.Service // FAQ, articles, the model's settings
	Logger   *slog.Logger
	Web      fs.FS        // the built web app (index.html, assets/, widget.js, demo.html); may be nil
	WS       http.Handler // the /ws endpoint
	Gatherer prometheus.Gatherer
	// Registry gets the HTTP metrics (kefu_http_*); may be nil.
	Registry prometheus.Registerer
	// Tracer, when set, makes every request a span.
	Tracer trace.TracerProvider
	// Ready reports whether the database (and Redis, when configured) answer.
	Ready func(ctx context.Context) error
	// TrustProxy takes the client IP from X-Forwarded-For (behind a proxy).
	TrustProxy bool
	// AuthPerMinute bounds signup and login attempts per client IP.
	AuthPerMinute int
	// WidgetPerMinute bounds widget sessions per client IP.
	WidgetPerMinute int
	// PublicURL is the address users reach. When it is https, every
	// answer carries Strict-Transport-Security; its host is allowed for
	// WebSockets in the app pages' Content-Security-Policy.
	PublicURL string
	// PublicDemo lets /demo run any tenant's widget for anyone; otherwise
	// the page runs it only for that tenant's signed-in staff.
	PublicDemo bool
	// MetricsToken, when set, lets a non-loopback client read /metrics
	// with Authorization: Bearer <MetricsToken>. Without it, /metrics
	// answers loopback clients only. A nil Gatherer means metrics are
	// served elsewhere (KEFU_METRICS_ADDR) and /metrics is 404 here.
	MetricsToken string
	// UploadsPerMinute bounds upload requests per client IP (the quotas
	// per visitor and tenant are chat's).
	UploadsPerMinute int
	// Webhooks serves /api/v1/webhooks (nil: those paths answer 404).
	Webhooks *webhook.Service
	// Mailer sends e-mail; nil or not Configured() means e-mail is off,
	// which the admin pages say (EmailConfigured).
	Mailer *mailer.Mailer
	// Redis, when set, keeps the API rate limits' buckets, so that every
	// node counts the same; without it each node keeps its own.
	Redis redis.Scripter
	// RedisPrefix starts the buckets' keys (default "kefu:").
	RedisPrefix string
}

// EmailConfigured reports whether the server can send e-mail
// (KEFU_SMTP_URL is set).
func (s *Server) EmailConfigured() bool { return s.cfg.Mailer.Configured() }

// Server is the HTTP server.
type Server struct {
	e       *echo.Echo
	tenants *tenants.Service
	chat    *chat.Service
	reports *reports.Service
	// onboarding computes the first-day checklist.
	onboarding *onboarding.Service
	// resetQueue bounds the password-reset requests in the background;
	// resetTurn lets one run at a time.
	resetQueue, resetTurn chan struct{}
	log                   *slog.Logger
	cfg                   Config
	http                  *httpMetrics
	tracer                trace.Tracer    // nil: no tracing
	routes                map[string]bool // "METHOD /path" of every route but the catch-alls (noEndpoint)
	buckets               buckets         // the API keys' rate limits
	audit                 *audit.Log
}

// New builds the router.
func New(cfg Config) *Server {
	if cfg.AuthPerMinute == 0 {
		cfg.AuthPerMinute = 20
	}
	if cfg.WidgetPerMinute == 0 {
		cfg.WidgetPerMinute = 120
	}
	if cfg.UploadsPerMinute == 0 {
		cfg.UploadsPerMinute = 30
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{e: e, tenants: cfg.Tenants, chat: cfg.Chat, reports: reports.New(cfg.Tenants), onboarding: onboarding.New(cfg.Tenants), resetQueue: make(chan struct{}, maxResetQueue), resetTurn: make(chan struct{}, 1), log: cfg.Logger, cfg: cfg, http: newHTTPMetrics(cfg.Registry), audit: audit.New(cfg.Tenants, cfg.Logger)}
	if cfg.Tracer != nil {
		s.tracer = cfg.Tracer.Tracer("kefu/api")
	}
	if cfg.RedisPrefix == "" {
		cfg.RedisPrefix = "kefu:"
	}
	s.buckets = newMemBuckets()
	if cfg.Redis != nil {
		s.buckets = redisBuckets{rdb: cfg.Redis, prefix: cfg.RedisPrefix}
	}
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = clientip.Resolver(cfg.TrustProxy)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.log.ErrorContext(c.Request().Context(), "panic", "path", c.Path(), "err", err, "stack", string(stack))
		return err
	}}))
	e.Use(middleware.RequestID())
	e.Use(s.observe)
	e.Use(s.securityHeaders)

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", s.metrics())

	v1 := e.Group("/api/v1",
		middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  []string{"*"},
			AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
			AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, "Idempotency-Key", "If-None-Match"},
			ExposeHeaders: []string{"ETag", "Idempotent-Replayed", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"},
			MaxAge:        3600,
		}),
		middleware.BodyLimit("1M"),
		cleanParams,
		compressJSON(),
	)
	authLimit := limit(newKeyedLimiter(cfg.AuthPerMinute, cfg.AuthPerMinute/2+1))
	widgetLimit := limit(newKeyedLimiter(cfg.WidgetPerMinute, cfg.WidgetPerMinute/2+1))
	uploadLimit := limit(newKeyedLimiter(cfg.UploadsPerMinute, cfg.UploadsPerMinute/2+1))
	v1.POST("/signup", s.signup, authLimit)
	v1.POST("/auth/login", s.login, authLimit)
	v1.POST("/auth/forgot", s.forgotPassword, authLimit)
	v1.POST("/auth/reset", s.resetPassword, authLimit)
	v1.GET("/config", s.publicConfig)
	v1.POST("/invites/lookup", s.lookupInvite, authLimit)
	v1.POST("/invites/accept", s.acceptInvite, authLimit)
	v1.GET("/widget/config", s.widgetConfig, widgetLimit)
	v1.POST("/widget/sessions", s.widgetSession, widgetLimit)
	v1.POST("/widget/offline", s.widgetOffline, widgetLimit)
	v1.POST("/widget/csat", s.widgetCSAT, widgetLimit, s.authenticateAny)
	// The form's answers have a bucket of their own: a visitor's session,
	// config and rating calls do not eat into it.
	v1.POST("/widget/prechat", s.widgetPrechat, limit(newKeyedLimiter(cfg.WidgetPerMinute, cfg.WidgetPerMinute/2+1)), s.authenticateAny)
	v1.GET("/files/:tenant/:id", s.file)
	// Uploads take any participant's token (visitors' too) and their own
	// body limit; the group's 1 MiB limit does not apply to them. The rate
	// per client IP comes before the token is even checked.
	e.POST("/api/v1/uploads", s.upload, middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins: []string{"*"}, AllowMethods: []string{http.MethodPost}, AllowHeaders: []string{echo.HeaderAuthorization},
		ExposeHeaders: []string{"Retry-After"},
	}), uploadLimit, s.authenticateAny)
	e.OPTIONS("/api/v1/uploads", func(c echo.Context) error { return nil }, middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins: []string{"*"}, AllowMethods: []string{http.MethodPost}, AllowHeaders: []string{echo.HeaderAuthorization},
	}))

	// auditTrail is innermost: an idempotent replay is not recorded twice.
	a := v1.Group("", s.authenticate, s.apiRate, s.idempotency, etags, s.auditTrail)
	a.POST("/auth/logout", s.logout)
	a.POST("/auth/logout-all", s.logoutAll)
	a.GET("/me", s.me)
	a.POST("/me/password", s.changePassword, authLimit)
	a.GET("/me/sessions", s.listSessions)
	a.DELETE("/me/sessions/:id", s.revokeSession)
	a.GET("/tenant", s.getTenant, s.can(tenants.ObjTenant, tenants.ActRead))
	a.GET("/widget-settings", s.getWidgetSettings, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.PUT("/widget-settings", s.putWidgetSettings, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.POST("/widget-settings/identity-secret", s.rotateIdentitySecret, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.PATCH("/tenant", s.patchTenant, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.GET("/agents", s.listAgents, s.can(tenants.ObjAgents, tenants.ActRead))
	a.POST("/agents", s.createAgent, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.GET("/agents/:id", s.getAgent, s.can(tenants.ObjAgents, tenants.ActRead))
	a.PATCH("/agents/:id", s.patchAgent, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.DELETE("/agents/:id", s.deleteAgent, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.POST("/agents/:id/deactivate", s.deactivateAgent, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.POST("/agents/:id/reactivate", s.reactivateAgent, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.POST("/agents/:id/password", s.resetAgentPassword, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.GET("/invites", s.listInvites, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.POST("/invites", s.createInvite, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.DELETE("/invites/:id", s.revokeInvite, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.GET("/roles", s.listRoles, s.can(tenants.ObjAgents, tenants.ActRead))
	a.POST("/roles", s.createRole, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.PUT("/roles/:name", s.updateRole, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.DELETE("/roles/:name", s.deleteRole, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.GET("/reports/overview", s.reportOverview, s.can(tenants.ObjReports, tenants.ActRead))
	a.GET("/reports/agents", s.reportAgents, s.can(tenants.ObjReports, tenants.ActRead))
	a.GET("/reports/teams", s.reportTeams, s.can(tenants.ObjReports, tenants.ActRead))
	a.GET("/reports/heatmap", s.reportHeatmap, s.can(tenants.ObjReports, tenants.ActRead))
	a.GET("/api-keys", s.listAPIKeys, s.can(tenants.ObjAPIKeys, tenants.ActRead))
	a.POST("/api-keys", s.createAPIKey, s.can(tenants.ObjAPIKeys, tenants.ActWrite))
	a.DELETE("/api-keys/:id", s.revokeAPIKey, s.can(tenants.ObjAPIKeys, tenants.ActWrite))
	a.GET("/onboarding", s.getOnboarding, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.PATCH("/onboarding", s.patchOnboarding, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.GET("/usage", s.usage, s.can(tenants.ObjTenant, tenants.ActRead))
	a.GET("/conversations", s.listConversations, s.can(tenants.ObjConversations, tenants.ActRead))
	a.POST("/conversations", s.createConversation, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.GET("/conversations/counts", s.conversationCounts, s.can(tenants.ObjConversations, tenants.ActRead))
	a.PATCH("/conversations/:id", s.patchConversation, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.POST("/conversations/:id/unassign", s.unassign, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.GET("/search", s.search, s.can(tenants.ObjConversations, tenants.ActRead))
	a.GET("/teams", s.listTeams, s.can(tenants.ObjAgents, tenants.ActRead))
	a.POST("/teams", s.createTeam, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.GET("/teams/:id", s.getTeam, s.can(tenants.ObjAgents, tenants.ActRead))
	a.PUT("/teams/:id", s.updateTeam, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.PATCH("/teams/:id", s.updateTeam, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.DELETE("/teams/:id", s.deleteTeam, s.can(tenants.ObjAgents, tenants.ActWrite))
	a.GET("/contacts", s.listContacts, s.can(tenants.ObjConversations, tenants.ActRead))
	a.POST("/contacts", s.createContact, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.GET("/contacts/:id", s.getContact, s.can(tenants.ObjConversations, tenants.ActRead))
	a.PATCH("/contacts/:id", s.patchContact, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.POST("/contacts/:id/merge", s.mergeContact, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.GET("/canned-replies", s.listCannedReplies, s.can(tenants.ObjConversations, tenants.ActRead))
	a.POST("/canned-replies", s.createCannedReply, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.PUT("/canned-replies/:id", s.updateCannedReply, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.PATCH("/canned-replies/:id", s.updateCannedReply, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.DELETE("/canned-replies/:id", s.deleteCannedReply, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.GET("/conversations/:id", s.getConversation, s.can(tenants.ObjConversations, tenants.ActRead))
	a.GET("/conversations/:id/messages", s.listMessages, s.can(tenants.ObjConversations, tenants.ActRead))
	a.POST("/conversations/:id/messages", s.postMessage, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.POST("/conversations/:id/assign", s.assign, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.POST("/conversations/:id/resolve", s.resolve, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.POST("/conversations/:id/reopen", s.reopen, s.can(tenants.ObjConversations, tenants.ActWrite))
	a.POST("/conversations/:id/read", s.read, s.can(tenants.ObjConversations, tenants.ActRead))
	a.GET("/conversations/:id/events", s.conversationEvents, s.can(tenants.ObjConversations, tenants.ActRead))
	a.POST("/conversations/:id/suggest", s.suggest, s.can(tenants.ObjConversations, tenants.ActRead))
	a.GET("/flows", s.listFlows, s.can(tenants.ObjFlows, tenants.ActRead))
	a.POST("/flows", s.createFlow, s.can(tenants.ObjFlows, tenants.ActWrite))
	a.GET("/flows/:id", s.getFlow, s.can(tenants.ObjFlows, tenants.ActRead))
	a.PUT("/flows/:id", s.updateFlow, s.can(tenants.ObjFlows, tenants.ActWrite))
	a.POST("/flows/:id/publish", s.publishFlow, s.can(tenants.ObjFlows, tenants.ActWrite))
	a.POST("/flows/:id/rollback", s.rollbackFlow, s.can(tenants.ObjFlows, tenants.ActWrite))
	a.GET("/flows/:id/versions", s.flowVersions, s.can(tenants.ObjFlows, tenants.ActRead))
	a.POST("/flows/:id/simulate", s.simulateFlow, s.can(tenants.ObjFlows, tenants.ActRead))
	a.POST("/flows/:id/replay", s.replayFlow, s.can(tenants.ObjFlows, tenants.ActRead))
	a.GET("/webhooks", s.listWebhooks, s.can(tenants.ObjWebhooks, tenants.ActRead))
	a.POST("/webhooks", s.createWebhook, s.can(tenants.ObjWebhooks, tenants.ActWrite))
	a.GET("/webhooks/events", s.webhookEvents, s.can(tenants.ObjWebhooks, tenants.ActRead))
	a.GET("/webhooks/:id", s.getWebhook, s.can(tenants.ObjWebhooks, tenants.ActRead))
	a.PATCH("/webhooks/:id", s.patchWebhook, s.can(tenants.ObjWebhooks, tenants.ActWrite))
	a.DELETE("/webhooks/:id", s.deleteWebhook, s.can(tenants.ObjWebhooks, tenants.ActWrite))
	a.POST("/webhooks/:id/rotate-secret", s.rotateWebhookSecret, s.can(tenants.ObjWebhooks, tenants.ActWrite))
	a.POST("/webhooks/:id/test", s.testWebhook, s.can(tenants.ObjWebhooks, tenants.ActWrite))
	a.GET("/webhooks/:id/deliveries", s.webhookDeliveries, s.can(tenants.ObjWebhooks, tenants.ActRead))
	a.POST("/webhooks/:id/deliveries/:delivery_id/redeliver", s.redeliverWebhook, s.can(tenants.ObjWebhooks, tenants.ActWrite))
	a.GET("/contacts/:id/export", s.exportContact, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.POST("/contacts/:id/erase", s.eraseContact, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.GET("/conversations/:id/transcript", s.transcript, s.can(tenants.ObjConversations, tenants.ActRead))
	a.GET("/audit", s.listAudit, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.GET("/business-hours", s.getBusinessHours, s.can(tenants.ObjTenant, tenants.ActWrite))
	a.PUT("/business-hours", s.putBusinessHours, s.can(tenants.ObjTenant, tenants.ActWrite))
	s.mountBots(a)
	v1.RouteNotFound("/*", s.noEndpoint)

	s.mountDocs()
	s.mountWeb(cfg.Web)
	s.routes = routeSet(e)
	return s
}

// Handler is the server's http.Handler. /ws goes straight to the WebSocket
// server, past the router and its middleware: a socket lives for hours, and
// nothing of a request's middleware needs to live with it.
func (s *Server) Handler() http.Handler {
	if s.cfg.WS == nil {
		return s.e
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			s.countUpgrade(w, r, s.cfg.WS)
			return
		}
		s.e.ServeHTTP(w, r)
	})
}

func (s *Server) ready(c echo.Context) error {
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			s.log.WarnContext(ctx, "not ready", "err", err)
			return kefu.Errorf(kefu.EUnavailable, "not ready: %v", err)
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
