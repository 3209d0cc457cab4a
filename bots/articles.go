package bots

import (
	"context"
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

// Limits on articles: each is read whole into memory and chunked when the
// tenant's knowledge is indexed, so their number and size are bounded.
const (
	MaxArticles     = 200
	MaxArticleBytes = 200 << 10 // 200 KB of markdown
	MaxTitle        = 200       // characters
)

type articleRow struct {
	ID        string `gorm:"primaryKey"`
	Title     string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (articleRow) TableName(n schema.Namer) string { return n.TableName("article") }

// Article is a help-centre page the model may draw on. Its text is cut into
// chunks for the model's context; it is never sent to a visitor whole.
type Article struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body,omitempty"`
	Size      int       `json:"size"`
	Chunks    int       `json:"chunks"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (r articleRow) article(withBody bool) Article {
	a := Article{ID: r.ID, Title: r.Title, Size: len(r.Body), Chunks: len(SplitArticle(r.ID, r.Title, r.Body)), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if withBody {
		a.Body = r.Body
	}
	return a
}

// ArticleInput is an article as a client writes it.
type ArticleInput struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

func (in *ArticleInput) check() error {
	in.Title = strings.TrimSpace(in.Title)
	if len(in.Body) > MaxArticleBytes {
		return kefu.Errorf(kefu.ETooLarge, "an article's body is at most %d KB", MaxArticleBytes>>10)
	}
	f := map[string]string{}
	if n := utf8.RuneCountInString(in.Title); n == 0 || n > MaxTitle {
		f["title"] = fmt.Sprintf("must be 1-%d characters", MaxTitle)
	}
	if p := kefu.TextProblem(in.Title); p != "" {
		f["title"] = p
	}
	if strings.TrimSpace(in.Body) == "" {
		f["body"] = "is required"
	} else if p := kefu.TextProblem(in.Body); p != "" {
		f["body"] = p
	}
	if len(f) > 0 {
		return kefu.Invalid(f)
	}
	return nil
}

// Articles lists a tenant's articles (without their bodies).
func (s *Service) Articles(ctx context.Context, tenantID string) ([]Article, error) {
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return nil, err
	}
	var rows []articleRow
	if err := db.WithContext(ctx).Order("created_at, id").Limit(MaxArticles).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Article, len(rows))
	for i, r := range rows {
		out[i] = r.article(false)
	}
	return out, nil
}

// Article returns one article with its body. Errors: not_found.
func (s *Service) Article(ctx context.Context, tenantID, id string) (Article, error) {
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return Article{}, err
	}
	var r articleRow
	err = db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Article{}, kefu.Errorf(kefu.ENotFound, "no such article")
	}
	if err != nil {
		return Article{}, err
	}
	return r.article(true), nil
}

// CreateArticle adds an article. Errors: invalid_argument, too_large.
func (s *Service) CreateArticle(ctx context.Context, tenantID string, in ArticleInput) (Article, error) {
	if err := in.check(); err != nil {
		return Article{}, err
	}
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return Article{}, err
	}
	now := s.stamp()
	r := articleRow{ID: tenants.NewID(), Title: in.Title, Body: in.Body, CreatedAt: now, UpdatedAt: now}
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&articleRow{}).Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxArticles {
			return kefu.Errorf(kefu.ETooLarge, "at most %d articles", MaxArticles)
		}
		return tx.Create(&r).Error
	})
	if err != nil {
		return Article{}, err
	}
	s.changed(tenantID)
	return r.article(true), nil
}

// UpdateArticle replaces an article. Errors: invalid_argument, too_large,
// not_found.
func (s *Service) UpdateArticle(ctx context.Context, tenantID, id string, in ArticleInput) (Article, error) {
	if err := in.check(); err != nil {
		return Article{}, err
	}
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return Article{}, err
	}
	res := db.WithContext(ctx).Model(&articleRow{}).Where("id = ?", id).Updates(map[string]any{"title": in.Title, "body": in.Body, "updated_at": s.stamp()})
	if res.Error != nil {
		return Article{}, res.Error
	}
	if res.RowsAffected == 0 {
		return Article{}, kefu.Errorf(kefu.ENotFound, "no such article")
	}
	s.changed(tenantID)
	return s.Article(ctx, tenantID, id)
}

// DeleteArticle removes an article. Errors: not_found.
func (s *Service) DeleteArticle(ctx context.Context, tenantID, id string) error {
	db, err := s.tenants.DB(tenantID)
	if err != nil {
		return err
	}
	res := db.WithContext(ctx).Where("id = ?", id).Delete(&articleRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return kefu.Errorf(kefu.ENotFound, "no such article")
	}
	s.changed(tenantID)
	return nil
}
