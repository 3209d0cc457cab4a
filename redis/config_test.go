package redis_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"kefu/redis"
)

// TestCheckRedis reads the real Redis's settings (never changing them) and
// reports each one, in the problems and in the metric.
func TestCheckRedis(t *testing.T) {
	rdb := testRedis(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	problems := redis.Check(ctx, rdb, slog.New(slog.DiscardHandler), reg)
	families, err := reg.Gather()
	if err != nil || len(families) != 1 || len(families[0].GetMetric()) != len(redis.Settings) {
		t.Fatalf("the metric reports %v (%v), want one series per setting", families, err)
	}
	for _, s := range redis.Settings {
		got, err := rdb.ConfigGet(ctx, s.Name).Result()
		if err != nil {
			t.Fatal(err)
		}
		reported := false
		for _, p := range problems {
			reported = reported || strings.HasPrefix(p, s.Name)
		}
		t.Logf("%s = %q (reported wrong: %v)", s.Name, got[s.Name], reported)
	}
	notify, _ := rdb.ConfigGet(ctx, "notify-keyspace-events").Result()
	before := notify["notify-keyspace-events"]
	redis.Check(ctx, rdb, slog.New(slog.DiscardHandler), nil)
	after, _ := rdb.ConfigGet(ctx, "notify-keyspace-events").Result()
	if after["notify-keyspace-events"] != before {
		t.Fatalf("checking changed notify-keyspace-events from %q to %q", before, after["notify-keyspace-events"])
	}
}
