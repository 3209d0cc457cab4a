package api

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"kefu"
	"kefu/tenants"
)

// bucketState is a token bucket after one request: whether it went through,
// the tokens left, and how long until the next token (wait) and until the
// bucket is full again (reset).
type bucketState struct {
	ok        bool
	remaining int
	wait      time.Duration
	reset     time.Duration
}

// buckets take one token from the bucket named key, which holds up to burst
// tokens and gains perMinute of them a minute.
type buckets interface {
	take(ctx context.Context, key string, perMinute, burst int) (bucketState, error)
}

// tokenBucketScript is the bucket in Redis: every node takes from the same
// one. Redis's own clock times it, so the nodes' clocks do not matter. The
// key lives until the bucket would be full again.
var tokenBucketScript = redis.NewScript(`
local rate = tonumber(ARGV[1]) / 60000000 -- tokens per microsecond
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
local reset = math.ceil((burst - tokens) / rate)
redis.call('PEXPIRE', KEYS[1], math.ceil(reset / 1000) + 1000)
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) / rate) end
return {ok, math.floor(tokens), wait, reset}
`)

// redisBuckets keeps the buckets in Redis.
type redisBuckets struct {
	rdb    redis.Scripter
	prefix string
}

func (r redisBuckets) take(ctx context.Context, key string, perMinute, burst int) (bucketState, error) {
	v, err := tokenBucketScript.Run(ctx, r.rdb, []string{r.prefix + key}, perMinute, burst).Int64Slice()
	if err != nil {
		return bucketState{}, err
	}
	return bucketState{ok: v[0] == 1, remaining: int(v[1]), wait: time.Duration(v[2]) * time.Microsecond, reset: time.Duration(v[3]) * time.Microsecond}, nil
}

// memBuckets keeps the buckets in this process, at most maxBuckets of
// them (the least recently used go first: a forgotten bucket starts full).
type memBuckets struct {
	c *lru.Cache[string, *memBucket]
}

type memBucket struct {
	mu     sync.Mutex
	tokens float64
	at     time.Time
}

const maxBuckets = 100000

func newMemBuckets() memBuckets {
	c, _ := lru.New[string, *memBucket](maxBuckets)
	return memBuckets{c: c}
}

func (m memBuckets) take(_ context.Context, key string, perMinute, burst int) (bucketState, error) {
	now := time.Now()
	b, ok := m.c.Get(key)
	if !ok {
		b = &memBucket{tokens: float64(burst), at: now}
		if prev, found, _ := m.c.PeekOrAdd(key, b); found {
			b = prev
		}
	}
	rate := float64(perMinute) / float64(time.Minute) // tokens per nanosecond
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+float64(d)*rate)
	}
	b.at = now
	st := bucketState{}
	if b.tokens >= 1 {
		b.tokens--
		st.ok = true
	} else {
		st.wait = time.Duration(math.Ceil((1 - b.tokens) / rate))
	}
	st.remaining = int(b.tokens)
	st.reset = time.Duration(math.Ceil((float64(burst) - b.tokens) / rate))
	return st, nil
}

// apiRate limits API keys by the tenant's plan: a bucket per key (the
// plan's rate a minute, a minute's worth at once) and one for all the
// tenant's keys together (TenantAPIFactor times as much). Every answer to a
// key says where its bucket stands (RateLimit-Limit, -Remaining, -Reset:
// seconds until it is full); over either bucket it is 429 rate_limited with
// Retry-After. People signed in to the console are not limited here (they
// have the socket's and the sign-in's limits). If Redis fails, the request
// goes through: a limit is not worth an outage.
func (s *Server) apiRate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		if p.Kind != tenants.KindAPIKey || s.buckets == nil {
			return next(c)
		}
		ctx := c.Request().Context()
		plan, err := s.tenants.PlanOf(ctx, p.TenantID)
		if err != nil {
			return err
		}
		perKey := plan.APIPerMinute
		perTenant := perKey * tenants.TenantAPIFactor
		key, err := s.buckets.take(ctx, p.TenantID+":rl:key:"+p.ID, perKey, perKey)
		if err != nil {
			s.log.WarnContext(ctx, "rate limit unavailable", "tenant_id", p.TenantID, "err", err)
			return next(c)
		}
		h := c.Response().Header()
		h.Set("RateLimit-Limit", strconv.Itoa(perKey))
		h.Set("RateLimit-Remaining", strconv.Itoa(key.remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(key.reset.Seconds()))))
		if !key.ok {
			return kefu.RateLimited(key.wait, "this API key is over its rate of %d requests a minute; retry later", perKey)
		}
		tenant, err := s.buckets.take(ctx, p.TenantID+":rl:tenant", perTenant, perTenant)
		if err != nil {
			s.log.WarnContext(ctx, "rate limit unavailable", "tenant_id", p.TenantID, "err", err)
			return next(c)
		}
		if !tenant.ok {
			return kefu.RateLimited(tenant.wait, "this workspace's API keys are over their rate of %d requests a minute; retry later", perTenant)
		}
		return next(c)
	}
}

// usage is what the tenant's plan allows and how much of it is used.
func (s *Server) usage(c echo.Context) error {
	ctx, tenantID := c.Request().Context(), tenantOf(c)
	plan, err := s.tenants.PlanOf(ctx, tenantID)
	if err != nil {
		return err
	}
	seats, err := s.tenants.Seats(ctx, tenantID)
	if err != nil {
		return err
	}
	month := tenants.MonthStart(time.Now())
	convs, err := s.chat.ConversationsSince(ctx, tenantID, month)
	if err != nil {
		return err
	}
	limit := func(n int) any {
		if n == 0 {
			return nil // no limit
		}
		return n
	}
	return c.JSON(http.StatusOK, map[string]any{
		"plan":  plan.Name,
		"seats": map[string]any{"used": seats, "limit": limit(plan.Seats)},
		"conversations": map[string]any{"used": convs, "limit": limit(plan.ConversationsPerMonth),
			"period_start": month, "period_end": month.AddDate(0, 1, 0)},
		"api": map[string]any{"per_key_per_minute": plan.APIPerMinute, "per_tenant_per_minute": plan.APIPerMinute * tenants.TenantAPIFactor},
	})
}
