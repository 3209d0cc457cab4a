package chat_test

import (
	"context"
	"testing"

	"kefu"
	"kefu/chat"
	"kefu/tenants/tenantstest"
)

// TestServiceRefusesControlCharacters: the service itself refuses NUL and
// other control characters, whichever edge the text came through (defence
// in depth behind the API's and the socket's checks). On PostgreSQL a NUL
// used to fail the statement, and in a group commit the whole batch.
func TestServiceRefusesControlCharacters(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, b.Store)
			conv := f.open(t)
			invalid := func(t *testing.T, err error, field string) {
				t.Helper()
				e, ok := kefu.AsError(err)
				if !ok || e.Code != kefu.EInvalid || e.Fields[field] == "" {
					t.Fatalf("got %v, want invalid_argument naming %s", err, field)
				}
			}
			t.Run("a message body", func(t *testing.T) {
				_, _, err := f.chat.Send(ctx, f.owner, chat.SendInput{ConversationID: conv, Body: "a\x00b"})
				invalid(t, err, "body")
			})
			t.Run("a visitor's message body", func(t *testing.T) {
				_, _, err := f.chat.Send(ctx, f.visitor, chat.SendInput{ClientID: "v-nul", Body: "\x1b]0;pwned\x07"})
				invalid(t, err, "body")
			})
			t.Run("a client id", func(t *testing.T) {
				_, _, err := f.chat.Send(ctx, f.owner, chat.SendInput{ConversationID: conv, ClientID: "c\x00", Body: "x"})
				invalid(t, err, "client_id")
			})
			t.Run("a visitor's name", func(t *testing.T) {
				_, err := f.chat.StartWidgetSession(ctx, f.tenant.WidgetKey, "", chat.VisitorInput{Name: "V\x00"})
				invalid(t, err, "visitor.name")
			})
			t.Run("an attribute key, nested", func(t *testing.T) {
				_, err := f.chat.StartWidgetSession(ctx, f.tenant.WidgetKey, "", chat.VisitorInput{Attributes: map[string]any{"a": map[string]any{"b\x00": 1}}})
				invalid(t, err, `visitor.attributes.a["b\x00"]`)
			})
			t.Run("an attribute value, nested", func(t *testing.T) {
				_, err := f.chat.StartWidgetSession(ctx, f.tenant.WidgetKey, "", chat.VisitorInput{Attributes: map[string]any{"a": []any{"ok", "\x00"}}})
				invalid(t, err, "visitor.attributes.a[1]")
			})
			t.Run("a visitor email that is not an address", func(t *testing.T) {
				for _, e := range []string{"@", "a@", "<a@b.co>", "a@b.co, c@d.co", "Vera <v@example.com>"} {
					_, err := f.chat.StartWidgetSession(ctx, f.tenant.WidgetKey, "", chat.VisitorInput{Email: e})
					invalid(t, err, "visitor.email")
				}
				if _, err := f.chat.StartWidgetSession(ctx, f.tenant.WidgetKey, "", chat.VisitorInput{Email: "vera@example.com"}); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("an assignee filter", func(t *testing.T) {
				_, _, err := f.chat.Conversations(ctx, f.owner, chat.ListFilter{Assignee: "a\x00b"})
				invalid(t, err, "assignee")
			})
			t.Run("a conversation id is simply not found", func(t *testing.T) {
				if _, err := f.chat.Conversation(ctx, f.owner, conv+"\x00"); kefu.Code(err) != kefu.ENotFound {
					t.Fatalf("got %v, want not_found", err)
				}
			})
			t.Run("the conversation took nothing of it", func(t *testing.T) {
				msgs, err := f.chat.Messages(ctx, f.owner, conv, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range msgs {
					if kefu.TextProblem(m.Body) != "" {
						t.Fatalf("stored %q", m.Body)
					}
				}
			})
		})
	}
}
