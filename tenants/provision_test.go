package tenants_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"kefu/migrations"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// TestFreshTenantMatchesMigratedOne: a tenant made the short way (the
// SQLite template file, the PostgreSQL one-script migration) has the same
// schema — tables, columns, indexes, constraints, triggers, functions — and
// the same rows as one that got the migrations one at a time, as a tenant
// made before the short road, or being upgraded, does.
func TestFreshTenantMatchesMigratedOne(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			fresh := tenants.NewID()
			t.Cleanup(func() { _ = b.Store.Deprovision(ctx, fresh) })
			freshDB, err := b.Store.Provision(ctx, fresh)
			if err != nil {
				t.Fatal(err)
			}
			stepped := tenants.NewID()
			t.Cleanup(func() { _ = b.Store.Deprovision(ctx, stepped) })
			steppedDB := firstMigrationOnly(t, b.Store, stepped)
			if _, err := b.Store.Provision(ctx, stepped); err != nil {
				t.Fatal(err)
			}

			got, want := describe(t, freshDB, fresh), describe(t, steppedDB, stepped)
			if len(want) < 50 {
				t.Fatalf("the description has only %d lines: %v", len(want), want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the fresh tenant differs from the migrated one:\n%s", diff(got, want))
			}

			t.Run("every migration is recorded, applied now", func(t *testing.T) {
				migs, err := migrations.Load(migrations.Tenant, freshDB.Dialect)
				if err != nil {
					t.Fatal(err)
				}
				var rows []struct {
					Version   int
					Name      string
					AppliedAt time.Time
				}
				if err := freshDB.Raw(`SELECT version, name, applied_at FROM ` + freshDB.Table("schema_migrations") + ` ORDER BY version`).Scan(&rows).Error; err != nil {
					t.Fatal(err)
				}
				if len(rows) != len(migs) {
					t.Fatalf("%d rows for %d migrations", len(rows), len(migs))
				}
				for i, m := range migs {
					if rows[i].Version != m.Version || rows[i].Name != m.Name || time.Since(rows[i].AppliedAt) > time.Minute {
						t.Errorf("row %d: %+v, want %d %s applied in the last minute", i, rows[i], m.Version, m.Name)
					}
				}
			})

			t.Run("a tenant made from the template is its own file", func(t *testing.T) {
				other := tenants.NewID()
				t.Cleanup(func() { _ = b.Store.Deprovision(ctx, other) })
				otherDB, err := b.Store.Provision(ctx, other)
				if err != nil {
					t.Fatal(err)
				}
				now := time.Now().UTC()
				if err := otherDB.Exec(`INSERT INTO `+otherDB.Table("visitors")+` (id, created_at, last_seen_at) VALUES ('v1', ?, ?)`, now, now).Error; err != nil {
					t.Fatal(err)
				}
				var n int64
				if err := freshDB.Raw(`SELECT count(*) FROM ` + freshDB.Table("visitors")).Scan(&n).Error; err != nil || n != 0 {
					t.Fatalf("the other tenant's visitor shows in this one: %d %v", n, err)
				}
			})

			t.Run("concurrent provisioning of one new tenant succeeds once", func(t *testing.T) {
				id := tenants.NewID()
				t.Cleanup(func() { _ = b.Store.Deprovision(ctx, id) })
				var wg sync.WaitGroup
				errs := make([]error, 8)
				for i := range errs {
					wg.Go(func() { _, errs[i] = b.Store.Provision(ctx, id) })
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				db, err := b.Store.Tenant(id)
				if err != nil {
					t.Fatal(err)
				}
				if got := describe(t, db, id); !reflect.DeepEqual(got, want) {
					t.Errorf("differs from the migrated one:\n%s", diff(got, want))
				}
				if b.Name == "sqlite" {
					left, _ := filepath.Glob(filepath.Join(filepath.Dir(sqliteFile(t, db)), ".*.tmp"))
					if len(left) > 0 {
						t.Errorf("copies left behind: %v", left)
					}
				}
			})
		})
	}
}

// firstMigrationOnly makes a tenant with only the first migration applied,
// the way the one-at-a-time path records it.
func firstMigrationOnly(t *testing.T, s *tenants.Store, id string) *tenants.DB {
	t.Helper()
	db, err := s.Tenant(id)
	if err != nil {
		t.Fatal(err)
	}
	ts := "datetime"
	if db.Dialect == tenants.Postgres {
		ts = "timestamptz"
		if err := db.Exec(`CREATE SCHEMA "` + tenants.SchemaName(id) + `"`).Error; err != nil {
			t.Fatal(err)
		}
	}
	migs, err := migrations.Load(migrations.Tenant, db.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE ` + db.Table("schema_migrations") + ` (version integer PRIMARY KEY, name text NOT NULL, applied_at ` + ts + ` NOT NULL)`,
		strings.ReplaceAll(migs[0].SQL, "{{schema}}", `"`+tenants.SchemaName(id)+`"`),
	} {
		if err := db.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Exec(`INSERT INTO `+db.Table("schema_migrations")+` (version, name, applied_at) VALUES (?, ?, ?)`, migs[0].Version, migs[0].Name, time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
	return db
}

// describe lists a tenant's schema and the number of rows in each table,
// one line per object, with the tenant's schema name taken out.
func describe(t *testing.T, db *tenants.DB, id string) []string {
	t.Helper()
	var queries []string
	if db.Dialect == tenants.SQLite {
		queries = []string{
			`SELECT type || ' ' || name || ' ' || tbl_name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name`,
			`SELECT 'user_version ' || user_version FROM pragma_user_version`,
			`SELECT 'application_id ' || application_id FROM pragma_application_id`,
			`SELECT 'auto_vacuum ' || auto_vacuum FROM pragma_auto_vacuum`,
		}
	} else {
		sch := tenants.SchemaName(id)
		queries = []string{
			`SELECT c.relname || ' ' || c.relkind::text || ' ' || c.relpersistence::text || ' ' || c.relispartition::text || ' ' || coalesce(pg_get_expr(c.relpartbound, c.oid), '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '` + sch + `' AND c.relkind <> 't' ORDER BY 1`,
			`SELECT table_name || ' ' || ordinal_position || ' ' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') || ' ' || coalesce(collation_name, '') FROM information_schema.columns WHERE table_schema = '` + sch + `' ORDER BY table_name, ordinal_position`,
			`SELECT tablename || ' ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = '` + sch + `' ORDER BY 1`,
			`SELECT c.relname || ' ' || k.conname || ' ' || k.contype::text || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '` + sch + `' ORDER BY 1`,
			`SELECT c.relname || ' ' || g.tgname || ' ' || pg_get_triggerdef(g.oid) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '` + sch + `' AND NOT g.tgisinternal ORDER BY 1`,
			`SELECT p.proname || ' ' || pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '` + sch + `' ORDER BY 1`,
			`SELECT s.relname || ' ' || q.seqtypid::regtype::text || ' ' || q.seqstart || ' ' || q.seqincrement FROM pg_sequence q JOIN pg_class s ON s.oid = q.seqrelid JOIN pg_namespace n ON n.oid = s.relnamespace WHERE n.nspname = '` + sch + `' ORDER BY 1`,
		}
	}
	var out []string
	for _, q := range queries {
		var lines []string
		if err := db.Raw(q).Scan(&lines).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, lines...)
	}
	var tables []string
	if db.Dialect == tenants.SQLite {
		db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).Scan(&tables)
	} else {
		db.Raw(`SELECT tablename FROM pg_tables WHERE schemaname = ? ORDER BY 1`, tenants.SchemaName(id)).Scan(&tables)
	}
	for _, table := range tables {
		var n int64
		if err := db.Raw(`SELECT count(*) FROM ` + db.Table(table)).Scan(&n).Error; err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out = append(out, fmt.Sprintf("rows %s %d", table, n))
	}
	for i := range out {
		out[i] = strings.ReplaceAll(out[i], tenants.SchemaName(id), "<schema>")
	}
	return out
}

func diff(got, want []string) string {
	var b strings.Builder
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	g, w := in(got), in(want)
	for _, x := range got {
		if !w[x] {
			fmt.Fprintf(&b, "+ %s\n", x)
		}
	}
	for _, x := range want {
		if !g[x] {
			fmt.Fprintf(&b, "- %s\n", x)
		}
	}
	if b.Len() == 0 {
		b.WriteString("(the same lines in another order)")
	}
	return b.String()
}

// sqliteFile is the path of the tenant's open file.
func sqliteFile(t *testing.T, db *tenants.DB) string {
	t.Helper()
	var path string
	if err := db.Raw(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path).Error; err != nil || path == "" {
		t.Fatalf("tenant file: %q %v", path, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenSweepsProvisionLeftovers: what a process that died while
// provisioning left — a template directory, a half-written tenant copy —
// is removed when the store opens once it is an hour old; a fresh scratch
// file (another process may be writing it) and tenants' files stay.
func TestOpenSweepsProvisionLeftovers(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	mk := func(path string, dirToo bool, at time.Time) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if dirToo {
			if err := os.MkdirAll(path, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(path, "migrated.db"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
		return path
	}
	staleTemplate := mk(filepath.Join(dir, ".tenant-template-123"), true, old)
	staleCopy := mk(filepath.Join(dir, "tenants", ".01abc-456.tmp"), false, old)
	freshCopy := mk(filepath.Join(dir, "tenants", ".01def-789.tmp"), false, time.Now())
	tenantFile := mk(filepath.Join(dir, "tenants", "01abc.db"), false, old)
	store, err := tenants.Open(context.Background(), tenants.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, gone := range []string{staleTemplate, staleCopy} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", gone, err)
		}
	}
	for _, kept := range []string{freshCopy, tenantFile} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s was removed: %v", kept, err)
		}
	}
}
