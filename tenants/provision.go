package tenants

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"kefu/migrations"
)

// Making a new tenant is mostly running every tenant migration on an empty
// schema, and that was most of what a signup cost: measured under load on
// the 2-core VM, 86 ms of SQL parsing and table rebuilds on SQLite (0005 and
// 0023 rebuild tables that 0001 made) and 1.1 s of catalog work in 22
// transactions' worth of round trips on PostgreSQL. Both backends now take a
// shorter road for a tenant that has nothing yet, ending in the same schema
// (TestFreshTenantMatchesMigratedOne compares them):
//
//   - SQLite: the first new tenant of a process migrates a scratch file and
//     keeps a compact copy of it (VACUUM INTO) in memory; every new tenant's
//     file is that copy, written next to its final name, fsynced, and linked
//     into place (a link never replaces a file, so a tenant that exists, or
//     one a concurrent Provision placed first, is left alone). What the copy
//     lacks is applied by the usual migrate, which then finds nothing to do.
//   - PostgreSQL: a schema with no migration applied gets all of them as one
//     script, with their schema_migrations rows, in one round trip of the same
//     single transaction (the catalog work stays; the per-statement round
//     trips and per-migration inserts go). A schema part-way through keeps the
//     one-migration-at-a-time path, whose errors name the migration.

// placeTemplate puts a copy of the migrated tenant file at the tenant's
// path unless a file is there already. It reports whether it placed one.
func (s *Store) placeTemplate(ctx context.Context, tenantID string) (bool, error) {
	path := s.tenantFile(tenantID)
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	tmpl, err := s.sqliteTemplate(ctx)
	if err != nil {
		return false, err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+tenantID+"-*.tmp")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(tmpl)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil // a concurrent Provision of the same tenant
		}
		return false, err
	}
	return true, syncDir(dir)
}

// syncDir makes a new name in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// sqliteTemplate returns the bytes of a tenant file with every tenant
// migration applied, made once per store: a scratch file in the data
// directory is migrated the usual way, then copied compact (VACUUM INTO,
// which leaves out the pages the table rebuilds freed) and removed.
func (s *Store) sqliteTemplate(ctx context.Context) ([]byte, error) {
	s.tmplMu.Lock()
	defer s.tmplMu.Unlock()
	if s.tmpl != nil {
		return s.tmpl, nil
	}
	dir, err := os.MkdirTemp(s.dataDir, ".tenant-template-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db, err := s.openSQLite(filepath.Join(dir, "migrated.db"))
	if err != nil {
		return nil, err
	}
	defer db.sqlDB.Close()
	if err := s.migrate(ctx, db, migrations.Tenant); err != nil {
		return nil, fmt.Errorf("tenant template: %w", err)
	}
	out := filepath.Join(dir, "template.db")
	if err := db.WithContext(ctx).Exec(`VACUUM INTO '` + strings.ReplaceAll(out, "'", "''") + `'`).Error; err != nil {
		return nil, fmt.Errorf("tenant template: %w", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	s.tmpl = b
	return b, nil
}

// provisionLeftoverAge is how old a scratch file of placeTemplate or
// sqliteTemplate must be before Open removes it: one a process died
// holding (a provision takes well under a second; another process on the
// same data directory, kefu migrate say, may be making one now).
const provisionLeftoverAge = time.Hour

// sweepProvisionLeftovers removes what a process that died mid-provision
// left: template directories in the data directory and half-written
// tenant copies in tenants/, older than before. A tenant's file is never
// one of them (those are linked into place under their own name).
func (s *Store) sweepProvisionLeftovers(before time.Time) {
	remove := func(dir string, match func(name string) bool) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			if !match(e.Name()) {
				continue
			}
			if info, err := e.Info(); err != nil || !info.ModTime().Before(before) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil && s.log != nil {
				s.log.Warn("remove a provisioning leftover", "path", filepath.Join(dir, e.Name()), "err", err)
			}
		}
	}
	remove(s.dataDir, func(n string) bool { return strings.HasPrefix(n, ".tenant-template-") })
	remove(filepath.Join(s.dataDir, "tenants"), func(n string) bool { return strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".tmp") })
}

// stampMigrations sets applied_at of a tenant made from the template to
// now: its migrations were run on the template, perhaps days ago, and the
// table says when this tenant got them.
func stampMigrations(ctx context.Context, h *DB) error {
	return h.WithContext(ctx).Exec(`UPDATE `+h.Table("schema_migrations")+` SET applied_at = ?`, time.Now().UTC()).Error
}

// migrateFresh applies every migration of a schema that has none, as one
// script sent in one round trip inside the caller's transaction, with
// their schema_migrations rows.
func migrateFresh(tx *gorm.DB, h *DB, migs []migrations.Migration) error {
	var b strings.Builder
	quoted := `"` + h.schema + `"`
	for _, m := range migs {
		b.WriteString(strings.ReplaceAll(m.SQL, "{{schema}}", quoted))
		b.WriteString("\n;\n")
	}
	b.WriteString(`INSERT INTO ` + h.Table("schema_migrations") + ` (version, name, applied_at) VALUES `)
	for i, m := range migs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + strconv.Itoa(m.Version) + ", '" + strings.ReplaceAll(m.Name, "'", "''") + "', now())")
	}
	if err := tx.Exec(b.String()).Error; err != nil {
		return fmt.Errorf("migrations %s to %s on a new schema: %w", migs[0].Name, migs[len(migs)-1].Name, err)
	}
	return nil
}
