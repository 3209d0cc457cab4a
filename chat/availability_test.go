package chat_test

import (
	"testing"
	"time"

	"kefu/chat"
)

func TestMedianExitInterval(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	at := func(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }
	t.Run("fewer than three exits: unknown", func(t *testing.T) {
		if _, ok := chat.MedianExitInterval([]chat.QueueExit{{at(0), at(1)}, {at(0), at(0.5)}}); ok {
			t.Fatal("an estimate from two exits")
		}
	})
	t.Run("a busy queue: the median gap between exits", func(t *testing.T) {
		// Everyone queued at 0; exits at 2, 3, 5, 6 (newest first): gaps 1, 2, 1 → median 1 min.
		ex := []chat.QueueExit{{at(0), at(6)}, {at(0), at(5)}, {at(0), at(3)}, {at(0), at(2)}}
		if d, ok := chat.MedianExitInterval(ex); !ok || d != time.Minute {
			t.Fatalf("%v %v, want 1m", d, ok)
		}
	})
	t.Run("a quiet spell with nobody waiting does not count", func(t *testing.T) {
		// Exits an hour apart, but each conversation waited only 30 s.
		ex := []chat.QueueExit{{at(120), at(120.5)}, {at(60), at(60.5)}, {at(0), at(0.5)}}
		if d, ok := chat.MedianExitInterval(ex); !ok || d != 30*time.Second {
			t.Fatalf("%v %v, want 30s", d, ok)
		}
	})
}
