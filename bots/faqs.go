package bots

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
	"kefu/tenants"
)

// Limits on an FAQ entry.
const (
	MaxQuestion   = 500  // characters
	MaxAnswer     = 5000 // characters
	MaxAlternates = 20
	MaxKeywords   = 30
	MaxKeyword    = 50 // characters
)

type faqRow struct {
	ID         string `gorm:"primaryKey"`
	Question   string
	Answer     string
	Alternates string
	Keywords   string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (faqRow) TableName(n schema.Namer) string { return n.TableName("faq") }

func (r faqRow) entry() Entry {
	e := Entry{ID: r.ID, Question: r.Question, Answer: r.Answer, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	_ = json.Unmarshal([]byte(r.Alternates), &e.Alternates)
	_ = json.Unmarshal([]byte(r.Keywords), &e.Keywords)
	if e.Alternates == nil {
		e.Alternates = []string{}
	}
	if e.Keywords == nil {
		e.Keywords = []string{}
	}
	return e
}

// EntryInput is an FAQ entry as a client writes it.
type EntryInput struct {
	Question   string   `json:"question"`
	Answer     string   `json:"answer"`
	Alternates []string `json:"alternates"`
	Keywords   []string `json:"keywords"`
}

// check trims and validates in, returning the problems by field.
func (in *EntryInput) check() map[string]string {
	f := map[string]string{}
	in.Question, in.Answer = strings.TrimSpace(in.Question), strings.TrimSpace(in.Answer)
	switch n := utf8.RuneCountInString(in.Question); {
	case n == 0:
		f["question"] = "is required"
	case n > MaxQuestion:
		f["question"] = fmt.Sprintf("must be at most %d characters", MaxQuestion)
	}
	switch n := utf8.RuneCountInString(in.Answer); {
	case n == 0:
		f["answer"] = "is required"
	case n > MaxAnswer:
		f["answer"] = fmt.Sprintf("must be at most %d characters", MaxAnswer)
	}
	// Imports do not pass the API's JSON vetting: every text is checked here
	// (NUL in particular, which PostgreSQL cannot store).
	if p := kefu.TextProblem(in.Question); p != "" {
		f["question"] = p
	}
	if p := kefu.TextProblem(in.Answer); p != "" {
		f["answer"] = p
	}
	in.Alternates = trimAll(in.Alternates)
	if len(in.Alternates) > MaxAlternates {
		f["alternates"] = fmt.Sprintf("at most %d", MaxAlternates)
	}
	for _, a := range in.Alternates {
		if utf8.RuneCountInString(a) > MaxQuestion || kefu.TextProblem(a) != "" {
			f["alternates"] = fmt.Sprintf("each must be UTF-8 text of at most %d characters", MaxQuestion)
		}
	}
	in.Keywords = trimAll(in.Keywords)
	if len(in.Keywords) > MaxKeywords {
		f["keywords"] = fmt.Sprintf("at most %d", MaxKeywords)
	}
	for _, k := range in.Keywords {
		if utf8.RuneCountInString(k) > MaxKeyword || kefu.TextProblem(k) != "" {
			f["keywords"] = fmt.Sprintf("each must be UTF-8 text of at most %d characters", MaxKeyword)
		}
	}
	return f
}

// trimAll trims each string and drops the empty ones and repeats.
func trimAll(list []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (in EntryInput) row(id string, now time.Time) faqRow {
	alt, _ := json.Marshal(in.Alternates)
	kw, _ := json.Marshal(in.Keywords)
	return faqRow{ID: id, Question: in.Question, Answer: in.Answer, Alternates: string(alt), Keywords: string(kw), CreatedAt: now, UpdatedAt: now}
}

// FAQFilter selects entries to list.
type FAQFilter struct {
	Query  string // in the question, answer, alternates or keywords
	Limit  int    // default 100, at most 1000
	Offset int
}

// FAQs lists a tenant's entries, oldest first, with the total that match.
// Errors: invalid_argument.
func (s *Service) FAQs(ctx context.Context, tenantID string, f FAQFilter) ([]Entry, int64, error) {
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > 1000 || f.Offset < 0 || len(f.Query) > 200 {
		return nil, 0, kefu.Invalid(map[string]string{"limit": "must be 1-1000 (offset ≥ 0, q at most 200 bytes)"})
	}
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return nil, 0, err
	}
	q := db.WithContext(ctx).Model(&faqRow{})
	if t := strings.TrimSpace(f.Query); t != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(t)) + "%"
		q = q.Where(`LOWER(question) LIKE ? ESCAPE '\' OR LOWER(answer) LIKE ? ESCAPE '\' OR LOWER(alternates) LIKE ? ESCAPE '\' OR LOWER(keywords) LIKE ? ESCAPE '\'`, like, like, like, like)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var rows []faqRow
	if err := q.Order("created_at, id").Limit(f.Limit).Offset(f.Offset).Find(&rows).Error; err != nil {
		return nil, 0, err
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out, total, nil
}

// FAQ returns one entry. Errors: not_found.
func (s *Service) FAQ(ctx context.Context, tenantID, id string) (Entry, error) {
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return Entry{}, err
	}
	var r faqRow
	err = db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Entry{}, kefu.Errorf(kefu.ENotFound, "no such FAQ entry")
	}
	return r.entry(), err
}

func (s *Service) countFAQs(tx *gorm.DB) (int64, error) {
	var n int64
	err := tx.Model(&faqRow{}).Count(&n).Error
	return n, err
}

// CreateFAQ adds an entry. Errors: invalid_argument, too_large (the
// tenant's FAQ is full).
func (s *Service) CreateFAQ(ctx context.Context, tenantID string, in EntryInput) (Entry, error) {
	if f := in.check(); len(f) > 0 {
		return Entry{}, kefu.Invalid(f)
	}
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return Entry{}, err
	}
	r := in.row(tenants.NewID(), s.stamp())
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		n, err := s.countFAQs(tx)
		if err != nil {
			return err
		}
		if n >= int64(s.cfg.MaxEntries) {
			return kefu.Errorf(kefu.ETooLarge, "the FAQ holds at most %d entries", s.cfg.MaxEntries)
		}
		return tx.Create(&r).Error
	})
	if err != nil {
		return Entry{}, err
	}
	s.changed(tenantID)
	return r.entry(), nil
}

// UpdateFAQ replaces an entry. Errors: invalid_argument, not_found.
func (s *Service) UpdateFAQ(ctx context.Context, tenantID, id string, in EntryInput) (Entry, error) {
	if f := in.check(); len(f) > 0 {
		return Entry{}, kefu.Invalid(f)
	}
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return Entry{}, err
	}
	r := in.row(id, s.stamp())
	res := db.WithContext(ctx).Model(&faqRow{}).Where("id = ?", id).Updates(map[string]any{
		"question": r.Question, "answer": r.Answer, "alternates": r.Alternates, "keywords": r.Keywords, "updated_at": r.UpdatedAt})
	if res.Error != nil {
		return Entry{}, res.Error
	}
	if res.RowsAffected == 0 {
		return Entry{}, kefu.Errorf(kefu.ENotFound, "no such FAQ entry")
	}
	s.changed(tenantID)
	return s.FAQ(ctx, tenantID, id)
}

// DeleteFAQ removes an entry. Errors: not_found.
func (s *Service) DeleteFAQ(ctx context.Context, tenantID, id string) error {
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return err
	}
	res := db.WithContext(ctx).Where("id = ?", id).Delete(&faqRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return kefu.Errorf(kefu.ENotFound, "no such FAQ entry")
	}
	db.WithContext(ctx).Where("faq_id = ?", id).Delete(&embeddingRow{})
	s.changed(tenantID)
	return nil
}

// AllFAQs returns every entry, for export.
func (s *Service) AllFAQs(ctx context.Context, tenantID string) ([]Entry, error) {
	out, _, err := s.FAQs(ctx, tenantID, FAQFilter{Limit: 1000})
	if err != nil {
		return nil, err
	}
	for off := 1000; len(out) == off && off < s.cfg.MaxEntries; off += 1000 {
		more, _, err := s.FAQs(ctx, tenantID, FAQFilter{Limit: 1000, Offset: off})
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// ImportFAQs adds the entries, or with replace puts them in place of every
// entry, in one transaction: all of them or, if any row is invalid, none
// (the error names each bad row by its line). Errors: invalid_argument,
// too_large.
func (s *Service) ImportFAQs(ctx context.Context, tenantID string, rows []ImportRow, replace bool) (int, error) {
	bad := map[string]string{}
	for i := range rows {
		if f := rows[i].Entry.check(); len(f) > 0 {
			if len(bad) < 50 {
				bad[fmt.Sprintf("line %d", rows[i].Line)] = describeFields(f)
			}
		}
	}
	if len(bad) > 0 {
		return 0, &kefu.Error{Code: kefu.EInvalid, Message: fmt.Sprintf("%d rows are invalid; nothing was imported", countBad(rows)), Fields: bad}
	}
	if len(rows) > s.cfg.MaxEntries {
		return 0, kefu.Errorf(kefu.ETooLarge, "the FAQ holds at most %d entries", s.cfg.MaxEntries)
	}
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return 0, err
	}
	now := s.stamp()
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if replace {
			if err := tx.Where("1 = 1").Delete(&faqRow{}).Error; err != nil {
				return err
			}
			if err := tx.Where("1 = 1").Delete(&embeddingRow{}).Error; err != nil {
				return err
			}
		} else {
			n, err := s.countFAQs(tx)
			if err != nil {
				return err
			}
			if n+int64(len(rows)) > int64(s.cfg.MaxEntries) {
				return kefu.Errorf(kefu.ETooLarge, "the FAQ holds at most %d entries (it has %d)", s.cfg.MaxEntries, n)
			}
		}
		batch := make([]faqRow, 0, len(rows))
		for i, r := range rows {
			// Rows keep their order: each a microsecond after the last.
			batch = append(batch, r.Entry.row(tenants.NewID(), now.Add(time.Duration(i)*time.Microsecond)))
		}
		if len(batch) == 0 {
			return nil
		}
		return tx.CreateInBatches(&batch, 200).Error
	})
	if err != nil {
		return 0, err
	}
	s.changed(tenantID)
	return len(rows), nil
}

func countBad(rows []ImportRow) int {
	n := 0
	for _, r := range rows {
		e := r.Entry
		if len(e.check()) > 0 {
			n++
		}
	}
	return n
}

func describeFields(f map[string]string) string {
	var parts []string
	for _, k := range []string{"question", "answer", "alternates", "keywords"} {
		if m, ok := f[k]; ok {
			parts = append(parts, k+" "+m)
		}
	}
	return strings.Join(parts, "; ")
}

// MatchFAQ answers a question from the tenant's FAQ: the best entries with
// their confidence, and whether the best one reaches the threshold. When
// the tenant's model serves embeddings, the candidates are re-ranked by
// them (see rerank).
func (s *Service) MatchFAQ(ctx context.Context, tenantID, question string, n int) (FAQResult, error) {
	kb, err := s.Knowledge(ctx, tenantID)
	if err != nil {
		return FAQResult{}, err
	}
	if n <= 0 || n > 10 {
		n = 5
	}
	res := FAQResult{Matches: kb.Match(question, n), Threshold: kb.Threshold()}
	if res.Matches == nil {
		res.Matches = []Match{}
	}
	res.Matches = s.rerank(ctx, tenantID, question, res.Matches, kb.Threshold())
	if len(res.Matches) > 0 && res.Matches[0].Score >= kb.Threshold() {
		best := res.Matches[0]
		res.Answer = &best
	}
	return res, nil
}

// FAQResult is a question's matches.
type FAQResult struct {
	Answer    *Match  `json:"answer"` // the best match when it reaches the threshold
	Matches   []Match `json:"matches"`
	Threshold float64 `json:"threshold"`
}
