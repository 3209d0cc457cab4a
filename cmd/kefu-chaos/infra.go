package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// The private infrastructure of a run: a PostgreSQL cluster in a temporary
// directory and a Redis of its own, on ports nobody else uses, so that
// restarting, flushing and locking them disturbs no one else's tests.

// postgres is a private PostgreSQL cluster.
type postgres struct {
	bin  string // the server's bin directory
	dir  string // holds data/, the socket and the log
	port int
	asPG bool // run the server as the postgres user (when we are root)
}

func pgBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	if len(dirs) == 0 {
		return "", errors.New("no PostgreSQL server binaries (initdb) found: install postgresql")
	}
	return dirs[0], nil
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func startPostgres(ctx context.Context, dir string, port int) (*postgres, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	pg := &postgres{bin: bin, dir: dir, port: port, asPG: os.Geteuid() == 0}
	if pg.asPG {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		// The postgres user must reach it through the run's directory.
		if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
			return nil, err
		}
	}
	if out, err := pg.cmd(ctx, "initdb", "-D", pg.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if err := pg.start(ctx); err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, pg.url("postgres"))
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE kefu"); err != nil {
		return nil, err
	}
	return pg, nil
}

func (pg *postgres) data() string { return filepath.Join(pg.dir, "data") }

func (pg *postgres) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.port, db)
}

func (pg *postgres) cmd(ctx context.Context, tool string, args ...string) *exec.Cmd {
	path := filepath.Join(pg.bin, tool)
	if pg.asPG {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.CommandContext(ctx, path, args...)
}

func (pg *postgres) start(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", pg.port, pg.dir)
	out, err := pg.cmd(ctx, "pg_ctl", "-D", pg.data(), "-o", opts, "-l", filepath.Join(pg.dir, "server.log"), "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	return nil
}

// crash stops the server the way a power cut would (immediate: no
// checkpoint, recovery from the WAL at the next start).
func (pg *postgres) crash(ctx context.Context) error {
	if out, err := pg.cmd(ctx, "pg_ctl", "-D", pg.data(), "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

func (pg *postgres) stop() {
	_ = pg.cmd(context.Background(), "pg_ctl", "-D", pg.data(), "-m", "immediate", "-w", "stop").Run()
}

// redisServer is a private Redis without persistence.
type redisServer struct {
	port int
	mu   sync.Mutex
	cmd  *exec.Cmd
	log  string
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start(ctx context.Context) error {
	f, err := os.OpenFile(r.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--notify-keyspace-events", "Ex", "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("redis-server: %w", err)
	}
	go func() { _ = cmd.Wait(); f.Close() }()
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
	return waitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", r.port), 10*time.Second)
}

// stop ends the server (SIGTERM, then SIGKILL) and waits until it is gone.
func (r *redisServer) stop() {
	r.mu.Lock()
	cmd := r.cmd
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for i := 0; i < 50; i++ {
		if cmd.Process.Signal(syscall.Signal(0)) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
}

func waitTCP(ctx context.Context, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s did not answer within %s: %v", addr, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// node is one kefu process.
type node struct {
	idx  int
	bin  string
	addr string
	env  []string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

func (n *node) base() string { return "http://" + n.addr }

func (n *node) start(ctx context.Context) error {
	f, err := os.OpenFile(n.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "\n=== kefu-chaos: start %s ===\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(n.bin, "serve")
	cmd.Env = append(os.Environ(), n.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("node %d exited at start; see %s", n.idx, n.log)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if res, err := http.Get(n.base() + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("node %d not ready within 60s; see %s", n.idx, n.log)
}

// kill ends the process with SIGKILL and waits for it.
func (n *node) kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// term sends SIGTERM and returns how long the node took to exit (at most
// limit; after it the node is killed and ok is false).
func (n *node) term(limit time.Duration) (took time.Duration, ok bool) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return 0, true
	}
	t0 := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return time.Since(t0), true
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		return time.Since(t0), false
	}
}

func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}
