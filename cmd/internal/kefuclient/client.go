// Package kefuclient is the little Kefu client the load tools share
// (kefu-bench, kefu-chaos): JSON calls to the REST API, sockets that say
// hello (with since, to resume), and frame scanning cheap enough that the
// tools leave the machine's CPU to the server they load.
package kefuclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// HTTP is the client every call goes through.
var HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// StatusError is a non-2xx answer.
type StatusError struct {
	Method, URL string
	Status      int
	Body        string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, e.Body)
}

// Call sends a JSON request and decodes the answer into out; a non-2xx is
// a *StatusError with the server's message.
func Call(ctx context.Context, method, url, token string, body, out any) error {
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
	res, err := HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return &StatusError{Method: method, URL: url, Status: res.StatusCode, Body: strings.TrimSpace(string(raw))}
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// Frame is any server frame the tools read.
type Frame struct {
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

// WSURL is the socket address of a server's base URL.
func WSURL(base string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/ws"
}

// Dial opens a socket and says hello; since (conversation id → last seq
// seen) resumes: the server sends every later message first.
func Dial(ctx context.Context, base, token string, since map[string]int64) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, WSURL(base), nil) //nolint:bodyclose // the handshake response has no body to close
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	hello := map[string]any{"type": "hello", "token": token}
	if len(since) > 0 {
		hello["since"] = since
	}
	b, _ := json.Marshal(hello)
	if err := c.Write(dctx, websocket.MessageText, b); err != nil {
		c.CloseNow()
		return nil, err
	}
	_, data, err := c.Read(dctx)
	if err != nil {
		c.CloseNow()
		return nil, err
	}
	var f Frame
	_ = json.Unmarshal(data, &f)
	if f.Type != "welcome" {
		c.CloseNow()
		return nil, fmt.Errorf("hello answered %s", data)
	}
	return c, nil
}

// ReadFrame reads the next text message into buf (reused between calls)
// and returns its bytes, valid until the next call.
func ReadFrame(c *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
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

// FrameType is a server frame's type: the server writes it first.
func FrameType(data []byte) string {
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

// StrField is the first string value of key in data ("" if none): enough
// for the server's ids, which need no escaping.
func StrField(data []byte, key string) string { return string(BytesField(data, key)) }

// BytesField is StrField without the copy.
func BytesField(data []byte, key string) []byte {
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

// IntField is the first integer value of key in data (0 if none).
func IntField(data []byte, key string) int64 {
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
