package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// Contact is a person who wrote to the business: the visitor row, with
// what agents and the API add to it. A contact's id is its visitor id.
type Contact struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Email      string         `json:"email"`
	Phone      string         `json:"phone"`
	Attributes map[string]any `json:"attributes"`
	Notes      string         `json:"notes"`
	// ExternalID is the site's own id for the person (Kefu.identify), or "".
	ExternalID string    `json:"external_id"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

// ContactInput is a contact's fields to set; nil leaves one as it is.
// Attributes replace the old ones whole.
type ContactInput struct {
	Name       *string
	Email      *string
	Phone      *string
	Notes      *string
	Attributes map[string]any
	// ExternalID is set only on create (identify binds it otherwise).
	ExternalID *string
}

const (
	maxContactNotes = 10000
	maxPhone        = 40
	maxExternalID   = 200
)

func (r visitorRow) contact() Contact {
	v := r.visitor()
	c := Contact{ID: r.ID, Name: r.Name, Email: r.Email, Phone: r.Phone, Attributes: v.Attributes, Notes: r.Notes, CreatedAt: r.CreatedAt.UTC(), LastSeenAt: r.LastSeenAt.UTC()}
	if r.ExternalID != nil {
		c.ExternalID = *r.ExternalID
	}
	c.UpdatedAt = c.CreatedAt
	if r.UpdatedAt != nil {
		c.UpdatedAt = r.UpdatedAt.UTC()
	}
	return c
}

// checkContact validates in and puts its values on row.
func checkContact(in ContactInput, row *visitorRow) error {
	fields := map[string]string{}
	text := func(name string, v *string, max int, dst *string) {
		if v == nil {
			return
		}
		s := strings.TrimSpace(*v)
		if utf8.RuneCountInString(s) > max {
			fields[name] = fmt.Sprintf("must be at most %d characters", max)
			return
		}
		if name == "notes" {
			s = *v // notes keep their lines and spaces
			if !kefu.CleanText(strings.NewReplacer("\n", "", "\r", "", "\t", "").Replace(s)) {
				fields[name] = "must not contain control characters"
				return
			}
		} else if !kefu.CheckText(fields, name, s) {
			return
		}
		*dst = s
	}
	text("name", in.Name, 100, &row.Name)
	text("phone", in.Phone, maxPhone, &row.Phone)
	text("notes", in.Notes, maxContactNotes, &row.Notes)
	if in.Email != nil {
		e := strings.TrimSpace(*in.Email)
		if e != "" && !tenants.ValidEmail(e) {
			fields["email"] = "must be an email address"
		} else {
			row.Email = e
		}
	}
	if in.ExternalID != nil {
		var ext string
		text("external_id", in.ExternalID, maxExternalID, &ext)
		if ext != "" {
			row.ExternalID = &ext
		}
	}
	if in.Attributes != nil {
		if path, p := kefu.ValueProblem(map[string]any(in.Attributes)); p != "" {
			fields["attributes"+path] = p
		} else if b, _ := json.Marshal(in.Attributes); len(b) > maxAttributesBytes {
			fields["attributes"] = fmt.Sprintf("must be at most %d bytes of JSON", maxAttributesBytes)
		} else {
			row.Attributes = string(b)
		}
	}
	if len(fields) > 0 {
		return kefu.Invalid(fields)
	}
	return nil
}

// ContactFilter selects contacts: Query matches a substring of the name,
// e-mail, phone or external id (any case).
type ContactFilter struct {
	Query  string
	Limit  int
	Cursor string
	// UpdatedSince, when set, keeps the contacts created or changed (by
	// people, the API, the widget, a flow, an erasure) at or after it.
	UpdatedSince *time.Time
}

// Contacts lists the tenant's contacts, newest first, a page at a time.
// Errors: invalid_argument (a bad cursor or limit).
func (s *Service) Contacts(ctx context.Context, p tenants.Principal, f ContactFilter) ([]Contact, string, error) {
	if f.Limit < 1 || f.Limit > 100 {
		return nil, "", kefu.Invalid(map[string]string{"limit": "must be from 1 to 100"})
	}
	if utf8.RuneCountInString(f.Query) > 200 {
		return nil, "", kefu.Invalid(map[string]string{"q": "must be at most 200 characters"})
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return nil, "", err
	}
	q := db.WithContext(ctx).Model(&visitorRow{})
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", kefu.Invalid(map[string]string{"cursor": "is not a cursor this server gave"})
		}
		q = q.Where("(created_at < ? OR (created_at = ? AND id < ?))", c.at, c.at, c.id)
	}
	if f.UpdatedSince != nil {
		q = q.Where("COALESCE(updated_at, created_at) >= ?", f.UpdatedSince.UTC())
	}
	if t := strings.ToLower(strings.TrimSpace(f.Query)); t != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(t) + "%"
		q = q.Where(`(lower(name) LIKE ? ESCAPE '\' OR lower(email) LIKE ? ESCAPE '\' OR lower(phone) LIKE ? ESCAPE '\' OR lower(COALESCE(external_id, '')) LIKE ? ESCAPE '\')`, like, like, like, like)
	}
	var rows []visitorRow
	if err := q.Order("created_at DESC, id DESC").Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		next = encodeCursor(cursor{at: last.CreatedAt, id: last.ID})
	}
	out := make([]Contact, len(rows))
	for i, r := range rows {
		out[i] = r.contact()
	}
	return out, next, nil
}

// ContactWithHistory is a contact and the conversations the caller may
// see of theirs, newest first.
type ContactWithHistory struct {
	Contact
	Conversations []Conversation `json:"conversations"`
}

// Contact returns one contact with its conversations (within p's scope, at
// most 50). Errors: not_found.
func (s *Service) Contact(ctx context.Context, p tenants.Principal, id string) (ContactWithHistory, error) {
	row, err := s.contactRow(ctx, p.TenantID, id)
	if err != nil {
		return ContactWithHistory{}, err
	}
	convs, _, err := s.Conversations(ctx, p, ListFilter{VisitorID: id, Limit: 50, Snoozed: "include"})
	if err != nil {
		return ContactWithHistory{}, err
	}
	return ContactWithHistory{Contact: row.contact(), Conversations: convs}, nil
}

func (s *Service) contactRow(ctx context.Context, tenantID, id string) (visitorRow, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return visitorRow{}, err
	}
	var row visitorRow
	if !kefu.CleanText(id) {
		return row, kefu.Errorf(kefu.ENotFound, "no such contact")
	}
	err = db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, kefu.Errorf(kefu.ENotFound, "no such contact")
	}
	return row, err
}

// CreateContact adds a contact (a person known before they write, e.g.
// from a CRM). Errors: invalid_argument, already_exists (external_id).
func (s *Service) CreateContact(ctx context.Context, p tenants.Principal, in ContactInput) (Contact, error) {
	now := s.stamp()
	row := visitorRow{ID: tenants.NewID(), Attributes: "{}", CreatedAt: now, LastSeenAt: now, UpdatedAt: &now}
	if err := checkContact(in, &row); err != nil {
		return Contact{}, err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return Contact{}, err
	}
	// Asked before the transaction: a first look may read the database,
	// which on SQLite has one connection.
	hooked := s.wantsHook(ctx, db, p.TenantID, HookContactCreated)
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			if tenants.IsUniqueViolation(err) {
				return kefu.Errorf(kefu.EExists, "a contact with this external id exists")
			}
			return err
		}
		return s.contactHook(tx, db, p.TenantID, HookContactCreated, row, hooked)
	})
	if err != nil {
		return Contact{}, err
	}
	if hooked {
		s.hooksWritten(p.TenantID)
	}
	return row.contact(), nil
}

// UpdateContact changes a contact's fields. Errors: not_found,
// invalid_argument.
func (s *Service) UpdateContact(ctx context.Context, p tenants.Principal, id string, in ContactInput) (Contact, error) {
	in.ExternalID = nil
	return s.changeContact(ctx, p.TenantID, id, func(_ *gorm.DB, _ *tenants.DB, row *visitorRow) error { return checkContact(in, row) })
}

// changeContact applies change to a contact's row under its lock, in a
// transaction that also writes contact.updated.
func (s *Service) changeContact(ctx context.Context, tenantID, id string, change func(tx *gorm.DB, db *tenants.DB, row *visitorRow) error) (Contact, error) {
	if _, err := s.contactRow(ctx, tenantID, id); err != nil {
		return Contact{}, err
	}
	db, err := s.db(tenantID)
	if err != nil {
		return Contact{}, err
	}
	var row visitorRow
	hooked := s.wantsHook(ctx, db, tenantID, HookContactUpdated)
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []visitorRow
		if err := tx.Raw(`UPDATE `+db.Table("visitors")+` SET name = name WHERE id = ? RETURNING *`, id).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return kefu.Errorf(kefu.ENotFound, "no such contact")
		}
		row = rows[0]
		if err := change(tx, db, &row); err != nil {
			return err
		}
		now := s.stamp()
		row.UpdatedAt = &now
		if err := tx.Exec(`UPDATE `+db.Table("visitors")+` SET name = ?, email = ?, phone = ?, notes = ?, attributes = ?, external_id = ?, updated_at = ? WHERE id = ?`,
			row.Name, row.Email, row.Phone, row.Notes, row.Attributes, row.ExternalID, now, id).Error; err != nil {
			if tenants.IsUniqueViolation(err) {
				return kefu.Errorf(kefu.EExists, "a contact with this external id exists")
			}
			return err
		}
		return s.contactHook(tx, db, tenantID, HookContactUpdated, row, hooked)
	})
	if err != nil {
		return Contact{}, err
	}
	if hooked {
		s.hooksWritten(tenantID)
	}
	return row.contact(), nil
}

// MergeContacts folds other into id: other's conversations become id's,
// id's empty fields take other's values, other's attributes fill in keys id
// lacks, notes are joined; other is deleted (a widget still holding its
// token starts afresh). Agents may not merge. Errors: permission_denied,
// not_found (either), invalid_argument (the same contact).
func (s *Service) MergeContacts(ctx context.Context, p tenants.Principal, id, otherID string) (ContactWithHistory, error) {
	if p.Kind == tenants.KindUser && p.Role == tenants.RoleAgent {
		return ContactWithHistory{}, kefu.Errorf(kefu.EDenied, "your role may not merge contacts")
	}
	if otherID == "" {
		return ContactWithHistory{}, kefu.Invalid(map[string]string{"other_id": "is required"})
	}
	if otherID == id {
		return ContactWithHistory{}, kefu.Invalid(map[string]string{"other_id": "must be another contact"})
	}
	other, err := s.contactRow(ctx, p.TenantID, otherID)
	if err != nil {
		return ContactWithHistory{}, err
	}
	_, err = s.changeContact(ctx, p.TenantID, id, func(tx *gorm.DB, db *tenants.DB, row *visitorRow) error {
		// other goes before id's row is written: its external id may move.
		if err := tx.Exec(`UPDATE `+db.Table("conversations")+` SET visitor_id = ? WHERE visitor_id = ?`, id, otherID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM `+db.Table("visitors")+` WHERE id = ?`, otherID).Error; err != nil {
			return err
		}
		fill := func(dst *string, src string) {
			if *dst == "" {
				*dst = src
			}
		}
		fill(&row.Name, other.Name)
		fill(&row.Email, other.Email)
		fill(&row.Phone, other.Phone)
		if other.Notes != "" {
			if row.Notes != "" {
				row.Notes += "\n\n"
			}
			row.Notes += other.Notes
		}
		if row.ExternalID == nil {
			row.ExternalID = other.ExternalID
		}
		mine, theirs := row.visitor().Attributes, other.visitor().Attributes
		for k, v := range theirs {
			if _, ok := mine[k]; !ok {
				mine[k] = v
			}
		}
		if b, _ := json.Marshal(mine); len(b) <= maxAttributesBytes {
			row.Attributes = string(b)
		}
		return nil
	})
	if err != nil {
		return ContactWithHistory{}, err
	}
	return s.Contact(ctx, p, id)
}

// contactHook writes a contact.* event for row inside tx when want (a
// webhook of the tenant subscribes to typ).
func (s *Service) contactHook(tx *gorm.DB, db *tenants.DB, tenantID, typ string, row visitorRow, want bool) error {
	if !want {
		return nil
	}
	id := tenants.NewID()
	at := s.stamp()
	ev := hookEvent{id: id, typ: typ, chain: "contact:" + row.ID, payload: HookPayload(tenantID, id, typ, at, map[string]any{"contact": row.contact()}), at: at}
	return s.enqueueHooks(tx, db, tenantID, []hookEvent{ev})
}
