package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kefu/api"
	"kefu/api/apitest"
	"kefu/bots"
	"kefu/chat"
	"kefu/flowrun"
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
	flowrun.New(c, flowrun.Config{})
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

// resp is one answer of the API (see apitest.Response).
type resp = apitest.Response

// client is an API client of the app's server with token ("" for none).
func (a *app) client(token string) apitest.Client { return apitest.New(a.url).As(token) }

// do sends a request; body may be a string (sent raw) or a value (as JSON).
func (a *app) do(method, path, token string, body any) resp {
	a.t.Helper()
	return a.client(token).Do(a.t, method, path, body)
}

func (a *app) must(want int, method, path, token string, body any) resp {
	a.t.Helper()
	return a.client(token).Must(a.t, want, method, path, body)
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
	acc := a.client("").Signup(a.t, company, "owner@example.com", "password1", "Olga")
	return business{tenantID: acc.TenantID, slug: acc.Slug, widgetKey: acc.WidgetKey, ownerID: acc.OwnerID, token: acc.Token}
}

func (a *app) visitor(widgetKey string) (id, token string) {
	a.t.Helper()
	return a.client("").Visitor(a.t, widgetKey, map[string]any{"name": "Vera", "email": "vera@example.com", "attributes": map[string]any{"plan": "pro"}})
}

// wsClient is a test WebSocket client (apitest.Conn) that drops the frames
// a wait passes over; expect waits for a frame of a type.
type wsClient struct {
	*apitest.Conn
	t    *testing.T
	seen []map[string]any // the frames expect went through
}

func (a *app) dial(t *testing.T) *wsClient {
	t.Helper()
	c := apitest.Dial(t, apitest.WSURL(a.url), apitest.DialOptions{Origin: a.url, ReadLimit: 1 << 20, Discard: true, Timeout: 5 * time.Second})
	return &wsClient{Conn: c, t: t}
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
	w.Send(w.t, v)
}

func (w *wsClient) sendRaw(b []byte) error { return w.WriteRaw(b) }

// expect returns the next frame of type typ within 5 s.
func (w *wsClient) expect(typ string) map[string]any {
	w.t.Helper()
	f, err := w.Next(func(f apitest.Frame) bool {
		w.seen = append(w.seen, f.M)
		return f.M["type"] == typ
	}, 5*time.Second)
	if err != nil {
		w.t.Fatalf("no %s frame: %v; saw %v", typ, err, w.seen)
	}
	return f.M
}

// quiet asserts no frame of type typ arrives within d.
func (w *wsClient) quiet(typ string, d time.Duration) {
	w.t.Helper()
	if f, err := w.Next(func(f apitest.Frame) bool { return f.M["type"] == typ }, d); err == nil {
		w.t.Fatalf("unexpected %s frame: %v", typ, f.M)
	}
}

func (w *wsClient) closeErr() error {
	w.t.Helper()
	err, ok := w.WaitClosed(5 * time.Second)
	if !ok {
		w.t.Fatal("socket still open after 5s")
	}
	return err
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
		if r.Str("status") != "bot" {
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
