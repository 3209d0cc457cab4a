package chat

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"kefu/routing"
)

// TestBreakerTimeline walks a tenant's assignment breaker through its
// states on the fake clock of a synctest bubble, with the production
// timeout (30 s): five failures open it, it stays open through the timeout
// and turns half-open a nanosecond past it, a failed probe opens it for
// another full timeout, half-open lets one probe through at a time, and a
// good probe closes it.
// Tenants have breakers of their own. (TestBreaker checks the same path
// end to end, with conversations queueing, on real time.)
func TestBreakerTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 30 * time.Second
		breakers, _ := lru.New[string, *gobreaker.CircuitBreaker[routing.Agent]](16)
		s := &Service{breakers: breakers, breakerTimeout: timeout, metrics: newMetrics(prometheus.NewRegistry()), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		fail := errors.New("agent dropped the conversation")
		probe := func(tenant string, err error) error {
			_, got := s.breaker(tenant).Execute(func() (routing.Agent, error) { return routing.Agent{}, err })
			return got
		}
		for i := 0; i < 4; i++ {
			s.reportAssignFailure("t1", fail)
		}
		if got := s.BreakerState("t1"); got != "closed" {
			t.Fatalf("after 4 failures: %s, want closed", got)
		}
		s.reportAssignFailure("t1", fail)
		if got := s.BreakerState("t1"); got != "open" {
			t.Fatalf("after 5 failures: %s, want open", got)
		}
		if got := s.BreakerState("t2"); got != "closed" {
			t.Fatalf("another tenant's breaker: %s, want closed", got)
		}
		time.Sleep(timeout)
		if err := probe("t1", nil); !errors.Is(err, gobreaker.ErrOpenState) {
			t.Fatalf("at the timeout: %v, want the open state's refusal", err)
		}
		time.Sleep(time.Nanosecond)
		if got := s.BreakerState("t1"); got != "half-open" {
			t.Fatalf("just past the timeout: %s, want half-open", got)
		}
		// A failed probe opens it again, for a whole timeout.
		if err := probe("t1", fail); !errors.Is(err, fail) {
			t.Fatalf("the probe: %v", err)
		}
		if got := s.BreakerState("t1"); got != "open" {
			t.Fatalf("after a failed probe: %s, want open", got)
		}
		time.Sleep(timeout / 2)
		if got := s.BreakerState("t1"); got != "open" {
			t.Fatalf("half a timeout after the failed probe: %s, want open", got)
		}
		time.Sleep(timeout/2 + time.Nanosecond)
		// Half-open lets one probe through at a time; "no agent" and
		// "taken" count as the path working.
		release := make(chan struct{})
		done := make(chan error)
		go func() {
			_, err := s.breaker("t1").Execute(func() (routing.Agent, error) { <-release; return routing.Agent{}, errNoAgent })
			done <- err
		}()
		synctest.Wait() // the probe is in flight
		if err := probe("t1", nil); !errors.Is(err, gobreaker.ErrTooManyRequests) {
			t.Fatalf("a second probe while the first is in flight: %v, want too many requests", err)
		}
		close(release)
		if err := <-done; !errors.Is(err, errNoAgent) {
			t.Fatalf("a good probe: %v", err)
		}
		if got := s.BreakerState("t1"); got != "closed" {
			t.Fatalf("after a good probe: %s, want closed", got)
		}
	})
}
