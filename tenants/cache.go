package tenants

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2/expirable"
)

// ttlCache is a bounded in-process cache whose entries expire, so that a
// change made on another node is seen within the TTL.
type ttlCache[V any] struct{ c *lru.LRU[string, V] }

func newTTLCache[V any](size int, ttl time.Duration) *ttlCache[V] {
	return &ttlCache[V]{c: lru.NewLRU[string, V](size, nil, ttl)}
}

func (c *ttlCache[V]) get(k string) (V, bool) { return c.c.Get(k) }
func (c *ttlCache[V]) put(k string, v V)      { c.c.Add(k, v) }
func (c *ttlCache[V]) drop(k string)          { c.c.Remove(k) }
