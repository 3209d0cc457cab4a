// Command kefu is the Kefu server: `kefu serve` runs it, `kefu migrate`
// brings the database to the latest version, `kefu version` prints the
// version. This is the composition root: the only place that reads the
// environment and wires the packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"kefu/api"
	"kefu/bots"
	"kefu/chat"
	"kefu/clientip"
	"kefu/flowrun"
	"kefu/frontend"
	"kefu/mailer"
	"kefu/redis"
	"kefu/tenants"
	"kefu/webhook"
	"kefu/ws"
)

// version and commit are set at build time with
// -ldflags "-X main.version=… -X main.commit=…" (the Makefile and the
// Dockerfile do).
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kefu:", err)
		stop()     // os.Exit skips the deferred one
		os.Exit(1) //nolint:gocritic // stop() ran just above
	}
}

const usage = `usage: kefu <command> [flags]

commands:
  serve     run the server (configuration from KEFU_* variables or flags; see README)
  migrate   apply database migrations to the platform and every tenant, then exit
  backup    --out DIR: copy every SQLite database (and the generated secret) into DIR while the server runs
  tenant plan SLUG PLAN
            move a workspace to a plan (free, pro or enterprise)
  version   print the version
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, "kefu", version)
		return nil
	case "serve", "migrate", "backup":
	case "tenant":
		return tenantCommand(ctx, args[1:], getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	load := loadConfig
	if args[0] == "serve" {
		load = serveConfig
	}
	rest, out, err := backupOut(args[0], args[1:])
	if err != nil {
		return err
	}
	cfg, err := load(rest, getenv)
	var help *helpRequested
	if errors.As(err, &help) {
		fmt.Fprint(stdout, help.usage)
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	switch args[0] {
	case "migrate":
		return migrate(ctx, cfg, log, stdout)
	case "backup":
		return backup(ctx, cfg, log, out, stdout)
	}
	return serve(ctx, cfg, log)
}

// newLogger is the server's one logger: JSON or text at the configured
// level, every line with the request id and trace ids its context knows.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(contextHandler{h})
}

func migrate(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	store, err := tenants.Open(ctx, tenants.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log, MaxConns: cfg.DBMaxConns, TenantHandles: cfg.TenantHandles})
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.MigrateAll(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrated the platform and %d tenants (%s)\n", n, store.Dialect())
	return nil
}

// backupOut takes backup's own flag, --out DIR, out of args (the rest are
// the configuration's flags).
func backupOut(cmd string, args []string) (rest []string, out string, err error) {
	if cmd != "backup" {
		return args, "", nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--out" || a == "-out":
			if i+1 == len(args) {
				return nil, "", errors.New("backup: --out needs a directory")
			}
			out = args[i+1]
			i++
		case strings.HasPrefix(a, "--out=") || strings.HasPrefix(a, "-out="):
			_, out, _ = strings.Cut(a, "=")
		default:
			rest = append(rest, a)
		}
	}
	if out == "" {
		return nil, "", errors.New("backup: --out DIR is required")
	}
	return rest, out, nil
}

func backup(ctx context.Context, cfg Config, log *slog.Logger, dir string, stdout io.Writer) error {
	if cfg.DatabaseURL != "" {
		return errors.New("backup copies SQLite files; on PostgreSQL use pg_dump (pg_dump -Fc -n t_<tenant id without dashes> for one tenant; see the README)")
	}
	store, err := tenants.Open(ctx, tenants.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log, MaxConns: cfg.DBMaxConns})
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := store.Backup(ctx, dir)
	if err != nil {
		return err
	}
	secret := "no generated secret to copy (KEFU_SECRET comes from outside: keep it with the backup)"
	if rep.Secret {
		secret = "and the generated secret"
	}
	fmt.Fprintf(stdout, "backed up the platform and %d tenants into %s, %s\n", rep.Tenants, dir, secret)
	return nil
}

// serve starts everything in order and stops it in reverse order under the
// shutdown deadline: stop accepting, drain sockets with 1001, finish
// in-flight requests, close the bus, close the database.
func serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	secret, err := cfg.secret()
	if err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	reg := newRegistry()
	tp, err := newTracerProvider(ctx, cfg)
	if err != nil {
		return err
	}
	var tracer trace.TracerProvider // nil: no spans anywhere
	if tp != nil {
		tracer = tp
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tp.Shutdown(sctx); err != nil {
				log.Warn("flushing traces", "err", err)
			}
		}()
	}
	store, err := tenants.Open(ctx, tenants.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log, MaxConns: cfg.DBMaxConns, TenantHandles: cfg.TenantHandles, Registry: reg})
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.MigrateAll(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	if cfg.DatabaseURL != "" && cfg.RedisURL == "" {
		log.Warn("KEFU_SINGLE_NODE=true: PostgreSQL without Redis. Run exactly ONE node like this: events, presence and " +
			"the webhook wake-ups stay inside this process, so a second node would not see this one's messages")
	}
	var (
		bus      chat.Bus
		rdb      *goredis.Client
		presence chat.PresenceStore
	)
	if cfg.RedisURL != "" {
		opt, err := goredis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("KEFU_REDIS_URL: %w", err)
		}
		// go-redis logs through ours (a process-wide setting of the
		// library), so its lines are JSON when ours are.
		goredis.SetLogger(redisLogger{log})
		rdb = goredis.NewClient(opt)
		defer rdb.Close()
		if err := redis.Instrument(rdb, reg); err != nil {
			return fmt.Errorf("redis metrics: %w", err)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("connect redis: %w", err)
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		redis.Check(cctx, rdb, log, reg)
		cancel()
		rb, err := redis.NewBus(ctx, rdb, "kefu", secret, log)
		if err != nil {
			return fmt.Errorf("redis bus: %w", err)
		}
		bus = rb
		presence = redis.NewPresence(rdb, "kefu", log).WithTTL(cfg.PresenceTTL)
	} else {
		bus = chat.NewLocalBus()
	}
	defer bus.Close()

	ten := tenants.NewService(store, tenants.Config{Secret: secret, Logger: log, DefaultPlan: cfg.DefaultPlan})
	sweepCtx, stopSweeps := context.WithCancel(context.Background())
	defer stopSweeps()
	go sweepIdempotencyKeys(sweepCtx, ten, log)
	botSvc, err := bots.New(bots.Config{Tenants: ten, Secret: secret, Logger: log, Registry: reg, AllowPrivateNetworks: cfg.AllowPrivateNetworks,
		MaxConcurrent: cfg.BotConcurrency, CallTimeout: cfg.BotCallTimeout,
		// A change of a tenant's knowledge or model reaches the other nodes
		// over the bus; chat drops their indexed copies.
		OnChange: func(tenantID string) {
			if err := bus.Publish(context.Background(), chat.Event{Kind: chat.EventKnowledge, TenantID: tenantID}); err != nil {
				log.Warn("bus publish failed", "tenant_id", tenantID, "kind", chat.EventKnowledge, "err", err)
			}
		}})
	if err != nil {
		return fmt.Errorf("bots: %w", err)
	}
	mail, err := mailer.New(mailer.Config{URL: cfg.SMTPURL, From: cfg.SMTPFrom})
	if err != nil {
		return err
	}
	if !mail.Configured() {
		log.Info("e-mail is off (no KEFU_SMTP_URL): no invitations, password resets or replies to visitors who left")
	}
	chatSvc := chat.NewService(chat.Config{Mailer: mail, ReplyMailDelay: cfg.ReplyMailDelay, PublicURL: cfg.PublicURL, Tenants: ten, Bus: bus, Logger: log, Registry: reg, AllowPrivateNetworks: cfg.AllowPrivateNetworks, Presence: presence, CommitShards: cfg.CommitShards,
		Uploads: chat.UploadLimits{
			VisitorFiles: cfg.VisitorFilesPerHour, VisitorBytes: int64(cfg.VisitorMBPerHour) << 20,
			TenantFiles: cfg.TenantFilesPerHour, TenantBytes: int64(cfg.TenantMBPerHour) << 20,
		},
		FileLinkTTL: cfg.FileLinkTTL, OfflineGrace: cfg.AgentAwayGrace, WriteTimeout: cfg.DBWriteTimeout, Tracer: tracer, Bots: botSvc,
		Recovery: chat.RecoveryConfig{JobsPoll: cfg.JobsPoll, Every: cfg.RecoverEvery, StuckAfter: cfg.RecoverStuckAfter},
	})
	// The flow runtime is chat's Observer: told what happened, it runs the
	// published flows, drains the queues and keeps the queue deadlines.
	flowrun.New(chatSvc, flowrun.Config{})
	if err := chatSvc.Start(ctx); err != nil {
		return fmt.Errorf("start chat: %w", err)
	}
	hooks := webhook.NewService(webhook.Config{Store: store, Chat: chatSvc, Logger: log, Registry: reg, AllowPrivateNetworks: cfg.AllowPrivateNetworks, Timeout: cfg.WebhookTimeout})
	hookCtx, stopHooks := context.WithCancel(context.Background())
	defer stopHooks()
	go hooks.Run(hookCtx)
	wsSrv := ws.NewServer(ws.Config{
		PublicURL: cfg.PublicURL, ClientIP: clientip.Resolver(cfg.TrustProxy), HelloTimeout: cfg.WSHelloTimeout,
		SendRate: rate.Limit(cfg.WSSendRate), SendBurst: cfg.WSSendBurst, FrameRate: rate.Limit(cfg.WSFrameRate), FrameBurst: cfg.WSFrameBurst,
		MaxPerPrincipal: cfg.WSMaxPerPrincipal, MaxPerIP: cfg.WSMaxPerIP, Tracer: tracer,
	}, chatSvc, log, reg)
	web := frontend.App()
	if web == nil {
		log.Warn("the web app is not built into this binary; run `make build` for the console and widget")
	}
	// Metrics on their own listener when KEFU_METRICS_ADDR is set, and then
	// not on the public one.
	var publicMetrics prometheus.Gatherer = reg
	if cfg.MetricsAddr != "" {
		publicMetrics = nil
	}
	httpSrv := api.New(api.Config{
		Mailer:  mail,
		Tenants: ten, Chat: chatSvc, Bots: botSvc, Logger: log, Web: web, WS: wsSrv, Gatherer: publicMetrics, Registry: reg, Tracer: tracer, TrustProxy: cfg.TrustProxy,
		AuthPerMinute: cfg.AuthPerMinute, WidgetPerMinute: cfg.WidgetPerMinute,
		PublicURL: cfg.PublicURL, PublicDemo: cfg.PublicDemo, MetricsToken: cfg.MetricsToken, UploadsPerMinute: cfg.UploadsPerMinute, Webhooks: hooks,
		Redis: redisScripter(rdb),
		Ready: func(ctx context.Context) error {
			if err := store.Ping(ctx); err != nil {
				return fmt.Errorf("database: %w", err)
			}
			if err := bus.Ping(ctx); err != nil {
				return fmt.Errorf("redis: %w", err)
			}
			return nil
		},
	})

	if cfg.DebugAddr != "" {
		dln, err := net.Listen("tcp", cfg.DebugAddr)
		if err != nil {
			return fmt.Errorf("KEFU_DEBUG_ADDR: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		// A CPU profile or trace writes for as long as ?seconds= says (30 s
		// by default): the write deadline leaves room for a few minutes.
		dsrv := newHTTPServer(mux, cfg.HTTPReadTimeout, max(cfg.HTTPWriteTimeout, 5*time.Minute))
		go func() { _ = dsrv.Serve(dln) }() // ends with ErrServerClosed at shutdown
		defer dsrv.Close()
		log.Info("pprof listening", "addr", dln.Addr().String())
	}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("KEFU_METRICS_ADDR: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		msrv := newHTTPServer(mux, cfg.HTTPReadTimeout, cfg.HTTPWriteTimeout)
		go func() { _ = msrv.Serve(mln) }() // ends with ErrServerClosed at shutdown
		defer msrv.Close()
		log.Info("metrics listening", "addr", "http://"+mln.Addr().String()+"/metrics")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := newHTTPServer(httpSrv.Handler(), cfg.HTTPReadTimeout, cfg.HTTPWriteTimeout)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	backend := "sqlite " + cfg.DataDir
	if cfg.DatabaseURL != "" {
		backend = "postgres"
	}
	busName := "in-process"
	if rdb != nil {
		busName = "redis"
	}
	log.Info("kefu listening", "addr", "http://"+ln.Addr().String(), "version", version, "commit", commit, "database", backend, "bus", busName, "tracing", tp != nil)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "deadline", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	wsSrv.Drain(sctx)
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	stopHooks()
	hooks.Wait(sctx)
	chatSvc.Close(sctx)
	log.Info("stopped")
	return nil
}

// newRegistry is the server's metrics registry: the Go runtime, the
// process (CPU, memory, open files, start time) and kefu_build_info; the
// packages register their own families on it.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kefu_build_info", Help: "Always 1; the labels say which build runs (version, commit, Go version).",
	}, []string{"version", "commit", "goversion"})
	build.WithLabelValues(version, commit, runtime.Version()).Set(1)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), build)
	return reg
}

// maxHeaderBytes bounds a request's headers; a bearer token and a few
// cookies fit many times over.
const maxHeaderBytes = 64 << 10

// newHTTPServer is every listener's server, with every timeout set: headers
// must arrive within 10 s (or the read timeout, if shorter), a whole
// request, body included, within readTimeout (a client trickling its body
// holds a connection no longer than that; it is long enough for a 10 MiB
// upload at about 1.4 Mbit/s), the answer must be written within
// writeTimeout of the request's headers, and an idle keep-alive connection
// is closed after two minutes. A WebSocket is not bound by any of them: the
// server clears a connection's deadlines when /ws hijacks it, and the
// socket keeps its own (ping/pong, write timeout).
func newHTTPServer(h http.Handler, readTimeout, writeTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, readTimeout),
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}
