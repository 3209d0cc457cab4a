package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

var httpc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// call sends a JSON request and decodes the answer into out; a non-2xx is
// an error with the server's message.
func call(ctx context.Context, method, url, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := httpc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, strings.TrimSpace(string(raw)))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// frame is any server frame the bench reads.
type frame struct {
	Type           string `json:"type"`
	ClientID       string `json:"client_id"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	Code           string `json:"code"`
	// Message is an object in message.new and a string in error frames.
	Message      json.RawMessage `json:"message"`
	Conversation struct {
		ID         string `json:"id"`
		AssigneeID string `json:"assignee_id"`
	} `json:"conversation"`
}

func wsURL(base string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/ws"
}

// dial opens a socket and says hello.
func dial(ctx context.Context, base, token string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, wsURL(base), nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	hello, _ := json.Marshal(map[string]any{"type": "hello", "token": token})
	if err := c.Write(dctx, websocket.MessageText, hello); err != nil {
		c.CloseNow()
		return nil, err
	}
	_, data, err := c.Read(dctx)
	if err != nil {
		c.CloseNow()
		return nil, err
	}
	var f frame
	_ = json.Unmarshal(data, &f)
	if f.Type != "welcome" {
		c.CloseNow()
		return nil, fmt.Errorf("hello answered %s", data)
	}
	return c, nil
}

// serverMetric reads one unlabelled value from the server's metrics: from
// --metrics-url when given (a server with KEFU_METRICS_ADDR), else from
// /metrics on the server's address (which answers loopback clients, or
// --metrics-token when the server has KEFU_METRICS_TOKEN).
func serverMetric(ctx context.Context, o options, name string) (float64, error) {
	url := o.metricsURL
	if url == "" {
		url = o.url + "/metrics"
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if o.metricsToken != "" {
		req.Header.Set("Authorization", "Bearer "+o.metricsToken)
	}
	res, err := httpc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", url, res.Status)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no %s in %s", name, url)
}

// serverRSS reads process_resident_memory_bytes from the server's metrics.
func serverRSS(ctx context.Context, o options) (int64, error) {
	f, err := serverMetric(ctx, o, "process_resident_memory_bytes")
	return int64(f), err
}

// serverCPU is the server's CPU time so far, in seconds (-1 if unknown).
func serverCPU(ctx context.Context, o options) float64 {
	f, err := serverMetric(ctx, o, "process_cpu_seconds_total")
	if err != nil {
		return -1
	}
	return f
}

func serverGoroutines(ctx context.Context, o options) int64 {
	f, err := serverMetric(ctx, o, "go_goroutines")
	if err != nil {
		return -1
	}
	return int64(f)
}

var benchFile = bytes.Repeat([]byte("kefu-bench file line\n"), 400) // ≈ 8 KiB

// uploadFile uploads an 8 KiB file as the visitor and returns its id.
func uploadFile(ctx context.Context, base, token string, n int) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", fmt.Sprintf("note-%d.txt", n))
	fw.Write(benchFile)
	w.Close()
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/uploads", &buf)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := httpc.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusTooManyRequests {
		return "", fmt.Errorf("upload: %d %s (run the server with higher KEFU_UPLOADS_PER_MINUTE and KEFU_UPLOAD_*_PER_HOUR limits; see the README)", res.StatusCode, raw)
	}
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("upload: %d %s", res.StatusCode, raw)
	}
	var out struct{ ID string }
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// messageOf decodes a message.new frame's message.
type benchMessage struct {
	ClientID string `json:"client_id"`
	Author   struct {
		Type string `json:"type"`
	} `json:"author"`
}

// readFrame reads the next text message into buf (reused between calls) and
// returns its bytes, valid until the next call.
func readFrame(c *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	_, r, err := c.Reader(context.Background())
	if err != nil {
		return nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// frameType is a server frame's type: the server writes it first.
func frameType(data []byte) string {
	const prefix = `{"type":"`
	if !bytes.HasPrefix(data, []byte(prefix)) {
		return ""
	}
	rest := data[len(prefix):]
	if i := bytes.IndexByte(rest, '"'); i >= 0 {
		return string(rest[:i])
	}
	return ""
}

// strField is the first string value of key in data ("" if none): enough
// for the server's ids, which need no escaping.
func strField(data []byte, key string) string { return string(bytesField(data, key)) }

func bytesField(data []byte, key string) []byte {
	i := bytes.Index(data, []byte(`"`+key+`":"`))
	if i < 0 {
		return nil
	}
	rest := data[i+len(key)+4:]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return nil
}

// intField is the first integer value of key in data (0 if none).
func intField(data []byte, key string) int64 {
	i := bytes.Index(data, []byte(`"`+key+`":`))
	if i < 0 {
		return 0
	}
	var n int64
	for _, ch := range data[i+len(key)+3:] {
		if ch < '0' || ch > '9' {
			break
		}
		n = n*10 + int64(ch-'0')
	}
	return n
}
