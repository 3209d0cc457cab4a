package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"kefu/cmd/internal/kefuclient"
)

type runner struct {
	o   options
	dir string
	log io.Writer

	pg      *postgres
	redis   *redisServer
	cl      *cluster
	tenants []*tenantLoad

	stopLoad context.CancelFunc
	loadWG   sync.WaitGroup
	stall    stallMeter // how long the machine stalled this process (stall.go)

	// What the previous checks already counted (the agents' counters only
	// grow).
	seenDup, seenOOO int
	ackedBefore      int
	lastOnline       time.Time // when waitAgentsOnline last saw everyone online
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "kefu-chaos: "+format+"\n", args...)
}

func (r *runner) setup(ctx context.Context) error {
	o := r.o
	pgPort, _ := strconv.Atoi(port(o.basePort, 5))
	redisPort, _ := strconv.Atoi(port(o.basePort, 6))
	r.logf("private PostgreSQL on :%d, Redis on :%d, nodes on :%d and :%d (in %s)", pgPort, redisPort, o.basePort, o.basePort+1, r.dir)
	pgDir := filepath.Join(r.dir, "pg")
	if err := mkdir(pgDir); err != nil {
		return err
	}
	pg, err := startPostgres(ctx, pgDir, pgPort)
	if err != nil {
		return err
	}
	r.pg = pg
	r.redis = &redisServer{port: redisPort, log: filepath.Join(r.dir, "redis.log")}
	if err := r.redis.start(ctx); err != nil {
		return err
	}
	secret := "kefu-chaos-secret-" + strings.Repeat("x", 32)
	r.cl = &cluster{}
	for i := 0; i < 2; i++ {
		dataDir := filepath.Join(r.dir, "node"+strconv.Itoa(i))
		if err := mkdir(dataDir); err != nil {
			return err
		}
		n := &node{idx: i, bin: o.kefu, addr: "127.0.0.1:" + port(o.basePort, i), log: filepath.Join(r.dir, "node"+strconv.Itoa(i)+".log"),
			env: []string{
				"KEFU_ADDR=127.0.0.1:" + port(o.basePort, i), "KEFU_DATA_DIR=" + dataDir,
				"KEFU_DATABASE_URL=" + pg.url("kefu"), "KEFU_REDIS_URL=" + r.redis.url(), "KEFU_SECRET=" + secret,
				"KEFU_DB_WRITE_TIMEOUT=" + o.writeTO.String(), "KEFU_SHUTDOWN_TIMEOUT=" + o.shutdownTO.String(),
				"KEFU_PRESENCE_TTL=" + o.presTTL.String(), "KEFU_LOG_LEVEL=warn", "KEFU_DB_MAX_CONNS=16",
				"KEFU_AUTH_PER_MINUTE=10000", "KEFU_WIDGET_PER_MINUTE=10000", "KEFU_WS_SEND_RATE=1000", "KEFU_WS_SEND_BURST=1000",
				"KEFU_WS_MAX_PER_IP=10000", "KEFU_WS_FRAME_RATE=1000", "KEFU_WS_FRAME_BURST=1000",
			}}
		r.cl.nodes = append(r.cl.nodes, n)
	}
	// One node first: it migrates the platform schema alone.
	for _, n := range r.cl.nodes {
		if err := n.start(ctx); err != nil {
			return err
		}
	}
	for i := 0; i < o.tenants; i++ {
		t, err := setupTenant(ctx, r.cl, strconv.Itoa(i), o.agents, o.visitors)
		if err != nil {
			return err
		}
		r.tenants = append(r.tenants, t)
	}
	lctx, cancel := context.WithCancel(ctx)
	r.stopLoad = cancel
	go r.stall.run(lctx)
	for _, t := range r.tenants {
		for _, a := range t.agents {
			r.loadWG.Add(1)
			go a.run(lctx, r.cl, &r.loadWG)
		}
	}
	if err := r.waitAgentsOnline(ctx, 10*time.Second); err != nil {
		return err
	}
	for _, t := range r.tenants {
		for _, v := range t.visitors {
			if err := v.open(ctx, r.cl); err != nil {
				return err
			}
		}
	}
	// A send unanswered this long is silence (the guarantee's failure, not
	// a slow answer): the visitor drops the socket, counts it and resends.
	answerWithin := o.writeTO + 10*time.Second
	for _, t := range r.tenants {
		for _, v := range t.visitors {
			r.loadWG.Add(1)
			go v.run(lctx, r.cl, o.interval, answerWithin, &r.loadWG)
		}
	}
	r.logf("%d tenants × %d visitors and %d agents under load", o.tenants, o.visitors, o.agents)
	return nil
}

func (r *runner) teardown() {
	if r.stopLoad != nil {
		r.stopLoad()
		for _, t := range r.tenants {
			for _, a := range t.agents {
				a.kick()
			}
			for _, v := range t.visitors {
				v.kick()
			}
		}
		r.loadWG.Wait()
	}
	if r.cl != nil {
		for _, n := range r.cl.nodes {
			n.kill()
		}
	}
	if r.redis != nil {
		r.redis.stop()
	}
	if r.pg != nil {
		r.pg.stop()
	}
}

// faults injects each fault in turn under the load.
func (r *runner) faults(ctx context.Context) ([]row, error) {
	var rows []row
	time.Sleep(r.o.settle)
	r.ackedBefore = r.ackedNow()

	kill := row{fault: "kill -9 a node"}
	for i := 0; i < r.o.kills && ctx.Err() == nil; i++ {
		time.Sleep(r.o.settle)
		victim := r.cl.nodes[i%len(r.cl.nodes)]
		r.stall.reset()
		t0 := time.Now()
		victim.kill()
		kill.injected++
		rec, err := r.waitRecovered(ctx, t0, nil)
		if err != nil {
			kill.problems = append(kill.problems, fmt.Sprintf("kill %d: %v", i+1, err))
		}
		kill.recovery = max(kill.recovery, rec)
		if err := victim.start(ctx); err != nil {
			return append(rows, kill), err
		}
		r.rebalance()
		r.check(ctx, &kill)
		r.logf("kill %d/%d of node %d: recovered in %s", i+1, r.o.kills, victim.idx, rec.Round(time.Millisecond))
	}
	rows = append(rows, kill)

	rows = append(rows, r.redisFault(ctx, "Redis restart", func() error {
		r.redis.stop()
		time.Sleep(time.Second)
		return r.redis.start(ctx)
	}))
	rows = append(rows, r.redisFault(ctx, "Redis FLUSHALL", func() error {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.redis.port)})
		defer rdb.Close()
		return rdb.FlushAll(ctx).Err()
	}))
	rows = append(rows, r.pgRestart(ctx))
	rows = append(rows, r.pgHang(ctx))
	return rows, ctx.Err()
}

// redisFault injects a Redis fault: stored messages must all be there,
// presence back within one heartbeat (a third of the presence TTL), and
// delivery resumed.
func (r *runner) redisFault(ctx context.Context, name string, inject func() error) row {
	res := row{fault: name, injected: 1}
	time.Sleep(r.o.settle)
	r.stall.reset()
	if err := inject(); err != nil {
		res.problems = append(res.problems, "inject: "+err.Error())
		return res
	}
	t0 := time.Now()
	// Presence is whole again within one heartbeat of Redis being back
	// (t0), give or take a second and what the machine stalled; watched
	// while the load recovers.
	heartbeat := r.o.presTTL / 3
	online := make(chan error, 1)
	go func() { online <- r.waitAgentsOnlineBy(ctx, t0, heartbeat+time.Second) }()
	rec, err := r.waitRecovered(ctx, t0, nil)
	if err != nil {
		res.problems = append(res.problems, err.Error())
	}
	if err := <-online; err != nil {
		res.problems = append(res.problems, fmt.Sprintf("presence not rebuilt within one heartbeat (%s; machine stalled up to %s): %v", heartbeat, r.stall.max().Round(time.Millisecond), err))
	}
	presence := r.lastOnline.Sub(t0)
	res.recovery = max(rec, presence)
	r.check(ctx, &res)
	r.logf("%s: recovered in %s (presence whole after %s, heartbeat %s; stalled up to %s)", name, res.recovery.Round(time.Millisecond), presence.Round(time.Millisecond), heartbeat, r.stall.max().Round(time.Millisecond))
	return res
}

// pgRestart crashes PostgreSQL (immediate stop: recovery from the WAL) and
// starts it two seconds later. Sends meanwhile must fail with an error, and
// every send must be answered within the write deadline.
func (r *runner) pgRestart(ctx context.Context) row {
	res := row{fault: "PostgreSQL crash + restart", injected: 1}
	time.Sleep(r.o.settle)
	before := r.goroutines(ctx)
	r.resetWaits()
	r.stall.reset()
	if err := r.pg.crash(ctx); err != nil {
		res.problems = append(res.problems, err.Error())
		return res
	}
	time.Sleep(2 * time.Second)
	if err := r.pg.start(ctx); err != nil {
		res.problems = append(res.problems, err.Error())
		return res
	}
	t0 := time.Now()
	rec, err := r.waitRecovered(ctx, t0, nil)
	if err != nil {
		res.problems = append(res.problems, err.Error())
	}
	res.recovery = rec
	wait := r.checkAnswered(&res, nil)
	time.Sleep(2 * time.Second)
	after := r.goroutines(ctx)
	r.logf("PostgreSQL restart: recovered in %s; longest wait for an answer %s (deadline %s, stalled up to %s); goroutines per node before %v, after %v",
		rec.Round(time.Millisecond), wait.Round(time.Millisecond), r.o.writeTO, r.stall.max().Round(time.Millisecond), before, after)
	for i := range before {
		if before[i] > 0 && after[i] > 2*before[i]+100 {
			res.problems = append(res.problems, fmt.Sprintf("node %d: %d goroutines after the restart, %d before", i, after[i], before[i]))
		}
	}
	r.check(ctx, &res)
	return res
}

// pgHang holds an exclusive lock on the first tenant's messages for three
// write deadlines: its senders must hear an error within the deadline, the
// other tenants must keep getting acks, and a node told to stop meanwhile
// must be gone within its shutdown deadline.
func (r *runner) pgHang(ctx context.Context) row {
	res := row{fault: "PostgreSQL lock held (one tenant hangs)", injected: 1}
	time.Sleep(r.o.settle)
	locked := r.tenants[0]
	conn, err := pgx.Connect(ctx, r.pg.url("kefu"))
	if err != nil {
		res.problems = append(res.problems, err.Error())
		return res
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		res.problems = append(res.problems, err.Error())
		return res
	}
	schema := "t_" + strings.ReplaceAll(locked.id, "-", "")
	if _, err := tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{schema, "messages"}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		res.problems = append(res.problems, "lock: "+err.Error())
		_ = tx.Rollback(ctx)
		return res
	}
	r.resetWaits()
	r.stall.reset()
	hold := time.Now()
	others := r.ackedOf(r.tenants[1:])
	time.Sleep(3 * r.o.writeTO / 2)
	// Stop a node while the lock is held.
	took, ok := r.cl.nodes[1].term(r.o.shutdownTO + 10*time.Second)
	if !ok || took > r.o.shutdownTO+time.Second+r.stall.max() {
		res.problems = append(res.problems, fmt.Sprintf("node 1 took %s to shut down with a hung connection (deadline %s; machine stalled up to %s)", took.Round(time.Millisecond), r.o.shutdownTO, r.stall.max().Round(time.Millisecond)))
	}
	time.Sleep(max(0, 3*r.o.writeTO-time.Since(hold)))
	flowed := r.ackedOf(r.tenants[1:]) - others
	wait := r.checkAnswered(&res, locked)
	if flowed == 0 {
		res.problems = append(res.problems, "the other tenants got no acks while one tenant's table was locked")
	}
	_ = tx.Rollback(ctx)
	t0 := time.Now()
	if err := r.cl.nodes[1].start(ctx); err != nil {
		res.problems = append(res.problems, err.Error())
		return res
	}
	r.rebalance()
	rec, err := r.waitRecovered(ctx, t0, nil)
	if err != nil {
		res.problems = append(res.problems, err.Error())
	}
	res.recovery = rec
	r.logf("PostgreSQL lock: others acked %d meanwhile, the locked tenant's longest wait for an answer %s (deadline %s), node 1 shut down in %s (deadline %s), stalled up to %s, recovered in %s",
		flowed, wait.Round(time.Millisecond), r.o.writeTO, took.Round(time.Millisecond), r.o.shutdownTO, r.stall.max().Round(time.Millisecond), rec.Round(time.Millisecond))
	r.check(ctx, &res)
	return res
}

// resetWaits starts measuring each visitor's longest wait for an answer.
func (r *runner) resetWaits() {
	for _, t := range r.tenants {
		for _, v := range t.visitors {
			v.mu.Lock()
			v.maxWait, v.unanswer = 0, 0
			v.mu.Unlock()
		}
	}
}

// checkAnswered: every send since resetWaits was answered (ack or error)
// within the write deadline, a second, and what the machine stalled since
// (stall.go); with only, for that tenant alone. It returns the longest wait.
func (r *runner) checkAnswered(res *row, only *tenantLoad) time.Duration {
	stalled := r.stall.max()
	limit := r.o.writeTO + time.Second + stalled
	var longest time.Duration
	for _, t := range r.tenants {
		if only != nil && t != only {
			continue
		}
		for _, v := range t.visitors {
			v.mu.Lock()
			w, un := v.maxWait, v.unanswer
			v.mu.Unlock()
			longest = max(longest, w)
			if un > 0 {
				res.problems = append(res.problems, fmt.Sprintf("tenant %s visitor %d: %d sends never answered", t.name, v.idx, un))
			}
			if w > limit {
				res.problems = append(res.problems, fmt.Sprintf("tenant %s visitor %d waited %s for an answer (write deadline %s; machine stalled up to %s)", t.name, v.idx, w.Round(time.Millisecond), r.o.writeTO, stalled.Round(time.Millisecond)))
			}
		}
	}
	return longest
}

func (r *runner) ackedOf(ts []*tenantLoad) int {
	n := 0
	for _, t := range ts {
		for _, v := range t.visitors {
			v.mu.Lock()
			n += len(v.acked)
			v.mu.Unlock()
		}
	}
	return n
}

func (r *runner) ackedNow() int { return r.ackedOf(r.tenants) }

// rebalance sends every client back to its preferred node.
func (r *runner) rebalance() {
	for _, t := range r.tenants {
		for _, a := range t.agents {
			a.mu.Lock()
			wrong := a.node != a.pref%len(r.cl.nodes)
			a.mu.Unlock()
			if wrong {
				a.kick()
			}
		}
		for _, v := range t.visitors {
			v.mu.Lock()
			wrong := v.node != v.pref%len(r.cl.nodes)
			v.mu.Unlock()
			if wrong {
				v.kick()
			}
		}
	}
}

// waitRecovered waits until every visitor has an ack after t0 and every
// tenant's agents a message after t0, and says how long that took.
func (r *runner) waitRecovered(ctx context.Context, t0 time.Time, skip *tenantLoad) (time.Duration, error) {
	deadline := t0.Add(60 * time.Second)
	for {
		done := true
		for _, t := range r.tenants {
			if t == skip {
				continue
			}
			for _, v := range t.visitors {
				v.mu.Lock()
				ok := v.lastAck.After(t0)
				v.mu.Unlock()
				done = done && ok
			}
			got := false
			for _, a := range t.agents {
				a.mu.Lock()
				got = got || a.lastMsg.After(t0)
				a.mu.Unlock()
			}
			done = done && got
		}
		if done {
			return time.Since(t0), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return time.Since(t0), fmt.Errorf("acks or deliveries did not resume within %s", time.Since(t0).Round(time.Second))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitAgentsOnline waits until every agent shows online, asked of every
// running node.
func (r *runner) waitAgentsOnline(ctx context.Context, within time.Duration) error {
	return r.waitAgentsOnlineBy(ctx, time.Now(), within)
}

// waitAgentsOnlineBy waits until every agent shows online, at most within
// of from plus what the machine stalled meanwhile (stall.go).
func (r *runner) waitAgentsOnlineBy(ctx context.Context, from time.Time, within time.Duration) error {
	for {
		missing := r.offlineAgents(ctx)
		if missing == "" {
			r.lastOnline = time.Now()
			return nil
		}
		if time.Now().After(from.Add(within+r.stall.max())) || ctx.Err() != nil {
			return fmt.Errorf("not online after %s: %s", time.Since(from).Round(time.Millisecond), missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *runner) offlineAgents(ctx context.Context) string {
	for _, n := range r.cl.nodes {
		if !n.running() {
			continue
		}
		for _, t := range r.tenants {
			var list struct {
				Agents []struct{ ID, Status string } `json:"agents"`
			}
			if err := kefuclient.Call(ctx, "GET", n.base()+"/api/v1/agents", t.owner, nil, &list); err != nil {
				return err.Error()
			}
			want := map[string]bool{}
			for _, a := range t.agents {
				want[a.id] = true
			}
			for _, a := range list.Agents {
				if want[a.ID] && a.Status != "online" {
					return fmt.Sprintf("tenant %s agent %s is %s on node %d", t.name, a.ID, a.Status, n.idx)
				}
			}
		}
	}
	return ""
}

// goroutines reads go_goroutines from each node's metrics (-1 if down).
func (r *runner) goroutines(ctx context.Context) []int {
	out := make([]int, len(r.cl.nodes))
	for i, n := range r.cl.nodes {
		out[i] = -1
		req, _ := http.NewRequestWithContext(ctx, "GET", n.base()+"/metrics", nil)
		res, err := kefuclient.HTTP.Do(req)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
				out[i], _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		res.Body.Close()
	}
	return out
}
