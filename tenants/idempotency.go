package tenants

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"kefu"
)

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// idempotencyLease is how long a request holding a key may run before
// another with the same key may take the key over (the first one's node
// died): longer than any request may take (the HTTP write timeout).
const idempotencyLease = 5 * time.Minute

// Errors Idempotent answers for a key it cannot hand out.
var (
	// ErrIdempotencyReused: the key came with a different request.
	ErrIdempotencyReused = &kefu.Error{Code: kefu.EIdempotencyReused, Message: "this Idempotency-Key was used with a different request",
		Fields: map[string]string{"Idempotency-Key": "was used with a different request"}}
	// ErrIdempotencyInFlight: a request with the key is still under way.
	ErrIdempotencyInFlight = kefu.Errorf(kefu.EConflict, "a request with this Idempotency-Key is still in progress; retry later")
)

type idempotencyRow struct {
	PrincipalID string `gorm:"primaryKey"`
	Key         string `gorm:"primaryKey"`
	RequestHash string
	Status      int
	ContentType string
	Response    string
	CreatedAt   time.Time
}

func (idempotencyRow) TableName(n schema.Namer) string { return n.TableName("idempotency_key") }

// StoredResponse is an answer kept for an Idempotency-Key.
type StoredResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// Idempotent claims key for principal p and the request whose hash is
// hash. It returns the stored answer when the key was answered before (the
// request is a replay), or nil when the caller now holds the key and must
// call FinishIdempotent or ReleaseIdempotent. Errors: ErrIdempotencyReused,
// ErrIdempotencyInFlight.
func (s *Service) Idempotent(ctx context.Context, p Principal, key, hash string) (*StoredResponse, error) {
	db, err := s.store.Tenant(p.TenantID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	for range 3 {
		row := idempotencyRow{PrincipalID: principalKey(p), Key: key, RequestHash: hash, CreatedAt: now}
		res := db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return nil, res.Error
		}
		if res.RowsAffected == 1 {
			return nil, nil
		}
		var old idempotencyRow
		err := db.WithContext(ctx).Where("principal_id = ? AND key = ?", row.PrincipalID, key).Take(&old).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue // released meanwhile: claim it again
		}
		if err != nil {
			return nil, err
		}
		stale := now.Add(-IdempotencyTTL)
		if old.Status == 0 {
			stale = now.Add(-idempotencyLease)
		}
		if old.CreatedAt.Before(stale) {
			// Expired, or held by a request that died: take it over if it
			// still is (another request may be taking it over just now).
			res := db.WithContext(ctx).Model(&idempotencyRow{}).
				Where("principal_id = ? AND key = ? AND status = ? AND created_at < ?", old.PrincipalID, key, old.Status, stale).
				Updates(map[string]any{"request_hash": hash, "status": 0, "content_type": "", "response": "", "created_at": now})
			if res.Error != nil {
				return nil, res.Error
			}
			if res.RowsAffected == 1 {
				return nil, nil
			}
			continue
		}
		if old.Status == 0 {
			return nil, ErrIdempotencyInFlight
		}
		if old.RequestHash != hash {
			return nil, ErrIdempotencyReused
		}
		return &StoredResponse{Status: old.Status, ContentType: old.ContentType, Body: []byte(old.Response)}, nil
	}
	return nil, ErrIdempotencyInFlight
}

// FinishIdempotent stores the answer to the request that holds key.
func (s *Service) FinishIdempotent(ctx context.Context, p Principal, key string, r StoredResponse) error {
	db, err := s.store.Tenant(p.TenantID)
	if err != nil {
		return err
	}
	return db.WithContext(ctx).Model(&idempotencyRow{}).Where("principal_id = ? AND key = ? AND status = 0", principalKey(p), key).
		Updates(map[string]any{"status": r.Status, "content_type": r.ContentType, "response": string(r.Body)}).Error
}

// ReleaseIdempotent forgets key, held by a request whose answer must not be
// replayed (a server fault, a rate limit): the client may try again.
func (s *Service) ReleaseIdempotent(ctx context.Context, p Principal, key string) error {
	db, err := s.store.Tenant(p.TenantID)
	if err != nil {
		return err
	}
	return db.WithContext(ctx).Where("principal_id = ? AND key = ? AND status = 0", principalKey(p), key).Delete(&idempotencyRow{}).Error
}

// SweepIdempotencyKeys deletes, in every tenant, the keys older than
// IdempotencyTTL, and returns how many went. Every node may run it.
func (s *Service) SweepIdempotencyKeys(ctx context.Context) (int, error) {
	ids, err := s.ListTenantIDs(ctx)
	if err != nil {
		return 0, err
	}
	cutoff := s.now().UTC().Add(-IdempotencyTTL)
	total := 0
	for _, id := range ids {
		db, err := s.store.Tenant(id)
		if err != nil {
			return total, err
		}
		res := db.WithContext(ctx).Where("created_at < ?", cutoff).Delete(&idempotencyRow{})
		if res.Error != nil {
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			s.log.Warn("sweep idempotency keys", "tenant_id", id, "err", res.Error)
			continue
		}
		total += int(res.RowsAffected)
	}
	return total, nil
}

// principalKey names a principal across kinds (a user and a key never
// share an id, but the prefix makes that plain).
func principalKey(p Principal) string { return p.Kind + ":" + p.ID }
