package routing

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"kefu"
)

// fakeServices answers from fields, recording calls.
type fakeServices struct {
	faq       string
	llm       string
	hookErr   error
	agentID   string
	agentName string
	assignErr error
	asked     []AssignRequest
	hooks     []string
}

func (f *fakeServices) AnswerFAQ(context.Context, string) (string, bool, error) {
	return f.faq, f.faq != "", nil
}
func (f *fakeServices) AskLLM(context.Context, Input, LLMRequest) (LLMOutcome, error) {
	if f.llm == "pending" {
		return LLMOutcome{Pending: true}, nil
	}
	return LLMOutcome{Answer: f.llm, Handoff: f.llm == ""}, nil
}
func (f *fakeServices) CallWebhook(_ context.Context, url string, _ Input, _ time.Duration) error {
	f.hooks = append(f.hooks, url)
	return f.hookErr
}
func (f *fakeServices) Reply(context.Context, string) error { return nil }
func (f *fakeServices) Assign(_ context.Context, req AssignRequest) (string, string, bool, error) {
	f.asked = append(f.asked, req)
	return f.agentID, f.agentName, f.agentID != "", f.assignErr
}

func n(id, typ string, data any) Node {
	b, _ := json.Marshal(data)
	if data == nil {
		b = nil
	}
	return Node{ID: id, Type: typ, Data: b}
}

func e(src, dst, label string) Edge {
	return Edge{ID: src + "-" + label + "-" + dst, Source: src, Target: dst, Label: label}
}

func mustCompile(t *testing.T, g Graph) *Program {
	t.Helper()
	p, err := Compile(g)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

func path(r Result) string {
	var s []string
	for _, st := range r.Trace {
		if st.Node != "" {
			s = append(s, st.Node+":"+st.Outcome)
		}
	}
	return strings.Join(s, " ")
}

func TestRunEveryNodeType(t *testing.T) {
	monday10 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC) // a Monday
	sunday := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	hours := map[string]any{"timezone": "UTC", "schedule": map[string]any{"mon": [][2]string{{"09:00", "18:00"}}}, "holidays": []string{"2026-12-25"}}

	cases := []struct {
		name   string
		g      Graph
		in     Input
		svc    fakeServices
		action string
		path   string
		check  func(t *testing.T, r Result)
	}{
		{
			name: "a condition takes its true branch",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": `visitor.attributes.plan == "pro"`}), n("vip", "reply", map[string]any{"text": "VIP"}), n("std", "reply", map[string]any{"text": "std"})},
				Edges: []Edge{e("s", "c", ""), e("c", "vip", "true"), e("c", "std", "false")}},
			in:     Input{Visitor: VisitorEnv{Attributes: map[string]any{"plan": "pro"}}},
			action: ActionEnd, path: "s:next c:true vip:next",
			check: func(t *testing.T, r Result) {
				if len(r.Replies) != 1 || r.Replies[0] != "VIP" {
					t.Fatalf("replies %v", r.Replies)
				}
			},
		},
		{
			name: "a condition takes its false branch",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": `visitor.attributes.plan == "pro"`}), n("vip", "reply", map[string]any{"text": "VIP"}), n("std", "reply", map[string]any{"text": "std"})},
				Edges: []Edge{e("s", "c", ""), e("c", "vip", "true"), e("c", "std", "false")}},
			in:     Input{Visitor: VisitorEnv{Attributes: map[string]any{"plan": "free"}}},
			action: ActionEnd, path: "s:next c:false std:next",
		},
		{
			name: "a runtime error takes the error branch",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": `int(visitor.attributes.n) > 1`}), n("oops", "reply", map[string]any{"text": "oops"})},
				Edges: []Edge{e("s", "c", ""), e("c", "oops", "error")}},
			in:     Input{Visitor: VisitorEnv{Attributes: map[string]any{"n": "not a number"}}},
			action: ActionEnd, path: "s:next c:error oops:next",
		},
		{
			name: "a runtime error with no error branch ends in the queue",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": `int(visitor.attributes.n) > 1`})},
				Edges: []Edge{e("s", "c", "")}},
			in:     Input{Visitor: VisitorEnv{Attributes: map[string]any{"n": "x"}}},
			action: ActionQueue, path: "s:next c:error",
		},
		{
			name: "a switch picks the first matching case",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("sw", "switch", map[string]any{"cases": []map[string]string{{"label": "refund", "expr": `contains_any(message.text, ["refund", "退款"])`}, {"label": "bill", "expr": `message.text matches "(?i)invoice"`}}}), n("r1", "reply", map[string]any{"text": "refunds"}), n("r2", "reply", map[string]any{"text": "billing"}), n("r3", "reply", map[string]any{"text": "other"})},
				Edges: []Edge{e("s", "sw", ""), e("sw", "r1", "refund"), e("sw", "r2", "bill"), e("sw", "r3", "default")}},
			in:     Input{Message: MessageEnv{Text: "I need my INVOICE"}},
			action: ActionEnd, path: "s:next sw:bill r2:next",
		},
		{
			name: "a switch falls to default",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("sw", "switch", map[string]any{"cases": []map[string]string{{"label": "refund", "expr": `contains_any(message.text, ["退款"])`}}}), n("r3", "reply", map[string]any{"text": "other"})},
				Edges: []Edge{e("s", "sw", ""), e("sw", "r3", "default")}},
			in:     Input{Message: MessageEnv{Text: "hello"}},
			action: ActionEnd, path: "s:next sw:default r3:next",
		},
		{
			name: "business hours are open on Monday morning",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("h", "business_hours", hours), n("a", "assign", map[string]any{"strategy": "round_robin"}), n("q", "queue", nil)},
				Edges: []Edge{e("s", "h", ""), e("h", "a", "open"), e("h", "q", "closed")}},
			in: Input{At: monday10}, svc: fakeServices{agentID: "u1", agentName: "Ann"},
			action: ActionAssign, path: "s:next h:open a:assigned",
			check: func(t *testing.T, r Result) {
				if r.AgentID != "u1" {
					t.Fatalf("agent %q", r.AgentID)
				}
			},
		},
		{
			name: "business hours are closed on Sunday and holidays",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("h", "business_hours", hours), n("a", "assign", nil), n("q", "queue", map[string]any{"timeout_seconds": 60})},
				Edges: []Edge{e("s", "h", ""), e("h", "a", "open"), e("h", "q", "closed")}},
			in:     Input{At: sunday},
			action: ActionQueue, path: "s:next h:closed q:queue",
			check: func(t *testing.T, r Result) {
				if r.Waiting != "q" || r.TimeoutSeconds != 60 {
					t.Fatalf("waiting %q %d", r.Waiting, r.TimeoutSeconds)
				}
			},
		},
		{
			name: "an FAQ answer replies and takes answered",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("f", "faq", nil), n("x", "end", nil), n("a", "assign", nil)},
				Edges: []Edge{e("s", "f", ""), e("f", "x", "answered"), e("f", "a", "unanswered")}},
			svc:    fakeServices{faq: "We ship in 2 days."},
			action: ActionEnd, path: "s:next f:answered x:end",
			check: func(t *testing.T, r Result) {
				if r.Replies[0] != "We ship in 2 days." {
					t.Fatalf("replies %v", r.Replies)
				}
			},
		},
		{
			name: "no FAQ answer takes unanswered",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("f", "faq", nil), n("x", "end", nil), n("a", "assign", nil)},
				Edges: []Edge{e("s", "f", ""), e("f", "x", "answered"), e("f", "a", "unanswered")}},
			action: ActionQueue, path: "s:next f:unanswered a:queue",
		},
		{
			name: "an LLM without an answer hands off",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("l", "llm", map[string]any{"timeout_ms": 500, "fallback_text": "One moment"}), n("x", "end", nil), n("a", "assign", nil)},
				Edges: []Edge{e("s", "l", ""), e("l", "x", "answered"), e("l", "a", "handoff")}},
			svc:    fakeServices{agentID: "u2", agentName: "Bo"},
			action: ActionAssign, path: "s:next l:handoff a:assigned",
		},
		{
			name: "an LLM answering later leaves the run waiting at the node",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("l", "llm", map[string]any{"timeout_ms": 500, "model": "m", "system_prompt": "be brief"}), n("x", "end", nil), n("a", "assign", nil)},
				Edges: []Edge{e("s", "l", ""), e("l", "x", "answered"), e("l", "a", "handoff")}},
			svc:    fakeServices{llm: "pending"},
			action: ActionBot, path: "s:next l:pending",
			check: func(t *testing.T, r Result) {
				if r.Waiting != "l" {
					t.Fatalf("waiting %q", r.Waiting)
				}
			},
		},
		{
			name: "resuming an LLM node by handoff takes its handoff branch",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("l", "llm", nil), n("x", "end", nil), n("a", "assign", nil)},
				Edges: []Edge{e("s", "l", ""), e("l", "x", "answered"), e("l", "a", "handoff")}},
			in:     Input{ResumeFrom: "l", ResumeLabel: "handoff"},
			svc:    fakeServices{agentID: "u2", agentName: "Bo"},
			action: ActionAssign, path: "l:handoff a:assigned",
		},
		{
			name:   "resuming an LLM node without branches: answered ends, handoff queues",
			g:      Graph{Nodes: []Node{n("s", "start", nil), n("l", "llm", nil)}, Edges: []Edge{e("s", "l", "")}},
			in:     Input{ResumeFrom: "l", ResumeLabel: "answered"},
			action: ActionEnd, path: "l:answered",
		},
		{
			name:   "an LLM that hands off without a handoff branch queues",
			g:      Graph{Nodes: []Node{n("s", "start", nil), n("l", "llm", nil)}, Edges: []Edge{e("s", "l", "")}},
			action: ActionQueue, path: "s:next l:handoff",
		},
		{
			name: "set stores an attribute that later nodes see",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("set", "set", map[string]any{"attribute": "tier", "expr": `visitor.email endsWith "@bigco.com" ? "gold" : "basic"`}), n("c", "condition", map[string]any{"expr": `visitor.attributes.tier == "gold"`}), n("y", "end", nil), n("no", "queue", nil)},
				Edges: []Edge{e("s", "set", ""), e("set", "c", ""), e("c", "y", "true"), e("c", "no", "false")}},
			in:     Input{Visitor: VisitorEnv{Email: "ceo@bigco.com"}},
			action: ActionEnd, path: "s:next set:next c:true y:end",
			check: func(t *testing.T, r Result) {
				if r.Set["tier"] != "gold" {
					t.Fatalf("set %v", r.Set)
				}
			},
		},
		{
			name: "tag adds labels",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("t", "tag", map[string]any{"labels": []string{"vip", "billing"}})},
				Edges: []Edge{e("s", "t", "")}},
			action: ActionEnd, path: "s:next t:next",
			check: func(t *testing.T, r Result) {
				if strings.Join(r.Tags, ",") != "vip,billing" {
					t.Fatalf("tags %v", r.Tags)
				}
			},
		},
		{
			name: "a failing webhook takes its error branch",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("w", "webhook", map[string]any{"url": "https://hooks.example.com/x"}), n("ok", "end", nil), n("bad", "queue", nil)},
				Edges: []Edge{e("s", "w", ""), e("w", "ok", ""), e("w", "bad", "error")}},
			svc:    fakeServices{hookErr: errors.New("timeout")},
			action: ActionQueue, path: "s:next w:error bad:queue",
		},
		{
			name: "assign asks for the node's strategy and skills",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("a", "assign", map[string]any{"strategy": "skills", "skills": []string{"Billing"}, "team": "support"})},
				Edges: []Edge{e("s", "a", "")}},
			svc:    fakeServices{agentID: "u3", agentName: "Cy"},
			action: ActionAssign, path: "s:next a:assigned",
			check: func(t *testing.T, r Result) {
				if r.Team != "support" {
					t.Fatalf("team %q", r.Team)
				}
			},
		},
		{
			name: "an assignment failure (breaker open) queues at the assign node",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("a", "assign", map[string]any{"timeout_seconds": 30}), n("late", "reply", map[string]any{"text": "sorry"})},
				Edges: []Edge{e("s", "a", ""), e("a", "late", "timeout")}},
			svc:    fakeServices{assignErr: errors.New("circuit breaker is open")},
			action: ActionQueue, path: "s:next a:queue",
			check: func(t *testing.T, r Result) {
				if r.Waiting != "a" || r.TimeoutSeconds != 30 {
					t.Fatalf("waiting %q %d", r.Waiting, r.TimeoutSeconds)
				}
			},
		},
		{
			name: "a queue timeout resumes at the timeout branch",
			g: Graph{Nodes: []Node{n("s", "start", nil), n("q", "queue", map[string]any{"timeout_seconds": 5}), n("sorry", "reply", map[string]any{"text": "still busy"}), n("x", "end", nil)},
				Edges: []Edge{e("s", "q", ""), e("q", "sorry", "timeout"), e("sorry", "x", "")}},
			in:     Input{ResumeFrom: "q", ResumeLabel: "timeout"},
			action: ActionEnd, path: "q:timeout sorry:next x:end",
		},
		{
			name:   "a node without a way on ends the run",
			g:      Graph{Nodes: []Node{n("s", "start", nil), n("r", "reply", map[string]any{"text": "bye"})}, Edges: []Edge{e("s", "r", "")}},
			action: ActionEnd, path: "s:next r:next",
		},
		{
			name:   "now and the time helpers are usable",
			g:      Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": `hour(now, "Asia/Shanghai") == 18 && weekday(now) == 1 && now.hour == 10`}), n("y", "end", nil)}, Edges: []Edge{e("s", "c", ""), e("c", "y", "true")}},
			in:     Input{At: monday10},
			action: ActionEnd, path: "s:next c:true y:end",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustCompile(t, c.g)
			svc := c.svc
			r := p.Run(context.Background(), c.in, &svc)
			if r.Action != c.action || path(r) != c.path {
				t.Fatalf("got %s via %q, want %s via %q\ntrace: %+v", r.Action, path(r), c.action, c.path, r.Trace)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestRunIsBounded(t *testing.T) {
	// A loop through a queue is legal; resuming it repeatedly still ends.
	g := Graph{Nodes: []Node{n("s", "start", nil), n("q", "queue", map[string]any{"timeout_seconds": 1}), n("r", "reply", map[string]any{"text": "again"})},
		Edges: []Edge{e("s", "q", ""), e("q", "r", "timeout"), e("r", "q", "")}}
	p := mustCompile(t, g)
	r := p.Run(context.Background(), Input{ResumeFrom: "q", ResumeLabel: "timeout"}, &fakeServices{})
	if r.Action != ActionQueue || r.Waiting != "q" {
		t.Fatalf("got %+v", r)
	}
}

func TestValidation(t *testing.T) {
	ok := func(id string) Node { return n(id, "reply", map[string]any{"text": "hi"}) }
	cases := []struct {
		name string
		g    Graph
		key  string
		want string
	}{
		{"no start", Graph{Nodes: []Node{ok("r")}}, "graph", "one start"},
		{"two starts", Graph{Nodes: []Node{n("s1", "start", nil), n("s2", "start", nil)}}, "graph", "exactly one start"},
		{"an edge to nowhere", Graph{Nodes: []Node{n("s", "start", nil)}, Edges: []Edge{e("s", "ghost", "")}}, "s", "does not exist"},
		{"an edge from nowhere", Graph{Nodes: []Node{n("s", "start", nil)}, Edges: []Edge{e("ghost", "s", "")}}, "ghost", "does not exist"},
		{"a label the node type lacks", Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": "true"}), ok("r")}, Edges: []Edge{e("s", "c", ""), e("c", "r", "maybe")}}, "c", `no "maybe" branch`},
		{"an unlabelled edge from a branching node", Graph{Nodes: []Node{n("s", "start", nil), n("h", "business_hours", nil), ok("r")}, Edges: []Edge{e("s", "h", ""), e("h", "r", "")}}, "h", "need a label"},
		{"two edges on one branch", Graph{Nodes: []Node{n("s", "start", nil), ok("a"), ok("b")}, Edges: []Edge{e("s", "a", ""), e("s", "b", "")}}, "s", "two edges"},
		{"an unreachable node", Graph{Nodes: []Node{n("s", "start", nil), ok("lonely")}}, "lonely", "cannot be reached"},
		{"a loop that never waits", Graph{Nodes: []Node{n("s", "start", nil), ok("a"), ok("b")}, Edges: []Edge{e("s", "a", ""), e("a", "b", ""), e("b", "a", "")}}, "a", "loop"},
		{"an expression that does not compile", Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": "visitor.plan =="}), ok("r")}, Edges: []Edge{e("s", "c", ""), e("c", "r", "true")}}, "c", "expression"},
		{"an unknown field", Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": `visitor.plan == "pro"`})}, Edges: []Edge{e("s", "c", "")}}, "c", "no field plan"},
		{"a condition that is not boolean", Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": "visitor.name"})}, Edges: []Edge{e("s", "c", "")}}, "c", "bool"},
		{"a method call on the environment", Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": "now.Hour() > 1"})}, Edges: []Edge{e("s", "c", "")}}, "c", "expression"},
		{"an expression too long", Graph{Nodes: []Node{n("s", "start", nil), n("c", "condition", map[string]any{"expr": strings.Repeat("true && ", 200) + "true"})}, Edges: []Edge{e("s", "c", "")}}, "c", "longer than"},
		{"a bad switch case", Graph{Nodes: []Node{n("s", "start", nil), n("w", "switch", map[string]any{"cases": []map[string]string{{"label": "a", "expr": "1"}}})}, Edges: []Edge{e("s", "w", "")}}, "w", `case "a"`},
		{"a bad time zone", Graph{Nodes: []Node{n("s", "start", nil), n("h", "business_hours", map[string]any{"timezone": "Mars/Base"})}, Edges: []Edge{e("s", "h", "")}}, "h", "time zone"},
		{"bad hours", Graph{Nodes: []Node{n("s", "start", nil), n("h", "business_hours", map[string]any{"schedule": map[string]any{"mon": [][2]string{{"18:00", "09:00"}}}})}, Edges: []Edge{e("s", "h", "")}}, "h", "start before the end"},
		{"an unknown strategy", Graph{Nodes: []Node{n("s", "start", nil), n("a", "assign", map[string]any{"strategy": "random"})}, Edges: []Edge{e("s", "a", "")}}, "a", "strategy"},
		{"skills without skills", Graph{Nodes: []Node{n("s", "start", nil), n("a", "assign", map[string]any{"strategy": "skills"})}, Edges: []Edge{e("s", "a", "")}}, "a", "at least one skill"},
		{"an empty reply", Graph{Nodes: []Node{n("s", "start", nil), n("r", "reply", map[string]any{"text": " "})}, Edges: []Edge{e("s", "r", "")}}, "r", "reply text"},
		{"a webhook without a URL", Graph{Nodes: []Node{n("s", "start", nil), n("w", "webhook", map[string]any{"url": "ftp://x"})}, Edges: []Edge{e("s", "w", "")}}, "w", "http(s)"},
		{"an unknown node type", Graph{Nodes: []Node{n("s", "start", nil), n("x", "teleport", nil)}, Edges: []Edge{e("s", "x", "")}}, "x", "unknown node type"},
		{"an edge out of end", Graph{Nodes: []Node{n("s", "start", nil), n("x", "end", nil), ok("r")}, Edges: []Edge{e("s", "x", ""), e("x", "r", "")}}, "x", "ends the flow"},
	}
	for _, c := range cases {
		t.Run(c.name+" is refused", func(t *testing.T) {
			_, err := Compile(c.g)
			ke, isKefu := kefu.AsError(err)
			if !isKefu || ke.Code != kefu.EFlow {
				t.Fatalf("got %v, want invalid_flow", err)
			}
			if !strings.Contains(ke.Fields[c.key], c.want) {
				t.Fatalf("fields[%q] = %q, want it to mention %q (all: %v)", c.key, ke.Fields[c.key], c.want, ke.Fields)
			}
		})
	}
	t.Run("the default flow validates", func(t *testing.T) {
		mustCompile(t, DefaultGraph("en"))
		mustCompile(t, DefaultGraph("zh-CN"))
	})
}

func TestRank(t *testing.T) {
	agents := []Agent{
		{ID: "a", Name: "Ann", Skills: []string{"billing"}, MaxConcurrent: 2, Load: 1, Online: true},
		{ID: "b", Name: "Bo", Skills: []string{"billing", "vip"}, MaxConcurrent: 5, Load: 3, Online: true},
		{ID: "c", Name: "Cy", MaxConcurrent: 5, Load: 0, Online: true},
		{ID: "d", Name: "Di", Skills: []string{"billing"}, MaxConcurrent: 5, Load: 0, Online: false},
		{ID: "e", Name: "Ed", Skills: []string{"billing"}, MaxConcurrent: 2, Load: 2, Online: true},
	}
	ids := func(as []Agent) string {
		var s []string
		for _, a := range as {
			s = append(s, a.ID)
		}
		return strings.Join(s, "")
	}
	t.Run("least busy prefers the lowest load among the eligible", func(t *testing.T) {
		if got := ids(Rank(StrategyLeastBusy, "t", AssignRequest{}, agents, NewRoundRobin())); got != "cab" {
			t.Fatalf("got %s, want cab (d offline, e at its cap)", got)
		}
	})
	t.Run("skills needs every skill, then least busy", func(t *testing.T) {
		if got := ids(Rank(StrategySkills, "t", AssignRequest{Skills: []string{"billing"}}, agents, NewRoundRobin())); got != "ab" {
			t.Fatalf("got %s, want ab", got)
		}
		if got := ids(Rank(StrategySkills, "t", AssignRequest{Skills: []string{"billing", "vip"}}, agents, NewRoundRobin())); got != "b" {
			t.Fatalf("got %s, want b", got)
		}
	})
	t.Run("round robin rotates among the eligible", func(t *testing.T) {
		rr := NewRoundRobin()
		var firsts string
		for i := 0; i < 4; i++ {
			firsts += Rank(StrategyRoundRobin, "t", AssignRequest{}, agents, rr)[0].ID
		}
		if firsts != "abca" {
			t.Fatalf("got %s, want abca", firsts)
		}
	})
	t.Run("nobody eligible gives nothing", func(t *testing.T) {
		if got := Rank(StrategySkills, "t", AssignRequest{Skills: []string{"klingon"}}, agents, NewRoundRobin()); len(got) != 0 {
			t.Fatalf("got %v", got)
		}
	})
}
