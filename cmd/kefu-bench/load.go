package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// summary is the JSON the bench prints.
type summary struct {
	Scenario      string     `json:"scenario"`
	Visitors      int        `json:"visitors"`
	Agents        int        `json:"agents"`
	TargetRate    float64    `json:"target_rate"`
	DurationSec   float64    `json:"duration_s"`
	Sent          int64      `json:"sent"`
	Acked         int64      `json:"acked"`
	Delivered     int64      `json:"delivered"`
	Lost          int64      `json:"lost"`
	Duplicated    int64      `json:"duplicated"`
	OutOfOrder    int64      `json:"out_of_order"`
	MsgsPerSec    float64    `json:"msgs_per_s"`
	Latency       percentile `json:"latency_ms"`
	AckLatency    percentile `json:"ack_latency_ms"`
	ServerRSSMiB  float64    `json:"server_rss_mib"`
	Errors        int64      `json:"errors"`
	ErrorSamples  []string   `json:"error_samples,omitempty"`
	SetupSec      float64    `json:"setup_s"`
	TenantSlug    string     `json:"tenant"`
	ServerURL     string     `json:"server"`
	GoroutinesEnd int64      `json:"server_goroutines_end"`
}

type percentile struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func pct(xs []float64) percentile {
	if len(xs) == 0 {
		return percentile{}
	}
	sort.Float64s(xs)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(xs)))) - 1
		return math.Round(xs[max(i, 0)]*1000) / 1000
	}
	return percentile{P50: at(.5), P90: at(.9), P99: at(.99), Max: at(1)}
}

type errs struct {
	n       atomic.Int64
	mu      sync.Mutex
	samples []string
}

func (e *errs) add(err error) {
	if e.n.Add(1) <= 5 {
		e.mu.Lock()
		e.samples = append(e.samples, err.Error())
		e.mu.Unlock()
	}
}

// visitor is one visitor socket and its conversation.
type visitor struct {
	idx   int
	token string
	conv  string
	c     *websocket.Conn

	mu    sync.Mutex
	sent  map[int]time.Time // message number → send time
	acked map[int]bool
	next  int
	ackCh chan struct{}
}

type bench struct {
	o        options
	slug     string
	owner    string
	key      string
	visitors []*visitor
	byConv   sync.Map // conversation id → *visitor
	errs     errs

	latMu    sync.Mutex
	lat      []float64
	ackLat   []float64
	dup      atomic.Int64
	ooo      atomic.Int64
	deliv    atomic.Int64
	sentN    atomic.Int64
	ackedN   atomic.Int64
	seen     sync.Map // client id → struct{}
	lastSeq  sync.Map // conversation id → *int64 (agent side)
	assigns  sync.WaitGroup
	assigned sync.Map // conversation id → bool
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (b *bench) setup(ctx context.Context, log io.Writer) error {
	o := b.o
	company := "Bench " + randHex(4)
	var su struct {
		Tenant struct {
			Slug      string `json:"slug"`
			WidgetKey string `json:"widget_key"`
		} `json:"tenant"`
		Token string `json:"token"`
	}
	if err := call(ctx, "POST", o.url+"/api/v1/signup", "", map[string]any{"company": company, "email": "bench@example.com", "password": "bench-password", "name": "Bench Owner"}, &su); err != nil {
		return err
	}
	b.slug, b.owner, b.key = su.Tenant.Slug, su.Token, su.Tenant.WidgetKey
	// A flow that assigns every new conversation at once, round robin.
	flow := map[string]any{"name": "Bench", "graph": map[string]any{
		"nodes": []map[string]any{{"id": "start", "type": "start"}, {"id": "assign", "type": "assign", "data": map[string]any{"strategy": "round_robin"}}},
		"edges": []map[string]any{{"id": "e", "source": "start", "target": "assign"}},
	}}
	var f struct{ ID string }
	if err := call(ctx, "POST", o.url+"/api/v1/flows", b.owner, flow, &f); err != nil {
		return err
	}
	if err := call(ctx, "POST", o.url+"/api/v1/flows/"+f.ID+"/publish", b.owner, nil, nil); err != nil {
		return err
	}
	capPer := min(1000, o.visitors/o.agents+10)
	fmt.Fprintf(log, "bench: tenant %s, %d agents (cap %d), %d visitors\n", b.slug, o.agents, capPer, o.visitors)
	for i := 0; i < o.agents; i++ {
		email := fmt.Sprintf("agent%d@example.com", i)
		if err := call(ctx, "POST", o.url+"/api/v1/agents", b.owner, map[string]any{"email": email, "name": fmt.Sprintf("Agent %d", i), "password": "bench-password", "max_concurrent": capPer}, nil); err != nil {
			return err
		}
		var lg struct{ Token string }
		if err := call(ctx, "POST", o.url+"/api/v1/auth/login", "", map[string]any{"tenant": b.slug, "email": email, "password": "bench-password"}, &lg); err != nil {
			return err
		}
		c, err := dial(ctx, o.url, lg.Token)
		if err != nil {
			return err
		}
		go b.agentReader(ctx, c)
		p, _ := json.Marshal(map[string]any{"type": "presence", "status": "online"})
		if err := c.Write(ctx, websocket.MessageText, p); err != nil {
			return err
		}
	}
	time.Sleep(200 * time.Millisecond) // presence echoes
	b.visitors = make([]*visitor, o.visitors)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var failed atomic.Int64
	tick := time.NewTicker(time.Second / time.Duration(max(1, o.dialRate)))
	defer tick.Stop()
	b.assigns.Add(o.visitors)
	for i := range b.visitors {
		<-tick.C
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			v, err := b.openVisitor(ctx, i)
			if err != nil {
				failed.Add(1)
				b.errs.add(err)
				b.assigns.Done()
				return
			}
			b.visitors[i] = v
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d visitors failed to start; first: %v", n, b.errs.samples)
	}
	done := make(chan struct{})
	go func() { b.assigns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		return fmt.Errorf("not every conversation was assigned within 60s")
	}
	return nil
}

func (b *bench) openVisitor(ctx context.Context, i int) (*visitor, error) {
	var ws struct {
		Token string `json:"visitor_token"`
	}
	if err := call(ctx, "POST", b.o.url+"/api/v1/widget/sessions", "", map[string]any{"widget_key": b.key, "visitor": map[string]any{"name": fmt.Sprintf("Visitor %d", i)}}, &ws); err != nil {
		return nil, err
	}
	c, err := dial(ctx, b.o.url, ws.Token)
	if err != nil {
		return nil, err
	}
	v := &visitor{idx: i, token: ws.Token, c: c, sent: map[int]time.Time{}, acked: map[int]bool{}, ackCh: make(chan struct{}, 1024)}
	first, _ := json.Marshal(map[string]any{"type": "message.send", "client_id": fmt.Sprintf("%d-open", i), "body": "hello"})
	if err := c.Write(ctx, websocket.MessageText, first); err != nil {
		return nil, err
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return nil, err
		}
		var f frame
		_ = json.Unmarshal(data, &f)
		if f.Type == "ack" {
			v.conv = f.ConversationID
			break
		}
		if f.Type == "error" {
			return nil, fmt.Errorf("open: %s", data)
		}
	}
	b.byConv.Store(v.conv, v)
	go b.visitorReader(ctx, v)
	return v, nil
}

func parseClientID(id string) (int, int, bool) {
	a, bb, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, false
	}
	vi, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(bb)
	return vi, n, err1 == nil && err2 == nil
}

func (b *bench) visitorReader(ctx context.Context, v *visitor) {
	for {
		_, data, err := v.c.Read(ctx)
		if err != nil {
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			continue
		}
		switch f.Type {
		case "ack":
			_, n, ok := parseClientID(f.ClientID)
			if !ok {
				continue
			}
			now := time.Now()
			v.mu.Lock()
			t0, sent := v.sent[n]
			first := !v.acked[n]
			v.acked[n] = true
			v.mu.Unlock()
			if sent && first {
				b.ackedN.Add(1)
				b.latMu.Lock()
				b.ackLat = append(b.ackLat, float64(now.Sub(t0).Microseconds())/1000)
				b.latMu.Unlock()
			}
			select {
			case v.ackCh <- struct{}{}:
			default:
			}
		case "error":
			b.errs.add(fmt.Errorf("visitor %d: %s %s: %s", v.idx, f.Code, f.ClientID, f.Message))
			select {
			case v.ackCh <- struct{}{}:
			default:
			}
		}
	}
}

// agentReader checks every seq an agent receives and times deliveries of the
// bench's messages.
func (b *bench) agentReader(ctx context.Context, c *websocket.Conn) {
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				b.errs.add(fmt.Errorf("an agent socket closed: %v", err))
			}
			return
		}
		now := time.Now()
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			continue
		}
		switch f.Type {
		case "conversation.updated":
			if f.Conversation.AssigneeID != "" {
				if _, loaded := b.assigned.LoadOrStore(f.Conversation.ID, true); !loaded {
					b.assigns.Done()
				}
			}
		case "message.new":
			p, _ := b.lastSeq.LoadOrStore(f.ConversationID, new(int64))
			last := p.(*int64)
			switch {
			case f.Seq <= *last:
				b.dup.Add(1)
				continue
			case f.Seq != *last+1:
				b.ooo.Add(1)
			}
			*last = f.Seq
			var m benchMessage
			_ = json.Unmarshal(f.Message, &m)
			vi, n, ok := parseClientID(m.ClientID)
			if !ok || m.Author.Type != "visitor" {
				continue
			}
			if _, dup := b.seen.LoadOrStore(m.ClientID, struct{}{}); dup {
				b.dup.Add(1)
				continue
			}
			vv, _ := b.byConv.Load(f.ConversationID)
			v, _ := vv.(*visitor)
			if v == nil || v.idx != vi {
				continue
			}
			v.mu.Lock()
			t0, sent := v.sent[n]
			v.mu.Unlock()
			if sent {
				b.deliv.Add(1)
				b.latMu.Lock()
				b.lat = append(b.lat, float64(now.Sub(t0).Microseconds())/1000)
				b.latMu.Unlock()
			}
		case "error":
			b.errs.add(fmt.Errorf("agent: %s", data))
		}
	}
}

func body(scenario string, n int) string {
	if scenario == "mixed" && n%10 == 0 {
		return strings.Repeat("long message body ", 114) // ≈ 2 KiB
	}
	return "message " + strconv.Itoa(n)
}

// send drives one visitor until the deadline: at its share of the rate, or
// (rate 0) one message at a time, each after the previous ack.
func (b *bench) send(ctx context.Context, v *visitor, deadline time.Time) {
	var interval time.Duration
	if b.o.rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(b.o.visitors) / b.o.rate)
		// Spread the visitors' first sends over one interval.
		time.Sleep(time.Duration(float64(interval) * float64(v.idx) / float64(b.o.visitors)))
	}
	next := time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		v.mu.Lock()
		n := v.next
		v.next++
		v.sent[n] = time.Now()
		v.mu.Unlock()
		frame := map[string]any{"type": "message.send", "client_id": fmt.Sprintf("%d-%d", v.idx, n), "conversation_id": v.conv, "body": body(b.o.scenario, n)}
		if b.o.scenario == "files" || (b.o.scenario == "mixed" && n%10 == 5) {
			id, err := uploadFile(ctx, b.o.url, v.token, n)
			if err != nil {
				b.errs.add(err)
				return
			}
			frame["attachments"] = []string{id}
		}
		msg, _ := json.Marshal(frame)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := v.c.Write(wctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			b.errs.add(err)
			return
		}
		b.sentN.Add(1)
		if interval == 0 {
			select {
			case <-v.ackCh:
			case <-time.After(10 * time.Second):
				b.errs.add(fmt.Errorf("visitor %d: no ack in 10s", v.idx))
				return
			}
			continue
		}
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
}

func loadRun(ctx context.Context, o options, log io.Writer) (summary, error) {
	b := &bench{o: o}
	t0 := time.Now()
	if err := b.setup(ctx, log); err != nil {
		return summary{}, err
	}
	setup := time.Since(t0)
	fmt.Fprintf(log, "bench: setup took %s; sending for %s\n", setup.Round(time.Millisecond), o.duration)
	start := time.Now()
	deadline := start.Add(o.duration)
	var wg sync.WaitGroup
	for _, v := range b.visitors {
		wg.Add(1)
		go func() { defer wg.Done(); b.send(ctx, v, deadline) }()
	}
	wg.Wait()
	elapsed := time.Since(start)
	// Wait for the last deliveries.
	graceEnd := time.Now().Add(o.grace)
	for time.Now().Before(graceEnd) && b.deliv.Load() < b.ackedN.Load() {
		time.Sleep(50 * time.Millisecond)
	}
	var lost int64
	for _, v := range b.visitors {
		v.mu.Lock()
		for n := range v.acked {
			if _, ok := b.seen.Load(fmt.Sprintf("%d-%d", v.idx, n)); !ok {
				lost++
			}
		}
		v.mu.Unlock()
		v.c.Close(websocket.StatusNormalClosure, "")
	}
	rss, _ := serverRSS(ctx, o.url)
	b.latMu.Lock()
	defer b.latMu.Unlock()
	return summary{
		Scenario: o.scenario, Visitors: o.visitors, Agents: o.agents, TargetRate: o.rate,
		DurationSec: math.Round(elapsed.Seconds()*100) / 100,
		Sent:        b.sentN.Load(), Acked: b.ackedN.Load(), Delivered: b.deliv.Load(), Lost: lost,
		Duplicated: b.dup.Load(), OutOfOrder: b.ooo.Load(),
		MsgsPerSec: math.Round(float64(b.ackedN.Load()) / elapsed.Seconds()),
		Latency:    pct(b.lat), AckLatency: pct(b.ackLat),
		ServerRSSMiB: math.Round(float64(rss)/(1<<20)*10) / 10, Errors: b.errs.n.Load(), ErrorSamples: b.errs.samples,
		SetupSec: math.Round(setup.Seconds()*10) / 10, TenantSlug: b.slug, ServerURL: o.url,
		GoroutinesEnd: serverGoroutines(ctx, o.url),
	}, nil
}
