package routing

import (
	"context"
	"fmt"
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
	f.Fuzz(func(t *testing.T, src string) {
		prog, err := CompileBool(src)
		if err != nil {
			return
		}
		env := Env{Visitor: VisitorEnv{Name: "Vera", Attributes: map[string]any{"plan": "pro"}}, Message: MessageEnv{Text: "hi"}, Now: NewNow(time.Now())}
		setMeter(&env, newMeter(context.Background()))
		_, _ = evalBool(prog, env)
	})
}

// FuzzEvalExpr: expressions — the seeds' text as the fuzzer mutates it, and
// one generated from the recipe bytes out of the operators and builtins
// that build strings and lists or loop — are refused when saved, or run
// within the run's budget: no panic, no more than bombTime and bombAlloc.
func FuzzEvalExpr(f *testing.F) {
	for i, b := range bombs() {
		f.Add(b.src, []byte{byte(i), byte(i * 7), byte(i * 13), 0xff, byte(i * 31)})
	}
	f.Add(`visitor.attributes.plan == "pro"`, []byte("seed"))
	f.Add(`len(map(1..100, {visitor.name + string(#)})) > 0`, []byte{3, 1, 4, 1, 5, 9, 2, 6})
	f.Fuzz(func(t *testing.T, src string, recipe []byte) {
		g := &exprGen{recipe: recipe}
		for _, s := range []string{src, g.boolean(0)} {
			p, err := Compile(condFlow(s))
			if err != nil {
				continue
			}
			r := runBounded(t, p, sampleInput())
			if t.Failed() {
				t.Fatalf("%s: over the bounds", s)
			}
			if r.Action == "" {
				t.Fatalf("%s: no action", s)
			}
		}
	})
}

// exprGen writes a boolean expression from recipe bytes, favouring what
// grows: doubling, ranges, nested predicates, string and list builtins.
type exprGen struct {
	recipe []byte
	i      int
	vars   []string
}

func (g *exprGen) pick(n int) int {
	if g.i >= len(g.recipe) {
		return 0
	}
	c := g.recipe[g.i]
	g.i++
	return int(c) % n
}

func (g *exprGen) boolean(d int) string {
	if d > 4 {
		return "true"
	}
	switch g.pick(8) {
	case 0:
		return "len(" + g.str(d+1) + ") > " + g.num(d+1)
	case 1:
		return "len(" + g.list(d+1) + ") > 0"
	case 2:
		return g.str(d+1) + ` matches "(a+)+$"`
	case 3:
		return "any(" + g.list(d+1) + ", {" + g.boolean(d+1) + "})"
	case 4:
		return "all(" + g.list(d+1) + ", {" + g.boolean(d+1) + "})"
	case 5:
		name := fmt.Sprintf("v%d", len(g.vars))
		val := g.str(d + 1)
		g.vars = append(g.vars, name)
		return "let " + name + " = " + val + "; " + g.boolean(d+1)
	case 6:
		return g.str(d+1) + " contains " + g.str(d+1)
	}
	return g.num(d+1) + " in " + g.list(d+1)
}

func (g *exprGen) str(d int) string {
	if d > 4 {
		return "message.text"
	}
	switch g.pick(10) {
	case 0:
		return g.str(d+1) + " + " + g.str(d+1)
	case 1:
		if len(g.vars) > 0 {
			v := g.vars[g.pick(len(g.vars))]
			return v + " + " + v
		}
		return "visitor.name"
	case 2:
		return "repeat(" + g.str(d+1) + ", " + g.num(d+1) + ")"
	case 3:
		return "join(" + g.list(d+1) + `, ",")`
	case 4:
		return "toJSON(" + g.list(d+1) + ")"
	case 5:
		return "replace(" + g.str(d+1) + `, "a", ` + g.str(d+1) + ")"
	case 6:
		return "upper(" + g.str(d+1) + ")"
	case 7:
		return "string(" + g.list(d+1) + ")"
	case 8:
		return "reduce(" + g.list(d+1) + ", {#acc + #acc}, " + g.str(d+1) + ")"
	}
	return "message.text"
}

func (g *exprGen) list(d int) string {
	if d > 4 {
		return "[1, 2]"
	}
	switch g.pick(9) {
	case 0:
		return "1.." + g.num(d+1)
	case 1:
		return "map(" + g.list(d+1) + ", {" + g.str(d+1) + "})"
	case 2:
		return "map(" + g.list(d+1) + ", {" + g.list(d+1) + "})"
	case 3:
		return "flatten(" + g.list(d+1) + ")"
	case 4:
		return "concat(" + g.list(d+1) + ", " + g.list(d+1) + ")"
	case 5:
		return "split(" + g.str(d+1) + `, "")`
	case 6:
		return "[" + g.list(d+1) + ", " + g.list(d+1) + "]"
	case 7:
		return "sort(" + g.list(d+1) + ")"
	}
	return "filter(" + g.list(d+1) + ", {" + g.boolean(d+1) + "})"
}

func (g *exprGen) num(d int) string {
	switch g.pick(5) {
	case 0:
		return "1000000000"
	case 1:
		return "10000"
	case 2:
		return "len(" + g.str(d+1) + ")"
	case 3:
		return "count(" + g.list(d+1) + ", {true})"
	}
	return "3"
}
