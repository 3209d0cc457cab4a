package tenants

import (
	"context"
	"database/sql"
	"sync"

	"github.com/glebarez/sqlite"
	lru "github.com/hashicorp/golang-lru/v2"
	"gorm.io/gorm"
)

// DefaultTenantHandles is how many tenants' databases a node keeps open at
// once (Options.TenantHandles). On SQLite an open tenant holds three file
// descriptors (the file, its WAL and its shared-memory index) and its page
// cache, so 500 stay far below a 20,000-descriptor limit and a few hundred
// MB; a tenant past the cap is reopened on its next use, which costs about a
// millisecond.
const DefaultTenantHandles = 500

// A tenant's SQLite file is opened at most once per node however many
// handles point at it, and closed when it falls out of the cache of open
// files — but never under a caller: every use of the file (a statement, or
// a transaction from begin to commit) holds a reference, and the file of an
// evicted tenant is closed by whoever drops the last one. A handle the
// caller keeps after its tenant was evicted still works: each use looks the
// file up again and reopens it.

// sqliteFile is one tenant file's connection.
type sqliteFile struct {
	id      string
	db      *sql.DB
	refs    int  // uses under way (guarded by Store.mu)
	evicted bool // out of the cache: the last release closes it
}

// files is the cache of open tenant files, guarded by Store.mu.
type files struct {
	open *lru.Cache[string, *sqliteFile]
	// draining holds evicted files still in use, so that a tenant used
	// again meanwhile gets the same connection back rather than a second
	// one on the same file.
	draining map[string]*sqliteFile
	closing  []*sql.DB // evicted idle files, closed once Store.mu is released
}

func newFiles(size int) *files {
	f := &files{draining: map[string]*sqliteFile{}}
	f.open, _ = lru.NewWithEvict(size, func(id string, e *sqliteFile) {
		e.evicted = true
		if e.refs == 0 {
			f.closing = append(f.closing, e.db)
		} else {
			f.draining[id] = e
		}
	})
	return f
}

// acquire returns the tenant's open file, opening it when needed, with a
// reference the caller gives back through release.
func (s *Store) acquire(id string) (*sqliteFile, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed // never reopen a file behind a Close
	}
	e, ok := s.files.open.Get(id)
	if !ok {
		if e, ok = s.files.draining[id]; ok {
			delete(s.files.draining, id)
			e.evicted = false
		} else {
			db, err := s.openSQLiteDB(s.tenantFile(id))
			if err != nil {
				s.mu.Unlock()
				return nil, err
			}
			e = &sqliteFile{id: id, db: db}
		}
		s.files.open.Add(id, e)
	}
	e.refs++
	closing := s.files.closing
	s.files.closing = nil
	s.mu.Unlock()
	for _, db := range closing {
		db.Close()
	}
	return e, nil
}

func (s *Store) release(e *sqliteFile) {
	s.mu.Lock()
	e.refs--
	last := e.evicted && e.refs == 0
	if last {
		delete(s.files.draining, e.id)
	}
	s.mu.Unlock()
	if last {
		e.db.Close()
	}
}

// openFiles is how many tenant files are open (tests, metrics).
func (s *Store) openFiles() []*sql.DB {
	s.mu.Lock()
	defer s.mu.Unlock()
	dbs := make([]*sql.DB, 0, s.files.open.Len()+len(s.files.draining))
	for _, e := range s.files.open.Values() {
		dbs = append(dbs, e.db)
	}
	for _, e := range s.files.draining {
		dbs = append(dbs, e.db)
	}
	return dbs
}

// filePool is the gorm.ConnPool of a tenant handle on SQLite: each call
// takes the tenant's file from the store for as long as it needs it.
// Rows a query returns keep their connection after the call: database/sql
// closes a connection in use only when it is given back.
type filePool struct {
	s  *Store
	id string
}

func (p filePool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	e, err := p.s.acquire(p.id)
	if err != nil {
		return nil, err
	}
	defer p.s.release(e)
	return e.db.PrepareContext(ctx, query)
}

func (p filePool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	e, err := p.s.acquire(p.id)
	if err != nil {
		return nil, err
	}
	defer p.s.release(e)
	return e.db.ExecContext(ctx, query, args...)
}

func (p filePool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	e, err := p.s.acquire(p.id)
	if err != nil {
		return nil, err
	}
	defer p.s.release(e)
	return e.db.QueryContext(ctx, query, args...)
}

// QueryRowContext reports a closed store through the row's Scan: acquire
// fails only once Close has run, and Close closed the platform's file too,
// whose Row then carries database/sql's own "database is closed".
func (p filePool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	e, err := p.s.acquire(p.id)
	if err != nil {
		return p.s.platform.sqlDB.QueryRowContext(ctx, query, args...)
	}
	defer p.s.release(e)
	return e.db.QueryRowContext(ctx, query, args...)
}

// BeginTx holds the file until the transaction ends.
func (p filePool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	e, err := p.s.acquire(p.id)
	if err != nil {
		return nil, err
	}
	tx, err := e.db.BeginTx(ctx, opts)
	if err != nil {
		p.s.release(e)
		return nil, err
	}
	return &fileTx{Tx: tx, release: sync.OnceFunc(func() { p.s.release(e) })}, nil
}

// GetDBConn is the tenant's *sql.DB as it is now (gorm's DB(), for
// diagnostics and tests): it may be closed once the tenant is evicted.
func (p filePool) GetDBConn() (*sql.DB, error) {
	e, err := p.s.acquire(p.id)
	if err != nil {
		return nil, err
	}
	defer p.s.release(e)
	return e.db, nil
}

// fileTx is a transaction on a tenant file, holding the file until Commit
// or Rollback (gorm may call Rollback after a failed Commit).
type fileTx struct {
	*sql.Tx
	release func()
}

func (t *fileTx) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

func (t *fileTx) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}

// tenantSQLite is the handle on a tenant's file through the cache.
func (s *Store) tenantSQLite(id string) (*DB, error) {
	gdb, err := gorm.Open(&sqlite.Dialector{Conn: filePool{s: s, id: id}}, s.gormConfig(""))
	if err != nil {
		return nil, err
	}
	return &DB{DB: gdb, Dialect: SQLite}, nil
}
