package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfig(t *testing.T) {
	t.Run("defaults are the embedded laptop setup", func(t *testing.T) {
		c, err := loadConfig(nil, envOf(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.DatabaseURL != "" || c.RedisURL != "" {
			t.Fatalf("defaults: %+v", c)
		}
	})
	t.Run("flags override the environment", func(t *testing.T) {
		c, err := loadConfig([]string{"--addr", "0.0.0.0:9000"}, envOf(map[string]string{"KEFU_ADDR": "127.0.0.1:1"}))
		if err != nil || c.Addr != "0.0.0.0:9000" {
			t.Fatalf("%+v %v", c, err)
		}
	})
	t.Run("every bad value is reported at once", func(t *testing.T) {
		// Each bad setting, and the words its line must carry. Values that
		// do not parse (a boolean, a number, a duration) used to stop the
		// check before the others were looked at.
		bad := []struct{ key, value, want string }{
			{"KEFU_TRUST_PROXY", "yes", `KEFU_TRUST_PROXY="yes": want true or false`},
			{"KEFU_ALLOW_PRIVATE_NETWORKS", "maybe", `KEFU_ALLOW_PRIVATE_NETWORKS="maybe": want true or false`},
			{"KEFU_PUBLIC_DEMO", "on!", `KEFU_PUBLIC_DEMO="on!"`},
			{"KEFU_DB_MAX_CONNS", "many", `KEFU_DB_MAX_CONNS="many": want a whole number`},
			{"KEFU_WS_SEND_RATE", "fast", `KEFU_WS_SEND_RATE="fast": want a number`},
			{"KEFU_SHUTDOWN_TIMEOUT", "soon", `KEFU_SHUTDOWN_TIMEOUT="soon": want a duration`},
			{"KEFU_HTTP_READ_TIMEOUT", "60", `KEFU_HTTP_READ_TIMEOUT="60": want a duration`},
			{"KEFU_ADDR", "nope", `KEFU_ADDR="nope": want host:port`},
			{"KEFU_DATABASE_URL", "mysql://x", "KEFU_DATABASE_URL must start with postgres://"},
			{"KEFU_REDIS_URL", "http://x", "KEFU_REDIS_URL must start with redis://"},
			{"KEFU_SECRET", "short", "KEFU_SECRET must be at least 32 characters"},
			{"KEFU_PUBLIC_URL", "ftp://x", `KEFU_PUBLIC_URL="ftp://x"`},
			{"KEFU_LOG_FORMAT", "xml", "KEFU_LOG_FORMAT must be text or json"},
			{"KEFU_LOG_LEVEL", "loud", "KEFU_LOG_LEVEL must be debug, info, warn or error"},
			{"KEFU_COMMIT_SHARDS", "0", "KEFU_COMMIT_SHARDS must be between 1 and 64"},
			{"KEFU_METRICS_TOKEN", "short", "KEFU_METRICS_TOKEN must be at least 16 characters"},
			{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", `OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318"`},
		}
		all := map[string]string{}
		for _, b := range bad {
			t.Run(b.key+" alone", func(t *testing.T) {
				_, err := loadConfig(nil, envOf(map[string]string{b.key: b.value}))
				if err == nil || !strings.Contains(err.Error(), b.want) {
					t.Fatalf("%s=%q: error %v, want it to say %q", b.key, b.value, err, b.want)
				}
				if n := strings.Count(err.Error(), "\n  - "); n != 1 {
					t.Errorf("%s=%q alone gives %d problems, want 1 (a value that does not parse must not be reported again):\n%v", b.key, b.value, n, err)
				}
			})
			all[b.key] = b.value
		}
		_, err := loadConfig(nil, envOf(all))
		if err == nil {
			t.Fatal("no error")
		}
		for _, b := range bad {
			if !strings.Contains(err.Error(), b.want) {
				t.Errorf("with every bad value at once, the error does not say %q:\n%v", b.want, err)
			}
		}
		t.Run("a bad flag is reported with the bad variables", func(t *testing.T) {
			_, err := loadConfig([]string{"--trust-proxy=yes"}, envOf(map[string]string{"KEFU_LOG_FORMAT": "xml"}))
			if err == nil || !strings.Contains(err.Error(), "trust-proxy") || !strings.Contains(err.Error(), "KEFU_LOG_FORMAT") {
				t.Fatalf("error %v, want it to name --trust-proxy and KEFU_LOG_FORMAT", err)
			}
		})
	})
	t.Run("upload limits default to a widget's needs and are validated", func(t *testing.T) {
		c, err := loadConfig(nil, envOf(nil))
		if err != nil || c.UploadsPerMinute != 30 || c.VisitorFilesPerHour != 20 || c.VisitorMBPerHour != 50 ||
			c.TenantFilesPerHour != 2000 || c.TenantMBPerHour != 2048 || c.FileLinkTTL != 24*time.Hour {
			t.Fatalf("defaults: %+v %v", c, err)
		}
		_, err = loadConfig(nil, envOf(map[string]string{
			"KEFU_UPLOADS_PER_MINUTE": "0", "KEFU_UPLOAD_VISITOR_FILES_PER_HOUR": "many", "KEFU_FILE_LINK_TTL": "10s",
		}))
		for _, want := range []string{"KEFU_UPLOAD_VISITOR_FILES_PER_HOUR"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error does not name %s: %v", want, err)
			}
		}
		_, err = loadConfig(nil, envOf(map[string]string{"KEFU_UPLOADS_PER_MINUTE": "0", "KEFU_UPLOAD_TENANT_MB_PER_HOUR": "-1", "KEFU_FILE_LINK_TTL": "10s"}))
		for _, want := range []string{"KEFU_UPLOADS_PER_MINUTE", "KEFU_UPLOAD_TENANT_MB_PER_HOUR", "KEFU_FILE_LINK_TTL"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error does not name %s: %v", want, err)
			}
		}
	})
	t.Run("the secret is generated once and kept", func(t *testing.T) {
		dir := t.TempDir()
		c := Config{DataDir: dir}
		a, err := c.secret()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := c.secret()
		if string(a) != string(b) || len(a) < 32 {
			t.Fatalf("secret changed or short: %q %q", a, b)
		}
		st, _ := os.Stat(filepath.Join(dir, "secret"))
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("secret file mode %v", st.Mode())
		}
	})
}

func TestCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, envOf(nil), &out, &errb); err != nil || !strings.HasPrefix(out.String(), "kefu ") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"launch"}, envOf(nil), &out, &errb); err == nil {
		t.Fatal("unknown command accepted")
	}
	t.Run("serve --help lists every flag with its variable and succeeds", func(t *testing.T) {
		for _, args := range [][]string{{"serve", "--help"}, {"serve", "-h"}, {"migrate", "--help"}} {
			out.Reset()
			errb.Reset()
			if err := run(context.Background(), args, envOf(nil), &out, &errb); err != nil {
				t.Fatalf("%v: %v (stderr %q)", args, err, errb.String())
			}
			for _, want := range []string{"usage: kefu", "-addr", "KEFU_ADDR", "-redis-url", "KEFU_REDIS_URL", "-trust-proxy", "KEFU_TRUST_PROXY", "-ws-send-rate", "(default 20)"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("%v output lacks %q:\n%s", args, want, out.String())
				}
			}
		}
	})
	t.Run("migrate brings an empty data dir to the latest version, twice", func(t *testing.T) {
		dir := t.TempDir()
		for i := 0; i < 2; i++ {
			out.Reset()
			if err := run(context.Background(), []string{"migrate"}, envOf(map[string]string{"KEFU_DATA_DIR": dir}), &out, &errb); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "migrated the platform and 0 tenants (sqlite)") {
				t.Fatalf("migrate said %q", out.String())
			}
		}
	})
}
