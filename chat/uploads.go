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
//
// The first chunk is read before the quota is checked: a file that fits in
// it (most do) is then stored in one transaction with its row; a larger
// one reserves its declared size and streams the rest in.
func (s *Service) Upload(ctx context.Context, p tenants.Principal, in UploadInput) (Attachment, error) {
	db, err := s.db(p.TenantID)
	if err != nil {
		return Attachment{}, err
	}
	bp := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(bp)
	buf := *bp
	k, done, err := readChunk(in.Body, buf)
	if err != nil {
		return Attachment{}, err
	}
	if k == 0 {
		return Attachment{}, kefu.Invalid(map[string]string{"file": "is empty"})
	}
	who := "user"
	switch p.Kind {
	case tenants.KindVisitor:
		who = AuthorVisitor
	case tenants.KindAPIKey:
		who = AuthorBot
	}
	row := uploadRow{ID: tenants.NewID(), Name: cleanName(in.Name), ContentType: sniff(buf[:k]), Size: int64(k),
		UploaderType: who, UploaderID: p.ID, CreatedAt: s.stamp(), Complete: done}
	if !done {
		row.Size = min(max(in.Declared, int64(k)), MaxUploadBytes)
		if in.Declared <= 0 {
			row.Size = MaxUploadBytes
		}
	}
	if err := s.admitUpload(ctx, db, p, &row, buf[:k]); err != nil {
		return Attachment{}, err
	}
	if done {
		return s.attachment(p.TenantID, row), nil
	}
	size, err := s.storeChunks(ctx, db, row.ID, in.Body, buf, int64(k))
	if err == nil {
		row.Size, row.Complete = size, true
		err = db.WithContext(ctx).Model(&uploadRow{}).Where("id = ?", row.ID).Updates(map[string]any{"size": size, "complete": true}).Error
	}
	if err != nil {
		s.dropUpload(db, row.ID)
		return Attachment{}, err
	}
	return s.attachment(p.TenantID, row), nil
}

var chunkBufs = sync.Pool{New: func() any { b := make([]byte, chunkBytes); return &b }}

// readChunk fills buf from r; done says r has ended. Read errors come back
// in the contract's terms.
func readChunk(r io.Reader, buf []byte) (n int, done bool, err error) {
	n, err = io.ReadFull(r, buf)
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		return n, true, nil
	case nil:
		return n, false, nil
	}
	if _, ok := kefu.AsError(err); ok {
		return 0, false, err
	}
	return 0, false, kefu.Invalid(map[string]string{"file": "the upload was cut short"})
}

// storeChunks copies the rest of r into upload id's chunks from chunk 1 on,
// each written as soon as buf is full, and returns the file's size.
func (s *Service) storeChunks(ctx context.Context, db *tenants.DB, id string, r io.Reader, buf []byte, size int64) (int64, error) {
	insert := `INSERT INTO ` + db.Table("upload_chunks") + ` (upload_id, n, data) VALUES (?, ?, ?)`
	for n := 1; ; n++ {
		k, done, err := readChunk(r, buf)
		if err != nil {
			return 0, err
		}
		if k > 0 {
			size += int64(k)
			if size > MaxUploadBytes {
				return 0, kefu.Errorf(kefu.ETooLarge, "file is over %d MiB", MaxUploadBytes>>20)
			}
			if err := db.WithContext(ctx).Exec(insert, id, n, buf[:k]).Error; err != nil {
				return 0, err
			}
		}
		if done {
			return size, nil
		}
	}
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
