package chat

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCleanName: a file's name shows what the file is — no direction
// overrides, invisible characters or controls that could make "…exe" look
// like "…png", and a long name keeps its extension in view.
func TestCleanName(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"a plain name stays", "photo.png", "photo.png"},
		{"CJK and accents stay", "名字 ünïcode.pdf", "名字 ünïcode.pdf"},
		{"a right-to-left override is dropped", "名字 ünïcode\u202egnp.exe", "名字 ünïcodegnp.exe"},
		{"every bidi control is dropped", "a\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061cb.txt", "ab.txt"},
		{"zero-width and other format characters are dropped", "in\u200bvoice\u200c\u200d\u2060\ufeff\u00ad.pdf", "invoice.pdf"},
		{"C0 and C1 controls are dropped", "a\x00\x1b\x7f\u0085\u009bb.txt", "ab.txt"},
		{"runs of spaces are one space", "photo.png          \t   .exe", "photo.png .exe"},
		{"trailing dots and spaces go (Windows drops them)", "report.exe. . ", "report.exe"},
		{"only the last path element is kept", `..\..\win.ini`, "win.ini"},
		{"nothing left is a file", "\u202e\u200b", "file"},
		{"invalid UTF-8 is replaced", "a\xffb.txt", "a\ufffdb.txt"},
		{"quotes are dropped", `a"b.txt`, "ab.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := cleanName(c.in); got != c.want {
				t.Fatalf("cleanName(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
	t.Run("a long name is cut in the stem, keeping the extension", func(t *testing.T) {
		got := cleanName(strings.Repeat("長", 500) + ".png")
		if utf8.RuneCountInString(got) != maxNameRunes || !strings.HasSuffix(got, "長.png") {
			t.Fatalf("%q (%d runes)", got, utf8.RuneCountInString(got))
		}
		got = cleanName(strings.Repeat("x", 300))
		if utf8.RuneCountInString(got) != maxNameRunes {
			t.Fatalf("%d runes", utf8.RuneCountInString(got))
		}
	})
}
