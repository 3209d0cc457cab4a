package main

// The typed client the journey test (journey_test.go) speaks to a real kefu
// process with: it builds and runs the binary, and talks to it only through the
// public REST and WebSocket contract (api/openapi.yaml). Nothing here imports
// the server's packages, so the test stays black-box.

import (
	"bytes"
	"context"
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

	"kefu/api/apitest"
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
func randHex(n int) string { return apitest.RandHex(n) }

// newClientID returns a fresh client_id for message.send or a REST post.
func newClientID(prefix string) string { return apitest.ClientID(prefix) }

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
// The clients (kefu/api/apitest)

// newAPIClient is a REST client of srv whose every call is bounded by journeyWait.
func newAPIClient(srv *kefuServer) apitest.Client {
	return apitest.Client{BaseURL: srv.baseURL(), Timeout: journeyWait}
}

// dialWS connects to /ws with the server's own Origin. The connection is
// closed when lifetime ends (t if lifetime is nil): a connection that several
// steps share belongs to the journey's root test.
func dialWS(t *testing.T, srv *kefuServer, name string, lifetime *testing.T) *apitest.Conn {
	t.Helper()
	o := apitest.DialOptions{Name: name, Origin: srv.baseURL(), Timeout: journeyWait}
	if lifetime != nil {
		o.Lifetime = lifetime
	}
	return apitest.Dial(t, srv.wsURL(), o)
}
