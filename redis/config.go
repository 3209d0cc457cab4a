package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
)

// Kefu does not own the Redis it is given, so it never changes its
// settings (no CONFIG SET). It reads the ones it relies on with CONFIG GET
// and reports each: a warning in the log and kefu_redis_setting_ok{setting}
// (1 right, 0 wrong, -1 unreadable, as on a managed Redis that refuses
// CONFIG). deploy/redis.conf sets them all.

// Setting is one setting Kefu relies on.
type Setting struct {
	Name string
	Want string // what deploy/redis.conf sets
	Why  string
	ok   func(v string) bool
}

// Settings are the settings Kefu checks.
var Settings = []Setting{
	{Name: "notify-keyspace-events", Want: "Ex", Why: "expiry events tell the other nodes at once that a crashed node's agents are gone (without them the presence sweep notices, up to half a TTL later)",
		ok: func(v string) bool {
			return strings.Contains(v, "E") && (strings.Contains(v, "x") || strings.Contains(v, "A"))
		}},
	{Name: "maxmemory-policy", Want: "noeviction", Why: "an evicted presence key sends an online agent offline",
		ok: func(v string) bool { return v == "noeviction" || strings.HasPrefix(v, "volatile-") }},
}

// Check reads the settings, logs what is wrong and exports the result
// to reg (nil: no metric). It returns the problems found.
func Check(ctx context.Context, rdb *goredis.Client, log *slog.Logger, reg prometheus.Registerer) []string {
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kefu_redis_setting_ok", Help: "A Redis setting Kefu relies on, read with CONFIG GET at start: 1 as deploy/redis.conf sets it, 0 not, -1 unreadable.",
	}, []string{"setting"})
	if reg != nil {
		if err := reg.Register(gauge); err != nil {
			log.Warn("redis settings metric", "err", err)
		}
	}
	var problems []string
	for _, s := range Settings {
		got, err := rdb.ConfigGet(ctx, s.Name).Result()
		v, found := got[s.Name]
		switch {
		case err != nil || !found:
			gauge.WithLabelValues(s.Name).Set(-1)
			log.Warn("redis: cannot read a setting Kefu relies on; set it as deploy/redis.conf does", "setting", s.Name, "want", s.Want, "why", s.Why, "err", err)
			problems = append(problems, fmt.Sprintf("%s unreadable", s.Name))
		case !s.ok(v):
			gauge.WithLabelValues(s.Name).Set(0)
			log.Warn("redis: a setting Kefu relies on is not as deploy/redis.conf sets it", "setting", s.Name, "have", v, "want", s.Want, "why", s.Why)
			problems = append(problems, fmt.Sprintf("%s is %q, want %q", s.Name, v, s.Want))
		default:
			gauge.WithLabelValues(s.Name).Set(1)
		}
	}
	return problems
}
