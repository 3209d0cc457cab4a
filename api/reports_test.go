package api_test

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"kefu/tenants"
)

// seedHistory writes a known week into the tenant's tables (timestamps
// cannot be set through the API): six conversations around 2–4 March 2026
// in Asia/Shanghai (UTC+8), two at the edges that belong to other days.
func seedHistory(t *testing.T, a *app, tenantID, agentA, agentB, teamA, teamB string) {
	t.Helper()
	db, err := a.store.Tenant(tenantID)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := db.Exec(sql, args...).Error; err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("INSERT INTO "+db.Table("visitors")+" (id, name, email, attributes, created_at, last_seen_at) VALUES (?, 'V', '', '{}', ?, ?)", "v1", at("2026-03-01T00:00:00Z"), at("2026-03-01T00:00:00Z"))
	type conv struct {
		id, status, assignee, team string
		created                    string
		firstReply, resolvedAfter  int // seconds after created; 0: none
		botAnswered                bool
	}
	convs := []conv{
		{"c1", "resolved", agentA, teamA, "2026-03-02T01:00:00Z", 60, 600, false},   // Mon 09:00 local
		{"c2", "resolved", agentA, teamA, "2026-03-02T17:00:00Z", 120, 1200, false}, // Tue 01:00 local
		{"c3", "resolved", agentB, teamB, "2026-03-03T02:00:00Z", 300, 1800, false}, // Tue 10:00 local
		{"c4", "resolved", "", "", "2026-03-04T03:00:00Z", 0, 30, true},             // Wed 11:00, the bot's
		{"c5", "queued", "", "", "2026-03-04T04:00:00Z", 0, 0, false},               // Wed 12:00, waiting
		{"c6", "resolved", agentA, teamA, "2026-03-01T15:00:00Z", 10, 20, false},    // Sun 23:00 local: before
		{"c7", "queued", agentB, "", "2026-03-04T16:30:00Z", 0, 0, false},           // Thu 00:30 local: after
	}
	for _, c := range convs {
		created := at(c.created)
		var assignee any
		if c.assignee != "" {
			assignee = c.assignee
		}
		var resolved any
		if c.resolvedAfter > 0 {
			resolved = created.Add(time.Duration(c.resolvedAfter) * time.Second)
		}
		exec("INSERT INTO "+db.Table("conversations")+" (id, visitor_id, status, assignee_id, team, created_at, updated_at, resolved_at) VALUES (?, 'v1', ?, ?, ?, ?, ?, ?)",
			c.id, c.status, assignee, c.team, created, created, resolved)
		seq := 1
		msg := func(author, authorID string, private bool, after int) {
			exec("INSERT INTO "+db.Table("messages")+" (id, conversation_id, seq, author_type, author_id, body, private, attachments, created_at) VALUES (?, ?, ?, ?, ?, 'hi', ?, '[]', ?)",
				tenants.NewID(), c.id, seq, author, authorID, private, created.Add(time.Duration(after)*time.Second))
			seq++
		}
		msg("visitor", "v1", false, 0)
		if c.firstReply > 0 {
			msg("agent", c.assignee, true, c.firstReply/2) // a note is no answer
			msg("agent", c.assignee, false, c.firstReply)
			msg("agent", c.assignee, false, c.firstReply+5)
		}
		if c.botAnswered {
			msg("bot", "", false, 1)
			exec("INSERT INTO "+db.Table("conversation_events")+" (id, conversation_id, kind, detail, created_at) VALUES (?, ?, 'routing', ?, ?)",
				tenants.NewID(), c.id, `{"trace":[{"node":"faq","type":"faq","outcome":"answered","detail":""}]}`, created)
		}
	}
}

func f(v any) float64 { x, _ := v.(float64); return x }

// TestReports: a seeded history with known answers, on both backends.
func TestReports(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Reports")
		other := a.signup("Other")
		agentA, agentTok := a.addUser(biz, "ann@example.com", "agent")
		agentB, superTok := a.addUser(biz, "bob@example.com", "supervisor")
		teamA := a.must(201, "POST", "/api/v1/teams", biz.token, map[string]any{"name": "Sales"}).Str("id")
		teamB := a.must(201, "POST", "/api/v1/teams", biz.token, map[string]any{"name": "Support"}).Str("id")
		seedHistory(t, a, biz.tenantID, agentA, agentB, teamA, teamB)
		q := "?from=2026-03-02&to=2026-03-04&tz=Asia/Shanghai"

		t.Run("the overview has the known answers", func(t *testing.T) {
			o := a.must(200, "GET", "/api/v1/reports/overview"+q, superTok, nil).Body
			if f(o["conversations"]) != 5 || f(o["resolved"]) != 4 {
				t.Fatalf("conversations %v resolved %v, want 5 and 4", o["conversations"], o["resolved"])
			}
			days := o["per_day"].([]any)
			want := [][3]any{{"2026-03-02", 1.0, 1.0}, {"2026-03-03", 2.0, 2.0}, {"2026-03-04", 2.0, 1.0}}
			for i, d := range days {
				m := d.(map[string]any)
				if m["date"] != want[i][0] || m["conversations"] != want[i][1] || m["resolved"] != want[i][2] {
					t.Errorf("day %d: %v, want %v", i, m, want[i])
				}
			}
			fr := o["first_response"].(map[string]any)
			if f(fr["count"]) != 3 || f(fr["median_seconds"]) != 120 || f(fr["p90_seconds"]) != 264 {
				t.Errorf("first response %v, want 3 / 120 / 264", fr)
			}
			res := o["resolution"].(map[string]any)
			if f(res["count"]) != 4 || f(res["median_seconds"]) != 900 || f(res["p90_seconds"]) != 1620 {
				t.Errorf("resolution %v, want 4 / 900 / 1620", res)
			}
			d := o["bot_deflection"].(map[string]any)
			if f(d["resolved"]) != 4 || f(d["deflected"]) != 1 || f(d["rate"]) != 0.25 {
				t.Errorf("deflection %v, want 1 of 4", d)
			}
		})
		t.Run("the heat-map files conversations under the local weekday and hour", func(t *testing.T) {
			h := a.must(200, "GET", "/api/v1/reports/heatmap"+q, biz.token, nil).Body
			cells := h["cells"].([]any)
			at := func(wd, hr int) float64 { return f(cells[wd].([]any)[hr]) }
			if at(1, 9) != 1 || at(2, 1) != 1 || at(2, 10) != 1 || at(3, 11) != 1 || at(3, 12) != 1 || f(h["max"]) != 1 {
				t.Fatalf("heat-map: %v", cells)
			}
		})
		t.Run("per agent and per team", func(t *testing.T) {
			ag := a.must(200, "GET", "/api/v1/reports/agents"+q, biz.token, nil).Body["agents"].([]any)
			first := ag[0].(map[string]any)
			fr := first["first_response"].(map[string]any)
			if first["id"] != agentA || f(first["conversations"]) != 2 || f(first["resolved"]) != 2 || f(fr["median_seconds"]) != 90 || f(fr["p90_seconds"]) != 114 {
				t.Fatalf("agents: %v", ag)
			}
			tm := a.must(200, "GET", "/api/v1/reports/teams"+q, biz.token, nil).Body["teams"].([]any)
			if len(tm) != 2 || tm[0].(map[string]any)["name"] != "Sales" || f(tm[0].(map[string]any)["conversations"]) != 2 || f(tm[1].(map[string]any)["conversations"]) != 1 {
				t.Fatalf("teams: %v", tm)
			}
		})
		t.Run("CSV exports", func(t *testing.T) {
			r := a.do("GET", "/api/v1/reports/overview"+q+"&format=csv", biz.token, nil)
			rows, err := csv.NewReader(strings.NewReader(r.Raw)).ReadAll()
			if r.Status != 200 || err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || len(rows) != 4 || rows[2][1] != "2" {
				t.Fatalf("csv %d %v: %q", r.Status, err, r.Raw)
			}
			r = a.do("GET", "/api/v1/reports/agents"+q+"&format=csv", biz.token, nil)
			if r.Status != 200 || !strings.Contains(r.Raw, agentA+",User agent,2,2,90,114") {
				t.Fatalf("agents csv: %q", r.Raw)
			}
			if r := a.do("GET", "/api/v1/reports/heatmap"+q+"&format=csv", biz.token, nil); r.Status != 200 || strings.Count(r.Raw, "\n") != 1+7*24 {
				t.Fatalf("heat-map csv: %d lines", strings.Count(r.Raw, "\n"))
			}
		})
		t.Run("bad parameters are invalid_argument", func(t *testing.T) {
			for _, bad := range []string{"?tz=Mars/Base", "?from=2026-03-05&to=2026-03-01", "?from=2024-01-01&to=2026-01-01", "?from=yesterday", "?format=xml"} {
				if r := a.do("GET", "/api/v1/reports/overview"+bad, biz.token, nil); r.Status != 400 || r.Code() != "invalid_argument" {
					t.Errorf("%s: %d %s", bad, r.Status, r.Raw)
				}
			}
		})
		t.Run("agents may not read reports", func(t *testing.T) {
			a.must(403, "GET", "/api/v1/reports/overview", agentTok, nil)
		})
		t.Run("another tenant sees none of it", func(t *testing.T) {
			o := a.must(200, "GET", "/api/v1/reports/overview"+q, other.token, nil).Body
			if f(o["conversations"]) != 0 || f(o["resolved"]) != 0 {
				t.Fatalf("other tenant: %v", o)
			}
			ag := a.must(200, "GET", "/api/v1/reports/agents"+q, other.token, nil)
			if strings.Contains(ag.Raw, agentA) {
				t.Fatalf("other tenant sees agent A: %s", ag.Raw)
			}
		})
	})
}
