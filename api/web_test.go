package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"

	"kefu/api"
	"kefu/chat"
	"kefu/flowrun"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
)

// fetch sends one request with the given headers (none added: the client
// neither asks for nor decodes compression on its own) and returns the
// answer with its raw body.
func fetch(t *testing.T, method, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// TestHeadAnswersLikeGet: pages and the widget script answer HEAD with the
// headers of GET and no body (the operator review found 405).
func TestHeadAnswersLikeGet(t *testing.T) {
	a := webApp(t, api.Config{})
	for _, p := range []string{"/", "/login", "/app/inbox", "/demo?key=wk_x", "/widget.js", "/assets/app.js"} {
		t.Run(p, func(t *testing.T) {
			get, getBody := fetch(t, "GET", a.url+p)
			head, headBody := fetch(t, "HEAD", a.url+p)
			if get.StatusCode != 200 || head.StatusCode != 200 {
				t.Fatalf("GET %d, HEAD %d", get.StatusCode, head.StatusCode)
			}
			if len(headBody) != 0 {
				t.Errorf("HEAD has a body of %d bytes", len(headBody))
			}
			for _, h := range []string{"Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control", "Content-Security-Policy"} {
				if get.Header.Get(h) != head.Header.Get(h) {
					t.Errorf("%s: GET %q, HEAD %q", h, get.Header.Get(h), head.Header.Get(h))
				}
			}
			if get.Header.Get("Content-Length") != fmt.Sprint(len(getBody)) {
				t.Errorf("Content-Length %q for %d bytes", get.Header.Get("Content-Length"), len(getBody))
			}
		})
	}
}

// TestWrongMethodIs405WithAllow: a path that exists answers another method
// with 405 method_not_allowed, in the contract's error shape, and Allow
// lists the methods it has; a path that does not exist stays 404 (the
// operator review found 404 for both).
func TestWrongMethodIs405WithAllow(t *testing.T) {
	a := webApp(t, api.Config{})
	for _, c := range []struct {
		method, path string
		status       int
		allow        []string // each must be in Allow
		code         string   // error code, for /api/ answers
	}{
		{"POST", "/api/v1/me", 405, []string{"GET"}, "method_not_allowed"},
		{"DELETE", "/api/v1/conversations/c1", 405, []string{"GET"}, "method_not_allowed"},
		{"GET", "/api/v1/signup", 405, []string{"POST"}, "method_not_allowed"},
		{"PUT", "/api/v1/auth/login", 405, []string{"POST"}, "method_not_allowed"},
		{"GET", "/api/v1/flows/f1/publish", 405, []string{"POST"}, "method_not_allowed"},
		{"DELETE", "/api/v1/flows/f1", 405, []string{"GET", "PUT"}, "method_not_allowed"},
		{"POST", "/api/v1/tenant", 405, []string{"GET", "PATCH"}, "method_not_allowed"},
		{"GET", "/api/v1/nothing-here", 404, nil, "not_found"},
		{"POST", "/api/v1/nothing/here", 404, nil, "not_found"},
		{"POST", "/healthz", 405, []string{"GET"}, "method_not_allowed"},
		{"DELETE", "/widget.js", 405, []string{"GET", "HEAD"}, "method_not_allowed"},
		{"POST", "/login", 405, []string{"GET", "HEAD"}, "method_not_allowed"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := a.raw(c.method, c.path, "", "application/json", "")
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Raw)
			}
			if r.Code() != c.code || r.Body["error"].(map[string]any)["message"] == "" {
				t.Errorf("body %s, want the error shape with code %s", r.Raw, c.code)
			}
			allow := r.Header.Get("Allow")
			for _, m := range c.allow {
				if !strings.Contains(allow, m) {
					t.Errorf("Allow %q lacks %s", allow, m)
				}
			}
			if c.status == 405 && strings.Contains(allow, c.method) {
				t.Errorf("Allow %q names the refused method %s", allow, c.method)
			}
			if c.status == 404 && allow != "" {
				t.Errorf("a 404 with Allow %q", allow)
			}
		})
	}
}

// nodeBrotli compresses (or with decompress, expands) b with node's zlib,
// the same code that compresses the real build (frontend/scripts/compress.mjs).
// Go's standard library has no brotli.
func nodeBrotli(t *testing.T, b []byte, decompress bool) []byte {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the brotli half of the compression test needs it (it builds the frontend anyway)")
	}
	fn := "brotliCompressSync"
	if decompress {
		fn = "brotliDecompressSync"
	}
	cmd := exec.Command(node, "-e", "process.stdout.write(require('zlib')."+fn+"(require('fs').readFileSync(0)))")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v", fn, err)
	}
	return out
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = w.Write(b)
	w.Close()
	return buf.Bytes()
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("bad gzip: %v", err)
	}
	return out
}

// TestCompressedWebFiles: the build's precompressed copies are served to
// clients that accept them, chosen by Accept-Encoding (weights, q=0, *),
// with Vary, a validator of their own and bytes that decode to the file;
// conditional requests get 304.
func TestCompressedWebFiles(t *testing.T) {
	// Random-ish text, so that even compressed it is larger than the
	// server's response buffer (Content-Length must still be sent).
	var sb strings.Builder
	for i := 0; i < 6000; i++ {
		fmt.Fprintf(&sb, "function f%d(){return %d*%d;}\n", i, i*7919%10007, i*104729%7919)
	}
	script := []byte("/* widget */ " + sb.String())
	web := fstest.MapFS{
		"index.html":   {Data: []byte(`<!doctype html><script type="module" src="/assets/app.js"></script>`)},
		"widget.js":    {Data: script},
		"widget.js.gz": {Data: gzipped(t, script)},
		"widget.js.br": {Data: nodeBrotli(t, script, false)},
	}
	ten := tenants.NewService(tenantstest.SQLite(t), tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef")})
	c := chat.NewService(chat.Config{Tenants: ten, Bus: chat.NewLocalBus()})
	flowrun.New(c, flowrun.Config{})
	t.Cleanup(func() { c.Close(context.Background()) })
	srv := httptest.NewServer(conform(api.New(api.Config{Tenants: ten, Chat: c, Logger: slog.New(slog.DiscardHandler), Web: web}).Handler()))
	t.Cleanup(srv.Close)

	etags := map[string]string{}
	for _, c := range []struct{ accept, coding string }{
		{"", ""},
		{"identity", ""},
		{"gzip", "gzip"},
		{"gzip, deflate, br", "br"},
		{"br;q=0.5, gzip", "gzip"},
		{"br;q=0, gzip;q=0", ""},
		{"*", "br"},
		{"*;q=0, gzip", "gzip"},
		{"GZIP;q=0.8", "gzip"},
	} {
		t.Run("Accept-Encoding "+c.accept, func(t *testing.T) {
			res, body := fetch(t, "GET", srv.URL+"/widget.js", "Accept-Encoding", c.accept)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Encoding"); got != c.coding {
				t.Fatalf("Content-Encoding %q, want %q", got, c.coding)
			}
			if vary := strings.Join(res.Header.Values("Vary"), ", "); !strings.Contains(vary, "Accept-Encoding") {
				t.Errorf("Vary %q", vary)
			}
			if res.Header.Get("Content-Length") != fmt.Sprint(len(body)) {
				t.Errorf("Content-Length %q for %d bytes", res.Header.Get("Content-Length"), len(body))
			}
			if head, _ := fetch(t, "HEAD", srv.URL+"/widget.js", "Accept-Encoding", c.accept); head.Header.Get("Content-Length") != fmt.Sprint(len(body)) ||
				head.Header.Get("Content-Encoding") != c.coding {
				t.Errorf("HEAD: Content-Length %q, Content-Encoding %q; GET sent %d bytes as %q", head.Header.Get("Content-Length"), head.Header.Get("Content-Encoding"), len(body), c.coding)
			}
			if ranged, part := fetch(t, "GET", srv.URL+"/widget.js", "Accept-Encoding", c.accept, "Range", "bytes=0-99"); c.coding != "" && (ranged.StatusCode != 200 || len(part) != len(body)) {
				t.Errorf("a range of the %s copy: %d with %d bytes, want the whole copy", c.coding, ranged.StatusCode, len(part))
			}
			decoded := body
			switch c.coding {
			case "gzip":
				decoded = gunzip(t, body)
			case "br":
				decoded = nodeBrotli(t, body, true)
			}
			if c.coding != "" && len(body) >= len(script)/2 {
				t.Errorf("%s body is %d bytes for a %d-byte file", c.coding, len(body), len(script))
			}
			if !bytes.Equal(decoded, script) {
				t.Fatalf("the %q body does not decode to the file", c.coding)
			}
			etag := res.Header.Get("ETag")
			if prev, seen := etags[c.coding]; seen && prev != etag {
				t.Errorf("ETag %q, earlier %q for the same coding", etag, prev)
			}
			for coding, other := range etags {
				if coding != c.coding && other == etag {
					t.Errorf("codings %q and %q share the ETag %q", coding, c.coding, etag)
				}
			}
			etags[c.coding] = etag
			again, body := fetch(t, "GET", srv.URL+"/widget.js", "Accept-Encoding", c.accept, "If-None-Match", etag)
			if again.StatusCode != 304 || len(body) != 0 {
				t.Errorf("If-None-Match %s: status %d with %d bytes, want 304", etag, again.StatusCode, len(body))
			}
		})
	}
	t.Run("a file without copies is served as it is", func(t *testing.T) {
		res, _ := fetch(t, "GET", srv.URL+"/", "Accept-Encoding", "br, gzip")
		if res.Header.Get("Content-Encoding") != "" || res.Header.Get("ETag") == "" || res.Header.Get("Last-Modified") == "" {
			t.Errorf("Content-Encoding %q, ETag %q, Last-Modified %q", res.Header.Get("Content-Encoding"), res.Header.Get("ETag"), res.Header.Get("Last-Modified"))
		}
	})
	t.Run("the copies are not served under their own names", func(t *testing.T) {
		res, body := fetch(t, "GET", srv.URL+"/widget.js.br")
		if bytes.Equal(body, web["widget.js.br"].Data) || res.Header.Get("Content-Type") == "application/octet-stream" {
			t.Errorf("GET /widget.js.br served the raw copy (%s)", res.Header.Get("Content-Type"))
		}
	})
}

// TestCompressedJSON: API answers of 1 KiB or more are gzipped for clients
// that accept it, smaller ones are not, and file downloads never are.
func TestCompressedJSON(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		b := a.signup("Gzip")
		for i := 0; i < 12; i++ {
			a.must(201, "POST", "/api/v1/agents", b.token, map[string]any{"email": fmt.Sprintf("agent%d@example.com", i), "name": fmt.Sprintf("Agent %d", i), "password": "password1", "role": "agent"})
		}
		auth := "Bearer " + b.token
		big, bigBody := fetch(t, "GET", a.url+"/api/v1/agents", "Authorization", auth, "Accept-Encoding", "gzip")
		plain, plainBody := fetch(t, "GET", a.url+"/api/v1/agents", "Authorization", auth)
		if big.StatusCode != 200 || plain.StatusCode != 200 {
			t.Fatalf("status %d / %d", big.StatusCode, plain.StatusCode)
		}
		if len(plainBody) < 1024 {
			t.Fatalf("the list is only %d bytes; the test needs over 1 KiB", len(plainBody))
		}
		if vary := strings.Join(big.Header.Values("Vary"), ", "); big.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(vary, "Accept-Encoding") {
			t.Fatalf("Content-Encoding %q, Vary %q", big.Header.Get("Content-Encoding"), vary)
		}
		if !bytes.Equal(gunzip(t, bigBody), plainBody) || len(bigBody) >= len(plainBody) {
			t.Errorf("gzip body (%d bytes) does not decode to the plain one (%d bytes)", len(bigBody), len(plainBody))
		}
		if plain.Header.Get("Content-Encoding") != "" {
			t.Errorf("compressed without Accept-Encoding: %q", plain.Header.Get("Content-Encoding"))
		}
		small, smallBody := fetch(t, "GET", a.url+"/api/v1/tenant", "Authorization", auth, "Accept-Encoding", "gzip")
		if small.Header.Get("Content-Encoding") != "" || len(smallBody) >= 1024 {
			t.Errorf("a %d-byte answer has Content-Encoding %q", len(smallBody), small.Header.Get("Content-Encoding"))
		}
		// An error answer stays readable.
		missing, missingBody := fetch(t, "GET", a.url+"/api/v1/conversations/nope", "Authorization", auth, "Accept-Encoding", "gzip")
		if missing.StatusCode != 404 || !strings.Contains(string(missingBody), "not_found") {
			t.Errorf("404: %d %s", missing.StatusCode, missingBody)
		}

		// A file download keeps its bytes and length.
		_, vtoken := a.visitor(b.widgetKey)
		data := bytes.Repeat([]byte("plain text file "), 200)
		up := a.upload(vtoken, "notes.txt", data)
		if up.Status != 201 {
			t.Fatalf("upload: %d %s", up.Status, up.Raw)
		}
		res, got := fetch(t, "GET", a.url+up.Str("url"), "Accept-Encoding", "gzip")
		if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" || !bytes.Equal(got, data) {
			t.Errorf("download: %d, Content-Encoding %q, %d bytes of %d", res.StatusCode, res.Header.Get("Content-Encoding"), len(got), len(data))
		}
	})
}
