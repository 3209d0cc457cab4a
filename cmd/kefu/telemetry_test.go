package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"kefu"
)

// TestLogLinesCarryTheirContext: what a service logs while serving a
// request carries the request id and, when traced, the trace and span
// ids, read from the context; a line that names them itself keeps its own.
func TestLogLinesCarryTheirContext(t *testing.T) {
	var out bytes.Buffer
	log := newLogger(Config{LogFormat: "json", LogLevel: "info"}, &out)
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(kefu.WithRequestID(context.Background(), "req-123"),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))

	log.WarnContext(ctx, "routing: apply", "tenant_id", "t1")
	log.With("component", "x").InfoContext(kefu.WithRequestID(context.Background(), "req-456"), "no trace")
	log.InfoContext(ctx, "explicit", "request_id", "mine")
	log.Info("no context")

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 {
		t.Fatalf("%d lines: %s", len(lines), out.String())
	}
	if l := lines[0]; l["request_id"] != "req-123" || l["trace_id"] != tid.String() || l["span_id"] != sid.String() || l["tenant_id"] != "t1" {
		t.Errorf("traced line: %v", l)
	}
	if l := lines[1]; l["request_id"] != "req-456" || l["trace_id"] != nil || l["component"] != "x" {
		t.Errorf("untraced line: %v", l)
	}
	if l := lines[2]; l["request_id"] != "mine" || strings.Count(out.String(), `"request_id"`) != 3 {
		t.Errorf("a line's own request_id was replaced or doubled: %v", out.String())
	}
	if l := lines[3]; l["request_id"] != nil || l["trace_id"] != nil {
		t.Errorf("a line without context got ids: %v", l)
	}
}

// TestRedisLogsStayJSON: when Redis goes away, go-redis's own complaints
// (it cannot dial) come out through the server's logger as JSON lines, not
// as plain text in the middle of the JSON stream (the operator review saw
// "redis: 2026/… pool.go:770: …"). It runs a private redis-server.
func TestRedisLogsStayJSON(t *testing.T) {
	redisServer, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	addr := freeLoopbackAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	rs := exec.Command(redisServer, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := rs.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stopRedis := func() {
		if !stopped {
			stopped = true
			_ = rs.Process.Kill()
			_ = rs.Wait()
		}
	}
	t.Cleanup(stopRedis)
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	out := &lockedBuffer{}
	srvAddr := freeLoopbackAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	env := map[string]string{"KEFU_ADDR": srvAddr, "KEFU_DATA_DIR": t.TempDir(), "KEFU_LOG_FORMAT": "json", "KEFU_REDIS_URL": "redis://" + addr + "/0"}
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), out, out) }()
	var stopOnce sync.Once
	stopServer := func() { stopOnce.Do(func() { cancel(); <-done }) } //nolint:errcheck // the server's exit error is not this test's subject
	defer stopServer()
	waitReady := func(want int) {
		t.Helper()
		for i := 0; i < 200; i++ {
			if res, err := http.Get("http://" + srvAddr + "/readyz"); err == nil {
				res.Body.Close()
				if res.StatusCode == want {
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("/readyz never answered %d; log:\n%s", want, out.tail(4096))
	}
	waitReady(200)
	stopRedis()
	waitReady(503)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.tail(1<<20), `"component":"go-redis"`) && time.Now().Before(deadline) {
		_, _ = http.Get("http://" + srvAddr + "/readyz")
		time.Sleep(200 * time.Millisecond)
	}
	stopServer()

	sc := bufio.NewScanner(strings.NewReader(out.tail(1 << 20)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	fromRedis := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("a log line is not JSON: %q", sc.Text())
			continue
		}
		if m["component"] == "go-redis" {
			fromRedis++
			if m["level"] != "WARN" || !strings.Contains(fmt.Sprint(m["msg"]), "dial") {
				t.Errorf("go-redis line: %v", m)
			}
		}
	}
	if fromRedis == 0 {
		t.Errorf("go-redis logged nothing while Redis was down; log:\n%s", out.tail(4096))
	}
}
