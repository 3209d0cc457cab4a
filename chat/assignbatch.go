package chat

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"kefu/routing"
	"kefu/tenants"
)

// Automatic assignments, in batches.
//
// When many conversations open at once, each used to be given to its agent
// in a transaction of its own, and every one of them ended on the same few
// rows: the agents' counters. So a tenant's automatic assignments gather
// while one batch is under way (batcher) and the next batch gives them all
// out in one transaction: the agents are read once, each conversation is
// locked, ranked against the loads the batch has given so far, changed and
// noted as alone; the notes go in one insert, pending model calls are
// marked in one statement, and each agent's counter moves once, by the
// batch's count for them, under the cap — all of them fit or the batch
// stores nothing.
//
// Whatever the batch cannot settle (an agent filled up on another node, a
// failed statement, a deadline, a conversation whose row another
// transaction holds) is answered "not handled" and goes the single way
// (assignEach), which knows every case.

// maxAssignBatch bounds one batch (lock time, statement parameters), and
// assignBatchesAtOnce how many of a tenant's batches run at once: a batch's
// conversations are changed one statement after another on one
// connection, so a burst is spread over a few batches side by side. Two
// batches never lock the same conversation (SKIP LOCKED); they may both
// count on an agent's last slot, and then the later one finds the counter
// full and its requests go the single way.
const (
	maxAssignBatch      = 16
	assignBatchesAtOnce = 4
)

type assignReq struct {
	tenantID, convID string
	req              routing.AssignRequest // team given by id
	prefer           string
	done             chan assignRes
}

type assignRes struct {
	handled bool // false: take the single way
	agent   routing.Agent
	err     error // errNoAgent, errTaken, or nil
}

type assignBatcher struct {
	s       *Service
	timeout time.Duration
	b       *batcher[*assignReq]
	agents  func(ctx context.Context, tenantID string) ([]routing.Agent, error) // Service.agentStates
}

func newAssignBatcher(s *Service, timeout time.Duration) *assignBatcher {
	ab := &assignBatcher{s: s, timeout: timeout, agents: s.agentStates}
	ab.b = newBatcher(maxAssignBatch, assignBatchesAtOnce, ab.flush)
	return ab
}

// assign hands r to the tenant's next batch and waits for its answer (the
// batch's own deadline bounds the wait).
func (b *assignBatcher) assign(r *assignReq) assignRes {
	r.done = make(chan assignRes, 1)
	b.b.add(r.tenantID, r)
	return <-r.done
}

// given is one conversation the batch gave to an agent.
type given struct {
	i      int // the request's index in the batch
	a      *assignment
	u      updated
	marked bool
}

func (b *assignBatcher) flush(tenantID string, batch []*assignReq) {
	s := b.s
	results := make([]assignRes, len(batch))
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	done, err := b.assignAll(ctx, tenantID, batch, results)
	if err != nil {
		if !errors.Is(err, errAtCap) {
			s.log.Warn("assignment batch failed; assigning one by one", "tenant_id", tenantID, "batch", len(batch), "err", err)
		}
		for i := range results {
			results[i] = assignRes{}
		}
		done = nil
	}
	// After the commit: the conversations' visitors in one read, then what
	// each assignment tells (as assignRow does alone).
	var ids []string
	for _, g := range done {
		if g.u.vis == nil {
			ids = append(ids, g.u.after.VisitorID)
		}
	}
	vis, verr := s.visitors(ctx, tenantID, ids)
	for _, g := range done {
		if g.u.vis == nil && verr == nil {
			v, ok := vis[g.u.after.VisitorID]
			if !ok {
				v = Visitor{ID: g.u.after.VisitorID, Attributes: map[string]any{}}
			}
			g.u.vis = &v
		}
		conv, err := s.updated(ctx, tenantID, g.u, true)
		if err != nil {
			continue // stored; only the read for the events failed
		}
		s.assigned(ctx, tenantID, conv.ID, conv, g.a)
		var marked int64
		if g.marked {
			marked = 1
		}
		s.superseded(ctx, tenantID, conv.ID, callCancelled, marked)
	}
	for i, r := range batch {
		r.done <- results[i]
	}
}

// assignAll gives out the batch in one transaction and fills results; it
// returns the conversations it changed, for the events after the commit.
func (b *assignBatcher) assignAll(ctx context.Context, tenantID string, batch []*assignReq, results []assignRes) ([]*given, error) {
	s := b.s
	db, err := s.db(tenantID)
	if err != nil {
		return nil, err
	}
	agents, err := b.agents(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	want := s.updateWants(ctx, db, tenantID)
	var done []*given
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		done = done[:0]
		var notes []messageRow
		counts := map[string]int{}
		seen := map[string]bool{}
		// On PostgreSQL the batch first locks its conversations, in id
		// order, skipping those another transaction holds (a group commit
		// storing a message of one): those go the single way. Holding many
		// rows, the batch must never wait for a row while another
		// transaction that holds several waits for one of its own.
		// The rows so locked are read by the same statement.
		var free map[string]*conversationRow
		if db.Dialect == tenants.Postgres {
			ids := make([]string, len(batch))
			for i, r := range batch {
				ids[i] = r.convID
			}
			var got []conversationRow
			if err := tx.Raw(`SELECT * FROM `+db.Table("conversations")+` WHERE id IN ? ORDER BY id FOR UPDATE SKIP LOCKED`, ids).Scan(&got).Error; err != nil {
				return err
			}
			free = make(map[string]*conversationRow, len(got))
			for k := range got {
				free[got[k].ID] = &got[k]
			}
		}
		for i, r := range batch {
			var locked *conversationRow
			if free != nil {
				if locked = free[r.convID]; locked == nil {
					continue // held elsewhere (or gone): the single way
				}
			}
			if seen[r.convID] {
				// The same conversation twice in one batch: the later one
				// goes alone, after this batch (it will find it taken).
				continue
			}
			seen[r.convID] = true
			ranked := s.ranked(tenantID, r.req, r.prefer, agents)
			if len(ranked) == 0 {
				results[i] = assignRes{handled: true, err: errNoAgent}
				continue
			}
			agent := ranked[0]
			a := s.assignChange(agent.ID, agent.Name, r.req.Team, assignAuto)
			u, err := s.updateLockedTx(ctx, tx, db, tenantID, r.convID, locked, want, a.change, &notes)
			if errors.Is(err, errUnchanged) {
				results[i] = assignRes{handled: true, err: errTaken}
				continue
			}
			if err != nil {
				return err
			}
			counts[agent.ID]++
			for k := range agents {
				if agents[k].ID == agent.ID {
					agents[k].Load++ // the next ranking sees this one
				}
			}
			results[i] = assignRes{handled: true, agent: agent}
			done = append(done, &given{i: i, a: a, u: u})
		}
		if len(done) == 0 {
			return nil
		}
		if err := tx.Create(&notes).Error; err != nil {
			return err
		}
		convIDs := make([]string, len(done))
		for k, g := range done {
			convIDs[k] = g.u.after.ID
		}
		var marked []string
		if err := tx.Raw(`UPDATE `+db.Table("bot_calls")+` SET status = ?, updated_at = ? WHERE conversation_id IN ? AND status = ? RETURNING conversation_id`,
			callCancelled, s.stamp(), convIDs, callPending).Scan(&marked).Error; err != nil {
			return err
		}
		isMarked := make(map[string]bool, len(marked))
		for _, id := range marked {
			isMarked[id] = true
		}
		for _, g := range done {
			g.marked = isMarked[g.u.after.ID]
		}
		loads := make([]loadDelta, 0, len(counts))
		for id, n := range counts {
			loads = append(loads, loadDelta{user: id, delta: n, capped: true})
		}
		return applyLoads(tx, db, loads)
	})
	if err != nil {
		return nil, err
	}
	return done, nil
}
