package chat

import (
	"context"
	"testing"
	"time"

	"kefu/tenants"
	"kefu/tenants/tenantstest"
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

// Messages reach the search index through the queue, off the commit path:
// search finds them before the indexer runs (by scanning the queue) and
// after it (by the index), and a deleted message leaves both.
func TestSearchIndexer(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, ten := newNode(t, b.Store, Config{})
			res := signupFor(t, ten, "Idx")
			owner, _ := ten.Authenticate(ctx, res.Token)
			ws, _ := s.StartWidgetSession(ctx, res.Tenant.WidgetKey, "", VisitorInput{})
			vis, _ := ten.Authenticate(ctx, ws.VisitorToken)
			m, _, err := s.Send(ctx, vis, SendInput{Body: "我想退货，茶壶坏了"})
			if err != nil {
				t.Fatal(err)
			}
			find := func(q string) int {
				t.Helper()
				hits, _, err := s.Search(ctx, owner, SearchInput{Q: q})
				if err != nil {
					t.Fatal(err)
				}
				return len(hits)
			}
			db, _ := ten.DB(res.Tenant.ID)
			count := func(q string, args ...any) (n int64) {
				t.Helper()
				if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
					t.Fatal(err)
				}
				return n
			}
			pending := func() int64 { return count(`SELECT count(*) FROM ` + db.Table("search_pending")) }
			indexed := func() int64 {
				if db.Dialect == tenants.Postgres {
					return count(`SELECT count(*) FROM `+db.Table("message_search")+` WHERE body LIKE ?`, "%茶壶坏%")
				}
				return count(`SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?`, `"茶壶坏"`)
			}
			if pending() == 0 || indexed() != 0 || find("茶壶坏") != 1 {
				t.Fatalf("before indexing: %d queued, %d indexed, found %d", pending(), indexed(), find("茶壶坏"))
			}
			// The bot's greeting may still be on its way: index until the queue stays empty.
			total := 0
			for i := 0; i < 50 && (i == 0 || pending() != 0); i++ {
				n, err := s.IndexSearch(ctx, res.Tenant.ID)
				if err != nil {
					t.Fatal(err)
				}
				total += n
				time.Sleep(20 * time.Millisecond)
			}
			if total == 0 || pending() != 0 {
				t.Fatalf("IndexSearch indexed %d; %d left", total, pending())
			}
			if indexed() != 1 || find("茶壶坏") != 1 || find("退货") != 1 {
				t.Fatalf("after indexing: %d in the index, found %d", indexed(), find("茶壶坏"))
			}
			if err := db.Exec(`DELETE FROM `+db.Table("messages")+` WHERE id = ?`, m.ID).Error; err != nil {
				t.Fatal(err)
			}
			if indexed() != 0 || find("茶壶坏") != 0 {
				t.Fatalf("after delete: %d in the index, found %d", indexed(), find("茶壶坏"))
			}
		})
	}
}
