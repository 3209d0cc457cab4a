package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"
	"gorm.io/gorm"

	"kefu/routing"
	"kefu/tenants"
)

// adjustLoad moves an agent's open-conversation counter inside tx. With
// capped, the increment happens only below max_concurrent, so no agent ever
// goes over their cap, whichever node assigns. An increment never happens
// for a deactivated user (false).
func adjustLoad(tx *gorm.DB, db *tenants.DB, userID string, delta int, capped bool) (bool, error) {
	if userID == "" || delta == 0 {
		return true, nil
	}
	q := `UPDATE ` + db.Table("users") + ` SET active_conversations = active_conversations + ? WHERE id = ?`
	args := []any{delta, userID}
	switch {
	case delta > 0 && capped:
		// Nobody is given work once deactivated, even if routing read the
		// agent list a moment before. (A batch of assignments moves an
		// agent's counter by several at once: all fit, or none.)
		q += ` AND active_conversations + ? <= max_concurrent AND deactivated_at IS NULL`
		args = append(args, delta)
	case delta > 0:
		q += ` AND deactivated_at IS NULL`
	case delta < 0:
		q += ` AND active_conversations > 0`
	}
	res := tx.Exec(q, args...)
	return res.RowsAffected > 0, res.Error
}

// loadDelta is one move of an agent's counter, applied by applyLoads.
type loadDelta struct {
	user   string
	delta  int
	capped bool
}

// applyLoads moves agents' counters inside tx in user id order (two
// transactions moving the same two counters never wait for each other in a
// cycle). A capped increment that finds the agent full is errAtCap.
func applyLoads(tx *gorm.DB, db *tenants.DB, loads []loadDelta) error {
	sorted := slices.SortedFunc(slices.Values(loads), func(a, b loadDelta) int { return strings.Compare(a.user, b.user) })
	for _, l := range sorted {
		ok, err := adjustLoad(tx, db, l.user, l.delta, l.capped)
		if err != nil {
			return err
		}
		if !ok && l.delta > 0 {
			return errAtCap
		}
	}
	return nil
}

// agentStates is every active user of the tenant as assignment sees them: skills,
// teams, cap, load (a column, not a count) and presence.
//
// Callers at the same moment share one read (a burst of openings asks
// once, not once each); each gets its own copy.
func (s *Service) agentStates(ctx context.Context, tenantID string) ([]routing.Agent, error) {
	v, err, _ := s.agentsFlight.Do(tenantID, func() (any, error) { return s.readAgentStates(context.WithoutCancel(ctx), tenantID) })
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.([]routing.Agent)), nil
}

func (s *Service) readAgentStates(ctx context.Context, tenantID string) ([]routing.Agent, error) {
	users, err := s.tenants.Users(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	online := map[string]bool{}
	for _, id := range s.presence.Online(ctx, tenantID) {
		online[id] = true
	}
	out := make([]routing.Agent, 0, len(users))
	for _, u := range users {
		if !u.Active {
			continue // deactivated: never routed to
		}
		out = append(out, routing.Agent{ID: u.ID, Name: u.Name, Skills: u.Skills, Teams: u.Teams, MaxConcurrent: u.MaxConcurrent, Load: u.Load, Online: online[u.ID]})
	}
	return out, nil
}

var errNoAgent = errors.New("no agent available")

// autoAssign gives a waiting conversation to the best eligible agent by the
// request's strategy, reserving a slot under the agent's cap in the same
// transaction. It returns errNoAgent when nobody can take it.
//
// prefer, when eligible, goes first: the agent the conversation was last
// with (a reopened or requeued conversation goes back to the person the
// visitor knows).
func (s *Service) autoAssign(ctx context.Context, tenantID, convID string, req routing.AssignRequest, prefer string) (routing.Agent, error) {
	if req.Team != "" {
		// Flows saved before teams had ids name them; agents list ids.
		id, err := s.tenants.TeamID(ctx, tenantID, req.Team)
		if err != nil {
			return routing.Agent{}, err
		}
		if id != "" {
			req.Team = id
		}
	}
	if res := s.assigns.assign(&assignReq{tenantID: tenantID, convID: convID, req: req, prefer: prefer}); res.handled {
		return res.agent, res.err
	}
	agents, err := s.agentStates(ctx, tenantID)
	if err != nil {
		return routing.Agent{}, err
	}
	return s.assignEach(ctx, tenantID, convID, req, prefer, agents)
}

// ranked is the agents eligible for req, best first by its strategy, with
// prefer (when eligible) moved first.
func (s *Service) ranked(tenantID string, req routing.AssignRequest, prefer string, agents []routing.Agent) []routing.Agent {
	ranked := routing.Rank(req.Strategy, tenantID, req, agents, s.rr)
	for i, a := range ranked {
		if prefer != "" && a.ID == prefer && i > 0 {
			ranked = append([]routing.Agent{a}, append(ranked[:i:i], ranked[i+1:]...)...)
			break
		}
	}
	return ranked
}

// assignEach is automatic assignment alone, one transaction: the way every
// case is handled (another node filled an agent's last slot: next agent).
func (s *Service) assignEach(ctx context.Context, tenantID, convID string, req routing.AssignRequest, prefer string, agents []routing.Agent) (routing.Agent, error) {
	for _, a := range s.ranked(tenantID, req, prefer, agents) {
		_, err := s.assign(ctx, tenantID, convID, a.ID, a.Name, req.Team, assignAuto)
		switch {
		case err == nil:
			return a, nil
		case errors.Is(err, errAtCap):
			continue // another node filled the last slot: next agent
		case errors.Is(err, errUnchanged):
			return routing.Agent{}, errTaken
		default:
			return routing.Agent{}, err
		}
	}
	return routing.Agent{}, errNoAgent
}

var (
	errAtCap = errors.New("agent at capacity")
	errTaken = errors.New("conversation no longer waiting")
)

// breaker returns the tenant's circuit breaker around automatic assignment:
// after 5 failures in a row it opens for 30 s and conversations wait in the
// queue instead of piling onto a failing path; then one probe may close it.
// Breakers are kept for the tenantCaches most recently assigning tenants: a
// tenant idle long enough to lose its breaker starts closed again.
func (s *Service) breaker(tenantID string) *gobreaker.CircuitBreaker[routing.Agent] {
	if b, ok := s.breakers.Get(tenantID); ok {
		return b
	}
	b := gobreaker.NewCircuitBreaker[routing.Agent](gobreaker.Settings{
		Name:        "assign:" + tenantID,
		MaxRequests: 1,
		Interval:    time.Minute,
		Timeout:     s.breakerTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 },
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, errNoAgent) || errors.Is(err, errTaken)
		},
		OnStateChange: func(name string, from, to gobreaker.State) {
			s.metrics.breaker.WithLabelValues(to.String()).Inc()
			s.log.Warn("assignment circuit breaker", "tenant_id", tenantID, "from", from.String(), "to", to.String())
		},
	})
	if prev, ok, _ := s.breakers.PeekOrAdd(tenantID, b); ok {
		return prev
	}
	return b
}

// BreakerState is the tenant's assignment breaker state (closed, open,
// half-open).
func (s *Service) BreakerState(tenantID string) string { return s.breaker(tenantID).State().String() }

// assignGuarded runs autoAssign behind the tenant's breaker.
func (s *Service) assignGuarded(ctx context.Context, tenantID, convID string, req routing.AssignRequest, prefer string) (routing.Agent, error) {
	a, err := s.breaker(tenantID).Execute(func() (routing.Agent, error) {
		return s.autoAssign(ctx, tenantID, convID, req, prefer)
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		s.metrics.routed.WithLabelValues("breaker_open").Inc()
		return a, fmt.Errorf("circuit breaker is open: %w", err)
	}
	return a, err
}

// reportAssignFailure counts a failure of the assignment path that happened
// outside it (an agent dropping a conversation they were just given).
func (s *Service) reportAssignFailure(tenantID string, why error) {
	_, _ = s.breaker(tenantID).Execute(func() (routing.Agent, error) { return routing.Agent{}, why })
}
