// Package tenantstest opens Kefu's store on each backend for tests: SQLite
// always, PostgreSQL when KEFU_TEST_DATABASE_URL is set. Each PostgreSQL
// store gets its own platform schema, so tests run in parallel and clean up
// after themselves.
package tenantstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"kefu/tenants"
)

// Backend is a named store.
type Backend struct {
	Name  string
	Store *tenants.Store
}

// Backends returns a fresh store on every available backend.
func Backends(t testing.TB) []Backend {
	t.Helper()
	out := []Backend{{Name: "sqlite", Store: SQLite(t)}}
	if pg := Postgres(t); pg != nil {
		out = append(out, Backend{Name: "postgres", Store: pg})
	}
	return out
}

// SQLite opens a store in a temporary directory.
func SQLite(t testing.TB) *tenants.Store {
	t.Helper()
	s, err := tenants.Open(context.Background(), tenants.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Postgres opens a store with its own platform schema, or returns nil (and
// says so) when KEFU_TEST_DATABASE_URL is unset. Cleanup drops the platform
// schema and every tenant schema made under it.
func Postgres(t testing.TB) *tenants.Store {
	t.Helper()
	url := os.Getenv("KEFU_TEST_DATABASE_URL")
	if url == "" {
		t.Log("KEFU_TEST_DATABASE_URL not set: PostgreSQL cases skipped")
		return nil
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "platform_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	s, err := tenants.Open(ctx, tenants.Options{DatabaseURL: url, DataDir: t.TempDir(), PlatformSchema: schema, MaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var ids []string
		s.Platform().Raw(`SELECT id FROM "` + schema + `"."tenants"`).Scan(&ids)
		for _, id := range ids {
			if err := s.Deprovision(ctx, id); err != nil {
				t.Logf("drop tenant schema: %v", err)
			}
		}
		s.Platform().Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
		s.Close()
	})
	return s
}
