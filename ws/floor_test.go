package ws_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
)

// BenchmarkRelayFloor measures what the machine can do with no Kefu in the
// way: a bare coder/websocket relay, with clients and server in this one
// process, where each visitor sends a frame, the server answers it with an
// ack and forwards it to an agent socket. No JSON, no database, no hub, no
// ordering. It is the ceiling of any durable server built on WebSockets on
// this machine with its load generator beside it:
//
//	go test -run '^$' -bench BenchmarkRelayFloor -benchtime 200000x ./ws/
func BenchmarkRelayFloor(b *testing.B) {
	const visitors, agents = 400, 10
	ctx := context.Background()
	var (
		mu      sync.Mutex
		agentWS []*websocket.Conn
		agentMu [agents]sync.Mutex
		ready   = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		defer c.CloseNow()
		if r.URL.Query().Get("agent") != "" {
			mu.Lock()
			agentWS = append(agentWS, c)
			if len(agentWS) == agents {
				close(ready)
			}
			mu.Unlock()
			<-r.Context().Done()
			return
		}
		<-ready
		ack := []byte(`{"type":"ack"}`)
		for i := 0; ; i++ {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			if c.Write(ctx, websocket.MessageText, ack) != nil {
				return
			}
			a := i % agents
			agentMu[a].Lock()
			err = agentWS[a].Write(ctx, websocket.MessageText, data)
			agentMu[a].Unlock()
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var delivered atomic.Int64
	for range agents {
		c, _, err := websocket.Dial(ctx, url+"?agent=1", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.CloseNow() })
		go func() {
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
				delivered.Add(1)
			}
		}()
	}
	conns := make([]*websocket.Conn, visitors)
	for i := range conns {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.CloseNow() })
		conns[i] = c
	}
	msg := []byte(`{"type":"message.send","client_id":"1-1","conversation_id":"0193a7c2-7f6e-7d2a-9c1b-2f4e5d6c7b8a","body":"message 1"}`)
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
					b.Error(err)
					return
				}
				if _, _, err := c.Read(ctx); err != nil { // the ack
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for delivered.Load() < int64(b.N) {
		runtime.Gosched()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
