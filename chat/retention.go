package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"kefu/tenants"
)

// Archive and retention. On PostgreSQL each tenant's messages table is
// partitioned by month (tenant migration 0023: the partition key is the
// UUIDv7 id, whose prefix is the creation time); this job keeps the coming
// months' partitions made ahead, on one node at a time, and applies each
// tenant's retention (tenants.Tenant.RetentionMonths): on PostgreSQL a month
// past it is dropped whole (its files and search entries first), on SQLite
// old messages are deleted in small batches. Either way conversations stay
// (their last-message preview is blanked), and an external search engine is
// told to forget.

// DefaultRetentionEvery is how often the job runs (the first run is a
// minute after start: the migration makes the first months, nothing is
// urgent).
const DefaultRetentionEvery = time.Hour

// PartitionsAhead is how many months after the current one have their
// partition made in advance.
const PartitionsAhead = 2

// retentionBatch bounds one delete of the batched path.
const retentionBatch = 500

// retentionLock is the PostgreSQL advisory lock key that the job holds
// while it works ("kefu" and issue 10 part 5), so nodes take turns.
const retentionLock int64 = 0x6b65_6675_1005

// MaintainReport says what one run of the job did.
type MaintainReport struct {
	Skipped           bool // another node held the lock
	PartitionsMade    int
	PartitionsDropped int
	MessagesDeleted   int64 // one by one (SQLite; PostgreSQL's default partition)
}

// RetentionCutoff is the first instant a tenant keeping months months
// still keeps at now: the start of the calendar month (UTC) months before
// the current one. So at least months whole months are kept, plus this one.
func RetentionCutoff(now time.Time, months int) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month()-time.Month(months), 1, 0, 0, 0, 0, time.UTC)
}

func (s *Service) runRetention(ctx context.Context, every time.Duration) {
	wait := time.Minute
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = every
		if rep, err := s.Maintain(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("partitions and retention", "err", err)
		} else if rep.PartitionsMade+rep.PartitionsDropped > 0 || rep.MessagesDeleted > 0 {
			s.log.Info("partitions and retention", "made", rep.PartitionsMade, "dropped", rep.PartitionsDropped, "deleted", rep.MessagesDeleted)
		}
	}
}

// Maintain makes the coming months' partitions and applies every tenant's
// retention. On PostgreSQL it works only while it holds an advisory lock
// (on a connection of its own, so a node that dies lets go of it): another
// node running it at the same moment skips (Skipped). A tenant that fails
// does not stop the others; the errors come back joined.
func (s *Service) Maintain(ctx context.Context) (MaintainReport, error) {
	var rep MaintainReport
	store := s.tenants.Store()
	if store.Dialect() == tenants.Postgres {
		sqlDB, err := store.Platform().DB.DB()
		if err != nil {
			return rep, err
		}
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			return rep, err
		}
		defer conn.Close()
		var locked bool
		if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", retentionLock).Scan(&locked); err != nil {
			return rep, err
		}
		if !locked {
			rep.Skipped = true
			return rep, nil
		}
		defer func() {
			unlock, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, _ = conn.ExecContext(unlock, "SELECT pg_advisory_unlock($1)", retentionLock)
		}()
	}
	ids, err := s.tenants.ListTenantIDs(ctx)
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, id := range ids {
		if err := s.maintainTenant(ctx, id, &rep); err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("tenant %s: %w", id, err))
		}
	}
	return rep, errors.Join(errs...)
}

func (s *Service) maintainTenant(ctx context.Context, tenantID string, rep *MaintainReport) error {
	t, err := s.tenants.Tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	db, err := s.db(tenantID)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if db.Dialect == tenants.Postgres {
		var made int
		if err := db.WithContext(ctx).Raw("SELECT "+db.Table("create_message_partitions")+"(?, ?)", now, now.AddDate(0, PartitionsAhead, 0)).Scan(&made).Error; err != nil {
			return fmt.Errorf("make partitions: %w", err)
		}
		rep.PartitionsMade += made
	}
	// The queue estimate reads the last hours' exits only.
	if err := db.WithContext(ctx).Exec(`DELETE FROM `+db.Table("queue_exits")+` WHERE assigned_at < ?`, now.Add(-7*24*time.Hour)).Error; err != nil {
		return fmt.Errorf("old queue exits: %w", err)
	}
	if t.RetentionMonths <= 0 {
		return nil
	}
	cutoff := RetentionCutoff(now, t.RetentionMonths)
	table := "messages"
	if db.Dialect == tenants.Postgres {
		n, err := dropMonths(ctx, db, cutoff)
		rep.PartitionsDropped += n
		if err != nil {
			return err
		}
		table = "messages_default" // ids that are not UUIDv7
	}
	n, err := deleteMessagesBefore(ctx, db, table, cutoff)
	rep.MessagesDeleted += n
	if err != nil {
		return err
	}
	if err := db.WithContext(ctx).Exec(`UPDATE `+db.Table("conversations")+` SET last_message_body = '' WHERE last_message_at < ? AND last_message_body <> ''`, cutoff).Error; err != nil {
		return err
	}
	if err := db.WithContext(ctx).Exec(`UPDATE `+db.Table("conversations")+` SET last_visitor_body = '' WHERE last_visitor_at < ? AND last_visitor_body <> ''`, cutoff).Error; err != nil {
		return err
	}
	return s.engine.Forget(ctx, SearchForget{TenantID: tenantID, Before: cutoff})
}

// dropMonths drops the tenant's monthly partitions that end by cutoff,
// each in its own transaction: first the files first sent in its messages
// and its search entries (both found by the id range), then the partition.
func dropMonths(ctx context.Context, db *tenants.DB, cutoff time.Time) (int, error) {
	var names []string
	if err := db.WithContext(ctx).Raw(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = ?::regclass ORDER BY c.relname`,
		db.Table("messages")).Scan(&names).Error; err != nil {
		return 0, err
	}
	dropped := 0
	for _, name := range names {
		month, err := time.Parse("200601", strings.TrimPrefix(name, "messages_"))
		if err != nil || month.AddDate(0, 1, 0).After(cutoff) {
			continue // the default partition, or a month still kept
		}
		err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var bounds struct{ Lo, Hi string }
			if err := tx.Raw(`SELECT `+db.Table("message_id_floor")+`(?) AS lo, `+db.Table("message_id_floor")+`(?) AS hi`, month, month.AddDate(0, 1, 0)).Scan(&bounds).Error; err != nil {
				return err
			}
			// uploads.message_id is the message that first carried the file.
			for _, t := range []string{"uploads", "message_search", "search_pending"} {
				if err := tx.Exec(`DELETE FROM `+db.Table(t)+` WHERE message_id >= ? AND message_id < ?`, bounds.Lo, bounds.Hi).Error; err != nil {
					return err
				}
			}
			if err := tx.Exec(`ALTER TABLE ` + db.Table("messages") + ` DETACH PARTITION ` + db.Table(name)).Error; err != nil {
				return err
			}
			return tx.Exec(`DROP TABLE ` + db.Table(name)).Error
		})
		if err != nil {
			return dropped, fmt.Errorf("drop %s: %w", name, err)
		}
		dropped++
	}
	return dropped, nil
}

// deleteMessagesBefore deletes the messages of table created before cutoff
// in batches, each with the files first sent in them; search entries leave
// with their rows (the tables' delete triggers).
func deleteMessagesBefore(ctx context.Context, db *tenants.DB, table string, cutoff time.Time) (int64, error) {
	var total int64
	for {
		var ids []string
		if err := db.WithContext(ctx).Raw(`SELECT id FROM `+db.Table(table)+` WHERE created_at < ? LIMIT ?`, cutoff, retentionBatch).Scan(&ids).Error; err != nil {
			return total, err
		}
		if len(ids) == 0 {
			return total, nil
		}
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`DELETE FROM `+db.Table("uploads")+` WHERE message_id IN ?`, ids).Error; err != nil {
				return err
			}
			return tx.Exec(`DELETE FROM `+db.Table("messages")+` WHERE id IN ?`, ids).Error
		})
		if err != nil {
			return total, err
		}
		total += int64(len(ids))
	}
}
