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
		_, err := loadConfig(nil, envOf(map[string]string{
			"KEFU_ADDR": "nope", "KEFU_DATABASE_URL": "mysql://x", "KEFU_REDIS_URL": "http://x",
			"KEFU_SECRET": "short", "KEFU_PUBLIC_URL": "ftp://x", "KEFU_LOG_FORMAT": "xml",
			"KEFU_ALLOW_PRIVATE_NETWORKS": "maybe",
		}))
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{"KEFU_ALLOW_PRIVATE_NETWORKS"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not name %s: %v", want, err)
			}
		}
		_, err = loadConfig(nil, envOf(map[string]string{
			"KEFU_ADDR": "nope", "KEFU_DATABASE_URL": "mysql://x", "KEFU_REDIS_URL": "http://x",
			"KEFU_SECRET": "short", "KEFU_PUBLIC_URL": "ftp://x", "KEFU_LOG_FORMAT": "xml",
		}))
		for _, want := range []string{"KEFU_ADDR", "KEFU_DATABASE_URL", "KEFU_REDIS_URL", "KEFU_SECRET", "KEFU_PUBLIC_URL", "KEFU_LOG_FORMAT"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error does not name %s: %v", want, err)
			}
		}
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
