package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"kefu/tenants"
)

// tenantCommand is the operator's `kefu tenant plan SLUG PLAN`: it moves a
// workspace to a plan, on the database the configuration names. Running
// servers see the change within the tenants cache's life (30 s).
func tenantCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 3 || args[0] != "plan" {
		return errors.New("usage: kefu tenant plan SLUG free|pro|enterprise")
	}
	cfg, err := loadConfig(nil, getenv)
	if err != nil {
		return err
	}
	store, err := tenants.Open(ctx, tenants.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: 2})
	if err != nil {
		return err
	}
	defer store.Close()
	ten := tenants.NewService(store, tenants.Config{})
	if err := ten.SetPlan(ctx, args[1], args[2]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "workspace %s is on the %s plan\n", args[1], args[2])
	return nil
}

// sweepIdempotencyKeys deletes Idempotency-Keys older than 24 hours, every
// hour, on every node (deleting is idempotent), until ctx ends.
func sweepIdempotencyKeys(ctx context.Context, ten *tenants.Service, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := ten.SweepIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweep idempotency keys", "err", err)
		} else if n > 0 {
			log.Info("swept idempotency keys", "count", n)
		}
	}
}

// redisScripter is rdb for the API's rate limits, or nil without Redis (a
// nil *redis.Client would be a non-nil interface).
func redisScripter(rdb *redis.Client) redis.Scripter {
	if rdb == nil {
		return nil
	}
	return rdb
}
