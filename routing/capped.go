package routing

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/vm/runtime"
)

// The functions sandboxPatch routes operations through. Each takes the run's
// meter first, charges it before the work, refuses an output over the limits
// before building it where the output can outgrow the input (string +,
// ranges, repeat, join, replace, concat, split, toJSON, toBase64), and
// measures it afterwards otherwise (the input is already bounded, so the
// output is too). Errors become the node's error branch.

// inputDepth is how deeply an input may nest (encoding/json's own limit);
// measuring only to charge for a comparison goes that deep.
const inputDepth = 10_000

func meterOf(params []any) *meter {
	m, _ := params[0].(*meter)
	return m
}

func errStringSize(n int) error {
	return fmt.Errorf("a string of %d bytes is over the limit of %d", n, MaxStringBytes)
}

func errItems(n int) error {
	return fmt.Errorf("a list of %d elements is over the limit of %d", n, MaxItems)
}

// built checks and charges a value an operation made.
func (m *meter) built(v any) error {
	if s, ok := v.(string); ok {
		if len(s) > MaxStringBytes {
			return errStringSize(len(s))
		}
		return m.charge(stepsFor(int64(len(s)), 0), int64(len(s)))
	}
	size, visits, err := sizeOf(v, MaxValueBytes, MaxDepth)
	if cerr := m.charge(stepsFor(0, visits), size); err == nil {
		err = cerr
	}
	return err
}

// chargeRead charges for reading v once (a comparison, a scan): its size
// counted in full, however deep an input nests.
func (m *meter) chargeRead(v any) error {
	switch x := v.(type) {
	case nil, bool, int, float64:
		return m.charge(1, 0)
	case string:
		return m.charge(stepsFor(int64(len(x)), 0), 0)
	}
	_, visits, err := sizeOf(v, MaxValueBytes+MaxInputBytes, inputDepth)
	if cerr := m.charge(stepsFor(0, visits), 0); err == nil {
		err = cerr
	}
	return err
}

// lenOf is the length of a list, map or string, or 0.
func lenOf(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return rv.Len()
	}
	return 0
}

// capValue checks a list or map literal, or what map or filter returned.
func capValue(params ...any) (any, error) {
	return params[1], meterOf(params).built(params[1])
}

// chargeInput charges count(list) and sum(list) for the list they walk.
func chargeInput(params ...any) (any, error) {
	return params[1], meterOf(params).charge(stepsFor(0, int64(lenOf(params[1]))), 0)
}

// add is + on anything but two numbers: strings are concatenated only if
// the result fits.
func add(params ...any) (any, error) {
	m := meterOf(params)
	a, b := params[1], params[2]
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			n := len(x) + len(y)
			if n > MaxStringBytes {
				return nil, errStringSize(n)
			}
			if err := m.charge(stepsFor(int64(n), 0), int64(n)); err != nil {
				return nil, err
			}
			return x + y, nil
		}
	}
	if err := m.charge(1, 0); err != nil {
		return nil, err
	}
	return runtime.Add(a, b), nil
}

// makeRange is a..b, at most MaxItems long.
func makeRange(params ...any) (any, error) {
	m := meterOf(params)
	a, b := int64(runtime.ToInt(params[1])), int64(runtime.ToInt(params[2]))
	if b >= a && (b-a < 0 || b-a >= MaxItems) { // b-a < 0: it overflowed
		return nil, fmt.Errorf("the range %d..%d is over the limit of %d elements", a, b, MaxItems)
	}
	n := max(b-a+1, 0)
	if err := m.charge(stepsFor(0, n), 8*n); err != nil {
		return nil, err
	}
	return runtime.MakeRange(int(a), int(b)), nil
}

// in is `x in list`, charged for the list it scans. The common lists are
// scanned without expr's reflection, which boxes every element it reads.
func in(params ...any) (any, error) {
	m := meterOf(params)
	needle, list := params[1], params[2]
	if err := m.charge(stepsFor(0, int64(lenOf(list))), 0); err != nil {
		return nil, err
	}
	switch l := list.(type) {
	case []int:
		if x, ok := needle.(int); ok {
			return slices.Contains(l, x), nil
		}
	case []string:
		if x, ok := needle.(string); ok {
			return slices.Contains(l, x), nil
		}
	case []any:
		if err := m.chargeRead(needle); err != nil {
			return nil, err
		}
		for _, e := range l {
			if runtime.Equal(e, needle) {
				return true, nil
			}
		}
		return false, nil
	}
	if err := m.chargeRead(list); err != nil {
		return nil, err
	}
	return runtime.In(needle, list), nil
}

// equal is == on anything but two scalars, charged for what it compares.
func equal(params ...any) (any, error) {
	m := meterOf(params)
	if err := m.chargeRead(params[1]); err != nil {
		return nil, err
	}
	return runtime.Equal(params[1], params[2]), nil
}

// matches runs a pattern the guard compiled when the flow was saved,
// charged for the text times the pattern's program.
func (sb *sandbox) matches(params ...any) (any, error) {
	m := meterOf(params)
	p := sb.regexps[params[2].(string)]
	if p == nil {
		return nil, fmt.Errorf("pattern %q was not compiled", truncate(params[2].(string), 40))
	}
	var n int
	switch s := params[1].(type) {
	case nil:
		return false, m.charge(1, 0)
	case string:
		n = len(s)
	case []byte:
		n = len(s)
	default:
		return nil, fmt.Errorf("matches needs a string, not %T", s)
	}
	if err := m.charge(1+int64(n)*int64(p.insts)/64, 0); err != nil {
		return nil, err
	}
	if s, ok := params[1].(string); ok {
		return p.re.MatchString(s), nil
	}
	return p.re.Match(params[1].([]byte)), nil
}

// containsAny is contains_any(text, words), charged for each word's scan.
func containsAny(params ...any) (any, error) {
	m := meterOf(params)
	s, _ := params[1].(string)
	words, _ := params[2].([]any)
	work := int64(len(s)) * int64(1+len(words))
	if err := m.charge(stepsFor(work, int64(len(words))), int64(len(s))); err != nil {
		return nil, err
	}
	s = strings.ToLower(s)
	for _, w := range words {
		if ws, ok := w.(string); ok && ws != "" && strings.Contains(s, strings.ToLower(ws)) {
			return true, nil
		}
	}
	return false, nil
}

// attr is attr(map, key): the value as a string, printed only if small.
func attr(params ...any) (any, error) {
	m := meterOf(params)
	attrs, _ := params[1].(map[string]any)
	k, _ := params[2].(string)
	v, ok := attrs[k]
	if !ok {
		return "", m.charge(1, 0)
	}
	if s, ok := v.(string); ok {
		return s, m.charge(1, 0)
	}
	return sprint(m, v)
}

// sprint is fmt.Sprint of a value small enough to print.
func sprint(m *meter, v any) (any, error) {
	if _, _, err := sizeOf(v, MaxStringBytes, MaxDepth); err != nil {
		return nil, fmt.Errorf("cannot print it: %w", err)
	}
	s := fmt.Sprint(v)
	return s, m.built(s)
}

// capped runs expr's builtin name behind the checks above.
func capped(name string) func(params ...any) (any, error) {
	f := builtin.Builtins[builtin.Index[name]]
	pre := prechecks[name]
	return func(params ...any) (any, error) {
		m := meterOf(params)
		args := params[1:]
		var bytes, elems int64
		for _, a := range args {
			if s, ok := a.(string); ok {
				bytes += int64(len(s))
			} else {
				elems += int64(lenOf(a))
			}
		}
		// Builtins copy the strings they are given ([]byte(s), case
		// changes), so their bytes count as built too.
		if err := m.charge(stepsFor(bytes, elems), bytes); err != nil {
			return nil, err
		}
		if pre != nil {
			if err := pre(m, args); err != nil {
				return nil, err
			}
		}
		switch name {
		case "string":
			return sprint(m, args[0])
		case "toJSON":
			return toJSON(m, args[0])
		}
		out, err := callBuiltin(f, args)
		if err != nil {
			return nil, err
		}
		return out, m.built(out)
	}
}

// callBuiltin calls a builtin the way expr's compiler would.
func callBuiltin(f *builtin.Function, args []any) (any, error) {
	switch {
	case f.Fast != nil:
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes one argument", f.Name)
		}
		return f.Fast(args[0]), nil
	case f.Safe != nil:
		out, _, err := f.Safe(args...)
		return out, err
	case f.Func != nil:
		return f.Func(args...)
	}
	return nil, fmt.Errorf("%s is not callable", f.Name)
}

func argString(args []any, i int) string {
	if i < len(args) {
		s, _ := args[i].(string)
		return s
	}
	return ""
}

// prechecks refuse, before the builtin runs, an output that would be over
// the limits, for the builtins whose output can outgrow their input.
var prechecks = map[string]func(m *meter, args []any) error{
	"repeat": func(m *meter, args []any) error {
		s, n := argString(args, 0), runtime.ToInt(args[1])
		if n > 0 && len(s) > 0 && n > MaxStringBytes/len(s) {
			return errStringSize(MaxStringBytes + 1)
		}
		return nil
	},
	"join": func(m *meter, args []any) error {
		sep := argString(args, 1)
		v := reflect.ValueOf(args[0])
		if v.Kind() != reflect.Slice {
			return nil // the builtin says what is wrong
		}
		n := max(v.Len()-1, 0) * len(sep)
		for i := 0; i < v.Len() && n <= MaxStringBytes; i++ {
			if s, ok := v.Index(i).Interface().(string); ok {
				n += len(s)
			}
		}
		if n > MaxStringBytes {
			return errStringSize(n)
		}
		return nil
	},
	"replace": func(m *meter, args []any) error {
		s, old, repl := argString(args, 0), argString(args, 1), argString(args, 2)
		count := strings.Count(s, old) // runes+1 for ""
		if len(args) == 4 {
			if k := runtime.ToInt(args[3]); k >= 0 {
				count = min(count, k)
			}
		}
		if n := len(s) + count*(len(repl)-len(old)); n > MaxStringBytes {
			return errStringSize(n)
		}
		return nil
	},
	"concat": func(m *meter, args []any) error {
		n := 0
		for _, a := range args {
			n += lenOf(a)
		}
		if n > MaxItems {
			return errItems(n)
		}
		return nil
	},
	"split":      splitCheck,
	"splitAfter": splitCheck,
	"uniq": func(m *meter, args []any) error { // it compares every pair
		n := int64(lenOf(args[0]))
		return m.charge(n*n/64, 0)
	},
	"sort": func(m *meter, args []any) error {
		n := int64(lenOf(args[0]))
		return m.charge(n, 16*n)
	},
	"toBase64": func(m *meter, args []any) error {
		if n := base64.StdEncoding.EncodedLen(len(argString(args, 0))); n > MaxStringBytes {
			return errStringSize(n)
		}
		return nil
	},
}

// toJSON is expr's toJSON (indented by two spaces) for a value whose
// indented JSON fits in a string: measured, then encoded compactly, then
// indented into a buffer of the length it will have.
func toJSON(m *meter, v any) (any, error) {
	if _, _, err := sizeOf(v, MaxStringBytes, MaxDepth); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	n := indentedLen(b)
	if n > MaxStringBytes {
		return nil, errStringSize(n)
	}
	if err := m.charge(stepsFor(int64(len(b)+n), 0), int64(2*len(b)+2*n)); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(n)
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	return out.String(), nil
}

// splitCheck refuses a split into more than MaxItems parts.
func splitCheck(m *meter, args []any) error {
	s, sep := argString(args, 0), argString(args, 1)
	var n int
	if sep == "" {
		n = utf8.RuneCountInString(s)
	} else {
		n = strings.Count(s, sep) + 1
	}
	if len(args) == 3 {
		if k := runtime.ToInt(args[2]); k > 0 {
			n = min(n, k)
		}
	}
	if n > MaxItems {
		return errItems(n)
	}
	return nil
}

// indentedLen is the length of compact JSON once indented by two spaces a
// level, as toJSON does: each element and member goes on its own line.
func indentedLen(b []byte) int {
	n, depth, inString, escaped := 0, 0, false, false
	for i, c := range b {
		n++
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if i+1 < len(b) && b[i+1] != '}' && b[i+1] != ']' {
				n += 1 + 2*depth
			}
		case '}', ']':
			if i > 0 && b[i-1] != '{' && b[i-1] != '[' {
				n += 1 + 2*(depth-1)
			}
			depth--
		case ',':
			n += 1 + 2*depth
		case ':':
			n++
		}
	}
	return n
}
