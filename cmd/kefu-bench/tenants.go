package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"kefu/cmd/internal/kefuclient"
)

// tenantsSummary is what --tenants prints: what holding many tenants costs
// one node. Latencies are over windows of signups, so the last window shows
// what signing up costs once the node already holds every other tenant.
type tenantsSummary struct {
	Tenants       int        `json:"tenants"`
	SignedUp      int64      `json:"signed_up"`
	Messaged      int64      `json:"messaged"`
	Failed        int64      `json:"failed"`
	SignupSec     float64    `json:"signup_s"`
	MessageSec    float64    `json:"message_s"`
	SignupFirst   percentile `json:"signup_first_window_ms"`
	SignupLast    percentile `json:"signup_last_window_ms"`
	SignupAll     percentile `json:"signup_all_ms"`
	Window        int        `json:"window"`
	MessageLat    percentile `json:"visitor_first_message_ms"`
	ServerRSSMiB  float64    `json:"server_rss_mib"`
	ServerFDs     int64      `json:"server_open_fds"`
	ServerGorout  int64      `json:"server_goroutines"`
	ErrorSamples  []string   `json:"error_samples,omitempty"`
	ServerURL     string     `json:"server"`
	Concurrency   int        `json:"concurrency"`
	StartedTenant int        `json:"first_index"`
}

// tenantsRun signs up o.tenants workspaces through the API, o.openers at a
// time (or as many as --tenants-for allows), then in each one opens a widget session and sends one visitor
// message over a socket (waiting for its ack, then closing), and reads the
// server's descriptors, RSS and goroutines from its metrics.
func tenantsRun(ctx context.Context, o options, log io.Writer) (tenantsSummary, error) {
	sum := tenantsSummary{Tenants: o.tenants, ServerURL: o.url, Concurrency: o.openers, StartedTenant: o.firstTenant}
	lat := make([]float64, o.tenants)
	keys := make([]string, o.tenants)
	var errs errs
	var ok, failed atomic.Int64
	each := func(ctx context.Context, work func(i int) error) {
		next := atomic.Int64{}
		var wg sync.WaitGroup
		for range o.openers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= o.tenants || ctx.Err() != nil {
						return
					}
					if err := work(i); err != nil {
						if ctx.Err() == nil {
							failed.Add(1)
							errs.add(err)
						}
						continue
					}
					if n := ok.Add(1); n%500 == 0 {
						fmt.Fprintf(log, "bench: %d done\n", n)
					}
				}
			}()
		}
		wg.Wait()
	}
	t0 := time.Now()
	sctx := ctx
	if o.tenantsFor > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, o.tenantsFor)
		defer cancel()
	}
	each(sctx, func(i int) error {
		var su struct {
			Tenant struct {
				WidgetKey string `json:"widget_key"`
			} `json:"tenant"`
		}
		start := time.Now()
		body := map[string]any{"company": fmt.Sprintf("Scale %d %s", o.firstTenant+i, randHex(3)), "email": "owner@example.com", "password": "bench-password", "name": "Owner"}
		if err := kefuclient.Call(sctx, "POST", o.url+"/api/v1/signup", "", body, &su); err != nil {
			return err
		}
		lat[i] = float64(time.Since(start).Microseconds()) / 1000
		keys[i] = su.Tenant.WidgetKey
		return nil
	})
	sum.SignupSec = time.Since(t0).Seconds()
	sum.SignedUp = ok.Load()
	// Signups end in about the order they start: the windows are the first
	// and the last ones that finished.
	signed := done(lat)
	sum.Window = min(len(signed), 200)
	sum.SignupFirst = pct(append([]float64(nil), signed[:sum.Window]...))
	sum.SignupLast = pct(signed[len(signed)-sum.Window:])
	sum.SignupAll = pct(append([]float64(nil), signed...))
	ok.Store(0)
	msgLat := make([]float64, o.tenants)
	t1 := time.Now()
	each(ctx, func(i int) error {
		if keys[i] == "" {
			return nil // not signed up
		}
		start := time.Now()
		if err := visitOnce(ctx, o.url, keys[i], i); err != nil {
			return err
		}
		msgLat[i] = float64(time.Since(start).Microseconds()) / 1000
		return nil
	})
	sum.MessageSec = time.Since(t1).Seconds()
	messaged := done(msgLat) // a skipped or failed visit left a zero; an interrupted run skips the rest
	sum.Messaged = int64(len(messaged))
	sum.MessageLat = pct(messaged)
	sum.Failed = failed.Load()
	sum.ErrorSamples = errs.samples
	time.Sleep(2 * time.Second) // flow runs and bus events settle
	rss, _ := serverRSS(ctx, o)
	sum.ServerRSSMiB = float64(rss) / (1 << 20)
	if f, err := serverMetric(ctx, o, "process_open_fds"); err == nil {
		sum.ServerFDs = int64(f)
	}
	sum.ServerGorout = serverGoroutines(ctx, o)
	return sum, nil
}

// done keeps the measured values (a failed call left a zero).
func done(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if x > 0 {
			out = append(out, x)
		}
	}
	return out
}

// visitOnce is one widget visit: a session, a socket, one message, its ack.
func visitOnce(ctx context.Context, base, widgetKey string, i int) error {
	var ws struct {
		Token string `json:"visitor_token"`
	}
	if err := kefuclient.Call(ctx, "POST", base+"/api/v1/widget/sessions", "", map[string]any{"widget_key": widgetKey}, &ws); err != nil {
		return err
	}
	c, err := kefuclient.Dial(ctx, base, ws.Token, nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	send, _ := json.Marshal(map[string]any{"type": "message.send", "client_id": fmt.Sprintf("scale-%d", i), "body": "hello"})
	if err := c.Write(rctx, websocket.MessageText, send); err != nil {
		return err
	}
	for {
		_, data, err := c.Read(rctx)
		if err != nil {
			return err
		}
		switch kefuclient.FrameType(data) {
		case "ack":
			return c.Close(websocket.StatusNormalClosure, "")
		case "error":
			return fmt.Errorf("send: %s", data)
		}
	}
}
