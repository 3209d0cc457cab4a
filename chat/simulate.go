package chat

import (
	"context"
	"fmt"
	"time"

	"kefu"
	"kefu/bots"
	"kefu/routing"
	"kefu/tenants"
)

// SimulateInput is a sample event for a dry run.
type SimulateInput struct {
	Event        string
	Visitor      routing.VisitorEnv
	Message      routing.MessageEnv
	Conversation routing.ConversationEnv
	At           string         // RFC 3339; empty: now
	Version      int            // 0: the latest version
	Graph        *routing.Graph // an unsaved draft to run instead
	AskLLM       bool           // ask the tenant's real model at llm nodes (dry run)
}

// dryServices are the flow's services without side effects: nothing is
// sent, posted or reserved; assign answers with the agent the live
// strategy would pick now.
type dryServices struct {
	s        *Service
	tenantID string
	agents   []routing.Agent
	rr       *routing.RoundRobin
	askLLM   bool // ask the real model (a dry run: nothing is sent)
}

// AnswerFAQ uses the tenant's real FAQ index.
func (d *dryServices) AnswerFAQ(ctx context.Context, text string) (string, bool, error) {
	return answerFAQ(ctx, d.s.bots, d.tenantID, text, false)
}

// AskLLM asks the real model only when the simulation asked for it (and
// then waits for the whole answer); otherwise it assumes the model answers.
func (d *dryServices) AskLLM(ctx context.Context, in routing.Input, req routing.LLMRequest) (routing.LLMOutcome, error) {
	b := d.s.bots
	switch {
	case b == nil:
		return routing.LLMOutcome{Handoff: true, Reason: "no model is configured"}, nil
	case b.WantsPerson(ctx, d.tenantID, in.Message.Text):
		return routing.LLMOutcome{Handoff: true, Reason: "the visitor asks for a person"}, nil
	case !d.askLLM:
		return routing.LLMOutcome{Answer: "(dry run: the model was not asked; assuming it answers)"}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r, err := b.Ask(ctx, d.tenantID, bots.Question{Text: in.Message.Text, Language: in.Visitor.Language, Model: req.Model, SystemPrompt: req.SystemPrompt, Kind: "simulate"}, nil)
	switch {
	case err != nil:
		return routing.LLMOutcome{Handoff: true, Reason: "dry run: the model failed: " + err.Error()}, nil
	case r.Refused || r.Text == "":
		return routing.LLMOutcome{Handoff: true, Reason: "dry run: the model declined"}, nil
	}
	return routing.LLMOutcome{Answer: "(dry run) " + r.Text}, nil
}
func (d *dryServices) CallWebhook(context.Context, string, routing.Input, time.Duration) error {
	return nil
}
func (d *dryServices) Reply(context.Context, string) error { return nil }
func (d *dryServices) Assign(_ context.Context, req routing.AssignRequest) (string, string, bool, error) {
	if b := d.s.breaker(d.tenantID); b.State().String() == "open" {
		return "", "", false, fmt.Errorf("circuit breaker is open")
	}
	ranked := routing.Rank(req.Strategy, d.tenantID, req, d.agents, d.rr)
	if len(ranked) == 0 {
		return "", "", false, nil
	}
	return ranked[0].ID, ranked[0].Name, true, nil
}

func (s *Service) dry(ctx context.Context, tenantID string) (*dryServices, error) {
	agents, err := s.agentStates(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	// A copy of the rotation, so a dry run does not move the real one.
	return &dryServices{s: s, tenantID: tenantID, agents: agents, rr: routing.NewRoundRobin()}, nil
}

// Simulate runs a flow (a saved version, or a draft graph) on a sample
// event, with no side effects, and returns the decision with its trace. The
// run has the budget of a live run (routing.MaxRunSteps, …).
// Errors: not_found, invalid_argument, invalid_flow, too_large (the sample
// event), rate_limited (the tenant's simulations are all under way).
func (s *Service) Simulate(ctx context.Context, p tenants.Principal, flowID string, in SimulateInput) (routing.Result, error) {
	switch in.Event {
	case "":
		in.Event = routing.EventConversationCreated
	case routing.EventConversationCreated, routing.EventMessageCreated, routing.EventAgentOffline, routing.EventConversationIdle:
	default:
		return routing.Result{}, kefu.Invalid(map[string]string{"event": "must be conversation.created, message.created, agent.offline or conversation.idle"})
	}
	at := s.now()
	if in.At != "" {
		t, err := time.Parse(time.RFC3339, in.At)
		if err != nil {
			return routing.Result{}, kefu.Invalid(map[string]string{"at": "must be an RFC 3339 time"})
		}
		at = t
	}
	if in.Visitor.Attributes == nil {
		in.Visitor.Attributes = map[string]any{}
	}
	if in.Conversation.Status == "" {
		in.Conversation.Status = StatusBot
	}
	run := routing.Input{Event: in.Event, Visitor: in.Visitor, Message: in.Message, Conversation: in.Conversation, At: at, Hours: s.flowHours(ctx, p.TenantID)}
	if err := routing.CheckInput(run); err != nil {
		return routing.Result{}, err
	}
	release, err := s.simulationTurn(ctx, p.TenantID)
	if err != nil {
		return routing.Result{}, err
	}
	defer release()
	var g routing.Graph
	if in.Graph != nil {
		if _, err := s.Flow(ctx, p, flowID, 0); err != nil {
			return routing.Result{}, err
		}
		g = *in.Graph
	} else {
		f, err := s.Flow(ctx, p, flowID, in.Version)
		if err != nil {
			return routing.Result{}, err
		}
		g = f.Graph
	}
	prog, err := routing.Compile(g)
	if err != nil {
		return routing.Result{}, err
	}
	svc, err := s.dry(ctx, p.TenantID)
	if err != nil {
		return routing.Result{}, err
	}
	svc.askLLM = in.AskLLM
	return prog.Run(ctx, run, svc), nil
}

// simulationTurn waits for one of the tenant's Simulations slots.
// Errors: rate_limited.
func (s *Service) simulationTurn(ctx context.Context, tenantID string) (func(), error) {
	release, ok := s.simulations.Acquire(ctx, tenantID, s.simulateWait)
	if !ok {
		return nil, kefu.Errorf(kefu.ERateLimit, "this workspace already has %d simulations or replays under way; try again in a moment", s.simulations.Size())
	}
	return release, nil
}

// MaxReplayEvalTime bounds the time one replay's expressions may take in
// all (each run has routing.MaxRunTime): a replay of flows that spend their
// budget stops after a few dozen conversations, one of cheap flows does not.
const MaxReplayEvalTime = time.Second

// ReplayReport says how a draft would have routed recent real conversations
// compared with the flow that routes now.
type ReplayReport struct {
	Total     int             `json:"total"`
	Different int             `json:"different"`
	Examples  []ReplayExample `json:"examples"`
	// Truncated: the replay stopped at its time limit, after Total
	// conversations of the ones asked for.
	Truncated bool `json:"truncated"`
}

// ReplayExample is one conversation the draft would route differently.
type ReplayExample struct {
	ConversationID string `json:"conversation_id"`
	Message        string `json:"message"`
	Before         string `json:"before"`
	After          string `json:"after"`
}

// outcome summarises a run for comparison: the action and where it ended.
func outcome(r routing.Result) string {
	last := ""
	for i := len(r.Trace) - 1; i >= 0; i-- {
		if r.Trace[i].Node != "" {
			last = r.Trace[i].Node
			break
		}
	}
	switch r.Action {
	case routing.ActionAssign:
		return fmt.Sprintf("assign at %s (%s)", last, r.AgentName)
	case routing.ActionQueue:
		return "queue at " + last
	}
	return "end at " + last
}

// Replay runs a version of a flow (0: the latest) against the tenant's last
// limit conversations, as they began, and counts those it would route
// differently from the published flow. Nothing is changed. Each run has the
// budget of a live run, and the whole replay at most ReplayTimeout and
// MaxReplayEvalTime of evaluation: past either the report covers the
// conversations done and says it was truncated.
// Errors: not_found, invalid_argument, invalid_flow, rate_limited.
func (s *Service) Replay(ctx context.Context, p tenants.Principal, flowID string, version, limit int) (ReplayReport, error) {
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		return ReplayReport{}, kefu.Invalid(map[string]string{"limit": "must be between 1 and 1000"})
	}
	release, err := s.simulationTurn(ctx, p.TenantID)
	if err != nil {
		return ReplayReport{}, err
	}
	defer release()
	// The runs stop at the deadline (their budget ends with it); the
	// database reads keep ctx, so a replay cut short still answers.
	runCtx, cancel := context.WithTimeout(ctx, s.replayTimeout)
	defer cancel()
	draft, err := s.Flow(ctx, p, flowID, version)
	if err != nil {
		return ReplayReport{}, err
	}
	next, err := routing.Compile(draft.Graph)
	if err != nil {
		return ReplayReport{}, err
	}
	cur, err := s.active(ctx, p.TenantID)
	if err != nil {
		return ReplayReport{}, err
	}
	db, _ := s.db(p.TenantID)
	var convs []conversationRow
	if err := db.WithContext(ctx).Order("created_at DESC").Limit(limit).Find(&convs).Error; err != nil {
		return ReplayReport{}, err
	}
	rep := ReplayReport{Examples: []ReplayExample{}}
	var evalTime time.Duration
	for _, c := range convs {
		if runCtx.Err() != nil || evalTime > MaxReplayEvalTime {
			rep.Truncated = true
			break
		}
		var first []messageRow
		if err := db.WithContext(ctx).Where("conversation_id = ? AND author_type = ?", c.ID, AuthorVisitor).Order("seq").Limit(1).Find(&first).Error; err != nil {
			return ReplayReport{}, err
		}
		text := ""
		if len(first) > 0 {
			text = first[0].Body
		}
		in, err := s.flowInput(ctx, db, c, routing.EventConversationCreated, text)
		if err != nil {
			continue
		}
		in.At = c.CreatedAt
		in.Conversation.Status, in.Conversation.MessagesCount, in.Conversation.WaitSeconds = StatusBot, 1, 0
		// Both runs see the same agents and the same rotation start.
		dryA, err := s.dry(ctx, p.TenantID)
		if err != nil {
			return ReplayReport{}, err
		}
		dryB := *dryA
		dryB.rr = routing.NewRoundRobin()
		ra, rb := cur.prog.Run(runCtx, in, dryA), next.Run(runCtx, in, &dryB)
		if runCtx.Err() != nil { // cut short: the runs' outcomes are not theirs
			rep.Truncated = true
			break
		}
		evalTime += ra.EvalTime + rb.EvalTime
		before, after := outcome(ra), outcome(rb)
		rep.Total++
		if before != after {
			rep.Different++
			if len(rep.Examples) < 10 {
				rep.Examples = append(rep.Examples, ReplayExample{ConversationID: c.ID, Message: truncateUTF8(text, 200), Before: before, After: after})
			}
		}
	}
	return rep, nil
}
