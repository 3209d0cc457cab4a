package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"kefu/cmd/internal/kefuclient"
)

type idleSummary struct {
	Connections      int      `json:"connections"`
	Opened           int64    `json:"opened"`
	Failed           int64    `json:"failed"`
	RSSBeforeMiB     float64  `json:"server_rss_before_mib"`
	RSSHeldMiB       float64  `json:"server_rss_held_mib"`
	RSSPerSocketKiB  float64  `json:"server_rss_per_socket_kib"`
	GoroutinesBefore int64    `json:"server_goroutines_before"`
	GoroutinesHeld   int64    `json:"server_goroutines_held"`
	GoroutinesAfter  int64    `json:"server_goroutines_after"`
	ConnectSec       float64  `json:"connect_s"`
	ErrorSamples     []string `json:"error_samples,omitempty"`
}

// idleRun opens N visitor sockets, holds them, and reports the server's RSS
// per socket, then closes them and reports whether goroutines return.
func idleRun(ctx context.Context, o options, log io.Writer) (idleSummary, error) {
	b := &bench{o: o}
	var su struct {
		Tenant struct {
			WidgetKey string `json:"widget_key"`
		} `json:"tenant"`
	}
	if err := kefuclient.Call(ctx, "POST", o.url+"/api/v1/signup", "", map[string]any{"company": "Idle " + randHex(4), "email": "bench@example.com", "password": "bench-password", "name": "Bench"}, &su); err != nil {
		return idleSummary{}, err
	}
	var ws struct {
		Token string `json:"visitor_token"`
	}
	// One visitor, many sockets: a visitor token may be used by any number of
	// tabs, and it keeps the bench about sockets, not sessions.
	if err := kefuclient.Call(ctx, "POST", o.url+"/api/v1/widget/sessions", "", map[string]any{"widget_key": su.Tenant.WidgetKey}, &ws); err != nil {
		return idleSummary{}, err
	}
	time.Sleep(time.Second)
	before, _ := serverRSS(ctx, o)
	gBefore := serverGoroutines(ctx, o)
	conns := make([]*websocket.Conn, o.connections)
	var opened, failed atomic.Int64
	t0 := time.Now()
	sem := make(chan struct{}, 128)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(max(1, o.dialRate)))
	for i := range conns {
		<-tick.C
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := kefuclient.Dial(ctx, o.url, ws.Token, nil)
			if err != nil {
				failed.Add(1)
				b.errs.add(err)
				return
			}
			// Read (and drop) frames so pings are answered.
			go func() {
				for {
					if _, _, err := c.Read(context.Background()); err != nil {
						return
					}
				}
			}()
			conns[i] = c
			opened.Add(1)
		}()
	}
	wg.Wait()
	tick.Stop()
	connect := time.Since(t0)
	fmt.Fprintf(log, "bench: %d sockets open in %s; holding %s\n", opened.Load(), connect.Round(time.Millisecond), o.hold)
	time.Sleep(o.hold)
	held, _ := serverRSS(ctx, o)
	gHeld := serverGoroutines(ctx, o)
	for _, c := range conns {
		if c != nil {
			c.CloseNow()
		}
	}
	time.Sleep(3 * time.Second)
	gAfter := serverGoroutines(ctx, o)
	per := 0.0
	if n := opened.Load(); n > 0 {
		per = float64(held-before) / float64(n) / 1024
	}
	return idleSummary{
		Connections: o.connections, Opened: opened.Load(), Failed: failed.Load(),
		RSSBeforeMiB: math.Round(float64(before)/(1<<20)*10) / 10, RSSHeldMiB: math.Round(float64(held)/(1<<20)*10) / 10,
		RSSPerSocketKiB: math.Round(per*10) / 10, GoroutinesBefore: gBefore, GoroutinesHeld: gHeld, GoroutinesAfter: gAfter,
		ConnectSec: math.Round(connect.Seconds()*10) / 10, ErrorSamples: b.errs.samples,
	}, nil
}
