package redis

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
)

// Instrument counts rdb's commands and errors (a go-redis hook) and
// exports its pool and whether Redis answers (at scrape time) to reg. The
// command label is the command's name, which comes from Kefu's own code
// (publish, set, expire …), never from a client.
func Instrument(rdb *goredis.Client, reg prometheus.Registerer) error {
	h := &redisHook{
		cmds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_redis_commands_total", Help: "Redis commands sent, by command.",
		}, []string{"command"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_redis_errors_total", Help: "Redis commands that failed (a missing key is not a failure), by command.",
		}, []string{"command"}),
		dur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kefu_redis_command_seconds", Help: "Redis round trips (one command, or one pipeline).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5},
		}),
		dials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_redis_dials_total", Help: "New connections to Redis, by result (ok, error).",
		}, []string{"result"}),
	}
	h.dials.WithLabelValues("ok")
	h.dials.WithLabelValues("error")
	// The commands every node sends, at zero from the start (rates and
	// dashboards see them before the first one).
	for _, c := range []string{"publish", "ping"} {
		h.cmds.WithLabelValues(c)
		h.errs.WithLabelValues(c)
	}
	rdb.AddHook(h)
	return errors.Join(reg.Register(h.cmds), reg.Register(h.errs), reg.Register(h.dur), reg.Register(h.dials), reg.Register(newRedisCollector(rdb)))
}

type redisHook struct {
	cmds, errs, dials *prometheus.CounterVec
	dur               prometheus.Histogram
}

func (h *redisHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			h.dials.WithLabelValues("error").Inc()
		} else {
			h.dials.WithLabelValues("ok").Inc()
		}
		return c, err
	}
}

func (h *redisHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.dur.Observe(time.Since(start).Seconds())
		h.count(cmd)
		return err
	}
}

func (h *redisHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.dur.Observe(time.Since(start).Seconds())
		for _, c := range cmds {
			h.count(c)
		}
		return err
	}
}

// count counts cmd and its failure. A missing key (goredis.Nil) is an
// answer, not a failure; nor are the handshake's CLIENT and HELLO commands
// that an older Redis refuses (CLIENT SETINFO before 7.2), which go-redis
// tolerates on every new connection.
func (h *redisHook) count(cmd goredis.Cmder) {
	name := cmd.Name()
	h.cmds.WithLabelValues(name).Inc()
	err := cmd.Err()
	if err == nil || errors.Is(err, goredis.Nil) {
		return
	}
	var rerr goredis.Error
	if (name == "client" || name == "hello") && errors.As(err, &rerr) {
		return
	}
	h.errs.WithLabelValues(name).Inc()
}

// redisCollector reads the client's pool at scrape time and pings Redis
// (within a second) for kefu_redis_up.
type redisCollector struct {
	rdb                             *goredis.Client
	up, conns, timeouts, waits, lat *prometheus.Desc
}

func newRedisCollector(rdb *goredis.Client) *redisCollector {
	return &redisCollector{
		rdb:      rdb,
		up:       prometheus.NewDesc("kefu_redis_up", "1 when Redis answered a PING within a second at this scrape, else 0.", nil, nil),
		conns:    prometheus.NewDesc("kefu_redis_pool_connections", "Connections in the Redis pool, by state (total, idle).", []string{"state"}, nil),
		timeouts: prometheus.NewDesc("kefu_redis_pool_timeouts_total", "Times a command gave up waiting for a pooled connection.", nil, nil),
		waits:    prometheus.NewDesc("kefu_redis_pool_waits_total", "Times a command waited for a pooled connection.", nil, nil),
		lat:      prometheus.NewDesc("kefu_redis_ping_seconds", "How long this scrape's PING took.", nil, nil),
	}
}

func (c *redisCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.conns, c.timeouts, c.waits, c.lat} {
		ch <- d
	}
}

func (c *redisCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	up := 0.0
	if c.rdb.Ping(ctx).Err() == nil {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(c.lat, prometheus.GaugeValue, time.Since(start).Seconds())
	st := c.rdb.PoolStats()
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.TotalConns), "total")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.IdleConns), "idle")
	ch <- prometheus.MustNewConstMetric(c.timeouts, prometheus.CounterValue, float64(st.Timeouts))
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(st.WaitCount))
}
