// Package botstest runs fake model servers for tests: an OpenAI-compatible
// one (chat completions, streamed or not, and embeddings) and an Anthropic
// one (the Messages API), over real HTTP, with a configurable delay,
// failure, malformed stream, empty answer or refusal. They record what they
// were sent.
package botstest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Behaviour is what the fake does on the next calls.
type Behaviour struct {
	Answer     string        // the text, sent in Pieces pieces
	Pieces     int           // default 4
	Delay      time.Duration // before the first piece (before the headers when Stall)
	PieceDelay time.Duration // between pieces
	Fail       int           // answer with this HTTP status (and an error body)
	Malformed  bool          // a stream that is not valid events
	Empty      bool          // a stream with no text
	Refuse     bool          // a refusal
	Plain      bool          // answer with one JSON body even when asked to stream
}

// Server is a fake model server.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	b        Behaviour
	calls    int
	embeds   int
	requests []map[string]any
	auth     []string
	inflight int
	peak     int
}

// Set changes the behaviour.
func (s *Server) Set(b Behaviour) {
	s.mu.Lock()
	s.b = b
	s.mu.Unlock()
}

// Calls is how many chat requests arrived.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// EmbedCalls is how many embeddings requests arrived.
func (s *Server) EmbedCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.embeds
}

// Peak is the most chat requests in flight at once.
func (s *Server) Peak() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// LastRequest is the last chat request's JSON body.
func (s *Server) LastRequest() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return nil
	}
	return s.requests[len(s.requests)-1]
}

// Auth lists the credentials the requests carried (Authorization or
// x-api-key).
func (s *Server) Auth() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

func (s *Server) begin(r *http.Request) (Behaviour, map[string]any) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.requests = append(s.requests, body)
	a := r.Header.Get("Authorization")
	if k := r.Header.Get("x-api-key"); k != "" {
		a = k
	}
	s.auth = append(s.auth, a)
	s.inflight++
	s.peak = max(s.peak, s.inflight)
	b := s.b
	if b.Pieces <= 0 {
		b.Pieces = 4
	}
	return b, body
}

func (s *Server) end() {
	s.mu.Lock()
	s.inflight--
	s.mu.Unlock()
}

// pieces cuts text into n pieces (by characters).
func pieces(text string, n int) []string {
	rs := []rune(text)
	if len(rs) == 0 {
		return nil
	}
	n = min(n, len(rs))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, string(rs[i*len(rs)/n:(i+1)*len(rs)/n]))
	}
	return out
}

func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

func writeEvent(w http.ResponseWriter, event, data string) {
	if event != "" {
		fmt.Fprintf(w, "event: %s\n", event)
	}
	fmt.Fprintf(w, "data: %s\n\n", data)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// OpenAI starts a fake OpenAI-compatible server (base URL: its URL + "/v1").
func OpenAI(t testing.TB, b Behaviour) *Server {
	s := &Server{b: b}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.openaiChat)
	mux.HandleFunc("POST /v1/embeddings", s.openaiEmbed)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// BaseURL is where a provider reaches the fake.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

func (s *Server) openaiChat(w http.ResponseWriter, r *http.Request) {
	b, body := s.begin(r)
	defer s.end()
	if !sleep(r, b.Delay) {
		return
	}
	if b.Fail != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(b.Fail)
		fmt.Fprint(w, `{"error":{"message":"the fake model failed","type":"server_error"}}`)
		return
	}
	stream, _ := body["stream"].(bool)
	usage := map[string]int{"prompt_tokens": 42, "completion_tokens": utf8.RuneCountInString(b.Answer), "total_tokens": 42 + utf8.RuneCountInString(b.Answer)}
	if !stream || b.Plain {
		msg := map[string]any{"role": "assistant", "content": b.Answer}
		finish := "stop"
		if b.Refuse {
			msg = map[string]any{"role": "assistant", "content": nil, "refusal": "I can't help with that."}
		}
		if b.Empty {
			msg["content"] = ""
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, js(map[string]any{"id": "cmpl-1", "object": "chat.completion", "created": 1, "model": body["model"],
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}}, "usage": usage}))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(delta map[string]any, finish any) string {
		return js(map[string]any{"id": "cmpl-1", "object": "chat.completion.chunk", "created": 1, "model": body["model"],
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
	}
	switch {
	case b.Malformed:
		writeEvent(w, "", chunk(map[string]any{"role": "assistant", "content": "Hal"}, nil))
		fmt.Fprint(w, "data: {not json at all\n\n")
		return
	case b.Refuse:
		writeEvent(w, "", chunk(map[string]any{"role": "assistant", "refusal": "I can't help with that."}, "stop"))
	case !b.Empty:
		for i, p := range pieces(b.Answer, b.Pieces) {
			if i > 0 && !sleep(r, b.PieceDelay) {
				return
			}
			writeEvent(w, "", chunk(map[string]any{"content": p}, nil))
		}
	}
	writeEvent(w, "", chunk(map[string]any{}, "stop"))
	writeEvent(w, "", js(map[string]any{"id": "cmpl-1", "object": "chat.completion.chunk", "created": 1, "model": body["model"], "choices": []any{}, "usage": usage}))
	writeEvent(w, "", "[DONE]")
}

// openaiEmbed embeds each text as counts of its characters hashed into 64
// buckets: texts sharing characters point the same way.
func (s *Server) openaiEmbed(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Input []string `json:"input"`
		Model string   `json:"model"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	s.embeds++
	s.mu.Unlock()
	data := []any{}
	for i, text := range body.Input {
		v := make([]float64, 64)
		for _, c := range strings.ToLower(text) {
			h := fnv.New32a()
			fmt.Fprint(h, string(c))
			v[h.Sum32()%64]++
		}
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": v})
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, js(map[string]any{"object": "list", "data": data, "model": body.Model, "usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1}}))
}

// Anthropic starts a fake Messages API server (base URL: its URL).
func Anthropic(t testing.TB, b Behaviour) *Server {
	s := &Server{b: b}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", s.anthropicMessages)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *Server) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	b, body := s.begin(r)
	defer s.end()
	if !sleep(r, b.Delay) {
		return
	}
	if b.Fail != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(b.Fail)
		fmt.Fprint(w, `{"type":"error","error":{"type":"api_error","message":"the fake model failed"}}`)
		return
	}
	stop := "end_turn"
	if b.Refuse {
		stop = "refusal"
	}
	text := b.Answer
	if b.Empty || b.Refuse {
		text = ""
	}
	stream, _ := body["stream"].(bool)
	if !stream || b.Plain {
		content := []any{}
		if text != "" {
			content = append(content, map[string]any{"type": "text", "text": text})
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, js(map[string]any{"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"], "content": content,
			"stop_reason": stop, "usage": map[string]int{"input_tokens": 42, "output_tokens": utf8.RuneCountInString(text)}}))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	writeEvent(w, "message_start", js(map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_1", "type": "message", "role": "assistant",
		"model": body["model"], "content": []any{}, "usage": map[string]int{"input_tokens": 42, "output_tokens": 0}}}))
	if b.Malformed {
		fmt.Fprint(w, "event: content_block_delta\ndata: {broken\n\n")
		return
	}
	writeEvent(w, "content_block_start", js(map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}}))
	for i, p := range pieces(text, b.Pieces) {
		if i > 0 && !sleep(r, b.PieceDelay) {
			return
		}
		writeEvent(w, "content_block_delta", js(map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": p}}))
	}
	writeEvent(w, "content_block_stop", js(map[string]any{"type": "content_block_stop", "index": 0}))
	writeEvent(w, "message_delta", js(map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop}, "usage": map[string]int{"output_tokens": utf8.RuneCountInString(text)}}))
	writeEvent(w, "message_stop", js(map[string]any{"type": "message_stop"}))
}
