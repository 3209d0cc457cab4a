package chat

import (
	"context"
	"sync"
	"time"

	"kefu/tenants"
)

// eventLog writes the events logged on conversations (routing decisions)
// in batches, one tenant at a time: while one insert is under way the rows
// that arrive gather and go in the next, as one statement. Under a burst of
// openings this is one insert per round trip instead of one per run; alone,
// a row goes at once.
type eventLog struct {
	timeout time.Duration // each insert's deadline
	mu      sync.Mutex
	m       map[string]*eventQueue // tenants with rows pending or being written, only
}

type eventQueue struct {
	db   *tenants.DB
	rows []eventRow
	done []chan error
}

func newEventLog(timeout time.Duration) *eventLog {
	return &eventLog{timeout: timeout, m: map[string]*eventQueue{}}
}

// maxEventBatch bounds one insert (PostgreSQL allows 65,535 parameters;
// SQLite's default is 32,766: five columns a row).
const maxEventBatch = 1000

// write stores row and returns once it is stored (or failed), or when ctx
// ends (the row is still written).
func (l *eventLog) write(ctx context.Context, db *tenants.DB, tenantID string, row eventRow) error {
	ch := make(chan error, 1)
	l.mu.Lock()
	q, busy := l.m[tenantID]
	if !busy {
		q = &eventQueue{db: db}
		l.m[tenantID] = q
	}
	q.rows = append(q.rows, row)
	q.done = append(q.done, ch)
	l.mu.Unlock()
	if !busy {
		go l.drain(tenantID, q)
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain writes the tenant's pending rows until none are left.
func (l *eventLog) drain(tenantID string, q *eventQueue) {
	for {
		l.mu.Lock()
		if len(q.rows) == 0 {
			delete(l.m, tenantID)
			l.mu.Unlock()
			return
		}
		n := min(len(q.rows), maxEventBatch)
		rows, done := q.rows[:n:n], q.done[:n:n]
		q.rows, q.done = q.rows[n:], q.done[n:]
		l.mu.Unlock()
		// Not the callers' context: a caller that stops waiting does not
		// cancel the others' rows.
		ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
		err := q.db.WithContext(ctx).Create(&rows).Error
		cancel()
		for _, ch := range done {
			ch <- err
		}
	}
}
