package tenants_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"kefu"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// Keys live 24 hours: a key in flight past its lease may be taken over, an
// answered one is replayed until it expires, and the sweep deletes the old.
func TestIdempotencyKeysExpire(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			var now atomic.Int64
			now.Store(time.Now().UnixMicro())
			svc := tenants.NewService(b.Store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef"),
				Now: func() time.Time { return time.UnixMicro(now.Load()) }})
			res := signup(t, svc, "Idem "+tenants.NewID()[24:])
			p, err := svc.Authenticate(ctx, res.Token)
			if err != nil {
				t.Fatal(err)
			}
			advance := func(d time.Duration) { now.Add(d.Microseconds()) }

			if r, err := svc.Idempotent(ctx, p, "k1", "h1"); r != nil || err != nil {
				t.Fatalf("first claim: %v %v", r, err)
			}
			if _, err := svc.Idempotent(ctx, p, "k1", "h1"); kefu.Code(err) != kefu.EConflict {
				t.Fatalf("in flight: %v", err)
			}
			advance(10 * time.Minute) // the holder died: the key is free again
			if r, err := svc.Idempotent(ctx, p, "k1", "h1"); r != nil || err != nil {
				t.Fatalf("takeover: %v %v", r, err)
			}
			if err := svc.FinishIdempotent(ctx, p, "k1", tenants.StoredResponse{Status: 201, ContentType: "application/json", Body: []byte(`{"ok":true}`)}); err != nil {
				t.Fatal(err)
			}
			advance(23 * time.Hour)
			r, err := svc.Idempotent(ctx, p, "k1", "h1")
			if err != nil || r == nil || r.Status != 201 || string(r.Body) != `{"ok":true}` {
				t.Fatalf("replay: %+v %v", r, err)
			}
			if _, err := svc.Idempotent(ctx, p, "k1", "h2"); kefu.Code(err) != kefu.EIdempotencyReused {
				t.Fatalf("reuse: %v", err)
			}
			advance(2 * time.Hour)
			if n, err := svc.SweepIdempotencyKeys(ctx); err != nil || n != 1 {
				t.Fatalf("sweep: %d %v", n, err)
			}
			if r, err := svc.Idempotent(ctx, p, "k1", "h2"); r != nil || err != nil {
				t.Fatalf("after the sweep: %v %v", r, err)
			}
		})
	}
}
