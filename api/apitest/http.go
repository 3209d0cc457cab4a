// Package apitest is the one Go test client of Kefu's public contract
// (api/openapi.yaml): JSON calls over HTTP with the contract's error shape
// decoded, a bearer credential (session token, visitor token or API key),
// signup, login, invite and widget-session helpers, and a WebSocket client
// with since, ack and resume helpers. It imports none of the server's
// packages, so a test that uses it stays black-box; only tests import it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Raw is a request body sent exactly as written (for malformed JSON); a
// string or []byte body is sent as written too.
type Raw string

// Client calls the REST API of one server with one bearer credential (or
// none). It is a value: As returns a copy with another credential.
type Client struct {
	BaseURL string        // e.g. http://127.0.0.1:8080
	Token   string        // sent as Authorization: Bearer (empty: none)
	Timeout time.Duration // bounds each call (0: no bound)
	HTTP    *http.Client  // nil: http.DefaultClient
}

// New returns a client for the server at baseURL, without a credential.
func New(baseURL string) Client { return Client{BaseURL: baseURL} }

// As returns the same client with another bearer credential ("" for none).
func (c Client) As(token string) Client {
	c.Token = token
	return c
}

// Request is one call in full, for what Call cannot say: another content
// type, extra headers or a streamed body.
type Request struct {
	Method, Path string
	// Body: nil, Raw, string or []byte (sent as written), an io.Reader
	// (streamed), or any other value (encoded as JSON).
	Body          any
	ContentType   string            // default application/json when there is a body
	NoContentType bool              // send no Content-Type at all
	Header        map[string]string // added to the request
}

// Response is a status, headers and body, with helpers to read and check
// them. Body is the JSON object answered (nil if the answer is not one).
type Response struct {
	Request string // "METHOD /path", for messages
	Status  int
	Header  http.Header
	Raw     string
	Body    map[string]any
}

// Call performs one JSON request without failing a test: safe in goroutines.
func (c Client) Call(method, path string, body any) (Response, error) {
	return c.Send(Request{Method: method, Path: path, Body: body})
}

// Send performs one request without failing a test.
func (c Client) Send(r Request) (Response, error) {
	var rd io.Reader
	switch b := r.Body.(type) {
	case nil:
	case Raw:
		rd = strings.NewReader(string(b))
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return Response{}, fmt.Errorf("encoding the request body: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	ctx := context.Background()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.BaseURL+r.Path, rd)
	if err != nil {
		return Response{}, err
	}
	if (rd != nil || r.ContentType != "") && !r.NoContentType {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: reading the body: %w", r.Method, r.Path, err)
	}
	out := Response{Request: r.Method + " " + r.Path, Status: res.StatusCode, Header: res.Header, Raw: string(data)}
	_ = json.Unmarshal(data, &out.Body)
	return out, nil
}

// Do performs one JSON request and fails the test only if no answer came back.
func (c Client) Do(t testing.TB, method, path string, body any) Response {
	t.Helper()
	r, err := c.Call(method, path, body)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return r
}

// DoRequest is Do for a Request.
func (c Client) DoRequest(t testing.TB, req Request) Response {
	t.Helper()
	r, err := c.Send(req)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return r
}

// Must performs one request and fails the test now unless the status is want.
func (c Client) Must(t testing.TB, want int, method, path string, body any) Response {
	t.Helper()
	r := c.Do(t, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Raw)
	}
	return r
}

// Get is Do with GET.
func (c Client) Get(t testing.TB, path string) Response {
	t.Helper()
	return c.Do(t, http.MethodGet, path, nil)
}

// Post is Do with POST.
func (c Client) Post(t testing.TB, path string, body any) Response {
	t.Helper()
	return c.Do(t, http.MethodPost, path, body)
}

func (r Response) String() string {
	body := r.Raw
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	return fmt.Sprintf("%s → %d %s", r.Request, r.Status, body)
}

// Code is error.code of an error answer ("" if none).
func (r Response) Code() string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// Field is error.fields[name] of an error answer ("" if none).
func (r Response) Field(name string) string {
	e, _ := r.Body["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	s, _ := f[name].(string)
	return s
}

// Str is the value at path in the body as text: a string as it is, a number
// as an integer, null or nothing as "".
func (r Response) Str(path ...string) string {
	var v any = r.Body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(int64(x))
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

// Want fails the test now unless the status is one of the given ones.
func (r Response) Want(t testing.TB, statuses ...int) Response {
	t.Helper()
	for _, s := range statuses {
		if r.Status == s {
			return r
		}
	}
	t.Fatalf("want status %v: %s", statuses, r)
	return r
}

// Into decodes the JSON body into v, failing the test if it does not fit.
func (r Response) Into(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Raw), v); err != nil {
		t.Fatalf("decoding the answer of %s: %v\nbody: %s", r.Request, err, r.Raw)
	}
}

// Error is the contract's error envelope.
type Error struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Fields  map[string]any `json:"fields"`
	} `json:"error"`
}

// WantError reports (without stopping the test) unless the answer is the
// given status with the contract's error envelope and code, and a message;
// it returns the envelope.
func (r Response) WantError(t testing.TB, status int, code string) Error {
	t.Helper()
	var e Error
	if r.Status != status {
		t.Errorf("want %d %s: %s", status, code, r)
		return e
	}
	if err := json.Unmarshal([]byte(r.Raw), &e); err != nil || e.Error.Code == "" {
		t.Errorf("want the error envelope {error:{code,message}}: %s", r)
		return e
	}
	if e.Error.Code != code {
		t.Errorf("want error code %q, got %q: %s", code, e.Error.Code, r)
	}
	if e.Error.Message == "" {
		t.Errorf("want a non-empty error.message: %s", r)
	}
	return e
}

// WantFieldError checks a 400 invalid_argument that names field in error.fields.
func (r Response) WantFieldError(t testing.TB, field string) {
	t.Helper()
	e := r.WantError(t, http.StatusBadRequest, "invalid_argument")
	if r.Status == http.StatusBadRequest {
		if _, ok := e.Error.Fields[field]; !ok {
			t.Errorf("want error.fields.%s: %s", field, r)
		}
	}
}
