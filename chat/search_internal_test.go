package chat

import (
	"testing"
	"time"
)

func TestHighlight(t *testing.T) {
	cases := []struct {
		text, q, snippet string
		hl               [][2]int
	}{
		{"我想退货，茶壶坏了", "退货", "我想退货，茶壶坏了", [][2]int{{2, 4}}},
		{"Where is my TEAPOT? teapot!", "teapot", "Where is my TEAPOT? teapot!", [][2]int{{12, 18}, {20, 26}}},
		{"no match here", "zzz", "no match here", [][2]int{}},
	}
	for _, c := range cases {
		snip, hl := Highlight(c.text, c.q)
		if snip != c.snippet || len(hl) != len(c.hl) {
			t.Errorf("Highlight(%q, %q) = %q %v", c.text, c.q, snip, hl)
			continue
		}
		for i := range hl {
			if hl[i] != c.hl[i] {
				t.Errorf("Highlight(%q, %q) highlights %v, want %v", c.text, c.q, hl, c.hl)
			}
		}
	}
	// A long text is cut around the first match, and offsets follow the cut.
	long := ""
	for i := 0; i < 100; i++ {
		long += "字"
	}
	snip, hl := Highlight(long+"退货"+long, "退货")
	r := []rune(snip)
	if len(hl) != 1 || string(r[hl[0][0]:hl[0][1]]) != "退货" || r[0] != '…' || r[len(r)-1] != '…' {
		t.Errorf("long: %q %v", snip, hl)
	}
}

func TestCursorCarriesPriority(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, c := range []cursor{{at: at, id: "a"}, {at: at, id: "b", prio: 4}} {
		got, err := decodeCursor(encodeCursor(c))
		if err != nil || got != c {
			t.Errorf("round trip of %+v: %+v, %v", c, got, err)
		}
	}
	for _, bad := range []string{"x", encodeCursor(cursor{at: at, id: "a"}) + "!!", "MTIzfGF8OQ"} { // "123|a|9": priority out of range
		if _, err := decodeCursor(bad); err == nil {
			t.Errorf("decodeCursor(%q) accepted", bad)
		}
	}
}
