package main

// The typed client the journey test (journey_test.go) speaks to a real kefu
// process with: it builds and runs the binary, and talks to it only through the
// public REST and WebSocket contract (shared/contract.md). Nothing here imports
// the server's packages, so the test stays black-box.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const (
	// journeySecret is the KEFU_SECRET of every journey: fixed, so that session
	// tokens signed before a restart still verify after it.
	journeySecret = "6b6566752d6a6f75726e65792d746573742d7365637265742d3031323334353637"
	// journeyWait bounds every single wait of the journey (frames, processes).
	journeyWait = 10 * time.Second
	// journeyReadyWait bounds how long a starting server may take to answer /readyz.
	journeyReadyWait = 20 * time.Second
)

// buildKefu compiles kefu/cmd/kefu once for the calling test and returns the
// binary's path. It fails the test with the compiler's output if the build fails.
func buildKefu(t *testing.T) string {
	t.Helper()
	root := moduleRoot(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is not on PATH, cannot build kefu: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "kefu")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "kefu/cmd/kefu")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build kefu/cmd/kefu: %v\n%s", err, out)
	}
	return bin
}

// moduleRoot walks up from the working directory to the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// randHex returns 2n random lowercase hex characters.
func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// newClientID returns a fresh client_id for message.send or a REST post.
func newClientID(prefix string) string { return prefix + "-" + randHex(8) }

// ---------------------------------------------------------------------------
// The server process

// journeyConfig is what stays the same across the restarts of one journey.
type journeyConfig struct {
	bin         string
	dataDir     string
	databaseURL string // empty: embedded SQLite
	redisURL    string // empty: in-process bus
	// addressSpaceKB, if set, caps the server's virtual memory (ulimit -v):
	// a test that tries to exhaust memory kills the server, not the machine.
	addressSpaceKB int
	// env is added to the server's environment (KEY=value).
	env []string
}

// kefuServer is one kefu process at a time on one fixed address; start, stop
// and kill may be called repeatedly (restarts keep address, data and secret).
type kefuServer struct {
	cfg    journeyConfig
	addr   string
	starts int
	log    *lockedBuffer // output of every start, in order

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	logged  bool // a failure message already carried the output
}

// startKefu picks a free address, starts kefu and waits until it is ready.
// The process is killed when the test ends, and its output is logged if the
// test failed.
func startKefu(t *testing.T, cfg journeyConfig) *kefuServer {
	t.Helper()
	s := &kefuServer{cfg: cfg, addr: freeLoopbackAddr(t), log: &lockedBuffer{}}
	t.Cleanup(func() {
		s.killQuietly()
		if t.Failed() && !s.logged {
			t.Logf("kefu output (last 16 KiB):\n%s", s.log.tail(16<<10))
		}
	})
	s.start(t)
	return s
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("releasing the free port: %v", err)
	}
	return addr
}

func (s *kefuServer) baseURL() string { return "http://" + s.addr }
func (s *kefuServer) wsURL() string   { return "ws://" + s.addr + "/ws" }

// env is the parent's environment without any KEFU_ or OTEL_ variable, plus the
// journey's own settings.
func (s *kefuServer) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEFU_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"KEFU_ADDR="+s.addr,
		"KEFU_DATA_DIR="+s.cfg.dataDir,
		"KEFU_SECRET="+journeySecret,
		"KEFU_ALLOW_PRIVATE_NETWORKS=true",
		"KEFU_DEFAULT_PLAN=enterprise", // the journey has more people than the free plan's seats
	)
	if s.cfg.databaseURL != "" {
		env = append(env, "KEFU_DATABASE_URL="+s.cfg.databaseURL)
		if s.cfg.redisURL == "" {
			env = append(env, "KEFU_SINGLE_NODE=true")
		}
	}
	if s.cfg.redisURL != "" {
		env = append(env, "KEFU_REDIS_URL="+s.cfg.redisURL)
	}
	return append(env, s.cfg.env...)
}

// start runs `kefu serve` and waits until GET /readyz answers 200.
func (s *kefuServer) start(t *testing.T) {
	t.Helper()
	if s.running() {
		t.Fatalf("kefu is already running")
	}
	s.starts++
	fmt.Fprintf(s.log, "\n----- kefu serve, start #%d on %s -----\n", s.starts, s.addr)
	cmd := exec.Command(s.cfg.bin, "serve")
	if s.cfg.addressSpaceKB > 0 {
		// The shell sets the limit and becomes kefu (exec), so the process
		// the test signals and waits for is kefu itself.
		cmd = exec.Command("/bin/sh", "-c", fmt.Sprintf(`ulimit -v %d && exec "$0" serve`, s.cfg.addressSpaceKB), s.cfg.bin)
	}
	cmd.Env = s.env()
	cmd.Dir = s.cfg.dataDir
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kefu: %v", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func(exited chan struct{}) {
		s.waitErr = cmd.Wait()
		close(exited)
	}(s.exited)

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(journeyReadyWait)
	for {
		select {
		case <-s.exited:
			s.logged = true
			t.Fatalf("kefu exited before it was ready (%v); its output:\n%s", s.waitErr, s.log.tail(16<<10))
		default:
		}
		resp, err := client.Get(s.baseURL() + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			last := fmt.Sprint(err)
			if err == nil {
				last = "status " + resp.Status
			}
			s.logged = true
			t.Fatalf("kefu not ready after %v (last /readyz: %s); its output:\n%s", journeyReadyWait, last, s.log.tail(16<<10))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *kefuServer) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and expects a graceful exit (status 0) within journeyWait.
func (s *kefuServer) stop(t *testing.T) {
	t.Helper()
	if !s.running() {
		t.Fatalf("stop: kefu is not running")
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
		if s.waitErr != nil {
			t.Errorf("kefu did not exit cleanly on SIGTERM: %v", s.waitErr)
		}
	case <-time.After(journeyWait):
		s.killQuietly()
		t.Fatalf("kefu did not exit within %v of SIGTERM (killed it)", journeyWait)
	}
}

// kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (s *kefuServer) kill(t *testing.T) {
	t.Helper()
	if !s.running() {
		t.Fatalf("kill: kefu is not running")
	}
	s.killQuietly()
	if s.running() {
		t.Fatalf("kefu survived SIGKILL")
	}
}

func (s *kefuServer) killQuietly() {
	if !s.running() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(journeyWait):
	}
}

// lockedBuffer collects a process's output from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// ---------------------------------------------------------------------------
// REST

// rawJSON is a request body sent exactly as written (for malformed JSON).
type rawJSON string

// apiClient calls the REST API with one bearer credential (or none).
type apiClient struct {
	srv   *kefuServer
	token string
	http  *http.Client
}

func newAPIClient(srv *kefuServer) apiClient {
	return apiClient{srv: srv, http: &http.Client{Timeout: journeyWait}}
}

// as returns the same client with another bearer credential ("" for none).
func (c apiClient) as(token string) apiClient {
	c.token = token
	return c
}

// apiResponse is a status and a body, with helpers to check both.
type apiResponse struct {
	request string // "METHOD /path", for messages
	Status  int
	Header  http.Header
	Body    []byte
}

// call performs one request without failing the test: safe in goroutines.
func (c apiClient) call(method, path string, body any) (*apiResponse, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case rawJSON:
		rd = strings.NewReader(string(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encoding the request body: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), journeyWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.srv.baseURL()+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the body: %w", method, path, err)
	}
	return &apiResponse{request: method + " " + path, Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// do performs one request and fails the test only if no answer came back.
func (c apiClient) do(t *testing.T, method, path string, body any) *apiResponse {
	t.Helper()
	r, err := c.call(method, path, body)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return r
}

func (c apiClient) get(t *testing.T, path string) *apiResponse {
	t.Helper()
	return c.do(t, http.MethodGet, path, nil)
}

func (c apiClient) post(t *testing.T, path string, body any) *apiResponse {
	t.Helper()
	return c.do(t, http.MethodPost, path, body)
}

func (r *apiResponse) String() string {
	body := string(r.Body)
	if len(body) > 600 {
		body = body[:600] + "…"
	}
	return fmt.Sprintf("%s → %d %s", r.request, r.Status, body)
}

// want fails the test now unless the status is one of the given ones.
func (r *apiResponse) want(t *testing.T, statuses ...int) *apiResponse {
	t.Helper()
	for _, s := range statuses {
		if r.Status == s {
			return r
		}
	}
	t.Fatalf("want status %v: %s", statuses, r)
	return r
}

// into decodes the JSON body into v, failing the test if it does not fit.
func (r *apiResponse) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding the answer of %s: %v\nbody: %s", r.request, err, r.Body)
	}
}

// apiError is the contract's error envelope.
type apiError struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Fields  map[string]any `json:"fields"`
	} `json:"error"`
}

// wantError reports (without stopping the test) unless the answer is the given
// status with the contract's error envelope and code; it returns the envelope.
func (r *apiResponse) wantError(t *testing.T, status int, code string) apiError {
	t.Helper()
	var e apiError
	if r.Status != status {
		t.Errorf("want %d %s: %s", status, code, r)
		return e
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code == "" {
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

// wantFieldError checks a 400 invalid_argument that names field in error.fields.
func (r *apiResponse) wantFieldError(t *testing.T, field string) {
	t.Helper()
	e := r.wantError(t, http.StatusBadRequest, "invalid_argument")
	if r.Status == http.StatusBadRequest {
		if _, ok := e.Error.Fields[field]; !ok {
			t.Errorf("want error.fields.%s: %s", field, r)
		}
	}
}

// The contract's JSON shapes, as far as the journey reads them.

type tenantJSON struct {
	ID        string `json:"id"`
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	WidgetKey string `json:"widget_key"`
}

type userJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

type signupJSON struct {
	Tenant tenantJSON `json:"tenant"`
	User   userJSON   `json:"user"`
	Token  string     `json:"token"`
}

type loginJSON struct {
	Token string   `json:"token"`
	User  userJSON `json:"user"`
}

type meJSON struct {
	User        userJSON   `json:"user"`
	Tenant      tenantJSON `json:"tenant"`
	Permissions []any      `json:"permissions"`
}

type agentJSON struct {
	ID            string   `json:"id"`
	Email         string   `json:"email"`
	Name          string   `json:"name"`
	Role          string   `json:"role"`
	Skills        []string `json:"skills"`
	MaxConcurrent int      `json:"max_concurrent"`
	Status        *string  `json:"status"`
}

type apiKeyJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Key  string `json:"key"`
}

type widgetSessionJSON struct {
	VisitorID    string `json:"visitor_id"`
	VisitorToken string `json:"visitor_token"`
}

type conversationJSON struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Visitor struct {
		ID         string         `json:"id"`
		Name       string         `json:"name"`
		Email      string         `json:"email"`
		Attributes map[string]any `json:"attributes"`
	} `json:"visitor"`
	AssigneeID *string `json:"assignee_id"`
	LastSeq    int64   `json:"last_seq"`
}

func (c conversationJSON) assignee() string {
	if c.AssigneeID == nil {
		return ""
	}
	return *c.AssigneeID
}

type messageJSON struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	ClientID       string `json:"client_id"`
	Author         struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"author"`
	Body    string `json:"body"`
	Private bool   `json:"private"`
}

// ---------------------------------------------------------------------------
// WebSocket

// wsFrame is any server frame; fields a frame type does not use stay empty.
type wsFrame struct {
	Type           string            `json:"type"`
	SessionID      string            `json:"session_id"`
	ClientID       string            `json:"client_id"`
	ConversationID string            `json:"conversation_id"`
	Seq            int64             `json:"seq"`
	MessageID      string            `json:"message_id"`
	Code           string            `json:"code"`
	Status         string            `json:"status"`
	Message        json.RawMessage   `json:"message"` // object in message.new, text in error
	Conversation   *conversationJSON `json:"conversation"`
	Conversations  json.RawMessage   `json:"conversations"`

	index int    // position in the connection's history
	raw   string // the frame as received
}

// msg decodes the message of a message.new frame.
func (f wsFrame) msg() (messageJSON, error) {
	var m messageJSON
	if len(f.Message) == 0 || f.Message[0] != '{' {
		return m, fmt.Errorf("no message object in %s", f.raw)
	}
	err := json.Unmarshal(f.Message, &m)
	return m, err
}

func (f wsFrame) String() string {
	s := f.raw
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	if strings.HasPrefix(f.Type, "<") {
		s = f.Type + " " + s
	}
	return s
}

// seqLog is what one connection learned about one conversation's seqs.
type seqLog struct {
	delivered []int64        // message.new seqs, in arrival order
	acked     map[int64]bool // seqs of this connection's own acked messages
}

// wsClient is one WebSocket connection with a reader goroutine. Frames wait
// in a pending list until an expect takes them, so waiting for one type never
// loses frames of another; every frame is also kept in the history.
type wsClient struct {
	name   string
	conn   *websocket.Conn
	cancel context.CancelFunc
	frames chan wsFrame
	done   chan struct{}

	mu      sync.Mutex
	readErr error
	history []wsFrame
	seqs    map[string]*seqLog

	pending []wsFrame // only touched by the test goroutine
}

// dialWS connects to /ws with the server's own Origin. The connection is
// closed when lifetime ends (t if lifetime is nil): a connection that several
// steps share belongs to the journey's root test.
func dialWS(t *testing.T, srv *kefuServer, name string, lifetime *testing.T) *wsClient {
	t.Helper()
	if lifetime == nil {
		lifetime = t
	}
	ctx, cancel := context.WithTimeout(context.Background(), journeyWait)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, srv.wsURL(), &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": []string{srv.baseURL()}},
	})
	if err != nil {
		status := "no answer"
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("%s: dialing %s: %v (%s)", name, srv.wsURL(), err, status)
	}
	conn.SetReadLimit(4 << 20)
	readCtx, readCancel := context.WithCancel(context.Background())
	c := &wsClient{
		name:   name,
		conn:   conn,
		cancel: readCancel,
		frames: make(chan wsFrame, 4096),
		done:   make(chan struct{}),
		seqs:   map[string]*seqLog{},
	}
	go c.readLoop(readCtx)
	lifetime.Cleanup(c.closeNow)
	return c
}

func (c *wsClient) readLoop(ctx context.Context) {
	defer close(c.done)
	for {
		typ, data, err := c.conn.Read(ctx)
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		f := wsFrame{raw: string(data)}
		if typ != websocket.MessageText {
			f.Type = "<binary frame>"
		} else if err := json.Unmarshal(data, &f); err != nil {
			f.Type = "<undecodable frame: " + err.Error() + ">"
		}
		c.mu.Lock()
		f.index = len(c.history)
		c.history = append(c.history, f)
		switch f.Type {
		case "message.new":
			c.seqLogLocked(f.ConversationID).delivered = append(c.seqLogLocked(f.ConversationID).delivered, f.Seq)
		case "ack":
			c.seqLogLocked(f.ConversationID).acked[f.Seq] = true
		}
		c.mu.Unlock()
		select {
		case c.frames <- f:
		case <-ctx.Done():
			return
		}
	}
}

func (c *wsClient) seqLogLocked(conv string) *seqLog {
	l, ok := c.seqs[conv]
	if !ok {
		l = &seqLog{acked: map[int64]bool{}}
		c.seqs[conv] = l
	}
	return l
}

// send writes one JSON frame.
func (c *wsClient) send(t *testing.T, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: encoding a frame: %v", c.name, err)
	}
	c.sendRaw(t, data)
}

// sendRaw writes one text frame exactly as given.
func (c *wsClient) sendRaw(t *testing.T, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), journeyWait)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, data); err != nil {
		t.Fatalf("%s: writing a frame: %v", c.name, err)
	}
}

// hello authenticates and returns the welcome frame. since maps conversation
// ids to the last seq already seen (nil for none).
func (c *wsClient) hello(t *testing.T, token string, since map[string]int64) wsFrame {
	t.Helper()
	msg := map[string]any{"type": "hello", "token": token}
	if since != nil {
		msg["since"] = since
	}
	c.send(t, msg)
	return c.expectMatch(t, "welcome (or error)", func(f wsFrame) bool {
		return f.Type == "welcome" || f.Type == "error"
	}, journeyWait, func(t *testing.T, f wsFrame) {
		if f.Type != "welcome" {
			t.Fatalf("%s: hello was refused: %s", c.name, f)
		}
	})
}

// expect waits for the next frame of the given type; frames of other types
// stay pending for later expects.
func (c *wsClient) expect(t *testing.T, typ string, timeout time.Duration) wsFrame {
	t.Helper()
	return c.expectMatch(t, typ, func(f wsFrame) bool { return f.Type == typ }, timeout, nil)
}

// expectMatch waits for the first frame that match accepts, and fails the
// test after timeout or if the connection ends. check, if set, is applied to
// the frame found.
func (c *wsClient) expectMatch(t *testing.T, desc string, match func(wsFrame) bool, timeout time.Duration, check func(*testing.T, wsFrame)) wsFrame {
	t.Helper()
	f, err := c.next(match, timeout)
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v\nframes received so far:\n%s", c.name, desc, err, c.historyText())
	}
	if check != nil {
		check(t, f)
	}
	return f
}

// next is expectMatch without a test: it returns an error instead of failing.
func (c *wsClient) next(match func(wsFrame) bool, timeout time.Duration) (wsFrame, error) {
	for i, f := range c.pending {
		if match(f) {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			return f, nil
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case f := <-c.frames:
			if match(f) {
				return f, nil
			}
			c.pending = append(c.pending, f)
		case <-c.done:
			for {
				select {
				case f := <-c.frames:
					if match(f) {
						return f, nil
					}
					c.pending = append(c.pending, f)
				default:
					return wsFrame{}, fmt.Errorf("the connection ended: %v", c.err())
				}
			}
		case <-timer.C:
			return wsFrame{}, fmt.Errorf("nothing within %v", timeout)
		}
	}
}

// expectNone fails if a frame that match accepts arrives within d.
func (c *wsClient) expectNone(t *testing.T, desc string, match func(wsFrame) bool, d time.Duration) {
	t.Helper()
	if f, err := c.next(match, d); err == nil {
		t.Errorf("%s: want no %s, got %s", c.name, desc, f)
	}
}

// waitClosed waits for the connection to end and returns the read error
// (a websocket.CloseError when the server closed it properly).
func (c *wsClient) waitClosed(timeout time.Duration) (error, bool) {
	select {
	case <-c.done:
		return c.err(), true
	case <-time.After(timeout):
		return nil, false
	}
}

func (c *wsClient) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// isOpen reports whether the reader still runs.
func (c *wsClient) isOpen() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// close performs a normal close handshake (the client going away on purpose).
func (c *wsClient) close() {
	_ = c.conn.Close(websocket.StatusNormalClosure, "bye")
	c.cancel()
	<-c.done
}

// closeNow drops the connection without a handshake (safe to call twice).
func (c *wsClient) closeNow() {
	_ = c.conn.CloseNow()
	c.cancel()
	<-c.done
}

func (c *wsClient) historyText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	start := 0
	if len(c.history) > 40 {
		start = len(c.history) - 40
		fmt.Fprintf(&b, "  … %d earlier frames\n", start)
	}
	for _, f := range c.history[start:] {
		fmt.Fprintf(&b, "  #%d %s\n", f.index, f)
	}
	if b.Len() == 0 {
		return "  (none)\n"
	}
	return b.String()
}

// maxSeq is the highest seq this connection has seen for conv, delivered or acked.
func (c *wsClient) maxSeq(conv string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var top int64
	if l, ok := c.seqs[conv]; ok {
		for _, s := range l.delivered {
			top = max(top, s)
		}
		for s := range l.acked {
			top = max(top, s)
		}
	}
	return top
}

// waitSeq waits until this connection has seen conv up to seq.
func (c *wsClient) waitSeq(t *testing.T, conv string, seq int64) {
	t.Helper()
	deadline := time.Now().Add(journeyWait)
	for c.maxSeq(conv) < seq {
		if time.Now().After(deadline) {
			t.Fatalf("%s: saw conversation %s only up to seq %d within %v, want %d\nframes:\n%s",
				c.name, conv, c.maxSeq(conv), journeyWait, seq, c.historyText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkSeqs asserts the delivery guarantee for conv on this connection: the
// message.new seqs arrive strictly increasing (no duplicates), and together
// with the connection's own acks they cover every seq from `from` to the
// highest one seen, with no gap.
func (c *wsClient) checkSeqs(t *testing.T, conv string, from int64) {
	t.Helper()
	c.mu.Lock()
	l, ok := c.seqs[conv]
	var delivered []int64
	seen := map[int64]bool{}
	if ok {
		delivered = append(delivered, l.delivered...)
		for s := range l.acked {
			seen[s] = true
		}
	}
	c.mu.Unlock()
	if !ok {
		t.Errorf("%s: saw nothing of conversation %s", c.name, conv)
		return
	}
	var top int64
	for i, s := range delivered {
		if i > 0 && s <= delivered[i-1] {
			t.Errorf("%s: message.new seqs for %s are not strictly increasing: %v", c.name, conv, delivered)
			break
		}
	}
	for _, s := range delivered {
		seen[s] = true
	}
	for s := range seen {
		top = max(top, s)
	}
	var missing []int64
	for s := from; s <= top; s++ {
		if !seen[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s: gaps in conversation %s: seqs %v never arrived (delivered %v)\nframes:\n%s",
			c.name, conv, missing, delivered, c.historyText())
	}
}

// isCloseStatus reports whether err is a close with the given status.
func isCloseStatus(err error, code websocket.StatusCode) bool {
	return err != nil && websocket.CloseStatus(err) == code
}
