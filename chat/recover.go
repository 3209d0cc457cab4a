package chat

import (
	"context"
	"time"

	"gorm.io/gorm"

	"kefu/tenants"
)

// Recovery: what a node that died (kill -9, a lost machine) leaves half
// done is finished by the others, or by itself when it starts again.
//
//   - Timers are durable (jobs.go): an agent's away grace and the backstop
//     of every queue deadline are rows any node claims when due.
//   - A snooze's end is a job too (triage.go).
//   - A model call in flight has a lease (botcalls.go), renewed by its
//     node; when it has run out, the sweep below hands the conversation to
//     a person (step 0).
//   - The sweep below (at start over every tenant, then with Redis every
//     RecoveryConfig.Every over the tenants active lately — activity.go — on
//     every node; each change is conditional, so nodes need not agree who
//     does it) finds the rest in the database:
//     0. model calls whose lease ran out are handed to a person (at start,
//     the calls still leased are watched until their lease ends);
//     1. queue deadlines already past (planned before jobs existed, or a
//     job lost with a failed write) fire now;
//     2. agents who are offline while conversations assigned to them wait
//     for an answer get their away grace planned (if none is), so
//     assignments to agents on a dead node go back to the queue unless
//     the agent comes back within KEFU_AGENT_AWAY_GRACE;
//     3. conversations left with the bot by a flow run that died — the
//     visitor's last message older than StuckAfter (a single node: from
//     before it started) with no routing
//     decision after it (or a decision to queue or assign that was never
//     applied), and no model call pending — are queued for a person;
//     4. snoozes past due whose job is gone end (at start, future snoozes
//     with no job get one).

// RecoveryConfig tunes the durable timers and the recovery sweep.
type RecoveryConfig struct {
	JobsPoll   time.Duration // how often due jobs are claimed (default 1s)
	Every      time.Duration // how often the sweep runs after the one at start (default 2m)
	StuckAfter time.Duration // how long a flow may leave a visitor's message unanswered before the conversation is queued (default 1m)
}

func (c RecoveryConfig) withDefaults() RecoveryConfig {
	if c.JobsPoll <= 0 {
		c.JobsPoll = time.Second
	}
	if c.Every <= 0 {
		c.Every = 2 * time.Minute
	}
	if c.StuckAfter <= 0 {
		c.StuckAfter = time.Minute
	}
	return c
}

// recoverLoop sweeps at once, then every cfg.Every, until ctx ends. A
// single node (presence in memory: no Redis) sweeps only at start: the
// only node that can have died before it is itself, and sweeping every
// tenant's files on a timer would cost a node with many tenants for
// nothing. With several nodes, the first pass visits every tenant and the
// periodic ones the tenants active lately (activity.go).
func (s *Service) recoverLoop(ctx context.Context, cfg RecoveryConfig) {
	started := s.stamp()
	first := true
	for {
		cutoff := s.stamp().Add(-cfg.StuckAfter)
		_, single := s.presence.(*LocalPresence)
		if single {
			// Every flow run from before this start died with the process.
			cutoff = started
		}
		var n int
		if first {
			began := time.Now()
			n = s.recoverAll(ctx, cutoff, true)
			s.log.Info("recovery: first pass over every tenant done", "took_ms", time.Since(began).Milliseconds())
		} else {
			n = s.recoverActive(ctx, cutoff, s.stamp().Add(-cfg.activeWindow()))
		}
		if n > 0 {
			s.log.Info("recovery: finished what a dead node left", "conversations", n)
		}
		if single {
			return
		}
		first = false
		t := time.NewTimer(cfg.Every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Recover runs the recovery sweep once over every tenant; it returns how
// many conversations it moved or planned a grace for.
func (s *Service) Recover(ctx context.Context, stuckAfter time.Duration) int {
	return s.recoverAll(ctx, s.stamp().Add(-stuckAfter), true)
}

// recoverAll sweeps every tenant; a flow run that has not answered a
// visitor's message from before cutoff is taken for dead. The first pass
// of a start also watches the model calls still leased and plans the wake
// of every future snooze that has no job.
func (s *Service) recoverAll(ctx context.Context, cutoff time.Time, first bool) int {
	ids, err := s.tenants.ListTenantIDs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("recovery: list tenants", "err", err)
		}
		return 0
	}
	return s.recoverTenants(ctx, ids, cutoff, first)
}

// recoverActive sweeps the tenants active since (a periodic pass).
func (s *Service) recoverActive(ctx context.Context, cutoff, since time.Time) int {
	ids, err := s.activeTenantIDs(ctx, since)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("recovery: list active tenants", "err", err)
		}
		return 0
	}
	return s.recoverTenants(ctx, ids, cutoff, false)
}

func (s *Service) recoverTenants(ctx context.Context, ids []string, cutoff time.Time, first bool) int {
	n := 0
	for _, id := range ids {
		if ctx.Err() != nil {
			return n
		}
		k, err := s.recoverTenant(ctx, id, cutoff, first)
		n += k
		if err != nil && ctx.Err() == nil {
			s.log.Warn("recovery", "tenant_id", id, "err", err)
		}
	}
	return n
}

func (s *Service) recoverTenant(ctx context.Context, tenantID string, cutoff time.Time, first bool) (int, error) {
	db, err := s.db(tenantID)
	if err != nil {
		return 0, err
	}
	now := s.stamp()
	n := 0

	// 0. Model calls whose node is gone (their lease ran out) are handed to
	// a person; at start, the calls still leased are watched until their
	// lease ends (a node that just died may have renewed it a moment ago).
	var calls []botCallRow
	if err := db.WithContext(ctx).Where("status = ?", callPending).Limit(1000).Find(&calls).Error; err != nil {
		return n, err
	}
	for _, r := range calls {
		switch {
		case !r.LeaseUntil.After(now):
			s.orphan(ctx, tenantID, r.ID)
			n++
		case first:
			s.watchLease(tenantID, r)
		}
	}

	// 1. Queue deadlines past due.
	var due []conversationRow
	if err := db.WithContext(ctx).Select("id", "flow_node").Where("status = ? AND queue_deadline IS NOT NULL AND queue_deadline <= ? AND flow_node IS NOT NULL", StatusQueued, now).
		Limit(500).Find(&due).Error; err != nil {
		return n, err
	}
	for _, c := range due {
		s.observe(ctx, Happening{What: QueueDeadlineDue, TenantID: tenantID, ConversationID: c.ID, Node: *c.FlowNode})
		n++
	}

	// 2. Offline agents with conversations waiting for them.
	var agents []string
	if err := db.WithContext(ctx).Model(&conversationRow{}).Distinct("assignee_id").
		Where("status = ? AND waiting_since IS NOT NULL AND assignee_id IS NOT NULL", StatusAssigned).Limit(1000).Pluck("assignee_id", &agents).Error; err != nil {
		return n, err
	}
	for _, a := range agents {
		if s.presence.Status(ctx, tenantID, a) != PresenceOffline {
			continue
		}
		planned, err := s.planJobOnce(ctx, tenantID, jobAgentGrace, a, "", now.Add(s.grace))
		if err != nil {
			return n, err
		}
		if planned {
			n++
		}
	}

	// 3. Conversations a dead flow run left with the bot.
	c, m, e, b := db.Table("conversations"), db.Table("messages"), db.Table("conversation_events"), db.Table("bot_calls")
	var stuck []string
	err = db.WithContext(ctx).Raw(`SELECT c.id FROM `+c+` c WHERE c.status = ?
		AND NOT EXISTS (SELECT 1 FROM `+b+` b WHERE b.conversation_id = c.id AND b.status = ?)
		AND (
			EXISTS (SELECT 1 FROM `+m+` m WHERE m.conversation_id = c.id AND m.author_type = ? AND m.created_at < ?
				AND NOT EXISTS (SELECT 1 FROM `+e+` e WHERE e.conversation_id = c.id AND e.kind = 'routing' AND e.created_at >= m.created_at))
			OR EXISTS (SELECT 1 FROM `+e+` e WHERE e.conversation_id = c.id AND e.kind = 'routing' AND e.created_at < ?
				AND (e.detail LIKE '{"action":"queue"%' OR e.detail LIKE '{"action":"assign"%')
				AND NOT EXISTS (SELECT 1 FROM `+e+` e2 WHERE e2.conversation_id = c.id AND e2.kind = 'routing' AND e2.created_at > e.created_at))
		) LIMIT 200`, StatusBot, callPending, AuthorVisitor, cutoff, cutoff).Scan(&stuck).Error
	if err != nil {
		return n, err
	}
	queued := false
	for _, id := range stuck {
		_, err := s.update(ctx, tenantID, id, func(tx *gorm.DB, db *tenants.DB, c *conversationRow) (*note, error) {
			if c.Status != StatusBot {
				return nil, errUnchanged
			}
			at := s.stamp()
			c.Status, c.QueuedAt, c.FlowNode, c.QueueDeadline = StatusQueued, &at, nil, nil
			return nil, nil
		})
		if err == nil {
			s.log.Warn("recovery: queued a conversation a dead flow run left with the bot", "tenant_id", tenantID, "conversation_id", id)
			n++
			queued = true
		}
	}
	if queued {
		s.publishQueueSoon(tenantID)
		s.observe(ctx, Happening{What: CapacityFreed, TenantID: tenantID})
	}

	// 4. Snoozes past due whose job is gone, and (at start) future ones
	// with none.
	woke, err := s.WakeSnoozed(ctx, tenantID)
	n += woke
	if err != nil || !first {
		return n, err
	}
	return n, s.planSnoozes(ctx, tenantID)
}

// planJobOnce plans a job unless one is planned already; it says whether
// it did.
func (s *Service) planJobOnce(ctx context.Context, tenantID, kind, subject, arg string, due time.Time) (bool, error) {
	var count int64
	if err := s.platform().WithContext(ctx).Model(&jobRow{}).Where("tenant_id = ? AND kind = ? AND subject = ?", tenantID, kind, subject).Count(&count).Error; err != nil {
		return false, err
	}
	if count > 0 {
		return false, nil
	}
	return true, s.planJob(ctx, tenantID, kind, subject, arg, due)
}
