package api

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"kefu"
	"kefu/clientip"
)

// keyedLimiter is a token bucket per key (client IP), forgetting idle keys.
type keyedLimiter struct {
	mu    sync.Mutex
	r     rate.Limit
	burst int
	m     map[string]*limEntry
	last  time.Time
}

type limEntry struct {
	l    *rate.Limiter
	seen time.Time
}

func newKeyedLimiter(perMinute, burst int) *keyedLimiter {
	return &keyedLimiter{r: rate.Limit(float64(perMinute) / 60), burst: burst, m: map[string]*limEntry{}}
}

// allow reports whether key may go on, and if not, how long to wait.
func (k *keyedLimiter) allow(key string) (bool, time.Duration) {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.last) > time.Minute {
		for key, e := range k.m {
			if now.Sub(e.seen) > 10*time.Minute {
				delete(k.m, key)
			}
		}
		k.last = now
	}
	e := k.m[key]
	if e == nil {
		e = &limEntry{l: rate.NewLimiter(k.r, k.burst)}
		k.m[key] = e
	}
	e.seen = now
	r := e.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// limit answers 429 with Retry-After when the client is over its budget. A
// client is its IP, or for IPv6 its /64 (clientip.Key).
func limit(k *keyedLimiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if ok, wait := k.allow(clientip.Key(c.RealIP())); !ok {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				return kefu.Errorf(kefu.ERateLimit, "too many requests; retry later")
			}
			return next(c)
		}
	}
}
