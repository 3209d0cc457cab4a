package bots

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"ＡＢＣ１２３", "abc123"},
		{"退貨政策是什麼？", "退货政策是什么"},
		{"What IS the Return-Policy?!", "what is the return policy"},
		{"  你好，　世界！ ", "你好 世界"},
		{"運費　多少", "运费 多少"},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSimplifiedTableIsPairs(t *testing.T) {
	t.Parallel()
	for trad, simp := range simplified {
		if _, again := simplified[simp]; again {
			t.Errorf("%c → %c, and %c maps again", trad, simp, simp)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in        string
		has, lack []string
	}{
		{"请问怎么退货?", []string{"~return"}, []string{"请问", "怎么", "请"}},
		{"退貨", []string{"~return"}, nil},
		{"我的快递到哪了", []string{"~快递"}, []string{"的", "我的"}},
		{"退的钱几天能回来", []string{"~refund", "~when"}, nil},
		{"How do I return my items?", []string{"~return", "item"}, []string{"how", "do", "i", "my"}},
		{"Shipping and deliveries", []string{"~ship"}, []string{"and"}},
		{"I can't sign in", []string{"~login"}, []string{"t"}},
		{"ＰａｙＰａｌ支付", []string{"paypal", "~pay"}, nil},
	} {
		got := Tokens(c.in)
		for _, w := range c.has {
			if !slices.Contains(got, w) {
				t.Errorf("Tokens(%q) = %v: missing %q", c.in, got, w)
			}
		}
		for _, w := range c.lack {
			if slices.Contains(got, w) {
				t.Errorf("Tokens(%q) = %v: has %q", c.in, got, w)
			}
		}
	}
}

func TestWantsPerson(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		text string
		want bool
	}{
		{"转人工", true}, {"轉人工！", true}, {"我要人工客服", true}, {"Can I talk to a HUMAN?", true},
		{"agent please", true}, {"I want a real person", true},
		{"what do agents earn", false}, {"退货政策", false}, {"", false},
	} {
		if got := WantsPerson(c.text, DefaultHandoffPhrases); got != c.want {
			t.Errorf("WantsPerson(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

// The acceptance case: one entry in both languages answers a Chinese
// paraphrase, and not a question it does not cover.
func TestAnswerBilingualEntry(t *testing.T) {
	t.Parallel()
	kb := NewKnowledge([]Entry{{ID: "r", Question: "退货政策是什么? / What is the return policy?", Answer: "7 天无理由退货。"}}, nil, 0)
	for _, c := range []struct {
		q    string
		want bool
	}{
		{"请问怎么退货?", true},
		{"How do I return something?", true},
		{"退货", true},
		{"你们有实体店吗?", false},
		{"What is your phone number?", false},
		{"what is", false},
		{"", false},
	} {
		_, ok := kb.Answer(c.q)
		if ok != c.want {
			t.Errorf("Answer(%q) = %v, want %v (matches %v)", c.q, ok, c.want, kb.Match(c.q, 1))
		}
	}
}

func TestThreshold(t *testing.T) {
	t.Parallel()
	entries := []Entry{{ID: "a", Question: "运费怎么算? / How much is shipping?", Answer: "8 元"}, {ID: "b", Question: "怎么开发票?", Answer: "订单页"}}
	q := "邮费多少钱"
	m := NewKnowledge(entries, nil, 0).Match(q, 1)
	if len(m) == 0 || m[0].Entry.ID != "a" {
		t.Fatalf("match: %v", m)
	}
	if _, ok := NewKnowledge(entries, nil, m[0].Score).Answer(q); !ok {
		t.Errorf("a threshold equal to the score answers")
	}
	if _, ok := NewKnowledge(entries, nil, m[0].Score+0.01).Answer(q); ok {
		t.Errorf("a threshold above the score does not answer")
	}
}

func TestSplitArticle(t *testing.T) {
	t.Parallel()
	body := "# Returns\n\n" + strings.Repeat("退货需在七天内申请。", 100) + "\n\n## Shipping\n\nWe ship daily."
	chunks := SplitArticle("a1", "Help", body)
	if len(chunks) < 3 {
		t.Fatalf("chunks: %d", len(chunks))
	}
	for _, c := range chunks {
		if n := utf8.RuneCountInString(c.Text); n > ChunkSize || n == 0 {
			t.Errorf("chunk of %d characters", n)
		}
	}
	if last := chunks[len(chunks)-1]; !strings.Contains(last.Text, "We ship daily") {
		t.Errorf("last chunk: %q", last.Text)
	}
	kb := NewKnowledge(nil, chunks, 0)
	if p := kb.Passages("how fast do you ship", 2); len(p) == 0 || !strings.Contains(p[0].Text, "ship") {
		t.Errorf("passages: %v", p)
	}
}

// syntheticEntries makes n entries from a vocabulary in both languages.
func syntheticEntries(n int) []Entry {
	zh := []string{"退货", "运费", "发票", "密码", "积分", "优惠券", "地址", "订单", "物流", "保修", "尺码", "会员", "客服", "支付", "账号", "库存", "礼品", "批发", "电话", "海外"}
	mod := []string{"怎么", "多久", "能不能", "在哪里", "为什么", "多少", "如何修改", "可以取消", "需要什么", "有没有"}
	en := []string{"return", "shipping", "invoice", "password", "points", "coupon", "address", "order", "tracking", "warranty", "size", "member", "support", "payment", "account", "stock", "gift", "wholesale", "phone", "overseas"}
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]Entry, n)
	for i := range out {
		a, b, m := r.IntN(len(zh)), r.IntN(len(zh)), r.IntN(len(mod))
		out[i] = Entry{ID: fmt.Sprint(i), Question: fmt.Sprintf("%s%s%s? / %s %s %d?", zh[a], mod[m], zh[b], en[a], en[b], i),
			Answer: "answer", Alternates: []string{zh[b] + zh[a] + fmt.Sprint(i)}, Keywords: []string{en[a]}}
	}
	return out
}

// BenchmarkMatch measures one question against 10,000 entries.
func BenchmarkMatch(b *testing.B) {
	kb := NewKnowledge(syntheticEntries(10000), nil, 0)
	qs := []string{"请问怎么退货?", "邮费多少钱", "How do I change my password?", "我的积分和优惠券怎么用", "where is my order tracking"}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		kb.Answer(qs[i%len(qs)])
	}
}
