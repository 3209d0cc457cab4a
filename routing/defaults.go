package routing

import "encoding/json"

// defaultTexts are the default flow's replies in the languages a tenant may
// sign up in.
var defaultTexts = map[string][2]string{
	"en":    {"Hi! Thanks for reaching out — we'll be with you shortly.", "We're closed right now; leave a message and we'll reply as soon as we're back."},
	"zh-CN": {"您好！感谢您的咨询，我们马上为您服务。", "我们现在不在工作时间。请留言，我们回来后会尽快回复您。"},
}

// DefaultGraph is the flow a new tenant starts with, its texts in lang (en
// or zh-CN): greet a new conversation once, answer from the FAQ when it
// covers the question (the conversation then stays with the bot), else
// check business hours, then assign round robin; out of hours the visitor
// is told so once and waits in the queue, as when nobody is free. Later
// visitor messages (and a reopened conversation) run it again without the
// greeting or notice, retrying the assignment.
func DefaultGraph(lang string) Graph {
	texts, ok := defaultTexts[lang]
	if !ok {
		texts = defaultTexts["en"]
	}
	data := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	allDay := [][2]string{{"00:00", "24:00"}}
	return Graph{
		Nodes: []Node{
			{ID: "start", Type: NodeStart, Position: Position{X: 0, Y: 0}},
			{ID: "is_new", Type: NodeCondition, Data: data(map[string]any{"expr": `event == "conversation.created"`}), Position: Position{X: 0, Y: 110}},
			{ID: "greet", Type: NodeReply, Data: data(map[string]any{"text": texts[0]}), Position: Position{X: -180, Y: 220}},
			{ID: "faq", Type: NodeFAQ, Position: Position{X: 0, Y: 220}},
			{ID: "hours", Type: NodeBusinessHours, Data: data(map[string]any{
				"timezone": "UTC",
				"schedule": map[string][][2]string{"mon": allDay, "tue": allDay, "wed": allDay, "thu": allDay, "fri": allDay, "sat": allDay, "sun": allDay},
			}), Position: Position{X: 0, Y: 340}},
			{ID: "assign", Type: NodeAssign, Data: data(map[string]any{"strategy": StrategyRoundRobin}), Position: Position{X: -180, Y: 470}},
			{ID: "notice", Type: NodeCondition, Data: data(map[string]any{"expr": `event == "conversation.created"`}), Position: Position{X: 180, Y: 470}},
			{ID: "closed", Type: NodeReply, Data: data(map[string]any{"text": texts[1]}), Position: Position{X: 80, Y: 590}},
			{ID: "queue", Type: NodeQueue, Data: data(map[string]any{}), Position: Position{X: 180, Y: 710}},
		},
		Edges: []Edge{
			{ID: "e1", Source: "start", Target: "is_new"},
			{ID: "e2", Source: "is_new", Target: "greet", Label: "true"},
			{ID: "e3", Source: "is_new", Target: "faq", Label: "false"},
			{ID: "e4", Source: "greet", Target: "faq"},
			{ID: "e10", Source: "faq", Target: "hours", Label: "unanswered"},
			{ID: "e5", Source: "hours", Target: "assign", Label: "open"},
			{ID: "e6", Source: "hours", Target: "notice", Label: "closed"},
			{ID: "e7", Source: "notice", Target: "closed", Label: "true"},
			{ID: "e8", Source: "notice", Target: "queue", Label: "false"},
			{ID: "e9", Source: "closed", Target: "queue"},
		},
	}
}
