package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"kefu"
	"kefu/tenants"
)

// Identity is what Kefu.identify passes: the site's own id for the person,
// what it knows of them, and Hash, the hex HMAC-SHA256 of ID under the
// tenant's identity secret (computed on the site's server), which proves
// the site vouches for ID.
type Identity struct {
	ID    string
	Name  string
	Email string
	Hash  string
}

// known reports whether a visitor row holds something to know about the
// person (they are a contact rather than an anonymous visitor).
func (r visitorRow) known() bool {
	return r.Name != "" || r.Email != "" || r.Phone != "" || r.ExternalID != nil
}

// contactChange writes contact.created when a row became known (an
// anonymous visitor who now has a name, e-mail, phone or identity) and
// contact.updated when a known row changed; an anonymous visitor writes
// nothing.
func (s *Service) contactChange(tx *gorm.DB, db *tenants.DB, tenantID string, before *visitorRow, after visitorRow, want hookWants) error {
	switch {
	case !after.known():
		return nil
	case before == nil || !before.known():
		return s.contactHook(tx, db, tenantID, HookContactCreated, after, want.created)
	case before.Name != after.Name || before.Email != after.Email || before.Phone != after.Phone ||
		before.Attributes != after.Attributes || deref(before.ExternalID) != deref(after.ExternalID):
		return s.contactHook(tx, db, tenantID, HookContactUpdated, after, want.updated)
	}
	return nil
}

// hookWants: whether the tenant subscribes to contact.created and
// contact.updated, asked before a transaction (the first look may read the
// database, which on SQLite has one connection).
type hookWants struct{ created, updated bool }

func (s *Service) contactWants(ctx context.Context, db *tenants.DB, tenantID string) hookWants {
	return hookWants{created: s.wantsHook(ctx, db, tenantID, HookContactCreated), updated: s.wantsHook(ctx, db, tenantID, HookContactUpdated)}
}

func (w hookWants) any() bool { return w.created || w.updated }

// checkIdentity validates an identity's fields.
func checkIdentity(fields map[string]string, id *Identity) {
	id.ID = strings.TrimSpace(id.ID)
	id.Name = strings.TrimSpace(id.Name)
	id.Email = strings.TrimSpace(id.Email)
	switch {
	case id.ID == "":
		fields["identity.id"] = "is required"
	case utf8.RuneCountInString(id.ID) > maxExternalID:
		fields["identity.id"] = fmt.Sprintf("must be at most %d characters", maxExternalID)
	default:
		kefu.CheckText(fields, "identity.id", id.ID)
	}
	if utf8.RuneCountInString(id.Name) > 100 {
		fields["identity.name"] = "must be at most 100 characters"
	} else {
		kefu.CheckText(fields, "identity.name", id.Name)
	}
	if id.Email != "" && !tenants.ValidEmail(id.Email) {
		fields["identity.email"] = "must be an email address"
	}
	if len(id.Hash) > 200 {
		fields["identity.hash"] = "must be at most 200 characters"
	} else {
		kefu.CheckText(fields, "identity.hash", id.Hash)
	}
}

// bindIdentity makes the contact with external id ident.ID the session's
// visitor: the one that has it, or cur (the anonymous visitor of this
// browser) which takes it, or a new one. An anonymous cur's conversations
// move to an existing contact, so the person keeps what they wrote before
// signing in, and every device of theirs sees one history. It returns the
// bound visitor's id.
func (s *Service) bindIdentity(ctx context.Context, db *tenants.DB, tenantID string, cur *visitorRow, ident Identity, attrs string) (string, error) {
	want := s.contactWants(ctx, db, tenantID)
	var bound string
	var moved string
	attempt := func() error {
		return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			now := s.stamp()
			var found []visitorRow
			if err := tx.Where("external_id = ?", ident.ID).Limit(1).Find(&found).Error; err != nil {
				return err
			}
			var target visitorRow
			var before *visitorRow
			switch {
			case len(found) == 1:
				target = found[0]
				b := target
				before = &b
				if cur != nil && cur.ID != target.ID && cur.ExternalID == nil {
					// This browser's anonymous history joins the person's.
					if err := tx.Exec(`UPDATE `+db.Table("conversations")+` SET visitor_id = ? WHERE visitor_id = ?`, target.ID, cur.ID).Error; err != nil {
						return err
					}
					if err := tx.Exec(`DELETE FROM `+db.Table("visitors")+` WHERE id = ?`, cur.ID).Error; err != nil {
						return err
					}
					moved = cur.ID
					if target.Phone == "" {
						target.Phone = cur.Phone
					}
					mine, theirs := target.visitor().Attributes, cur.visitor().Attributes
					for k, v := range theirs {
						if _, ok := mine[k]; !ok {
							mine[k] = v
						}
					}
					if b, _ := json.Marshal(mine); len(b) <= maxAttributesBytes {
						target.Attributes = string(b)
					}
					if target.Name == "" {
						target.Name = cur.Name
					}
					if target.Email == "" {
						target.Email = cur.Email
					}
				}
			case cur != nil && cur.ExternalID == nil:
				target = *cur
				b := target
				before = &b
				ext := ident.ID
				target.ExternalID = &ext
			default:
				ext := ident.ID
				target = visitorRow{ID: tenants.NewID(), Attributes: attrs, ExternalID: &ext, CreatedAt: now, LastSeenAt: now, UpdatedAt: &now}
				if cur != nil {
					target.Attributes = cur.Attributes
				}
				if err := tx.Create(&target).Error; err != nil {
					return err
				}
			}
			if ident.Name != "" {
				target.Name = ident.Name
			}
			if ident.Email != "" {
				target.Email = ident.Email
			}
			target.LastSeenAt = now
			if before == nil || before.Name != target.Name || before.Email != target.Email || before.Phone != target.Phone || before.Attributes != target.Attributes || before.ExternalID == nil {
				target.UpdatedAt = &now
			}
			if err := tx.Exec(`UPDATE `+db.Table("visitors")+` SET name = ?, email = ?, phone = ?, attributes = ?, external_id = ?, last_seen_at = ?, updated_at = ? WHERE id = ?`,
				target.Name, target.Email, target.Phone, target.Attributes, target.ExternalID, now, target.UpdatedAt, target.ID).Error; err != nil {
				return err
			}
			bound = target.ID
			return s.contactChange(tx, db, tenantID, before, target, want)
		})
	}
	err := attempt()
	if err != nil && tenants.IsUniqueViolation(err) {
		// Another device of the same person bound the id first: join it.
		moved = ""
		err = attempt()
	}
	if err != nil {
		return "", err
	}
	if moved != "" {
		s.openConvs.Remove(tenantID + "/" + moved)
		s.openConvs.Remove(tenantID + "/" + bound) // its open conversation may now be another
	}
	if want.any() {
		s.hooksWritten(tenantID)
	}
	return bound, nil
}

// PrechatInput is a visitor's answers to the pre-chat form: the built-in
// fields and custom ones by key.
type PrechatInput struct {
	Name   string
	Email  string
	Phone  string
	Fields map[string]string
}

const maxPrechatAnswer = 500

// SubmitPrechat puts a visitor's pre-chat answers on their contact: name,
// e-mail and phone on its fields, custom answers in its attributes. Fields
// the form does not have are refused; a required one must not be empty.
// The visitor becomes a contact (contact.created) or, if known already,
// changes (contact.updated). Errors: permission_denied (not a visitor),
// invalid_argument.
func (s *Service) SubmitPrechat(ctx context.Context, p tenants.Principal, in PrechatInput) (Contact, error) {
	if p.Kind != tenants.KindVisitor {
		return Contact{}, kefu.Errorf(kefu.EDenied, "only a visitor answers the pre-chat form")
	}
	ws, err := s.tenants.WidgetSettingsOf(ctx, p.TenantID)
	if err != nil {
		return Contact{}, err
	}
	form := map[string]tenants.PrechatField{}
	if ws.Prechat.Enabled {
		for _, f := range ws.Prechat.Fields {
			form[f.Key] = f
		}
	}
	fields := map[string]string{}
	answer := func(key string, v *string) {
		*v = strings.TrimSpace(*v)
		f, ok := form[key]
		switch {
		case !ok && *v != "":
			fields[key] = "is not a field of the form"
		case !ok:
		case f.Required && *v == "":
			fields[key] = "is required"
		case utf8.RuneCountInString(*v) > maxPrechatAnswer:
			fields[key] = fmt.Sprintf("must be at most %d characters", maxPrechatAnswer)
		default:
			kefu.CheckText(fields, key, *v)
		}
	}
	answer(tenants.FieldName, &in.Name)
	answer(tenants.FieldEmail, &in.Email)
	answer(tenants.FieldPhone, &in.Phone)
	if fields["name"] == "" && utf8.RuneCountInString(in.Name) > 100 {
		fields["name"] = "must be at most 100 characters"
	}
	if fields["email"] == "" && in.Email != "" && !tenants.ValidEmail(in.Email) {
		fields["email"] = "must be an email address"
	}
	if fields["phone"] == "" && utf8.RuneCountInString(in.Phone) > maxPhone {
		fields["phone"] = fmt.Sprintf("must be at most %d characters", maxPhone)
	}
	custom := map[string]string{}
	for k, v := range in.Fields {
		if f, ok := form[k]; !ok || f.Type != tenants.FieldCustom {
			if len(fields) < 30 {
				fields["fields."+k] = "is not a field of the form"
			}
			continue
		}
		custom[k] = v
	}
	for k, f := range form {
		if f.Type != tenants.FieldCustom {
			continue
		}
		v := custom[k]
		answer(k, &v)
		if msg, bad := fields[k]; bad {
			delete(fields, k)
			fields["fields."+k] = msg
		}
		custom[k] = v
	}
	if len(fields) > 0 {
		return Contact{}, kefu.Invalid(fields)
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return Contact{}, err
	}
	want := s.contactWants(ctx, db, p.TenantID)
	var after visitorRow
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []visitorRow
		if err := tx.Raw(`UPDATE `+db.Table("visitors")+` SET name = name WHERE id = ? RETURNING *`, p.ID).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return kefu.Errorf(kefu.ENotFound, "no such visitor")
		}
		before := rows[0]
		after = before
		if in.Name != "" {
			after.Name = in.Name
		}
		if in.Email != "" {
			after.Email = in.Email
		}
		if in.Phone != "" {
			after.Phone = in.Phone
		}
		attrs := after.visitor().Attributes
		for k, v := range custom {
			if v != "" {
				attrs[k] = v
			}
		}
		b, _ := json.Marshal(attrs)
		if len(b) > maxAttributesBytes {
			return kefu.Invalid(map[string]string{"fields": fmt.Sprintf("must be at most %d bytes of JSON", maxAttributesBytes)})
		}
		after.Attributes = string(b)
		now := s.stamp()
		after.UpdatedAt = &now
		if err := tx.Exec(`UPDATE `+db.Table("visitors")+` SET name = ?, email = ?, phone = ?, attributes = ?, updated_at = ? WHERE id = ?`,
			after.Name, after.Email, after.Phone, after.Attributes, now, p.ID).Error; err != nil {
			return err
		}
		return s.contactChange(tx, db, p.TenantID, &before, after, want)
	})
	if err != nil {
		return Contact{}, err
	}
	if want.any() {
		s.hooksWritten(p.TenantID)
	}
	return after.contact(), nil
}

// prechatMissing lists the required pre-chat fields a visitor has no
// answer for (none when the form is off).
func prechatMissing(v visitorRow, required []string) map[string]string {
	if len(required) == 0 {
		return nil
	}
	attrs := v.visitor().Attributes
	missing := map[string]string{}
	for _, k := range required {
		var have bool
		switch k {
		case tenants.FieldName:
			have = v.Name != ""
		case tenants.FieldEmail:
			have = v.Email != ""
		case tenants.FieldPhone:
			have = v.Phone != ""
		default:
			s, _ := attrs[k].(string)
			have = strings.TrimSpace(s) != ""
		}
		if !have {
			missing[k] = "is required"
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return missing
}

// PrechatNeeded reports whether the widget should show the visitor the
// pre-chat form: it is on, and a required field has no answer yet (or,
// with no required field, the visitor has answered none).
func PrechatNeeded(v Visitor, phone string, form tenants.PrechatForm) bool {
	if !form.Enabled || len(form.Fields) == 0 {
		return false
	}
	row := visitorRow{Name: v.Name, Email: v.Email, Phone: phone}
	b, _ := json.Marshal(v.Attributes)
	row.Attributes = string(b)
	if req := form.Required(); len(req) > 0 {
		return prechatMissing(row, req) != nil
	}
	var keys []string
	for _, f := range form.Fields {
		keys = append(keys, f.Key)
	}
	return len(prechatMissing(row, keys)) == len(keys)
}

// prechatError is the error of a first message sent before the form's
// required fields were answered.
func prechatError(missing map[string]string) error {
	return &kefu.Error{Code: kefu.EPrechatRequired, Message: "answer the pre-chat form first", Fields: missing}
}
