package routing

import "testing"

func TestRoundRobin(t *testing.T) {
	rr := NewRoundRobin()
	a, b, c := Candidate{ID: "a"}, Candidate{ID: "b"}, Candidate{ID: "c"}
	t.Run("rotates through every candidate in turn", func(t *testing.T) {
		var got []string
		for i := 0; i < 6; i++ {
			p, ok := rr.Pick("t1", []Candidate{c, a, b})
			if !ok {
				t.Fatal("no pick")
			}
			got = append(got, p.ID)
		}
		if want := "abcabc"; join(got) != want {
			t.Fatalf("got %s, want %s", join(got), want)
		}
	})
	t.Run("keeps its place when a candidate leaves", func(t *testing.T) {
		rr := NewRoundRobin()
		rr.Pick("t", []Candidate{a, b, c}) // a
		p, _ := rr.Pick("t", []Candidate{a, c})
		if p.ID != "c" {
			t.Fatalf("got %s, want c", p.ID)
		}
	})
	t.Run("tenants rotate independently", func(t *testing.T) {
		rr := NewRoundRobin()
		rr.Pick("t1", []Candidate{a, b})
		if p, _ := rr.Pick("t2", []Candidate{a, b}); p.ID != "a" {
			t.Fatalf("t2 got %s, want a", p.ID)
		}
	})
	t.Run("no candidates means no pick", func(t *testing.T) {
		if _, ok := rr.Pick("t", nil); ok {
			t.Fatal("picked from nobody")
		}
	})
}

func join(s []string) string {
	out := ""
	for _, x := range s {
		out += x
	}
	return out
}
