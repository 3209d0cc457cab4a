package routing

import "encoding/json"

// DefaultGraph is the flow a new tenant starts with: greet, check business
// hours, then assign round robin; out of hours (or with nobody free) the
// visitor waits in the queue.
func DefaultGraph() Graph {
	data := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	return Graph{
		Nodes: []Node{
			{ID: "start", Type: NodeStart, Position: Position{X: 0, Y: 0}},
			{ID: "greet", Type: NodeReply, Data: data(map[string]any{"text": "Hi! Thanks for reaching out — we'll be with you shortly. 您好！我们马上为您服务。"}), Position: Position{X: 0, Y: 120}},
			{ID: "hours", Type: NodeBusinessHours, Data: data(map[string]any{
				"timezone": "UTC",
				"schedule": map[string][][2]string{"mon": {{"00:00", "24:00"}}, "tue": {{"00:00", "24:00"}}, "wed": {{"00:00", "24:00"}}, "thu": {{"00:00", "24:00"}}, "fri": {{"00:00", "24:00"}}, "sat": {{"00:00", "24:00"}}, "sun": {{"00:00", "24:00"}}},
			}), Position: Position{X: 0, Y: 240}},
			{ID: "assign", Type: NodeAssign, Data: data(map[string]any{"strategy": StrategyRoundRobin}), Position: Position{X: -160, Y: 380}},
			{ID: "closed", Type: NodeReply, Data: data(map[string]any{"text": "We're closed right now; leave a message and we'll reply as soon as we're back."}), Position: Position{X: 160, Y: 380}},
			{ID: "queue", Type: NodeQueue, Data: data(map[string]any{}), Position: Position{X: 160, Y: 500}},
		},
		Edges: []Edge{
			{ID: "e1", Source: "start", Target: "greet"},
			{ID: "e2", Source: "greet", Target: "hours"},
			{ID: "e3", Source: "hours", Target: "assign", Label: "open"},
			{ID: "e4", Source: "hours", Target: "closed", Label: "closed"},
			{ID: "e5", Source: "closed", Target: "queue"},
		},
	}
}
