package chat

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
	"kefu/tenants"
)

// MaxUploadBytes is the largest file accepted (413 too_large above).
const MaxUploadBytes = 10 << 20

// MaxAttachments is how many files one message may carry.
const MaxAttachments = 10

// chunkBytes is the size of a stored chunk: an upload holds one chunk in
// memory at a time, whatever the file's size.
const chunkBytes = 256 << 10

// maxNameRunes bounds a file's name.
const maxNameRunes = 200

// UploadLimits bounds uploads per rolling hour, counted in the database so
// that every node agrees. Zero fields take the defaults of NewService.
type UploadLimits struct {
	VisitorFiles int   // files one visitor may upload (default 20)
	VisitorBytes int64 // bytes one visitor may upload (default 50 MiB)
	TenantFiles  int   // files a tenant's participants may upload together (default 2,000)
	TenantBytes  int64 // bytes likewise (default 2 GiB)
}

func (l UploadLimits) withDefaults() UploadLimits {
	if l.VisitorFiles <= 0 {
		l.VisitorFiles = 20
	}
	if l.VisitorBytes <= 0 {
		l.VisitorBytes = 50 << 20
	}
	if l.TenantFiles <= 0 {
		l.TenantFiles = 2000
	}
	if l.TenantBytes <= 0 {
		l.TenantBytes = 2 << 30
	}
	return l
}

type uploadRow struct {
	ID             string `gorm:"primaryKey"`
	Name           string
	ContentType    string
	Size           int64
	UploaderType   string
	UploaderID     string
	CreatedAt      time.Time
	Complete       bool
	MessageID      *string
	ConversationID *string
}

func (uploadRow) TableName(n schema.Namer) string { return n.TableName("upload") }

// UploadInput is one file as it streams in.
type UploadInput struct {
	Name string
	Body io.Reader // read once, up to MaxUploadBytes+1 bytes
	// Declared is an upper bound of the file's size when the client gave
	// one (the request's length), else 0. The quota reserves it while the
	// file streams in, so concurrent uploads cannot all pass one count.
	Declared int64
}

// Upload stores a file from any participant (user, API key or visitor),
// chunk by chunk as it arrives. The content type is sniffed from the first
// 512 bytes, never taken from the client. Until it is attached to a message
// the file is swept after UnattachedUploadTTL. Errors: invalid_argument,
// too_large, rate_limited (over the visitor's or the tenant's hourly
// quota, with RetryAfter); nothing is kept on any error.
func (s *Service) Upload(ctx context.Context, p tenants.Principal, in UploadInput) (Attachment, error) {
	db, err := s.db(p.TenantID)
	if err != nil {
		return Attachment{}, err
	}
	reserve := in.Declared
	if reserve <= 0 || reserve > MaxUploadBytes {
		reserve = MaxUploadBytes
	}
	who := "user"
	switch p.Kind {
	case tenants.KindVisitor:
		who = AuthorVisitor
	case tenants.KindAPIKey:
		who = AuthorBot
	}
	row := uploadRow{ID: tenants.NewID(), Name: cleanName(in.Name), ContentType: "application/octet-stream", Size: reserve,
		UploaderType: who, UploaderID: p.ID, CreatedAt: s.stamp()}
	if err := s.admitUpload(ctx, db, p, &row); err != nil {
		return Attachment{}, err
	}
	size, ct, err := s.storeChunks(ctx, db, row.ID, in.Body)
	if err == nil {
		row.Size, row.ContentType, row.Complete = size, ct, true
		err = db.WithContext(ctx).Model(&uploadRow{}).Where("id = ?", row.ID).
			Updates(map[string]any{"size": size, "content_type": ct, "complete": true}).Error
	}
	if err != nil {
		s.dropUpload(db, row.ID)
		return Attachment{}, err
	}
	return s.attachment(p.TenantID, row), nil
}

// admitUpload checks the tenant's and (for a visitor) the uploader's quota
// over the last hour and inserts the upload's row, not yet complete, with
// its reserved size. On PostgreSQL an advisory lock per tenant makes
// admissions take turns across nodes; SQLite's write transaction already
// does.
func (s *Service) admitUpload(ctx context.Context, db *tenants.DB, p tenants.Principal, row *uploadRow) error {
	lim := s.uploadLimits
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if db.Dialect == tenants.Postgres {
			if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext(?))`, "kefu.uploads."+p.TenantID).Error; err != nil {
				return err
			}
		}
		if err := s.checkQuota(tx, row, "", lim.TenantFiles, lim.TenantBytes); err != nil {
			return err
		}
		if p.Kind == tenants.KindVisitor {
			if err := s.checkQuota(tx, row, p.ID, lim.VisitorFiles, lim.VisitorBytes); err != nil {
				return err
			}
		}
		return tx.Create(row).Error
	})
}

// checkQuota refuses row when the uploads of the last hour (of uploader, or
// of the whole tenant when uploader is "") and row together go over files
// or bytes. Retry-After is when the oldest of them leaves the window.
func (s *Service) checkQuota(tx *gorm.DB, row *uploadRow, uploader string, files int, bytes int64) error {
	since := row.CreatedAt.Add(-time.Hour)
	scope := func() *gorm.DB {
		q := tx.Model(&uploadRow{}).Where("created_at > ?", since)
		if uploader != "" {
			q = q.Where("uploader_id = ?", uploader)
		}
		return q
	}
	var used struct {
		N     int64
		Bytes int64
	}
	if err := scope().Select("count(*) AS n, coalesce(sum(size), 0) AS bytes").Scan(&used).Error; err != nil {
		return err
	}
	if used.N < int64(files) && used.Bytes+row.Size <= bytes {
		return nil
	}
	var oldest []time.Time
	if err := scope().Order("created_at").Limit(1).Pluck("created_at", &oldest).Error; err != nil {
		return err
	}
	retry := time.Hour
	if len(oldest) > 0 {
		retry = oldest[0].Add(time.Hour).Sub(row.CreatedAt)
	}
	who := "this workspace's"
	if uploader != "" {
		who = "your"
	}
	return kefu.RateLimited(max(retry, time.Second), "%s upload quota is used up (%d files or %d MiB an hour); try again later", who, files, bytes>>20)
}

var chunkBufs = sync.Pool{New: func() any { b := make([]byte, chunkBytes); return &b }}

// storeChunks copies r into upload id's chunks, each written as soon as it
// is full, and returns the size and the sniffed content type.
func (s *Service) storeChunks(ctx context.Context, db *tenants.DB, id string, r io.Reader) (int64, string, error) {
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	buf := *bp
	insert := `INSERT INTO ` + db.Table("upload_chunks") + ` (upload_id, n, data) VALUES (?, ?, ?)`
	var (
		size int64
		ct   string
	)
	for n := 0; ; n++ {
		k, rerr := io.ReadFull(r, buf)
		if k > 0 {
			if n == 0 {
				ct = sniff(buf[:k])
			}
			size += int64(k)
			if size > MaxUploadBytes {
				return 0, "", kefu.Errorf(kefu.ETooLarge, "file is over %d MiB", MaxUploadBytes>>20)
			}
			if err := db.WithContext(ctx).Exec(insert, id, n, buf[:k]).Error; err != nil {
				return 0, "", err
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			if _, ok := kefu.AsError(rerr); ok {
				return 0, "", rerr
			}
			return 0, "", kefu.Invalid(map[string]string{"file": "the upload was cut short"})
		}
	}
	if size == 0 {
		return 0, "", kefu.Invalid(map[string]string{"file": "is empty"})
	}
	return size, ct, nil
}

// sniff is the content type of a file from its first 512 bytes.
func sniff(head []byte) string {
	ct := http.DetectContentType(head)
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	return ct
}

// dropUpload deletes an upload and (by cascade) its chunks, whatever became
// of the request that made it.
func (s *Service) dropUpload(db *tenants.DB, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.WithContext(ctx).Where("id = ?", id).Delete(&uploadRow{}).Error; err != nil {
		s.log.Warn("drop upload", "upload_id", id, "err", err)
	}
}

// cleanName makes a client's file name safe to show: the last path element
// only; no control characters, no invisible format characters (bidi
// overrides and isolates, marks, zero-width), which could make
// "…\u202egnp.exe" show as "…exe.png"; runs of spaces collapsed; trailing
// dots and spaces dropped (Windows drops them when saving); at most
// maxNameRunes, shortening the stem so the extension stays visible.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	var b strings.Builder
	space := false
	for _, r := range name {
		switch {
		case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r), r == '"':
			continue
		case unicode.IsSpace(r):
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	name = strings.TrimRight(strings.TrimLeft(b.String(), " "), ". ")
	if name == "" || name == "." || name == ".." {
		return "file"
	}
	if utf8.RuneCountInString(name) <= maxNameRunes {
		return name
	}
	ext := path.Ext(name)
	if n := utf8.RuneCountInString(ext); n > 20 || n == utf8.RuneCountInString(name) {
		ext = ""
	}
	stem := []rune(strings.TrimSuffix(name, ext))
	return strings.TrimRight(string(stem[:maxNameRunes-utf8.RuneCountInString(ext)]), " ") + ext
}

// attachmentsFor resolves upload ids into attachments; a visitor may attach
// only what they uploaded, and only complete files. Errors:
// invalid_argument.
func (s *Service) attachmentsFor(ctx context.Context, p tenants.Principal, ids []string) ([]Attachment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > MaxAttachments {
		return nil, kefu.Invalid(map[string]string{"attachments": fmt.Sprintf("at most %d files a message", MaxAttachments)})
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return nil, err
	}
	var rows []uploadRow
	q := db.WithContext(ctx).Select("id", "name", "content_type", "size", "uploader_type", "uploader_id").Where("id IN ? AND complete = ?", ids, true)
	if p.Kind == tenants.KindVisitor {
		q = q.Where("uploader_type = ? AND uploader_id = ?", AuthorVisitor, p.ID)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	byID := map[string]uploadRow{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := make([]Attachment, 0, len(ids))
	for _, id := range ids {
		r, ok := byID[id]
		if !ok {
			return nil, kefu.Invalid(map[string]string{"attachments": "no such upload: " + id})
		}
		out = append(out, Attachment{ID: r.ID, Name: r.Name, ContentType: r.ContentType, Size: r.Size})
	}
	return out, nil
}
