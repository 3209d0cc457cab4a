package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"kefu/api"
	"kefu/bots"
	"kefu/chat"
	"kefu/tenants"
	"kefu/tenants/tenantstest"
	"kefu/webhook"
	"kefu/ws"
)

// app is the whole server over one backend, behind a real HTTP listener.
type app struct {
	t     *testing.T
	srv   *httptest.Server
	api   *api.Server
	url   string
	chat  *chat.Service
	bots  *bots.Service
	store *tenants.Store
	hooks *webhook.Service          // its worker does not run unless a test starts it
	stop  func(ctx context.Context) // closes the chat service (once; cleanup does too)
}

func newApp(t *testing.T, store *tenants.Store) *app {
	t.Helper()
	return newAppWithBus(t, store, chat.NewLocalBus())
}

func newAppWithBus(t *testing.T, store *tenants.Store, bus chat.Bus) *app {
	t.Helper()
	return newAppWith(t, store, bus, nil)
}

// newAppWithChat is an app whose chat service has cfg's settings.
func newAppWithChat(t *testing.T, store *tenants.Store, cfg chat.Config) *app {
	t.Helper()
	return newAppWith(t, store, cfg.Bus, func(cc *chat.Config, _ *api.Config) {
		ten, log, reg, b := cc.Tenants, cc.Logger, cc.Registry, cc.Bots
		*cc = cfg
		cc.Tenants, cc.Logger, cc.Registry = ten, log, reg
		if cc.Bots == nil {
			cc.Bots = b
		}
	})
}

// newAppWith lets a test change the services' settings (limits, the
// clock) before they are built.
func newAppWith(t *testing.T, store *tenants.Store, bus chat.Bus, configure func(*chat.Config, *api.Config)) *app {
	t.Helper()
	return newAppOpts(t, store, appOptions{bus: bus, configure: configure})
}

// appOptions change how newAppOpts builds the server.
type appOptions struct {
	bus       chat.Bus
	log       *slog.Logger
	bots      func(*bots.Config)              // adjusts the bots' config
	configure func(*chat.Config, *api.Config) // adjusts chat's and the API's
	start     bool                            // run chat.Start (re-arm timers, adopt orphaned model calls)
	ws        *ws.Config                      // the socket server's settings (default: 10 sends/s, burst 20)
	tenants   func(*tenants.Config)           // adjusts the tenants service's (new tenants are on enterprise unless a test says otherwise)
}

func newAppOpts(t *testing.T, store *tenants.Store, o appOptions) *app {
	t.Helper()
	log := o.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bus := o.bus
	if bus == nil {
		bus = chat.NewLocalBus()
	}
	reg := prometheus.NewRegistry()
	tc := tenants.Config{Secret: []byte("0123456789abcdef0123456789abcdef"), Logger: log, DefaultPlan: tenants.PlanEnterprise}
	if o.tenants != nil {
		o.tenants(&tc)
	}
	ten := tenants.NewService(store, tc)
	bc := bots.Config{Tenants: ten, Secret: []byte("0123456789abcdef0123456789abcdef"), Logger: log, Registry: reg,
		AllowPrivateNetworks: true, // the tests' fake models listen on loopback
		OnChange: func(tenantID string) {
			_ = bus.Publish(context.Background(), chat.Event{Kind: chat.EventKnowledge, TenantID: tenantID})
		}}
	if o.bots != nil {
		o.bots(&bc)
	}
	b, err := bots.New(bc)
	if err != nil {
		t.Fatal(err)
	}
	cc := chat.Config{Tenants: ten, Bus: bus, Logger: log, Registry: reg, Bots: b}
	ac := api.Config{Tenants: ten, Bots: b, Logger: log, Gatherer: reg, AuthPerMinute: 10000, WidgetPerMinute: 10000, UploadsPerMinute: 10000,
		Ready: func(ctx context.Context) error { return store.Ping(ctx) }}
	if o.configure != nil {
		o.configure(&cc, &ac)
	}
	if cc.Bus == nil {
		cc.Bus = chat.NewLocalBus()
	}
	if cc.ScopeTTL == 0 {
		cc.ScopeTTL = 50 * time.Millisecond
	}
	c := chat.NewService(cc)
	if o.start {
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	wc := ws.Config{SendRate: 10, SendBurst: 20}
	if o.ws != nil {
		wc = *o.ws
	}
	wsSrv := ws.NewServer(wc, c, log, reg)
	hooks := webhook.NewService(webhook.Config{Store: store, Chat: c, Logger: log, AllowPrivateNetworks: true, Timeout: 2 * time.Second})
	ac.Chat, ac.WS, ac.Webhooks = c, wsSrv, hooks
	h := api.New(ac)
	srv := httptest.NewServer(conform(h.Handler()))
	var once sync.Once
	stop := func(ctx context.Context) { once.Do(func() { c.Close(ctx) }) }
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		wsSrv.Drain(ctx)
		srv.Close()
		// Flow runs and model calls still under way finish before the
		// store closes (and a temporary data directory is removed).
		stop(ctx)
	})
	return &app{t: t, srv: srv, api: h, url: srv.URL, chat: c, bots: b, store: store, hooks: hooks, stop: stop}
}

// forEachBackend runs fn against an app on SQLite and, when configured, on
// PostgreSQL.
func forEachBackend(t *testing.T, fn func(t *testing.T, a *app)) {
	for _, b := range tenantstest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newApp(t, b.Store)) })
	}
}

type resp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r resp) errCode() string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r resp) field(name string) string {
	e, _ := r.Body["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	s, _ := f[name].(string)
	return s
}

func (r resp) str(path ...string) string {
	var v any = r.Body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(int64(x))
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

// do sends a request; body may be a string (sent raw) or a value (as JSON).
func (a *app) do(method, path, token string, body any) resp {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, a.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

func (a *app) must(want int, method, path, token string, body any) resp {
	a.t.Helper()
	r := a.do(method, path, token, body)
	if r.Status != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Raw)
	}
	return r
}

// business is a signed-up tenant with its owner's token.
type business struct {
	tenantID, slug, widgetKey string
	ownerID, token            string
}

var seq int

func (a *app) signup(name string) business {
	a.t.Helper()
	seq++
	company := fmt.Sprintf("%s %d %s", name, seq, tenants.NewID()[24:])
	r := a.must(201, "POST", "/api/v1/signup", "", map[string]any{"company": company, "email": "owner@example.com", "password": "password1", "name": "Olga"})
	return business{tenantID: r.str("tenant", "id"), slug: r.str("tenant", "slug"), widgetKey: r.str("tenant", "widget_key"), ownerID: r.str("user", "id"), token: r.str("token")}
}

func (a *app) visitor(widgetKey string) (id, token string) {
	a.t.Helper()
	r := a.must(201, "POST", "/api/v1/widget/sessions", "", map[string]any{"widget_key": widgetKey, "visitor": map[string]any{"name": "Vera", "email": "vera@example.com", "attributes": map[string]any{"plan": "pro"}}})
	return r.str("visitor_id"), r.str("visitor_token")
}

// wsClient is a test WebSocket client: a reader goroutine feeds frames into
// a channel; expect waits for a frame of a type, keeping the others.
type wsClient struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan map[string]any
	closed chan error
	seen   []map[string]any
}

func (a *app) dial(t *testing.T) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.url, "http")+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {a.url}}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	w := &wsClient{t: t, c: c, frames: make(chan map[string]any, 1000), closed: make(chan error, 1)}
	go func() {
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				w.closed <- err
				close(w.frames)
				return
			}
			var f map[string]any
			_ = json.Unmarshal(data, &f)
			w.frames <- f
		}
	}()
	t.Cleanup(func() { c.CloseNow() })
	return w
}

func (a *app) connect(t *testing.T, token string, since map[string]int64) *wsClient {
	t.Helper()
	w := a.dial(t)
	w.send(map[string]any{"type": "hello", "token": token, "since": since})
	w.expect("welcome")
	return w
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("ws write: %v", err)
	}
}

func (w *wsClient) sendRaw(b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.c.Write(ctx, websocket.MessageText, b)
}

// expect returns the next frame of type typ within 5 s.
func (w *wsClient) expect(typ string) map[string]any {
	w.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				w.t.Fatalf("socket closed while waiting for %s", typ)
			}
			w.seen = append(w.seen, f)
			if f["type"] == typ {
				return f
			}
		case <-timeout:
			w.t.Fatalf("no %s frame within 5s; saw %v", typ, w.seen)
		}
	}
}

// quiet asserts no frame of type typ arrives within d.
func (w *wsClient) quiet(typ string, d time.Duration) {
	w.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				return
			}
			if f["type"] == typ {
				w.t.Fatalf("unexpected %s frame: %v", typ, f)
			}
		case <-timeout:
			return
		}
	}
}

func (w *wsClient) closeErr() error {
	w.t.Helper()
	select {
	case err := <-w.closed:
		return err
	case <-time.After(5 * time.Second):
		w.t.Fatal("socket still open after 5s")
		return nil
	}
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// settle waits until routing has decided on the conversation (it is no
// longer with the bot) and returns it.
func (a *app) settle(token, conv string) resp {
	a.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := a.must(200, "GET", "/api/v1/conversations/"+conv, token, nil)
		if r.str("status") != "bot" {
			ev := a.must(200, "GET", "/api/v1/conversations/"+conv+"/events", token, nil)
			if evs, _ := ev.Body["events"].([]any); len(evs) > 0 {
				return r
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("conversation %s still with the bot: %s", conv, r.Raw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
