package tenants

import (
	"context"

	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// userEmailRow says that email has an account in a workspace. It is the
// platform's index for signing in by email without naming the workspace
// and for password-reset mail; the workspace's users table stays the
// record (an index row may outlive a failed insert, never the reverse for
// long: lookups check the users table).
type userEmailRow struct {
	Email    string `gorm:"primaryKey"`
	TenantID string `gorm:"primaryKey"`
	UserID   string
}

func (userEmailRow) TableName(n schema.Namer) string { return n.TableName("user_email") }

// indexEmail records that the user's email is an account of the tenant.
func (s *Service) indexEmail(ctx context.Context, tenantID, userID, email string) error {
	row := userEmailRow{Email: email, TenantID: tenantID, UserID: userID}
	return s.store.Platform().WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error
}

func (s *Service) unindexEmail(ctx context.Context, tenantID, userID string) error {
	return s.store.Platform().WithContext(ctx).Delete(&userEmailRow{}, "tenant_id = ? AND user_id = ?", tenantID, userID).Error
}

// indexEmails fills the index from a workspace's users table (for
// workspaces made before the index existed); rows already there stay.
func (s *Store) indexEmails(ctx context.Context, tenantID string, h *DB) error {
	var rows []userRow
	if err := h.WithContext(ctx).Select("id", "email").Where("deleted_at IS NULL").Find(&rows).Error; err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	idx := make([]userEmailRow, len(rows))
	for i, r := range rows {
		idx[i] = userEmailRow{Email: r.Email, TenantID: tenantID, UserID: r.ID}
	}
	return s.platform.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(idx, 500).Error
}

// workspacesOf lists the accounts an email has, at most limit of them.
func (s *Service) workspacesOf(ctx context.Context, email string, limit int) ([]userEmailRow, error) {
	var rows []userEmailRow
	err := s.store.Platform().WithContext(ctx).Where("email = ?", email).Order("tenant_id").Limit(limit).Find(&rows).Error
	return rows, err
}
