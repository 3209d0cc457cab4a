package kefu

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestGatesTimeline: a tenant's slots on a synctest bubble's clock — a full
// tenant's next run waits no longer than its wait, gets a slot the moment
// one is given back, another tenant is never held up, a cancelled context
// stops the wait, and a tenant with nothing under way leaves no gate behind.
func TestGatesTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const wait = 5 * time.Second
		g := NewGates(2)
		ctx := context.Background()
		r1, ok1 := g.Acquire(ctx, "a", wait)
		r2, ok2 := g.Acquire(ctx, "a", wait)
		if !ok1 || !ok2 {
			t.Fatal("the first two runs of a tenant with two slots waited")
		}
		if rb, ok := g.Acquire(ctx, "b", 0); !ok {
			t.Fatal("another tenant was held up by a full one")
		} else {
			rb()
		}

		// A third run of a waits exactly its wait, then gives up.
		start := time.Now()
		if _, ok := g.Acquire(ctx, "a", wait); ok {
			t.Fatal("a third run got a slot while both were held")
		}
		if took := time.Since(start); took != wait {
			t.Fatalf("the refused run waited %v, want %v", took, wait)
		}

		// One that is waiting gets the slot the moment it is given back.
		got := make(chan time.Duration)
		go func() {
			start := time.Now()
			r, ok := g.Acquire(ctx, "a", wait)
			if !ok {
				got <- -1
				return
			}
			got <- time.Since(start)
			r()
		}()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		r1()
		if took := <-got; took != 2*time.Second {
			t.Fatalf("the waiting run got its slot after %v, want 2s (when one was given back)", took)
		}

		// A cancelled context ends the wait at once.
		r1, _ = g.Acquire(ctx, "a", wait)
		cctx, cancel := context.WithCancel(ctx)
		go func() { time.Sleep(time.Second); cancel() }()
		start = time.Now()
		if _, ok := g.Acquire(cctx, "a", wait); ok || time.Since(start) != time.Second {
			t.Fatalf("cancelled after 1s: ok=%v after %v", ok, time.Since(start))
		}

		r1()
		r2()
		if n := g.Open(); n != 0 {
			t.Fatalf("%d gates left with nothing under way", n)
		}
	})
}
