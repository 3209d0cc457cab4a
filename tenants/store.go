package tenants

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"

	"kefu/migrations"
)

// Dialects.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// Store opens Kefu's databases and hands out per-tenant handles.
//
// PostgreSQL: one connection pool; the platform tables live in schema
// "platform" and each tenant in schema "t_<id>". Every handle names its
// tables schema-qualified (a GORM naming strategy with the schema as table
// prefix, and Table() for raw SQL); no handle ever sets search_path, which
// would leak across pooled connections.
//
// SQLite (the embedded default): platform.db plus tenants/<id>.db in the data
// directory, through a pure-Go driver (github.com/glebarez/sqlite on
// modernc.org/sqlite) so the binary builds and cross-compiles without cgo.
// Each file gets one connection: SQLite has one writer anyway, and a single
// connection turns lock contention into queueing instead of SQLITE_BUSY.
type Store struct {
	dialect  string
	dataDir  string
	pool     *sql.DB // PostgreSQL only
	platform *DB
	log      *slog.Logger

	mu        sync.Mutex
	handles   *lru.Cache[string, *DB] // tenant id → handle (cheap on PostgreSQL; see files on SQLite)
	files     *files                  // SQLite: the open tenant files
	handleCap int

	plugins []gorm.Plugin // given to every handle (the query error counter)
	closed  bool          // Close was called: no handle is handed out any more

	tmplMu sync.Mutex
	tmpl   []byte // SQLite: a migrated tenant file, made on first need (provision.go)
}

// ErrClosed is what a closed store answers.
var ErrClosed = errors.New("the store is closed")

// DB is a handle on one tenant's (or the platform's) tables.
type DB struct {
	*gorm.DB
	Dialect string
	schema  string // PostgreSQL schema; empty on SQLite
	sqlDB   *sql.DB
	shared  *gorm.DB
}

// Shared is the handle whose transactions may touch this tenant's tables
// together with every other tenant's on the same connections: on
// PostgreSQL all tenants share one pool (raw SQL names its tables through
// Table), so one transaction can commit messages of many tenants; on SQLite
// it is the tenant's own file.
func (d *DB) Shared() *gorm.DB {
	if d.shared != nil {
		return d.shared
	}
	return d.DB
}

// Table returns the quoted, schema-qualified name of table for raw SQL.
func (d *DB) Table(name string) string {
	if d.schema == "" {
		return `"` + name + `"`
	}
	return `"` + d.schema + `"."` + name + `"`
}

// Options configures Open.
type Options struct {
	DatabaseURL string // empty: SQLite files in DataDir
	DataDir     string
	MaxConns    int
	Logger      *slog.Logger
	// PlatformSchema names the PostgreSQL schema of the platform tables
	// (default "platform"); tests give each run its own.
	PlatformSchema string
	// Registry, when set, gets the database metrics: the pools' state
	// (kefu_db_connections …) and failed statements (kefu_db_query_errors_total).
	Registry prometheus.Registerer
	// TenantHandles is how many tenants' databases stay open at once
	// (default DefaultTenantHandles): on SQLite their files, closed when
	// they fall out of the cache and no call is using them.
	TenantHandles int
}

var identPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to the database and migrates the platform tables.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TenantHandles <= 0 {
		o.TenantHandles = DefaultTenantHandles
	}
	s := &Store{dataDir: o.DataDir, log: o.Logger, files: newFiles(o.TenantHandles), handleCap: o.TenantHandles}
	// Handles hold no connection of their own (a handle kept past its
	// eviction still works), so evicting one only frees its memory.
	s.handles, _ = lru.New[string, *DB](o.TenantHandles)
	var qerr *queryErrors
	if o.Registry != nil {
		qerr = newQueryErrors()
		s.plugins = append(s.plugins, qerr)
	}
	switch {
	case o.DatabaseURL == "":
		s.dialect = SQLite
		if err := os.MkdirAll(filepath.Join(o.DataDir, "tenants"), 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		s.sweepProvisionLeftovers(time.Now().Add(-provisionLeftoverAge))
		db, err := s.openSQLite(filepath.Join(o.DataDir, "platform.db"))
		if err != nil {
			return nil, err
		}
		s.platform = db
	case strings.HasPrefix(o.DatabaseURL, "postgres://") || strings.HasPrefix(o.DatabaseURL, "postgresql://"):
		s.dialect = Postgres
		gdb, err := gorm.Open(postgres.Open(o.DatabaseURL), s.gormConfig(""))
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		pool, err := gdb.DB()
		if err != nil {
			return nil, err
		}
		if o.MaxConns <= 0 {
			o.MaxConns = 32
		}
		pool.SetMaxOpenConns(o.MaxConns)
		pool.SetMaxIdleConns(o.MaxConns)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		pool.SetConnMaxLifetime(pgConnLifetime)
		s.pool = pool
		if err := pool.PingContext(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("connect postgres: %w", err)
		}
		if o.PlatformSchema == "" {
			o.PlatformSchema = "platform"
		}
		if !identPattern.MatchString(o.PlatformSchema) {
			pool.Close()
			return nil, fmt.Errorf("bad platform schema name %q", o.PlatformSchema)
		}
		s.platform, err = s.pgHandle(o.PlatformSchema)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("database url must start with postgres:// (or be empty for SQLite)")
	}
	if err := s.migrate(ctx, s.platform, migrations.Platform); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate platform: %w", err)
	}
	if o.Registry != nil {
		if err := errors.Join(o.Registry.Register(qerr.c), o.Registry.Register(newPoolCollector(s))); err != nil {
			s.Close()
			return nil, fmt.Errorf("database metrics: %w", err)
		}
	}
	return s, nil
}

// pgConnLifetime retires a pooled PostgreSQL connection after this long.
// A backend keeps the catalog entries (relcache, catcache) of every
// relation it has touched until it exits, and with a schema per tenant a
// busy connection touches them all: measured with 900 tenants signed up,
// each backend held 55-62 MB of private memory (about 65 KB a tenant),
// which at 10,000 tenants would be about 650 MB for each of the pool's
// connections. Retiring connections bounds that by what one touches in
// its lifetime; opening a new one costs a few milliseconds.
const pgConnLifetime = 10 * time.Minute

func (s *Store) gormConfig(prefix string) *gorm.Config {
	plugins := map[string]gorm.Plugin{}
	for _, p := range s.plugins {
		plugins[p.Name()] = p
	}
	return &gorm.Config{
		Plugins:                plugins,
		NamingStrategy:         schema.NamingStrategy{TablePrefix: prefix},
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		TranslateError:         false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
}

func (s *Store) openSQLite(path string) (*DB, error) {
	sqlDB, err := s.openSQLiteDB(path)
	if err != nil {
		return nil, err
	}
	gdb, err := gorm.Open(&sqlite.Dialector{Conn: sqlDB}, s.gormConfig(""))
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &DB{DB: gdb, Dialect: SQLite, sqlDB: sqlDB}, nil
}

// openSQLiteDB opens one SQLite file with one connection (connecting
// lazily, on first use).
func (s *Store) openSQLiteDB(path string) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	sqlDB, err := sql.Open(sqlite.DriverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxIdleTime(0)
	sqlDB.SetConnMaxLifetime(0)
	return sqlDB, nil
}

func (s *Store) pgHandle(schemaName string) (*DB, error) {
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: s.pool}), s.gormConfig(schemaName+"."))
	if err != nil {
		return nil, err
	}
	h := &DB{DB: gdb, Dialect: Postgres, schema: schemaName}
	if s.platform != nil {
		h.shared = s.platform.DB
	}
	return h, nil
}

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// Platform is the handle on the platform tables.
func (s *Store) Platform() *DB { return s.platform }

var tenantIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$`)

// SchemaName is the PostgreSQL schema of a tenant: t_ and the id without dashes.
func SchemaName(tenantID string) string {
	return "t_" + strings.ReplaceAll(tenantID, "-", "")
}

// Tenant returns the handle on a provisioned tenant's tables. The caller must
// already know the tenant exists (it came from a verified token or the
// platform table); Tenant does not create anything.
func (s *Store) Tenant(tenantID string) (*DB, error) {
	if !tenantIDPattern.MatchString(tenantID) {
		return nil, fmt.Errorf("bad tenant id %q", tenantID)
	}
	s.mu.Lock()
	h, ok := s.handles.Get(tenantID)
	closed := s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return nil, ErrClosed // never reopen a file behind a Close
	case ok:
		return h, nil
	}
	// Made outside the lock: on SQLite, making one reads the file, which
	// takes the lock.
	var err error
	if s.dialect == Postgres {
		h, err = s.pgHandle(SchemaName(tenantID))
	} else {
		h, err = s.tenantSQLite(tenantID)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if prev, ok, _ := s.handles.PeekOrAdd(tenantID, h); ok {
		return prev, nil
	}
	return h, nil
}

func (s *Store) tenantFile(tenantID string) string {
	return filepath.Join(s.dataDir, "tenants", tenantID+".db")
}

// Provision creates the tenant's schema (or file) and applies the tenant
// migrations. It is idempotent: running it again for the same tenant only
// applies what is missing. A new tenant takes the short road of
// provision.go; an existing one is migrated one migration at a time.
func (s *Store) Provision(ctx context.Context, tenantID string) (*DB, error) {
	if !tenantIDPattern.MatchString(tenantID) {
		return nil, fmt.Errorf("bad tenant id %q", tenantID)
	}
	placed := false
	if s.dialect == SQLite {
		// Before the handle: opening one creates an empty file.
		var err error
		if placed, err = s.placeTemplate(ctx, tenantID); err != nil {
			return nil, fmt.Errorf("provision tenant %s: %w", tenantID, err)
		}
	}
	h, err := s.Tenant(tenantID)
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx, h, migrations.Tenant); err != nil {
		return nil, fmt.Errorf("provision tenant %s: %w", tenantID, err)
	}
	if placed {
		if err := stampMigrations(ctx, h); err != nil {
			return nil, fmt.Errorf("provision tenant %s: %w", tenantID, err)
		}
	}
	return h, nil
}

// Deprovision removes a tenant's schema or file. Signup uses it to undo a
// half-made tenant; tests use it to clean up.
func (s *Store) Deprovision(ctx context.Context, tenantID string) error {
	if !tenantIDPattern.MatchString(tenantID) {
		return fmt.Errorf("bad tenant id %q", tenantID)
	}
	s.mu.Lock()
	s.handles.Remove(tenantID)
	s.files.open.Remove(tenantID) // closed now, or by its last user
	closing := s.files.closing
	s.files.closing = nil
	s.mu.Unlock()
	for _, db := range closing {
		db.Close()
	}
	if s.dialect == Postgres {
		return s.platform.WithContext(ctx).Exec(`DROP SCHEMA IF EXISTS "` + SchemaName(tenantID) + `" CASCADE`).Error
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(s.tenantFile(tenantID) + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// MigrateAll brings the platform and every tenant to the latest version.
func (s *Store) MigrateAll(ctx context.Context) (int, error) {
	if err := s.migrate(ctx, s.platform, migrations.Platform); err != nil {
		return 0, err
	}
	var ids []string
	if err := s.platform.WithContext(ctx).Model(&tenantRow{}).Order("created_at").Pluck("id", &ids).Error; err != nil {
		return 0, err
	}
	for _, id := range ids {
		h, err := s.Provision(ctx, id)
		if err != nil {
			return 0, err
		}
		if err := s.indexEmails(ctx, id, h); err != nil {
			return 0, fmt.Errorf("index emails of tenant %s: %w", id, err)
		}
	}
	return len(ids), nil
}

// migrate applies the missing migrations of set to the handle's schema, all
// in one transaction. On PostgreSQL an advisory lock keyed by the schema makes
// concurrent starts (several nodes, parallel tests) wait for each other.
func (s *Store) migrate(ctx context.Context, h *DB, set migrations.Set) error {
	migs, err := migrations.Load(set, h.Dialect)
	if err != nil {
		return err
	}
	return h.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if h.Dialect == Postgres {
			if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext(?))`, "kefu.migrate."+h.schema).Error; err != nil {
				return err
			}
			if err := tx.Exec(`CREATE SCHEMA IF NOT EXISTS "` + h.schema + `"`).Error; err != nil {
				return err
			}
		}
		ts := "datetime"
		if h.Dialect == Postgres {
			ts = "timestamptz"
		}
		if err := tx.Exec(`CREATE TABLE IF NOT EXISTS ` + h.Table("schema_migrations") + ` (version integer PRIMARY KEY, name text NOT NULL, applied_at ` + ts + ` NOT NULL)`).Error; err != nil {
			return err
		}
		var done []int
		if err := tx.Raw(`SELECT version FROM ` + h.Table("schema_migrations")).Scan(&done).Error; err != nil {
			return err
		}
		if len(done) == 0 && h.Dialect == Postgres && len(migs) > 0 {
			return migrateFresh(tx, h, migs)
		}
		applied := map[int]bool{}
		for _, v := range done {
			applied[v] = true
		}
		for _, m := range migs {
			if applied[m.Version] {
				continue
			}
			body := strings.ReplaceAll(m.SQL, "{{schema}}", `"`+h.schema+`"`)
			if err := tx.Exec(body).Error; err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if err := tx.Exec(`INSERT INTO `+h.Table("schema_migrations")+` (version, name, applied_at) VALUES (?, ?, ?)`, m.Version, m.Name, time.Now().UTC()).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	return s.platform.WithContext(ctx).Exec("SELECT 1").Error
}

// Close closes every connection.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.handles.Purge()
	// Files in use are closed now too: database/sql lets the statements
	// and transactions under way finish, and refuses new ones.
	for _, e := range s.files.open.Values() {
		e.db.Close()
	}
	for _, e := range s.files.draining {
		e.db.Close()
	}
	for _, db := range s.files.closing {
		db.Close()
	}
	s.files = newFiles(1)
	if s.platform != nil && s.platform.sqlDB != nil {
		s.platform.sqlDB.Close()
	}
	if s.pool != nil {
		return s.pool.Close()
	}
	return nil
}
