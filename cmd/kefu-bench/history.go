package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"kefu/chat"
	"kefu/tenants"

	"kefu/cmd/internal/kefuclient"
)

// preload bulk-inserts --history messages (50 per conversation) into the
// bench's tenant, straight into the server's database, so that the run
// measures a tenant with a past. It is the one thing the bench does outside
// the public API: a million messages through the API would take longer than
// the run.
func (b *bench) preload(ctx context.Context, log io.Writer) error {
	var me struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := kefuclient.Call(ctx, "GET", b.o.url+"/api/v1/me", b.owner, nil, &me); err != nil {
		return err
	}
	store, err := tenants.Open(ctx, tenants.Options{DatabaseURL: b.o.databaseURL, DataDir: b.o.dataDir, MaxConns: 4})
	if err != nil {
		return fmt.Errorf("--history: open the database: %w", err)
	}
	defer store.Close()
	db, err := store.Tenant(me.Tenant.ID)
	if err != nil {
		return err
	}
	t0 := time.Now()
	const perConv = 50
	h := chat.History{Conversations: (b.o.history + perConv - 1) / perConv, Messages: perConv, Prefix: "bench-" + randHex(3) + "-", AgentID: me.User.ID}
	if err := chat.SeedHistory(ctx, db, h); err != nil {
		return fmt.Errorf("--history: %w", err)
	}
	analyze := "ANALYZE"
	if db.Dialect == tenants.Postgres {
		analyze = "ANALYZE " + db.Table("messages") + ", " + db.Table("conversations") + ", " + db.Table("visitors")
	}
	if err := db.WithContext(ctx).Exec(analyze).Error; err != nil {
		return err
	}
	fmt.Fprintf(log, "bench: preloaded %d messages in %d conversations in %s\n", h.Conversations*perConv, h.Conversations, time.Since(t0).Round(time.Millisecond))
	return nil
}
