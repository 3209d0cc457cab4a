package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kefu/mailer"
	"kefu/tenants"
)

// Config is every setting of the server. Each comes from a KEFU_* variable
// and may be overridden by the flag of the same name.
type Config struct {
	Addr                 string        // KEFU_ADDR: listen address
	DataDir              string        // KEFU_DATA_DIR: SQLite files and the generated secret
	DatabaseURL          string        // KEFU_DATABASE_URL: empty for SQLite, else postgres://…
	RedisURL             string        // KEFU_REDIS_URL: empty for the in-process bus, else redis://…
	Secret               string        // KEFU_SECRET: signing key (≥ 32 chars); generated into the data dir when empty
	PublicURL            string        // KEFU_PUBLIC_URL: the address users reach, e.g. https://chat.example.com
	AllowPrivateNetworks bool          // KEFU_ALLOW_PRIVATE_NETWORKS: outbound calls may reach private addresses
	LogFormat            string        // KEFU_LOG_FORMAT: text or json
	LogLevel             string        // KEFU_LOG_LEVEL: debug, info, warn, error
	ShutdownTimeout      time.Duration // KEFU_SHUTDOWN_TIMEOUT: drain deadline
	PresenceTTL          time.Duration // KEFU_PRESENCE_TTL: with Redis, how long a node's users stay present without its heartbeat (a third of this)
	AgentAwayGrace       time.Duration // KEFU_AGENT_AWAY_GRACE: how long an agent may be gone before their waiting conversations are requeued
	DBWriteTimeout       time.Duration // KEFU_DB_WRITE_TIMEOUT: a send's reads and its group commit must finish within this
	TrustProxy           bool          // KEFU_TRUST_PROXY: client IP from X-Forwarded-For
	DBMaxConns           int           // KEFU_DB_MAX_CONNS: PostgreSQL pool size
	TenantHandles        int           // KEFU_TENANT_HANDLES: tenants' databases kept open at once (SQLite files)
	AuthPerMinute        int           // KEFU_AUTH_PER_MINUTE: signup + login attempts per client IP
	WidgetPerMinute      int           // KEFU_WIDGET_PER_MINUTE: widget sessions per client IP
	DebugAddr            string        // KEFU_DEBUG_ADDR: serve net/http/pprof here (keep it private)
	CommitShards         int           // KEFU_COMMIT_SHARDS: message transactions committing at once (PostgreSQL)
	SecretFile           string        // KEFU_SECRET_FILE: read KEFU_SECRET from this file (kept out of the process list and environment)
	MetricsAddr          string        // KEFU_METRICS_ADDR: serve /metrics here, and not on KEFU_ADDR
	MetricsToken         string        // KEFU_METRICS_TOKEN: without KEFU_METRICS_ADDR, /metrics on KEFU_ADDR also answers this bearer token
	PublicDemo           bool          // KEFU_PUBLIC_DEMO: /demo runs any tenant's widget for anyone (else only for that tenant's signed-in staff)
	DefaultPlan          string        // KEFU_DEFAULT_PLAN: the plan new workspaces get (free, pro or enterprise)
	HTTPReadTimeout      time.Duration // KEFU_HTTP_READ_TIMEOUT: a whole request (headers and body) must arrive within this
	HTTPWriteTimeout     time.Duration // KEFU_HTTP_WRITE_TIMEOUT: a response must be written within this of the request's headers
	WSMaxPerPrincipal    int           // KEFU_WS_MAX_PER_PRINCIPAL: open sockets per visitor or user (per node)
	WSMaxPerIP           int           // KEFU_WS_MAX_PER_IP: open sockets per client IP (IPv6: per /64), per node
	WSHelloTimeout       time.Duration // KEFU_WS_HELLO_TIMEOUT: the hello frame must arrive within this
	WSSendRate           float64       // KEFU_WS_SEND_RATE: message.send frames per second per socket
	WSSendBurst          int           // KEFU_WS_SEND_BURST
	WSFrameRate          float64       // KEFU_WS_FRAME_RATE: every other client frame per second per socket
	WSFrameBurst         int           // KEFU_WS_FRAME_BURST
	JobsPoll             time.Duration // KEFU_JOBS_POLL: how often due durable timers (away grace, queue deadlines, snoozes) are claimed
	RecoverEvery         time.Duration // KEFU_RECOVER_EVERY: how often each node sweeps for what a dead node left half done
	RecoverStuckAfter    time.Duration // KEFU_RECOVER_STUCK_AFTER: how long a flow may leave a visitor's message unanswered before the conversation is queued
	WebhookTimeout       time.Duration // KEFU_WEBHOOK_TIMEOUT: one webhook delivery's bound; a dead node's claims come back after 30 s plus this per claimed event
	OTLPEndpoint         string        // OTEL_EXPORTER_OTLP_ENDPOINT: export traces over OTLP/HTTP here; empty: no tracing
	UploadsPerMinute     int           // KEFU_UPLOADS_PER_MINUTE: upload requests per client IP
	VisitorFilesPerHour  int           // KEFU_UPLOAD_VISITOR_FILES_PER_HOUR: files one visitor may upload in an hour
	VisitorMBPerHour     int           // KEFU_UPLOAD_VISITOR_MB_PER_HOUR: MiB one visitor may upload in an hour
	TenantFilesPerHour   int           // KEFU_UPLOAD_TENANT_FILES_PER_HOUR: files a tenant may take in an hour
	TenantMBPerHour      int           // KEFU_UPLOAD_TENANT_MB_PER_HOUR: MiB a tenant may take in an hour
	FileLinkTTL          time.Duration // KEFU_FILE_LINK_TTL: how long a file link works (re-signed when its message is fetched)
	SingleNode           bool          // KEFU_SINGLE_NODE: PostgreSQL without Redis is allowed, for exactly one node
	BotConcurrency       int           // KEFU_BOT_CONCURRENCY: a tenant's model calls in flight per node
	BotCallTimeout       time.Duration // KEFU_BOT_CALL_TIMEOUT: a model call's hard deadline unless the tenant sets one
	SMTPURL              string        // KEFU_SMTP_URL: smtp://user:pass@host:port or smtps://…; empty: e-mail is off (environment only: it holds a password)
	SMTPFrom             string        // KEFU_SMTP_FROM: the sender of Kefu's e-mail; no-reply@ the SMTP host by default
	ReplyMailDelay       time.Duration // KEFU_REPLY_MAIL_DELAY: how long an agent's reply may stay unread before it is e-mailed to the visitor
}

// helpRequested is loadConfig's answer to -h or --help: the usage text,
// which run prints to stdout before exiting 0.
type helpRequested struct{ usage string }

func (h *helpRequested) Error() string { return "help requested" }

// loadConfig reads every setting from the environment, then the flags. It
// collects every problem — values that do not parse as well as values that
// parse but make no sense (Validate) — and reports them all at once; a
// value that does not parse keeps its default, so it is reported once, not
// again by Validate.
func loadConfig(args []string, getenv func(string) string) (Config, error) {
	c := Config{}
	var problems []string
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	boolEnv := func(k string) bool {
		v := getenv(k)
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: want true or false", k, v))
		}
		return b
	}
	durEnv := func(k string, def time.Duration) time.Duration {
		v := getenv(k)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: want a duration such as 30s or 2m", k, v))
			return def
		}
		return d
	}
	floatEnv := func(k string, def float64) float64 {
		v := getenv(k)
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: want a number", k, v))
			return def
		}
		return f
	}
	intEnv := func(k string, def int) int {
		v := getenv(k)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: want a whole number", k, v))
			return def
		}
		return n
	}

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Addr, "addr", env("KEFU_ADDR", "127.0.0.1:8080"), "listen address `host:port` (KEFU_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("KEFU_DATA_DIR", "./data"), "SQLite files and the generated secret (KEFU_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("KEFU_DATABASE_URL", ""), "postgres:// URL; empty for the embedded SQLite (KEFU_DATABASE_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", env("KEFU_REDIS_URL", ""), "redis:// URL; empty for the in-process bus (KEFU_REDIS_URL)")
	fs.StringVar(&c.Secret, "secret", env("KEFU_SECRET", ""), "signing key, at least 32 characters (KEFU_SECRET); prefer --secret-file, flags show in the process list")
	fs.StringVar(&c.SecretFile, "secret-file", env("KEFU_SECRET_FILE", ""), "file holding the signing key (KEFU_SECRET_FILE)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("KEFU_METRICS_ADDR", ""), "serve /metrics on this address instead of the public one (KEFU_METRICS_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", env("KEFU_PUBLIC_URL", ""), "the address users reach, e.g. https://chat.example.com (KEFU_PUBLIC_URL)")
	fs.StringVar(&c.DebugAddr, "debug-addr", env("KEFU_DEBUG_ADDR", ""), "serve pprof on this private address, e.g. 127.0.0.1:6060 (KEFU_DEBUG_ADDR)")
	fs.StringVar(&c.LogFormat, "log-format", env("KEFU_LOG_FORMAT", "text"), "text or json (KEFU_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("KEFU_LOG_LEVEL", "info"), "debug, info, warn or error (KEFU_LOG_LEVEL)")
	fs.BoolVar(&c.AllowPrivateNetworks, "allow-private-networks", boolEnv("KEFU_ALLOW_PRIVATE_NETWORKS"), "let webhooks and LLM calls reach private addresses (KEFU_ALLOW_PRIVATE_NETWORKS)")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", boolEnv("KEFU_TRUST_PROXY"), "take the client IP from X-Forwarded-For (KEFU_TRUST_PROXY)")
	fs.BoolVar(&c.PublicDemo, "public-demo", boolEnv("KEFU_PUBLIC_DEMO"), "let /demo run any workspace's widget for anyone (KEFU_PUBLIC_DEMO)")
	fs.StringVar(&c.DefaultPlan, "default-plan", env("KEFU_DEFAULT_PLAN", "free"), "the plan new workspaces get: free, pro or enterprise (KEFU_DEFAULT_PLAN)")
	fs.BoolVar(&c.SingleNode, "single-node", boolEnv("KEFU_SINGLE_NODE"), "run on PostgreSQL without Redis, as the only node (KEFU_SINGLE_NODE)")
	fs.DurationVar(&c.HTTPReadTimeout, "http-read-timeout", durEnv("KEFU_HTTP_READ_TIMEOUT", 60*time.Second), "a whole request must arrive within this (KEFU_HTTP_READ_TIMEOUT)")
	fs.DurationVar(&c.HTTPWriteTimeout, "http-write-timeout", durEnv("KEFU_HTTP_WRITE_TIMEOUT", 90*time.Second), "an answer must be written within this (KEFU_HTTP_WRITE_TIMEOUT)")
	fs.DurationVar(&c.WSHelloTimeout, "ws-hello-timeout", durEnv("KEFU_WS_HELLO_TIMEOUT", 5*time.Second), "a socket must say hello within this (KEFU_WS_HELLO_TIMEOUT)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", durEnv("KEFU_SHUTDOWN_TIMEOUT", 20*time.Second), "drain deadline on SIGTERM (KEFU_SHUTDOWN_TIMEOUT)")
	fs.Float64Var(&c.WSSendRate, "ws-send-rate", floatEnv("KEFU_WS_SEND_RATE", 20), "message.send frames per second per socket (KEFU_WS_SEND_RATE)")
	fs.Float64Var(&c.WSFrameRate, "ws-frame-rate", floatEnv("KEFU_WS_FRAME_RATE", 20), "other client frames per second per socket (KEFU_WS_FRAME_RATE)")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", intEnv("KEFU_DB_MAX_CONNS", 32), "PostgreSQL pool size (KEFU_DB_MAX_CONNS)")
	fs.IntVar(&c.TenantHandles, "tenant-handles", intEnv("KEFU_TENANT_HANDLES", tenants.DefaultTenantHandles), "tenants' databases kept open at once; on SQLite, 3 file descriptors each (KEFU_TENANT_HANDLES)")
	fs.DurationVar(&c.DBWriteTimeout, "db-write-timeout", durEnv("KEFU_DB_WRITE_TIMEOUT", 10*time.Second), "a send's reads and its commit must finish within this (KEFU_DB_WRITE_TIMEOUT)")
	fs.IntVar(&c.AuthPerMinute, "auth-per-minute", intEnv("KEFU_AUTH_PER_MINUTE", 20), "signup and login attempts per client IP (KEFU_AUTH_PER_MINUTE)")
	fs.IntVar(&c.CommitShards, "commit-shards", intEnv("KEFU_COMMIT_SHARDS", 2), "message transactions committing at once on PostgreSQL (KEFU_COMMIT_SHARDS)")
	fs.IntVar(&c.WidgetPerMinute, "widget-per-minute", intEnv("KEFU_WIDGET_PER_MINUTE", 120), "widget sessions per client IP (KEFU_WIDGET_PER_MINUTE)")
	fs.IntVar(&c.WSMaxPerPrincipal, "ws-max-per-principal", intEnv("KEFU_WS_MAX_PER_PRINCIPAL", 20), "open sockets per visitor or user (KEFU_WS_MAX_PER_PRINCIPAL)")
	fs.IntVar(&c.WSMaxPerIP, "ws-max-per-ip", intEnv("KEFU_WS_MAX_PER_IP", 200), "open sockets per client IP (KEFU_WS_MAX_PER_IP)")
	fs.IntVar(&c.WSSendBurst, "ws-send-burst", intEnv("KEFU_WS_SEND_BURST", 40), "burst of message.send frames (KEFU_WS_SEND_BURST)")
	fs.IntVar(&c.WSFrameBurst, "ws-frame-burst", intEnv("KEFU_WS_FRAME_BURST", 200), "burst of other client frames (KEFU_WS_FRAME_BURST)")
	fs.DurationVar(&c.PresenceTTL, "presence-ttl", durEnv("KEFU_PRESENCE_TTL", 60*time.Second), "with Redis: how long a node's users stay present without its heartbeat, which comes every third of this (KEFU_PRESENCE_TTL)")
	fs.DurationVar(&c.ReplyMailDelay, "reply-mail-delay", durEnv("KEFU_REPLY_MAIL_DELAY", 2*time.Minute), "how long an agent's reply may stay unread before it is e-mailed to the visitor, when SMTP is configured (KEFU_REPLY_MAIL_DELAY)")
	fs.DurationVar(&c.AgentAwayGrace, "agent-away-grace", durEnv("KEFU_AGENT_AWAY_GRACE", 5*time.Minute), "how long an agent may be away before their waiting conversations are requeued (KEFU_AGENT_AWAY_GRACE)")
	fs.DurationVar(&c.JobsPoll, "jobs-poll", durEnv("KEFU_JOBS_POLL", time.Second), "how often due durable timers are claimed (KEFU_JOBS_POLL)")
	fs.DurationVar(&c.RecoverEvery, "recover-every", durEnv("KEFU_RECOVER_EVERY", 2*time.Minute), "how often each node sweeps for what a dead node left half done (KEFU_RECOVER_EVERY)")
	fs.DurationVar(&c.RecoverStuckAfter, "recover-stuck-after", durEnv("KEFU_RECOVER_STUCK_AFTER", time.Minute), "how long a flow may leave a visitor's message unanswered before the recovery sweep queues it (KEFU_RECOVER_STUCK_AFTER)")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", durEnv("KEFU_WEBHOOK_TIMEOUT", 10*time.Second), "bound of one webhook delivery, connect to last byte; a node that dies mid-delivery lets its claimed events go after 30s plus this per event (KEFU_WEBHOOK_TIMEOUT)")
	fs.IntVar(&c.UploadsPerMinute, "uploads-per-minute", intEnv("KEFU_UPLOADS_PER_MINUTE", 30), "upload requests per client IP (KEFU_UPLOADS_PER_MINUTE)")
	fs.IntVar(&c.VisitorFilesPerHour, "upload-visitor-files-per-hour", intEnv("KEFU_UPLOAD_VISITOR_FILES_PER_HOUR", 20), "files one visitor may upload in an hour (KEFU_UPLOAD_VISITOR_FILES_PER_HOUR)")
	fs.IntVar(&c.VisitorMBPerHour, "upload-visitor-mb-per-hour", intEnv("KEFU_UPLOAD_VISITOR_MB_PER_HOUR", 50), "MiB one visitor may upload in an hour (KEFU_UPLOAD_VISITOR_MB_PER_HOUR)")
	fs.IntVar(&c.TenantFilesPerHour, "upload-tenant-files-per-hour", intEnv("KEFU_UPLOAD_TENANT_FILES_PER_HOUR", 2000), "files a workspace may take in an hour (KEFU_UPLOAD_TENANT_FILES_PER_HOUR)")
	fs.IntVar(&c.TenantMBPerHour, "upload-tenant-mb-per-hour", intEnv("KEFU_UPLOAD_TENANT_MB_PER_HOUR", 2048), "MiB a workspace may take in an hour (KEFU_UPLOAD_TENANT_MB_PER_HOUR)")
	fs.DurationVar(&c.FileLinkTTL, "file-link-ttl", durEnv("KEFU_FILE_LINK_TTL", 24*time.Hour), "how long a file link works (KEFU_FILE_LINK_TTL)")
	fs.IntVar(&c.BotConcurrency, "bot-concurrency", intEnv("KEFU_BOT_CONCURRENCY", 8), "a workspace's model calls in flight per node (KEFU_BOT_CONCURRENCY)")
	fs.DurationVar(&c.BotCallTimeout, "bot-call-timeout", durEnv("KEFU_BOT_CALL_TIMEOUT", 30*time.Second), "a model call's hard deadline unless the workspace sets one (KEFU_BOT_CALL_TIMEOUT)")
	// Secrets are environment only, never flags (a flag shows in the
	// process list): the metrics token.
	c.MetricsToken = getenv("KEFU_METRICS_TOKEN")
	c.SMTPURL = getenv("KEFU_SMTP_URL")
	c.SMTPFrom = getenv("KEFU_SMTP_FROM")
	// OpenTelemetry's standard variable turns tracing on; the exporter
	// reads the other OTEL_* variables (headers, timeout) itself.
	c.OTLPEndpoint = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")

	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		var b strings.Builder
		b.WriteString("usage: kefu serve|migrate [flags]\n\nEvery flag may also be set by the environment variable named after it.\nflags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		return c, &helpRequested{usage: b.String()}
	case err != nil:
		problems = append(problems, err.Error())
	case fs.NArg() > 0:
		problems = append(problems, fmt.Sprintf("unexpected arguments %q (settings are flags or KEFU_* variables)", fs.Args()))
	}
	if c.SecretFile != "" {
		if c.Secret != "" {
			problems = append(problems, "set KEFU_SECRET or KEFU_SECRET_FILE, not both")
		} else if b, err := os.ReadFile(c.SecretFile); err != nil {
			problems = append(problems, fmt.Sprintf("KEFU_SECRET_FILE: %v", err))
		} else if c.Secret = strings.TrimSpace(string(b)); len(c.Secret) < 32 {
			problems = append(problems, fmt.Sprintf("KEFU_SECRET_FILE %s must hold at least 32 characters", c.SecretFile))
		}
	}
	problems = append(problems, c.problems()...)
	if len(problems) > 0 {
		return c, errors.New("invalid configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return c, nil
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	if p := c.problems(); len(p) > 0 {
		return errors.New("invalid configuration:\n  - " + strings.Join(p, "\n  - "))
	}
	return nil
}

// problems lists what is wrong with the settings, one line each.
func (c *Config) problems() []string {
	var p []string
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		p = append(p, fmt.Sprintf("KEFU_ADDR=%q: want host:port, e.g. 127.0.0.1:8080", c.Addr))
	}
	if c.DataDir == "" {
		p = append(p, "KEFU_DATA_DIR must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		p = append(p, "KEFU_DATABASE_URL must start with postgres:// (or be empty for the embedded SQLite)")
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		p = append(p, "KEFU_REDIS_URL must start with redis:// or rediss:// (or be empty for the in-process bus)")
	}
	if c.Secret != "" && len(c.Secret) < 32 {
		p = append(p, "KEFU_SECRET must be at least 32 characters (or empty to generate one)")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p = append(p, fmt.Sprintf("KEFU_PUBLIC_URL=%q: want http(s)://host", c.PublicURL))
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		p = append(p, "KEFU_LOG_FORMAT must be text or json")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p = append(p, "KEFU_LOG_LEVEL must be debug, info, warn or error")
	}
	if c.DBWriteTimeout <= 0 {
		p = append(p, "KEFU_DB_WRITE_TIMEOUT must be positive")
	}
	if c.PresenceTTL < 3*time.Second || c.PresenceTTL > time.Hour {
		p = append(p, "KEFU_PRESENCE_TTL must be between 3s and 1h")
	}
	if c.ReplyMailDelay < time.Second || c.ReplyMailDelay > 24*time.Hour {
		p = append(p, fmt.Sprintf("KEFU_REPLY_MAIL_DELAY=%v: want between 1s and 24h", c.ReplyMailDelay))
	}
	if c.AgentAwayGrace <= 0 {
		p = append(p, "KEFU_AGENT_AWAY_GRACE must be positive")
	}
	if c.ShutdownTimeout <= 0 {
		p = append(p, "KEFU_SHUTDOWN_TIMEOUT must be positive")
	}
	if _, ok := tenants.Plans[c.DefaultPlan]; !ok {
		p = append(p, "KEFU_DEFAULT_PLAN must be free, pro or enterprise")
	}
	if c.JobsPoll < 100*time.Millisecond || c.JobsPoll > time.Minute {
		p = append(p, "KEFU_JOBS_POLL must be between 100ms and 1m")
	}
	if c.RecoverEvery < time.Second || c.RecoverEvery > 24*time.Hour {
		p = append(p, "KEFU_RECOVER_EVERY must be between 1s and 24h")
	}
	if c.RecoverStuckAfter < time.Second || c.RecoverStuckAfter > 24*time.Hour {
		p = append(p, "KEFU_RECOVER_STUCK_AFTER must be between 1s and 24h")
	}
	if c.WebhookTimeout < time.Second || c.WebhookTimeout > time.Minute {
		p = append(p, "KEFU_WEBHOOK_TIMEOUT must be between 1s and 1m")
	}
	if c.CommitShards < 1 || c.CommitShards > 64 {
		p = append(p, "KEFU_COMMIT_SHARDS must be between 1 and 64")
	}
	if c.AuthPerMinute < 1 || c.WidgetPerMinute < 1 {
		p = append(p, "KEFU_AUTH_PER_MINUTE and KEFU_WIDGET_PER_MINUTE must be at least 1")
	}
	if c.UploadsPerMinute < 1 {
		p = append(p, "KEFU_UPLOADS_PER_MINUTE must be at least 1")
	}
	if c.VisitorFilesPerHour < 1 || c.VisitorMBPerHour < 1 || c.TenantFilesPerHour < 1 || c.TenantMBPerHour < 1 {
		p = append(p, "KEFU_UPLOAD_VISITOR_FILES_PER_HOUR, KEFU_UPLOAD_VISITOR_MB_PER_HOUR, KEFU_UPLOAD_TENANT_FILES_PER_HOUR and KEFU_UPLOAD_TENANT_MB_PER_HOUR must be at least 1")
	}
	if c.FileLinkTTL < time.Minute || c.FileLinkTTL > 30*24*time.Hour {
		p = append(p, "KEFU_FILE_LINK_TTL must be between 1m and 720h")
	}
	if c.BotConcurrency < 1 || c.BotConcurrency > 1000 {
		p = append(p, "KEFU_BOT_CONCURRENCY must be between 1 and 1000")
	}
	if c.BotCallTimeout < time.Second || c.BotCallTimeout > 10*time.Minute {
		p = append(p, "KEFU_BOT_CALL_TIMEOUT must be between 1s and 10m")
	}
	if c.DBMaxConns < 1 || c.DBMaxConns > 1000 {
		p = append(p, "KEFU_DB_MAX_CONNS must be between 1 and 1000")
	}
	if c.TenantHandles < 8 || c.TenantHandles > 100000 {
		p = append(p, "KEFU_TENANT_HANDLES must be between 8 and 100000")
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			p = append(p, fmt.Sprintf("KEFU_METRICS_ADDR=%q: want host:port, e.g. 0.0.0.0:9100", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr {
			p = append(p, "KEFU_METRICS_ADDR must differ from KEFU_ADDR")
		}
	}
	if _, err := mailer.New(mailer.Config{URL: c.SMTPURL, From: c.SMTPFrom}); err != nil {
		p = append(p, err.Error())
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		p = append(p, "KEFU_METRICS_TOKEN must be at least 16 characters")
	}
	if c.HTTPReadTimeout < time.Second {
		p = append(p, "KEFU_HTTP_READ_TIMEOUT must be at least 1s")
	}
	if c.HTTPWriteTimeout < c.HTTPReadTimeout {
		p = append(p, "KEFU_HTTP_WRITE_TIMEOUT must be at least KEFU_HTTP_READ_TIMEOUT (a handler's time starts while the body is still arriving)")
	}
	if c.WSMaxPerPrincipal < 1 || c.WSMaxPerIP < 1 {
		p = append(p, "KEFU_WS_MAX_PER_PRINCIPAL and KEFU_WS_MAX_PER_IP must be at least 1")
	}
	if c.WSHelloTimeout <= 0 || c.WSHelloTimeout > time.Minute {
		p = append(p, "KEFU_WS_HELLO_TIMEOUT must be between 0 and 1m")
	}
	if c.WSSendRate <= 0 || c.WSSendBurst < 1 || c.WSFrameRate <= 0 || c.WSFrameBurst < 1 {
		p = append(p, "KEFU_WS_SEND_RATE, KEFU_WS_SEND_BURST, KEFU_WS_FRAME_RATE and KEFU_WS_FRAME_BURST must be positive")
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p = append(p, fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=%q: want http(s)://host:port (OTLP over HTTP)", c.OTLPEndpoint))
		}
	}
	return p
}

// serveConfig is loadConfig for `kefu serve`, which also refuses the set-ups
// that break a cluster (clusterProblems), reported with every other problem.
func serveConfig(args []string, getenv func(string) string) (Config, error) {
	c, err := loadConfig(args, getenv)
	var help *helpRequested
	if errors.As(err, &help) {
		return c, err
	}
	extra := c.clusterProblems()
	if len(extra) == 0 {
		return c, err
	}
	msg := "invalid configuration:"
	if err != nil {
		msg = err.Error()
	}
	return c, errors.New(msg + "\n  - " + strings.Join(extra, "\n  - "))
}

// clusterProblems are the settings a server on PostgreSQL — the database of
// many nodes — must not run with: no shared secret (each node would make
// its own, and a visitor token from one would fail on the others), and no
// Redis unless it is known to be the only node (each node would hear only
// its own events).
func (c *Config) clusterProblems() []string {
	if c.DatabaseURL == "" {
		return nil
	}
	var p []string
	if c.Secret == "" {
		p = append(p, "KEFU_SECRET (or KEFU_SECRET_FILE) must be set with PostgreSQL: every node must sign visitor tokens with the same key, "+
			"and a node without one would generate its own, so a visitor's token from one node would be refused by the others")
	}
	if c.RedisURL == "" && !c.SingleNode {
		p = append(p, "KEFU_REDIS_URL must be set with PostgreSQL: without Redis each node hears only its own events, so a visitor "+
			"on one node and an agent on another would not see each other's messages; set KEFU_SINGLE_NODE=true to run one node without Redis")
	}
	return p
}

// secret returns KEFU_SECRET (or KEFU_SECRET_FILE's), or the one kept in the data dir, generating
// it on first start (0600) so that tokens survive restarts.
func (c *Config) secret() ([]byte, error) {
	if c.Secret != "" {
		return []byte(c.Secret), nil
	}
	path := filepath.Join(c.DataDir, "secret")
	if b, err := os.ReadFile(path); err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return nil, fmt.Errorf("%s is too short; delete it to generate a new one", path)
		}
		return []byte(s), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	s := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, err
	}
	return []byte(s), nil
}
