package chat

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"kefu/tenants"
)

// Durable timers. Work that is due at a time and must happen even if the
// node that planned it dies — an agent's away grace, a queue deadline —
// is a row in the platform table jobs (migration 0024), one per (tenant,
// kind, subject): planning the same thing again moves its time. Every node
// polls for due rows (RecoveryConfig.JobsPoll) and claims them with a lease
// (FOR UPDATE SKIP LOCKED on PostgreSQL, so two nodes never take the same
// row; on SQLite the one process is the single writer); a node that dies
// mid-job leaves the lease to run out, and another claims the row again.
// So a job may run more than once: every handler checks the state it acts
// on and changes it with a conditional update (at-least-once, idempotent).
//
// Kinds:
//   - agent.grace (subject: the agent): when due, if the agent is still
//     offline, their waiting conversations go back to the queue.
//   - queue.timeout (subject: the conversation, arg: the flow node): the
//     backstop of the in-memory queue deadline (fired a second after it).
//   - conversation.snooze (subject: the conversation): the snooze ends
//     (chat/triage.go).
const (
	jobAgentGrace  = "agent.grace"
	jobQueueExpiry = "queue.timeout"
	jobSnoozeWake  = "conversation.snooze"
)

// jobLease is how long a claimed job is this node's; past it the job is
// taken for abandoned.
const jobLease = 2 * time.Minute

// jobBatch bounds the rows claimed at once.
const jobBatch = 100

type jobRow struct {
	TenantID   string `gorm:"primaryKey"`
	Kind       string `gorm:"primaryKey"`
	Subject    string `gorm:"primaryKey"`
	Arg        string
	Token      string
	DueAt      time.Time
	LeaseUntil *time.Time
	CreatedAt  time.Time
}

func (jobRow) TableName(n schema.Namer) string { return n.TableName("job") }

func (s *Service) platform() *tenants.DB { return s.tenants.Store().Platform() }

// planJob stores (or moves) a job; it runs at due, on whichever node claims
// it first.
func (s *Service) planJob(ctx context.Context, tenantID, kind, subject, arg string, due time.Time) error {
	now := s.stamp()
	row := jobRow{TenantID: tenantID, Kind: kind, Subject: subject, Arg: arg, Token: tenants.NewID(), DueAt: due.UTC().Truncate(time.Microsecond), CreatedAt: now}
	return s.platform().WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "tenant_id"}, {Name: "kind"}, {Name: "subject"}},
		DoUpdates: clause.Assignments(map[string]any{"arg": row.Arg, "token": row.Token, "due_at": row.DueAt, "lease_until": nil}),
	}).Create(&row).Error
}

// cancelJob removes a planned job (one running now finishes).
func (s *Service) cancelJob(ctx context.Context, tenantID, kind, subject string) error {
	return s.platform().WithContext(ctx).Where("tenant_id = ? AND kind = ? AND subject = ? AND lease_until IS NULL", tenantID, kind, subject).Delete(&jobRow{}).Error
}

// claimJobs takes up to jobBatch due jobs for jobLease.
func (s *Service) claimJobs(ctx context.Context) ([]jobRow, error) {
	db := s.platform()
	now := s.stamp()
	lock := ""
	if db.Dialect == "postgres" {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	t := db.Table("jobs")
	var rows []jobRow
	err := db.WithContext(ctx).Raw(`UPDATE `+t+` SET lease_until = ? WHERE (tenant_id, kind, subject) IN (
		SELECT tenant_id, kind, subject FROM `+t+` WHERE due_at <= ? AND (lease_until IS NULL OR lease_until < ?)
		ORDER BY due_at LIMIT ?`+lock+`) RETURNING *`, now.Add(jobLease), now, now, jobBatch).Scan(&rows).Error
	return rows, err
}

// finishJob deletes a job that ran, unless it was planned again meanwhile.
func (s *Service) finishJob(ctx context.Context, j jobRow) {
	err := s.platform().WithContext(ctx).Where("tenant_id = ? AND kind = ? AND subject = ? AND token = ?", j.TenantID, j.Kind, j.Subject, j.Token).Delete(&jobRow{}).Error
	if err != nil && ctx.Err() == nil {
		s.log.Warn("jobs: finish", "tenant_id", j.TenantID, "kind", j.Kind, "err", err)
	}
}

// runJobs claims and runs due jobs every poll until ctx ends.
func (s *Service) runJobs(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			rows, err := s.claimJobs(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("jobs: claim", "err", err)
				}
				break
			}
			for _, j := range rows {
				s.runJob(ctx, j)
			}
			if len(rows) < jobBatch {
				break
			}
		}
	}
}

func (s *Service) runJob(ctx context.Context, j jobRow) {
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobLease/2)
	defer cancel()
	switch j.Kind {
	case jobAgentGrace:
		s.graceOver(jctx, j.TenantID, j.Subject)
	case jobQueueExpiry:
		s.observe(jctx, Happening{What: QueueDeadlineDue, TenantID: j.TenantID, ConversationID: j.Subject, Node: j.Arg})
	case jobSnoozeWake:
		s.wakeConversation(jctx, j.TenantID, j.Subject)
	default:
		s.log.Warn("jobs: unknown kind", "kind", j.Kind)
	}
	s.finishJob(jctx, j)
}

// armGrace requeues an agent's waiting conversations once the away grace
// has passed, if they are still offline then: on this node's timer, and
// durably (a job due a second later) so that a node that dies meanwhile
// does not take it with it. Both may fire; the second finds nothing to do.
func (s *Service) armGrace(tenantID, userID string) {
	time.AfterFunc(s.grace, func() {
		s.background(func() { s.graceOver(context.Background(), tenantID, userID) })
	})
	if err := s.planJob(context.Background(), tenantID, jobAgentGrace, userID, "", s.stamp().Add(s.grace+time.Second)); err != nil {
		s.log.Warn("jobs: plan the away grace", "tenant_id", tenantID, "user_id", userID, "err", err)
		// The recovery sweep finds offline agents with waiting
		// conversations and plans it then.
	}
}

func (s *Service) graceOver(ctx context.Context, tenantID, userID string) {
	if s.presence.Status(ctx, tenantID, userID) == PresenceOffline {
		s.requeueAgent(ctx, tenantID, userID, requeueOffline)
	}
}

// armQueueExpiry is the durable backstop of a queue deadline: a second
// after it, whichever node claims it fires it unless it fired already.
func (s *Service) armQueueExpiry(tenantID, convID, node string, at time.Time) {
	if err := s.planJob(context.Background(), tenantID, jobQueueExpiry, convID, node, at.Add(time.Second)); err != nil {
		s.log.Warn("jobs: plan a queue deadline", "tenant_id", tenantID, "conversation_id", convID, "err", err)
	}
}
