package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"kefu"
)

// Events that enter a flow at start.
const (
	EventConversationCreated  = "conversation.created"
	EventConversationReopened = "conversation.reopened" // a visitor wrote (or an agent replied) after resolve
	EventMessageCreated       = "message.created"
	EventAgentOffline         = "agent.offline"
	EventConversationIdle     = "conversation.idle"
)

// Actions a run ends with.
const (
	ActionAssign = "assign" // AgentID takes the conversation
	ActionQueue  = "queue"  // it waits (Waiting names the node, TimeoutSeconds its deadline)
	ActionEnd    = "end"    // the bot is done; the conversation stays with the bot
	// ActionBot: a model is answering off the message path. The run
	// continues from Waiting (the llm node) by its answered or handoff
	// branch when the answer is in, through Input.ResumeFrom.
	ActionBot = "bot"
)

// MaxSteps bounds one walk of a flow.
const MaxSteps = 100

// Input is an event a flow runs on.
type Input struct {
	Event        string
	Visitor      VisitorEnv
	Message      MessageEnv
	Conversation ConversationEnv
	At           time.Time
	// ResumeFrom, when set, re-enters a waiting node by its label (a queue
	// or assign node taking "timeout") instead of starting at start.
	ResumeFrom  string
	ResumeLabel string
	// Hours are the tenant's business hours (nil: none set); a
	// business_hours node with an empty schedule uses them.
	Hours *Hours
}

// AssignRequest is what an assign node asks for.
type AssignRequest struct {
	Strategy string
	Team     string
	Skills   []string
}

// Services are the side effects a run may have. Simulation passes an
// implementation without side effects.
type Services interface {
	// AnswerFAQ returns an answer to text, or ok=false.
	AnswerFAQ(ctx context.Context, text string) (answer string, ok bool, err error)
	// AskLLM asks the tenant's model. It answers at once (a dry run), hands
	// off, or says the answer is pending: the live runtime asks off the
	// message path and resumes the flow at the node when the model is done.
	AskLLM(ctx context.Context, in Input, req LLMRequest) (LLMOutcome, error)
	// CallWebhook posts the event to url.
	CallWebhook(ctx context.Context, url string, in Input, timeout time.Duration) error
	// Reply sends a bot message to the visitor (a no-op in simulation).
	Reply(ctx context.Context, text string) error
	// Assign picks (and, outside simulation, reserves) an agent; ok=false when
	// nobody can take the conversation now.
	Assign(ctx context.Context, req AssignRequest) (agentID, agentName string, ok bool, err error)
}

// LLMRequest is an llm node's call: its deadline for the holding reply, the
// holding reply, and its overrides of the tenant's model and prompt.
type LLMRequest struct {
	NodeID       string
	Timeout      time.Duration
	FallbackText string
	Model        string
	SystemPrompt string
}

// LLMOutcome is what AskLLM decided: an answer now, a handoff (with the
// reason), or Pending.
type LLMOutcome struct {
	Answer  string
	Handoff bool
	Reason  string
	Pending bool
}

// Step is one line of a run's trace.
type Step struct {
	Node    string `json:"node"`
	Type    string `json:"type"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
}

// Result is what a run decided.
type Result struct {
	Action         string         `json:"action"`
	AgentID        string         `json:"agent_id,omitempty"`
	AgentName      string         `json:"agent_name,omitempty"`
	Team           string         `json:"team,omitempty"`
	Replies        []string       `json:"replies"`
	Tags           []string       `json:"tags,omitempty"`
	Set            map[string]any `json:"set,omitempty"`
	Waiting        string         `json:"waiting,omitempty"`
	TimeoutSeconds int            `json:"timeout_seconds,omitempty"`
	Trace          []Step         `json:"trace"`
	// EvalTime is how long the run's expressions took (the meter's count):
	// a replay adds them up to bound its own work.
	EvalTime time.Duration `json:"-"`
}

// Run walks the flow for one event. It never fails: a node that errors
// takes its error branch, or the run ends in the queue, so no conversation
// is ever lost to a broken flow.
//
// All of the run's expressions share one budget (budget.go); an expression
// that spends it fails like any other.
func (p *Program) Run(ctx context.Context, in Input, svc Services) Result {
	m := newMeter(ctx)
	r := p.run(ctx, in, svc, m)
	r.EvalTime = m.spent
	return r
}

func (p *Program) run(ctx context.Context, in Input, svc Services, m *meter) Result {
	if in.At.IsZero() {
		in.At = time.Now()
	}
	env := Env{Event: in.Event, Visitor: in.Visitor, Message: in.Message, Conversation: in.Conversation, Now: NewNow(in.At)}
	setMeter(&env, m)
	if env.Visitor.Attributes == nil {
		env.Visitor.Attributes = map[string]any{}
	}
	r := Result{Replies: []string{}, Trace: []Step{}}
	step := func(n *cnode, outcome, detail string) {
		r.Trace = append(r.Trace, Step{Node: n.ID, Type: n.Type, Outcome: outcome, Detail: detail})
	}
	queue := func(n *cnode, why string) Result {
		r.Action = ActionQueue
		if n != nil && waits(n.Type) {
			r.Waiting = n.ID
			if n.Type == NodeQueue {
				r.TimeoutSeconds = n.queue.TimeoutSeconds
			} else {
				r.TimeoutSeconds = n.assign.TimeoutSeconds
			}
		}
		if why != "" {
			r.Trace = append(r.Trace, Step{Node: "", Type: NodeQueue, Outcome: "queue", Detail: why})
		}
		return r
	}

	if err := CheckInput(in); err != nil {
		return queue(nil, err.Error())
	}
	id := p.start
	if in.ResumeFrom != "" {
		n, ok := p.nodes[in.ResumeFrom]
		if !ok {
			return queue(nil, fmt.Sprintf("node %q is not in this version of the flow", in.ResumeFrom))
		}
		next, ok := n.out[in.ResumeLabel]
		step(n, in.ResumeLabel, "resumed")
		switch {
		case !ok && n.Type == NodeLLM && in.ResumeLabel == "answered":
			r.Action = ActionEnd // the bot answered; nothing follows
			return r
		case !ok && n.Type == NodeLLM:
			return queue(nil, "no handoff branch: the conversation goes to the queue")
		case !ok:
			return queue(n, "no "+in.ResumeLabel+" branch: stays queued")
		}
		id = next
	}
	for steps := 0; ; steps++ {
		if steps >= MaxSteps {
			return queue(nil, fmt.Sprintf("stopped after %d steps", MaxSteps))
		}
		if err := ctx.Err(); err != nil {
			return queue(nil, "cancelled: "+err.Error())
		}
		n := p.nodes[id]
		label, detail, done := p.exec(ctx, n, env, in, svc, &r)
		if done != nil {
			step(n, label, detail)
			done.Trace = r.Trace
			return *done
		}
		next, ok := n.out[label]
		if !ok && label == "error" {
			step(n, "error", detail)
			return queue(nil, "no error branch: the conversation goes to the queue")
		}
		step(n, labelName(label), detail)
		if !ok {
			r.Action = ActionEnd
			return r
		}
		id = next
	}
}

func labelName(l string) string {
	if l == "" {
		return "next"
	}
	return l
}

// CheckInput refuses an event too large to run a flow on (too_large): the
// sandbox bounds what expressions build, and this bounds what they are given.
func CheckInput(in Input) error {
	ev := struct {
		V VisitorEnv
		M MessageEnv
		C ConversationEnv
	}{in.Visitor, in.Message, in.Conversation}
	if _, _, err := sizeOf(ev, MaxInputBytes, inputDepth); err != nil {
		return kefu.Errorf(kefu.ETooLarge, "the event (visitor, message, conversation) is over %d bytes", MaxInputBytes)
	}
	return nil
}

// setMeter gives env its run's budget. (A function, not a method: Env has
// none an expression could call.)
func setMeter(env *Env, m *meter) { env.Meter, env.Tick = m, m.tick }

// eval runs one expression within its run's budget. expr's VM turns a
// panic in an operation into an error, and the budget bounds its memory and
// time, so an expression only ever fails into its node's error branch.
func eval(prog *vm.Program, env Env) (any, error) {
	if env.Meter == nil {
		return nil, fmt.Errorf("%w: no budget", ErrBudget)
	}
	if err := env.Meter.begin(); err != nil {
		return nil, err
	}
	defer env.Meter.end()
	machine := vm.VM{MemoryBudget: vmMemory}
	return machine.Run(prog, env)
}

func evalBool(prog *vm.Program, env Env) (bool, error) {
	out, err := eval(prog, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, errors.New("expression is not boolean")
	}
	return b, nil
}

// exec runs one node and returns the label to leave by (with a detail for
// the trace), or a final result.
func (p *Program) exec(ctx context.Context, n *cnode, env Env, in Input, svc Services, r *Result) (string, string, *Result) {
	switch n.Type {
	case NodeStart:
		return "", in.Event, nil
	case NodeCondition:
		ok, err := evalBool(n.cond, env)
		if err != nil {
			return "error", errDetail(err), nil
		}
		return fmt.Sprint(ok), exprSource(n), nil
	case NodeSwitch:
		for _, c := range n.cases {
			ok, err := evalBool(c.prog, env)
			if err != nil {
				return "error", fmt.Sprintf("case %q: %s", c.label, errDetail(err)), nil
			}
			if ok {
				return c.label, "case " + c.label + " matched", nil
			}
		}
		return "default", "no case matched", nil
	case NodeReply:
		if err := svc.Reply(ctx, n.reply.Text); err != nil {
			return "error", "reply failed: " + err.Error(), nil
		}
		r.Replies = append(r.Replies, n.reply.Text)
		return "", n.reply.Text, nil
	case NodeFAQ:
		ans, ok, err := svc.AnswerFAQ(ctx, in.Message.Text)
		if err != nil || !ok {
			why := "no FAQ answer"
			if err != nil {
				why = "FAQ failed: " + err.Error()
			}
			return "unanswered", why, nil
		}
		if err := svc.Reply(ctx, ans); err != nil {
			return "unanswered", "reply failed: " + err.Error(), nil
		}
		r.Replies = append(r.Replies, ans)
		return "answered", ans, nil
	case NodeLLM:
		out, err := svc.AskLLM(ctx, in, LLMRequest{NodeID: n.ID, Timeout: time.Duration(n.llm.TimeoutMS) * time.Millisecond,
			FallbackText: n.llm.FallbackText, Model: n.llm.Model, SystemPrompt: n.llm.SystemPrompt})
		switch {
		case err != nil:
			return n.handoff(r, "model failed: "+err.Error())
		case out.Pending:
			res := *r
			res.Action, res.Waiting = ActionBot, n.ID
			return "pending", "asking the model (holding reply after " + fmt.Sprint(n.llm.TimeoutMS) + " ms)", &res
		case out.Handoff || out.Answer == "":
			why := out.Reason
			if why == "" {
				why = "no answer from the model"
			}
			return n.handoff(r, why)
		}
		ans := out.Answer
		if err := svc.Reply(ctx, ans); err != nil {
			return "handoff", "reply failed: " + err.Error(), nil
		}
		r.Replies = append(r.Replies, ans)
		return "answered", ans, nil
	case NodeBusinessHours:
		open, why := n.isOpen(in.At)
		if in.Hours != nil && n.hours.Empty() {
			// A node left empty follows the tenant's business hours.
			open, why = in.Hours.OpenAt(in.At)
			why = "business hours: " + why
		}
		if open {
			return "open", why, nil
		}
		return "closed", why, nil
	case NodeSet:
		v, err := eval(n.set, env)
		if err == nil {
			v, err = storable(v)
		}
		if err != nil {
			return "error", errDetail(err), nil
		}
		if r.Set == nil {
			r.Set = map[string]any{}
		}
		r.Set[n.setTo] = v
		env.Visitor.Attributes[n.setTo] = v
		return "", truncate(fmt.Sprintf("%s = %v", n.setTo, v), maxDetail), nil
	case NodeTag:
		r.Tags = append(r.Tags, n.tags...)
		return "", strings.Join(n.tags, ", "), nil
	case NodeWebhook:
		if err := svc.CallWebhook(ctx, n.hook.URL, in, time.Duration(n.hook.TimeoutMS)*time.Millisecond); err != nil {
			return "error", err.Error(), nil
		}
		return "", "posted to " + n.hook.URL, nil
	case NodeQueue:
		res := *r
		res.Action = ActionQueue
		res.Waiting = n.ID
		res.TimeoutSeconds = n.queue.TimeoutSeconds
		return "queue", "waiting for an agent", &res
	case NodeAssign:
		id, name, ok, err := svc.Assign(ctx, AssignRequest{Strategy: n.assign.Strategy, Team: n.assign.Team, Skills: n.assign.Skills})
		res := *r
		if err != nil || !ok {
			why := "no agent can take it now: queued"
			if err != nil {
				why = "assignment unavailable (" + err.Error() + "): queued"
			}
			res.Action = ActionQueue
			res.Waiting = n.ID
			res.TimeoutSeconds = n.assign.TimeoutSeconds
			res.Team = n.assign.Team
			return "queue", why, &res
		}
		res.Action = ActionAssign
		res.AgentID, res.AgentName, res.Team = id, name, n.assign.Team
		return "assigned", fmt.Sprintf("%s to %s", n.assign.Strategy, name), &res
	case NodeEnd:
		res := *r
		res.Action = ActionEnd
		return "end", "", &res
	}
	return "error", "unknown node type", nil
}

// handoff leaves an llm node by its handoff branch, or with none, ends the
// run in the queue: a conversation the bot gives up on is never left with it.
func (n *cnode) handoff(r *Result, why string) (string, string, *Result) {
	if _, ok := n.out["handoff"]; ok {
		return "handoff", why, nil
	}
	res := *r
	res.Action = ActionQueue
	return "handoff", why + "; no handoff branch: queued", &res
}

// maxDetail bounds an expression's error in the trace (it may quote values).
const maxDetail = 300

// errDetail is an evaluation error for the trace: its first line, short.
func errDetail(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return truncate(msg, maxDetail)
}

// storable is a set node's value as the visitor's attributes will hold it:
// a copy through JSON (as the database gives it back), sharing nothing
// with the run, at most MaxSetBytes.
func storable(v any) (any, error) {
	if _, _, err := sizeOf(v, MaxValueBytes, MaxDepth); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("the value cannot be stored: %v", err)
	}
	if len(b) > MaxSetBytes {
		return nil, fmt.Errorf("the value is %d bytes as JSON, over the limit of %d", len(b), MaxSetBytes)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("the value cannot be stored: %v", err)
	}
	return out, nil
}

func exprSource(n *cnode) string {
	var d conditionData
	_ = decodeData(n.Data, &d)
	return d.Expr
}

// isOpen reports whether the business is open at t, and why.
func (n *cnode) isOpen(t time.Time) (bool, string) {
	local := t.In(n.loc)
	date := local.Format("2006-01-02")
	for _, h := range n.hours.Holidays {
		if h == date {
			return false, "holiday " + date
		}
	}
	hm := local.Format("15:04")
	for day, wd := range weekdays {
		if wd != local.Weekday() {
			continue
		}
		for _, s := range n.hours.Schedule[day] {
			if hm >= s[0] && hm < s[1] {
				return true, fmt.Sprintf("%s %s is within %s–%s %s", day, hm, s[0], s[1], n.hours.Timezone)
			}
		}
		return false, fmt.Sprintf("%s %s is outside the hours (%s)", day, hm, n.hours.Timezone)
	}
	return false, "closed"
}

// Graph returns the program's graph.
func (p *Program) Graph() Graph { return p.graph }

// AssignRequestAt is the request of the assign node id, for retrying a
// conversation that waits there; ok=false for any other node.
func (p *Program) AssignRequestAt(id string) (AssignRequest, bool) {
	n, ok := p.nodes[id]
	if !ok || n.Type != NodeAssign {
		return AssignRequest{}, false
	}
	return AssignRequest{Strategy: n.assign.Strategy, Team: n.assign.Team, Skills: n.assign.Skills}, true
}

// FirstHandoff is the first llm node (by id) with a handoff branch, or "":
// where a visitor's request for a person enters the flow when no call is
// pending.
func (p *Program) FirstHandoff() string {
	first := ""
	for id, n := range p.nodes {
		if _, ok := n.out["handoff"]; ok && n.Type == NodeLLM && (first == "" || id < first) {
			first = id
		}
	}
	return first
}
