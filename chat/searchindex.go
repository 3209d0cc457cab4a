package chat

import (
	"context"
	"sync"
	"time"

	"gorm.io/gorm"

	"kefu/tenants"
)

// The search indexer. New messages queue themselves in search_pending
// (tenant migration 0016: their rowid on SQLite, their id on PostgreSQL);
// this moves the queue into the index in batches — SQLite's FTS5 table,
// PostgreSQL's message_search with its trigram GIN index — a moment after
// the commits that filled it, so no trigram is computed inside the group
// commit's transaction.

// searchIndexBatch bounds one indexing transaction.
const searchIndexBatch = 2000

// DefaultSearchIndexEvery is how long after a commit its messages reach the
// index (search finds them before that too, by scanning the queue).
const DefaultSearchIndexEvery = 500 * time.Millisecond

type searchIndexer struct {
	mu    sync.Mutex
	dirty map[string]bool
}

func newSearchIndexer() *searchIndexer { return &searchIndexer{dirty: map[string]bool{}} }

// mark says the tenant's queue may have grown.
func (x *searchIndexer) mark(tenantID string) {
	x.mu.Lock()
	x.dirty[tenantID] = true
	x.mu.Unlock()
}

func (x *searchIndexer) take() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]string, 0, len(x.dirty))
	for id := range x.dirty {
		out = append(out, id)
	}
	clear(x.dirty)
	return out
}

// runSearchIndex indexes the dirty tenants every interval until ctx ends;
// at the start every tenant is dirty (a queue may be left from before).
func (s *Service) runSearchIndex(ctx context.Context, interval time.Duration) {
	if ids, err := s.tenants.ListTenantIDs(ctx); err == nil {
		for _, id := range ids {
			s.searchIdx.mark(id)
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, id := range s.searchIdx.take() {
				if _, err := s.IndexSearch(ctx, id); err != nil && ctx.Err() == nil {
					s.log.Warn("search index", "tenant_id", id, "err", err)
					s.searchIdx.mark(id) // try again on the next tick
				}
			}
		}
	}
}

// IndexSearch moves the tenant's queued messages into its search index and
// returns how many it indexed. Several nodes may run it at once: on
// PostgreSQL each takes rows the others have not locked.
func (s *Service) IndexSearch(ctx context.Context, tenantID string) (int, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return 0, err
	}
	total := 0
	for {
		n, err := indexBatch(ctx, db)
		if err != nil {
			return total, err
		}
		total += n
		if n < searchIndexBatch {
			return total, nil
		}
	}
}

func indexBatch(ctx context.Context, db *tenants.DB) (int, error) {
	if db.Dialect == tenants.Postgres {
		res := db.WithContext(ctx).Exec(`WITH batch AS (
	DELETE FROM `+db.Table("search_pending")+` WHERE message_id IN (
		SELECT message_id FROM `+db.Table("search_pending")+` LIMIT ? FOR UPDATE SKIP LOCKED)
	RETURNING message_id
), ins AS (
	INSERT INTO `+db.Table("message_search")+` (message_id, body, conversation_id, private, created_at)
	SELECT m.id, m.body, m.conversation_id, m.private, m.created_at FROM `+db.Table("messages")+` m JOIN batch b ON b.message_id = m.id
	ON CONFLICT DO NOTHING
)
SELECT 1 FROM batch`, searchIndexBatch)
		return int(res.RowsAffected), res.Error
	}
	n := 0
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO messages_fts (rowid, body)
			SELECT m.rowid, m.body FROM search_pending p JOIN messages m ON m.rowid = p.msg_rowid
			WHERE p.msg_rowid IN (SELECT msg_rowid FROM search_pending ORDER BY msg_rowid LIMIT ?)`, searchIndexBatch)
		if res.Error != nil {
			return res.Error
		}
		del := tx.Exec(`DELETE FROM search_pending WHERE msg_rowid IN (SELECT msg_rowid FROM search_pending ORDER BY msg_rowid LIMIT ?)`, searchIndexBatch)
		n = int(del.RowsAffected)
		return del.Error
	})
	return n, err
}
