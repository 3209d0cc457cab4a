package chat

import (
	"context"
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
	b       *batcher[eventWrite]
}

type eventWrite struct {
	db   *tenants.DB
	row  eventRow
	done chan error
}

func newEventLog(timeout time.Duration) *eventLog {
	l := &eventLog{timeout: timeout}
	l.b = newBatcher(maxEventBatch, 1, l.flush)
	return l
}

// maxEventBatch bounds one insert (PostgreSQL allows 65,535 parameters;
// SQLite's default is 32,766: five columns a row).
const maxEventBatch = 1000

// write stores row and returns once it is stored (or failed), or when ctx
// ends (the row is still written).
func (l *eventLog) write(ctx context.Context, db *tenants.DB, tenantID string, row eventRow) error {
	w := eventWrite{db: db, row: row, done: make(chan error, 1)}
	l.b.add(tenantID, w)
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *eventLog) flush(_ string, batch []eventWrite) {
	rows := make([]eventRow, len(batch))
	for i, w := range batch {
		rows[i] = w.row
	}
	// Not the callers' context: a caller that stops waiting does not
	// cancel the others' rows.
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err := batch[0].db.WithContext(ctx).Create(&rows).Error
	cancel()
	for _, w := range batch {
		w.done <- err
	}
}
