package webhook

import (
	"context"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"kefu/tenants"
)

// claimBatch is how many due rows one claim takes.
const claimBatch = 64

// Outbox row states.
const (
	statePending   = "pending"
	stateDelivered = "delivered"
	stateFailed    = "failed"
)

type outboxRow struct {
	ID        int64
	TenantID  string
	WebhookID string
	EventID   string
	Type      string
	Chain     string
	Payload   string
	State     string
	Attempts  int
	NextAt    time.Time
	CreatedAt time.Time
}

// box is one outbox: the platform's (PostgreSQL, every tenant) or one
// tenant's file (SQLite).
type box struct {
	db    *tenants.DB
	table string
}

func (s *Service) pg() bool { return s.store.Dialect() == tenants.Postgres }

// boxOf is the outbox that holds the tenant's events.
func (s *Service) boxOf(tenantID string) (box, error) {
	if s.pg() {
		p := s.store.Platform()
		return box{p, p.Table("webhook_outbox")}, nil
	}
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return box{}, err
	}
	return box{db, db.Table("webhook_outbox")}, nil
}

func (s *Service) outboxRow(ctx context.Context, tenantID string, _ *tenants.DB, id int64) (outboxRow, bool, error) {
	b, err := s.boxOf(tenantID)
	if err != nil {
		return outboxRow{}, false, err
	}
	var rows []outboxRow
	err = b.db.WithContext(ctx).Raw(`SELECT * FROM `+b.table+` WHERE id = ? AND tenant_id = ?`, id, tenantID).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return outboxRow{}, false, err
	}
	return rows[0], true, nil
}

// notify wakes the worker after a commit of this node wrote outbox rows for
// the tenant. It never blocks (the committer calls it).
func (s *Service) notify(tenantID string) {
	if !s.pg() {
		s.hotMu.Lock()
		s.hot[tenantID] = true
		s.hotMu.Unlock()
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers due events until ctx ends: at once when a commit of this
// node wrote some, and every PollInterval for the rest (other nodes'
// events, retries). Sweeping old rows happens hourly. Deliveries in flight
// when ctx ends finish on their own (see Wait).
func (s *Service) Run(ctx context.Context) {
	s.running.Add(1)
	defer s.running.Done()
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	sweep := time.NewTicker(time.Hour)
	defer sweep.Stop()
	s.sweep(ctx)
	full := true
	for ctx.Err() == nil {
		more, soon := s.round(ctx, full)
		if more {
			full = true
			continue // a full batch: there may be more
		}
		full = false
		var again <-chan time.Time
		if soon {
			// Rows wait behind others in flight: look again shortly.
			again = time.After(behindInFlight)
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-again:
		case <-poll.C:
			full = true
		case <-sweep.C:
			s.sweep(ctx)
		}
	}
}

// Wait waits, once Run's ctx has ended, for Run to return and the
// deliveries in flight to finish, or for ctx.
func (s *Service) Wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.running.Wait(); s.flights.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// behindInFlight is how long a row waits behind an earlier row of its
// chain that is being delivered (the delivery's success also wakes it).
const behindInFlight = 200 * time.Millisecond

// round claims and dispatches one batch per outbox it looks at, and reports
// whether any batch was full, and whether rows wait behind others in
// flight (soon). On PostgreSQL that is the platform's outbox;
// on SQLite the outboxes of the tenants whose commits woke it, or with full
// of every tenant with webhooks.
func (s *Service) round(ctx context.Context, full bool) (more, soon bool) {
	var boxes []string
	if s.pg() {
		boxes = []string{""}
	} else {
		s.hotMu.Lock()
		for t := range s.hot {
			boxes = append(boxes, t)
		}
		clear(s.hot)
		s.hotMu.Unlock()
		if full {
			p := s.store.Platform()
			var all []string
			if err := p.WithContext(ctx).Raw(`SELECT tenant_id FROM ` + p.Table("webhook_tenants")).Scan(&all).Error; err != nil {
				s.log.Warn("webhook: list tenants", "err", err)
			}
			boxes = all
		}
	}
	pending := int64(0)
	for _, t := range boxes {
		b, err := s.boxOf(t)
		if err != nil {
			continue
		}
		if full {
			// The outbox's depth, for the metrics and the alert (the
			// pending rows have their own partial index).
			var n int64
			if err := b.db.WithContext(ctx).Raw(`SELECT count(*) FROM ` + b.table + ` WHERE state = 'pending'`).Scan(&n).Error; err == nil {
				pending += n
			}
		}
		rows, waiting, err := s.claim(ctx, b, claimBatch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("webhook: claim", "tenant_id", t, "err", err)
			}
			continue
		}
		more = more || len(rows) == claimBatch
		soon = soon || waiting
		s.dispatch(ctx, b, rows)
	}
	if full {
		s.metrics.pending.Set(float64(pending))
	}
	return more, soon
}

// claim takes up to n due rows of b and leases those it may deliver now:
// the rows of a chain (one webhook's events of one conversation) go out in
// id order, so a row whose chain has an earlier pending row outside this
// claim (in flight elsewhere, or waiting for a retry) is not taken but put
// off until that row's time; a delivered row wakes its chain's rest. On
// PostgreSQL rows another node is claiming are skipped (SKIP LOCKED).
// waiting: some rows were put off behind rows in flight.
func (s *Service) claim(ctx context.Context, b box, n int) (out []outboxRow, waiting bool, err error) {
	now := s.now().UTC()
	err = b.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := `SELECT id, tenant_id, webhook_id, event_id, type, chain, payload, state, attempts, next_at, created_at FROM ` + b.table +
			` WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`
		if s.pg() {
			q += ` FOR UPDATE SKIP LOCKED`
		}
		var cand []outboxRow
		if err := tx.Raw(q, now, n).Scan(&cand).Error; err != nil || len(cand) == 0 {
			return err
		}
		gaps, err := chainGaps(tx, b.table, cand)
		if err != nil {
			return err
		}
		take, later := splitClaim(cand, gaps, now)
		_, waiting = later[now.Add(behindInFlight)]
		for until, ids := range later {
			if err := tx.Exec(`UPDATE `+b.table+` SET next_at = ?, leased_until = NULL WHERE id IN ?`, until, ids).Error; err != nil {
				return err
			}
		}
		for until, ids := range leases(take, now, s.cfg.Timeout) {
			if err := tx.Exec(`UPDATE `+b.table+` SET next_at = ?, leased_until = ? WHERE id IN ?`, until, until, ids).Error; err != nil {
				return err
			}
		}
		out = take
		return nil
	})
	return out, waiting, err
}

type gapRow struct {
	ID          int64
	WebhookID   string
	Chain       string
	NextAt      time.Time
	LeasedUntil *time.Time
}

func chainKey(webhookID, chain string) string { return webhookID + "\x00" + chain }

// chainGaps returns, for the chains of cand, their pending rows below the
// highest candidate of the chain that are not candidates themselves.
func chainGaps(tx *gorm.DB, table string, cand []outboxRow) ([]gapRow, error) {
	top := map[string]outboxRow{}
	var order []string
	in := make(map[int64]bool, len(cand))
	for _, r := range cand {
		in[r.ID] = true
		k := chainKey(r.WebhookID, r.Chain)
		if t, ok := top[k]; !ok || r.ID > t.ID {
			if !ok {
				order = append(order, k)
			}
			top[k] = r
		}
	}
	var conds []string
	var args []any
	for _, k := range order {
		r := top[k]
		conds = append(conds, "(webhook_id = ? AND chain = ? AND id < ?)")
		args = append(args, r.WebhookID, r.Chain, r.ID)
	}
	var rows []gapRow
	if err := tx.Raw(`SELECT id, webhook_id, chain, next_at, leased_until FROM `+table+` WHERE state = 'pending' AND (`+strings.Join(conds, " OR ")+`)`, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := rows[:0]
	for _, g := range rows {
		if !in[g.ID] {
			out = append(out, g)
		}
	}
	return out, nil
}

// splitClaim keeps the candidates of each chain below the chain's first
// gap, and puts the others off: behind a gap row waiting for its retry,
// until that retry (its success wakes them); behind one in flight
// elsewhere, or due but not claimable here, for behindInFlight.
func splitClaim(cand []outboxRow, gaps []gapRow, now time.Time) ([]outboxRow, map[time.Time][]int64) {
	first := map[string]gapRow{}
	for _, g := range gaps {
		k := chainKey(g.WebhookID, g.Chain)
		if f, ok := first[k]; !ok || g.ID < f.ID {
			first[k] = g
		}
	}
	var take []outboxRow
	later := map[time.Time][]int64{}
	for _, r := range cand {
		g, blocked := first[chainKey(r.WebhookID, r.Chain)]
		if !blocked || r.ID < g.ID {
			take = append(take, r)
			continue
		}
		until := g.NextAt
		if g.LeasedUntil != nil || until.Before(now.Add(behindInFlight)) {
			until = now.Add(behindInFlight)
		}
		later[until] = append(later[until], r.ID)
	}
	sort.Slice(take, func(i, j int) bool { return take[i].ID < take[j].ID })
	return take, later
}

// leases are the claimed rows' new next_at: long enough for the whole
// chain's share of the claim to be tried in turn (if this node dies, the
// rows are due again after it): 30 s (for waiting behind this node's other
// deliveries, and clocks) plus one timeout per row of the chain.
func leases(take []outboxRow, now time.Time, timeout time.Duration) map[time.Time][]int64 {
	count := map[string]int{}
	for _, r := range take {
		count[chainKey(r.WebhookID, r.Chain)]++
	}
	out := map[time.Time][]int64{}
	for _, r := range take {
		until := now.Add(30*time.Second + time.Duration(count[chainKey(r.WebhookID, r.Chain)])*timeout)
		out[until] = append(out[until], r.ID)
	}
	return out
}

// dispatch delivers the claimed rows: each chain's in order, by one
// goroutine; different chains at once, up to Workers on this node.
func (s *Service) dispatch(ctx context.Context, b box, rows []outboxRow) {
	groups := map[string][]outboxRow{}
	var order []string
	for _, r := range rows {
		k := chainKey(r.WebhookID, r.Chain)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	for _, k := range order {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return // the rows' leases run out and another round takes them
		}
		s.flights.Add(1)
		go func(g []outboxRow) {
			defer func() { <-s.sem; s.flights.Done() }()
			s.deliverChain(context.WithoutCancel(ctx), b, g)
		}(groups[k])
	}
}

// deliverChain tries one chain's claimed rows in order. A failure puts the
// rest of them off behind the failed row's retry.
func (s *Service) deliverChain(ctx context.Context, b box, rows []outboxRow) {
	tenantID := rows[0].TenantID
	w, found, err := s.endpoint(ctx, tenantID, rows[0].WebhookID)
	if err != nil {
		s.log.Warn("webhook: load endpoint", "tenant_id", tenantID, "webhook_id", rows[0].WebhookID, "err", err)
		s.release(ctx, b, rows, s.now().Add(s.backoff(1)))
		return
	}
	delivered := false
	for i, r := range rows {
		switch {
		case !found:
			s.finish(ctx, b, r, stateFailed, "endpoint deleted")
			continue
		case !w.Enabled:
			s.finish(ctx, b, r, stateFailed, "endpoint disabled")
			continue
		}
		d := s.attempt(ctx, tenantID, w, job{outboxID: r.ID, eventID: r.EventID, eventType: r.Type, payload: r.Payload, attempt: r.Attempts + 1})
		if d.Success {
			s.finish(ctx, b, r, stateDelivered, "")
			delivered = true
			continue
		}
		next, final := s.retryAt(r)
		if final {
			s.finish(ctx, b, r, stateFailed, d.Error)
			s.disable(ctx, tenantID, w.ID, "deliveries failed for "+s.cfg.RetryWindow.String()+"; last error: "+d.Error)
			w.Enabled = false
			continue
		}
		s.retry(ctx, b, r, next, d.Error)
		s.release(ctx, b, rows[i+1:], next)
		break
	}
	if delivered {
		// The chain's rows that were put off behind these are due now (not
		// those another worker has just claimed: they are leased).
		now := s.now().UTC()
		last := rows[len(rows)-1]
		if err := b.db.WithContext(ctx).Exec(`UPDATE `+b.table+` SET next_at = ? WHERE webhook_id = ? AND chain = ? AND state = 'pending' AND next_at > ? AND leased_until IS NULL`,
			now, last.WebhookID, last.Chain, now).Error; err != nil {
			s.log.Warn("webhook: wake chain", "err", err)
		}
		s.notify(tenantID)
	}
}

// endpoint loads a webhook as deliveries need it.
func (s *Service) endpoint(ctx context.Context, tenantID, id string) (webhookRow, bool, error) {
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return webhookRow{}, false, err
	}
	var rows []webhookRow
	if err := db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return webhookRow{}, false, err
	}
	if len(rows) == 0 {
		return webhookRow{}, false, nil
	}
	return rows[0], true, nil
}

// retryAt is when a failed row is tried again: after the backoff of its
// attempt count, but no later than the end of its retry window; final when
// the window is over.
func (s *Service) retryAt(r outboxRow) (time.Time, bool) {
	now := s.now().UTC()
	end := r.CreatedAt.Add(s.cfg.RetryWindow)
	if !now.Before(end) {
		return time.Time{}, true
	}
	next := now.Add(s.backoff(r.Attempts + 1))
	if next.After(end) {
		next = end
	}
	return next, false
}

// backoff is the wait after the n-th failed attempt: RetryBase·2ⁿ⁻¹ capped
// at RetryMax, with ±25 % jitter so that many failing events do not come
// back at the same instant.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.RetryMax
	if n-1 < 40 {
		if e := s.cfg.RetryBase << (n - 1); e > 0 && e < d {
			d = e
		}
	}
	return time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
}

func (s *Service) finish(ctx context.Context, b box, r outboxRow, state, lastErr string) {
	err := b.db.WithContext(ctx).Exec(`UPDATE `+b.table+` SET state = ?, attempts = attempts + ?, updated_at = ?, last_error = ?, leased_until = NULL WHERE id = ?`,
		state, boolInt(lastErr != "endpoint deleted" && lastErr != "endpoint disabled"), s.now().UTC(), lastErr, r.ID).Error
	if err != nil {
		s.log.Warn("webhook: finish", "err", err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Service) retry(ctx context.Context, b box, r outboxRow, next time.Time, lastErr string) {
	err := b.db.WithContext(ctx).Exec(`UPDATE `+b.table+` SET attempts = attempts + 1, next_at = ?, updated_at = ?, last_error = ?, leased_until = NULL WHERE id = ?`,
		next.UTC(), s.now().UTC(), lastErr, r.ID).Error
	if err != nil {
		s.log.Warn("webhook: retry", "err", err)
	}
}

// release puts rows that were claimed but not tried off until next.
func (s *Service) release(ctx context.Context, b box, rows []outboxRow, next time.Time) {
	if len(rows) == 0 {
		return
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	if err := b.db.WithContext(ctx).Exec(`UPDATE `+b.table+` SET next_at = ?, leased_until = NULL WHERE id IN ?`, next.UTC(), ids).Error; err != nil {
		s.log.Warn("webhook: release", "err", err)
	}
}

// disable turns a webhook off after its retry window ran out, says why on
// the webhook (the admin page and the API show it) and in the log.
func (s *Service) disable(ctx context.Context, tenantID, id, reason string) {
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	res := db.WithContext(ctx).Exec(`UPDATE `+db.Table("webhooks")+` SET enabled = ?, disabled_reason = ?, disabled_at = ?, updated_at = ? WHERE id = ? AND enabled = ?`,
		false, truncate(reason, 500), now, now, id, true)
	if res.Error != nil {
		s.log.Warn("webhook: disable", "tenant_id", tenantID, "webhook_id", id, "err", res.Error)
		return
	}
	if res.RowsAffected > 0 {
		s.log.Warn("webhook disabled: its deliveries failed for the whole retry window", "tenant_id", tenantID, "webhook_id", id, "reason", reason)
		s.chat.WebhooksChanged(ctx, tenantID)
	}
}

// sweep deletes delivered and failed outbox rows and delivery log entries
// older than the retention. Every node sweeps (the deletes are idempotent).
func (s *Service) sweep(ctx context.Context) {
	cutoff := s.now().UTC().Add(-s.cfg.Retention)
	p := s.store.Platform()
	if s.pg() {
		table := p.Table("webhook_outbox")
		for ctx.Err() == nil {
			res := p.WithContext(ctx).Exec(`DELETE FROM `+table+` WHERE id IN (SELECT id FROM `+table+` WHERE state <> 'pending' AND updated_at < ? LIMIT 5000)`, cutoff)
			if res.Error != nil {
				s.log.Warn("webhook: sweep outbox", "err", res.Error)
			}
			if res.Error != nil || res.RowsAffected < 5000 {
				break
			}
		}
	}
	var ids []string
	if err := p.WithContext(ctx).Raw(`SELECT tenant_id FROM ` + p.Table("webhook_tenants")).Scan(&ids).Error; err != nil {
		s.log.Warn("webhook: sweep", "err", err)
		return
	}
	for _, id := range ids {
		db, err := s.store.Tenant(id)
		if err != nil {
			continue
		}
		if err := db.WithContext(ctx).Exec(`DELETE FROM `+db.Table("webhook_deliveries")+` WHERE created_at < ?`, cutoff).Error; err != nil {
			s.log.Debug("webhook: sweep log", "tenant_id", id, "err", err)
		}
		if !s.pg() {
			if err := db.WithContext(ctx).Exec(`DELETE FROM `+db.Table("webhook_outbox")+` WHERE state <> 'pending' AND updated_at < ?`, cutoff).Error; err != nil {
				s.log.Debug("webhook: sweep outbox", "tenant_id", id, "err", err)
			}
		}
	}
}
