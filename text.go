package kefu

import (
	"strconv"
	"unicode/utf8"
)

// TextProblem says what is wrong with s as text a client sent, or "" when
// nothing is. Text must be UTF-8 without C0 control characters other than
// tab, newline and carriage return. NUL in particular: PostgreSQL cannot
// store it (every statement carrying one fails), SQLite can, and both
// backends must answer the same, so it is refused everywhere with a 400.
func TextProblem(s string) string {
	if !utf8.ValidString(s) {
		return "must be UTF-8 text"
	}
	for i := 0; i < len(s); i++ { // C0 controls are single bytes in UTF-8
		if b := s[i]; b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
			return "must not contain control characters"
		}
	}
	return ""
}

// CleanText reports whether s passes TextProblem.
func CleanText(s string) bool { return TextProblem(s) == "" }

// CheckText adds fields[key] when v is not clean text; it reports whether v
// was clean.
func CheckText(fields map[string]string, key, v string) bool {
	if p := TextProblem(v); p != "" {
		if _, ok := fields[key]; !ok {
			fields[key] = p
		}
		return false
	}
	return true
}

// ValueProblem walks a decoded JSON value (maps, slices, strings) and
// returns the path below it of the first key or string that is not clean
// text ("" for v itself, ".key", "[3]", or ["a\x00b"] for a bad key) and
// what is wrong with it, or "", "".
func ValueProblem(v any) (path, problem string) {
	switch x := v.(type) {
	case string:
		return "", TextProblem(x)
	case map[string]any:
		for k, e := range x {
			if p := TextProblem(k); p != "" {
				return "[" + strconv.QuoteToASCII(k) + "]", p
			}
			if sub, p := ValueProblem(e); p != "" {
				return "." + k + sub, p
			}
		}
	case []any:
		for i, e := range x {
			if sub, p := ValueProblem(e); p != "" {
				return "[" + strconv.Itoa(i) + "]" + sub, p
			}
		}
	}
	return "", ""
}
