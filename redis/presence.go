package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"kefu/chat"
)

// Presence shares presence between nodes. Per user it keeps a status
// key and a socket counter, both with a TTL that every node holding one of
// the user's sockets refreshes by heartbeat, and per tenant a set of the
// users who chose online. A clean disconnect of the last socket anywhere
// removes the keys at once; a node that dies stops refreshing them, so they
// expire within PresenceTTL. Expiry is noticed two ways: keyspace
// notifications (notify-keyspace-events Ex, which Kefu checks but never
// sets: see Check) as a fast hint, and a periodic sweep, because Redis
// does not guarantee expiry events.
//
// Redis may lose everything (a restart without persistence, FLUSHALL). Each
// node keeps a key of its own alive by heartbeat; when a heartbeat finds it
// gone, the node writes back what it knows — its sockets' counts and the
// statuses chosen through it (without overwriting a status another node
// wrote back first) — so presence is whole again within one heartbeat.
type Presence struct {
	rdb       *goredis.Client
	prefix    string
	ttl       time.Duration
	heartbeat time.Duration
	sweep     time.Duration
	log       *slog.Logger

	node string // this node's key, alive while the node is

	mu    sync.Mutex
	local map[[2]string]*localUser // (tenant, user) → their sockets here
}

// localUser is what this node knows of a user: how many of their sockets it
// holds and the status last chosen through it ("" if none).
type localUser struct {
	conns  int
	status string
}

// PresenceTTL is how long a user stays present without a heartbeat.
const PresenceTTL = 60 * time.Second

// NewPresence returns presence kept in Redis under prefix.
func NewPresence(rdb *goredis.Client, prefix string, log *slog.Logger) *Presence {
	if prefix == "" {
		prefix = "kefu"
	}
	node := make([]byte, 8)
	_, _ = rand.Read(node)
	return &Presence{rdb: rdb, prefix: prefix, ttl: PresenceTTL, heartbeat: PresenceTTL / 3, sweep: PresenceTTL / 2, log: log,
		node: prefix + ":presence-node:" + hex.EncodeToString(node), local: map[[2]string]*localUser{}}
}

// WithTimings sets the TTL and intervals (KEFU_PRESENCE_TTL; tests).
func (p *Presence) WithTimings(ttl, heartbeat, sweep time.Duration) *Presence {
	p.ttl, p.heartbeat, p.sweep = ttl, heartbeat, sweep
	return p
}

// WithTTL sets the TTL; the heartbeat is a third of it, the sweep a half.
func (p *Presence) WithTTL(ttl time.Duration) *Presence {
	return p.WithTimings(ttl, ttl/3, ttl/2)
}

func (p *Presence) statusKey(t, u string) string { return p.prefix + ":" + t + ":presence:" + u }
func (p *Presence) connsKey(t, u string) string {
	return p.prefix + ":" + t + ":presence-conns:" + u
}
func (p *Presence) onlineKey(t string) string { return p.prefix + ":" + t + ":online" }

// Connect counts a socket here and in Redis.
func (p *Presence) Connect(ctx context.Context, tenant, user string) {
	k := [2]string{tenant, user}
	p.mu.Lock()
	if p.local[k] == nil {
		p.local[k] = &localUser{}
	}
	p.local[k].conns++
	p.mu.Unlock()
	pipe := p.rdb.TxPipeline()
	pipe.Incr(ctx, p.connsKey(tenant, user))
	pipe.Expire(ctx, p.connsKey(tenant, user), p.ttl)
	pipe.Expire(ctx, p.statusKey(tenant, user), p.ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		p.log.Warn("presence connect", "tenant_id", tenant, "err", err)
	}
}

var disconnectScript = goredis.NewScript(`
local n = redis.call('DECR', KEYS[1])
if n > 0 then return 0 end
redis.call('DEL', KEYS[1])
local was = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
if was and was ~= 'offline' then return 1 end
return 0`)

// Disconnect uncounts a socket; when it was the user's last anywhere they go
// offline at once.
func (p *Presence) Disconnect(ctx context.Context, tenant, user string) bool {
	k := [2]string{tenant, user}
	p.mu.Lock()
	if lu := p.local[k]; lu != nil {
		lu.conns--
		if lu.conns <= 0 {
			delete(p.local, k)
		}
	}
	p.mu.Unlock()
	n, err := disconnectScript.Run(ctx, p.rdb, []string{p.connsKey(tenant, user), p.statusKey(tenant, user), p.onlineKey(tenant)}, user).Int()
	if err != nil {
		p.log.Warn("presence disconnect", "tenant_id", tenant, "err", err)
		return false
	}
	return n == 1
}

// Set records the status (it lasts while a node refreshes it).
func (p *Presence) Set(ctx context.Context, tenant, user, status string) (string, error) {
	p.mu.Lock()
	if lu := p.local[[2]string{tenant, user}]; lu != nil {
		lu.status = status
	}
	p.mu.Unlock()
	prev, err := p.rdb.Get(ctx, p.statusKey(tenant, user)).Result()
	if err == goredis.Nil {
		prev, err = chat.PresenceOffline, nil
	}
	if err != nil {
		return "", err
	}
	pipe := p.rdb.TxPipeline()
	pipe.Set(ctx, p.statusKey(tenant, user), status, p.ttl)
	if status == chat.PresenceOnline {
		pipe.SAdd(ctx, p.onlineKey(tenant), user)
	} else {
		pipe.SRem(ctx, p.onlineKey(tenant), user)
	}
	_, err = pipe.Exec(ctx)
	return prev, err
}

// Status reads the user's status.
func (p *Presence) Status(ctx context.Context, tenant, user string) string {
	s, err := p.rdb.Get(ctx, p.statusKey(tenant, user)).Result()
	if err != nil {
		return chat.PresenceOffline
	}
	return s
}

// Online lists users of the tenant whose status is online now, dropping
// stale set members as it goes.
func (p *Presence) Online(ctx context.Context, tenant string) []string {
	users, err := p.rdb.SMembers(ctx, p.onlineKey(tenant)).Result()
	if err != nil || len(users) == 0 {
		return nil
	}
	keys := make([]string, len(users))
	for i, u := range users {
		keys[i] = p.statusKey(tenant, u)
	}
	vals, err := p.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil
	}
	var out, stale []string
	for i, v := range vals {
		switch s, _ := v.(string); {
		case s == chat.PresenceOnline:
			out = append(out, users[i])
		case v == nil:
			stale = append(stale, users[i])
		}
	}
	if len(stale) > 0 {
		p.rdb.SRem(ctx, p.onlineKey(tenant), stale)
	}
	sort.Strings(out)
	return out
}

// Run refreshes this node's users, listens for expiries, and sweeps.
func (p *Presence) Run(ctx context.Context, onExpire func(tenant, user string)) {
	if err := p.rdb.Set(ctx, p.node, "1", p.ttl).Err(); err != nil && ctx.Err() == nil {
		p.log.Warn("presence: marking this node alive", "err", err)
	}
	go p.listen(ctx, onExpire)
	hb := time.NewTicker(p.heartbeat)
	sw := time.NewTicker(p.sweep)
	defer hb.Stop()
	defer sw.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hb.C:
			p.refresh(ctx)
		case <-sw.C:
			p.sweepOnce(ctx, onExpire)
		}
	}
}

// refresh extends this node's users' keys, or writes them back when Redis
// has lost this node's key (and so, likely, everything).
func (p *Presence) refresh(ctx context.Context) {
	alive, err := p.rdb.Expire(ctx, p.node, p.ttl).Result()
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("presence heartbeat", "err", err)
		}
		return
	}
	if !alive {
		p.rebuild(ctx)
		return
	}
	p.mu.Lock()
	keys := make([][2]string, 0, len(p.local))
	for k := range p.local {
		keys = append(keys, k)
	}
	p.mu.Unlock()
	pipe := p.rdb.Pipeline()
	for _, k := range keys {
		pipe.Expire(ctx, p.statusKey(k[0], k[1]), p.ttl)
		pipe.Expire(ctx, p.connsKey(k[0], k[1]), p.ttl)
	}
	if len(keys) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("presence heartbeat", "err", err)
		}
	}
}

// rebuildScript adds this node's sockets to a user's count and writes back
// the status chosen through it unless another node already wrote one.
var rebuildScript = goredis.NewScript(`
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[2] ~= '' and redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) and ARGV[2] == 'online' then
  redis.call('SADD', KEYS[3], ARGV[4])
end
return 0`)

// rebuild writes back this node's part of presence after Redis lost it.
func (p *Presence) rebuild(ctx context.Context) {
	p.mu.Lock()
	users := make(map[[2]string]localUser, len(p.local))
	for k, lu := range p.local {
		users[k] = *lu
	}
	p.mu.Unlock()
	ttl := strconv.FormatInt(p.ttl.Milliseconds(), 10)
	pipe := p.rdb.Pipeline()
	for k, lu := range users {
		rebuildScript.Eval(ctx, pipe, []string{p.connsKey(k[0], k[1]), p.statusKey(k[0], k[1]), p.onlineKey(k[0])}, lu.conns, lu.status, ttl, k[1])
	}
	pipe.Set(ctx, p.node, "1", p.ttl)
	if _, err := pipe.Exec(ctx); err != nil && ctx.Err() == nil {
		p.log.Warn("presence: rebuilding after Redis lost it", "err", err)
		return
	}
	p.log.Warn("presence: Redis had lost this node's presence; written back", "users", len(users))
}

// listen turns expiry events of status keys into onExpire calls.
func (p *Presence) listen(ctx context.Context, onExpire func(tenant, user string)) {
	ps := p.rdb.PSubscribe(ctx, "__keyevent@*__:expired")
	defer ps.Close()
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			if t, u, ok := p.parseStatusKey(m.Payload); ok {
				p.rdb.SRem(ctx, p.onlineKey(t), u)
				onExpire(t, u)
			}
		}
	}
}

func (p *Presence) parseStatusKey(key string) (string, string, bool) {
	rest, ok := strings.CutPrefix(key, p.prefix+":")
	if !ok {
		return "", "", false
	}
	t, u, ok := strings.Cut(rest, ":presence:")
	return t, u, ok && t != "" && u != ""
}

// sweepOnce finds online-set members whose status key is gone.
func (p *Presence) sweepOnce(ctx context.Context, onExpire func(tenant, user string)) {
	iter := p.rdb.Scan(ctx, 0, p.prefix+":*:online", 200).Iterator()
	for iter.Next(ctx) {
		setKey := iter.Val()
		t := strings.TrimSuffix(strings.TrimPrefix(setKey, p.prefix+":"), ":online")
		users, err := p.rdb.SMembers(ctx, setKey).Result()
		if err != nil {
			continue
		}
		for _, u := range users {
			n, err := p.rdb.Exists(ctx, p.statusKey(t, u)).Result()
			if err == nil && n == 0 {
				if removed, _ := p.rdb.SRem(ctx, setKey, u).Result(); removed > 0 {
					onExpire(t, u)
				}
			}
		}
	}
}
