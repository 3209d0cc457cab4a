package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kefu/tenants"
)

// TestBackup: `kefu backup --out DIR` copies the platform and every tenant
// file while the store is open and written to (a running server), and the
// generated secret; the copy opens as a data directory where the owner
// signs in; an existing backup is never overwritten; PostgreSQL is refused
// with a pointer to pg_dump.
func TestBackup(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	secret := []byte("0123456789abcdef0123456789abcdef")
	if err := os.WriteFile(filepath.Join(data, "secret"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := tenants.Open(ctx, tenants.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ten := tenants.NewService(store, tenants.Config{Secret: secret})
	var slugs []string
	for _, name := range []string{"Backup One", "Backup Two"} {
		res, err := ten.Signup(ctx, tenants.SignupInput{Company: name, Email: "o@example.com", Password: "password1", Name: "O"})
		if err != nil {
			t.Fatal(err)
		}
		slugs = append(slugs, res.Tenant.Slug)
	}
	// The "server" keeps writing while the backup runs.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				_, _, _ = ten.Login(ctx, slugs[0], "o@example.com", "password1")
			}
		}
	}()
	out := filepath.Join(t.TempDir(), "backup")
	env := func(k string) string {
		if k == "KEFU_DATA_DIR" {
			return data
		}
		return ""
	}
	var stdout bytes.Buffer
	err = run(ctx, []string{"backup", "--out", out}, env, &stdout, io.Discard)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "2 tenants") {
		t.Errorf("output: %q", stdout.String())
	}
	if got, _ := os.ReadFile(filepath.Join(out, "secret")); !bytes.Equal(got, secret) {
		t.Errorf("secret not copied")
	}
	copied, err := tenants.Open(ctx, tenants.Options{DataDir: out})
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	cten := tenants.NewService(copied, tenants.Config{Secret: secret})
	for _, slug := range slugs {
		if _, _, err := cten.Login(ctx, slug, "o@example.com", "password1"); err != nil {
			t.Errorf("sign in to %s in the copy: %v", slug, err)
		}
	}
	if err := run(ctx, []string{"backup", "--out=" + out}, env, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second backup into the same directory: %v", err)
	}
	if err := run(ctx, []string{"backup"}, env, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("no --out: %v", err)
	}
	if url := os.Getenv("KEFU_TEST_DATABASE_URL"); url != "" {
		pg := func(k string) string {
			if k == "KEFU_DATABASE_URL" {
				return url
			}
			return env(k)
		}
		if err := run(ctx, []string{"backup", "--out", t.TempDir()}, pg, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "pg_dump") {
			t.Errorf("PostgreSQL: %v", err)
		}
	}
}
