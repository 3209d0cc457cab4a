package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestServeRefusesClusterTraps: `kefu serve` on PostgreSQL refuses to start
// without a shared secret (each node would sign visitor tokens with its
// own) and without Redis unless KEFU_SINGLE_NODE=true (each node would hear
// only its own events), saying why, before it touches anything; `kefu
// migrate` needs neither.
func TestServeRefusesClusterTraps(t *testing.T) {
	const pg = "postgres://nobody@127.0.0.1:1/none?sslmode=disable" // never reached: the refusal comes first
	secret := strings.Repeat("s", 40)
	serve := func(env map[string]string) string {
		t.Helper()
		env["KEFU_DATA_DIR"] = t.TempDir()
		var out bytes.Buffer
		err := run(context.Background(), []string{"serve"}, envOf(env), &out, &out)
		if err == nil {
			t.Fatalf("serve started with %v", env)
		}
		return err.Error()
	}
	t.Run("no secret", func(t *testing.T) {
		msg := serve(map[string]string{"KEFU_DATABASE_URL": pg, "KEFU_REDIS_URL": "redis://127.0.0.1:1/0"})
		if !strings.Contains(msg, "KEFU_SECRET (or KEFU_SECRET_FILE) must be set with PostgreSQL") || !strings.Contains(msg, "refused by the others") {
			t.Errorf("error = %q", msg)
		}
	})
	t.Run("no redis", func(t *testing.T) {
		msg := serve(map[string]string{"KEFU_DATABASE_URL": pg, "KEFU_SECRET": secret})
		if !strings.Contains(msg, "KEFU_REDIS_URL must be set with PostgreSQL") || !strings.Contains(msg, "KEFU_SINGLE_NODE=true") {
			t.Errorf("error = %q", msg)
		}
	})
	t.Run("both, with every other problem", func(t *testing.T) {
		msg := serve(map[string]string{"KEFU_DATABASE_URL": pg, "KEFU_LOG_FORMAT": "xml"})
		for _, want := range []string{"KEFU_LOG_FORMAT", "KEFU_SECRET", "KEFU_REDIS_URL"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error does not name %s: %q", want, msg)
			}
		}
	})
	t.Run("single node is allowed without redis", func(t *testing.T) {
		msg := serve(map[string]string{"KEFU_DATABASE_URL": pg, "KEFU_SECRET": secret, "KEFU_SINGLE_NODE": "true"})
		if strings.Contains(msg, "KEFU_REDIS_URL") || !strings.Contains(msg, "postgres") {
			t.Errorf("with KEFU_SINGLE_NODE, serve should get as far as the database: %q", msg)
		}
	})
	t.Run("sqlite needs neither", func(t *testing.T) {
		if p := (&Config{}).clusterProblems(); len(p) != 0 {
			t.Errorf("problems without PostgreSQL: %v", p)
		}
	})
	t.Run("migrate needs neither", func(t *testing.T) {
		var out bytes.Buffer
		err := run(context.Background(), []string{"migrate"}, envOf(map[string]string{"KEFU_DATABASE_URL": pg, "KEFU_DATA_DIR": t.TempDir()}), &out, &out)
		if err == nil || strings.Contains(err.Error(), "KEFU_SECRET") || strings.Contains(err.Error(), "KEFU_REDIS_URL") {
			t.Errorf("migrate = %v", err)
		}
	})
}
