package redis

import (
	"encoding/json"
	"strings"
	"testing"

	"kefu/chat"
)

// BenchmarkBusSeal: sealing and opening one message event of 200 bytes
// (AES-256-GCM), the cost the bus pays per event instead of a database read
// of the body on every node.
func BenchmarkBusSeal(b *testing.B) {
	aead, err := busCipher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	bus := &Bus{aead: aead}
	payload, _ := json.Marshal(chat.Event{Kind: chat.EventMessage, TenantID: "t", ConversationID: "c", Message: &chat.Message{ID: "m", Seq: 1, Body: strings.Repeat("x", 200)}})
	for b.Loop() {
		sealed := bus.seal("kefu:t:events", payload)
		if _, err := bus.open("kefu:t:events", string(sealed)); err != nil {
			b.Fatal(err)
		}
	}
}
