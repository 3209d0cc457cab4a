package api_test

import (
	"strings"
	"testing"
	"time"

	"kefu/api"
	"kefu/chat"
	"kefu/mailer"
	"kefu/mailer/mailertest"
	"kefu/tenants/tenantstest"
)

// TestInvites: an admin invites by email; the link's holder joins with the
// role given, once; lists, revocation, RBAC and tenant isolation.
func TestInvites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Invites")
		other := a.signup("Other")
		_, agentTok := a.addUser(biz, "agent@example.com", "agent")
		_, adminTok := a.addUser(biz, "admin@example.com", "admin")

		t.Run("an agent may not invite", func(t *testing.T) {
			r := a.must(403, "POST", "/api/v1/invites", agentTok, map[string]any{"email": "x@example.com"})
			if r.Code() != "permission_denied" {
				t.Fatalf("code %q", r.Code())
			}
			a.must(403, "GET", "/api/v1/invites", agentTok, nil)
		})
		t.Run("bad input is invalid_argument with fields", func(t *testing.T) {
			r := a.must(400, "POST", "/api/v1/invites", biz.token, map[string]any{"email": "nope", "role": "owner", "max_concurrent": 0})
			for _, f := range []string{"email", "role", "max_concurrent"} {
				if r.Field(f) == "" {
					t.Errorf("no message for field %s: %s", f, r.Raw)
				}
			}
		})
		t.Run("an email that has an account is already_exists", func(t *testing.T) {
			a.must(409, "POST", "/api/v1/invites", biz.token, map[string]any{"email": "Agent@example.com"})
		})
		t.Run("an admin may invite an admin", func(t *testing.T) {
			a.must(201, "POST", "/api/v1/invites", adminTok, map[string]any{"email": "peer@example.com", "role": "admin"})
		})

		r := a.must(201, "POST", "/api/v1/invites", biz.token, map[string]any{"email": "Ivy@Example.com", "role": "supervisor", "skills": []string{"Billing"}, "max_concurrent": 3})
		url := r.Str("url")
		_, token, ok := strings.Cut(url, "/invite#")
		if !ok || !strings.HasPrefix(token, "kfi_") || r.Str("email") != "ivy@example.com" {
			t.Fatalf("invite answer: %s", r.Raw)
		}
		id := r.Str("id")

		t.Run("pending invitations are listed without their token", func(t *testing.T) {
			l := a.must(200, "GET", "/api/v1/invites", biz.token, nil)
			if !strings.Contains(l.Raw, id) || strings.Contains(l.Raw, token) {
				t.Fatalf("list: %s", l.Raw)
			}
			if o := a.must(200, "GET", "/api/v1/invites", other.token, nil); strings.Contains(o.Raw, id) {
				t.Fatalf("another tenant lists it: %s", o.Raw)
			}
		})
		t.Run("another tenant cannot revoke it", func(t *testing.T) {
			a.must(404, "DELETE", "/api/v1/invites/"+id, other.token, nil)
		})
		t.Run("the link tells what it is for", func(t *testing.T) {
			d := a.must(200, "POST", "/api/v1/invites/lookup", "", map[string]any{"token": token})
			if d.Str("email") != "ivy@example.com" || d.Str("role") != "supervisor" || !strings.HasPrefix(d.Str("workspace"), "Invites") {
				t.Fatalf("lookup: %s", d.Raw)
			}
			a.must(404, "POST", "/api/v1/invites/lookup", "", map[string]any{"token": "kfi_nothing"})
			a.must(404, "POST", "/api/v1/invites/lookup", "", map[string]any{"token": ""})
		})
		t.Run("accepting needs a name and a good password", func(t *testing.T) {
			bad := a.must(400, "POST", "/api/v1/invites/accept", "", map[string]any{"token": token, "name": "", "password": "short"})
			if bad.Field("name") == "" || bad.Field("password") == "" {
				t.Fatalf("fields: %s", bad.Raw)
			}
		})
		t.Run("accepting makes the user and signs them in, once", func(t *testing.T) {
			acc := a.must(201, "POST", "/api/v1/invites/accept", "", map[string]any{"token": token, "name": "Ivy", "password": "password1"})
			if acc.Str("user", "role") != "supervisor" || acc.Str("user", "email") != "ivy@example.com" || acc.Str("tenant", "id") != biz.tenantID {
				t.Fatalf("accept: %s", acc.Raw)
			}
			me := a.must(200, "GET", "/api/v1/me", acc.Str("token"), nil)
			if me.Str("user", "name") != "Ivy" || !strings.Contains(me.Raw, "billing") {
				t.Fatalf("me: %s", me.Raw)
			}
			a.must(404, "POST", "/api/v1/invites/accept", "", map[string]any{"token": token, "name": "Ivy", "password": "password1"})
			a.login(biz, "ivy@example.com", "password1")
			if l := a.must(200, "GET", "/api/v1/invites", biz.token, nil); strings.Contains(l.Raw, id) {
				t.Fatalf("an accepted invitation is still listed: %s", l.Raw)
			}
		})
		t.Run("a revoked link stops working", func(t *testing.T) {
			r := a.must(201, "POST", "/api/v1/invites", biz.token, map[string]any{"email": "rex@example.com"})
			_, tok, _ := strings.Cut(r.Str("url"), "#")
			a.must(204, "DELETE", "/api/v1/invites/"+r.Str("id"), biz.token, nil)
			a.must(404, "DELETE", "/api/v1/invites/"+r.Str("id"), biz.token, nil)
			a.must(404, "POST", "/api/v1/invites/accept", "", map[string]any{"token": tok, "name": "Rex", "password": "password1"})
		})
		t.Run("inviting again replaces the pending link", func(t *testing.T) {
			r1 := a.must(201, "POST", "/api/v1/invites", biz.token, map[string]any{"email": "sam@example.com"})
			_, tok1, _ := strings.Cut(r1.Str("url"), "#")
			a.must(201, "POST", "/api/v1/invites", biz.token, map[string]any{"email": "sam@example.com"})
			a.must(404, "POST", "/api/v1/invites/lookup", "", map[string]any{"token": tok1})
		})
	})
}

// TestInviteByEmail: with SMTP configured the invitation is mailed, in the
// workspace's language, with the link that accepts it.
func TestInviteByEmail(t *testing.T) {
	smtp := mailertest.Start(t, mailertest.StartTLS, "", "")
	m, err := mailer.New(mailer.Config{URL: smtp.URL(), From: "Kefu <no-reply@example.com>", RootCAs: smtp.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			a := newAppWith(t, b.Store, nil, func(_ *chat.Config, ac *api.Config) { ac.Mailer = m })
			biz := a.signup("Mailed")
			r := a.must(201, "POST", "/api/v1/invites", biz.token, map[string]any{"email": "ivy-" + b.Name + "@example.com"})
			if r.Str("emailed") != "true" {
				t.Fatalf("not e-mailed: %s", r.Raw)
			}
			var got *mailertest.Message
			for _, msg := range smtp.Wait(t, 1, 5*time.Second) {
				if len(msg.To) == 1 && msg.To[0] == "ivy-"+b.Name+"@example.com" {
					got = &msg
				}
			}
			for i := 0; got == nil && i < 50; i++ {
				time.Sleep(20 * time.Millisecond)
				for _, msg := range smtp.Messages() {
					if len(msg.To) == 1 && msg.To[0] == "ivy-"+b.Name+"@example.com" {
						got = &msg
					}
				}
			}
			if got == nil || !strings.Contains(got.Body, r.Str("url")) || !strings.Contains(got.Subject, "Olga") {
				t.Fatalf("mail: %+v", got)
			}
		})
	}
}
