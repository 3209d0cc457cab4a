package chat

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
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

type uploadRow struct {
	ID           string `gorm:"primaryKey"`
	Name         string
	ContentType  string
	Size         int64
	Data         []byte
	UploaderType string
	UploaderID   string
	CreatedAt    time.Time
}

func (uploadRow) TableName(n schema.Namer) string { return n.TableName("upload") }

// FileURL is the link a file is served at.
func (s *Service) FileURL(tenantID, id string) string {
	return "/api/v1/files/" + tenantID + "/" + id + "?sig=" + url.QueryEscape(s.tenants.SignFile(tenantID, id))
}

func (s *Service) attachment(tenantID string, r uploadRow) Attachment {
	return Attachment{ID: r.ID, Name: r.Name, ContentType: r.ContentType, Size: r.Size, URL: s.FileURL(tenantID, r.ID)}
}

func cleanName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 32 || r == 127 || r == '"' {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "/" || name == "" {
		name = "file"
	}
	for utf8.RuneCountInString(name) > 200 {
		name = string([]rune(name)[:200])
	}
	return name
}

// Upload stores a file from any participant (user, API key or visitor).
// The content type is sniffed from the bytes, not taken from the client.
// Errors: invalid_argument, too_large.
func (s *Service) Upload(ctx context.Context, p tenants.Principal, name string, data []byte) (Attachment, error) {
	if len(data) > MaxUploadBytes {
		return Attachment{}, kefu.Errorf(kefu.ETooLarge, "file is over %d MiB", MaxUploadBytes>>20)
	}
	if len(data) == 0 {
		return Attachment{}, kefu.Invalid(map[string]string{"file": "is empty"})
	}
	ct := http.DetectContentType(data)
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return Attachment{}, err
	}
	who := "user"
	switch p.Kind {
	case tenants.KindVisitor:
		who = AuthorVisitor
	case tenants.KindAPIKey:
		who = AuthorBot
	}
	row := uploadRow{ID: tenants.NewID(), Name: cleanName(name), ContentType: ct, Size: int64(len(data)), Data: data, UploaderType: who, UploaderID: p.ID, CreatedAt: s.stamp()}
	if err := db.WithContext(ctx).Create(&row).Error; err != nil {
		return Attachment{}, err
	}
	return s.attachment(p.TenantID, row), nil
}

// File returns a stored file for its signed link. Errors: not_found.
func (s *Service) File(ctx context.Context, tenantID, id, sig string) (name, contentType string, data []byte, err error) {
	if !s.tenants.VerifyFile(tenantID, id, sig) {
		return "", "", nil, kefu.Errorf(kefu.ENotFound, "no such file")
	}
	db, err := s.db(tenantID)
	if err != nil {
		return "", "", nil, kefu.Errorf(kefu.ENotFound, "no such file")
	}
	var row uploadRow
	err = db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", "", nil, kefu.Errorf(kefu.ENotFound, "no such file")
	}
	return row.Name, row.ContentType, row.Data, err
}

// attachmentsFor resolves upload ids into attachments; a visitor may attach
// only what they uploaded. Errors: invalid_argument.
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
	q := db.WithContext(ctx).Select("id", "name", "content_type", "size", "uploader_type", "uploader_id").Where("id IN ?", ids)
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
		out = append(out, s.attachment(p.TenantID, r))
	}
	return out, nil
}
