package chat

import (
	"context"

	"kefu/routing"
)

// flowRuntime is the flow runtime while it still lives in this package: the
// Observer a Service gets when its Config names none. It turns what chat
// tells it into flow runs, queue drains and timers.
type flowRuntime struct{ s *Service }

// Observe implements Observer.
func (r flowRuntime) Observe(ctx context.Context, h Happening) {
	s := r.s
	switch h.What {
	case MessageStored:
		s.runFlow(ctx, h.TenantID, h.ConversationID, routing.EventMessageCreated, h.Text, "", "")
	case ConversationOpened:
		if h.Opening != nil {
			s.runFlowOpening(ctx, h.TenantID, h.Opening.o, h.Text)
		} else {
			s.runFlow(ctx, h.TenantID, h.ConversationID, routing.EventConversationCreated, h.Text, "", "")
		}
	case ConversationReopened:
		var known *opening
		if h.Opening != nil {
			known = &h.Opening.o
		}
		s.route(ctx, h.TenantID, h.ConversationID, known, routing.EventConversationReopened, h.Text, "", "")
	case ConversationResolved:
		s.unscheduleTimeout(h.TenantID, h.ConversationID)
		s.supersede(ctx, h.TenantID, h.ConversationID, callCancelled)
		// A slot may have opened up: offer it to whoever waits.
		s.background(func() { s.drainQueue(context.Background(), h.TenantID) })
	case ConversationRequeued:
		s.runFlow(ctx, h.TenantID, h.ConversationID, routing.EventAgentOffline, "", "", "")
	case CapacityFreed:
		s.drainQueue(ctx, h.TenantID)
	case QueueDeadlineDue:
		s.queueTimeout(ctx, h.TenantID, h.ConversationID, h.Node)
	case FlowChanged:
		s.flowCache.Remove(h.TenantID)
	case CallCancelled:
		s.cancelLocal(h.TenantID, h.ConversationID)
	case Started:
		if err := s.armTimeouts(ctx); err != nil {
			s.log.ErrorContext(ctx, "flow runtime: re-arm queue deadlines", "err", err)
		}
	}
}
