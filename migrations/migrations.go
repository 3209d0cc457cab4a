// Package migrations holds Kefu's versioned SQL, one set for the platform
// (tenants, sessions, API keys) and one applied to every tenant, each per
// dialect. Files are named NNNN_name.sql and applied in order; a file is
// applied once, in a transaction, and recorded in the schema's
// schema_migrations table. Tenant files for PostgreSQL write {{schema}} where
// the tenant's quoted schema name goes, because Kefu never relies on a
// session search_path.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed platform tenant
var files embed.FS

// Set names a group of migrations.
type Set string

const (
	Platform Set = "platform"
	Tenant   Set = "tenant"
)

// Migration is one versioned SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load returns the migrations of set for dialect ("postgres" or "sqlite"), in
// version order.
func Load(set Set, dialect string) ([]Migration, error) {
	dir := string(set) + "/" + dialect
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations %s: %w", dir, err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations %s: bad file name %q (want NNNN_name.sql)", dir, name)
		}
		b, err := fs.ReadFile(files, dir+"/"+name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s: version %d twice", dir, out[i].Version)
		}
	}
	return out, nil
}
