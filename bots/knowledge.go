package bots

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Entry is one FAQ entry: a question (often in both languages), its answer,
// other phrasings of the question, and keywords.
type Entry struct {
	ID         string    `json:"id"`
	Question   string    `json:"question"`
	Answer     string    `json:"answer"`
	Alternates []string  `json:"alternates"`
	Keywords   []string  `json:"keywords"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Match is an entry found for a question. Score is the confidence in
// [0, 1] that it answers the question; the tenant's threshold applies to it.
type Match struct {
	Entry Entry   `json:"faq"`
	Score float64 `json:"score"`
	BM25  float64 `json:"bm25"`
}

// Chunk is a piece of an article, indexed for the model's context.
type Chunk struct {
	ArticleID string `json:"article_id"`
	Title     string `json:"title"`
	Text      string `json:"text"`
}

// DefaultThreshold is the confidence an FAQ answer needs unless the tenant
// sets another: measured on testdata/faq_eval.json, where it keeps false
// answers under 5 % and answers over 90 % of the paraphrases.
const DefaultThreshold = 0.55

// Knowledge is a tenant's FAQ and articles, indexed. It is immutable: a
// change builds a new one.
type Knowledge struct {
	entries   []Entry
	faq       *Index
	chunks    []Chunk
	articles  *Index
	threshold float64
}

// NewKnowledge indexes the entries and article chunks.
func NewKnowledge(entries []Entry, chunks []Chunk, threshold float64) *Knowledge {
	docs := make([]Doc, len(entries))
	for i, e := range entries {
		docs[i] = Doc{ID: e.ID, Phrases: append([]string{e.Question}, e.Alternates...), Keywords: e.Keywords}
	}
	cdocs := make([]Doc, len(chunks))
	for i, c := range chunks {
		cdocs[i] = Doc{ID: c.ArticleID, Phrases: []string{c.Title + " " + c.Text}}
	}
	if threshold <= 0 {
		threshold = DefaultThreshold
	}
	return &Knowledge{entries: entries, faq: NewIndex(docs), chunks: chunks, articles: NewIndex(cdocs), threshold: threshold}
}

// Threshold is the confidence an answer needs.
func (k *Knowledge) Threshold() float64 { return k.threshold }

// Entries is how many FAQ entries are indexed.
func (k *Knowledge) Entries() int { return len(k.entries) }

// Match returns up to n entries for the question, best first, whatever
// their score.
func (k *Knowledge) Match(question string, n int) []Match {
	hits := k.faq.Search(question, n)
	out := make([]Match, len(hits))
	for i, h := range hits {
		out[i] = Match{Entry: k.entries[h.Doc], Score: round3(h.Score), BM25: round3(h.BM25)}
	}
	return out
}

// Answer returns the best entry when its confidence reaches the threshold.
func (k *Knowledge) Answer(question string) (Match, bool) {
	ms := k.Match(question, 1)
	if len(ms) == 0 || ms[0].Score < k.threshold {
		return Match{}, false
	}
	return ms[0], true
}

// Passages returns up to n article chunks relevant to the question.
func (k *Knowledge) Passages(question string, n int) []Chunk {
	hits := k.articles.Search(question, n)
	out := make([]Chunk, 0, len(hits))
	for _, h := range hits {
		if h.Score >= 0.2 {
			out = append(out, k.chunks[h.Doc])
		}
	}
	return out
}

func round3(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }

// ChunkSize is the length (in characters) an article is cut into for the
// index and the model's context.
const ChunkSize = 600

// SplitArticle cuts a markdown body into chunks of about ChunkSize
// characters, at headings and paragraphs where it can, so that each chunk
// reads on its own. Headings are kept with the text under them.
func SplitArticle(id, title, body string) []Chunk {
	var out []Chunk
	var cur strings.Builder
	flush := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			out = append(out, Chunk{ArticleID: id, Title: title, Text: t})
		}
		cur.Reset()
	}
	for _, para := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		if strings.HasPrefix(para, "#") && utf8.RuneCountInString(cur.String()) > ChunkSize/3 {
			flush()
		}
		for utf8.RuneCountInString(para) > ChunkSize {
			flush()
			head, rest := cutRunes(para, ChunkSize)
			cur.WriteString(head)
			flush()
			para = rest
		}
		if utf8.RuneCountInString(cur.String())+utf8.RuneCountInString(para) > ChunkSize {
			flush()
		}
		if cur.Len() > 0 {
			cur.WriteString("\n\n")
		}
		cur.WriteString(para)
	}
	flush()
	return out
}

// cutRunes splits s after n characters, preferring a sentence end or a
// space within the last fifth.
func cutRunes(s string, n int) (string, string) {
	rs := []rune(s)
	if len(rs) <= n {
		return s, ""
	}
	cut := n
	for i := n; i > n*4/5; i-- {
		switch rs[i-1] {
		case '。', '！', '？', '.', '!', '?', '\n', ' ', '；', ';':
			cut = i
			i = 0
		}
	}
	return string(rs[:cut]), strings.TrimSpace(string(rs[cut:]))
}
