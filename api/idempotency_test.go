package api_test

import (
	"bytes"
	"context"
	"testing"

	"kefu/api/apitest"
)

// doWith is do with extra request headers.
func (a *app) doWith(method, path, token string, body any, headers map[string]string) resp {
	a.t.Helper()
	return a.client(token).DoRequest(a.t, apitest.Request{Method: method, Path: path, Body: body, Header: headers})
}

func (a *app) apiKey(biz business, role string) string {
	a.t.Helper()
	return a.must(201, "POST", "/api/v1/api-keys", biz.token, map[string]any{"name": "crm-" + role, "role": role}).Str("key")
}

func TestIdempotencyKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Idem")
		conv := a.conversation(t, biz, "hello")
		key := a.apiKey(biz, "developer")
		path := "/api/v1/conversations/" + conv + "/messages"
		k := map[string]string{"Idempotency-Key": "order-42"}

		first := a.doWith("POST", path, key, map[string]any{"body": "your order shipped"}, k)
		if first.Status != 201 || first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first: %d %v %s", first.Status, first.Header, first.Raw)
		}
		t.Run("a retry gets the same answer and stores nothing", func(t *testing.T) {
			again := a.doWith("POST", path, key, map[string]any{"body": "your order shipped"}, k)
			if again.Status != 201 || again.Raw != first.Raw || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay: %d %v %s, first %s", again.Status, again.Header, again.Raw, first.Raw)
			}
			msgs := a.must(200, "GET", path, key, nil)
			n := 0
			for _, m := range msgs.Body["messages"].([]any) {
				if m.(map[string]any)["body"] == "your order shipped" {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d copies stored", n)
			}
		})
		t.Run("the same key with another body is 422", func(t *testing.T) {
			r := a.doWith("POST", path, key, map[string]any{"body": "something else"}, k)
			if r.Status != 422 || r.Code() != "idempotency_key_reused" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
		t.Run("keys belong to one principal", func(t *testing.T) {
			r := a.doWith("POST", path, biz.token, map[string]any{"body": "something else"}, k)
			if r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
		t.Run("error answers are kept too", func(t *testing.T) {
			kk := map[string]string{"Idempotency-Key": "bad-1"}
			r1 := a.doWith("POST", path, key, map[string]any{"body": ""}, kk)
			r2 := a.doWith("POST", path, key, map[string]any{"body": ""}, kk)
			if r1.Status != 400 || r2.Status != 400 || r2.Header.Get("Idempotent-Replayed") != "true" || r1.Raw != r2.Raw {
				t.Fatalf("%d %d %s", r1.Status, r2.Status, r2.Raw)
			}
		})
		t.Run("a key still in flight is 409", func(t *testing.T) {
			p, err := a.chat.Tenants().Authenticate(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.chat.Tenants().Idempotent(context.Background(), p, "busy", "other-request"); err != nil {
				t.Fatal(err)
			}
			r := a.doWith("POST", path, key, map[string]any{"body": "x"}, map[string]string{"Idempotency-Key": "busy"})
			if r.Status != 409 || r.Code() != "conflict" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
		t.Run("a bad key is 400", func(t *testing.T) {
			r := a.doWith("POST", path, key, map[string]any{"body": "x"}, map[string]string{"Idempotency-Key": string(bytes.Repeat([]byte("k"), 300))})
			if r.Status != 400 || r.Field("Idempotency-Key") == "" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
	})
}
