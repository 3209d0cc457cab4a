package bots

import (
	"math"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Doc is one thing an index finds: an FAQ entry (its question, the other
// phrasings and the keywords) or an article chunk (its text).
type Doc struct {
	ID       string
	Phrases  []string // question and alternates: each is compared whole for confidence
	Keywords []string
}

// Hit is a document found for a question. Score is the confidence in [0, 1]
// that the document answers the question (what the tenant's threshold is
// compared with); BM25 is the raw ranking score.
type Hit struct {
	Doc   int // index into the documents the Index was built from
	ID    string
	Score float64
	BM25  float64
}

// Index is BM25 over documents' tokens, immutable once built and safe for
// concurrent searches. Building is linear in the text; a search touches
// only the postings of the question's tokens.
type Index struct {
	ids      []string
	phrases  [][]map[string]struct{} // per doc, per phrase: its token set
	keywords [][]map[string]struct{} // per doc, per keyword: its token set
	postings map[string][]posting
	docLen   []float32
	avgLen   float64
	unknown  float64 // the weight of a question token no document has
	scores   sync.Pool
}

type posting struct {
	doc int32
	tf  float32
}

// BM25 parameters: the usual ones.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
	// keywordBoost counts a keyword's tokens this many times over.
	keywordBoost = 2
)

// NewIndex indexes docs.
func NewIndex(docs []Doc) *Index {
	ix := &Index{postings: map[string][]posting{}, ids: make([]string, len(docs)), phrases: make([][]map[string]struct{}, len(docs)),
		keywords: make([][]map[string]struct{}, len(docs)), docLen: make([]float32, len(docs))}
	var buf []string
	tf := map[string]float32{}
	total := 0.0
	for i, d := range docs {
		ix.ids[i] = d.ID
		clear(tf)
		for _, p := range d.Phrases {
			buf = tokensOf(Normalize(p), buf[:0])
			for _, t := range buf {
				tf[t]++
			}
			// A question in both languages ("退货政策是什么? / What is the
			// return policy?") is two phrasings: each is compared alone.
			han, other := splitScripts(buf)
			for _, part := range [][]string{han, other} {
				if len(part) > 0 {
					ix.phrases[i] = append(ix.phrases[i], setOfTokens(part))
				}
			}
		}
		for _, k := range d.Keywords {
			buf = tokensOf(Normalize(k), buf[:0])
			if len(buf) == 0 {
				continue
			}
			ix.keywords[i] = append(ix.keywords[i], setOfTokens(buf))
			for _, t := range buf {
				tf[t] += keywordBoost
			}
		}
		n := float32(0)
		for t, c := range tf {
			ix.postings[t] = append(ix.postings[t], posting{doc: int32(i), tf: c})
			n += c
		}
		ix.docLen[i] = n
		total += float64(n)
	}
	if len(docs) > 0 {
		ix.avgLen = total / float64(len(docs))
	}
	// A token no document has weighs like a rare one: a question full of
	// words the knowledge never mentions is about something else.
	ix.unknown = 0.8 * ix.idfOf(1)
	ix.scores.New = func() any { s := make([]float32, len(docs)); return &s }
	return ix
}

// splitScripts parts tokens into Chinese ones and the others (a synonym's
// shared token goes with the script of its word).
func splitScripts(ts []string) (han, other []string) {
	for _, t := range ts {
		r, _ := utf8.DecodeRuneInString(strings.TrimPrefix(t, "~"))
		if isHan(r) {
			han = append(han, t)
		} else {
			other = append(other, t)
		}
	}
	return han, other
}

func setOfTokens(ts []string) map[string]struct{} {
	m := make(map[string]struct{}, len(ts))
	for _, t := range ts {
		m[t] = struct{}{}
	}
	return m
}

// Len is the number of documents.
func (ix *Index) Len() int { return len(ix.ids) }

func (ix *Index) idfOf(df int) float64 {
	n := float64(len(ix.ids))
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

// weight is how much a question token says: its idf, or for a token no
// document has, the weight of a rare one.
//
// Chinese is cut without a dictionary, so a question has bigrams that
// straddle two words (开公司 → 开公): an unknown bigram weighs nothing, and
// an unknown single character half as much as an unknown word.
//
// A single Chinese character counts half: the bigram it is in says the
// same thing better (政策 over 政 and 策).
func (ix *Index) weight(t string) float64 {
	r, size := utf8.DecodeRuneInString(t)
	if p, ok := ix.postings[t]; ok {
		if size == len(t) && isHan(r) {
			return ix.idfOf(len(p)) / 2
		}
		return ix.idfOf(len(p))
	}
	switch {
	case !isHan(r):
		return ix.unknown
	case size == len(t):
		if numerals[r] {
			return 0
		}
		return ix.unknown * 0.75
	}
	return 0
}

// Search returns up to k documents for the question, best first.
func (ix *Index) Search(question string, k int) []Hit {
	if len(ix.ids) == 0 || k <= 0 {
		return nil
	}
	qt := Tokens(question)
	if len(qt) == 0 {
		return nil
	}
	q := setOfTokens(qt)
	sp := ix.scores.Get().(*[]float32)
	scores := *sp
	defer func() {
		clear(scores)
		ix.scores.Put(sp)
	}()
	var touched []int32
	for t := range q {
		ps := ix.postings[t]
		if len(ps) == 0 {
			continue
		}
		idf := float32(ix.idfOf(len(ps)))
		for _, p := range ps {
			norm := float32(bm25K1 * (1 - bm25B + bm25B*float64(ix.docLen[p.doc])/ix.avgLen))
			if scores[p.doc] == 0 {
				touched = append(touched, p.doc)
			}
			scores[p.doc] += idf * p.tf * (bm25K1 + 1) / (p.tf + norm)
		}
	}
	if len(touched) == 0 {
		return nil
	}
	// The best by BM25 are the candidates; confidence orders them. They are
	// kept in a small sorted slice as the touched documents stream by: a
	// full sort of every touched document costs more than the scoring.
	pool := min(len(touched), max(k, 20))
	best := make([]int32, 0, pool+1)
	better := func(a, b int32) bool { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b) }
	for _, d := range touched {
		if len(best) == pool && !better(d, best[pool-1]) {
			continue
		}
		i := sort.Search(len(best), func(i int) bool { return better(d, best[i]) })
		best = append(best, 0)
		copy(best[i+1:], best[i:])
		best[i] = d
		if len(best) > pool {
			best = best[:pool]
		}
	}
	touched = best
	hits := make([]Hit, 0, pool)
	for _, d := range touched {
		hits = append(hits, Hit{Doc: int(d), ID: ix.ids[d], BM25: float64(scores[d]), Score: ix.confidence(q, int(d))})
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}

// confidence says how well doc d answers the question with tokens q: how
// much of the question it covers (weighted by idf, so rare words count
// most), and how much of its closest phrasing the question covers. A
// keyword the question contains whole raises the second part.
func (ix *Index) confidence(q map[string]struct{}, d int) float64 {
	var qMass, qHit float64
	inDoc := func(t string) bool {
		for _, p := range ix.phrases[d] {
			if _, ok := p[t]; ok {
				return true
			}
		}
		for _, k := range ix.keywords[d] {
			if _, ok := k[t]; ok {
				return true
			}
		}
		return false
	}
	for t := range q {
		w := ix.weight(t)
		qMass += w
		if inDoc(t) {
			qHit += w
		}
	}
	if qMass == 0 || qHit == 0 {
		return 0
	}
	qCov := qHit / qMass
	dCov := 0.0
	for _, p := range ix.phrases[d] {
		dCov = max(dCov, ix.covered(p, q))
	}
	for _, k := range ix.keywords[d] {
		if ix.covered(k, q) == 1 {
			dCov = max(dCov, 0.8)
		}
	}
	return math.Sqrt(qCov * dCov)
}

// covered is the share of phrase's weight that q contains.
func (ix *Index) covered(phrase, q map[string]struct{}) float64 {
	var mass, hit float64
	for t := range phrase {
		w := ix.weight(t)
		mass += w
		if _, ok := q[t]; ok {
			hit += w
		}
	}
	if mass == 0 {
		return 0
	}
	return hit / mass
}
