package api_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"kefu/api/apitest"
)

// png is a 1×1 PNG.
var png = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

func (a *app) upload(token, name string, data []byte) resp {
	a.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if name != "" {
		fw, _ := w.CreateFormFile("file", name)
		_, _ = fw.Write(data)
	}
	w.Close()
	return a.client(token).DoRequest(a.t, apitest.Request{Method: "POST", Path: "/api/v1/uploads", Body: &buf, ContentType: w.FormDataContentType()})
}

func TestUploads(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Files")
		_, vtok := a.visitor(biz.widgetKey)

		var up resp
		t.Run("a visitor uploads an image and anyone with the link gets it", func(t *testing.T) {
			up = a.upload(vtok, "../../photo.png", png)
			if up.Status != 201 || up.Str("content_type") != "image/png" || up.Str("name") != "photo.png" || up.Str("size") != strconv.Itoa(len(png)) {
				t.Fatalf("upload: %d %s", up.Status, up.Raw)
			}
			res, err := http.Get(a.url + up.Str("url"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !bytes.Equal(body, png) || res.Header.Get("Content-Type") != "image/png" ||
				res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "inline") {
				t.Fatalf("download: %d %v", res.StatusCode, res.Header)
			}
			for _, bad := range []string{strings.Replace(up.Str("url"), "sig=", "sig=x", 1), strings.Replace(up.Str("url"), biz.tenantID, "01a00000-0000-7000-8000-000000000000", 1)} {
				if r := a.do("GET", strings.TrimPrefix(bad, a.url), "", nil); r.Status != 404 {
					t.Fatalf("forged link %s: %d", bad, r.Status)
				}
			}
		})

		t.Run("a page is served as a download, never rendered", func(t *testing.T) {
			h := a.upload(biz.token, "evil.html", []byte("<html><script>alert(1)</script></html>"))
			res, err := http.Get(a.url + h.Str("url"))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
				t.Fatalf("html served as %v", res.Header)
			}
		})

		t.Run("bad uploads are refused", func(t *testing.T) {
			if r := a.upload("", "a.png", png); r.Status != 401 {
				t.Fatalf("no token: %d", r.Status)
			}
			if r := a.upload(vtok, "", nil); r.Status != 400 || r.Field("file") == "" {
				t.Fatalf("no file: %d %s", r.Status, r.Raw)
			}
			if r := a.upload(vtok, "big.bin", make([]byte, 10<<20+1)); r.Status != 413 || r.Code() != "too_large" {
				t.Fatalf("too big: %d %s", r.Status, r.Raw)
			}
		})

		t.Run("a message carries the file to the agent", func(t *testing.T) {
			v := a.connect(t, vtok, nil)
			v.send(map[string]any{"type": "message.send", "client_id": "f1", "body": "", "attachments": []string{up.Str("id")}})
			ack := v.expect("ack")
			conv := ack["conversation_id"].(string)
			list := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", biz.token, nil)
			if !strings.Contains(list.Raw, `"name":"photo.png"`) || !strings.Contains(list.Raw, "/api/v1/files/") {
				t.Fatalf("messages: %s", list.Raw)
			}
			a.settle(biz.token, conv)
			a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"attachments": []string{up.Str("id")}})
			c := a.must(200, "GET", "/api/v1/conversations/"+conv, biz.token, nil)
			if c.Str("last_message", "body") != "📎 photo.png" {
				t.Fatalf("preview of a files-only message: %s", c.Raw)
			}
			// Another visitor cannot attach this visitor's file.
			_, other := a.visitor(biz.widgetKey)
			o := a.connect(t, other, nil)
			o.send(map[string]any{"type": "message.send", "client_id": "x", "body": "mine?", "attachments": []string{up.Str("id")}})
			if e := o.expect("error"); e["code"] != "invalid_argument" {
				t.Fatalf("foreign attachment: %v", e)
			}
			// An empty message without files is still refused.
			o.send(map[string]any{"type": "message.send", "client_id": "y", "body": " "})
			if e := o.expect("error"); e["code"] != "invalid_argument" {
				t.Fatalf("empty: %v", e)
			}
		})
	})
}
