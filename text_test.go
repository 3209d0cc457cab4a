package kefu

import "testing"

func TestTextProblem(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]string{
		"":                      "",
		"hello":                 "",
		"line 1\r\nline 2\tend": "",
		"名字 ünïcode 😀":          "",
		"\u202egnp.exe":         "", // bidi controls are not C0; file names handle them
		"a\x00b":                "must not contain control characters",
		"\x1b[31m":              "must not contain control characters",
		"\x7f":                  "",
		"caf\xe9":               "must be UTF-8 text",
	} {
		if got := TextProblem(s); got != want {
			t.Errorf("TextProblem(%q) = %q, want %q", s, got, want)
		}
	}
	path, p := ValueProblem(map[string]any{"a": []any{"ok", map[string]any{"b": "x\x00"}}})
	if path != ".a[1].b" || p == "" {
		t.Errorf("ValueProblem: %q %q", path, p)
	}
	if path, p := ValueProblem(map[string]any{"k\x01": 1}); path != `["k\x01"]` || p == "" {
		t.Errorf("ValueProblem on a key: %q %q", path, p)
	}
}
