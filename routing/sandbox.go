package routing

import (
	"fmt"
	"reflect"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// The sandbox. A flow expression is compiled in three passes:
//
//  1. guard: the bare parse tree is checked against what flows allow — the
//     builtins below, the helpers, constant `matches` patterns small enough
//     for RE2 to run quickly; no $env, no method calls. This runs before
//     expr's checker, which would compile the regular expressions.
//  2. expr's own type check, with its own builtins, for its error messages.
//  3. the program that runs, patched (sandboxPatch) so that everything that
//     can build a large value or loop goes through a function that charges
//     the run's meter first and refuses what is over the limits.

// Builtins flows may use, by how they are made safe.
var (
	// predicates loop over a list; each visit ticks the meter.
	predicateBuiltins = set("all", "none", "any", "one", "filter", "map", "count", "sum",
		"find", "findIndex", "findLast", "findLastIndex", "reduce")
	// nativeBuiltins return a scalar or an element of their argument, in
	// time bounded by sizes the sandbox already caps.
	nativeBuiltins = set("len", "type", "abs", "ceil", "floor", "round", "int", "float",
		"indexOf", "lastIndexOf", "hasPrefix", "hasSuffix", "first", "last", "get",
		"bitand", "bitor", "bitxor", "bitnand", "bitnot", "bitshl", "bitshr", "bitushr")
	// cappedBuiltins build strings or lists: they run behind capped() —
	// charged for their input, refused when their output would be too large.
	cappedBuiltins = set("string", "trim", "trimPrefix", "trimSuffix", "upper", "lower",
		"split", "splitAfter", "replace", "repeat", "join", "max", "min", "mean", "median",
		"toJSON", "fromJSON", "toBase64", "fromBase64", "keys", "values", "toPairs", "fromPairs",
		"reverse", "uniq", "concat", "flatten", "sort", "take")
	// helpers are Kefu's own functions (env.go); the capped ones are patched.
	helpers       = set("contains_any", "hour", "weekday", "attr")
	cappedHelpers = set("contains_any", "attr")
)

// Names the patch uses. They contain a colon, which no identifier an
// expression can spell has, so an expression cannot reach the meter or call
// a capped function with arguments of its own.
const (
	meterName = "kefu:meter"
	tickName  = "kefu:tick"
	fnPrefix  = "kefu:"
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// compileExpr is CompileBool and CompileValue.
func compileExpr(src string, asBool bool) (*vm.Program, error) {
	if err := checkSource(src); err != nil {
		return nil, err
	}
	opts := exprOptions()
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	cfg := conf.CreateNew()
	for _, op := range opts {
		op(cfg)
	}
	tree, err := parser.ParseWithConfig(src, cfg)
	if err != nil {
		return nil, err
	}
	g := &guard{regexps: map[string]*pattern{}}
	ast.Walk(&tree.Node, g)
	if g.err != nil {
		return nil, g.err
	}
	if _, err := checker.Check(tree, cfg); err != nil {
		return nil, err
	}
	sb := &sandbox{regexps: g.regexps}
	return expr.Compile(src, append(opts, sb.options()...)...)
}

// pattern is a `matches` pattern compiled when the flow is saved.
type pattern struct {
	re    *regexp.Regexp
	insts int
}

// guard refuses what flows do not allow, before anything is compiled.
type guard struct {
	regexps map[string]*pattern
	err     error
}

func (g *guard) fail(format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf(format, args...)
	}
}

func (g *guard) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if strings.HasPrefix(n.Value, "$") {
			g.fail("%s is not available in flow expressions", n.Value)
		}
	case *ast.BinaryNode:
		if n.Operator == "matches" {
			s, ok := n.Right.(*ast.StringNode)
			if !ok {
				g.fail("the pattern after matches must be a string literal: patterns are fixed when the flow is saved")
				return
			}
			if err := g.pattern(s.Value); err != nil {
				g.fail("matches %q: %v", truncate(s.Value, 60), err)
			}
		}
	case *ast.BuiltinNode:
		if !predicateBuiltins[n.Name] && !nativeBuiltins[n.Name] && !cappedBuiltins[n.Name] {
			g.fail("%s() is not available in flow expressions", n.Name)
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		switch {
		case !ok:
			g.fail("method calls are not available in flow expressions")
		case !helpers[id.Value]:
			g.fail("%s() is not available in flow expressions", id.Value)
		}
	case *ast.NilNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.StringNode, *ast.BytesNode,
		*ast.UnaryNode, *ast.ChainNode, *ast.MemberNode, *ast.SliceNode, *ast.PredicateNode, *ast.PointerNode,
		*ast.ConditionalNode, *ast.VariableDeclaratorNode, *ast.SequenceNode, *ast.ArrayNode, *ast.MapNode, *ast.PairNode:
	default:
		g.fail("this kind of expression (%T) is not available in flow expressions", n)
	}
}

// pattern checks a `matches` pattern: RE2 syntax, and a program small
// enough that matching a long message stays fast. The size is estimated on
// the parse tree before the pattern is compiled, as `(a{1000}){1000}`
// compiles to a million instructions.
func (g *guard) pattern(p string) error {
	if _, ok := g.regexps[p]; ok {
		return nil
	}
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return err
	}
	if n := regexSize(re); n > MaxRegexInsts {
		return fmt.Errorf("the pattern is too large (about %d instructions; at most %d)", n, MaxRegexInsts)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return err
	}
	if len(prog.Inst) > MaxRegexInsts {
		return fmt.Errorf("the pattern is too large (%d instructions; at most %d)", len(prog.Inst), MaxRegexInsts)
	}
	compiled, err := regexp.Compile(p)
	if err != nil {
		return err
	}
	g.regexps[p] = &pattern{re: compiled, insts: len(prog.Inst)}
	return nil
}

// regexSize estimates the instructions re compiles to, saturating above
// the limit so nested repeats cannot overflow it.
func regexSize(re *syntax.Regexp) int {
	const over = MaxRegexInsts + 1
	sat := func(n int) int { return min(n, over) }
	sub := 0
	for _, s := range re.Sub {
		sub = sat(sub + regexSize(s))
	}
	switch re.Op {
	case syntax.OpLiteral:
		return sat(len(re.Rune))
	case syntax.OpCapture:
		return sat(sub + 2)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpAlternate:
		return sat(sub + len(re.Sub))
	case syntax.OpRepeat:
		n := re.Max
		if n < 0 {
			n = re.Min + 1
		}
		return sat(sub*max(n, 1) + n)
	case syntax.OpConcat:
		return sub
	}
	return 1
}

// sandbox is the patch and the capped functions of one compiled expression.
type sandbox struct {
	regexps map[string]*pattern
}

func (sb *sandbox) options() []expr.Option {
	opts := []expr.Option{
		expr.Patch(sandboxPatch{}),
		expr.Function(fnPrefix+"cap", capValue, new(func(*meter, any) any)),
		expr.Function(fnPrefix+"charge", chargeInput, new(func(*meter, any) any)),
		expr.Function(fnPrefix+"add", add, new(func(*meter, any, any) any)),
		expr.Function(fnPrefix+"range", makeRange, new(func(*meter, any, any) []int)),
		expr.Function(fnPrefix+"in", in, new(func(*meter, any, any) bool)),
		expr.Function(fnPrefix+"eq", equal, new(func(*meter, any, any) bool)),
		expr.Function(fnPrefix+"matches", sb.matches, new(func(*meter, any, string) bool)),
		expr.Function(fnPrefix+"contains_any", containsAny, new(func(*meter, string, []any) bool)),
		expr.Function(fnPrefix+"attr", attr, new(func(*meter, map[string]any, string) string)),
	}
	for name := range cappedBuiltins {
		opts = append(opts, expr.Function(fnPrefix+name, capped(name), new(func(*meter, ...any) any)))
	}
	return opts
}

// sandboxPatch rewrites the checked tree so every operation that can build
// a large value or loop is charged to the run's meter. ast.Walk visits
// children first, so a node's operands are already patched when it is; the
// replacement keeps the node's type, which its parent's decision reads.
type sandboxPatch struct{}

func (sandboxPatch) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		patchBinary(node, n)
	case *ast.BuiltinNode:
		patchBuiltin(node, n)
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && cappedHelpers[id.Value] {
			replace(node, fnPrefix+id.Value, n.Arguments...)
		}
	case *ast.ArrayNode:
		if !allLiterals(n.Nodes) {
			replace(node, fnPrefix+"cap", n)
		}
	case *ast.MapNode:
		for _, p := range n.Pairs {
			if pair, ok := p.(*ast.PairNode); !ok || !isLiteral(pair.Value) {
				replace(node, fnPrefix+"cap", n)
				return
			}
		}
	}
}

func patchBinary(node *ast.Node, n *ast.BinaryNode) {
	switch n.Operator {
	case "+":
		if isLiteral(n.Left) && isLiteral(n.Right) || isNumber(n.Left) && isNumber(n.Right) {
			return // folded when compiled, or arithmetic
		}
		replace(node, fnPrefix+"add", n.Left, n.Right)
	case "..":
		replace(node, fnPrefix+"range", n.Left, n.Right)
	case "in":
		if k := kindOf(n.Right); k == reflect.Map || k == reflect.Struct {
			return // a lookup
		}
		if r := constRange(n.Right); r != nil && kindOf(n.Left) == reflect.Int {
			n.Right = r // expr's optimizer makes it two comparisons
			return
		}
		replace(node, fnPrefix+"in", n.Left, n.Right)
	case "==", "!=":
		if isScalar(n.Left) && isScalar(n.Right) {
			return
		}
		op := n.Operator
		replace(node, fnPrefix+"eq", n.Left, n.Right)
		if op == "!=" {
			not := &ast.UnaryNode{Operator: "!", Node: *node}
			not.SetType(reflect.TypeOf(true))
			ast.Patch(node, not)
		}
	case "matches":
		replace(node, fnPrefix+"matches", n.Left, n.Right)
	}
}

func patchBuiltin(node *ast.Node, n *ast.BuiltinNode) {
	switch {
	case predicateBuiltins[n.Name]:
		ticked := false
		for _, a := range n.Arguments {
			if p, ok := a.(*ast.PredicateNode); ok {
				tick := &ast.CallNode{Callee: &ast.IdentifierNode{Value: tickName}}
				p.Node = &ast.SequenceNode{Nodes: []ast.Node{tick, p.Node}}
				ticked = true
			}
		}
		if !ticked && len(n.Arguments) > 0 { // count(list), sum(list)
			n.Arguments[0] = call(fnPrefix+"charge", n.Arguments[0])
		}
		if n.Name == "map" || n.Name == "filter" {
			replace(node, fnPrefix+"cap", n)
		}
	case cappedBuiltins[n.Name]:
		replace(node, fnPrefix+n.Name, n.Arguments...)
	}
}

// constRange undoes the patch of a..b with integer literals, for `x in a..b`.
func constRange(n ast.Node) ast.Node {
	c, ok := n.(*ast.CallNode)
	if !ok || len(c.Arguments) != 3 {
		return nil
	}
	if id, ok := c.Callee.(*ast.IdentifierNode); !ok || id.Value != fnPrefix+"range" {
		return nil
	}
	from, ok1 := c.Arguments[1].(*ast.IntegerNode)
	to, ok2 := c.Arguments[2].(*ast.IntegerNode)
	if !ok1 || !ok2 {
		return nil
	}
	r := &ast.BinaryNode{Operator: "..", Left: from, Right: to}
	r.SetType(c.Type())
	return r
}

// call is a call of a sandbox function with the meter as first argument.
func call(name string, args ...ast.Node) *ast.CallNode {
	return &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: name},
		Arguments: append([]ast.Node{&ast.IdentifierNode{Value: meterName}}, args...),
	}
}

// replace puts a call of name in node's place, with node's type.
func replace(node *ast.Node, name string, args ...ast.Node) {
	c := call(name, args...)
	if t := (*node).Type(); t != nil {
		c.SetType(t)
	}
	ast.Patch(node, c)
}

func kindOf(n ast.Node) reflect.Kind {
	if t := n.Type(); t != nil {
		return t.Kind()
	}
	return reflect.Interface
}

func isNumber(n ast.Node) bool {
	switch kindOf(n) {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// isScalar: comparing two of these takes time bounded by a string's length.
func isScalar(n ast.Node) bool {
	if _, ok := n.(*ast.NilNode); ok {
		return true
	}
	k := kindOf(n)
	return isNumber(n) || k == reflect.String || k == reflect.Bool
}

func isLiteral(n ast.Node) bool {
	switch n.(type) {
	case *ast.NilNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.StringNode:
		return true
	}
	return false
}

func allLiterals(nodes []ast.Node) bool {
	for _, n := range nodes {
		if !isLiteral(n) {
			return false
		}
	}
	return true
}
