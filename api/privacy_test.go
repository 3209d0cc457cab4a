package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// get fetches path raw (a transcript is not always JSON).
func (a *app) get(path, token string) (int, http.Header, string) {
	a.t.Helper()
	r := a.do("GET", path, token, nil)
	return r.Status, r.Header, r.Raw
}

// TestContactExportAndErase: an admin exports everything about a contact
// (messages, notes, files inline) and erases them; afterwards nothing of the
// person is in their messages, search, a new export, a transcript or the
// payload of a webhook event still waiting. Agents may do neither; another
// tenant's ids are 404; both are in the audit log.
func TestContactExportAndErase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Privacy")
		other := a.signup("Privacy other")
		_, agent := a.staff(biz, "ann@example.com", "agent", nil)
		vid, vtok := a.visitor(biz.widgetKey)
		vis := a.connect(t, vtok, nil)
		vis.send(map[string]any{"type": "message.send", "client_id": "c1", "body": "我的手机号是13800138000，地址在茶壶街"})
		conv := vis.expect("ack")["conversation_id"].(string)
		a.settle(biz.token, conv)
		up := a.upload(vtok, "id-card.png", []byte("\x89PNG\r\n\x1a\nsecret-id-card"))
		if up.Status != 201 {
			t.Fatalf("upload: %d %s", up.Status, up.Raw)
		}
		vis.send(map[string]any{"type": "message.send", "client_id": "c2", "conversation_id": conv, "body": "see file, 茶壶街 again", "attachments": []string{up.Str("id")}})
		vis.expect("ack")
		a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "备注：Vera 是老客户", "private": true})
		// A webhook that nobody answers keeps its event waiting.
		a.must(201, "POST", "/api/v1/webhooks", biz.token, map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"message.created"}})
		a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "Vera, your parcel to 茶壶街 left today"})

		// Export: admin only, everything in it.
		if r := a.do("GET", "/api/v1/contacts/"+vid+"/export", agent, nil); r.Status != 403 {
			t.Errorf("agent exports: %d", r.Status)
		}
		if r := a.do("GET", "/api/v1/contacts/"+vid+"/export", other.token, nil); r.Status != 404 {
			t.Errorf("another tenant exports: %d", r.Status)
		}
		ex := a.must(200, "GET", "/api/v1/contacts/"+vid+"/export", biz.token, nil)
		if ex.Header.Get("Content-Disposition") == "" || ex.Str("contact", "email") != "vera@example.com" {
			t.Errorf("export: %s", ex.Raw)
		}
		for _, want := range []string{"13800138000", "备注：Vera", "your parcel"} {
			if !strings.Contains(ex.Raw, want) {
				t.Errorf("export lacks %q", want)
			}
		}
		files, _ := ex.Body["files"].([]any)
		if len(files) != 1 {
			t.Fatalf("export files: %s", ex.Raw)
		}
		data, _ := base64.StdEncoding.DecodeString(files[0].(map[string]any)["data_base64"].(string))
		if !bytes.HasSuffix(data, []byte("secret-id-card")) {
			t.Errorf("exported file: %q", data)
		}

		// Erase.
		if r := a.do("POST", "/api/v1/contacts/"+vid+"/erase", agent, nil); r.Status != 403 {
			t.Errorf("agent erases: %d", r.Status)
		}
		if r := a.do("POST", "/api/v1/contacts/"+vid+"/erase", other.token, nil); r.Status != 404 {
			t.Errorf("another tenant erases: %d", r.Status)
		}
		er := a.must(200, "POST", "/api/v1/contacts/"+vid+"/erase", biz.token, nil)
		if num(er.Body["conversations"]) != 1 || num(er.Body["files_deleted"]) != 1 {
			t.Errorf("erase: %s", er.Raw)
		}
		secrets := []string{"13800138000", "茶壶街", "Vera", "vera@example.com", "secret-id-card", "pro"}
		noTrace := func(where, raw string) {
			t.Helper()
			for _, s := range secrets {
				if strings.Contains(raw, s) {
					t.Errorf("%s still holds %q: %s", where, s, raw)
				}
			}
		}
		noTrace("messages", a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", biz.token, nil).Raw)
		noTrace("the conversation", a.must(200, "GET", "/api/v1/conversations/"+conv, biz.token, nil).Raw)
		noTrace("a new export", a.must(200, "GET", "/api/v1/contacts/"+vid+"/export", biz.token, nil).Raw)
		_, _, tr := a.get("/api/v1/conversations/"+conv+"/transcript?format=html&notes=true", biz.token)
		noTrace("the transcript", tr)
		for _, q := range []string{"13800138000", "茶壶街", "Vera", "vera@"} {
			for _, typ := range []string{"messages", "contacts", "conversations"} {
				noTrace("search "+typ+" "+q, a.must(200, "GET", "/api/v1/search?type="+typ+"&q="+url.QueryEscape(q), biz.token, nil).Raw)
			}
		}
		if r := a.do("GET", "/api/v1/files/"+biz.tenantID+"/"+up.Str("id"), "", nil); r.Status != 404 && r.Status != 403 {
			t.Errorf("the erased file is still served: %d", r.Status)
		}
		// The webhook events still waiting carry nothing of the person, nor
		// do those made from now on.
		a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "closing note"})
		db, _ := a.store.Tenant(biz.tenantID)
		var payloads []string
		if err := db.Raw(`SELECT payload FROM `+a.chat.OutboxTable(db)+` WHERE tenant_id = ?`, biz.tenantID).Scan(&payloads).Error; err != nil {
			t.Fatal(err)
		}
		if len(payloads) < 2 {
			t.Errorf("outbox: %v", payloads)
		}
		noTrace("the webhook outbox", strings.Join(payloads, "\n"))

		// Both actions are in the audit log, with who and from where.
		au := a.must(200, "GET", "/api/v1/audit?action=contact.", biz.token, nil)
		entries, _ := au.Body["entries"].([]any)
		if len(entries) != 3 { // export, erase, export
			t.Fatalf("audit: %s", au.Raw)
		}
		last := entries[0].(map[string]any)
		if last["action"] != "contact.exported" || last["target_id"] != vid || last["ip"] == "" || last["user_agent"] == "" {
			t.Errorf("audit entry: %v", last)
		}
		if erased := entries[1].(map[string]any); erased["action"] != "contact.erased" || num(erased["details"].(map[string]any)["files_deleted"]) != 1 {
			t.Errorf("erase entry: %v", erased)
		}
	})
}

// TestTranscript: JSON, CSV and printable HTML, escaped; private notes only
// when asked for; 404 across tenants; a bad format is a 400.
func TestTranscript(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Transcript")
		other := a.signup("Transcript other")
		conv := a.conversation(t, biz, `<script>alert("x")</script> =1+1 你好`)
		a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "internal only", "private": true})
		a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "Hello, Vera"})
		base := "/api/v1/conversations/" + conv + "/transcript"

		st, h, body := a.get(base+"?format=html", biz.token)
		if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || strings.Contains(body, "<script>") ||
			!strings.Contains(body, "&lt;script&gt;") || !strings.Contains(body, "Hello, Vera") || strings.Contains(body, "internal only") {
			t.Errorf("html: %d %s", st, body)
		}
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("html CSP: %q", h.Get("Content-Security-Policy"))
		}
		if _, _, body := a.get(base+"?format=html&notes=true", biz.token); !strings.Contains(body, "internal only") {
			t.Errorf("html with notes lacks the note")
		}
		st, h, body = a.get(base+"?format=csv", biz.token)
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if st != 200 || err != nil || len(rows) < 3 || rows[0][0] != "seq" || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %v %q", st, err, body)
		}
		if rows[1][5] != `<script>alert("x")</script> =1+1 你好` || rows[len(rows)-1][5] != "Hello, Vera" || strings.Contains(body, "internal only") {
			t.Errorf("csv rows: %q", rows)
		}
		js := a.must(200, "GET", base+"?format=json", biz.token, nil)
		if msgs, _ := js.Body["messages"].([]any); len(msgs) != len(rows)-1 || js.Str("conversation", "id") != conv {
			t.Errorf("json: %s", js.Raw)
		}
		if r := a.do("GET", base+"?format=pdf", biz.token, nil); r.Status != 400 || r.Field("format") == "" {
			t.Errorf("pdf: %d %s", r.Status, r.Raw)
		}
		if r := a.do("GET", base, other.token, nil); r.Status != 404 {
			t.Errorf("another tenant: %d", r.Status)
		}
	})
}

// TestAuditLog: sign-ins (good and bad), password and role changes, API key
// create and revoke, webhook changes, flow publish and settings changes are
// recorded with who, what, when and from where; the list filters and pages;
// only admins read it, and each tenant only its own.
func TestAuditLog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Audit")
		other := a.signup("Audit other")
		annID, ann := a.staff(biz, "ann@example.com", "agent", nil)
		if r := a.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": "ann@example.com", "password": "wrong-password"}); r.Status != 401 {
			t.Fatalf("bad login: %d", r.Status)
		}
		a.must(204, "POST", "/api/v1/me/password", ann, map[string]any{"current_password": "password1", "new_password": "password2"})
		a.must(200, "PATCH", "/api/v1/agents/"+annID, biz.token, map[string]any{"role": "supervisor"})
		key := a.must(201, "POST", "/api/v1/api-keys", biz.token, map[string]any{"name": "crm", "role": "developer"})
		a.must(204, "DELETE", "/api/v1/api-keys/"+key.Str("id"), biz.token, nil)
		hook := a.must(201, "POST", "/api/v1/webhooks", biz.token, map[string]any{"url": "https://example.com/h", "events": []string{"message.created"}})
		a.must(200, "PATCH", "/api/v1/webhooks/"+hook.Str("id"), biz.token, map[string]any{"enabled": false})
		a.must(200, "PATCH", "/api/v1/tenant", biz.token, map[string]any{"retention_months": 12})
		flows := a.must(200, "GET", "/api/v1/flows", biz.token, nil)
		if list, _ := flows.Body["flows"].([]any); len(list) > 0 {
			a.must(200, "POST", "/api/v1/flows/"+list[0].(map[string]any)["id"].(string)+"/publish", biz.token, nil)
		}

		all := a.must(200, "GET", "/api/v1/audit?limit=200", biz.token, nil)
		got := map[string]map[string]any{}
		entries, _ := all.Body["entries"].([]any)
		for _, e := range entries {
			m := e.(map[string]any)
			if _, ok := got[m["action"].(string)]; !ok {
				got[m["action"].(string)] = m
			}
		}
		for _, want := range []string{"auth.login", "auth.login_failed", "user.created", "user.password_changed", "user.changed",
			"api_key.created", "api_key.revoked", "webhook.created", "webhook.changed", "settings.changed"} {
			e, ok := got[want]
			if !ok {
				t.Errorf("no %s entry in %s", want, all.Raw)
				continue
			}
			if e["ip"] == "" || e["at"] == "" {
				t.Errorf("%s: no where or when: %v", want, e)
			}
		}
		if e := got["auth.login_failed"]; e != nil && e["details"].(map[string]any)["email"] != "ann@example.com" {
			t.Errorf("failed login: %v", e)
		}
		if e := got["user.changed"]; e != nil && (e["target_id"] != annID || e["details"].(map[string]any)["role"] != "supervisor" || e["actor"].(map[string]any)["id"] != biz.ownerID) {
			t.Errorf("role change: %v", e)
		}
		if e := got["api_key.revoked"]; e != nil && e["target_id"] != key.Str("id") {
			t.Errorf("key revoke: %v", e)
		}
		// Filters and paging.
		f := a.must(200, "GET", "/api/v1/audit?action=api_key.created", biz.token, nil)
		if list, _ := f.Body["entries"].([]any); len(list) != 1 {
			t.Errorf("filter: %s", f.Raw)
		}
		p1 := a.must(200, "GET", "/api/v1/audit?limit=2", biz.token, nil)
		p2 := a.must(200, "GET", "/api/v1/audit?limit=2&cursor="+url.QueryEscape(p1.Str("next_cursor")), biz.token, nil)
		if ids(p1, "entries")[1] == ids(p2, "entries")[0] || p1.Str("next_cursor") == "" {
			t.Errorf("pages: %s / %s", p1.Raw, p2.Raw)
		}
		if r := a.do("GET", "/api/v1/audit?since=yesterday", biz.token, nil); r.Status != 400 || r.Field("since") == "" {
			t.Errorf("bad since: %d %s", r.Status, r.Raw)
		}
		// Admins only; another tenant sees none of it.
		if r := a.do("GET", "/api/v1/audit", ann, nil); r.Status != 401 && r.Status != 403 {
			t.Errorf("ann (agent, her session ended with the password change) reads the audit log: %d", r.Status)
		}
		o := a.must(200, "GET", "/api/v1/audit?limit=200", other.token, nil)
		if strings.Contains(o.Raw, annID) || strings.Contains(o.Raw, key.Str("id")) {
			t.Errorf("another tenant's audit log shows this one's: %s", o.Raw)
		}
	})
}
