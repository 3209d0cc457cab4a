package chat

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"kefu/tenants"
)

// ExplainSearch runs EXPLAIN (ANALYZE, BUFFERS) on the query a message
// search would run, for BenchmarkSearch to show which indexes it uses.
func ExplainSearch(ctx context.Context, s *Service, p tenants.Principal, in SearchInput) (string, error) {
	sc, err := s.ScopeOf(ctx, p)
	if err != nil {
		return "", err
	}
	db, err := s.db(p.TenantID)
	if err != nil {
		return "", err
	}
	if in.Limit == 0 {
		in.Limit = DefaultSearchLimit
	}
	q := searchQuery{s: s, p: p, sc: sc, db: db, ctx: ctx, text: in.Q, limit: in.Limit}
	var rows []messageRow
	stmt := q.messagesTx().Session(&gorm.Session{DryRun: true}).Scan(&rows).Statement
	var lines []string
	sql := db.Dialector.Explain(stmt.SQL.String(), stmt.Vars...) // values inlined: EXPLAIN of the same text
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL max_parallel_workers_per_gather = 0").Error; err != nil { // as builtinSearch.Search
			return err
		}
		return tx.Raw("EXPLAIN (ANALYZE, BUFFERS) " + sql).Scan(&lines).Error
	})
	if err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}
