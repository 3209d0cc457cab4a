package routing

import (
	"context"
	"testing"
	"time"
)

// FuzzCompileGraph: any bytes either fail to decode/validate with a typed
// error, or compile to a program that runs to an action without panicking.
func FuzzCompileGraph(f *testing.F) {
	f.Add([]byte(`{"nodes":[{"id":"s","type":"start"},{"id":"r","type":"reply","data":{"text":"hi"}}],"edges":[{"id":"e","source":"s","target":"r"}]}`))
	f.Add([]byte(`{"nodes":[{"id":"s","type":"start"},{"id":"c","type":"condition","data":{"expr":"visitor.attributes.plan == \"pro\""}},{"id":"q","type":"queue"}],"edges":[{"id":"1","source":"s","target":"c"},{"id":"2","source":"c","target":"q","label":"true"}]}`))
	f.Add([]byte(`{"nodes":[{"id":"s","type":"start"},{"id":"w","type":"switch","data":{"cases":[{"label":"a","expr":"contains_any(message.text, [\"x\"])"}]}}],"edges":[{"id":"1","source":"s","target":"w"}]}`))
	f.Add([]byte(`{"nodes":[{"id":"s","type":"start"},{"id":"a","type":"reply","data":{"text":"x"}}],"edges":[{"id":"1","source":"s","target":"a"},{"id":"2","source":"a","target":"a"}]}`))
	f.Add([]byte(`{"nodes":[],"edges":[]}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := DecodeGraph(b)
		if err != nil {
			return
		}
		p, err := Compile(g)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r := p.Run(ctx, Input{Event: EventConversationCreated}, &fakeServices{})
		switch r.Action {
		case ActionAssign, ActionQueue, ActionEnd:
		default:
			t.Fatalf("run ended with action %q", r.Action)
		}
		if len(r.Trace) > MaxSteps+2 {
			t.Fatalf("trace of %d steps", len(r.Trace))
		}
	})
}

// FuzzCompileExpr: any source compiles or fails cleanly; a compiled one runs
// against a sample environment without panicking.
func FuzzCompileExpr(f *testing.F) {
	for _, s := range []string{
		`visitor.attributes.plan == "pro"`, `contains_any(message.text, ["refund", "退款"])`,
		`hour(now, "Asia/Shanghai") >= 9 && weekday(now) < 6`, `message.text matches "^(?i)hi"`,
		`conversation.messages_count > 3 || visitor.returning`, `len(visitor.name) > 0`, `1 +`, `now.Hour()`,
	} {
		f.Add(s)
	}
	env := Env{Visitor: VisitorEnv{Name: "Vera", Attributes: map[string]any{"plan": "pro"}}, Message: MessageEnv{Text: "hi"}, Now: NewNow(time.Now())}
	f.Fuzz(func(t *testing.T, src string) {
		prog, err := CompileBool(src)
		if err != nil {
			return
		}
		_, _ = evalBool(prog, env)
	})
}
