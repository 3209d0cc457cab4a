package mailer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kefu/mailer"
	"kefu/mailer/mailertest"
)

func TestSendOverEachTransport(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		mode       mailertest.Mode
		user, pass string
		wantTLS    bool
	}{
		{"plain without a password", mailertest.Plain, "", "", false},
		{"STARTTLS when offered, with a password", mailertest.StartTLS, "kefu", "s3cret", true},
		{"smtps from the first byte", mailertest.ImplicitTLS, "kefu", "s3cret", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailertest.Start(t, tc.mode, tc.user, tc.pass)
			m, err := mailer.New(mailer.Config{URL: srv.URL(), From: "Kefu <no-reply@example.com>", RootCAs: srv.RootCAs(), Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if !m.Configured() {
				t.Fatal("a mailer with a URL is not configured")
			}
			msg, err := mailer.Compose("zh-CN", mailer.Reply, "张三 <zhang@example.com>", map[string]string{
				"workspace": "小店", "agent": "Ann", "body": "您的包裹已发出。\n单号 SF123", "link": "https://shop.example.com/"})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			got := srv.Wait(t, 1, 5*time.Second)[0]
			if got.From != "no-reply@example.com" || len(got.To) != 1 || got.To[0] != "zhang@example.com" {
				t.Fatalf("envelope %q → %q", got.From, got.To)
			}
			if got.Subject != "小店 的 Ann 回复了你" {
				t.Fatalf("subject %q", got.Subject)
			}
			if !strings.Contains(got.Body, "您的包裹已发出。\n单号 SF123") || !strings.Contains(got.Body, "https://shop.example.com/") {
				t.Fatalf("body %q", got.Body)
			}
			if got.TLS != tc.wantTLS || got.Authed != tc.user {
				t.Fatalf("tls %v auth %q, want %v %q", got.TLS, got.Authed, tc.wantTLS, tc.user)
			}
		})
	}
}

func TestSendRefusals(t *testing.T) {
	t.Parallel()
	t.Run("a wrong password is an error, nothing is accepted", func(t *testing.T) {
		srv := mailertest.Start(t, mailertest.StartTLS, "kefu", "right")
		m, err := mailer.New(mailer.Config{URL: "smtp://kefu:wrong@" + srv.Addr, RootCAs: srv.RootCAs()})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Send(context.Background(), mailer.Message{To: "a@example.com", Subject: "s", Body: "b"}); err == nil {
			t.Fatal("sent with a wrong password")
		}
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("%d messages accepted", n)
		}
	})
	t.Run("a certificate nobody vouches for is refused", func(t *testing.T) {
		srv := mailertest.Start(t, mailertest.StartTLS, "", "")
		m, _ := mailer.New(mailer.Config{URL: srv.URL()})
		if err := m.Send(context.Background(), mailer.Message{To: "a@example.com", Subject: "s", Body: "b"}); err == nil {
			t.Fatal("sent over TLS to an unverified server")
		}
	})
	t.Run("a header injection in the recipient is refused", func(t *testing.T) {
		srv := mailertest.Start(t, mailertest.Plain, "", "")
		m, _ := mailer.New(mailer.Config{URL: srv.URL()})
		if err := m.Send(context.Background(), mailer.Message{To: "a@example.com\r\nBcc: b@example.com", Subject: "s", Body: "b"}); err == nil {
			t.Fatal("sent to an injected recipient")
		}
	})
	t.Run("a subject cannot add headers", func(t *testing.T) {
		srv := mailertest.Start(t, mailertest.Plain, "", "")
		m, _ := mailer.New(mailer.Config{URL: srv.URL()})
		if err := m.Send(context.Background(), mailer.Message{To: "a@example.com", Subject: "hi\r\nBcc: b@example.com", Body: "b"}); err != nil {
			t.Fatal(err)
		}
		got := srv.Wait(t, 1, 5*time.Second)[0]
		if got.Header.Get("Bcc") != "" || len(got.To) != 1 {
			t.Fatalf("header injected: %v", got.Header)
		}
	})
	t.Run("nothing listening is an error within the timeout", func(t *testing.T) {
		m, _ := mailer.New(mailer.Config{URL: "smtp://127.0.0.1:1", Timeout: 2 * time.Second})
		if err := m.Send(context.Background(), mailer.Message{To: "a@example.com"}); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestNotConfigured(t *testing.T) {
	t.Parallel()
	m, err := mailer.New(mailer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Configured() {
		t.Fatal("configured without a URL")
	}
	if err := m.Send(context.Background(), mailer.Message{To: "a@example.com"}); !errors.Is(err, mailer.ErrNotConfigured) {
		t.Fatalf("err %v", err)
	}
	var nilMailer *mailer.Mailer
	if nilMailer.Configured() {
		t.Fatal("nil is configured")
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://mail.example.com", "smtp://", "smtp://u:p@exa mple.com:25", "smtps:///x"} {
		if _, err := mailer.New(mailer.Config{URL: u}); err == nil {
			t.Errorf("%q accepted", u)
		} else if strings.Contains(err.Error(), ":p@") {
			t.Errorf("%q: the error shows the password: %v", u, err)
		}
	}
	if _, err := mailer.New(mailer.Config{URL: "smtp://mail.example.com", From: "not an address"}); err == nil {
		t.Error("a From that is no address accepted")
	}
}

func TestComposeEveryKindInBothLanguages(t *testing.T) {
	t.Parallel()
	params := map[string]string{"workspace": "W", "inviter": "I", "link": "L", "workspaces": "X", "agent": "A", "body": "B"}
	for _, k := range []mailer.Kind{mailer.Invite, mailer.PasswordReset, mailer.Workspaces, mailer.Reply} {
		en, err := mailer.Compose("en", k, "a@example.com", params)
		if err != nil {
			t.Fatal(k, err)
		}
		zh, err := mailer.Compose("zh-CN", k, "a@example.com", params)
		if err != nil {
			t.Fatal(k, err)
		}
		if en.Subject == zh.Subject || en.Body == zh.Body || strings.Contains(zh.Body, "{{") {
			t.Errorf("%s: en %q zh %q", k, en.Subject, zh.Subject)
		}
	}
	if _, err := mailer.Compose("en", mailer.Invite, "a@example.com", map[string]string{"workspace": "W"}); err == nil {
		t.Error("a missing parameter passed")
	}
}
