package bots

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Some compatible servers answer a streaming request with one JSON body.
// These middlewares turn such an answer into the event stream the SDKs
// parse, so a provider handles streaming and plain answers alike.

const maxPlainBody = 4 << 20

// plainBody returns the JSON body of a successful, non-streamed answer to
// a request whose path ends with suffix, or nil.
func plainBody(req *http.Request, res *http.Response, suffix string) []byte {
	if res == nil || res.StatusCode/100 != 2 || !strings.HasSuffix(req.URL.Path, suffix) {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mt != "application/json" {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxPlainBody))
	res.Body.Close()
	return body
}

func sse(res *http.Response, events ...string) {
	var b bytes.Buffer
	for _, e := range events {
		b.WriteString(e)
		b.WriteString("\n\n")
	}
	res.Body = io.NopCloser(&b)
	res.ContentLength = int64(b.Len())
	res.Header.Set("Content-Type", "text/event-stream")
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// openaiPlain converts a chat.completion into one chunk and [DONE].
func openaiPlain(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	res, err := next(req)
	if err != nil {
		return res, err
	}
	body := plainBody(req, res, "/chat/completions")
	if body == nil {
		return res, nil
	}
	var c struct {
		ID      string `json:"id"`
		Model   string `json:"model"`
		Created int64  `json:"created"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
				Refusal string `json:"refusal"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage json.RawMessage `json:"usage"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		sse(res, "data: "+mustJSON(map[string]any{"error": map[string]string{"message": "the server's answer is not a chat completion"}}))
		return res, nil
	}
	chunk := map[string]any{"id": c.ID, "object": "chat.completion.chunk", "created": c.Created, "model": c.Model, "choices": []any{}}
	choices := []any{}
	for i, ch := range c.Choices {
		choices = append(choices, map[string]any{"index": i, "delta": map[string]any{"role": "assistant", "content": ch.Message.Content, "refusal": ch.Message.Refusal}, "finish_reason": ch.FinishReason})
	}
	chunk["choices"] = choices
	if len(c.Usage) > 0 {
		chunk["usage"] = c.Usage
	}
	sse(res, "data: "+mustJSON(chunk), "data: [DONE]")
	return res, nil
}

// anthropicPlain converts a message into the Messages API's events.
func anthropicPlain(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	res, err := next(req)
	if err != nil {
		return res, err
	}
	body := plainBody(req, res, "/messages")
	if body == nil {
		return res, nil
	}
	var m struct {
		ID      string `json:"id"`
		Model   string `json:"model"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StopReason string `json:"stop_reason"`
		Usage      struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		sse(res, "event: error\ndata: "+mustJSON(map[string]any{"type": "error", "error": map[string]string{"type": "api_error", "message": "the server's answer is not a message"}}))
		return res, nil
	}
	events := []string{"event: message_start\ndata: " + mustJSON(map[string]any{"type": "message_start", "message": map[string]any{
		"id": m.ID, "type": "message", "role": "assistant", "model": m.Model, "content": []any{}, "usage": map[string]int{"input_tokens": m.Usage.InputTokens, "output_tokens": 0}}})}
	for i, c := range m.Content {
		if c.Type != "text" {
			continue
		}
		events = append(events,
			"event: content_block_start\ndata: "+mustJSON(map[string]any{"type": "content_block_start", "index": i, "content_block": map[string]any{"type": "text", "text": ""}}),
			"event: content_block_delta\ndata: "+mustJSON(map[string]any{"type": "content_block_delta", "index": i, "delta": map[string]any{"type": "text_delta", "text": c.Text}}),
			"event: content_block_stop\ndata: "+mustJSON(map[string]any{"type": "content_block_stop", "index": i}))
	}
	events = append(events,
		"event: message_delta\ndata: "+mustJSON(map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": m.StopReason}, "usage": map[string]int{"output_tokens": m.Usage.OutputTokens}}),
		"event: message_stop\ndata: "+mustJSON(map[string]any{"type": "message_stop"}))
	sse(res, events...)
	return res, nil
}
