package routing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"

	"kefu"
)

// Graph is a flow as the editor draws it and the API stores it.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Node is one step of a flow; Data depends on Type.
type Node struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data,omitempty"`
	Position Position        `json:"position"`
}

// Position is where the editor draws a node.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Edge connects two nodes; Label picks the branch ("true", "open", …), and
// is empty for the single way on.
type Edge struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Target string `json:"target"`
	Label  string `json:"label,omitempty"`
}

// Node types.
const (
	NodeStart         = "start"
	NodeCondition     = "condition"
	NodeSwitch        = "switch"
	NodeReply         = "reply"
	NodeFAQ           = "faq"
	NodeLLM           = "llm"
	NodeBusinessHours = "business_hours"
	NodeSet           = "set"
	NodeTag           = "tag"
	NodeWebhook       = "webhook"
	NodeQueue         = "queue"
	NodeAssign        = "assign"
	NodeEnd           = "end"
)

// Strategies of the assign node.
const (
	StrategyRoundRobin = "round_robin"
	StrategyLeastBusy  = "least_busy"
	StrategySkills     = "skills"
)

// Limits on a flow's size.
const (
	MaxNodes    = 200
	MaxEdges    = 500
	MaxDataSize = 16 * 1024
	MaxGraph    = 512 * 1024
)

// labels lists each node type's outgoing edge labels ("" = the single way on).
var labels = map[string][]string{
	NodeStart:         {""},
	NodeCondition:     {"true", "false", "error"},
	NodeReply:         {""},
	NodeFAQ:           {"answered", "unanswered"},
	NodeLLM:           {"answered", "handoff"},
	NodeBusinessHours: {"open", "closed"},
	NodeSet:           {"", "error"},
	NodeTag:           {""},
	NodeWebhook:       {"", "error"},
	NodeQueue:         {"timeout"},
	NodeAssign:        {"assigned", "timeout"},
	NodeEnd:           {},
	NodeSwitch:        nil, // its case labels, "default" and "error"
}

// NodeTypes lists every node type, for the editor's palette check.
func NodeTypes() []string {
	out := make([]string, 0, len(labels))
	for t := range labels {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// waits reports whether a node waits for a later event (queue, assign): the
// only nodes a cycle may pass through.
func waits(t string) bool { return t == NodeQueue || t == NodeAssign }

type conditionData struct {
	Expr string `json:"expr"`
}

type switchCase struct {
	Label string `json:"label"`
	Expr  string `json:"expr"`
}

type switchData struct {
	Cases []switchCase `json:"cases"`
}

type replyData struct {
	Text string `json:"text"`
}

type llmData struct {
	TimeoutMS    int    `json:"timeout_ms"`
	FallbackText string `json:"fallback_text"`
	Model        string `json:"model"`         // overrides the tenant's model
	SystemPrompt string `json:"system_prompt"` // overrides the tenant's system prompt
}

// Schedule maps a weekday ("mon" … "sun") to opening intervals ["09:00","18:00"].
type Schedule map[string][][2]string

type hoursData = Hours

type setData struct {
	Attribute string `json:"attribute"`
	Expr      string `json:"expr"`
}

type tagData struct {
	Labels []string `json:"labels"`
}

type webhookData struct {
	URL       string `json:"url"`
	TimeoutMS int    `json:"timeout_ms"`
}

type queueData struct {
	TimeoutSeconds int `json:"timeout_seconds"`
}

type assignData struct {
	Strategy       string   `json:"strategy"`
	Team           string   `json:"team"`
	Skills         []string `json:"skills"`
	TimeoutSeconds int      `json:"timeout_seconds"`
}

// Program is a validated flow with its expressions compiled, ready to run.
// Programs are immutable and cached per published version.
type Program struct {
	graph Graph
	start string
	nodes map[string]*cnode
}

type cnode struct {
	Node
	out map[string]string // label → target

	cond   *vm.Program
	cases  []ccase
	set    *vm.Program
	reply  replyData
	llm    llmData
	hours  hoursData
	loc    *time.Location
	setTo  string
	tags   []string
	hook   webhookData
	queue  queueData
	assign assignData
}

type ccase struct {
	label string
	prog  *vm.Program
}

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	attrPattern    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	hhmmPattern    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`)
	datePattern    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	weekdays       = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
	errFlowInvalid = "the flow does not validate"
)

// DecodeGraph parses a flow's JSON. Errors: invalid_argument.
func DecodeGraph(b []byte) (Graph, error) {
	var g Graph
	if len(b) > MaxGraph {
		return g, kefu.Errorf(kefu.ETooLarge, "flow graph is over %d bytes", MaxGraph)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&g); err != nil {
		return g, kefu.Invalid(map[string]string{"graph": "is not valid flow JSON: " + err.Error()})
	}
	return g, nil
}

// Compile validates g and compiles its expressions. Every problem is
// reported at once, as an invalid_flow error whose fields are keyed by node
// id (edge problems under the edge's source node, or "graph").
func Compile(g Graph) (*Program, error) {
	errs := map[string]string{}
	fail := func(key, format string, args ...any) {
		if _, ok := errs[key]; !ok {
			errs[key] = fmt.Sprintf(format, args...)
		}
	}
	if len(g.Nodes) > MaxNodes {
		fail("graph", "at most %d nodes", MaxNodes)
	}
	if len(g.Edges) > MaxEdges {
		fail("graph", "at most %d edges", MaxEdges)
	}
	if len(errs) > 0 {
		return nil, flowError(errs)
	}
	p := &Program{graph: g, nodes: map[string]*cnode{}}
	starts := 0
	for _, n := range g.Nodes {
		if !idPattern.MatchString(n.ID) {
			fail("graph", "node id %q must be 1-64 letters, digits or _.:-", truncate(n.ID, 70))
			continue
		}
		if _, dup := p.nodes[n.ID]; dup {
			fail(n.ID, "two nodes have the id %q", n.ID)
			continue
		}
		if _, ok := labels[n.Type]; !ok {
			fail(n.ID, "unknown node type %q", truncate(n.Type, 40))
			continue
		}
		if len(n.Data) > MaxDataSize {
			fail(n.ID, "node data is over %d bytes", MaxDataSize)
			continue
		}
		cn := &cnode{Node: n, out: map[string]string{}}
		p.nodes[n.ID] = cn
		if n.Type == NodeStart {
			starts++
			p.start = n.ID
		}
		if msg := cn.compile(); msg != "" {
			fail(n.ID, "%s", msg)
		}
	}
	switch {
	case starts == 0:
		fail("graph", "a flow needs one start node")
	case starts > 1:
		fail("graph", "a flow has exactly one start node, not %d", starts)
	}
	for _, e := range g.Edges {
		src, ok := p.nodes[e.Source]
		if !ok {
			fail(edgeKey(e), "edge %q starts at a node that does not exist", e.ID)
			continue
		}
		if _, ok := p.nodes[e.Target]; !ok {
			fail(src.ID, "edge %q goes to a node that does not exist", e.ID)
			continue
		}
		if !src.allows(e.Label) {
			if e.Label == "" {
				fail(src.ID, "a %s node's edges need a label: %s", src.Type, strings.Join(src.labels(), ", "))
			} else {
				fail(src.ID, "a %s node has no %q branch (it has: %s)", src.Type, e.Label, strings.Join(src.labels(), ", "))
			}
			continue
		}
		if _, dup := src.out[e.Label]; dup {
			fail(src.ID, "two edges leave by the %q branch", e.Label)
			continue
		}
		src.out[e.Label] = e.Target
	}
	if p.start != "" && starts == 1 {
		reach := p.reachable()
		for _, n := range g.Nodes {
			if cn := p.nodes[n.ID]; cn != nil && !reach[n.ID] {
				fail(n.ID, "this node cannot be reached from start")
			}
		}
		if cyc := p.cycle(); cyc != "" {
			fail(cyc, "this node is on a loop that never waits; a loop must pass through a queue or assign node")
		}
	}
	if len(errs) > 0 {
		return nil, flowError(errs)
	}
	return p, nil
}

func flowError(fields map[string]string) error {
	return &kefu.Error{Code: kefu.EFlow, Message: errFlowInvalid, Fields: fields}
}

func edgeKey(e Edge) string {
	if idPattern.MatchString(e.Source) {
		return e.Source
	}
	return "graph"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (n *cnode) labels() []string {
	if n.Type == NodeSwitch {
		out := []string{}
		for _, c := range n.cases {
			out = append(out, c.label)
		}
		return append(out, "default", "error")
	}
	var out []string
	for _, l := range labels[n.Type] {
		if l == "" {
			l = "(no label)"
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return []string{"none: it ends the flow"}
	}
	return out
}

func (n *cnode) allows(label string) bool {
	if n.Type == NodeSwitch {
		if label == "default" || label == "error" {
			return true
		}
		for _, c := range n.cases {
			if c.label == label {
				return true
			}
		}
		return false
	}
	for _, l := range labels[n.Type] {
		if l == label {
			return true
		}
	}
	return false
}

func decodeData(raw json.RawMessage, v any) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return "node data does not fit its type: " + err.Error()
	}
	return ""
}

func exprError(err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return "expression: " + msg
}

// compile checks a node's data and compiles its expressions; it returns the
// problem in words, or "".
func (n *cnode) compile() string {
	switch n.Type {
	case NodeCondition:
		var d conditionData
		if msg := decodeData(n.Data, &d); msg != "" {
			return msg
		}
		prog, err := CompileBool(d.Expr)
		if err != nil {
			return exprError(err)
		}
		n.cond = prog
	case NodeSwitch:
		var d switchData
		if msg := decodeData(n.Data, &d); msg != "" {
			return msg
		}
		if len(d.Cases) == 0 || len(d.Cases) > 20 {
			return "a switch needs 1 to 20 cases"
		}
		seen := map[string]bool{}
		for i, c := range d.Cases {
			if c.Label == "" || c.Label == "default" || c.Label == "error" || len(c.Label) > 40 || seen[c.Label] {
				return fmt.Sprintf("case %d: its label must be unique, 1-40 characters, not default or error", i+1)
			}
			seen[c.Label] = true
			prog, err := CompileBool(c.Expr)
			if err != nil {
				return fmt.Sprintf("case %q: %s", c.Label, exprError(err))
			}
			n.cases = append(n.cases, ccase{label: c.Label, prog: prog})
		}
	case NodeReply:
		if msg := decodeData(n.Data, &n.reply); msg != "" {
			return msg
		}
		if strings.TrimSpace(n.reply.Text) == "" || utf8.RuneCountInString(n.reply.Text) > 2000 {
			return "reply text must be 1-2000 characters"
		}
	case NodeLLM:
		if msg := decodeData(n.Data, &n.llm); msg != "" {
			return msg
		}
		if n.llm.TimeoutMS == 0 {
			n.llm.TimeoutMS = 3000
		}
		if n.llm.TimeoutMS < 100 || n.llm.TimeoutMS > 60000 {
			return "timeout_ms must be between 100 and 60000"
		}
		if utf8.RuneCountInString(n.llm.FallbackText) > 2000 {
			return "fallback_text must be at most 2000 characters"
		}
		if utf8.RuneCountInString(n.llm.Model) > 200 {
			return "model must be at most 200 characters"
		}
		if utf8.RuneCountInString(n.llm.SystemPrompt) > 8000 {
			return "system_prompt must be at most 8000 characters"
		}
	case NodeBusinessHours:
		if msg := decodeData(n.Data, &n.hours); msg != "" {
			return msg
		}
		if n.hours.Timezone == "" {
			n.hours.Timezone = "UTC"
		}
		loc, err := loadTZ(n.hours.Timezone)
		if err != nil {
			return fmt.Sprintf("unknown time zone %q", n.hours.Timezone)
		}
		n.loc = loc
		for day, spans := range n.hours.Schedule {
			if _, ok := weekdays[day]; !ok {
				return fmt.Sprintf("schedule day %q must be one of mon tue wed thu fri sat sun", day)
			}
			for _, s := range spans {
				if !hhmmPattern.MatchString(s[0]) || !hhmmPattern.MatchString(s[1]) || s[0] >= s[1] {
					return fmt.Sprintf("schedule %s: %q–%q must be HH:MM with the start before the end", day, s[0], s[1])
				}
			}
		}
		for _, h := range n.hours.Holidays {
			if _, err := time.Parse("2006-01-02", h); err != nil || !datePattern.MatchString(h) {
				return fmt.Sprintf("holiday %q must be a date like 2026-12-25", h)
			}
		}
	case NodeSet:
		var d setData
		if msg := decodeData(n.Data, &d); msg != "" {
			return msg
		}
		if !attrPattern.MatchString(d.Attribute) {
			return "attribute must be a lowercase name (letters, digits, _)"
		}
		prog, err := CompileValue(d.Expr)
		if err != nil {
			return exprError(err)
		}
		n.set, n.setTo = prog, d.Attribute
	case NodeTag:
		var d tagData
		if msg := decodeData(n.Data, &d); msg != "" {
			return msg
		}
		if len(d.Labels) == 0 || len(d.Labels) > 20 {
			return "a tag node needs 1 to 20 labels"
		}
		for _, l := range d.Labels {
			if strings.TrimSpace(l) == "" || utf8.RuneCountInString(l) > 50 {
				return "each label must be 1-50 characters"
			}
		}
		n.tags = d.Labels
	case NodeWebhook:
		if msg := decodeData(n.Data, &n.hook); msg != "" {
			return msg
		}
		u, err := url.Parse(n.hook.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "url must be an http(s) URL"
		}
		if n.hook.TimeoutMS == 0 {
			n.hook.TimeoutMS = 5000
		}
		if n.hook.TimeoutMS < 100 || n.hook.TimeoutMS > 30000 {
			return "timeout_ms must be between 100 and 30000"
		}
	case NodeQueue:
		if msg := decodeData(n.Data, &n.queue); msg != "" {
			return msg
		}
		if n.queue.TimeoutSeconds < 0 || n.queue.TimeoutSeconds > 86400 {
			return "timeout_seconds must be between 0 (wait forever) and 86400"
		}
	case NodeAssign:
		if msg := decodeData(n.Data, &n.assign); msg != "" {
			return msg
		}
		switch n.assign.Strategy {
		case "":
			n.assign.Strategy = StrategyRoundRobin
		case StrategyRoundRobin, StrategyLeastBusy, StrategySkills:
		default:
			return "strategy must be round_robin, least_busy or skills"
		}
		if n.assign.Strategy == StrategySkills && len(n.assign.Skills) == 0 {
			return "the skills strategy needs at least one skill"
		}
		for i, s := range n.assign.Skills {
			n.assign.Skills[i] = strings.ToLower(strings.TrimSpace(s))
		}
		if n.assign.TimeoutSeconds < 0 || n.assign.TimeoutSeconds > 86400 {
			return "timeout_seconds must be between 0 (wait forever) and 86400"
		}
	}
	return ""
}

// reachable is the set of nodes a walk from start can visit.
func (p *Program) reachable() map[string]bool {
	seen := map[string]bool{p.start: true}
	stack := []string{p.start}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, t := range p.nodes[id].out {
			if !seen[t] {
				seen[t] = true
				stack = append(stack, t)
			}
		}
	}
	return seen
}

// cycle returns a node on a loop that passes through no waiting node, or "".
func (p *Program) cycle() string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var found string
	var visit func(id string)
	visit = func(id string) {
		color[id] = grey
		n := p.nodes[id]
		if !waits(n.Type) { // edges out of a waiting node run on a later event
			keys := make([]string, 0, len(n.out))
			for l := range n.out {
				keys = append(keys, l)
			}
			sort.Strings(keys)
			for _, l := range keys {
				t := n.out[l]
				switch color[t] {
				case grey:
					if found == "" {
						found = t
					}
				case white:
					visit(t)
				}
			}
		}
		color[id] = black
	}
	ids := make([]string, 0, len(p.nodes))
	for id := range p.nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if color[id] == white {
			visit(id)
		}
	}
	return found
}
