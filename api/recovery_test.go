package api_test

import (
	"strings"
	"testing"
	"time"

	"kefu/api"
	"kefu/chat"
	"kefu/mailer"
	"kefu/mailer/mailertest"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// signupAs signs up a business whose owner has email and password.
func (a *app) signupAs(name, email, password string) business {
	a.t.Helper()
	company := name + " " + tenants.NewID()[24:]
	r := a.must(201, "POST", "/api/v1/signup", "", map[string]any{"company": company, "email": email, "password": password, "name": "Pat"})
	return business{tenantID: r.Str("tenant", "id"), slug: r.Str("tenant", "slug"), widgetKey: r.Str("tenant", "widget_key"), ownerID: r.Str("user", "id"), token: r.Str("token")}
}

func uniqueEmail(who string) string { return who + "-" + tenants.NewID()[24:] + "@example.com" }

// TestLoginByEmail: without a workspace, the password is checked in each
// workspace of the address; nothing is listed before it matched.
func TestLoginByEmail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		login := func(email, password string) resp {
			return a.do("POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": password})
		}
		solo := uniqueEmail("solo")
		soloBiz := a.signupAs("Solo", solo, "password1")

		t.Run("an address of one workspace signs in to it", func(t *testing.T) {
			r := login(strings.ToUpper(solo), "password1")
			if r.Status != 200 || r.Str("token") == "" || r.Body["workspaces"] != nil {
				t.Fatalf("login: %d %s", r.Status, r.Raw)
			}
			me := a.must(200, "GET", "/api/v1/me", r.Str("token"), nil)
			if me.Str("tenant", "id") != soloBiz.tenantID {
				t.Fatalf("signed in to %s", me.Raw)
			}
		})
		t.Run("an unknown address and a wrong password answer alike", func(t *testing.T) {
			unknown := login(uniqueEmail("nobody"), "password1")
			wrong := login(solo, "password2")
			if unknown.Status != 401 || wrong.Status != 401 || unknown.Raw != wrong.Raw {
				t.Fatalf("unknown %d %s / wrong %d %s", unknown.Status, unknown.Raw, wrong.Status, wrong.Raw)
			}
			if strings.Contains(wrong.Raw, soloBiz.slug) {
				t.Fatalf("a failed sign-in names the workspace: %s", wrong.Raw)
			}
		})
		t.Run("bad input names the field", func(t *testing.T) {
			r := a.must(400, "POST", "/api/v1/auth/login", "", map[string]any{"email": "", "password": "x"})
			if r.Field("email") == "" {
				t.Fatalf("fields: %s", r.Raw)
			}
		})

		multi := uniqueEmail("multi")
		one := a.signupAs("First", multi, "password1")
		two := a.signupAs("Second", multi, "password1")
		three := a.signupAs("Third", multi, "another-password")
		t.Run("several matches list those workspaces, and no token", func(t *testing.T) {
			r := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"email": multi, "password": "password1"})
			if r.Str("token") != "" || !strings.Contains(r.Raw, one.slug) || !strings.Contains(r.Raw, two.slug) {
				t.Fatalf("answer: %s", r.Raw)
			}
			if strings.Contains(r.Raw, three.slug) {
				t.Fatalf("lists a workspace whose password did not match: %s", r.Raw)
			}
			tok := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": two.slug, "email": multi, "password": "password1"}).Str("token")
			if me := a.must(200, "GET", "/api/v1/me", tok, nil); me.Str("tenant", "id") != two.tenantID {
				t.Fatalf("chose %s", me.Raw)
			}
		})
		t.Run("a password that matches in one of them signs in there", func(t *testing.T) {
			r := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"email": multi, "password": "another-password"})
			if me := a.must(200, "GET", "/api/v1/me", r.Str("token"), nil); me.Str("tenant", "id") != three.tenantID {
				t.Fatalf("signed in to %s", me.Raw)
			}
		})
		t.Run("a deactivated account is not a match", func(t *testing.T) {
			agent := uniqueEmail("agent")
			id, _ := a.addUser(one, agent, "agent")
			a.must(200, "POST", "/api/v1/agents/"+id+"/deactivate", one.token, nil)
			a.must(401, "POST", "/api/v1/auth/login", "", map[string]any{"email": agent, "password": "password1"})
		})
		t.Run("repeated failures lock the address out, even with the right password", func(t *testing.T) {
			victim := uniqueEmail("victim")
			a.signupAs("Victim", victim, "password1")
			for i := 0; i < 10; i++ {
				login(victim, "guess-"+string(rune('a'+i))+"xxxxx")
			}
			if r := login(victim, "password1"); r.Status != 429 || r.Code() != "rate_limited" || r.Header.Get("Retry-After") == "" {
				t.Fatalf("after 10 failures: %d %s", r.Status, r.Raw)
			}
			ghost := uniqueEmail("ghost")
			for i := 0; i < 10; i++ {
				login(ghost, "password1")
			}
			if r := login(ghost, "password1"); r.Status != 429 {
				t.Fatalf("an unknown address does not lock out alike: %d", r.Status)
			}
		})
	})
}

// TestLoginByEmailIsRateLimited: the per-IP limit of sign-ins covers the
// e-mail-only way and the reset requests.
func TestLoginByEmailIsRateLimited(t *testing.T) {
	b := tenantstest.Backends(t)[0]
	a := newAppWith(t, b.Store, nil, func(_ *chat.Config, ac *api.Config) { ac.AuthPerMinute = 3 })
	var last resp
	for i := 0; i < 8; i++ {
		last = a.do("POST", "/api/v1/auth/forgot", "", map[string]any{"email": "x@example.com"})
	}
	if last.Status != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("forgot after 8: %d %s", last.Status, last.Raw)
	}
	for i := 0; i < 8; i++ {
		last = a.do("POST", "/api/v1/auth/reset", "", map[string]any{"token": "kfr_x", "password": "password1"})
	}
	if last.Status != 429 {
		t.Fatalf("reset after 8: %d %s", last.Status, last.Raw)
	}
}

// mailTo waits for an e-mail to addr and returns the last one.
func mailTo(t *testing.T, smtp *mailertest.Server, addr string, n int) []mailertest.Message {
	t.Helper()
	var got []mailertest.Message
	for i := 0; i < 150; i++ {
		got = got[:0]
		for _, m := range smtp.Messages() {
			if len(m.To) == 1 && m.To[0] == addr {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	return got
}

func resetToken(t *testing.T, m mailertest.Message) string {
	t.Helper()
	i := strings.Index(m.Body, "/reset#")
	if i < 0 {
		t.Fatalf("no reset link in %q", m.Body)
	}
	tok := m.Body[i+len("/reset#"):]
	if j := strings.IndexAny(tok, "\r\n "); j >= 0 {
		tok = tok[:j]
	}
	if !strings.HasPrefix(tok, "kfr_") {
		t.Fatalf("token %q", tok)
	}
	return tok
}

// TestForgotPassword: a reset link by e-mail, single use, that ends every
// session of the account; the same answer for addresses that have no
// account.
func TestForgotPassword(t *testing.T) {
	smtp := mailertest.Start(t, mailertest.StartTLS, "", "")
	m, err := mailer.New(mailer.Config{URL: smtp.URL(), From: "Kefu <no-reply@example.com>", RootCAs: smtp.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			a := newAppWith(t, b.Store, nil, func(_ *chat.Config, ac *api.Config) { ac.Mailer = m })
			if r := a.must(200, "GET", "/api/v1/config", "", nil); r.Str("email_enabled") != "true" {
				t.Fatalf("config: %s", r.Raw)
			}
			email := uniqueEmail("forgetful")
			biz := a.signupAs("Forgetful", email, "password1")
			a.must(200, "PATCH", "/api/v1/tenant", biz.token, map[string]any{"language": "zh-CN"})
			other := a.signupAs("Elsewhere", uniqueEmail("else"), "password1")

			t.Run("an unknown address gets the same answer and no mail", func(t *testing.T) {
				nobody := uniqueEmail("nobody")
				known := a.do("POST", "/api/v1/auth/forgot", "", map[string]any{"email": email, "tenant": other.slug})
				unknown := a.do("POST", "/api/v1/auth/forgot", "", map[string]any{"email": nobody})
				if known.Status != 202 || unknown.Status != 202 || known.Raw != unknown.Raw {
					t.Fatalf("known %d %q / unknown %d %q", known.Status, known.Raw, unknown.Status, unknown.Raw)
				}
				time.Sleep(300 * time.Millisecond)
				if got := mailTo(t, smtp, nobody, 0); len(got) != 0 {
					t.Fatalf("mailed an unknown address: %+v", got)
				}
				// The address has no account in other: nothing sent for it.
				if got := mailTo(t, smtp, email, 0); len(got) != 0 {
					t.Fatalf("mailed for a workspace the address is not in: %+v", got)
				}
			})
			t.Run("bad input names the field", func(t *testing.T) {
				if r := a.must(400, "POST", "/api/v1/auth/forgot", "", map[string]any{"email": ""}); r.Field("email") == "" {
					t.Fatalf("fields: %s", r.Raw)
				}
			})

			// The owner is signed in twice, one of them with a socket open.
			second := a.login(biz, email, "password1")
			sock := a.connect(t, second, nil)
			a.must(202, "POST", "/api/v1/auth/forgot", "", map[string]any{"email": strings.ToUpper(email)})
			mails := mailTo(t, smtp, email, 1)
			if len(mails) != 1 {
				t.Fatalf("%d mails", len(mails))
			}
			if !strings.Contains(mails[0].Subject, "重置") {
				t.Fatalf("not in the workspace's language: %q", mails[0].Subject)
			}
			token := resetToken(t, mails[0])

			t.Run("the new password follows the policy", func(t *testing.T) {
				if r := a.must(400, "POST", "/api/v1/auth/reset", "", map[string]any{"token": token, "password": "short"}); r.Field("password") == "" {
					t.Fatalf("fields: %s", r.Raw)
				}
			})
			t.Run("an unknown token is not_found", func(t *testing.T) {
				a.must(404, "POST", "/api/v1/auth/reset", "", map[string]any{"token": "kfr_nothing", "password": "password9"})
				a.must(404, "POST", "/api/v1/auth/reset", "", map[string]any{"token": "", "password": "password9"})
			})
			t.Run("the link sets the password and ends every session", func(t *testing.T) {
				r := a.must(200, "POST", "/api/v1/auth/reset", "", map[string]any{"token": token, "password": "brand new pw"})
				if r.Str("workspace", "slug") != biz.slug || r.Str("email") != email {
					t.Fatalf("answer: %s", r.Raw)
				}
				a.must(401, "GET", "/api/v1/me", biz.token, nil)
				a.must(401, "GET", "/api/v1/me", second, nil)
				if _, f := sock.closedWithin(3 * time.Second); f == nil || f["code"] != "unauthenticated" {
					t.Fatalf("the socket closed without saying why: %v", f)
				}
				a.must(401, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": email, "password": "password1"})
				a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": "brand new pw"})
				a.must(200, "GET", "/api/v1/me", other.token, nil) // another workspace's sessions stay
			})
			t.Run("the link works once", func(t *testing.T) {
				a.must(404, "POST", "/api/v1/auth/reset", "", map[string]any{"token": token, "password": "yet another pw"})
			})
			t.Run("at most 3 links per account per hour", func(t *testing.T) {
				for i := 0; i < 4; i++ {
					a.must(202, "POST", "/api/v1/auth/forgot", "", map[string]any{"email": email})
				}
				time.Sleep(500 * time.Millisecond)
				if got := mailTo(t, smtp, email, 4); len(got) != 3 {
					t.Fatalf("%d mails in the hour, want 3", len(got))
				}
				// A newer link's use kills the older ones.
				got := mailTo(t, smtp, email, 3)
				a.must(200, "POST", "/api/v1/auth/reset", "", map[string]any{"token": resetToken(t, got[2]), "password": "password-3"})
				a.must(404, "POST", "/api/v1/auth/reset", "", map[string]any{"token": resetToken(t, got[1]), "password": "password-4"})
			})
		})
	}
}

// TestForgotPasswordWithoutEmail: no SMTP, no links; the config says so.
func TestForgotPasswordWithoutEmail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		if r := a.must(200, "GET", "/api/v1/config", "", nil); r.Str("email_enabled") != "false" {
			t.Fatalf("config: %s", r.Raw)
		}
		email := uniqueEmail("nomail")
		a.signupAs("No mail", email, "password1")
		a.must(202, "POST", "/api/v1/auth/forgot", "", map[string]any{"email": email})
	})
}

// TestResetLinkExpires: a link older than an hour does nothing.
func TestResetLinkExpires(t *testing.T) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			now := time.Now().UTC()
			svc := tenants.NewService(b.Store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return now }})
			email := uniqueEmail("late")
			if _, err := svc.Signup(t.Context(), tenants.SignupInput{Company: "Late " + tenants.NewID()[24:], Email: email, Password: "password1", Name: "L"}); err != nil {
				t.Fatal(err)
			}
			links, err := svc.RequestPasswordReset(t.Context(), email, "")
			if err != nil || len(links) != 1 {
				t.Fatalf("links %v %v", links, err)
			}
			now = now.Add(tenants.ResetTTL + time.Second)
			if _, _, err := svc.ResetPasswordWithToken(t.Context(), links[0].Token, "password2"); err == nil || !strings.Contains(err.Error(), "not valid") {
				t.Fatalf("expired link: %v", err)
			}
		})
	}
}
