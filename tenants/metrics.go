package tenants

import (
	"context"
	"database/sql"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
)

// poolCollector exports the database pools' state at scrape time, from
// database/sql's own counters: on PostgreSQL the one shared pool, on SQLite
// the sum over the platform's and every open tenant's file (one connection
// each), so no label names a tenant.
type poolCollector struct {
	s                                *Store
	conns, max, waits, waited, pools *prometheus.Desc
}

func newPoolCollector(s *Store) *poolCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, prometheus.Labels{"dialect": s.dialect})
	}
	return &poolCollector{
		s:      s,
		conns:  d("kefu_db_connections", "Database connections, by state (in_use, idle).", "state"),
		max:    d("kefu_db_max_connections", "The most connections the pools may open (KEFU_DB_MAX_CONNS on PostgreSQL; one per open file on SQLite)."),
		waits:  d("kefu_db_waits_total", "Times a query waited for a free connection (the pool was exhausted)."),
		waited: d("kefu_db_wait_seconds_total", "Time spent waiting for a free connection."),
		pools:  d("kefu_db_pools", "Connection pools open: 1 on PostgreSQL; on SQLite the platform file plus each tenant file opened since start."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.conns, c.max, c.waits, c.waited, c.pools} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st, n := c.s.poolStats()
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.InUse), "in_use")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(st.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(st.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(st.WaitCount))
	ch <- prometheus.MustNewConstMetric(c.waited, prometheus.CounterValue, st.WaitDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(c.pools, prometheus.GaugeValue, float64(n))
}

// poolStats sums the stats of every pool, and says how many there are.
func (s *Store) poolStats() (sql.DBStats, int) {
	if s.pool != nil {
		return s.pool.Stats(), 1
	}
	dbs := s.openFiles()
	if s.platform != nil && s.platform.sqlDB != nil {
		dbs = append(dbs, s.platform.sqlDB)
	}
	var sum sql.DBStats
	for _, db := range dbs {
		st := db.Stats()
		sum.MaxOpenConnections += st.MaxOpenConnections
		sum.OpenConnections += st.OpenConnections
		sum.InUse += st.InUse
		sum.Idle += st.Idle
		sum.WaitCount += st.WaitCount
		sum.WaitDuration += st.WaitDuration
	}
	return sum, len(dbs)
}

// queryErrors is a GORM plugin that counts failed statements by kind of
// operation. A missing row, a unique violation (the code expects both and
// acts on them) and a cancelled request are not failures of the database.
type queryErrors struct{ c *prometheus.CounterVec }

func newQueryErrors() *queryErrors {
	return &queryErrors{c: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kefu_db_query_errors_total",
		Help: "Statements that failed, by operation (create, query, update, delete, row, raw); missing rows, unique violations and cancelled requests aside.",
	}, []string{"op"})}
}

func (q *queryErrors) Name() string { return "kefu:query_errors" }

func (q *queryErrors) Initialize(db *gorm.DB) error {
	cb := db.Callback()
	count := func(op string) func(*gorm.DB) {
		c := q.c.WithLabelValues(op)
		return func(tx *gorm.DB) {
			err := tx.Error
			if err == nil || errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, context.Canceled) || isUniqueViolation(err) {
				return
			}
			c.Inc()
		}
	}
	return errors.Join(
		cb.Create().After("gorm:create").Register("kefu:errors", count("create")),
		cb.Query().After("gorm:query").Register("kefu:errors", count("query")),
		cb.Update().After("gorm:update").Register("kefu:errors", count("update")),
		cb.Delete().After("gorm:delete").Register("kefu:errors", count("delete")),
		cb.Row().After("gorm:row").Register("kefu:errors", count("row")),
		cb.Raw().After("gorm:raw").Register("kefu:errors", count("raw")),
	)
}
