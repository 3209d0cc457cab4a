package api

import (
	"bytes"
	"encoding/csv"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"kefu"
	"kefu/chat"
)

// exportContact answers everything stored about a contact as one JSON
// document (files inline, base64), as a download.
func (s *Server) exportContact(c echo.Context) error {
	out, err := s.chat.ExportContact(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="contact-`+safeFileID(c.Param("id"))+`.json"`)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

func (s *Server) eraseContact(c echo.Context) error {
	rep, err := s.chat.EraseContact(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.Set(auditDetails, map[string]any{"conversations": rep.Conversations, "messages_redacted": rep.MessagesRedacted, "files_deleted": rep.FilesDeleted})
	return c.JSON(http.StatusOK, rep)
}

// safeFileID keeps what may go in a download's file name.
func safeFileID(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return -1
	}, id)
}

// transcript answers a conversation's messages as JSON, CSV or a printable
// HTML page (format=json|csv|html; notes=true adds private notes).
func (s *Server) transcript(c echo.Context) error {
	format := c.QueryParam("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" && format != "html" {
		return kefu.Invalid(map[string]string{"format": "must be json, csv or html"})
	}
	notes := false
	if v := c.QueryParam("notes"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return kefu.Invalid(map[string]string{"notes": "must be true or false"})
		}
		notes = b
	}
	conv, msgs, err := s.chat.Transcript(c.Request().Context(), principal(c), c.Param("id"), notes)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	name := "transcript-" + safeFileID(conv.ID)
	switch format {
	case "csv":
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		_ = w.Write([]string{"seq", "created_at", "author_type", "author_name", "private", "body", "attachments"})
		for _, m := range msgs {
			_ = w.Write([]string{strconv.FormatInt(m.Seq, 10), m.CreatedAt.UTC().Format(time.RFC3339), m.Author.Type, cell(m.Author.Name),
				strconv.FormatBool(m.Private), cell(m.Body), cell(attachmentNames(m))})
		}
		w.Flush()
		h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
	case "html":
		var b bytes.Buffer
		if err := transcriptPage.Execute(&b, map[string]any{"Conversation": conv, "Messages": msgs, "Lang": s.tenantLanguage(c)}); err != nil {
			return err
		}
		h.Set("Content-Disposition", `inline; filename="`+name+`.html"`)
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		return c.HTMLBlob(http.StatusOK, b.Bytes())
	}
	h.Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
	return c.JSON(http.StatusOK, map[string]any{"conversation": conv, "messages": msgs})
}

// cell keeps a CSV cell from being read as a formula by a spreadsheet.
func cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func attachmentNames(m chat.Message) string {
	names := make([]string, len(m.Attachments))
	for i, a := range m.Attachments {
		names[i] = a.Name
	}
	return strings.Join(names, "; ")
}

func (s *Server) tenantLanguage(c echo.Context) string {
	t, err := s.tenants.Tenant(c.Request().Context(), tenantOf(c))
	if err != nil {
		return "en"
	}
	return t.Language
}

// transcriptPage is the printable transcript. html/template escapes every
// value; the page loads nothing and runs no script.
var transcriptPage = template.Must(template.New("transcript").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"zh":   func(lang string) bool { return lang == "zh-CN" },
}).Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<title>{{if zh .Lang}}会话记录{{else}}Transcript{{end}} {{.Conversation.ID}}</title>
<style>
body{font:14px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;max-width:760px;margin:24px auto;color:#1f1f1f}
h1{font-size:20px;margin:0 0 4px}.meta{color:#595959;margin-bottom:16px}
.m{border-top:1px solid #e5e5e5;padding:8px 0;break-inside:avoid}.who{font-weight:600}.at{color:#595959;font-size:12px;margin-left:8px}
.note{background:#fffbe6}.body{white-space:pre-wrap;word-break:break-word}
@media print{body{margin:0}}
</style></head><body>
<h1>{{if zh .Lang}}会话记录{{else}}Transcript{{end}}</h1>
<div class="meta">{{.Conversation.ID}} · {{.Conversation.Visitor.Name}} {{.Conversation.Visitor.Email}} · {{when .Conversation.CreatedAt}}</div>
{{range .Messages}}<div class="m{{if .Private}} note{{end}}"><span class="who">{{if .Author.Name}}{{.Author.Name}}{{else}}{{.Author.Type}}{{end}}</span><span class="at">#{{.Seq}} · {{when .CreatedAt}}{{if .Private}} · {{if zh $.Lang}}内部备注{{else}}private note{{end}}{{end}}</span>
<div class="body">{{.Body}}</div>{{range .Attachments}}<div>📎 {{.Name}}</div>{{end}}</div>
{{end}}</body></html>
`))
