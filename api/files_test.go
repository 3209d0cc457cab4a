package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kefu/api"
	"kefu/api/apitest"
	"kefu/chat"
	"kefu/tenants/tenantstest"
)

// clock is a settable clock for chat.Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC()} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// forEachBackendWith is forEachBackend with changed settings.
func forEachBackendWith(t *testing.T, configure func(*chat.Config, *api.Config), fn func(t *testing.T, a *app)) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newAppWith(t, b.Store, chat.NewLocalBus(), configure)) })
	}
}

// rows counts a tenant table's rows, straight from the database.
func (a *app) rows(tenantID, table string) int64 {
	a.t.Helper()
	db, err := a.store.Tenant(tenantID)
	if err != nil {
		a.t.Fatal(err)
	}
	var n int64
	if err := db.Raw(`SELECT count(*) FROM ` + db.Table(table)).Scan(&n).Error; err != nil {
		a.t.Fatal(err)
	}
	return n
}

// noise is a deterministic stream of random bytes.
type noise struct {
	r    *rand.ChaCha8
	left int64
}

func newNoise(seed byte, size int64) *noise {
	return &noise{r: rand.NewChaCha8([32]byte{seed}), left: size}
}

func (n *noise) Read(p []byte) (int, error) {
	if n.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > n.left {
		p = p[:n.left]
	}
	k, _ := n.r.Read(p)
	n.left -= int64(k)
	return k, nil
}

// uploadStream uploads size bytes of noise without ever holding them: the
// multipart body is written into a pipe as the request reads it. It
// returns the answer and the sha256 of what was sent.
func (a *app) uploadStream(token, name string, seed byte, size int64) (resp, [32]byte) {
	a.t.Helper()
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	h := sha256.New()
	go func() {
		fw, err := w.CreateFormFile("file", name)
		if err == nil {
			_, err = io.Copy(io.MultiWriter(fw, h), newNoise(seed, size))
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	r := a.client(token).DoRequest(a.t, apitest.Request{Method: "POST", Path: "/api/v1/uploads", Body: pr, ContentType: w.FormDataContentType()})
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return r, sum
}

// fetch GETs a file link and returns status, headers and the sha256 and
// length of the body (read as a stream).
func (a *app) fetch(link string) (int, http.Header, [32]byte, int64, resp) {
	a.t.Helper()
	res, err := http.Get(a.url + link)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	var sum [32]byte
	if res.StatusCode != 200 {
		raw, _ := io.ReadAll(res.Body)
		r := resp{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
		_ = json.Unmarshal(raw, &r.Body)
		return res.StatusCode, res.Header, sum, 0, r
	}
	h := sha256.New()
	n, _ := io.Copy(h, res.Body)
	copy(sum[:], h.Sum(nil))
	return res.StatusCode, res.Header, sum, n, resp{Status: 200}
}

// attachmentURL is the link of the first attachment of the conversation's
// message with seq, as the REST API serves it now.
func (a *app) attachmentURL(token, conv string, seq int64) string {
	a.t.Helper()
	list := a.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", token, nil)
	msgs, _ := list.Body["messages"].([]any)
	for _, m := range msgs {
		mm := m.(map[string]any)
		if num(mm["seq"]) == seq {
			atts, _ := mm["attachments"].([]any)
			if len(atts) > 0 {
				return atts[0].(map[string]any)["url"].(string)
			}
		}
	}
	a.t.Fatalf("no attachment on message %d: %s", seq, list.Raw)
	return ""
}

// TestFileRoundTrip: a 10 MiB file (the limit) goes in as a stream and
// comes back byte for byte; one byte more is refused and leaves nothing.
func TestFileRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Stream")
		up, sent := a.uploadStream(biz.token, "big.bin", 7, chat.MaxUploadBytes)
		if up.Status != 201 || up.Str("size") != strconv.Itoa(chat.MaxUploadBytes) {
			t.Fatalf("upload: %d %s", up.Status, up.Raw)
		}
		if n := a.rows(biz.tenantID, "upload_chunks"); n != chat.MaxUploadBytes/(256<<10) {
			t.Fatalf("chunks: %d", n)
		}
		st, h, got, n, _ := a.fetch(up.Str("url"))
		if st != 200 || n != chat.MaxUploadBytes || got != sent || h.Get("Content-Length") != strconv.Itoa(chat.MaxUploadBytes) {
			t.Fatalf("download: %d, %d bytes, sha256 equal %v, %v", st, n, got == sent, h)
		}
		before := a.rows(biz.tenantID, "uploads")
		if r, _ := a.uploadStream(biz.token, "bigger.bin", 8, chat.MaxUploadBytes+1); r.Status != 413 || r.Code() != "too_large" {
			t.Fatalf("one byte over: %d %s", r.Status, r.Raw)
		}
		if a.rows(biz.tenantID, "uploads") != before || a.rows(biz.tenantID, "upload_chunks") != chat.MaxUploadBytes/(256<<10) {
			t.Fatal("a refused upload left rows behind")
		}
	})
}

// TestUploadMemory: concurrent 10 MiB uploads are streamed to the database
// chunk by chunk, so the server's heap stays flat (it grew by ~33 MiB per
// upload in flight when each file was read whole).
func TestUploadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MiB per backend")
	}
	const n = 20
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Memory")
		// Little room for garbage, so what is sampled is close to what is
		// live, whatever earlier tests left on the heap.
		defer debug.SetGCPercent(debug.SetGCPercent(20))
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}()
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, _ := a.uploadStream(biz.token, fmt.Sprintf("f%d.bin", i), byte(i), chat.MaxUploadBytes)
				codes[i] = r.Status
			}()
		}
		wg.Wait()
		close(stop)
		<-sampled
		for i, c := range codes {
			if c != 201 {
				t.Fatalf("upload %d: %d", i, c)
			}
		}
		grew := int64(peak.Load()) - int64(base)
		t.Logf("%d concurrent 10 MiB uploads: heap in use peaked %d MiB over the baseline", n, grew>>20)
		if grew > 40<<20 {
			t.Fatalf("heap grew by %d MiB during %d concurrent uploads; want < 40 MiB", grew>>20, n)
		}
	})
}

// TestUploadQuotas: per visitor and per tenant, files and bytes per rolling
// hour, counted in the database; over the quota the answer is 429
// rate_limited with Retry-After and nothing is stored.
func TestUploadQuotas(t *testing.T) {
	clk := newClock()
	forEachBackendWith(t, func(c *chat.Config, _ *api.Config) {
		c.Now = clk.now
		c.Uploads = chat.UploadLimits{VisitorFiles: 3, VisitorBytes: 100 << 10, TenantFiles: 8, TenantBytes: 10 << 20}
	}, func(t *testing.T, a *app) {
		biz := a.signup("Quota")
		refused := func(t *testing.T, r resp) {
			t.Helper()
			if r.Status != 429 || r.Code() != "rate_limited" {
				t.Fatalf("want 429 rate_limited: %d %s", r.Status, r.Raw)
			}
			if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 3600 {
				t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
			}
		}
		t.Run("a visitor's fourth file in an hour is refused and not stored", func(t *testing.T) {
			_, vtok := a.visitor(biz.widgetKey)
			for i := range 3 {
				a.must201(a.upload(vtok, fmt.Sprintf("p%d.png", i), png))
			}
			ups, chunks := a.rows(biz.tenantID, "uploads"), a.rows(biz.tenantID, "upload_chunks")
			refused(t, a.upload(vtok, "p4.png", png))
			if a.rows(biz.tenantID, "uploads") != ups || a.rows(biz.tenantID, "upload_chunks") != chunks {
				t.Fatal("a refused upload was stored")
			}
			// Another visitor has their own quota.
			_, other := a.visitor(biz.widgetKey)
			a.must201(a.upload(other, "o.png", png))
			// An hour later the window has moved on.
			clk.add(time.Hour + time.Second)
			a.must201(a.upload(vtok, "p5.png", png))
		})
		t.Run("a visitor's bytes per hour are bounded too", func(t *testing.T) {
			_, vtok := a.visitor(biz.widgetKey)
			a.must201(a.upload(vtok, "a.bin", make([]byte, 60<<10)))
			refused(t, a.upload(vtok, "b.bin", make([]byte, 60<<10)))
			a.must201(a.upload(vtok, "c.bin", make([]byte, 30<<10)))
		})
		t.Run("concurrent uploads cannot all pass the same count", func(t *testing.T) {
			clk.add(time.Hour + time.Second)
			_, vtok := a.visitor(biz.widgetKey)
			var wg sync.WaitGroup
			var ok, limited atomic.Int32
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch r := a.upload(vtok, fmt.Sprintf("c%d.png", i), png); r.Status {
					case 201:
						ok.Add(1)
					case 429:
						limited.Add(1)
					}
				}()
			}
			wg.Wait()
			if ok.Load() != 3 || limited.Load() != 5 {
				t.Fatalf("8 at once with a quota of 3: %d stored, %d refused", ok.Load(), limited.Load())
			}
		})
		t.Run("the tenant's quota holds across visitors and users", func(t *testing.T) {
			clk.add(time.Hour + time.Second)
			for i := range 8 {
				_, vtok := a.visitor(biz.widgetKey)
				tok := vtok
				if i%2 == 0 {
					tok = biz.token
				}
				a.must201(a.upload(tok, "t.png", png))
			}
			_, vtok := a.visitor(biz.widgetKey)
			ups := a.rows(biz.tenantID, "uploads")
			refused(t, a.upload(vtok, "t.png", png))
			refused(t, a.upload(biz.token, "t.png", png))
			if a.rows(biz.tenantID, "uploads") != ups {
				t.Fatal("a refused upload was stored")
			}
			// Another tenant is not affected.
			other := a.signup("Quota other")
			a.must201(a.upload(other.token, "t.png", png))
		})
	})
}

func (a *app) must201(r resp) resp {
	a.t.Helper()
	if r.Status != 201 {
		a.t.Fatalf("upload: %d %s", r.Status, r.Raw)
	}
	return r
}

// TestUploadRate: the upload route is rate limited per client IP, before
// the token is looked at.
func TestUploadRate(t *testing.T) {
	a := newAppWith(t, tenantstest.SQLite(t), chat.NewLocalBus(), func(_ *chat.Config, c *api.Config) { c.UploadsPerMinute = 2 })
	var last resp
	for range 5 {
		if last = a.upload("", "a.png", png); last.Status == 429 {
			break
		}
	}
	if last.Status != 429 || last.Code() != "rate_limited" || last.Header.Get("Retry-After") == "" {
		t.Fatalf("got %d %s %v", last.Status, last.Raw, last.Header)
	}
}

// TestUploadSweep: files no message took are deleted after a day; files a
// message carries stay, and their link is signed afresh.
func TestUploadSweep(t *testing.T) {
	clk := newClock()
	forEachBackendWith(t, func(c *chat.Config, _ *api.Config) { c.Now = clk.now }, func(t *testing.T, a *app) {
		biz := a.signup("Sweep")
		_, vtok := a.visitor(biz.widgetKey)
		loose := a.must201(a.upload(vtok, "loose.png", png))
		kept := a.must201(a.upload(vtok, "kept.png", png))
		v := a.connect(t, vtok, nil)
		v.send(map[string]any{"type": "message.send", "client_id": "s1", "body": "see", "attachments": []string{kept.Str("id")}})
		ack := v.expect("ack")
		conv := ack["conversation_id"].(string)
		// Later messages are stored by the group commit, which claims
		// their files in the same statement.
		kept2 := a.must201(a.upload(vtok, "kept2.png", png))
		v.send(map[string]any{"type": "message.send", "client_id": "s1b", "conversation_id": conv, "body": "", "attachments": []string{kept2.Str("id")}})
		v.expect("ack")
		a.settle(biz.token, conv)
		byAgent := a.must201(a.upload(biz.token, "agent.png", png))
		a.must(201, "POST", "/api/v1/conversations/"+conv+"/messages", biz.token, map[string]any{"body": "here", "attachments": []string{byAgent.Str("id")}})

		clk.add(23 * time.Hour)
		if n, err := a.chat.SweepUploads(context.Background()); err != nil || n != 0 {
			t.Fatalf("sweep before a day: %d %v", n, err)
		}
		clk.add(2 * time.Hour)
		// Two nodes sweeping at once agree: each file goes once.
		var wg sync.WaitGroup
		var swept atomic.Int64
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := a.chat.SweepUploads(context.Background())
				if err != nil {
					t.Error(err)
				}
				swept.Add(int64(n))
			}()
		}
		wg.Wait()
		if swept.Load() < 1 || a.rows(biz.tenantID, "uploads") != 3 {
			t.Fatalf("swept %d, %d uploads left", swept.Load(), a.rows(biz.tenantID, "uploads"))
		}
		if a.rows(biz.tenantID, "upload_chunks") != 3 {
			t.Fatalf("chunks left: %d", a.rows(biz.tenantID, "upload_chunks"))
		}
		// The swept file can no longer be sent.
		v.send(map[string]any{"type": "message.send", "client_id": "s2", "body": "and this", "attachments": []string{loose.Str("id")}})
		if e := v.expect("error"); e["code"] != "invalid_argument" {
			t.Fatalf("swept attachment: %v", e)
		}
		// The kept one's first link has expired; the message gives a new one.
		if st, _, _, _, r := a.fetch(kept.Str("url")); st != 403 || r.Code() != "permission_denied" {
			t.Fatalf("expired link: %d %s", st, r.Raw)
		}
		if st, _, _, n, _ := a.fetch(a.attachmentURL(biz.token, conv, num(ack["seq"]))); st != 200 || n != int64(len(png)) {
			t.Fatalf("fresh link: %d, %d bytes", st, n)
		}
	})
}

// TestFileLinks: a link works until it expires and only for its tenant,
// file and expiry; every fetch of a message (REST, catch-up, message.new)
// signs its files afresh.
func TestFileLinks(t *testing.T) {
	clk := newClock()
	forEachBackendWith(t, func(c *chat.Config, _ *api.Config) { c.Now = clk.now }, func(t *testing.T, a *app) {
		biz := a.signup("Links")
		_, vtok := a.visitor(biz.widgetKey)
		up := a.must201(a.upload(vtok, "photo.png", png))
		other := a.must201(a.upload(vtok, "other.png", png))
		link, _ := url.Parse(up.Str("url"))
		exp, _ := strconv.ParseInt(link.Query().Get("exp"), 10, 64)
		if ttl := time.Unix(exp, 0).Sub(clk.now()); ttl < 24*time.Hour || ttl > 25*time.Hour {
			t.Fatalf("link good for %v, want a day (rounded up to the hour): %s", ttl, link)
		}

		t.Run("tampered links are refused", func(t *testing.T) {
			q := link.Query()
			sig := q.Get("sig")
			flip := "A"
			if strings.HasPrefix(sig, "A") {
				flip = "B"
			}
			bad := []string{
				link.Path + "?exp=" + q.Get("exp") + "&sig=" + flip + sig[1:],                                             // signature
				link.Path + "?exp=" + strconv.FormatInt(exp+3600, 10) + "&sig=" + sig,                                     // a later expiry
				strings.Replace(link.Path, up.Str("id"), other.Str("id"), 1) + "?" + link.RawQuery,                        // another file
				strings.Replace(link.Path, biz.tenantID, "01a00000-0000-7000-8000-000000000000", 1) + "?" + link.RawQuery, // another tenant
				link.Path + "?sig=" + sig, // no expiry (the old links)
				link.Path + "?exp=" + q.Get("exp"),
			}
			for _, b := range bad {
				if st, _, _, _, r := a.fetch(b); st != 404 || r.Code() != "not_found" {
					t.Fatalf("%s: %d %s", b, st, r.Raw)
				}
			}
		})

		v := a.connect(t, vtok, nil)
		v.send(map[string]any{"type": "message.send", "client_id": "l1", "body": "", "attachments": []string{up.Str("id")}})
		ack := v.expect("ack")
		conv, seq := ack["conversation_id"].(string), num(ack["seq"])

		t.Run("an expired link is refused; fetching the message again gives a fresh one", func(t *testing.T) {
			clk.add(25*time.Hour + time.Minute)
			if st, _, _, _, r := a.fetch(link.String()); st != 403 || r.Code() != "permission_denied" {
				t.Fatalf("expired: %d %s", st, r.Raw)
			}
			fresh := a.attachmentURL(biz.token, conv, seq)
			if fresh == link.String() {
				t.Fatal("the REST API served the stored link")
			}
			if st, h, _, n, _ := a.fetch(fresh); st != 200 || n != int64(len(png)) || !strings.Contains(h.Get("Cache-Control"), "max-age=") {
				t.Fatalf("fresh link: %d %v", st, h)
			}
			// A reconnecting visitor's catch-up carries fresh links too.
			w := a.connect(t, vtok, map[string]int64{conv: 0})
			m := w.expect("message.new")["message"].(map[string]any)
			u := m["attachments"].([]any)[0].(map[string]any)["url"].(string)
			if st, _, _, _, _ := a.fetch(u); st != 200 {
				t.Fatalf("catch-up link: %d", st)
			}
			// And so does a new message to the agent (message.new).
			ag := a.connect(t, biz.token, nil)
			ag.send(map[string]any{"type": "subscribe", "conversation_id": conv, "since": seq})
			again := a.must201(a.upload(vtok, "again.png", png))
			v.send(map[string]any{"type": "message.send", "client_id": "l2", "body": "again", "attachments": []string{again.Str("id")}})
			for {
				f := ag.expect("message.new")
				mm := f["message"].(map[string]any)
				if mm["client_id"] != "l2" {
					continue
				}
				u := mm["attachments"].([]any)[0].(map[string]any)["url"].(string)
				if st, _, _, _, _ := a.fetch(u); st != 200 {
					t.Fatalf("message.new link: %d", st)
				}
				break
			}
		})
	})
}

// TestFileNames: names are shown as sent, minus what could disguise them.
func TestFileNames(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Names")
		up := a.must201(a.upload(biz.token, "名字 ünïcode\u202egnp.exe", png))
		if up.Str("name") != "名字 ünïcodegnp.exe" {
			t.Fatalf("name: %q", up.Str("name"))
		}
		_, h, _, _, _ := a.fetch(up.Str("url"))
		if d := h.Get("Content-Disposition"); strings.Contains(d, "%E2%80%AE") || !strings.Contains(d, "gnp.exe") {
			t.Fatalf("Content-Disposition %q", d)
		}
		long := a.must201(a.upload(biz.token, strings.Repeat("a", 300)+".pdf", png))
		if n := long.Str("name"); len([]rune(n)) != 200 || !strings.HasSuffix(n, ".pdf") {
			t.Fatalf("long name: %q", n)
		}
	})
}

// TestDeleteUploadsOf: a conversation's (or a message's) files are deleted
// with it, even a file first sent elsewhere.
func TestDeleteUploadsOf(t *testing.T) {
	forEachBackend(t, func(t *testing.T, a *app) {
		biz := a.signup("Erase")
		_, vtok := a.visitor(biz.widgetKey)
		up := a.must201(a.upload(vtok, "a.png", png))
		keep := a.must201(a.upload(vtok, "b.png", png))
		v := a.connect(t, vtok, nil)
		v.send(map[string]any{"type": "message.send", "client_id": "d1", "body": "", "attachments": []string{up.Str("id")}})
		ack := v.expect("ack")
		conv := ack["conversation_id"].(string)
		v.send(map[string]any{"type": "message.send", "client_id": "d2", "body": "", "attachments": []string{keep.Str("id")}})
		ack2 := v.expect("ack")
		link := a.attachmentURL(biz.token, conv, num(ack["seq"]))

		ctx := context.Background()
		if n, err := a.chat.DeleteUploadsOf(ctx, biz.tenantID, conv, ack["message_id"].(string)); err != nil || n != 1 {
			t.Fatalf("delete one message's files: %d %v", n, err)
		}
		if st, _, _, _, r := a.fetch(link); st != 404 || r.Code() != "not_found" {
			t.Fatalf("deleted file: %d %s", st, r.Raw)
		}
		if st, _, _, _, _ := a.fetch(a.attachmentURL(biz.token, conv, num(ack2["seq"]))); st != 200 {
			t.Fatalf("the other message's file: %d", st)
		}
		if n, err := a.chat.DeleteUploadsOf(ctx, biz.tenantID, conv); err != nil || n != 1 {
			t.Fatalf("delete the conversation's files: %d %v", n, err)
		}
		if a.rows(biz.tenantID, "uploads") != 0 || a.rows(biz.tenantID, "upload_chunks") != 0 {
			t.Fatal("files left behind")
		}
		if n, err := a.chat.DeleteUploadsOf(ctx, biz.tenantID, conv); err != nil || n != 0 {
			t.Fatalf("again: %d %v", n, err)
		}
	})
}
