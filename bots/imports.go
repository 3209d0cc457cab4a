package bots

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"kefu"
)

// ImportRow is one entry of an import file and the line it starts on.
type ImportRow struct {
	Line  int
	Entry EntryInput
}

// MaxImportRows bounds one import file.
const MaxImportRows = 10000

// Import formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// CSV columns: question and answer, then alternates and keywords, each a
// list separated by "|".
var csvHeader = []string{"question", "answer", "alternates", "keywords"}

// ParseImport reads an import file: CSV with a header row (question,
// answer, alternates, keywords), or JSON (an array of entries, or
// {"faqs": [...]}). A file that does not parse is invalid_argument naming
// the line; rows that parse are checked by ImportFAQs.
func ParseImport(format string, body []byte) ([]ImportRow, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a BOM from a spreadsheet
	switch format {
	case FormatCSV:
		return parseCSV(body)
	case FormatJSON:
		return parseJSON(body)
	}
	return nil, kefu.Invalid(map[string]string{"format": "must be csv or json"})
}

func parseCSV(body []byte) ([]ImportRow, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	head, err := r.Read()
	if err != nil {
		return nil, lineError(1, "the file needs a header row: question,answer,alternates,keywords")
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["question"]; !ok {
		return nil, lineError(1, "the header has no question column")
	}
	if _, ok := col["answer"]; !ok {
		return nil, lineError(1, "the header has no answer column")
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var out []ImportRow
	for {
		line, _ := r.FieldPos(0)
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, lineError(pe.StartLine, pe.Err.Error())
		}
		if err != nil {
			return nil, lineError(line, err.Error())
		}
		line, _ = r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(out) >= MaxImportRows {
			return nil, kefu.Errorf(kefu.ETooLarge, "an import holds at most %d rows", MaxImportRows)
		}
		out = append(out, ImportRow{Line: line, Entry: EntryInput{
			Question: get(rec, "question"), Answer: get(rec, "answer"),
			Alternates: splitList(get(rec, "alternates")), Keywords: splitList(get(rec, "keywords")),
		}})
	}
}

func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return strings.Split(s, "|")
}

func parseJSON(body []byte) ([]ImportRow, error) {
	trimmed := bytes.TrimSpace(body)
	if bytes.HasPrefix(trimmed, []byte("{")) {
		// {"faqs": [...]}: find the array and keep the offsets of the file.
		var wrap struct {
			FAQs json.RawMessage `json:"faqs"`
		}
		if err := json.Unmarshal(trimmed, &wrap); err != nil || len(wrap.FAQs) == 0 {
			return nil, lineError(1, "want an array of entries, or {\"faqs\": [...]}")
		}
		at := bytes.Index(body, wrap.FAQs)
		rows, err := parseJSONArray(wrap.FAQs)
		if at > 0 {
			shift := bytes.Count(body[:at], []byte("\n"))
			for i := range rows {
				rows[i].Line += shift
			}
			var ke *kefu.Error
			if errors.As(err, &ke) && ke.Fields != nil {
				return nil, shiftLines(ke, shift)
			}
		}
		return rows, err
	}
	return parseJSONArray(body)
}

func parseJSONArray(body []byte) ([]ImportRow, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	lineAt := func(off int64) int { return 1 + bytes.Count(body[:min(int(off), len(body))], []byte("\n")) }
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return nil, lineError(1, "want an array of entries")
	}
	var out []ImportRow
	for dec.More() {
		start := dec.InputOffset()
		// The element starts after the separator and spaces.
		for start < int64(len(body)) && strings.ContainsRune(" \t\r\n,", rune(body[start])) {
			start++
		}
		var e EntryInput
		if err := dec.Decode(&e); err != nil {
			return nil, lineError(lineAt(start), "not an entry: "+err.Error())
		}
		if len(out) >= MaxImportRows {
			return nil, kefu.Errorf(kefu.ETooLarge, "an import holds at most %d rows", MaxImportRows)
		}
		out = append(out, ImportRow{Line: lineAt(start), Entry: e})
	}
	if _, err := dec.Token(); err != nil {
		return nil, lineError(lineAt(dec.InputOffset()), "the array does not end: "+err.Error())
	}
	return out, nil
}

func lineError(line int, msg string) error {
	return &kefu.Error{Code: kefu.EInvalid, Message: "the file does not parse; nothing was imported", Fields: map[string]string{fmt.Sprintf("line %d", line): msg}}
}

func shiftLines(e *kefu.Error, shift int) error {
	f := map[string]string{}
	for k, v := range e.Fields {
		var n int
		if _, err := fmt.Sscanf(k, "line %d", &n); err == nil {
			k = fmt.Sprintf("line %d", n+shift)
		}
		f[k] = v
	}
	return &kefu.Error{Code: e.Code, Message: e.Message, Fields: f}
}

// ExportCSV writes entries as an import file.
func ExportCSV(w io.Writer, entries []Entry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, e := range entries {
		if err := cw.Write([]string{e.Question, e.Answer, strings.Join(e.Alternates, "|"), strings.Join(e.Keywords, "|")}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
