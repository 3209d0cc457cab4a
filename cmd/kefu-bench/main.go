// Command kefu-bench loads a Kefu server through its public contract only:
// it signs up a tenant, creates agents, opens visitor and agent sockets,
// sends messages at a target rate (or flat out), checks every seq for loss,
// duplication and order, and prints one JSON summary.
//
//	kefu-bench --url http://127.0.0.1:8080 --visitors 1000 --agents 20 --rate 5000 --duration 30s
//	kefu-bench --url http://127.0.0.1:8080 --connections 20000 --idle
//	kefu-bench --url http://127.0.0.1:8080 --tenants 10000 --openers 8
//
// By default visitors send as the widget does: no conversation_id, several
// messages in flight (--window). The server must allow the bench's signups,
// widget sessions and sockets from one IP, and its send rate: start it with
// KEFU_AUTH_PER_MINUTE, KEFU_WIDGET_PER_MINUTE, KEFU_WS_MAX_PER_IP and
// KEFU_WS_SEND_RATE raised (and KEFU_WS_MAX_PER_PRINCIPAL for --idle, whose
// sockets share one visitor). Server figures (CPU, memory) come from its
// /metrics: see --metrics-url.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"
)

type options struct {
	url         string
	visitors    int
	agents      int
	scenario    string
	rate        float64
	duration    time.Duration
	connections int
	idle        bool
	hold        time.Duration
	dialRate    int
	grace       time.Duration
	withConv    bool   // name the conversation in every message (API clients' way); the widget leaves it out
	window      int    // messages in flight per visitor
	messages    int    // per visitor; 0: send for --duration
	flow        string // bench (assign at once) or default (the tenant's default flow: greeting, hours, assign)
	openers     int    // visitors opening their conversation at once
	history     int    // messages preloaded into the tenant before the run
	databaseURL string // with --history: the server's database (PostgreSQL URL)
	dataDir     string // with --history on SQLite: the server's data directory

	tenants     int           // sign up this many workspaces, one visitor message in each (--tenants)
	firstTenant int           // with --tenants: the number of the first (names stay unique across runs)
	tenantsFor  time.Duration // with --tenants: stop signing up after this (0: sign up all)

	metricsURL   string
	metricsToken string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kefu-bench:", err)
		stop()     // os.Exit skips the deferred one
		os.Exit(1) //nolint:gocritic // stop() ran just above
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("kefu-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "server base URL")
	fs.IntVar(&o.visitors, "visitors", 100, "visitor sockets (one conversation each)")
	fs.IntVar(&o.agents, "agents", 10, "agent sockets")
	fs.StringVar(&o.scenario, "scenario", "text", "text (short messages), files (each message uploads an 8 KiB file and attaches it) or mixed (short, 2 KiB, and 10% with files)")
	fs.Float64Var(&o.rate, "rate", 0, "target messages per second in total; 0 sends flat out (each visitor waits for its ack)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&o.connections, "connections", 0, "with --idle: sockets to open and hold")
	fs.BoolVar(&o.idle, "idle", false, "measure memory per idle socket instead of sending")
	fs.DurationVar(&o.hold, "hold", 5*time.Second, "with --idle: how long to hold the sockets before measuring")
	fs.IntVar(&o.dialRate, "dial-rate", 2000, "new sockets per second while connecting")
	fs.DurationVar(&o.grace, "grace", 5*time.Second, "after sending, how long to wait for deliveries before counting losses")
	fs.BoolVar(&o.withConv, "with-conversation-id", false, "name the conversation in every message.send (as API clients may); by default messages leave it out, as the widget does")
	fs.IntVar(&o.window, "window", 8, "messages in flight per visitor (sent before their acks arrive)")
	fs.IntVar(&o.messages, "messages", 0, "messages per visitor; 0 sends for --duration")
	fs.StringVar(&o.flow, "flow", "bench", "bench (a flow that assigns at once) or default (the tenant's default flow: greeting, business hours, assignment)")
	fs.IntVar(&o.openers, "openers", 64, "visitors opening their conversations at once (the opening latency is first message → the agent has it)")
	fs.IntVar(&o.history, "history", 0, "preload this many messages into the tenant first (bulk insert into the server's database: needs --database-url, or --data-dir for SQLite)")
	fs.StringVar(&o.databaseURL, "database-url", "", "with --history: the server's KEFU_DATABASE_URL")
	fs.StringVar(&o.dataDir, "data-dir", "", "with --history on SQLite: the server's KEFU_DATA_DIR")
	fs.IntVar(&o.tenants, "tenants", 0, "measure many tenants instead of sending: sign up this many through the API (--openers at a time), then send one visitor message in each")
	fs.DurationVar(&o.tenantsFor, "tenants-for", 0, "with --tenants: stop signing up after this long and measure what was signed up (0: no limit)")
	fs.IntVar(&o.firstTenant, "first-tenant", 0, "with --tenants: number the workspaces from this (to add to a server that holds some already)")
	fs.StringVar(&o.metricsURL, "metrics-url", "", "the server's metrics, e.g. http://127.0.0.1:9100/metrics when it runs with KEFU_METRICS_ADDR (default: URL/metrics)")
	fs.StringVar(&o.metricsToken, "metrics-token", os.Getenv("KEFU_METRICS_TOKEN"), "bearer token for the metrics (default $KEFU_METRICS_TOKEN)")
	cpuProfile := fs.String("cpuprofile", "", "write the bench's own CPU profile to this file (it shares the machine with the server)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	switch {
	case o.idle && o.connections < 1:
		return errors.New("--idle needs --connections N")
	case o.tenants < 0:
		return errors.New("--tenants must not be negative")
	case o.tenants == 0 && !o.idle && (o.visitors < 1 || o.agents < 1):
		return errors.New("--visitors and --agents must be at least 1")
	case o.scenario != "text" && o.scenario != "mixed" && o.scenario != "files":
		return fmt.Errorf("--scenario %q: want text, files or mixed", o.scenario)
	case o.window < 1 || o.openers < 1:
		return errors.New("--window and --openers must be at least 1")
	case o.flow != "bench" && o.flow != "default":
		return fmt.Errorf("--flow %q: want bench or default", o.flow)
	case o.history > 0 && o.databaseURL == "" && o.dataDir == "":
		return errors.New("--history needs --database-url (PostgreSQL) or --data-dir (SQLite) of the server")
	}
	var (
		sum any
		err error
	)
	switch {
	case o.tenants > 0:
		sum, err = tenantsRun(ctx, o, stderr)
	case o.idle:
		sum, err = idleRun(ctx, o, stderr)
	default:
		sum, err = loadRun(ctx, o, stderr)
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}
