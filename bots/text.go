package bots

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Matching works on the same normal form for entries and questions, with no
// external service: full-width letters and digits folded to half-width,
// lower case, traditional characters mapped to simplified ones (a table of
// the characters customer-service questions use), and punctuation gone.
// Chinese is cut into character unigrams and bigrams (no dictionary to ship
// or to miss new words; bigrams carry most of the meaning), other scripts
// into words with a light English stemmer. Function words of both languages
// are dropped, and a small table of synonyms adds a shared token for words
// customers use interchangeably (运费/邮费, ship/deliver).

// Normalize returns the matching form of s.
func Normalize(s string) string {
	s = width.Fold.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r) || unicode.IsControl(r):
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
				space = true
			}
			continue
		case r < utf8.RuneSelf:
			r = unicode.ToLower(r)
		default:
			if s, ok := simplified[r]; ok {
				r = s
			} else {
				r = unicode.ToLower(r)
			}
		}
		b.WriteRune(r)
		space = false
	}
	return strings.TrimRight(b.String(), " ")
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// Tokens cuts s (any form; it is normalised first) into matching tokens.
func Tokens(s string) []string {
	return tokensOf(Normalize(s), nil)
}

// tokensOf appends the tokens of an already normalised string to out.
func tokensOf(norm string, out []string) []string {
	var run []rune
	prev := ""
	for _, word := range strings.Fields(norm) {
		start := 0
		for i, r := range word {
			if isHan(r) {
				if i > start {
					out, prev = appendWord(out, prev, word[start:i])
				}
				run = append(run, r)
				start = i + utf8.RuneLen(r)
				continue
			}
			if len(run) > 0 {
				out = appendHan(out, run)
				run, prev = run[:0], ""
			}
		}
		if len(run) > 0 {
			out = appendHan(out, run)
			run, prev = run[:0], ""
		}
		if start < len(word) {
			out, prev = appendWord(out, prev, word[start:])
		}
	}
	return out
}

// appendHan adds a run of Chinese characters: its unigrams and bigrams, and
// the shared token of any synonym in it. Particles (的, 吗, …) are dropped
// first, so 退的钱 still holds 退钱; the characters of a synonym are
// represented by its shared token alone.
func appendHan(out []string, run []rune) []string {
	kept := run[:0:0]
	for _, r := range run {
		if !particles[r] {
			kept = append(kept, r)
		}
	}
	run = kept
	covered := make([]bool, len(run))
	for n := 4; n >= 2; n-- {
		for i := 0; i+n <= len(run); i++ {
			if syn, ok := zhSynonyms[string(run[i:i+n])]; ok {
				out = append(out, syn)
				for j := i; j < i+n; j++ {
					covered[j] = true
				}
			}
		}
	}
	for i, r := range run {
		if !covered[i] && !stopHan[r] {
			out = append(out, string(r))
		}
		if i+1 < len(run) && !covered[i] && !covered[i+1] {
			if bi := string(run[i : i+2]); !stopBigram[bi] && !glue[run[i]] && !glue[run[i+1]] {
				out = append(out, bi)
			}
		}
	}
	return out
}

// appendWord adds a non-Chinese word: stemmed, unless it is a function
// word, or the shared token of a synonym (of the word, or of the two-word
// phrase it ends: "sign in", "send back"). It returns the word for the
// next call's phrase.
func appendWord(out []string, prev, w string) ([]string, string) {
	if syn, ok := enPhrases[prev+" "+w]; ok {
		return append(out, syn), w
	}
	if stopWords[w] || len(w) < 2 {
		return out, w
	}
	s := stem(w)
	if syn, ok := enSynonyms[s]; ok {
		s = syn
	}
	return append(out, s), w
}

// stem strips the English endings that paraphrases change most (plurals,
// -ing, -ed): not a full Porter stemmer, but the same on both sides.
func stem(w string) string {
	if len(w) <= 3 || !isASCII(w) {
		return w
	}
	switch {
	case strings.HasSuffix(w, "'s"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes") || strings.HasSuffix(w, "xes"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is"):
	case strings.HasSuffix(w, "s"):
		w = w[:len(w)-1]
	}
	switch {
	case strings.HasSuffix(w, "ing") && len(w) > 5:
		w = undouble(w[:len(w)-3])
	case strings.HasSuffix(w, "ied") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ed") && len(w) > 4:
		w = undouble(w[:len(w)-2])
	case strings.HasSuffix(w, "ation") && len(w) > 7:
		w = w[:len(w)-5] + "e"
	}
	if strings.HasSuffix(w, "e") && len(w) > 4 {
		w = w[:len(w)-1]
	}
	return w
}

// undouble turns "shipp" (from shipping) back into "ship".
func undouble(w string) string {
	n := len(w)
	if n >= 4 && w[n-1] == w[n-2] && !strings.ContainsRune("lsz", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// WantsPerson reports whether text asks for a human, by the tenant's phrases
// (compared in normal form, so 轉人工 and "Human!" count).
func WantsPerson(text string, phrases []string) bool {
	t := Normalize(text)
	if t == "" {
		return false
	}
	for _, p := range phrases {
		p = Normalize(p)
		if p == "" {
			continue
		}
		if containsWord(t, p) {
			return true
		}
	}
	return false
}

// containsWord finds p in t; a Latin phrase must stand as whole words ("agent"
// is not in "agents' fees" … but is in "an agent please").
func containsWord(t, p string) bool {
	for i := 0; ; {
		j := strings.Index(t[i:], p)
		if j < 0 {
			return false
		}
		j += i
		before, _ := utf8.DecodeLastRuneInString(t[:j])
		after, _ := utf8.DecodeRuneInString(t[j+len(p):])
		first, _ := utf8.DecodeRuneInString(p)
		last, _ := utf8.DecodeLastRuneInString(p)
		okBefore := j == 0 || isHan(first) || !isWordRune(before)
		okAfter := j+len(p) == len(t) || isHan(last) || !isWordRune(after)
		if okBefore && okAfter {
			return true
		}
		i = j + 1
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// DefaultHandoffPhrases are what a visitor says to reach a person.
var DefaultHandoffPhrases = []string{"转人工", "人工客服", "找客服", "真人", "human", "agent", "real person", "talk to a person", "speak to someone"}
