package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
	TrustProxy           bool          // KEFU_TRUST_PROXY: client IP from X-Forwarded-For
	DBMaxConns           int           // KEFU_DB_MAX_CONNS: PostgreSQL pool size
	AuthPerMinute        int           // KEFU_AUTH_PER_MINUTE: signup + login attempts per client IP
	WidgetPerMinute      int           // KEFU_WIDGET_PER_MINUTE: widget sessions per client IP
	DebugAddr            string        // KEFU_DEBUG_ADDR: serve net/http/pprof here (keep it private)
	CommitShards         int           // KEFU_COMMIT_SHARDS: message transactions committing at once (PostgreSQL)
	BotConcurrency       int           // KEFU_BOT_CONCURRENCY: a tenant's model calls in flight per node
	BotCallTimeout       time.Duration // KEFU_BOT_CALL_TIMEOUT: a model call's hard deadline unless the tenant sets one
}

func loadConfig(args []string, getenv func(string) string) (Config, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	c := Config{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	fs.StringVar(&c.Addr, "addr", env("KEFU_ADDR", "127.0.0.1:8080"), "listen address (KEFU_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("KEFU_DATA_DIR", "./data"), "data directory (KEFU_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("KEFU_DATABASE_URL", ""), "postgres:// URL; empty for SQLite (KEFU_DATABASE_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", env("KEFU_REDIS_URL", ""), "redis:// URL; empty for the in-process bus (KEFU_REDIS_URL)")
	fs.StringVar(&c.Secret, "secret", env("KEFU_SECRET", ""), "signing key (KEFU_SECRET)")
	fs.StringVar(&c.PublicURL, "public-url", env("KEFU_PUBLIC_URL", ""), "public URL (KEFU_PUBLIC_URL)")
	fs.StringVar(&c.DebugAddr, "debug-addr", env("KEFU_DEBUG_ADDR", ""), "pprof listen address, e.g. 127.0.0.1:6060 (KEFU_DEBUG_ADDR)")
	fs.StringVar(&c.LogFormat, "log-format", env("KEFU_LOG_FORMAT", "text"), "text or json (KEFU_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("KEFU_LOG_LEVEL", "info"), "debug, info, warn or error (KEFU_LOG_LEVEL)")
	var problems []string
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
	fs.BoolVar(&c.AllowPrivateNetworks, "allow-private-networks", boolEnv("KEFU_ALLOW_PRIVATE_NETWORKS"), "(KEFU_ALLOW_PRIVATE_NETWORKS)")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", boolEnv("KEFU_TRUST_PROXY"), "(KEFU_TRUST_PROXY)")
	st, err := time.ParseDuration(env("KEFU_SHUTDOWN_TIMEOUT", "20s"))
	if err != nil {
		problems = append(problems, fmt.Sprintf("KEFU_SHUTDOWN_TIMEOUT: %v", err))
	}
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", st, "(KEFU_SHUTDOWN_TIMEOUT)")
	mc, err := strconv.Atoi(env("KEFU_DB_MAX_CONNS", "32"))
	if err != nil {
		problems = append(problems, "KEFU_DB_MAX_CONNS: want a number")
	}
	fs.IntVar(&c.DBMaxConns, "db-max-conns", mc, "(KEFU_DB_MAX_CONNS)")
	intEnv := func(k string, def int) int {
		v := getenv(k)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			problems = append(problems, k+": want a number")
		}
		return n
	}
	fs.IntVar(&c.AuthPerMinute, "auth-per-minute", intEnv("KEFU_AUTH_PER_MINUTE", 20), "(KEFU_AUTH_PER_MINUTE)")
	fs.IntVar(&c.CommitShards, "commit-shards", intEnv("KEFU_COMMIT_SHARDS", 2), "(KEFU_COMMIT_SHARDS)")
	fs.IntVar(&c.WidgetPerMinute, "widget-per-minute", intEnv("KEFU_WIDGET_PER_MINUTE", 120), "(KEFU_WIDGET_PER_MINUTE)")
	fs.IntVar(&c.BotConcurrency, "bot-concurrency", intEnv("KEFU_BOT_CONCURRENCY", 8), "(KEFU_BOT_CONCURRENCY)")
	bt, err := time.ParseDuration(env("KEFU_BOT_CALL_TIMEOUT", "30s"))
	if err != nil {
		problems = append(problems, fmt.Sprintf("KEFU_BOT_CALL_TIMEOUT: %v", err))
	}
	fs.DurationVar(&c.BotCallTimeout, "bot-call-timeout", bt, "(KEFU_BOT_CALL_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("flags: %w", err)
	}
	if len(problems) > 0 {
		return c, errors.New("invalid configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return c, c.Validate()
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
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
	if c.ShutdownTimeout <= 0 {
		p = append(p, "KEFU_SHUTDOWN_TIMEOUT must be positive")
	}
	if c.CommitShards < 1 || c.CommitShards > 64 {
		p = append(p, "KEFU_COMMIT_SHARDS must be between 1 and 64")
	}
	if c.AuthPerMinute < 1 || c.WidgetPerMinute < 1 {
		p = append(p, "KEFU_AUTH_PER_MINUTE and KEFU_WIDGET_PER_MINUTE must be at least 1")
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
	if len(p) > 0 {
		return errors.New("invalid configuration:\n  - " + strings.Join(p, "\n  - "))
	}
	return nil
}

// secret returns KEFU_SECRET, or the one kept in the data dir, generating
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
