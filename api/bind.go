package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"kefu"
)

// maxJSONDepth bounds how deeply a request body may nest. No request of the
// API needs more than a handful of levels.
const maxJSONDepth = 64

// bind decodes a JSON request body into v. The API speaks JSON only, and
// strictly, because what encoding/json (and Echo's binder) let through has
// bitten before:
//   - a body must come as Content-Type: application/json (else 415): Echo's
//     binder also read XML and form bodies;
//   - an object may not name a key twice (400): `"private":false,"private":true`
//     would otherwise mean whatever the last one says, which other JSON
//     readers on the way may not agree with;
//   - every string, key or value, at any depth, must be UTF-8 text without
//     control characters other than tab, CR and LF (400, naming the field):
//     PostgreSQL cannot store NUL, and SQLite and PostgreSQL must answer alike;
//   - one JSON value, nothing after it.
//
// An empty body binds nothing, as before.
func bind(c echo.Context, v any) error {
	r := c.Request()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var he *echo.HTTPError
		var mb *http.MaxBytesError
		if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) || errors.As(err, &mb) || (errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge) {
			return kefu.Errorf(kefu.ETooLarge, "request body is too large")
		}
		return kefu.Errorf(kefu.EInvalid, "could not read the request body")
	}
	if len(body) == 0 {
		return nil
	}
	if !isJSONType(r.Header.Get(echo.HeaderContentType)) {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "the body must be JSON, sent with Content-Type: application/json")
	}
	if err := vetJSON(body); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return kefu.Invalid(map[string]string{te.Field: "has the wrong type (want " + te.Type.String() + ")"})
		}
		return kefu.Errorf(kefu.EInvalid, "malformed JSON body")
	}
	return nil
}

// isJSONType: application/json, with or without parameters (charset).
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == echo.MIMEApplicationJSON
}

// jsonLevel is one open object or array while vetJSON walks a body.
type jsonLevel struct {
	object  bool
	keys    map[string]struct{}
	key     string // the object's current key
	wantKey bool
	index   int // the array's current index
}

// vetJSON walks body token by token and reports the first duplicate key,
// string that is not clean text, or syntax error, naming the field by its
// path (visitor.name, graph.nodes[2].data.text).
func vetJSON(body []byte) error {
	badUTF8 := -1
	if !utf8.Valid(body) {
		for i := 0; i < len(body); {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n <= 1 {
				badUTF8 = i
				break
			}
			i += n
		}
	}
	malformed := kefu.Errorf(kefu.EInvalid, "malformed JSON body")
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []jsonLevel
	done := false
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			if !done {
				return malformed
			}
			return nil
		}
		if err != nil || done {
			return malformed // a syntax error, or something after the value
		}
		var top *jsonLevel
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.object && top.wantKey {
			if p := textProblem(s, start, dec.InputOffset(), badUTF8); p != "" {
				at := jsonPath(stack, false)
				if at == "body" {
					at = ""
				}
				return kefu.Invalid(map[string]string{at + "[" + strconv.QuoteToASCII(s) + "]": p})
			}
			if _, dup := top.keys[s]; dup {
				top.key = s
				return kefu.Invalid(map[string]string{jsonPath(stack, true): "is given twice"})
			}
			top.keys[s] = struct{}{}
			top.key, top.wantKey = s, false
			continue
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return kefu.Invalid(map[string]string{jsonPath(stack, true): "is nested too deeply"})
				}
				l := jsonLevel{object: t == '{', wantKey: t == '{'}
				if l.object {
					l.keys = map[string]struct{}{}
				}
				stack = append(stack, l)
				continue // the value ends at its closing delimiter
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if p := textProblem(t, start, dec.InputOffset(), badUTF8); p != "" {
				return kefu.Invalid(map[string]string{jsonPath(stack, true): p})
			}
		}
		// A value ended: the enclosing object wants a key, the array moves on.
		if len(stack) == 0 {
			done = true
			continue
		}
		top = &stack[len(stack)-1]
		if top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
}

// textProblem checks a decoded string; raw bytes that were not UTF-8 (and
// that the decoder quietly replaced) are found by their offset.
func textProblem(s string, from, to int64, badUTF8 int) string {
	if badUTF8 >= 0 && int64(badUTF8) >= from && int64(badUTF8) < to {
		return "must be UTF-8 text"
	}
	return kefu.TextProblem(s)
}

// jsonPath names the current position: with leaf, down to the current key
// or index of the innermost level; without, the innermost level itself.
func jsonPath(stack []jsonLevel, leaf bool) string {
	var b strings.Builder
	n := len(stack)
	if !leaf {
		n--
	}
	for i := 0; i < n; i++ {
		l := stack[i]
		if l.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(l.key)
		} else {
			b.WriteString("[" + strconv.Itoa(l.index) + "]")
		}
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}
