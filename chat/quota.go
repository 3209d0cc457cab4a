package chat

import (
	"context"
	"math"
	"sync"
	"time"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// usageFresh is how long a node trusts its count of a tenant's uploads of
// the last hour, adding what it admitted since, before counting again.
const usageFresh = 2 * time.Second

// usage is a tenant's uploads of the last hour as this node last counted
// them (at), plus what it admitted since.
type usage struct {
	mu    sync.Mutex
	at    time.Time
	files int64
	bytes int64
}

// admitUpload checks the tenant's and (for a visitor) the uploader's quota
// over the last hour, then inserts the upload's row (with its reserved size
// while more is to come) and its first chunk.
//
// A visitor's quota is exact: their admissions take turns (SQLite's write
// transaction; on PostgreSQL an advisory lock per visitor, across nodes),
// so concurrent uploads cannot all pass one count. The tenant's quota is a
// coarse cap: each node counts from the database at most every usageFresh
// and adds what it admits meanwhile, so a busy tenant's uploads neither
// wait for each other nor each scan the hour; uploads admitted on other
// nodes within those seconds may pass it by as many.
func (s *Service) admitUpload(ctx context.Context, db *tenants.DB, p tenants.Principal, row *uploadRow, first []byte) error {
	lim := s.uploadLimits
	u, _ := s.usage.Get(p.TenantID)
	if u == nil {
		u = &usage{}
		s.usage.Add(p.TenantID, u)
	}
	u.mu.Lock()
	now := row.CreatedAt
	if now.Sub(u.at) > usageFresh || now.Before(u.at) {
		files, bytes, err := uploadUsage(db.WithContext(ctx), db, now, "", lim.TenantFiles)
		if err != nil {
			u.mu.Unlock()
			return err
		}
		u.at, u.files, u.bytes = now, files, bytes
	}
	if u.files >= int64(lim.TenantFiles) || u.bytes+row.Size > lim.TenantBytes {
		u.mu.Unlock()
		return quotaError(db.WithContext(ctx), db, now, "", lim.TenantFiles, lim.TenantBytes)
	}
	at := u.at
	u.files, u.bytes = u.files+1, u.bytes+row.Size
	u.mu.Unlock()

	var err error
	if db.Dialect == tenants.Postgres {
		err = s.insertUploadPG(ctx, db, p, row, first)
	} else {
		err = s.insertUploadSQLite(ctx, db, p, row, first)
	}
	if err != nil {
		u.mu.Lock()
		if u.at.Equal(at) { // not counted again since: give the reservation back
			u.files, u.bytes = u.files-1, u.bytes-row.Size
		}
		u.mu.Unlock()
	}
	return err
}

// insertUploadSQLite checks a visitor's quota and stores the row and its
// first chunk in one write transaction, which SQLite runs one at a time.
func (s *Service) insertUploadSQLite(ctx context.Context, db *tenants.DB, p tenants.Principal, row *uploadRow, first []byte) error {
	lim := s.uploadLimits
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if p.Kind == tenants.KindVisitor {
			files, bytes, err := uploadUsage(tx, db, row.CreatedAt, p.ID, lim.VisitorFiles)
			if err != nil {
				return err
			}
			if files >= int64(lim.VisitorFiles) || bytes+row.Size > lim.VisitorBytes {
				return quotaError(tx, db, row.CreatedAt, p.ID, lim.VisitorFiles, lim.VisitorBytes)
			}
		}
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO `+db.Table("upload_chunks")+` (upload_id, n, data) VALUES (?, 0, ?)`, row.ID, first).Error
	})
}

// insertUploadPG stores the row and its first chunk in one statement that,
// for a visitor, first checks their quota; a visitor's statements run one
// at a time under an advisory lock taken by the statement before, so each
// one's snapshot sees every upload admitted before it. Other uploaders need
// no transaction at all: one round trip.
func (s *Service) insertUploadPG(ctx context.Context, db *tenants.DB, p tenants.Principal, row *uploadRow, first []byte) error {
	lim := s.uploadLimits
	files, bytes, uploader := math.MaxInt32, int64(math.MaxInt64), ""
	if p.Kind == tenants.KindVisitor {
		files, bytes, uploader = lim.VisitorFiles, lim.VisitorBytes, p.ID
	}
	insert := `WITH used AS (
		SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM (SELECT size FROM ` + db.Table("uploads") + ` WHERE uploader_id = ? AND created_at > ? LIMIT ?) AS w
	), u AS (
		INSERT INTO ` + db.Table("uploads") + ` (id, name, content_type, size, uploader_type, uploader_id, created_at, complete)
		SELECT ?, ?, ?, ?, ?, ?, ?, ? FROM used WHERE used.n < ? AND used.bytes + ? <= ?
		RETURNING id
	)
	INSERT INTO ` + db.Table("upload_chunks") + ` (upload_id, n, data) SELECT id, 0, ? FROM u`
	args := []any{uploader, row.CreatedAt.Add(-time.Hour), files,
		row.ID, row.Name, row.ContentType, row.Size, row.UploaderType, row.UploaderID, row.CreatedAt, row.Complete,
		files, row.Size, bytes, first}
	run := func(tx *gorm.DB) error {
		res := tx.Exec(insert, args...)
		if res.Error == nil && res.RowsAffected == 0 {
			return quotaError(tx, db, row.CreatedAt, uploader, files, bytes)
		}
		return res.Error
	}
	if uploader == "" {
		return run(db.WithContext(ctx))
	}
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext(?))`, "kefu.uploads."+p.TenantID+"."+p.ID).Error; err != nil {
			return err
		}
		return run(tx)
	})
}

// uploadUsage counts and sums the uploads of the hour before now (of
// uploader, or of the whole tenant when uploader is ""). The scan stops at
// limit rows: reaching them is over the quota anyway, and short of them
// every row was summed, so a count costs at most the quota, however busy
// the tenant.
func uploadUsage(tx *gorm.DB, db *tenants.DB, now time.Time, uploader string, limit int) (files, bytes int64, err error) {
	where, args := quotaScope(now, uploader)
	var used struct {
		N     int64
		Bytes int64
	}
	q := `SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM (SELECT size FROM ` + db.Table("uploads") + ` WHERE ` + where + ` LIMIT ?) AS w`
	err = tx.Raw(q, append(args, limit)...).Scan(&used).Error
	return used.N, used.Bytes, err
}

func quotaScope(now time.Time, uploader string) (string, []any) {
	if uploader == "" {
		return "created_at > ?", []any{now.Add(-time.Hour)}
	}
	return "uploader_id = ? AND created_at > ?", []any{uploader, now.Add(-time.Hour)}
}

// quotaError is the rate_limited answer, with Retry-After when the oldest
// counted upload leaves the hour.
func quotaError(tx *gorm.DB, db *tenants.DB, now time.Time, uploader string, files int, bytes int64) error {
	where, args := quotaScope(now, uploader)
	var oldest []time.Time
	if err := tx.Model(&uploadRow{}).Where(where, args...).Order("created_at").Limit(1).Pluck("created_at", &oldest).Error; err != nil {
		return err
	}
	retry := time.Hour
	if len(oldest) > 0 {
		retry = oldest[0].Add(time.Hour).Sub(now)
	}
	who := "this workspace's"
	if uploader != "" {
		who = "your"
	}
	return kefu.RateLimited(max(retry, time.Second), "%s upload quota is used up (%d files or %d MiB an hour); try again later", who, files, bytes>>20)
}
