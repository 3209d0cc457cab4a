package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"kefu/api"
	"kefu/chat"
	"kefu/mailer"
	"kefu/mailer/mailertest"
	"kefu/tenants/tenantstest"
)

func allWeek(span [2]string) map[string]any {
	s := map[string]any{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		s[d] = [][2]string{span}
	}
	return s
}

func TestBusinessHours(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Hours")
		other := a.signup("Other hours")
		_, agentTok := a.staff(biz, "agent@example.com", "agent", nil)
		_, superTok := a.staff(biz, "super@example.com", "supervisor", nil)
		cfg := func(b business) resp { return a.must(200, "GET", "/api/v1/widget/config?key="+b.widgetKey, "", nil) }

		t.Run("until saved they are not configured and the widget says nothing about hours", func(t *testing.T) {
			r := a.must(200, "GET", "/api/v1/business-hours", biz.token, nil)
			if r.Str("configured") != "false" || r.Str("email_configured") != "false" || r.Body["open_now"] != nil {
				t.Fatalf("unset hours: %s", r.Raw)
			}
			if w := cfg(biz); w.Body["business_hours"] != nil || w.Str("offline") != "true" {
				t.Fatalf("widget config: %s", w.Raw)
			}
		})
		t.Run("invalid hours are refused with every offending field named", func(t *testing.T) {
			r := a.must(400, "PUT", "/api/v1/business-hours", biz.token, map[string]any{
				"timezone": "Mars/Olympus",
				"schedule": map[string]any{"mon": [][2]string{{"18:00", "09:00"}}, "someday": [][2]string{{"09:00", "10:00"}}},
				"holidays": []string{"2026-12-25", "2026-02-30"},
			})
			if r.Code() != "invalid_argument" {
				t.Fatalf("%s", r.Raw)
			}
			for _, f := range []string{"timezone", "schedule.mon[0]", "schedule.someday", "holidays[1]"} {
				if r.Field(f) == "" {
					t.Errorf("no problem named for %s: %s", f, r.Raw)
				}
			}
			a.must(400, "PUT", "/api/v1/business-hours", biz.token, map[string]any{"schedule": allWeek([2]string{"09:00", "18:00"})})
			a.must(400, "PUT", "/api/v1/business-hours", biz.token, `{"timezone": "UTC", "schedule": {"mon": "always"}}`)
			var many [][2]string
			for i := 0; i < 11; i++ {
				many = append(many, [2]string{fmt.Sprintf("%02d:00", i), fmt.Sprintf("%02d:30", i)})
			}
			if r := a.must(400, "PUT", "/api/v1/business-hours", biz.token, map[string]any{"timezone": "UTC", "schedule": map[string]any{"mon": many}}); r.Field("schedule.mon") == "" {
				t.Fatalf("11 intervals a day: %s", r.Raw)
			}
			if r := a.must(200, "GET", "/api/v1/business-hours", biz.token, nil); r.Str("configured") != "false" {
				t.Fatalf("a refused PUT stored something: %s", r.Raw)
			}
		})
		t.Run("agents and supervisors may neither read nor change them", func(t *testing.T) {
			for _, tok := range []string{agentTok, superTok} {
				a.must(403, "GET", "/api/v1/business-hours", tok, nil)
				a.must(403, "PUT", "/api/v1/business-hours", tok, map[string]any{"timezone": "UTC"})
			}
			a.must(401, "GET", "/api/v1/business-hours", "", nil)
		})
		t.Run("saved hours read back, and the widget shows them open now", func(t *testing.T) {
			r := a.must(200, "PUT", "/api/v1/business-hours", biz.token, map[string]any{
				"timezone": "Asia/Shanghai", "schedule": allWeek([2]string{"00:00", "24:00"}), "holidays": []string{},
			})
			if r.Str("configured") != "true" || r.Str("enabled") != "true" || r.Str("open_now") != "true" || r.Body["next_open_at"] != nil {
				t.Fatalf("saved: %s", r.Raw)
			}
			g := a.must(200, "GET", "/api/v1/business-hours", biz.token, nil)
			if g.Str("timezone") != "Asia/Shanghai" || !strings.Contains(g.Raw, `"sun":[["00:00","24:00"]]`) {
				t.Fatalf("read back: %s", g.Raw)
			}
			w := cfg(biz)
			if w.Str("business_hours", "open_now") != "true" || w.Str("business_hours", "timezone") != "Asia/Shanghai" {
				t.Fatalf("widget config: %s", w.Raw)
			}
			if w.Str("offline") != "true" {
				t.Fatalf("open, but nobody online: the widget must offer the form: %s", w.Raw)
			}
			_, _, sock := a.onlineAgent(t, biz, "ann@example.com")
			if w := cfg(biz); w.Str("offline") != "false" || w.Str("agents_online") != "1" {
				t.Fatalf("open with an agent online: %s", w.Raw)
			}
			t.Run("closed now: the form is offered even with an agent online, and the next opening is given", func(t *testing.T) {
				now := time.Now().UTC()
				start := now.Truncate(time.Hour).Add(2 * time.Hour)
				if start.Day() != now.Day() { // keep the interval within one day
					start = time.Date(now.Year(), now.Month(), now.Day()+1, 1, 0, 0, 0, time.UTC)
				}
				span := [2]string{start.Format("15:04"), start.Add(time.Hour).Format("15:04")}
				a.must(200, "PUT", "/api/v1/business-hours", biz.token, map[string]any{"timezone": "UTC", "schedule": allWeek(span)})
				w := cfg(biz)
				if w.Str("business_hours", "open_now") != "false" || w.Str("offline") != "true" {
					t.Fatalf("closed: %s", w.Raw)
				}
				if got := w.Str("business_hours", "next_open_at"); got != start.Format(time.RFC3339) {
					t.Fatalf("next_open_at %q, want %s", got, start.Format(time.RFC3339))
				}
			})
			sock.CloseNow()
		})
		t.Run("turned off, the widget shows no hours", func(t *testing.T) {
			a.must(200, "PUT", "/api/v1/business-hours", biz.token, map[string]any{"enabled": false, "timezone": "UTC", "schedule": map[string]any{}})
			if w := cfg(biz); w.Body["business_hours"] != nil {
				t.Fatalf("disabled hours shown: %s", w.Raw)
			}
		})
		t.Run("another workspace's hours are its own", func(t *testing.T) {
			if r := a.must(200, "GET", "/api/v1/business-hours", other.token, nil); r.Str("configured") != "false" {
				t.Fatalf("tenant B sees A's hours: %s", r.Raw)
			}
			if w := cfg(other); w.Body["business_hours"] != nil {
				t.Fatalf("tenant B's widget shows A's hours: %s", w.Raw)
			}
			a.must(404, "GET", "/api/v1/widget/config?key=nope", "", nil)
		})
	})
}

// TestExpectedWait: the wait the widget is told comes from the queue's
// recent exits, per place in line, and is unknown (null) without them.
func TestExpectedWait(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		t.Run("no recent exits: the wait is unknown, never a made-up number", func(t *testing.T) {
			fresh := a.signup("Fresh")
			w := a.must(200, "GET", "/api/v1/widget/config?key="+fresh.widgetKey, "", nil)
			if w.Str("queue", "length") != "0" || !strings.Contains(w.Raw, `"expected_wait_seconds":null`) {
				t.Fatalf("config: %s", w.Raw)
			}
		})
		t.Run("seeded exits a minute apart: place × 1 min in frames and config; cleared on assignment", func(t *testing.T) {
			biz := a.signup("Busy")
			db, err := a.store.Tenant(biz.tenantID)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			for i := 1; i <= 5; i++ {
				if err := db.Exec(`INSERT INTO `+db.Table("queue_exits")+` (conversation_id, queued_at, assigned_at) VALUES (?, ?, ?)`,
					fmt.Sprintf("seed%d", i), now.Add(-time.Hour), now.Add(-time.Duration(i)*time.Minute)).Error; err != nil {
					t.Fatal(err)
				}
			}
			var socks []*wsClient
			var convs []string
			for i := 0; i < 3; i++ {
				w, conv := a.ask(t, biz, fmt.Sprintf("question %d", i))
				if c := a.settle(biz.token, conv); c.Str("status") != "queued" {
					t.Fatalf("not queued: %s", c.Raw)
				}
				socks, convs = append(socks, w), append(convs, conv)
			}
			for i, w := range socks {
				pos := int64(i + 1)
				w.until(5*time.Second, func(f map[string]any) bool {
					return f["type"] == "queue" && num(f["position"]) == pos && num(f["estimated_wait_seconds"]) == pos*60
				})
			}
			cfg := a.must(200, "GET", "/api/v1/widget/config?key="+biz.widgetKey, "", nil)
			if cfg.Str("queue", "length") != "3" || cfg.Str("queue", "expected_wait_seconds") != "240" {
				t.Fatalf("config for a fourth visitor: %s", cfg.Raw)
			}
			a.onlineAgent(t, biz, "ann@example.com")
			socks[0].until(5*time.Second, func(f map[string]any) bool {
				return f["type"] == "queue" && f["conversation_id"] == convs[0] && num(f["position"]) == 0 && f["estimated_wait_seconds"] == nil
			})
			// The exit was recorded: the next estimate learns from it.
			if n := a.rows(biz.tenantID, "queue_exits"); n < 6 {
				t.Fatalf("%d exits recorded, want the 5 seeded and at least 1 more", n)
			}
		})
	})
}

// TestOfflineFormAndReplyMail: the offline form puts the e-mail onto the
// contact and opens the conversation; an agent's reply the visitor does not
// read is e-mailed (unread replies together, notes never, read ones not).
func TestOfflineFormAndReplyMail(t *testing.T) {
	smtp := mailertest.Start(t, mailertest.StartTLS, "", "")
	m, err := mailer.New(mailer.Config{URL: smtp.URL(), From: "Kefu <no-reply@example.com>", RootCAs: smtp.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	to := func(addr string) []mailertest.Message {
		var out []mailertest.Message
		for _, msg := range smtp.Messages() {
			if len(msg.To) == 1 && msg.To[0] == addr {
				out = append(out, msg)
			}
		}
		return out
	}
	waitMail := func(t *testing.T, addr string, n int) []mailertest.Message {
		t.Helper()
		deadline := time.Now().Add(8 * time.Second)
		for time.Now().Before(deadline) {
			if got := to(addr); len(got) >= n {
				return got
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%d e-mails to %s, want %d", len(to(addr)), addr, n)
		return nil
	}
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			a := newAppWith(t, b.Store, nil, func(cc *chat.Config, ac *api.Config) {
				ac.Mailer, cc.Mailer = m, m
				cc.ReplyMailDelay, cc.ReplyMailEvery = 300*time.Millisecond, 500*time.Millisecond
			})
			biz := a.signup("Shop")
			a.must(200, "PATCH", "/api/v1/tenant", biz.token, map[string]any{"allowed_origins": []string{"https://shop.example.com"}})
			if r := a.must(200, "GET", "/api/v1/tenant", biz.token, nil); r.Str("email_configured") != "true" {
				t.Fatalf("tenant: %s", r.Raw)
			}
			addr := "zhang-" + b.Name + "@example.com"
			sess := a.must(201, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": biz.widgetKey,
				"visitor": map[string]any{"attributes": map[string]any{"page_url": "https://shop.example.com/cart?id=7", "language": "zh-CN"}}})
			vtok := sess.Str("visitor_token")

			t.Run("the form is checked field by field", func(t *testing.T) {
				r := a.must(400, "POST", "/api/v1/widget/offline", "", map[string]any{"widget_key": biz.widgetKey, "email": "not-an-address", "message": " "})
				if r.Field("email") == "" || r.Field("message") == "" {
					t.Fatalf("%s", r.Raw)
				}
				if r := a.must(400, "POST", "/api/v1/widget/offline", "", map[string]any{"widget_key": biz.widgetKey, "message": "hi"}); r.Field("email") == "" {
					t.Fatalf("%s", r.Raw)
				}
				a.must(400, "POST", "/api/v1/widget/offline", "", map[string]any{"widget_key": biz.widgetKey, "email": addr, "message": strings.Repeat("x", 17000)})
				a.must(404, "POST", "/api/v1/widget/offline", "", map[string]any{"widget_key": "nope", "email": addr, "message": "hi"})
			})

			form := map[string]any{"widget_key": biz.widgetKey, "visitor_token": vtok, "name": "张三", "email": addr, "message": "我的包裹到哪了？", "client_id": "off-1"}
			r := a.must(201, "POST", "/api/v1/widget/offline", "", form)
			conv, vid := r.Str("conversation_id"), r.Str("visitor_id")
			if conv == "" || vid != sess.Str("visitor_id") || r.Str("visitor_token") != vtok || r.Str("email_configured") != "true" {
				t.Fatalf("offline: %s", r.Raw)
			}
			t.Run("a resend stores nothing new", func(t *testing.T) {
				again := a.must(201, "POST", "/api/v1/widget/offline", "", form)
				if again.Str("message", "id") != r.Str("message", "id") {
					t.Fatalf("resend stored another message: %s", again.Raw)
				}
			})
			t.Run("the e-mail is on the contact and the message opens the conversation", func(t *testing.T) {
				c := a.must(200, "GET", "/api/v1/contacts/"+vid, biz.token, nil)
				if c.Str("email") != addr && c.Str("contact", "email") != addr {
					t.Fatalf("contact: %s", c.Raw)
				}
				msgs := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", biz.token, nil)
				if !strings.Contains(msgs.Raw, "我的包裹到哪了？") {
					t.Fatalf("messages: %s", msgs.Raw)
				}
			})
			t.Run("replies the visitor does not read are e-mailed together, with a link back", func(t *testing.T) {
				a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "A private note", "private": true})
				a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "已发货，单号 SF123"})
				a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "预计明天送达"})
				got := waitMail(t, addr, 1)
				time.Sleep(800 * time.Millisecond)
				if n := len(to(addr)); n != 1 {
					t.Fatalf("%d e-mails, want 1 for both replies", n)
				}
				msg := got[0]
				if !strings.Contains(msg.Body, "已发货，单号 SF123") || !strings.Contains(msg.Body, "预计明天送达") ||
					!strings.Contains(msg.Body, "https://shop.example.com/cart?id=7") || strings.Contains(msg.Body, "private note") {
					t.Fatalf("body: %s", msg.Body)
				}
				if !strings.Contains(msg.Subject, "回复了你") || !strings.Contains(msg.Subject, "Olga") {
					t.Fatalf("subject (zh-CN, the visitor's language): %s", msg.Subject)
				}
			})
			t.Run("a reply the visitor reads in the widget is not e-mailed", func(t *testing.T) {
				vis := a.connect(t, vtok, nil)
				a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "还有别的问题吗？"})
				f := vis.until(5*time.Second, func(f map[string]any) bool {
					m, _ := f["message"].(map[string]any)
					return f["type"] == "message.new" && m["body"] == "还有别的问题吗？"
				})
				vis.send(map[string]any{"type": "read", "conversation_id": conv, "seq": f[len(f)-1]["seq"]})
				time.Sleep(1500 * time.Millisecond)
				if n := len(to(addr)); n != 1 {
					t.Fatalf("%d e-mails after a read reply, want still 1", n)
				}
			})
			t.Run("another reply once the visitor left is e-mailed again", func(t *testing.T) {
				a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "您还在吗？"})
				got := waitMail(t, addr, 2)
				if !strings.Contains(got[1].Body, "您还在吗？") || strings.Contains(got[1].Body, "SF123") {
					t.Fatalf("second e-mail: %s", got[1].Body)
				}
			})
			t.Run("another tenant's visitor token starts a new visitor there", func(t *testing.T) {
				other := a.signup("Elsewhere")
				o := a.must(201, "POST", "/api/v1/widget/offline", "", map[string]any{"widget_key": other.widgetKey, "visitor_token": vtok, "email": "x@example.com", "message": "hello"})
				if o.Str("visitor_id") == vid {
					t.Fatalf("tenant B reused tenant A's visitor: %s", o.Raw)
				}
				a.must(404, "GET", "/api/v1/contacts/"+vid, other.token, nil)
				a.must(404, "GET", "/api/v1/conversations/"+conv, other.token, nil)
			})
		})
	}
}

// TestRepliesWaitWithoutEmail: without SMTP nothing is sent and the admin is
// told e-mail is not configured.
func TestRepliesWaitWithoutEmail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("No mail")
		r := a.must(201, "POST", "/api/v1/widget/offline", "", map[string]any{"widget_key": biz.widgetKey, "email": "li@example.com", "message": "hello?"})
		if r.Str("email_configured") != "false" {
			t.Fatalf("%s", r.Raw)
		}
		if h := a.must(200, "GET", "/api/v1/business-hours", biz.token, nil); h.Str("email_configured") != "false" {
			t.Fatalf("%s", h.Raw)
		}
		if tn := a.must(200, "GET", "/api/v1/tenant", biz.token, nil); tn.Str("email_configured") != "false" {
			t.Fatalf("%s", tn.Raw)
		}
		a.must(201, "POST", "/api/v1/conversations/"+r.Str("conversation_id")+"/messages", biz.token, map[string]any{"body": "hi"})
		if n := a.rows(biz.tenantID, "reply_mails"); n != 0 {
			t.Fatalf("%d reply e-mails recorded without SMTP", n)
		}
	})
}
