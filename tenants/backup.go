package tenants

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// BackupReport says what Backup wrote.
type BackupReport struct {
	Files   []string // paths written, the platform first
	Secret  bool     // the generated secret was copied too
	Tenants int
}

// Backup writes a consistent copy of every SQLite database — platform.db
// and each tenant's file, laid out as in the data directory — into dir,
// using VACUUM INTO: each copy is one read transaction, so the server may
// keep running (it writes on; the copy is the database as of the moment it
// began) and the copy is compact and whole (no -wal file to carry along).
// The generated secret (DataDir/secret) is copied too: without it the copy's
// visitor tokens and sealed model keys are useless. dir must not hold an
// earlier backup. On PostgreSQL there is nothing to copy here (pg_dump does
// it, per schema; see the README): Backup refuses.
func (s *Store) Backup(ctx context.Context, dir string) (BackupReport, error) {
	var rep BackupReport
	if s.dialect == Postgres {
		return rep, errors.New("backup copies SQLite files; on PostgreSQL use pg_dump (pg_dump --schema=t_<id> for one tenant, see the README)")
	}
	if err := os.MkdirAll(filepath.Join(dir, "tenants"), 0o700); err != nil {
		return rep, err
	}
	into := func(db *DB, path string) error {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists: back up into an empty directory", path)
		}
		if err := db.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
			return fmt.Errorf("copy to %s: %w", path, err)
		}
		rep.Files = append(rep.Files, path)
		return nil
	}
	if err := into(s.platform, filepath.Join(dir, "platform.db")); err != nil {
		return rep, err
	}
	var ids []string
	if err := s.platform.WithContext(ctx).Raw("SELECT id FROM tenants ORDER BY id").Scan(&ids).Error; err != nil {
		return rep, err
	}
	for _, id := range ids {
		h, err := s.Tenant(id)
		if err != nil {
			return rep, err
		}
		if err := into(h, filepath.Join(dir, "tenants", id+".db")); err != nil {
			return rep, err
		}
		rep.Tenants++
	}
	secret := filepath.Join(s.dataDir, "secret")
	if in, err := os.Open(secret); err == nil {
		defer in.Close()
		out, err := os.OpenFile(filepath.Join(dir, "secret"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return rep, err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return rep, err
		}
		if err := out.Close(); err != nil {
			return rep, err
		}
		rep.Secret = true
	}
	return rep, nil
}
