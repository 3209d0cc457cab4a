// Command kefu-chaos proves Kefu's delivery guarantees under faults. It
// starts a private PostgreSQL cluster and a private Redis (never the shared
// ones), two kefu nodes on them, and clients that send, ack, resend and
// resume as the widget and the console do; then it injects faults under that
// load — kill -9 of a node (20 times by default), a Redis restart, a Redis
// FLUSHALL, a PostgreSQL crash and restart, and a PostgreSQL lock that hangs
// one tenant's writes — and after each one checks that every acked message
// is stored exactly once, in seq order, and reached its agent, and that no
// conversation is left stuck. It prints one table and exits non-zero on any
// loss, duplicate, disorder or hang.
//
//	go run ./cmd/kefu-chaos --kefu bin/kefu           (make chaos)
//	go run ./cmd/kefu-chaos --kefu bin/kefu --long    (100 kills, more load)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

type options struct {
	kefu       string
	basePort   int
	kills      int
	tenants    int
	visitors   int
	agents     int
	interval   time.Duration
	settle     time.Duration
	writeTO    time.Duration
	shutdownTO time.Duration
	presTTL    time.Duration
	keep       bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kefu-chaos:", err)
		stop()     // os.Exit skips the deferred one
		os.Exit(1) //nolint:gocritic // stop() ran just above
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("kefu-chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.kefu, "kefu", "bin/kefu", "the kefu binary to run")
	fs.IntVar(&o.basePort, "port", 18150, "first of the ports used: two nodes, then PostgreSQL at +5 and Redis at +6")
	fs.IntVar(&o.kills, "kills", 20, "how many times a node is killed with SIGKILL")
	fs.IntVar(&o.tenants, "tenants", 2, "tenants under load (the lock fault hangs the first; the others must keep flowing)")
	fs.IntVar(&o.visitors, "visitors", 6, "visitors per tenant, each sending one message at a time")
	fs.IntVar(&o.agents, "agents", 2, "agents per tenant")
	fs.DurationVar(&o.interval, "interval", 50*time.Millisecond, "pause between a visitor's ack and its next message")
	fs.DurationVar(&o.settle, "load", time.Second, "load before each fault")
	fs.DurationVar(&o.writeTO, "write-timeout", 2*time.Second, "the nodes' KEFU_DB_WRITE_TIMEOUT")
	fs.DurationVar(&o.shutdownTO, "shutdown-timeout", 5*time.Second, "the nodes' KEFU_SHUTDOWN_TIMEOUT")
	fs.DurationVar(&o.presTTL, "presence-ttl", 6*time.Second, "the nodes' KEFU_PRESENCE_TTL (the heartbeat is a third of it)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (logs, databases) afterwards")
	long := fs.Bool("long", false, "the long run: 100 kills, 4 tenants, 10 visitors each, 3 s of load before each fault")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *long {
		o.kills, o.tenants, o.visitors, o.settle = 100, 4, 10, 3*time.Second
	}
	if o.tenants < 2 || o.visitors < 1 || o.agents < 1 || o.kills < 0 {
		return errors.New("--tenants must be at least 2, --visitors and --agents at least 1")
	}
	bin, err := filepath.Abs(o.kefu)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("--kefu %s: %w (make build first)", o.kefu, err)
	}
	o.kefu = bin
	dir, err := os.MkdirTemp("", "kefu-chaos-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(stderr, "kefu-chaos: keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	r := &runner{o: o, dir: dir, log: stderr}
	defer r.teardown()
	if err := r.setup(ctx); err != nil {
		return fmt.Errorf("setup: %w (logs in %s; --keep keeps them)", err, dir)
	}
	rows, err := r.faults(ctx)
	printTable(stdout, rows)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if row.failed() {
			if !o.keep {
				fmt.Fprintln(stderr, "kefu-chaos: node logs follow")
				for _, n := range r.cl.nodes {
					tail(stderr, n.log, 40)
				}
			}
			return errors.New("guarantees broken: see the table")
		}
	}
	return nil
}

// row is one line of the table.
type row struct {
	fault      string
	injected   int
	acked      int
	lost       int
	duplicated int
	outOfOrder int
	recovery   time.Duration
	problems   []string // anything else that broke (a hang, a stuck conversation)
}

func (r row) failed() bool {
	return r.lost > 0 || r.duplicated > 0 || r.outOfOrder > 0 || len(r.problems) > 0
}

func printTable(w io.Writer, rows []row) {
	fmt.Fprintf(w, "\n| fault | injected | acked | lost | duplicated | out of order | max recovery |\n|---|---:|---:|---:|---:|---:|---:|\n")
	var tot row
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %s |\n", r.fault, r.injected, r.acked, r.lost, r.duplicated, r.outOfOrder, r.recovery.Round(10*time.Millisecond))
		tot.injected += r.injected
		tot.acked += r.acked
		tot.lost += r.lost
		tot.duplicated += r.duplicated
		tot.outOfOrder += r.outOfOrder
		tot.recovery = max(tot.recovery, r.recovery)
	}
	fmt.Fprintf(w, "| **all** | %d | %d | %d | %d | %d | %s |\n", tot.injected, tot.acked, tot.lost, tot.duplicated, tot.outOfOrder, tot.recovery.Round(10*time.Millisecond))
	for _, r := range rows {
		for _, p := range r.problems {
			fmt.Fprintf(w, "\n%s: %s", r.fault, p)
		}
	}
	fmt.Fprintln(w)
}

func tail(w io.Writer, path string, lines int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	n, i := 0, len(b)
	for i > 0 && n <= lines {
		i--
		if b[i] == '\n' {
			n++
		}
	}
	fmt.Fprintf(w, "--- %s (last %d lines)\n%s\n", path, lines, b[i:])
}

func port(base, off int) string { return strconv.Itoa(base + off) }
