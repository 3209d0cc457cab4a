package deploy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

type directive struct {
	line int
	name string
	args []string
}

// readRedisConf returns the directives of a redis.conf and checks that each
// is explained by a comment between it and the directive before it.
func readRedisConf(t *testing.T, path string) []directive {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer f.Close()
	var out []directive
	commented := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			commented = true
		default:
			fields := strings.Fields(line)
			if !commented {
				t.Errorf("%s:%d: %q has no comment saying why", path, n, fields[0])
			}
			commented = false
			out = append(out, directive{line: n, name: strings.ToLower(fields[0]), args: fields[1:]})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return out
}

func TestRedisConfSupportsPresenceAndFanOut(t *testing.T) {
	t.Parallel()
	conf := readRedisConf(t, "redis.conf")
	get := func(name string) [][]string {
		var all [][]string
		for _, d := range conf {
			if d.name == name {
				all = append(all, d.args)
			}
		}
		return all
	}
	one := func(name string) string {
		all := get(name)
		if len(all) != 1 {
			t.Errorf("redis.conf sets %s %d times, want once", name, len(all))
			return ""
		}
		return strings.Join(all[0], " ")
	}

	if v := one("notify-keyspace-events"); v != "Ex" {
		t.Errorf("notify-keyspace-events %q, want Ex (expired events for presence keys)", v)
	}
	pubsub := false
	for _, args := range get("client-output-buffer-limit") {
		if len(args) == 4 && args[0] == "pubsub" {
			pubsub = true
		}
	}
	if !pubsub {
		t.Error("redis.conf has no client-output-buffer-limit pubsub <hard> <soft> <seconds>")
	}
	if v := one("maxmemory-policy"); v != "noeviction" && v != "volatile-ttl" {
		t.Errorf("maxmemory-policy %q, want noeviction or volatile-ttl", v)
	}
	if v := one("appendonly"); v != "no" {
		t.Errorf("appendonly %q, want no (PostgreSQL is the system of record)", v)
	}
	if v := one("timeout"); v == "" {
		t.Error("redis.conf does not set timeout")
	}
	if v := one("tcp-keepalive"); v == "" {
		t.Error("redis.conf does not set tcp-keepalive")
	}
}

// TestRedisServerAcceptsRedisConf starts the real redis-server with the file
// (on a private Unix socket, no TCP port) and fails on any directive it
// rejects. It is skipped where redis-server is not installed.
func TestRedisServerAcceptsRedisConf(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	conf, err := filepath.Abs("redis.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Later arguments override the file: no TCP listener, a socket and a
	// working directory of the test's own.
	cmd := exec.CommandContext(ctx, bin, conf,
		"--port", "0",
		"--unixsocket", filepath.Join(dir, "redis.sock"),
		"--dir", dir,
		"--daemonize", "no",
		"--logfile", "")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	var log strings.Builder
	ready := false
	sc := bufio.NewScanner(out)
	for !ready && sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		ready = strings.Contains(strings.ToLower(line), "ready to accept connections")
	}
	if !ready {
		t.Fatalf("redis-server did not start with redis.conf:\n%s", log.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }() // keep its log from blocking it

	// The settings Kefu depends on, as the running server reports them.
	conn, err := net.DialTimeout("unix", filepath.Join(dir, "redis.sock"), 5*time.Second)
	if err != nil {
		t.Fatalf("connecting to redis-server: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	want := map[string]func(string) bool{
		// Redis reorders the class letters: "Ex" reads back as "xE".
		"notify-keyspace-events": func(v string) bool {
			return len(v) == 2 && strings.ContainsRune(v, 'E') && strings.ContainsRune(v, 'x')
		},
		"maxmemory-policy": func(v string) bool { return v == "noeviction" || v == "volatile-ttl" },
		"appendonly":       func(v string) bool { return v == "no" },
		"client-output-buffer-limit": func(v string) bool {
			return strings.Contains(v, "pubsub 67108864 16777216 60")
		},
	}
	for _, name := range sortedKeys(toAny(want)) {
		fmt.Fprintf(conn, "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", len(name), name)
		reply, err := readArray(r)
		if err != nil {
			t.Fatalf("CONFIG GET %s: %v", name, err)
		}
		if len(reply) != 2 || !want[name](reply[1]) {
			t.Errorf("CONFIG GET %s = %q, not what deploy/redis.conf means to set", name, reply)
		}
	}
}

func toAny[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// readArray reads a RESP array of bulk strings (the reply to CONFIG GET).
func readArray(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "*") {
		return nil, fmt.Errorf("unexpected reply %q", line)
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	for range n {
		head, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimRight(head, "\r\n")[1:])
		if err != nil || size < 0 {
			return nil, fmt.Errorf("unexpected bulk header %q", head)
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		out = append(out, string(buf[:size]))
	}
	return out, nil
}
