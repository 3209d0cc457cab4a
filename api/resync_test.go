package api_test

import (
	"context"
	"sync/atomic"
	"testing"

	"kefu/chat"
	"kefu/tenants/tenantstest"
)

// lossyBus drops message events while lossy is set, like Redis pub/sub
// losing signals during a reconnect.
type lossyBus struct {
	*chat.LocalBus
	lossy atomic.Bool
}

func (b *lossyBus) Publish(ctx context.Context, e chat.Event) error {
	if b.lossy.Load() && e.Kind == chat.EventMessage {
		return nil
	}
	return b.LocalBus.Publish(ctx, e)
}

// TestLostSignalsAreCaughtUp: the bus only signals; a socket that missed a
// message gets it from the store when the bus says to resync, or with the
// next message it does receive — exactly once and in order.
func TestLostSignalsAreCaughtUp(t *testing.T) {
	bus := &lossyBus{LocalBus: chat.NewLocalBus()}
	a := newAppWithBus(t, tenantstest.SQLite(t), bus)
	biz := a.signup("Lossy")
	_, vtok := a.visitor(biz.widgetKey)
	v := a.connect(t, vtok, nil)
	v.send(map[string]any{"type": "message.send", "client_id": "a", "body": "hi"})
	conv := v.expect("ack")["conversation_id"].(string)
	a.settle(biz.token, conv)
	for {
		if m := v.expect("message.new"); m["message"].(map[string]any)["author"].(map[string]any)["type"] == "bot" {
			break
		}
	}

	bus.lossy.Store(true)
	lost := a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "lost signal"})
	bus.lossy.Store(false)
	v.quiet("message.new", 200e6)

	_ = bus.LocalBus.Publish(context.Background(), chat.Event{Kind: chat.EventResync})
	m := v.expect("message.new")
	if m["message"].(map[string]any)["body"] != "lost signal" || m["seq"] != lost.Body["seq"] {
		t.Fatalf("after resync got %v, want the lost message", m)
	}

	t.Run("a gap is also filled by the next message that arrives", func(t *testing.T) {
		bus.lossy.Store(true)
		a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "lost again"})
		bus.lossy.Store(false)
		a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "next"})
		first, second := v.expect("message.new"), v.expect("message.new")
		if first["message"].(map[string]any)["body"] != "lost again" || second["message"].(map[string]any)["body"] != "next" || num(second["seq"]) != num(first["seq"])+1 {
			t.Fatalf("got %v then %v", first, second)
		}
		v.quiet("message.new", 200e6)
	})
}
