package tenants

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"kefu"
)

// lockoutPolicy: after attempts failed sign-ins to one workspace+email
// within window, that account answers 429 for window. The per-IP rate
// limit of the HTTP edge stops one client guessing fast; this stops many
// clients (a botnet, IPv6 ranges) guessing one account's password.
type lockoutPolicy struct {
	attempts int
	window   time.Duration
}

type loginFailureRow struct {
	Account     string `gorm:"primaryKey"`
	Failures    int
	FirstAt     time.Time
	LockedUntil *time.Time
}

func (loginFailureRow) TableName(n schema.Namer) string { return n.TableName("login_failure") }

// lockKey names an account for the lockout without storing its email: a
// hash of the workspace slug and the address as typed (normalised). Names
// that are not accounts get keys too, so a lockout says nothing about
// whether an account exists.
func lockKey(slug, email string) string {
	sum := sha256.Sum256([]byte("login\x00" + strings.ToLower(strings.TrimSpace(slug)) + "\x00" + strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// lockedFor returns how much longer the account is locked out (0: not).
func (s *Service) lockedFor(ctx context.Context, key string) (time.Duration, error) {
	var row loginFailureRow
	err := s.store.Platform().WithContext(ctx).Where("account = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if row.LockedUntil == nil {
		return 0, nil
	}
	return max(row.LockedUntil.Sub(s.now()), 0), nil
}

// errLocked is the answer while an account is locked out. It is the same
// for accounts that exist and those that do not.
func errLocked(wait time.Duration) error {
	return &kefu.Error{Code: kefu.ERateLimit, Message: "too many failed sign-ins for this account; try again later", RetryAfter: wait}
}

// checkLocked returns errLocked while the account is locked out.
func (s *Service) checkLocked(ctx context.Context, key string) error {
	wait, err := s.lockedFor(ctx, key)
	if err != nil {
		return err
	}
	if wait > 0 {
		return errLocked(wait)
	}
	return nil
}

// noteFailure counts a failed sign-in, atomically on both backends (one
// upsert), and locks the account when it reaches the limit. The count
// restarts when the first failure it holds is older than the window, and
// after a lockout.
func (s *Service) noteFailure(ctx context.Context, key string) error {
	db := s.store.Platform()
	t := db.Table("login_failures")
	now := s.now()
	cutoff := now.Add(-s.lockout.window)
	var failures int
	// A lapsed lockout starts a new count; one still running (a racing
	// attempt that passed the check before it was set) stays.
	err := db.WithContext(ctx).Raw(`INSERT INTO `+t+` (account, failures, first_at) VALUES (?, 1, ?)
		ON CONFLICT (account) DO UPDATE SET
		  failures = CASE WHEN login_failures.first_at < ? OR login_failures.locked_until <= ? THEN 1 ELSE login_failures.failures + 1 END,
		  first_at = CASE WHEN login_failures.first_at < ? OR login_failures.locked_until <= ? THEN excluded.first_at ELSE login_failures.first_at END,
		  locked_until = CASE WHEN login_failures.locked_until <= ? THEN NULL ELSE login_failures.locked_until END
		RETURNING failures`, key, now, cutoff, now, cutoff, now, now).Scan(&failures).Error
	if err != nil {
		return err
	}
	if failures < s.lockout.attempts {
		return nil
	}
	until := now.Add(s.lockout.window)
	return db.WithContext(ctx).Model(&loginFailureRow{}).Where("account = ?", key).Update("locked_until", &until).Error
}

// clearFailures forgets an account's failed sign-ins (after a successful
// one, or when an admin sets a new password).
func (s *Service) clearFailures(ctx context.Context, key string) error {
	return s.store.Platform().WithContext(ctx).Delete(&loginFailureRow{}, "account = ?", key).Error
}
