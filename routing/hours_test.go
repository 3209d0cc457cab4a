package routing

import (
	"testing"
	"time"
)

func TestHoursValidate(t *testing.T) {
	t.Run("every problem is reported at once, by field", func(t *testing.T) {
		h := Hours{Timezone: "Mars/Olympus", Schedule: Schedule{
			"mon": {{"18:00", "09:00"}}, "tue": {{"9:00", "10:00"}}, "xyz": {{"09:00", "10:00"}},
		}, Holidays: []string{"2026-12-25", "2026-13-01", "tomorrow"}}
		got := h.Validate()
		for _, f := range []string{"timezone", "schedule.mon[0]", "schedule.tue[0]", "schedule.xyz", "holidays[1]", "holidays[2]"} {
			if got[f] == "" {
				t.Errorf("no problem named for %s: %v", f, got)
			}
		}
		if got["holidays[0]"] != "" {
			t.Errorf("a valid holiday refused: %v", got)
		}
	})
	t.Run("bounded: at most 10 intervals a day and 366 holidays", func(t *testing.T) {
		var many [][2]string
		for i := 0; i < 11; i++ {
			many = append(many, [2]string{"09:00", "10:00"})
		}
		hol := make([]string, 367)
		for i := range hol {
			hol[i] = "2026-01-01"
		}
		got := Hours{Timezone: "UTC", Schedule: Schedule{"mon": many}, Holidays: hol}.Validate()
		if got["schedule.mon"] == "" || got["holidays"] == "" {
			t.Fatalf("limits not enforced: %v", got)
		}
	})
	t.Run("a valid week with 24:00 passes", func(t *testing.T) {
		h := Hours{Timezone: "Asia/Shanghai", Schedule: Schedule{"mon": {{"09:00", "12:00"}, {"13:00", "24:00"}}}}
		if got := h.Validate(); got != nil {
			t.Fatal(got)
		}
	})
}

func TestHoursOpenAndNext(t *testing.T) {
	// Shanghai is UTC+8; 2026-12-07 is a Monday.
	h := Hours{Timezone: "Asia/Shanghai", Schedule: Schedule{
		"mon": {{"13:00", "18:00"}, {"09:00", "12:00"}},
		"wed": {{"10:00", "16:00"}},
	}, Holidays: []string{"2026-12-09"}}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name     string
		now      string
		open     bool
		next     string
		nextOK   bool
		wantNext bool
	}{
		{"open in the morning interval (local 10:00)", "2026-12-07T02:00:00Z", true, "2026-12-07T02:00:00Z", true, true},
		{"closed at lunch, opens at 13:00 local", "2026-12-07T04:30:00Z", false, "2026-12-07T05:00:00Z", true, true},
		{"closed Monday evening; Wednesday is a holiday, so next Monday 09:00", "2026-12-07T11:00:00Z", false, "2026-12-14T01:00:00Z", true, true},
		{"the end of an interval is closed", "2026-12-07T10:00:00Z", false, "2026-12-14T01:00:00Z", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			open, why := h.OpenAt(at(tc.now))
			if open != tc.open {
				t.Fatalf("open %v (%s), want %v", open, why, tc.open)
			}
			next, ok := h.NextOpen(at(tc.now))
			if ok != tc.nextOK || !next.Equal(at(tc.next)) {
				t.Fatalf("next open %v %v, want %s", next, ok, tc.next)
			}
		})
	}
	t.Run("hours that never open have no next opening", func(t *testing.T) {
		if _, ok := (Hours{Timezone: "UTC"}).NextOpen(time.Now()); ok {
			t.Fatal("an empty schedule opens")
		}
	})
}

func TestEmptyHoursNodeFollowsTheTenant(t *testing.T) {
	g := Graph{
		Nodes: []Node{
			{ID: "start", Type: NodeStart},
			{ID: "hours", Type: NodeBusinessHours, Data: []byte(`{"timezone":"UTC"}`)},
			{ID: "open", Type: NodeReply, Data: []byte(`{"text":"open"}`)},
			{ID: "closed", Type: NodeReply, Data: []byte(`{"text":"closed"}`)},
		},
		Edges: []Edge{
			{ID: "e1", Source: "start", Target: "hours"},
			{ID: "e2", Source: "hours", Target: "open", Label: "open"},
			{ID: "e3", Source: "hours", Target: "closed", Label: "closed"},
		},
	}
	prog, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	monday10 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tenant := &Hours{Timezone: "UTC", Schedule: Schedule{"mon": {{"09:00", "17:00"}}}}
	for _, tc := range []struct {
		name  string
		hours *Hours
		at    time.Time
		want  string
	}{
		{"within the tenant's hours: open", tenant, monday10, "open"},
		{"outside the tenant's hours: closed", tenant, monday10.Add(8 * time.Hour), "closed"},
		{"no tenant hours: an empty node is closed, as before", nil, monday10, "closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := prog.Run(t.Context(), Input{Event: EventConversationCreated, At: tc.at, Hours: tc.hours}, &fakeServices{})
			if len(res.Replies) != 1 || res.Replies[0] != tc.want {
				t.Fatalf("replies %v, want %s (trace %+v)", res.Replies, tc.want, res.Trace)
			}
		})
	}
}
