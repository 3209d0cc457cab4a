package bots_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"kefu/bots"
	"kefu/bots/botstest"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

func newService(t *testing.T, store *tenants.Store) (*bots.Service, string) {
	t.Helper()
	ten := tenants.NewService(store, tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	res, err := ten.Signup(context.Background(), tenants.SignupInput{Company: "Bots " + tenants.NewID()[24:], Email: "o@example.com", Password: "password1", Name: "O"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := bots.New(bots.Config{Tenants: ten, Secret: []byte("0123456789abcdef0123456789abcdef"), AllowPrivateNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, res.Tenant.ID
}

// With an embedding model set, FAQ candidates are re-ranked by embeddings;
// an entry's vector is made once and again only when its text changes.
func TestEmbeddingsRerankAndCache(t *testing.T) {
	t.Parallel()
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, tid := newService(t, b.Store)
			fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "ok"})
			e1, err := s.CreateFAQ(ctx, tid, bots.EntryInput{Question: "退货政策是什么? / What is the return policy?", Answer: "7 天"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateFAQ(ctx, tid, bots.EntryInput{Question: "退款多久到账? / How long does a refund take?", Answer: "3 天"}); err != nil {
				t.Fatal(err)
			}
			key := "sk-x"
			if _, err := s.SetLLM(ctx, tid, bots.LLMInput{Provider: "openai", BaseURL: fake.BaseURL(), Model: "m", APIKey: &key, EmbeddingModel: "emb-1"}); err != nil {
				t.Fatal(err)
			}
			r, err := s.MatchFAQ(ctx, tid, "请问怎么退货?", 3)
			if err != nil {
				t.Fatal(err)
			}
			if r.Answer == nil || r.Answer.Entry.ID != e1.ID {
				t.Fatalf("match: %+v", r)
			}
			first := fake.EmbedCalls()
			if first != 2 { // the question, then the candidates
				t.Fatalf("embed calls %d, want 2", first)
			}
			if _, err := s.MatchFAQ(ctx, tid, "请问怎么退货?", 3); err != nil {
				t.Fatal(err)
			}
			if got := fake.EmbedCalls(); got != first+1 {
				t.Fatalf("the entries were embedded again: %d calls after %d", got, first)
			}
			if _, err := s.UpdateFAQ(ctx, tid, e1.ID, bots.EntryInput{Question: "退货政策是什么? / What is the return policy?", Answer: "7 天", Alternates: []string{"怎么退货"}}); err != nil {
				t.Fatal(err)
			}
			before := fake.EmbedCalls()
			if _, err := s.MatchFAQ(ctx, tid, "请问怎么退货?", 3); err != nil {
				t.Fatal(err)
			}
			if got := fake.EmbedCalls(); got != before+2 {
				t.Fatalf("a changed entry was not embedded again: %d calls after %d", got, before)
			}
			// Without embeddings (the provider down), the words still answer.
			fake.Close()
			if r, err := s.MatchFAQ(ctx, tid, "请问怎么退货?", 3); err != nil || r.Answer == nil {
				t.Fatalf("without embeddings: %+v %v", r, err)
			}
		})
	}
}

// The model is asked with the knowledge that matches, the visitor's
// language and the recent conversation, bounded.
func TestAskSendsTheKnowledge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, tid := newService(t, tenantstest.SQLite(t))
	fake := botstest.OpenAI(t, botstest.Behaviour{Answer: "您好，7 天内可退货。"})
	key := "sk-x"
	if _, err := s.SetLLM(ctx, tid, bots.LLMInput{Provider: "openai", BaseURL: fake.BaseURL(), Model: "m", APIKey: &key}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFAQ(ctx, tid, bots.EntryInput{Question: "退货政策是什么?", Answer: "收货 7 天内可退货。"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateArticle(ctx, tid, bots.ArticleInput{Title: "Returns", Body: "# 退货\n\n退货需保持商品完好，吊牌齐全。"}); err != nil {
		t.Fatal(err)
	}
	var history []bots.Turn
	for i := 0; i < 40; i++ {
		history = append(history, bots.Turn{Role: "user", Text: strings.Repeat("旧", 200)})
	}
	var pieces []string
	r, err := s.Ask(ctx, tid, bots.Question{ConversationID: "c1", Text: "鞋子怎么退货?", Language: "zh-CN", History: history}, func(p string) { pieces = append(pieces, p) })
	if err != nil || r.Text != "您好，7 天内可退货。" || strings.Join(pieces, "") != r.Text {
		t.Fatalf("ask: %+v %v %q", r, err, pieces)
	}
	body := fake.LastRequest()
	msgs, _ := body["messages"].([]any)
	sys, _ := msgs[0].(map[string]any)["content"].(string)
	for _, want := range []string{"收货 7 天内可退货。", "吊牌齐全", "zh-CN", "HANDOFF"} {
		if !strings.Contains(sys, want) {
			t.Errorf("the system prompt lacks %q:\n%s", want, sys)
		}
	}
	if len(msgs) > 22 || len(msgs) < 3 {
		t.Errorf("%d messages sent: the history is not bounded", len(msgs))
	}
	u, err := s.Usage(ctx, tid, "c1", time.Time{})
	if err != nil || u.Calls != 1 || u.PromptTokens != 42 || u.CompletionTokens == 0 {
		t.Errorf("usage: %+v %v", u, err)
	}
}
