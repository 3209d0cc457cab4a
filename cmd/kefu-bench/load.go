package main

import (
	"bytes"
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

	"kefu/cmd/internal/kefuclient"
)

// summary is the JSON the bench prints.
type summary struct {
	Scenario    string     `json:"scenario"`
	Path        string     `json:"path"` // widget (no conversation_id) or named
	Window      int        `json:"window"`
	Flow        string     `json:"flow"`
	History     int        `json:"history"`
	Visitors    int        `json:"visitors"`
	Agents      int        `json:"agents"`
	TargetRate  float64    `json:"target_rate"`
	DurationSec float64    `json:"duration_s"`
	Sent        int64      `json:"sent"`
	Acked       int64      `json:"acked"`
	Delivered   int64      `json:"delivered"`
	Lost        int64      `json:"lost"`
	Duplicated  int64      `json:"duplicated"`
	OutOfOrder  int64      `json:"out_of_order"`
	MsgsPerSec  float64    `json:"msgs_per_s"`
	Latency     percentile `json:"latency_ms"`
	// OpenLatency is a conversation's opening: the visitor's first message
	// sent → the assigned agent has it (routing included).
	OpenLatency percentile `json:"open_latency_ms"`
	// OpenAck is the opening's first message sent → its ack (the opening
	// transaction); OpenAssigned is sent → an agent hears the conversation
	// is assigned (the flow's greeting and assignment included).
	OpenAck      percentile `json:"open_ack_ms"`
	OpenAssigned percentile `json:"open_assigned_ms"`
	AckLatency   percentile `json:"ack_latency_ms"`
	ServerRSSMiB float64    `json:"server_rss_mib"`
	// ServerCPUPerMsg is the server's CPU time while sending, per acked
	// message: steadier than msgs/s on a machine the bench shares.
	ServerCPUPerMsg float64  `json:"server_cpu_us_per_msg,omitempty"`
	Errors          int64    `json:"errors"`
	ErrorSamples    []string `json:"error_samples,omitempty"`
	SetupSec        float64  `json:"setup_s"`
	TenantSlug      string   `json:"tenant"`
	ServerURL       string   `json:"server"`
	GoroutinesEnd   int64    `json:"server_goroutines_end"`
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

// visitor is one visitor socket and its conversation. Message n of visitor
// i has client id "i-n"; the slices are indexed by n.
type visitor struct {
	idx   int
	token string
	conv  string
	c     *websocket.Conn

	mu        sync.Mutex
	sentAt    []int64 // unix nanos of the send
	acked     []bool
	delivered []bool // seen by the agent
	ackLat    []float64
	next      int
	ackCh     chan struct{}
}

// note records message n's ack (first=true the first time) and returns its
// send time.
func (v *visitor) note(n int, field func(v *visitor) []bool) (sentAt int64, first bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if n < 0 || n >= len(v.sentAt) {
		return 0, false
	}
	f := field(v)
	first = !f[n]
	f[n] = true
	return v.sentAt[n], first
}

type bench struct {
	o        options
	slug     string
	owner    string
	key      string
	visitors []*visitor
	convMu   sync.RWMutex
	byConv   map[string]*visitor
	errs     errs

	latMu    sync.Mutex
	lat      [][]float64 // one slice per agent reader
	agents   []*websocket.Conn
	dup      atomic.Int64
	ooo      atomic.Int64
	deliv    atomic.Int64
	sentN    atomic.Int64
	ackedN   atomic.Int64
	closing  atomic.Bool // the run is over: agent sockets close
	assigns  sync.WaitGroup
	assigned sync.Map // conversation id → bool

	openAt   []atomic.Int64 // per visitor: when its first message was sent (unix nanos)
	openSeen []atomic.Bool  // per visitor: an agent has its first message
	openMu   sync.Mutex
	openLat  []float64
	openAck  []float64
	openAsg  []float64
	convIdx  sync.Map // conversation id → visitor index (for the assignment's time)
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
	if err := kefuclient.Call(ctx, "POST", o.url+"/api/v1/signup", "", map[string]any{"company": company, "email": "bench@example.com", "password": "bench-password", "name": "Bench Owner"}, &su); err != nil {
		return err
	}
	b.slug, b.owner, b.key = su.Tenant.Slug, su.Token, su.Tenant.WidgetKey
	if o.history > 0 {
		if err := b.preload(ctx, log); err != nil {
			return err
		}
	}
	if o.flow == "bench" {
		// A flow that assigns every new conversation at once, round robin.
		flow := map[string]any{"name": "Bench", "graph": map[string]any{
			"nodes": []map[string]any{{"id": "start", "type": "start"}, {"id": "assign", "type": "assign", "data": map[string]any{"strategy": "round_robin"}}},
			"edges": []map[string]any{{"id": "e", "source": "start", "target": "assign"}},
		}}
		var f struct{ ID string }
		if err := kefuclient.Call(ctx, "POST", o.url+"/api/v1/flows", b.owner, flow, &f); err != nil {
			return err
		}
		if err := kefuclient.Call(ctx, "POST", o.url+"/api/v1/flows/"+f.ID+"/publish", b.owner, nil, nil); err != nil {
			return err
		}
	}
	capPer := min(1000, o.visitors/o.agents+10)
	fmt.Fprintf(log, "bench: tenant %s, %d agents (cap %d), %d visitors\n", b.slug, o.agents, capPer, o.visitors)
	for i := 0; i < o.agents; i++ {
		email := fmt.Sprintf("agent%d@example.com", i)
		if err := kefuclient.Call(ctx, "POST", o.url+"/api/v1/agents", b.owner, map[string]any{"email": email, "name": fmt.Sprintf("Agent %d", i), "password": "bench-password", "max_concurrent": capPer}, nil); err != nil {
			return err
		}
		var lg struct{ Token string }
		if err := kefuclient.Call(ctx, "POST", o.url+"/api/v1/auth/login", "", map[string]any{"tenant": b.slug, "email": email, "password": "bench-password"}, &lg); err != nil {
			return err
		}
		c, err := kefuclient.Dial(ctx, o.url, lg.Token, nil)
		if err != nil {
			return err
		}
		b.agents = append(b.agents, c)
		go b.agentReader(ctx, c)
		p, _ := json.Marshal(map[string]any{"type": "presence", "status": "online"})
		if err := c.Write(ctx, websocket.MessageText, p); err != nil {
			return err
		}
	}
	time.Sleep(200 * time.Millisecond) // presence echoes
	b.visitors = make([]*visitor, o.visitors)
	b.openAt = make([]atomic.Int64, o.visitors)
	b.openSeen = make([]atomic.Bool, o.visitors)
	sem := make(chan struct{}, o.openers)
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
	if err := kefuclient.Call(ctx, "POST", b.o.url+"/api/v1/widget/sessions", "", map[string]any{"widget_key": b.key, "visitor": map[string]any{"name": fmt.Sprintf("Visitor %d", i)}}, &ws); err != nil {
		return nil, err
	}
	c, err := kefuclient.Dial(ctx, b.o.url, ws.Token, nil)
	if err != nil {
		return nil, err
	}
	v := &visitor{idx: i, token: ws.Token, c: c, ackCh: make(chan struct{}, 1024)}
	first, _ := json.Marshal(map[string]any{"type": "message.send", "client_id": fmt.Sprintf("%d-open", i), "body": "hello"})
	b.openAt[i].Store(time.Now().UnixNano())
	if err := c.Write(ctx, websocket.MessageText, first); err != nil {
		return nil, err
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return nil, err
		}
		var f kefuclient.Frame
		_ = json.Unmarshal(data, &f)
		if f.Type == "ack" {
			v.conv = f.ConversationID
			b.openMu.Lock()
			b.openAck = append(b.openAck, float64(time.Now().UnixNano()-b.openAt[i].Load())/1e6)
			b.openMu.Unlock()
			b.convIdx.Store(v.conv, i)
			break
		}
		if f.Type == "error" {
			return nil, fmt.Errorf("open: %s", data)
		}
	}
	b.convMu.Lock()
	b.byConv[v.conv] = v
	b.convMu.Unlock()
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
	var buf bytes.Buffer
	for {
		data, err := kefuclient.ReadFrame(v.c, &buf)
		if err != nil {
			return
		}
		switch kefuclient.FrameType(data) {
		case "ack":
			_, n, ok := parseClientID(kefuclient.StrField(data, "client_id"))
			if !ok {
				continue
			}
			now := time.Now().UnixNano()
			t0, first := v.note(n, func(v *visitor) []bool { return v.acked })
			if t0 != 0 && first {
				b.ackedN.Add(1)
				v.mu.Lock()
				v.ackLat = append(v.ackLat, float64(now-t0)/1e6)
				v.mu.Unlock()
			}
			select {
			case v.ackCh <- struct{}{}:
			default:
			}
		case "error":
			var f kefuclient.Frame
			_ = json.Unmarshal(data, &f)
			b.errs.add(fmt.Errorf("visitor %d: %s %s: %s", v.idx, f.Code, f.ClientID, f.Message))
			select {
			case v.ackCh <- struct{}{}:
			default:
			}
		}
	}
}

// agentReader checks every seq an agent receives and times deliveries of the
// bench's messages. Frames are scanned for the few fields it needs rather
// than decoded: the bench shares the machine with the server, and every
// microsecond it spends is one the server does not get.
func (b *bench) agentReader(ctx context.Context, c *websocket.Conn) {
	var lat []float64
	b.latMu.Lock()
	slot := len(b.lat)
	b.lat = append(b.lat, nil)
	b.latMu.Unlock()
	flush := func() {
		b.latMu.Lock()
		b.lat[slot] = append(b.lat[slot], lat...)
		b.latMu.Unlock()
		lat = lat[:0]
	}
	defer flush()
	last := map[string]int64{} // conversation id → the last seq this agent got
	var buf bytes.Buffer
	for {
		data, err := kefuclient.ReadFrame(c, &buf)
		if err != nil {
			if ctx.Err() == nil && !b.closing.Load() {
				b.errs.add(fmt.Errorf("an agent socket closed: %v", err))
			}
			return
		}
		now := time.Now().UnixNano()
		switch kefuclient.FrameType(data) {
		case "conversation.updated":
			var f kefuclient.Frame
			if json.Unmarshal(data, &f) == nil && f.Conversation.AssigneeID != "" {
				if _, loaded := b.assigned.LoadOrStore(f.Conversation.ID, true); !loaded {
					if i, ok := b.convIdx.Load(f.Conversation.ID); ok {
						if t0 := b.openAt[i.(int)].Load(); t0 != 0 {
							b.openMu.Lock()
							b.openAsg = append(b.openAsg, float64(now-t0)/1e6)
							b.openMu.Unlock()
						}
					}
					b.assigns.Done()
				}
			}
		case "message.new":
			conv := string(kefuclient.BytesField(data, "conversation_id"))
			mi := bytes.Index(data, []byte(`"message":`))
			if mi < 0 {
				continue
			}
			seq := kefuclient.IntField(data, "seq")
			switch {
			case seq <= last[conv]:
				b.dup.Add(1)
				continue
			case seq != last[conv]+1:
				b.ooo.Add(1)
			}
			last[conv] = seq
			// The message object follows the frame's own fields.
			msg := data[mi:]
			if cid := kefuclient.StrField(msg, "client_id"); strings.HasSuffix(cid, "-open") {
				b.opened(cid, now)
				continue
			}
			b.convMu.RLock()
			v := b.byConv[conv]
			b.convMu.RUnlock()
			if v == nil {
				continue
			}
			vi, n, ok := parseClientID(kefuclient.StrField(msg, "client_id"))
			at := bytes.Index(msg, []byte(`"author":`))
			if !ok || vi != v.idx || at < 0 || kefuclient.StrField(msg[at:], "type") != "visitor" {
				continue
			}
			t0, first := v.note(n, func(v *visitor) []bool { return v.delivered })
			if !first {
				b.dup.Add(1)
				continue
			}
			if t0 != 0 {
				b.deliv.Add(1)
				lat = append(lat, float64(now-t0)/1e6)
				if len(lat) >= 4096 {
					flush()
				}
			}
		case "error":
			b.errs.add(fmt.Errorf("agent: %s", data))
		}
	}
}

// opened records a conversation's opening: the agent has its first message.
func (b *bench) opened(clientID string, now int64) {
	i, err := strconv.Atoi(strings.TrimSuffix(clientID, "-open"))
	if err != nil || i < 0 || i >= len(b.openAt) || !b.openSeen[i].CompareAndSwap(false, true) {
		return
	}
	if t0 := b.openAt[i].Load(); t0 != 0 {
		b.openMu.Lock()
		b.openLat = append(b.openLat, float64(now-t0)/1e6)
		b.openMu.Unlock()
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
	var msg []byte
	inflight := 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		v.mu.Lock()
		n := v.next
		v.next++
		v.mu.Unlock()
		if b.o.messages > 0 && n >= b.o.messages {
			break
		}
		// At most window messages wait for their acks.
		for inflight >= b.o.window {
			select {
			case <-v.ackCh:
				inflight--
			case <-time.After(10 * time.Second):
				b.errs.add(fmt.Errorf("visitor %d: no ack in 10s", v.idx))
				return
			}
		}
		msg = append(msg[:0], `{"type":"message.send","client_id":"`...)
		msg = strconv.AppendInt(msg, int64(v.idx), 10)
		msg = append(msg, '-')
		msg = strconv.AppendInt(msg, int64(n), 10)
		if b.o.withConv {
			msg = append(msg, `","conversation_id":"`...)
			msg = append(msg, v.conv...)
		}
		msg = append(msg, `","body":"`...)
		msg = append(msg, body(b.o.scenario, n)...)
		msg = append(msg, '"')
		if b.o.scenario == "files" || (b.o.scenario == "mixed" && n%10 == 5) {
			id, err := uploadFile(ctx, b.o.url, v.token, n)
			if err != nil {
				b.errs.add(err)
				return
			}
			msg = append(msg, `,"attachments":[`...)
			msg = strconv.AppendQuote(msg, id)
			msg = append(msg, ']')
		}
		msg = append(msg, '}')
		v.mu.Lock()
		v.sentAt = append(v.sentAt, time.Now().UnixNano())
		v.acked = append(v.acked, false)
		v.delivered = append(v.delivered, false)
		v.mu.Unlock()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := v.c.Write(wctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			b.errs.add(err)
			return
		}
		b.sentN.Add(1)
		inflight++
		if interval == 0 {
			continue
		}
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
}

func cpuPerMsg(cpu0, cpu1 float64, n int64) float64 {
	if cpu0 < 0 || cpu1 < 0 || n == 0 {
		return 0
	}
	return math.Round((cpu1-cpu0)/float64(n)*1e6*10) / 10
}

func loadRun(ctx context.Context, o options, log io.Writer) (summary, error) {
	b := &bench{o: o, byConv: map[string]*visitor{}}
	t0 := time.Now()
	if err := b.setup(ctx, log); err != nil {
		return summary{}, err
	}
	setup := time.Since(t0)
	fmt.Fprintf(log, "bench: setup took %s; sending for %s\n", setup.Round(time.Millisecond), o.duration)
	cpu0 := serverCPU(ctx, o)
	start := time.Now()
	deadline := start.Add(o.duration)
	var wg sync.WaitGroup
	for _, v := range b.visitors {
		wg.Add(1)
		go func() { defer wg.Done(); b.send(ctx, v, deadline) }()
	}
	wg.Wait()
	// The run ends when the last message in flight is acked.
	graceEnd := time.Now().Add(o.grace)
	for time.Now().Before(graceEnd) && b.ackedN.Load()+b.errs.n.Load() < b.sentN.Load() {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu1 := serverCPU(ctx, o)
	// Wait for the last deliveries.
	for time.Now().Before(graceEnd) && b.deliv.Load() < b.ackedN.Load() {
		time.Sleep(50 * time.Millisecond)
	}
	var lost int64
	var ackLat []float64
	for _, v := range b.visitors {
		v.mu.Lock()
		for n, acked := range v.acked {
			if acked && !v.delivered[n] {
				lost++
			}
		}
		ackLat = append(ackLat, v.ackLat...)
		v.mu.Unlock()
		v.c.Close(websocket.StatusNormalClosure, "")
	}
	b.closing.Store(true)
	for _, c := range b.agents {
		c.Close(websocket.StatusNormalClosure, "")
	}
	rss, _ := serverRSS(ctx, o)
	b.latMu.Lock()
	defer b.latMu.Unlock()
	var lat []float64
	for _, l := range b.lat {
		lat = append(lat, l...)
	}
	path := "widget"
	if o.withConv {
		path = "named"
	}
	b.openMu.Lock()
	openLat, openAck, openAsg := pct(b.openLat), pct(b.openAck), pct(b.openAsg)
	b.openMu.Unlock()
	return summary{
		Scenario: o.scenario, Path: path, Window: o.window, Flow: o.flow, History: o.history, OpenLatency: openLat, OpenAck: openAck, OpenAssigned: openAsg,
		Visitors: o.visitors, Agents: o.agents, TargetRate: o.rate,
		DurationSec: math.Round(elapsed.Seconds()*100) / 100,
		Sent:        b.sentN.Load(), Acked: b.ackedN.Load(), Delivered: b.deliv.Load(), Lost: lost,
		Duplicated: b.dup.Load(), OutOfOrder: b.ooo.Load(),
		MsgsPerSec: math.Round(float64(b.ackedN.Load()) / elapsed.Seconds()),
		Latency:    pct(lat), AckLatency: pct(ackLat),
		ServerRSSMiB: math.Round(float64(rss)/(1<<20)*10) / 10, ServerCPUPerMsg: cpuPerMsg(cpu0, cpu1, b.ackedN.Load()), Errors: b.errs.n.Load(), ErrorSamples: b.errs.samples,
		SetupSec: math.Round(setup.Seconds()*10) / 10, TenantSlug: b.slug, ServerURL: o.url,
		GoroutinesEnd: serverGoroutines(ctx, o),
	}, nil
}
