package chat

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"kefu"
	"kefu/tenants"
)

// DefaultFileLinkTTL is how long a file link works by default.
const DefaultFileLinkTTL = 24 * time.Hour

// FileURL is a link to a file, good for the link TTL from now. The expiry
// is rounded up (to the hour for a day-long TTL) so a thread fetched twice
// in a row gets the same links and the browser's cache keeps working.
func (s *Service) FileURL(tenantID, id string) string {
	exp := s.linkExpiry()
	return "/api/v1/files/" + tenantID + "/" + id + "?exp=" + strconv.FormatInt(exp, 10) + "&sig=" + s.tenants.SignFile(tenantID, id, exp)
}

func (s *Service) linkExpiry() int64 {
	step := int64(min(max(s.linkTTL/24, time.Minute), time.Hour) / time.Second)
	t := s.now().Add(s.linkTTL).Unix()
	return (t + step - 1) / step * step
}

func (s *Service) attachment(tenantID string, r uploadRow) Attachment {
	return Attachment{ID: r.ID, Name: r.Name, ContentType: r.ContentType, Size: r.Size, URL: s.FileURL(tenantID, r.ID)}
}

// storedAttachment is an attachment as a message row keeps it: without a
// link, which is signed afresh whenever the message is served.
type storedAttachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

func attachmentsJSON(atts []Attachment) string {
	if len(atts) == 0 {
		return "[]"
	}
	out := make([]storedAttachment, len(atts))
	for i, a := range atts {
		out[i] = storedAttachment{ID: a.ID, Name: a.Name, ContentType: a.ContentType, Size: a.Size}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// messageOf is a stored message as a participant gets it, with fresh file
// links (rows written before links expired may still hold an old one).
func (s *Service) messageOf(tenantID string, r messageRow) Message {
	m := r.message()
	for i := range m.Attachments {
		m.Attachments[i].URL = s.FileURL(tenantID, m.Attachments[i].ID)
	}
	return m
}

// FileInfo describes a file behind a valid link.
type FileInfo struct {
	Name        string
	ContentType string
	Size        int64
	// FreshFor is how long the link stays good (a cache may keep the file
	// that long).
	FreshFor time.Duration
}

// File checks a file link and returns the file, read one chunk at a time
// as body is read. Errors: not_found (a wrong signature, a link of another
// tenant, a file swept or deleted with its message), permission_denied (an
// expired link: fetching the message again gives a fresh one).
func (s *Service) File(ctx context.Context, tenantID, id, exp, sig string) (FileInfo, io.Reader, error) {
	notFound := kefu.Errorf(kefu.ENotFound, "no such file")
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !s.tenants.VerifyFile(tenantID, id, e, sig) {
		return FileInfo{}, nil, notFound
	}
	left := time.Unix(e, 0).Sub(s.now())
	if left <= 0 {
		return FileInfo{}, nil, kefu.Errorf(kefu.EDenied, "this file link has expired; open the message again for a fresh one")
	}
	db, err := s.db(tenantID)
	if err != nil {
		return FileInfo{}, nil, notFound
	}
	var rows []uploadRow
	if err := db.WithContext(ctx).Select("id", "name", "content_type", "size").Where("id = ? AND complete = ?", id, true).Limit(1).Find(&rows).Error; err != nil {
		return FileInfo{}, nil, err
	}
	if len(rows) == 0 {
		return FileInfo{}, nil, notFound
	}
	r := rows[0]
	body := &chunkReader{ctx: ctx, db: db, id: r.ID, size: r.Size, cur: -1}
	// The first chunk is read now, so a missing file is an error before
	// anything is sent.
	if err := body.load(0); errors.Is(err, sql.ErrNoRows) {
		return FileInfo{}, nil, notFound // deleted a moment ago
	} else if err != nil {
		return FileInfo{}, nil, err
	}
	return FileInfo{Name: r.Name, ContentType: r.ContentType, Size: r.Size, FreshFor: min(left, 24*time.Hour)}, body, nil
}

// chunkReader reads a stored file chunk by chunk, one query per chunk, so
// a slow download holds neither the file in memory nor a connection (on
// SQLite, the tenant's only one) between chunks.
type chunkReader struct {
	ctx  context.Context
	db   *tenants.DB
	id   string
	size int64
	off  int64
	cur  int
	data []byte
}

var errChunkMissing = errors.New("upload chunk missing")

func (r *chunkReader) load(n int) error {
	var data []byte
	err := r.db.WithContext(r.ctx).Raw(`SELECT data FROM `+r.db.Table("upload_chunks")+` WHERE upload_id = ? AND n = ?`, r.id, n).Row().Scan(&data)
	if err != nil {
		return errors.Join(errChunkMissing, err)
	}
	r.cur, r.data = n, data
	return nil
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n := int(r.off / chunkBytes)
	if n != r.cur {
		if err := r.load(n); err != nil {
			return 0, err
		}
	}
	i := int(r.off % chunkBytes)
	if i >= len(r.data) {
		return 0, errChunkMissing
	}
	k := copy(p, r.data[i:])
	r.off += int64(k)
	return k, nil
}
