package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"kefu/bots"
	"kefu/bots/botstest"
	"kefu/chat"
	"kefu/tenants/tenantstest"
)

const modelKey = "sk-kefu-test-KEY-9f8e7d6c5b4a"

// llmFlow is start → llm (answered: the end; handoff: assign round robin).
func llmFlow(timeoutMS int, fallback string) map[string]any {
	return map[string]any{
		"nodes": []map[string]any{
			{"id": "start", "type": "start", "position": map[string]any{"x": 0, "y": 0}},
			{"id": "ask", "type": "llm", "data": map[string]any{"timeout_ms": timeoutMS, "fallback_text": fallback}, "position": map[string]any{"x": 0, "y": 100}},
			{"id": "person", "type": "assign", "data": map[string]any{"strategy": "round_robin"}, "position": map[string]any{"x": 0, "y": 200}},
		},
		"edges": []map[string]any{
			{"id": "e1", "source": "start", "target": "ask"},
			{"id": "e2", "source": "ask", "target": "person", "label": "handoff"},
		},
	}
}

// faqFlow is start → faq (answered: the end; unanswered: the queue).
func faqFlow() map[string]any {
	return map[string]any{
		"nodes": []map[string]any{
			{"id": "start", "type": "start", "position": map[string]any{"x": 0, "y": 0}},
			{"id": "faq", "type": "faq", "position": map[string]any{"x": 0, "y": 100}},
			{"id": "wait", "type": "queue", "position": map[string]any{"x": 0, "y": 200}},
		},
		"edges": []map[string]any{
			{"id": "e1", "source": "start", "target": "faq"},
			{"id": "e2", "source": "faq", "target": "wait", "label": "unanswered"},
		},
	}
}

func (a *app) publishFlow(biz business, graph map[string]any) {
	a.t.Helper()
	id := a.must(201, "POST", "/api/v1/flows", biz.token, map[string]any{"name": "Bots", "graph": graph}).Str("id")
	a.must(200, "POST", "/api/v1/flows/"+id+"/publish", biz.token, nil)
}

func (a *app) setModel(biz business, provider, base string) {
	a.t.Helper()
	a.must(200, "PUT", "/api/v1/bots/llm", biz.token, map[string]any{"provider": provider, "base_url": base, "model": "fake-1", "api_key": modelKey})
}

// onlineAgent adds an agent, logs them in and puts them online.
func (a *app) onlineAgent(t *testing.T, biz business, email string) (id, token string, w *wsClient) {
	t.Helper()
	id = a.must(201, "POST", "/api/v1/agents", biz.token, map[string]any{"email": email, "name": "Ann " + email[:3], "password": "password1"}).Str("id")
	token = a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": email, "password": "password1"}).Str("token")
	w = a.connect(t, token, nil)
	w.send(map[string]any{"type": "presence", "status": "online"})
	w.expect("presence")
	return id, token, w
}

// ask opens a visitor's socket and sends text; it returns the socket and the
// conversation id (from the ack).
func (a *app) ask(t *testing.T, biz business, text string) (*wsClient, string) {
	t.Helper()
	_, vtok := a.visitor(biz.widgetKey)
	w := a.connect(t, vtok, nil)
	w.send(map[string]any{"type": "message.send", "client_id": "q1", "body": text})
	ack := w.expect("ack")
	return w, ack["conversation_id"].(string)
}

// until collects frames until done says so (or fails after timeout).
func (w *wsClient) until(timeout time.Duration, done func(f map[string]any) bool) []map[string]any {
	w.t.Helper()
	var got []map[string]any
	deadline := time.After(timeout)
	for {
		select {
		case fr, ok := <-w.Frames():
			if !ok {
				w.t.Fatalf("socket closed; saw %v", got)
			}
			f := fr.M
			got = append(got, f)
			if done(f) {
				return got
			}
		case <-deadline:
			w.t.Fatalf("not done within %v; saw %v", timeout, got)
		}
	}
}

func botMessage(f map[string]any) (body, clientID string, ok bool) {
	if f["type"] != "message.new" {
		return "", "", false
	}
	m, _ := f["message"].(map[string]any)
	author, _ := m["author"].(map[string]any)
	if author["type"] != "bot" {
		return "", "", false
	}
	body, _ = m["body"].(string)
	clientID, _ = m["client_id"].(string)
	return body, clientID, true
}

func TestFAQAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Knowledge")
		var id string
		t.Run("an admin adds, lists, reads, changes and deletes entries", func(t *testing.T) {
			r := a.must(201, "POST", "/api/v1/faqs", biz.token, map[string]any{"question": " 退货政策是什么? / What is the return policy? ", "answer": "7 天无理由退货。",
				"alternates": []string{"怎么退货", "怎么退货", ""}, "keywords": []string{"退货"}})
			id = r.Str("id")
			if r.Str("question") != "退货政策是什么? / What is the return policy?" || !strings.Contains(r.Raw, `"alternates":["怎么退货"]`) {
				t.Fatalf("created: %s", r.Raw)
			}
			l := a.must(200, "GET", "/api/v1/faqs?q=RETURN", biz.token, nil)
			if l.Str("total") != "1" || !strings.Contains(l.Raw, id) {
				t.Fatalf("search: %s", l.Raw)
			}
			if l := a.must(200, "GET", "/api/v1/faqs?q=发票", biz.token, nil); l.Str("total") != "0" {
				t.Fatalf("search for what is not there: %s", l.Raw)
			}
			a.must(200, "GET", "/api/v1/faqs/"+id, biz.token, nil)
			u := a.must(200, "PUT", "/api/v1/faqs/"+id, biz.token, map[string]any{"question": "退货政策是什么? / What is the return policy?", "answer": "收货 7 天内可退货。"})
			if u.Str("answer") != "收货 7 天内可退货。" || !strings.Contains(u.Raw, `"alternates":[]`) {
				t.Fatalf("updated: %s", u.Raw)
			}
			tmp := a.must(201, "POST", "/api/v1/faqs", biz.token, map[string]any{"question": "temp", "answer": "x"}).Str("id")
			a.must(204, "DELETE", "/api/v1/faqs/"+tmp, biz.token, nil)
			a.must(404, "GET", "/api/v1/faqs/"+tmp, biz.token, nil)
			a.must(404, "DELETE", "/api/v1/faqs/"+tmp, biz.token, nil)
			a.must(404, "PUT", "/api/v1/faqs/nope", biz.token, map[string]any{"question": "q", "answer": "a"})
		})

		t.Run("bad entries are 400 naming the field", func(t *testing.T) {
			for _, c := range []struct {
				body  any
				field string
			}{
				{map[string]any{"answer": "a"}, "question"},
				{map[string]any{"question": "q"}, "answer"},
				{map[string]any{"question": strings.Repeat("问", 501), "answer": "a"}, "question"},
				{map[string]any{"question": "q", "answer": strings.Repeat("答", 5001)}, "answer"},
				{map[string]any{"question": "q", "answer": "a", "keywords": []string{strings.Repeat("k", 51)}}, "keywords"},
				{map[string]any{"question": "q", "answer": "a", "alternates": make([]string, 0)}, ""},
			} {
				r := a.do("POST", "/api/v1/faqs", biz.token, c.body)
				if c.field == "" {
					if r.Status != 201 {
						t.Errorf("%v: %d %s", c.body, r.Status, r.Raw)
					}
					a.must(204, "DELETE", "/api/v1/faqs/"+r.Str("id"), biz.token, nil)
					continue
				}
				if r.Status != 400 || r.Code() != "invalid_argument" || r.Field(c.field) == "" {
					t.Errorf("%v: %d %s", c.body, r.Status, r.Raw)
				}
			}
			if r := a.do("POST", "/api/v1/faqs", biz.token, `{"question":`); r.Status != 400 {
				t.Errorf("bad JSON: %d", r.Status)
			}
		})

		t.Run("try a question: the match and its score", func(t *testing.T) {
			r := a.must(200, "POST", "/api/v1/faqs/match", biz.token, map[string]any{"text": "请问怎么退货?"})
			if r.Str("answer", "faq", "id") != id {
				t.Fatalf("match: %s", r.Raw)
			}
			ms, _ := r.Body["matches"].([]any)
			if len(ms) == 0 || ms[0].(map[string]any)["score"].(float64) < 0.5 {
				t.Fatalf("matches: %s", r.Raw)
			}
			n := a.must(200, "POST", "/api/v1/faqs/match", biz.token, map[string]any{"text": "你们有实体店吗?"})
			if n.Body["answer"] != nil {
				t.Fatalf("an uncovered question was answered: %s", n.Raw)
			}
			if r := a.do("POST", "/api/v1/faqs/match", biz.token, map[string]any{"text": ""}); r.Status != 400 {
				t.Fatalf("empty text: %d", r.Status)
			}
		})

		t.Run("the threshold is the tenant's", func(t *testing.T) {
			a.must(200, "PUT", "/api/v1/bots/settings", biz.token, map[string]any{"faq_threshold": 0.99, "handoff_phrases": []string{"转人工"}})
			if r := a.must(200, "POST", "/api/v1/faqs/match", biz.token, map[string]any{"text": "请问怎么退货?"}); r.Body["answer"] != nil {
				t.Fatalf("answered above a 0.99 threshold: %s", r.Raw)
			}
			a.must(200, "PUT", "/api/v1/bots/settings", biz.token, map[string]any{"faq_threshold": 0.5, "handoff_phrases": []string{"转人工", "human"}})
			if r := a.must(200, "GET", "/api/v1/bots/settings", biz.token, nil); !strings.Contains(r.Raw, `"faq_threshold":0.5`) || !strings.Contains(r.Raw, "human") {
				t.Fatalf("settings: %s", r.Raw)
			}
			if r := a.do("PUT", "/api/v1/bots/settings", biz.token, map[string]any{"faq_threshold": 1.5}); r.Status != 400 || r.Field("faq_threshold") == "" {
				t.Fatalf("bad threshold: %d %s", r.Status, r.Raw)
			}
		})

		t.Run("import: CSV and JSON, every row checked, nothing half-imported", func(t *testing.T) {
			before := a.must(200, "GET", "/api/v1/faqs", biz.token, nil).Str("total")
			bad := "question,answer,alternates,keywords\n运费怎么算?,满 99 包邮,邮费多少|包邮吗,运费\n,no question here,,\n\"multi\nline\",ok,,\n发票?,,,\nnul\x00here,x,,\n"
			r := a.do("POST", "/api/v1/faqs/import?format=csv", biz.token, bad)
			if r.Status != 400 || r.Field("line 3") == "" || r.Field("line 6") == "" || r.Field("line 7") == "" || r.Field("line 2") != "" || r.Field("line 4") != "" {
				t.Fatalf("bad CSV: %d %s", r.Status, r.Raw)
			}
			if after := a.must(200, "GET", "/api/v1/faqs", biz.token, nil).Str("total"); after != before {
				t.Fatalf("a failed import left %s entries (before %s)", after, before)
			}
			if r := a.do("POST", "/api/v1/faqs/import?format=csv", biz.token, "q,a\nx,y\n"); r.Status != 400 || r.Field("line 1") == "" {
				t.Fatalf("no header: %d %s", r.Status, r.Raw)
			}
			if r := a.do("POST", "/api/v1/faqs/import?format=csv", biz.token, "question,answer\n\"unterminated,x\n"); r.Status != 400 {
				t.Fatalf("broken CSV: %d %s", r.Status, r.Raw)
			}
			ok := "question,answer,alternates,keywords\n运费怎么算? / How much is shipping?,满 99 元包邮。,邮费多少|包邮吗,运费|shipping\n"
			r = a.do("POST", "/api/v1/faqs/import?format=csv", biz.token, ok)
			if r.Status != 200 || r.Str("imported") != "1" {
				t.Fatalf("CSV import: %d %s", r.Status, r.Raw)
			}
			js := "[\n  {\"question\": \"怎么开发票?\", \"answer\": \"订单页申请。\"},\n  {\"question\": \"\", \"answer\": \"x\"},\n  {\"question\": \"q\"}\n]"
			r = a.do("POST", "/api/v1/faqs/import", biz.token, js)
			if r.Status != 400 || r.Field("line 3") == "" || r.Field("line 4") == "" || r.Field("line 2") != "" {
				t.Fatalf("bad JSON rows: %d %s", r.Status, r.Raw)
			}
			if r := a.do("POST", "/api/v1/faqs/import", biz.token, "[{\"question\": \"a\", \"answer\": \"b\"},\n{oops}]"); r.Status != 400 || r.Field("line 2") == "" {
				t.Fatalf("JSON that does not parse: %d %s", r.Status, r.Raw)
			}
			r = a.do("POST", "/api/v1/faqs/import", biz.token, `{"faqs": [{"question": "怎么开发票? / How do I get an invoice?", "answer": "订单页申请。", "keywords": ["发票"]}]}`)
			if r.Status != 200 || r.Str("imported") != "1" {
				t.Fatalf("JSON import: %d %s", r.Status, r.Raw)
			}
			if r := a.do("POST", "/api/v1/faqs/import?format=xml", biz.token, "<x/>"); r.Status != 400 || r.Field("format") == "" {
				t.Fatalf("bad format: %d %s", r.Status, r.Raw)
			}
			var many strings.Builder
			many.WriteString("question,answer\n")
			for i := 0; i <= bots.MaxImportRows; i++ {
				fmt.Fprintf(&many, "q%d,a\n", i)
			}
			if r := a.do("POST", "/api/v1/faqs/import", biz.token+"", nil); r.Status != 400 {
				t.Fatalf("empty body: %d %s", r.Status, r.Raw)
			}
			req, _ := http.NewRequest("POST", a.url+"/api/v1/faqs/import", strings.NewReader(many.String()))
			req.Header.Set("Authorization", "Bearer "+biz.token)
			req.Header.Set("Content-Type", "text/csv")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 413 {
				t.Fatalf("%d rows: status %d, want 413", bots.MaxImportRows+1, res.StatusCode)
			}
		})

		t.Run("export gives back what import takes", func(t *testing.T) {
			res, err := http.Get(a.url + "/api/v1/faqs/export?format=csv")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 401 {
				t.Fatalf("export without a token: %d", res.StatusCode)
			}
			req, _ := http.NewRequest("GET", a.url+"/api/v1/faqs/export?format=csv", nil)
			req.Header.Set("Authorization", "Bearer "+biz.token)
			res, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			csv, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.HasPrefix(string(csv), "question,answer,alternates,keywords") || !strings.Contains(string(csv), "邮费多少|包邮吗") {
				t.Fatalf("csv: %s", csv)
			}
			other := a.signup("Mirror")
			r := a.do("POST", "/api/v1/faqs/import?format=csv&mode=replace", other.token, string(csv))
			if r.Status != 200 || r.Str("imported") != "3" {
				t.Fatalf("re-import: %d %s", r.Status, r.Raw)
			}
			j := a.must(200, "GET", "/api/v1/faqs/export", other.token, nil)
			if !strings.Contains(j.Raw, "怎么开发票") {
				t.Fatalf("json export: %s", j.Raw)
			}
		})

		t.Run("articles: CRUD and the size limit", func(t *testing.T) {
			r := a.must(201, "POST", "/api/v1/articles", biz.token, map[string]any{"title": "Returns", "body": "# Returns\n\n" + strings.Repeat("Items can be returned within 7 days. ", 40)})
			aid := r.Str("id")
			if r.Str("chunks") == "0" || r.Str("chunks") == "" {
				t.Fatalf("article: %s", r.Raw)
			}
			l := a.must(200, "GET", "/api/v1/articles", biz.token, nil)
			if !strings.Contains(l.Raw, aid) || strings.Contains(l.Raw, "Items can be returned") {
				t.Fatalf("list (no bodies): %s", l.Raw)
			}
			a.must(200, "PUT", "/api/v1/articles/"+aid, biz.token, map[string]any{"title": "Returns policy", "body": "Short."})
			if g := a.must(200, "GET", "/api/v1/articles/"+aid, biz.token, nil); g.Str("body") != "Short." {
				t.Fatalf("get: %s", g.Raw)
			}
			if r := a.do("POST", "/api/v1/articles", biz.token, map[string]any{"title": "Big", "body": strings.Repeat("x", bots.MaxArticleBytes+1)}); r.Status != 413 {
				t.Fatalf("over 200 KB: %d %s", r.Status, r.Raw)
			}
			if r := a.do("POST", "/api/v1/articles", biz.token, map[string]any{"title": "", "body": "x"}); r.Status != 400 || r.Field("title") == "" {
				t.Fatalf("no title: %d %s", r.Status, r.Raw)
			}
			a.must(204, "DELETE", "/api/v1/articles/"+aid, biz.token, nil)
			a.must(404, "GET", "/api/v1/articles/"+aid, biz.token, nil)
		})

		t.Run("agents may not manage knowledge or the model; other tenants see nothing", func(t *testing.T) {
			a.must(201, "POST", "/api/v1/agents", biz.token, map[string]any{"email": "agent@example.com", "name": "Agent", "password": "password1"})
			tok := a.must(200, "POST", "/api/v1/auth/login", "", map[string]any{"tenant": biz.slug, "email": "agent@example.com", "password": "password1"}).Str("token")
			for _, c := range []struct{ method, path string }{
				{"GET", "/api/v1/faqs"}, {"POST", "/api/v1/faqs"}, {"PUT", "/api/v1/faqs/" + id}, {"DELETE", "/api/v1/faqs/" + id},
				{"POST", "/api/v1/faqs/import"}, {"GET", "/api/v1/faqs/export"}, {"POST", "/api/v1/articles"},
				{"GET", "/api/v1/bots/llm"}, {"PUT", "/api/v1/bots/llm"}, {"POST", "/api/v1/bots/llm/test"}, {"PUT", "/api/v1/bots/settings"},
			} {
				if r := a.do(c.method, c.path, tok, map[string]any{}); r.Status != 403 {
					t.Errorf("agent %s %s: %d", c.method, c.path, r.Status)
				}
			}
			other := a.signup("Other")
			a.must(404, "GET", "/api/v1/faqs/"+id, other.token, nil)
			a.must(404, "PUT", "/api/v1/faqs/"+id, other.token, map[string]any{"question": "q", "answer": "a"})
			a.must(404, "DELETE", "/api/v1/faqs/"+id, other.token, nil)
			if r := a.must(200, "POST", "/api/v1/faqs/match", other.token, map[string]any{"text": "请问怎么退货?"}); r.Body["answer"] != nil {
				t.Fatalf("another tenant's FAQ answered: %s", r.Raw)
			}
		})
	})
}

// The acceptance: an FAQ entry answers a paraphrase over /ws within 300 ms,
// and the FAQ never answers what it does not cover.
func TestFAQAnswersOverTheSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Shop")
		a.must(201, "POST", "/api/v1/faqs", biz.token, map[string]any{"question": "退货政策是什么? / What is the return policy?", "answer": "收货 7 天内可无理由退货。"})
		a.publishFlow(biz, faqFlow())
		_, vtok := a.visitor(biz.widgetKey)
		w := a.connect(t, vtok, nil)
		start := time.Now()
		w.send(map[string]any{"type": "message.send", "client_id": "q1", "body": "请问怎么退货?"})
		w.until(2*time.Second, func(f map[string]any) bool {
			b, _, ok := botMessage(f)
			return ok && b == "收货 7 天内可无理由退货。"
		})
		d := time.Since(start)
		t.Logf("the FAQ answer arrived %v after the question", d)
		if d > 300*time.Millisecond {
			t.Errorf("the FAQ answer took %v (want ≤ 300 ms)", d)
		}
		// A question the FAQ does not cover: no bot answer; it waits for a person.
		_, conv := a.ask(t, biz, "你们有实体店吗?")
		if r := a.settle(biz.token, conv); r.Str("status") != "queued" {
			t.Fatalf("uncovered: %s", r.Raw)
		}
		msgs := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", biz.token, nil)
		if strings.Contains(msgs.Raw, `"type":"bot"`) {
			t.Fatalf("the FAQ answered an uncovered question: %s", msgs.Raw)
		}
	})
}

func TestDefaultFlowAnswersFromTheFAQ(t *testing.T) {
	a := newApp(t, tenantstest.SQLite(t))
	biz := a.signup("Default")
	a.must(201, "POST", "/api/v1/faqs", biz.token, map[string]any{"question": "运费怎么算? / How much is shipping?", "answer": "满 99 元包邮。"})
	w, _ := a.ask(t, biz, "邮费多少钱")
	w.until(3*time.Second, func(f map[string]any) bool { b, _, ok := botMessage(f); return ok && b == "满 99 元包邮。" })
}

// The acceptance: a model answering after 1.5 s under a 500 ms deadline —
// the holding reply, then message.delta frames, then the stored answer, in
// that order, for both providers.
func TestLLMAfterTheDeadline(t *testing.T) {
	for _, provider := range []string{bots.ProviderOpenAI, bots.ProviderAnthropic} {
		t.Run(provider, func(t *testing.T) {
			a := newApp(t, tenantstest.SQLite(t))
			biz := a.signup("Slow")
			var fake *botstest.Server
			if provider == bots.ProviderOpenAI {
				fake = botstest.OpenAI(t, botstest.Behaviour{Answer: "您好！收货后 7 天内可以退货。", Delay: 1500 * time.Millisecond, Pieces: 5, PieceDelay: 60 * time.Millisecond})
				a.setModel(biz, provider, fake.BaseURL())
			} else {
				fake = botstest.Anthropic(t, botstest.Behaviour{Answer: "您好！收货后 7 天内可以退货。", Delay: 1500 * time.Millisecond, Pieces: 5, PieceDelay: 60 * time.Millisecond})
				a.setModel(biz, provider, fake.URL)
			}
			a.publishFlow(biz, llmFlow(500, "思考中，请稍候…"))
			_, _, agent := a.onlineAgent(t, biz, "ann@example.com")
			start := time.Now()
			w, conv := a.ask(t, biz, "我买的鞋子能退吗?")
			frames := w.until(6*time.Second, func(f map[string]any) bool { _, cid, ok := botMessage(f); return ok && cid != "" })
			holding, firstDelta, final := -1, -1, -1
			var streamed strings.Builder
			var holdingAt time.Duration
			for i, f := range frames {
				if b, cid, ok := botMessage(f); ok {
					if b == "思考中，请稍候…" && holding < 0 {
						holding = i
						holdingAt = time.Since(start)
					}
					if cid != "" {
						final = i
					}
				}
				if f["type"] == "message.delta" {
					if firstDelta < 0 {
						firstDelta = i
					}
					streamed.WriteString(f["text"].(string))
				}
			}
			if holding < 0 || firstDelta < 0 || final < 0 || !(holding < firstDelta && firstDelta < final) {
				t.Fatalf("order: holding %d, first delta %d, answer %d in %v", holding, firstDelta, final, frames)
			}
			_ = holdingAt
			if b, cid, _ := botMessage(frames[final]); b != "您好！收货后 7 天内可以退货。" || streamed.String() != b || cid != frames[firstDelta]["stream_id"] {
				t.Fatalf("answer %q (stream %q, client_id %q vs %v)", b, streamed.String(), cid, frames[firstDelta]["stream_id"])
			}
			// A resume replays the whole answer, never a fragment.
			_, vtok := a.visitor(biz.widgetKey)
			_ = vtok
			msgs := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", biz.token, nil)
			if strings.Count(msgs.Raw, `"type":"bot"`) != 2 || !strings.Contains(msgs.Raw, "您好！收货后 7 天内可以退货。") {
				t.Fatalf("stored: %s", msgs.Raw)
			}
			if r := a.must(200, "GET", "/api/v1/conversations/"+conv, biz.token, nil); r.Str("status") != "bot" {
				t.Fatalf("answered, the conversation stays with the bot: %s", r.Raw)
			}
			agent.quiet("message.delta", 100*time.Millisecond) // not watching it: no deltas
			if fake.Calls() != 1 {
				t.Fatalf("calls %d", fake.Calls())
			}
			u := a.must(200, "GET", "/api/v1/bots/usage?conversation_id="+conv, biz.token, nil)
			if u.Str("usage", "calls") != "1" || u.Str("usage", "prompt_tokens") != "42" {
				t.Fatalf("usage: %s", u.Raw)
			}
		})
	}
}

func TestLLMWithinTheDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Fast")
		fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "Returns are free within 7 days.", Pieces: 3})
		a.setModel(biz, "openai", fake.BaseURL())
		a.publishFlow(biz, llmFlow(3000, "One moment…"))
		w, conv := a.ask(t, biz, "Can I return my shoes?")
		frames := w.until(5*time.Second, func(f map[string]any) bool { _, cid, ok := botMessage(f); return ok && cid != "" })
		for _, f := range frames {
			if b, _, ok := botMessage(f); ok && b == "One moment…" {
				t.Fatalf("a holding reply before the deadline: %v", frames)
			}
		}
		// The model saw the visitor's question and the knowledge.
		body := fake.LastRequest()
		if !strings.Contains(fmt.Sprint(body["messages"]), "Can I return my shoes?") {
			t.Fatalf("request: %v", body)
		}
		if r := a.must(200, "GET", "/api/v1/conversations/"+conv, biz.token, nil); r.Str("status") != "bot" {
			t.Fatalf("status: %s", r.Raw)
		}
	})
}

// The acceptance: a model that fails → the conversation is assigned to an
// online agent, who sees what the bot said before.
func TestLLMFailureHandsOff(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Broken")
		fake := botstest.OpenAI(t, botstest.Behaviour{Fail: 500})
		a.setModel(biz, "openai", fake.BaseURL())
		a.publishFlow(biz, llmFlow(3000, "思考中…"))
		annID, _, _ := a.onlineAgent(t, biz, "ann@example.com")
		for i, b := range []botstest.Behaviour{{Fail: 500}, {Malformed: true}, {Empty: true}, {Refuse: true}, {Answer: "HANDOFF"}} {
			fake.Set(b)
			_, conv := a.ask(t, biz, fmt.Sprintf("question %d about my order", i))
			r := a.settle(biz.token, conv)
			if r.Str("status") != "assigned" || r.Str("assignee_id") != annID {
				t.Fatalf("%+v: %s", b, r.Raw)
			}
			if msgs := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", biz.token, nil); strings.Contains(msgs.Raw, "HANDOFF") {
				t.Fatalf("the marker reached the visitor: %s", msgs.Raw)
			}
		}
	})
}

func TestVisitorAsksForAPerson(t *testing.T) {
	a := newApp(t, tenantstest.SQLite(t))
	biz := a.signup("Human")
	fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "I can help!"})
	a.setModel(biz, "openai", fake.BaseURL())
	a.publishFlow(biz, llmFlow(3000, ""))
	annID, _, _ := a.onlineAgent(t, biz, "ann@example.com")
	t.Run("a handoff phrase goes to a person without asking the model", func(t *testing.T) {
		_, conv := a.ask(t, biz, "转人工！")
		if r := a.settle(biz.token, conv); r.Str("assignee_id") != annID {
			t.Fatalf("%s", r.Raw)
		}
		if fake.Calls() != 0 {
			t.Fatalf("the model was asked")
		}
	})
	t.Run("the widget's button hands a pending call to a person", func(t *testing.T) {
		fake.Set(botstest.Behaviour{Answer: "too late", Delay: 3 * time.Second})
		w, conv := a.ask(t, biz, "Where is my parcel?")
		deadline := time.Now().Add(3 * time.Second)
		for fake.Calls() < 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		w.send(map[string]any{"type": "handoff", "conversation_id": conv})
		r := a.settle(biz.token, conv)
		if r.Str("assignee_id") != annID {
			t.Fatalf("%s", r.Raw)
		}
		time.Sleep(3200 * time.Millisecond)
		if msgs := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", biz.token, nil); strings.Contains(msgs.Raw, "too late") {
			t.Fatalf("the late answer was stored: %s", msgs.Raw)
		}
	})
}

// An agent taking over cancels a pending call: the late answer is dropped.
func TestTakeoverCancelsThePendingCall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Takeover")
		fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "The bot's late answer", Delay: 1500 * time.Millisecond})
		a.setModel(biz, "openai", fake.BaseURL())
		a.publishFlow(biz, llmFlow(500, "One moment…"))
		annID, annTok, ann := a.onlineAgent(t, biz, "ann@example.com")
		w, conv := a.ask(t, biz, "Is my order shipped?")
		// Ann opens it and watches the stream start, then takes it.
		ann.send(map[string]any{"type": "subscribe", "conversation_id": conv, "since": 0})
		w.until(3*time.Second, func(f map[string]any) bool { b, _, ok := botMessage(f); return ok && b == "One moment…" })
		a.must(200, "POST", "/api/v1/conversations/"+conv+"/assign", annTok, map[string]any{"agent_id": annID})
		time.Sleep(1800 * time.Millisecond)
		msgs := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", biz.token, nil)
		if strings.Contains(msgs.Raw, "late answer") {
			t.Fatalf("the late answer was stored: %s", msgs.Raw)
		}
		w.quiet("message.delta", 200*time.Millisecond)
		if r := a.must(200, "GET", "/api/v1/conversations/"+conv, biz.token, nil); r.Str("status") != "assigned" {
			t.Fatalf("status: %s", r.Raw)
		}
	})
}

// A restart with a call pending leaves no conversation with the bot: a node
// shutting down hands its calls off; a call whose node died is handed off
// when a node starts and its lease has run out.
func TestRestartWithAPendingCall(t *testing.T) {
	store := tenantstest.SQLite(t)
	a := newAppOpts(t, store, appOptions{start: true})
	biz := a.signup("Restart")
	fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "never", Delay: 10 * time.Second})
	a.setModel(biz, "openai", fake.BaseURL())
	a.publishFlow(biz, llmFlow(300, "Hold on…"))
	_, conv := a.ask(t, biz, "Will this be answered?")
	deadline := time.Now().Add(3 * time.Second)
	for fake.Calls() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// Shut the node down: no agent is online, so the handoff queues it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	a.stop(ctx)
	cancel()
	b := newAppOpts(t, store, appOptions{start: true})
	if r := b.settle(biz.token, conv); r.Str("status") != "queued" {
		t.Fatalf("after a shutdown: %s", r.Raw)
	}

	// A node that died: its call is still pending; the next start hands it off
	// once the lease has run out.
	_, conv2 := b.ask(t, biz, "And this one?")
	deadline = time.Now().Add(3 * time.Second)
	for fake.Calls() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	db, _ := store.Tenant(biz.tenantID)
	if err := db.Exec(`UPDATE bot_calls SET owner = 'dead-node', lease_until = ? WHERE conversation_id = ?`, time.Now().Add(-time.Second).UTC(), conv2).Error; err != nil {
		t.Fatal(err)
	}
	c := newAppOpts(t, store, appOptions{start: true})
	if r := c.settle(biz.token, conv2); r.Str("status") != "queued" {
		t.Fatalf("after a crash: %s", r.Raw)
	}
}

func TestConcurrencyCapAndBreaker(t *testing.T) {
	store := tenantstest.SQLite(t)
	a := newAppOpts(t, store, appOptions{bots: func(c *bots.Config) { c.MaxConcurrent = 1; c.BreakerFailures = 2; c.BreakerTimeout = time.Hour }})
	biz := a.signup("Caps")
	fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "slow", Delay: 1500 * time.Millisecond})
	a.setModel(biz, "openai", fake.BaseURL())
	a.publishFlow(biz, llmFlow(3000, ""))
	t.Run("over the cap, a question goes to a person at once", func(t *testing.T) {
		_, first := a.ask(t, biz, "first question")
		deadline := time.Now().Add(3 * time.Second)
		for fake.Calls() < 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		_, second := a.ask(t, biz, "second question")
		if r := a.settle(biz.token, second); r.Str("status") != "queued" {
			t.Fatalf("second: %s", r.Raw)
		}
		if fake.Peak() != 1 {
			t.Fatalf("peak %d calls in flight, cap 1", fake.Peak())
		}
		time.Sleep(1700 * time.Millisecond)
		if r := a.must(200, "GET", "/api/v1/conversations/"+first, biz.token, nil); r.Str("status") != "bot" {
			t.Fatalf("first: %s", r.Raw)
		}
	})
	t.Run("failures in a row open the breaker: no more calls", func(t *testing.T) {
		fake.Set(botstest.Behaviour{Fail: 503})
		for i := 0; i < 2; i++ {
			_, conv := a.ask(t, biz, fmt.Sprintf("failing %d", i))
			a.settle(biz.token, conv)
		}
		calls := fake.Calls()
		_, conv := a.ask(t, biz, "after the breaker opened")
		if r := a.settle(biz.token, conv); r.Str("status") != "queued" {
			t.Fatalf("%s", r.Raw)
		}
		if fake.Calls() != calls {
			t.Fatalf("the model was called with the breaker open")
		}
		m := metricsText(t, a)
		for _, want := range []string{`kefu_bot_outcomes_total{outcome="handoff",reason="breaker_open"}`, `kefu_bot_outcomes_total{outcome="handoff",reason="busy"}`,
			`kefu_bot_outcomes_total{outcome="llm_answered",reason=""}`, `kefu_bot_provider_errors_total{kind="error",provider="openai"}`, "kefu_bot_provider_seconds_bucket", `kefu_bot_tokens_total{kind="prompt"}`} {
			if !strings.Contains(m, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

func metricsText(t *testing.T, a *app) string {
	t.Helper()
	res, err := http.Get(a.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// syncBuffer is a log sink tests read.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The API key is never in a response or a log line, and is stored sealed.
func TestModelSettingsAndTheKey(t *testing.T) {
	for _, bk := range tenantstest.Backends(t) {
		t.Run(bk.Name, func(t *testing.T) {
			logs := &syncBuffer{}
			a := newAppOpts(t, bk.Store, appOptions{log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			biz := a.signup("Keys")
			fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "OK"})
			var seen []string
			keep := func(r resp) resp { seen = append(seen, r.Raw); return r }
			if r := keep(a.must(200, "GET", "/api/v1/bots/llm", biz.token, nil)); r.Str("has_api_key") != "false" {
				t.Fatalf("empty: %s", r.Raw)
			}
			r := keep(a.must(200, "PUT", "/api/v1/bots/llm", biz.token, map[string]any{"provider": "openai", "base_url": fake.BaseURL(), "model": "fake-1", "api_key": modelKey, "temperature": 0.2, "max_tokens": 300}))
			if r.Str("has_api_key") != "true" || r.Str("model") != "fake-1" {
				t.Fatalf("put: %s", r.Raw)
			}
			keep(a.must(200, "GET", "/api/v1/bots/llm", biz.token, nil))
			tr := keep(a.must(200, "POST", "/api/v1/bots/llm/test", biz.token, nil))
			if tr.Str("ok") != "true" || tr.Str("reply") != "OK" {
				t.Fatalf("test: %s", tr.Raw)
			}
			if a := fake.Auth(); len(a) == 0 || !strings.Contains(a[len(a)-1], modelKey) {
				t.Fatalf("the stored key was not used: %v", a)
			}
			fake.Set(botstest.Behaviour{Fail: 401})
			tr = keep(a.must(200, "POST", "/api/v1/bots/llm/test", biz.token, nil))
			if tr.Str("ok") != "false" || tr.Str("error") == "" {
				t.Fatalf("failing test: %s", tr.Raw)
			}
			// Keep the key when it is left out; a test of unsaved settings with the stored key.
			keep(a.must(200, "PUT", "/api/v1/bots/llm", biz.token, map[string]any{"provider": "openai", "base_url": fake.BaseURL(), "model": "fake-2"}))
			fake.Set(botstest.Behaviour{Answer: "OK"})
			keep(a.must(200, "POST", "/api/v1/bots/llm/test", biz.token, map[string]any{"provider": "openai", "base_url": fake.BaseURL(), "model": "fake-3"}))
			if a := fake.Auth(); !strings.Contains(a[len(a)-1], modelKey) {
				t.Fatalf("the kept key was not used: %v", a)
			}
			a.publishFlow(biz, llmFlow(3000, ""))
			fake.Set(botstest.Behaviour{Fail: 500})
			_, conv := a.ask(t, biz, "fail please")
			a.settle(biz.token, conv)
			keep(a.must(200, "GET", "/api/v1/conversations/"+conv+"/events", biz.token, nil))
			for _, raw := range seen {
				if strings.Contains(raw, modelKey) || strings.Contains(raw, "KEY-9f8e") {
					t.Fatalf("a response shows the key: %s", raw)
				}
			}
			if strings.Contains(logs.String(), modelKey) || strings.Contains(logs.String(), "KEY-9f8e") {
				t.Fatalf("a log line shows the key")
			}
			db, _ := bk.Store.Tenant(biz.tenantID)
			var sealed string
			db.Raw(`SELECT api_key_sealed FROM ` + db.Table("bot_settings") + ` WHERE id = 1`).Scan(&sealed)
			if sealed == "" || strings.Contains(sealed, modelKey) {
				t.Fatalf("stored: %q", sealed)
			}
			// "" removes the key.
			if r := a.must(200, "PUT", "/api/v1/bots/llm", biz.token, map[string]any{"provider": "openai", "model": "m", "api_key": ""}); r.Str("has_api_key") != "false" {
				t.Fatalf("removed: %s", r.Raw)
			}
			for _, c := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{"provider": "gemini", "model": "m"}, "provider"},
				{map[string]any{"provider": "openai", "model": ""}, "model"},
				{map[string]any{"provider": "openai", "model": "m", "base_url": "ftp://x"}, "base_url"},
				{map[string]any{"provider": "openai", "model": "m", "temperature": 3}, "temperature"},
				{map[string]any{"provider": "openai", "model": "m", "timeout_ms": 10}, "timeout_ms"},
				{map[string]any{"provider": "openai", "model": "m", "system_prompt": strings.Repeat("p", bots.MaxSystemPrompt+1)}, "system_prompt"},
			} {
				if r := a.do("PUT", "/api/v1/bots/llm", biz.token, c.body); r.Status != 400 || r.Field(c.field) == "" {
					t.Errorf("%v: %d %s", c.body, r.Status, r.Raw)
				}
			}
		})
	}
}

// Without KEFU_ALLOW_PRIVATE_NETWORKS a base URL on a private address is
// refused when saved, and a call that dials one is refused too.
func TestModelBaseURLPrivateNetworks(t *testing.T) {
	a := newAppOpts(t, tenantstest.SQLite(t), appOptions{bots: func(c *bots.Config) { c.AllowPrivateNetworks = false }})
	biz := a.signup("SSRF")
	for _, u := range []string{"http://127.0.0.1:11434/v1", "http://localhost/v1", "http://169.254.169.254/latest", "http://10.0.0.5/v1", "http://[::1]/v1"} {
		if r := a.do("PUT", "/api/v1/bots/llm", biz.token, map[string]any{"provider": "openai", "model": "m", "base_url": u}); r.Status != 400 || r.Field("base_url") == "" {
			t.Errorf("%s: %d %s", u, r.Status, r.Raw)
		}
	}
	fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "hi"})
	if r := a.do("POST", "/api/v1/bots/llm/test", biz.token, map[string]any{"provider": "openai", "model": "m", "base_url": fake.BaseURL()}); r.Status != 400 || r.Field("base_url") == "" {
		t.Fatalf("test of a private base URL: %d %s", r.Status, r.Raw)
	}
	if fake.Calls() != 0 {
		t.Fatalf("a private address was reached")
	}
}

func TestSuggestedReply(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Suggest")
		a.must(201, "POST", "/api/v1/faqs", biz.token, map[string]any{"question": "怎么开发票? / How do I get an invoice?", "answer": "在订单页申请电子发票。"})
		a.publishFlow(biz, map[string]any{"nodes": []map[string]any{{"id": "start", "type": "start", "position": map[string]any{"x": 0, "y": 0}}, {"id": "q", "type": "queue", "position": map[string]any{"x": 0, "y": 100}}},
			"edges": []map[string]any{{"id": "e", "source": "start", "target": "q"}}})
		_, conv := a.ask(t, biz, "发票怎么申请")
		a.settle(biz.token, conv)
		r := a.must(200, "POST", "/api/v1/conversations/"+conv+"/suggest", biz.token, nil)
		if r.Str("source") != "faq" || r.Str("text") != "在订单页申请电子发票。" {
			t.Fatalf("faq draft: %s", r.Raw)
		}
		fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "您好，在订单页即可申请电子发票。"})
		a.setModel(biz, "openai", fake.BaseURL())
		r = a.must(200, "POST", "/api/v1/conversations/"+conv+"/suggest", biz.token, nil)
		if r.Str("source") != "llm" || r.Str("text") != "您好，在订单页即可申请电子发票。" {
			t.Fatalf("llm draft: %s", r.Raw)
		}
		if !strings.Contains(fmt.Sprint(fake.LastRequest()["messages"]), "在订单页申请电子发票") {
			t.Fatalf("the model did not get the FAQ: %v", fake.LastRequest())
		}
		// Nothing was sent.
		if msgs := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", biz.token, nil); strings.Contains(msgs.Raw, "即可申请") {
			t.Fatalf("the draft was sent: %s", msgs.Raw)
		}
		other := a.signup("Other")
		a.must(404, "POST", "/api/v1/conversations/"+conv+"/suggest", other.token, nil)
	})
}

func TestSimulateUsesTheRealFAQ(t *testing.T) {
	a := newApp(t, tenantstest.SQLite(t))
	biz := a.signup("Simulate")
	a.must(201, "POST", "/api/v1/faqs", biz.token, map[string]any{"question": "退货政策是什么? / What is the return policy?", "answer": "7 天无理由退货。"})
	id := a.must(201, "POST", "/api/v1/flows", biz.token, map[string]any{"name": "F", "graph": faqFlow()}).Str("id")
	sim := a.must(200, "POST", "/api/v1/flows/"+id+"/simulate", biz.token, map[string]any{"event": "conversation.created", "visitor": map[string]any{}, "message": map[string]any{"text": "请问怎么退货?"}})
	if sim.Str("result", "action") != "end" || !strings.Contains(sim.Raw, "7 天无理由退货。") {
		t.Fatalf("simulate: %s", sim.Raw)
	}
	fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "a real answer"})
	a.setModel(biz, "openai", fake.BaseURL())
	lid := a.must(201, "POST", "/api/v1/flows", biz.token, map[string]any{"name": "L", "graph": llmFlow(500, "")}).Str("id")
	dry := a.must(200, "POST", "/api/v1/flows/"+lid+"/simulate", biz.token, map[string]any{"visitor": map[string]any{}, "message": map[string]any{"text": "hi"}})
	if fake.Calls() != 0 || !strings.Contains(dry.Raw, "not asked") {
		t.Fatalf("the model was asked without llm: true: %s", dry.Raw)
	}
	real := a.must(200, "POST", "/api/v1/flows/"+lid+"/simulate", biz.token, map[string]any{"visitor": map[string]any{}, "message": map[string]any{"text": "hi"}, "llm": true})
	if fake.Calls() != 1 || !strings.Contains(real.Raw, "(dry run) a real answer") {
		t.Fatalf("llm: true: %s", real.Raw)
	}
}

// Two nodes on one bus: knowledge changed on one is used by the other.
func TestKnowledgeChangesReachOtherNodes(t *testing.T) {
	for _, bk := range tenantstest.Backends(t) {
		t.Run(bk.Name, func(t *testing.T) {
			bus := chat.NewLocalBus() // both nodes hear each other, as over Redis
			a := newAppOpts(t, bk.Store, appOptions{bus: bus})
			b := newAppOpts(t, bk.Store, appOptions{bus: bus})
			biz := a.signup("TwoNodes")
			q := map[string]any{"text": "邮费多少钱"}
			if r := b.must(200, "POST", "/api/v1/faqs/match", biz.token, q); r.Body["answer"] != nil {
				t.Fatalf("before: %s", r.Raw)
			}
			id := a.must(201, "POST", "/api/v1/faqs", biz.token, map[string]any{"question": "运费怎么算? / How much is shipping?", "answer": "满 99 包邮"}).Str("id")
			if r := b.must(200, "POST", "/api/v1/faqs/match", biz.token, q); r.Str("answer", "faq", "id") != id {
				t.Fatalf("node B did not see the new entry: %s", r.Raw)
			}
			a.must(204, "DELETE", "/api/v1/faqs/"+id, biz.token, nil)
			if r := b.must(200, "POST", "/api/v1/faqs/match", biz.token, q); r.Body["answer"] != nil {
				t.Fatalf("node B still answers a deleted entry: %s", r.Raw)
			}
		})
	}
}
