package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kefu/api/apitest"

	"github.com/coder/websocket"
)

// serveInProcess runs `kefu serve` in this process on a free loopback
// address with env on top of a fresh SQLite data dir, and stops it when the
// test ends. It returns the base URL.
func serveInProcess(t *testing.T, env map[string]string) string {
	t.Helper()
	base, _ := serveInProcessStop(t, env)
	return base
}

// serveInProcessStop is serveInProcess that also returns a stop function
// (which the test's cleanup calls too; once is enough).
func serveInProcessStop(t *testing.T, env map[string]string) (string, func()) {
	t.Helper()
	addr := freeLoopbackAddr(t)
	full := map[string]string{"KEFU_ADDR": addr, "KEFU_DATA_DIR": t.TempDir(), "KEFU_LOG_LEVEL": "error"}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envOf(full), io.Discard, io.Discard) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("serve did not stop")
			}
		})
	}
	t.Cleanup(stop)
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v", err)
		default:
		}
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return base, stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSlowBodiesAreCutOff: a client that trickles its request body holds a
// connection no longer than the read timeout (security review, finding 6:
// a body sent at one byte every 4 s was still held after 37 s).
func TestSlowBodiesAreCutOff(t *testing.T) {
	base := serveInProcess(t, map[string]string{"KEFU_HTTP_READ_TIMEOUT": "2s"})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprint(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: kefu\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	go func() {
		for i := 0; i < 40; i++ {
			time.Sleep(300 * time.Millisecond)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, conn) // until the server answers and closes, or cuts the connection
	held := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection is still open after %v", held)
	}
	if held > 4*time.Second {
		t.Fatalf("a trickling body held the connection for %v (read timeout 2s)", held)
	}
}

// TestHeadersAreBounded: request headers over 64 KiB are refused (431).
func TestHeadersAreBounded(t *testing.T) {
	base := serveInProcess(t, nil)
	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Padding", strings.Repeat("x", 100<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("100 KiB of headers: %d, want 431", res.StatusCode)
	}
}

// TestWebSocketsOutliveTheHTTPTimeouts: the server's read and write
// timeouts bound requests, not sockets: /ws is hijacked, which clears them.
func TestWebSocketsOutliveTheHTTPTimeouts(t *testing.T) {
	// The workspace and the visitor come first, from the same data dir
	// served with the default timeouts: under the short ones a busy
	// machine's signup (a password hash) outlasted the 3 s write timeout
	// and its answer was cut off (EOF, seen at load 38 on two cores), which
	// is what those timeouts are for, not what this test checks.
	dataDir := t.TempDir()
	setup, stopSetup := serveInProcessStop(t, map[string]string{"KEFU_DATA_DIR": dataDir})
	signup := apitest.New(setup).Signup(t, "Timeouts Co", "o@example.com", "password1", "O")
	_, visitorToken := apitest.New(setup).Visitor(t, signup.WidgetKey, nil)
	stopSetup()
	base := serveInProcess(t, map[string]string{"KEFU_DATA_DIR": dataDir, "KEFU_HTTP_READ_TIMEOUT": "3s", "KEFU_HTTP_WRITE_TIMEOUT": "3s"})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	exchange := func(frame map[string]any, want string) {
		t.Helper()
		b, _ := json.Marshal(frame)
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatalf("write %s: %v", frame["type"], err)
		}
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("waiting for %s: %v", want, err)
			}
			var f map[string]any
			_ = json.Unmarshal(data, &f)
			if f["type"] == want {
				return
			}
		}
	}
	exchange(map[string]any{"type": "hello", "token": visitorToken}, "welcome")
	time.Sleep(3500 * time.Millisecond) // past both timeouts
	exchange(map[string]any{"type": "ping"}, "pong")
	exchange(map[string]any{"type": "message.send", "client_id": "late", "body": "still here"}, "ack")
	time.Sleep(1500 * time.Millisecond)
	exchange(map[string]any{"type": "ping"}, "pong")
}

// TestMetricsListener: with KEFU_METRICS_ADDR, /metrics is served there and
// not on the public address (security review, finding 11).
func TestMetricsListener(t *testing.T) {
	maddr := freeLoopbackAddr(t)
	base := serveInProcess(t, map[string]string{"KEFU_METRICS_ADDR": maddr})
	res, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(body, []byte("kefu_ws_connections")) {
		t.Fatalf("metrics address: %d %.200s", res.StatusCode, body)
	}
	res, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 404 || bytes.Contains(body, []byte("kefu_ws_connections")) {
		t.Fatalf("public address: %d %.200s", res.StatusCode, body)
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "secret")
	if err := os.WriteFile(good, []byte(strings.Repeat("s", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	_ = os.WriteFile(short, []byte("tiny"), 0o600)

	c, err := loadConfig(nil, envOf(map[string]string{"KEFU_SECRET_FILE": good}))
	if err != nil || c.Secret != strings.Repeat("s", 40) {
		t.Fatalf("from a file: %q %v", c.Secret, err)
	}
	if s, err := c.secret(); err != nil || string(s) != strings.Repeat("s", 40) {
		t.Fatalf("secret(): %q %v", s, err)
	}
	c, err = loadConfig([]string{"--secret-file", good}, envOf(nil))
	if err != nil || c.Secret != strings.Repeat("s", 40) {
		t.Fatalf("from the flag: %q %v", c.Secret, err)
	}
	for name, env := range map[string]map[string]string{
		"a missing file":       {"KEFU_SECRET_FILE": filepath.Join(dir, "nope")},
		"a short secret":       {"KEFU_SECRET_FILE": short},
		"both secret and file": {"KEFU_SECRET_FILE": good, "KEFU_SECRET": strings.Repeat("x", 40)},
	} {
		if _, err := loadConfig(nil, envOf(env)); err == nil || !strings.Contains(err.Error(), "KEFU_SECRET") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEdgeSettings(t *testing.T) {
	c, err := loadConfig(nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.WSMaxPerPrincipal != 20 || c.WSMaxPerIP != 200 || c.WSHelloTimeout != 5*time.Second || c.WSSendRate != 20 ||
		c.HTTPReadTimeout != 60*time.Second || c.HTTPWriteTimeout != 90*time.Second || c.PublicDemo || c.MetricsAddr != "" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = loadConfig(nil, envOf(map[string]string{"KEFU_WS_SEND_RATE": "1000", "KEFU_WS_SEND_BURST": "2000",
		"KEFU_WS_MAX_PER_IP": "100000", "KEFU_PUBLIC_DEMO": "true", "KEFU_METRICS_ADDR": "127.0.0.1:9100", "KEFU_METRICS_TOKEN": "0123456789abcdef"}))
	if err != nil || c.WSSendRate != 1000 || c.WSSendBurst != 2000 || c.WSMaxPerIP != 100000 || !c.PublicDemo || c.MetricsToken != "0123456789abcdef" {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = loadConfig(nil, envOf(map[string]string{"KEFU_WS_MAX_PER_IP": "0", "KEFU_WS_SEND_RATE": "fast",
		"KEFU_HTTP_READ_TIMEOUT": "2m", "KEFU_HTTP_WRITE_TIMEOUT": "1m", "KEFU_METRICS_ADDR": "nope", "KEFU_METRICS_TOKEN": "short"}))
	if err == nil {
		t.Fatal("bad values accepted")
	}
	_, err2 := loadConfig(nil, envOf(map[string]string{"KEFU_WS_MAX_PER_IP": "0", "KEFU_HTTP_READ_TIMEOUT": "2m", "KEFU_HTTP_WRITE_TIMEOUT": "1m",
		"KEFU_METRICS_ADDR": "nope", "KEFU_METRICS_TOKEN": "short"}))
	for _, want := range []string{"KEFU_WS_MAX_PER_IP", "KEFU_HTTP_WRITE_TIMEOUT", "KEFU_METRICS_ADDR", "KEFU_METRICS_TOKEN"} {
		if err2 == nil || !strings.Contains(err2.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err2)
		}
	}
	if !strings.Contains(err.Error(), "KEFU_WS_SEND_RATE") {
		t.Errorf("error does not name KEFU_WS_SEND_RATE: %v", err)
	}
}
