package main

// TestObservability runs the real binary with metrics on their own port,
// JSON logs and tracing to an OTLP receiver in this test, walks a scripted
// journey through it (signup, agents, an API key, a flow with a bot reply,
// a webhook and an assignment, a visitor and an agent chatting over
// WebSockets, REST calls, a 404 and a 405), and then checks what an
// operator relies on:
//
//   - the scrape has every kefu_* family with its labels, each moving where
//     the journey moved it, and no tenant or conversation id as a label;
//   - promtool accepts the scrape (check metrics) and the alert rules (check
//     rules);
//   - every query of the Grafana dashboard names metrics of the scrape, and
//     with a real Prometheus scraping the node, every panel has data and
//     every alert rule evaluates;
//   - one message's path (receive, send, commit, publish, deliver) is one
//     trace, the webhook call joins the trace of the message that made it,
//     and a REST caller's traceparent is continued;
//   - every log line is JSON, request lines carry method, route, status,
//     latency, request id and tenant id, and no secret appears anywhere.
//
// It runs on PostgreSQL and Redis when KEFU_TEST_DATABASE_URL and
// KEFU_TEST_REDIS_URL are set (then the Redis families are checked too),
// else on SQLite with the in-process bus.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"kefu/api/apitest"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestObservability(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real server: skipped in -short mode")
	}
	bin := buildKefu(t)
	otlp := newOTLPReceiver(t)
	hooks := newTraceHookReceiver(t)
	metricsAddr := freeLoopbackAddr(t)
	cfg := journeyConfig{bin: bin, dataDir: t.TempDir(), env: []string{
		"KEFU_METRICS_ADDR=" + metricsAddr, "KEFU_LOG_FORMAT=json", "KEFU_LOG_LEVEL=info",
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp.srv.URL, "OTEL_BSP_SCHEDULE_DELAY=100",
	}}
	var schemas *tenantSchemas
	dbURL, redisURL := os.Getenv("KEFU_TEST_DATABASE_URL"), os.Getenv("KEFU_TEST_REDIS_URL")
	withRedis := dbURL != "" && redisURL != ""
	if withRedis {
		schemas = newTenantSchemas(t, dbURL)
		cfg.databaseURL, cfg.redisURL = dbURL, redisURL
	} else {
		t.Log("KEFU_TEST_DATABASE_URL/KEFU_TEST_REDIS_URL not set: SQLite and the in-process bus, without the Redis families")
	}
	srv := startKefu(t, cfg)
	j := &obsJourney{root: t, srv: srv, api: newAPIClient(srv), schemas: schemas, hooks: hooks}
	j.run(t)

	scrapeURL := "http://" + metricsAddr + "/metrics"
	raw, families := scrape(t, scrapeURL)
	t.Run("every family is present with its labels, and moving where the journey moved it", func(t *testing.T) {
		checkFamilies(t, families, withRedis)
	})
	t.Run("no label value is a tenant, user, visitor or conversation id", func(t *testing.T) {
		ids := j.ids()
		for name, mf := range families {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					for _, id := range ids {
						if id != "" && strings.Contains(l.GetValue(), id) {
							t.Errorf("%s{%s=%q} names an id", name, l.GetName(), l.GetValue())
						}
					}
				}
			}
		}
	})
	promtool, err := exec.LookPath("promtool")
	t.Run("promtool accepts the scrape and the alert rules", func(t *testing.T) {
		if err != nil {
			t.Skip("promtool is not installed (apt-get install prometheus); .ci/run installs it")
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(raw)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
		out, err := exec.Command(promtool, "check", "rules", filepath.Join(moduleRoot(t), "deploy", "prometheus", "alerts.yml")).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules: %v\n%s", err, out)
		}
	})
	dash := loadDashboard(t)
	t.Run("every dashboard query names metrics of the scrape", func(t *testing.T) {
		for _, p := range dash {
			for _, expr := range p.exprs {
				names := metricNames(expr)
				if len(names) == 0 {
					t.Errorf("panel %q: query %q names no metric", p.title, expr)
				}
				for _, n := range names {
					if !hasSeries(families, n) && (withRedis || !strings.HasPrefix(n, "kefu_redis_")) {
						t.Errorf("panel %q: %s is not in the scrape (query %q)", p.title, n, expr)
					}
				}
			}
		}
	})
	t.Run("a real Prometheus finds data for every panel and evaluates every alert", func(t *testing.T) {
		promBin, err := exec.LookPath("prometheus")
		if err != nil {
			t.Skip("the prometheus server is not installed (apt-get install prometheus); .ci/run installs it")
		}
		prom := startPrometheus(t, promBin, metricsAddr)
		// Two scrapes at least, with the journey's traffic between them.
		j.traffic(t)
		prom.waitScrapes(t, 3)
		covered := 0
		for _, p := range dash {
			empty := []string{}
			for _, expr := range p.exprs {
				if !withRedis && strings.Contains(expr, "kefu_redis_") {
					continue
				}
				if n := prom.query(t, expr); n == 0 {
					empty = append(empty, expr)
				}
			}
			if len(empty) > 0 {
				t.Errorf("panel %q has no data for %q", p.title, empty)
			} else {
				covered++
			}
		}
		t.Logf("%d of %d panels have data", covered, len(dash))
		prom.checkRules(t)
	})
	t.Run("one message's path is one trace", func(t *testing.T) {
		j.checkTraces(t, otlp)
	})
	t.Run("logs are JSON, request lines say what an operator needs, and no secret is logged", func(t *testing.T) {
		j.checkLogs(t, srv.log.tail(64<<20))
	})
}

// ---------------------------------------------------------------------------
// The journey

type obsJourney struct {
	root    *testing.T // owns the sockets, which outlive the step that opens them
	srv     *kefuServer
	api     apitest.Client
	schemas *tenantSchemas
	hooks   *traceHookReceiver

	owner, agent     journeyAccount
	ownerPassword    string
	agentPassword    string
	apiKey           string
	visitor          apitest.WidgetSession
	convID           string
	visitorClientID  string // the visitor's first message
	replyClientID    string // the owner's reply
	restTraceID      string // the traceparent the REST caller sent
	restTraceParent  string
	ownerWS, visitWS *apitest.Conn
}

func (j *obsJourney) ids() []string {
	return []string{j.owner.tenant.ID, j.owner.user.ID, j.agent.user.ID, j.visitor.VisitorID, j.convID}
}

func (j *obsJourney) run(t *testing.T) {
	api := j.api
	t.Run("a business signs up, adds an agent and an API key", func(t *testing.T) {
		j.ownerPassword = "owner secret " + randHex(6)
		r := api.Post(t, "/api/v1/signup", map[string]any{"company": "Observed " + randHex(4), "email": "owner-" + randHex(4) + "@example.com", "password": j.ownerPassword, "name": "Olivia"}).Want(t, 201)
		var s apitest.SignupAnswer
		r.Into(t, &s)
		j.owner = journeyAccount{tenant: s.Tenant, user: s.User, token: s.Token}
		if j.schemas != nil {
			j.schemas.add(s.Tenant.ID)
		}
		owner := api.As(j.owner.token)
		j.agentPassword = "agent secret " + randHex(6)
		email := "agent-" + randHex(4) + "@example.com"
		owner.Post(t, "/api/v1/agents", map[string]any{"email": email, "name": "Ada", "password": j.agentPassword, "role": "agent"}).Want(t, 201)
		var lg apitest.LoginAnswer
		api.Post(t, "/api/v1/auth/login", map[string]any{"tenant": j.owner.tenant.Slug, "email": email, "password": j.agentPassword}).Want(t, 200).Into(t, &lg)
		j.agent = journeyAccount{tenant: s.Tenant, user: lg.User, token: lg.Token}
		var key apitest.APIKey
		owner.Post(t, "/api/v1/api-keys", map[string]any{"name": "crm", "role": "developer"}).Want(t, 201).Into(t, &key)
		j.apiKey = key.Key
		api.As(j.apiKey).Get(t, "/api/v1/conversations").Want(t, 200)
	})
	t.Run("the owner publishes a flow: a bot reply, a webhook, then assignment", func(t *testing.T) {
		owner := api.As(j.owner.token)
		flow := map[string]any{"name": "Observed", "graph": map[string]any{
			"nodes": []map[string]any{
				{"id": "start", "type": "start"},
				{"id": "hello", "type": "reply", "data": map[string]any{"text": "Hello from the bot"}},
				{"id": "hook", "type": "webhook", "data": map[string]any{"url": j.hooks.srv.URL + "/hook", "timeout_ms": 2000}},
				{"id": "assign", "type": "assign", "data": map[string]any{"strategy": "round_robin"}},
			},
			"edges": []map[string]any{
				{"id": "e1", "source": "start", "target": "hello"},
				{"id": "e2", "source": "hello", "target": "hook"},
				{"id": "e3", "source": "hook", "target": "assign"},
			},
		}}
		var f struct{ ID string }
		owner.Post(t, "/api/v1/flows", flow).Want(t, 201).Into(t, &f)
		owner.Post(t, "/api/v1/flows/"+f.ID+"/publish", nil).Want(t, 200)
	})
	t.Run("a visitor writes; the flow answers, calls the webhook and queues the conversation", func(t *testing.T) {
		var ws apitest.WidgetSession
		api.Post(t, "/api/v1/widget/sessions", map[string]any{"widget_key": j.owner.tenant.WidgetKey, "visitor": map[string]any{"name": "Vera"}}).Want(t, 201).Into(t, &ws)
		j.visitor = ws
		j.visitWS = dialWS(t, j.srv, "visitor", j.root)
		j.visitWS.Hello(t, ws.VisitorToken, nil, journeyWait)
		j.visitorClientID = newClientID("trace-visitor")
		ack := sendMessage(t, j.visitWS, "", j.visitorClientID, "hello, is anyone there?")
		j.convID = ack.ConversationID
		j.visitWS.ExpectMatch(t, "the bot's reply", func(f apitest.Frame) bool {
			m, err := f.Msg()
			return f.Type == "message.new" && err == nil && m.Author.Type == "bot"
		}, journeyWait)
		j.hooks.wait(t, 1)
		waitFor(t, "the conversation to be queued", func() bool { return j.conversation(t).Status == "queued" })
	})
	t.Run("the owner comes online, gets the conversation and replies", func(t *testing.T) {
		j.ownerWS = dialWS(t, j.srv, "owner", j.root)
		j.ownerWS.Hello(t, j.owner.token, nil, journeyWait)
		j.ownerWS.Send(t, map[string]any{"type": "presence", "status": "online"})
		waitFor(t, "the conversation to be assigned", func() bool { return j.conversation(t).Status == "assigned" })
		j.ownerWS.Send(t, map[string]any{"type": "subscribe", "conversation_id": j.convID})
		j.ownerWS.Send(t, map[string]any{"type": "typing", "conversation_id": j.convID, "state": true})
		j.replyClientID = newClientID("trace-reply")
		ack := sendMessage(t, j.ownerWS, j.convID, j.replyClientID, "Hi Vera, how can I help?")
		j.visitWS.ExpectMatch(t, "the owner's reply", isMessageNew(j.convID, ack.Seq), journeyWait)
		j.visitWS.Send(t, map[string]any{"type": "read", "conversation_id": j.convID, "seq": ack.Seq})
		j.visitWS.Send(t, map[string]any{"type": "ping"})
		j.visitWS.Expect(t, "pong", journeyWait)
	})
	t.Run("REST: a traced post, reads, a 404, a 405 and a HEAD", func(t *testing.T) {
		j.restTraceID = randHex(16)
		j.restTraceParent = "00-" + j.restTraceID + "-" + randHex(8) + "-01"
		api.As(j.apiKey).DoRequest(t, apitest.Request{Method: "POST", Path: "/api/v1/conversations/" + j.convID + "/messages",
			Body:   `{"body":"posted over REST","client_id":"` + newClientID("rest") + `"}`,
			Header: map[string]string{"traceparent": j.restTraceParent}}).Want(t, 201)
		owner := api.As(j.owner.token)
		owner.Get(t, "/api/v1/conversations/"+j.convID+"/messages").Want(t, 200)
		owner.Get(t, "/api/v1/conversations/"+j.convID+"/events").Want(t, 200)
		owner.Get(t, "/api/v1/no-such-thing").Want(t, 404)
		owner.Do(t, "DELETE", "/api/v1/me", nil).Want(t, 405)
		api.Do(t, "HEAD", "/", nil).Want(t, 200)
		api.Get(t, "/healthz").Want(t, 200)
	})
}

// traffic is a little more of everything, between two scrapes.
func (j *obsJourney) traffic(t *testing.T) {
	for i := 0; i < 3; i++ {
		ack := sendMessage(t, j.visitWS, j.convID, newClientID("more"), fmt.Sprintf("and another thing (%d)", i))
		j.ownerWS.ExpectMatch(t, "the visitor's message", isMessageNew(j.convID, ack.Seq), journeyWait)
		j.api.As(j.owner.token).Get(t, "/api/v1/conversations").Want(t, 200)
		time.Sleep(400 * time.Millisecond)
	}
}

func (j *obsJourney) conversation(t *testing.T) apitest.Conversation {
	t.Helper()
	var c apitest.Conversation
	j.api.As(j.owner.token).Get(t, "/api/v1/conversations/"+j.convID).Want(t, 200).Into(t, &c)
	return c
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(journeyWait)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", journeyWait, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// Metrics

func scrape(t *testing.T, url string) ([]byte, map[string]*dto.MetricFamily) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("scrape: %d %s", res.StatusCode, raw)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return raw, fams
}

// family is what the scrape must hold of one family: its labels, and the
// label sets whose value must have moved (a counter or gauge above zero, a
// histogram with observations); "" in a set matches any value.
type family struct {
	name   string
	labels []string
	moved  []map[string]string
	redis  bool // only with Redis
}

func checkFamilies(t *testing.T, fams map[string]*dto.MetricFamily, withRedis bool) {
	anyValue := map[string]string{}
	want := []family{
		{name: "kefu_build_info", labels: []string{"commit", "goversion", "version"}, moved: []map[string]string{anyValue}},
		{name: "kefu_http_requests_total", labels: []string{"method", "route", "status"}, moved: []map[string]string{
			{"route": "/api/v1/signup", "method": "POST", "status": "201"}, {"route": "/ws", "method": "GET", "status": "101"},
			{"route": "/api/v1/*", "method": "DELETE", "status": "405"}, {"route": "/api/v1/conversations/:id/messages", "method": "POST", "status": "201"}}},
		{name: "kefu_http_request_duration_seconds", labels: []string{"method", "route"}, moved: []map[string]string{{"route": "/api/v1/flows/:id/publish"}}},
		{name: "kefu_http_requests_in_flight"},
		{name: "kefu_ws_connections", moved: []map[string]string{anyValue}},
		{name: "kefu_ws_sockets", labels: []string{"kind"}, moved: []map[string]string{{"kind": "visitor"}, {"kind": "user"}}},
		{name: "kefu_ws_frames_in_total", labels: []string{"type"}, moved: []map[string]string{{"type": "hello"}, {"type": "message.send"}, {"type": "presence"}, {"type": "subscribe"}, {"type": "typing"}, {"type": "read"}, {"type": "ping"}}},
		{name: "kefu_ws_frames_out_total", labels: []string{"type"}, moved: []map[string]string{{"type": "welcome"}, {"type": "ack"}, {"type": "message.new"}, {"type": "conversation.updated"}, {"type": "presence"}, {"type": "pong"}}},
		{name: "kefu_ws_messages_in_total", moved: []map[string]string{anyValue}},
		{name: "kefu_ws_ack_seconds", moved: []map[string]string{anyValue}},
		{name: "kefu_ws_slow_consumers_total"},
		{name: "kefu_ws_refused_total", labels: []string{"reason"}},
		{name: "kefu_messages_stored_total", labels: []string{"author"}, moved: []map[string]string{{"author": "visitor"}, {"author": "agent"}, {"author": "bot"}}},
		{name: "kefu_message_persist_seconds", moved: []map[string]string{anyValue}},
		{name: "kefu_message_commit_batch_size", moved: []map[string]string{anyValue}},
		{name: "kefu_message_commit_seconds", moved: []map[string]string{anyValue}},
		{name: "kefu_message_commit_failures_total"},
		{name: "kefu_bus_events_published_total", labels: []string{"kind"}, moved: []map[string]string{{"kind": "message"}, {"kind": "conversation"}, {"kind": "presence"}, {"kind": "read"}, {"kind": "typing"}}},
		{name: "kefu_bus_publish_errors_total"},
		{name: "kefu_bus_delivery_lag_seconds", moved: []map[string]string{anyValue}},
		{name: "kefu_routing_decisions_total", labels: []string{"outcome"}, moved: []map[string]string{{"outcome": "queue"}}},
		{name: "kefu_routing_breaker_transitions_total", labels: []string{"state"}},
		{name: "kefu_routing_breakers", labels: []string{"state"}, moved: []map[string]string{{"state": "closed"}}},
		{name: "kefu_routing_queue_length"},
		{name: "kefu_routing_queue_wait_seconds", moved: []map[string]string{anyValue}},
		{name: "kefu_flow_runs_skipped_total"},
		{name: "kefu_outbound_requests_total", labels: []string{"result", "target"}, moved: []map[string]string{{"target": "flow_webhook", "result": "ok"}}},
		{name: "kefu_outbound_request_seconds", labels: []string{"target"}, moved: []map[string]string{{"target": "flow_webhook"}}},
		{name: "kefu_db_connections", labels: []string{"dialect", "state"}, moved: []map[string]string{anyValue}},
		{name: "kefu_db_max_connections", labels: []string{"dialect"}, moved: []map[string]string{anyValue}},
		{name: "kefu_db_pools", labels: []string{"dialect"}, moved: []map[string]string{anyValue}},
		{name: "kefu_db_waits_total", labels: []string{"dialect"}},
		{name: "kefu_db_wait_seconds_total", labels: []string{"dialect"}},
		{name: "kefu_db_query_errors_total", labels: []string{"op"}},
		{name: "kefu_redis_commands_total", labels: []string{"command"}, moved: []map[string]string{{"command": "publish"}}, redis: true},
		{name: "kefu_redis_errors_total", labels: []string{"command"}, redis: true},
		{name: "kefu_redis_command_seconds", moved: []map[string]string{anyValue}, redis: true},
		{name: "kefu_redis_dials_total", labels: []string{"result"}, moved: []map[string]string{{"result": "ok"}}, redis: true},
		{name: "kefu_redis_setting_ok", labels: []string{"setting"}, redis: true},
		{name: "kefu_redis_up", moved: []map[string]string{anyValue}, redis: true},
		{name: "kefu_redis_ping_seconds", redis: true},
		{name: "kefu_redis_pool_connections", labels: []string{"state"}, moved: []map[string]string{{"state": "total"}}, redis: true},
		{name: "kefu_redis_pool_waits_total", redis: true},
		{name: "kefu_redis_pool_timeouts_total", redis: true},
		{name: "process_start_time_seconds", moved: []map[string]string{anyValue}},
		{name: "process_cpu_seconds_total", moved: []map[string]string{anyValue}},
		{name: "process_resident_memory_bytes", moved: []map[string]string{anyValue}},
		{name: "go_goroutines", moved: []map[string]string{anyValue}},
	}
	known := map[string]bool{}
	for _, f := range want {
		known[f.name] = true
		if f.redis && !withRedis {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			mf := fams[f.name]
			if mf == nil || len(mf.GetMetric()) == 0 {
				t.Fatalf("%s is not in the scrape", f.name)
			}
			for _, m := range mf.GetMetric() {
				var names []string
				for _, l := range m.GetLabel() {
					names = append(names, l.GetName())
				}
				sort.Strings(names)
				if !slices.Equal(names, f.labels) && !(len(names) == 0 && len(f.labels) == 0) {
					t.Errorf("labels %v, want %v", names, f.labels)
				}
			}
			for _, sel := range f.moved {
				if !moved(mf, sel) {
					t.Errorf("%s%v did not move during the journey", f.name, sel)
				}
			}
		})
	}
	for name := range fams {
		if strings.HasPrefix(name, "kefu_") && !known[name] {
			t.Logf("family %s is not checked by this test", name)
		}
	}
	n := 0
	for name := range fams {
		if strings.HasPrefix(name, "kefu_") {
			n++
		}
	}
	t.Logf("%d kefu_ families, %d families in all", n, len(fams))
}

// moved reports whether a series matching sel has a value above zero (a
// histogram: observations).
func moved(mf *dto.MetricFamily, sel map[string]string) bool {
	for _, m := range mf.GetMetric() {
		match := true
		for k, v := range sel {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && (v == "" || l.GetValue() == v) {
					found = true
				}
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch {
		case m.GetCounter() != nil && m.GetCounter().GetValue() > 0,
			m.GetGauge() != nil && m.GetGauge().GetValue() > 0,
			m.GetHistogram() != nil && m.GetHistogram().GetSampleCount() > 0:
			return true
		}
	}
	return false
}

// hasSeries: the scrape has a series of name, which may be a histogram's
// _bucket, _sum or _count.
func hasSeries(fams map[string]*dto.MetricFamily, name string) bool {
	if mf := fams[name]; mf != nil && len(mf.GetMetric()) > 0 {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if mf := fams[base]; mf != nil && mf.GetType() == dto.MetricType_HISTOGRAM {
				return true
			}
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// The dashboard

type dashPanel struct {
	title string
	exprs []string
}

func loadDashboard(t *testing.T) []dashPanel {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(moduleRoot(t), "deploy", "grafana", "kefu.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("deploy/grafana/kefu.json: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Fatalf("the dashboard has no title or uid")
	}
	var out []dashPanel
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		dp := dashPanel{title: p.Title}
		for _, tg := range p.Targets {
			dp.exprs = append(dp.exprs, tg.Expr)
		}
		if len(dp.exprs) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		out = append(out, dp)
	}
	if len(out) < 20 {
		t.Fatalf("only %d panels", len(out))
	}
	return out
}

var (
	promIdent   = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promStrings = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|\{[^}]*\}|\[[^\]]*\]`)
	promWords   = map[string]bool{"sum": true, "by": true, "rate": true, "increase": true, "histogram_quantile": true, "max": true, "min": true,
		"count": true, "avg": true, "without": true, "on": true, "and": true, "or": true, "unless": true, "clamp_min": true, "vector": true,
		"changes": true, "le": true, "offset": true, "bool": true, "ignoring": true, "group_left": true, "group_right": true, "topk": true, "e": true}
)

// metricNames are the metric names a PromQL query names: identifiers that
// are not functions, keywords or label names (inside by (…) they are).
func metricNames(expr string) []string {
	stripped := promStrings.ReplaceAllString(expr, " ")
	stripped = regexp.MustCompile(`(by|without|on|ignoring)\s*\([^)]*\)`).ReplaceAllString(stripped, " ")
	var out []string
	for _, id := range promIdent.FindAllString(stripped, -1) {
		if promWords[id] {
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// promServer is a real Prometheus server scraping the node every second.
type promServer struct {
	url string
}

func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	rules := filepath.Join(moduleRoot(t), "deploy", "prometheus", "alerts.yml")
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: kefu
    static_configs:
      - targets: [%q]
`, rules, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	out := &lockedBuffer{}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.tail(8192))
		}
	})
	p := &promServer{url: "http://" + addr}
	waitFor(t, "prometheus to be ready", func() bool {
		res, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	return p
}

func (p *promServer) api(t *testing.T, path string, v any) {
	t.Helper()
	res, err := http.Get(p.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("prometheus %s: %d %s", path, res.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("prometheus %s: %v", path, err)
	}
}

func (p *promServer) waitScrapes(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if p.query(t, fmt.Sprintf("count_over_time(up{job=\"kefu\"}[5m]) >= %d", n)) > 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("prometheus did not scrape the node %d times", n)
}

// query evaluates a dashboard query as Grafana would (its rate interval
// set to a minute) and returns how many series it gives.
func (p *promServer) query(t *testing.T, expr string) int {
	t.Helper()
	expr = strings.ReplaceAll(expr, "$__rate_interval", "1m")
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	p.api(t, "/api/v1/query?query="+url.QueryEscape(expr), &r)
	return len(r.Data.Result)
}

// checkRules: Prometheus loaded every alert rule, and each evaluates
// without error.
func (p *promServer) checkRules(t *testing.T) {
	t.Helper()
	var r struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.api(t, "/api/v1/rules", &r)
		n, bad := 0, []string{}
		for _, g := range r.Data.Groups {
			for _, rule := range g.Rules {
				n++
				if rule.Health != "ok" {
					bad = append(bad, rule.Name+": "+rule.Health+" "+rule.LastError)
				}
			}
		}
		if n > 0 && len(bad) == 0 {
			t.Logf("%d alert rules evaluate", n)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rules loaded; not healthy: %v", n, bad)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// Traces

// otlpReceiver is an OTLP/HTTP trace endpoint: it decodes the protobuf
// export requests the server sends and keeps their spans.
type otlpReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []recvSpan
}

type recvSpan struct {
	traceID, spanID, parentID, name string
	attrs                           map[string]string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/v1/traces" || req.Method != "POST" {
			http.NotFound(w, req)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		raw, _ := io.ReadAll(body)
		var ex collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &ex); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		r.mu.Lock()
		for _, rs := range ex.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					attrs := map[string]string{}
					for _, a := range s.GetAttributes() {
						v := a.GetValue()
						attrs[a.GetKey()] = v.GetStringValue()
						if v.GetStringValue() == "" {
							attrs[a.GetKey()] = fmt.Sprint(v.GetIntValue())
						}
					}
					r.spans = append(r.spans, recvSpan{traceID: fmt.Sprintf("%x", s.GetTraceId()), spanID: fmt.Sprintf("%x", s.GetSpanId()),
						parentID: fmt.Sprintf("%x", s.GetParentSpanId()), name: s.GetName(), attrs: attrs})
				}
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *otlpReceiver) snapshot() []recvSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

// traceHookReceiver is the flow's webhook endpoint; it keeps the traceparent
// headers it was called with.
type traceHookReceiver struct {
	srv          *httptest.Server
	mu           sync.Mutex
	traceparents []string
}

func newTraceHookReceiver(t *testing.T) *traceHookReceiver {
	h := &traceHookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		h.mu.Lock()
		h.traceparents = append(h.traceparents, req.Header.Get("traceparent"))
		h.mu.Unlock()
		w.WriteHeader(204)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *traceHookReceiver) wait(t *testing.T, n int) {
	t.Helper()
	waitFor(t, "the webhook to be called", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.traceparents) >= n
	})
}

func (j *obsJourney) checkTraces(t *testing.T, otlp *otlpReceiver) {
	// The root span of a message sent over a socket names its client_id.
	find := func(spans []recvSpan, clientID string) (recvSpan, bool) {
		for _, s := range spans {
			if s.name == "ws message.send" && s.attrs["kefu.client_id"] == clientID {
				return s, true
			}
		}
		return recvSpan{}, false
	}
	inTrace := func(spans []recvSpan, id string) map[string][]recvSpan {
		out := map[string][]recvSpan{}
		for _, s := range spans {
			if s.traceID == id {
				out[s.name] = append(out[s.name], s)
			}
		}
		return out
	}
	var spans []recvSpan
	var reply recvSpan
	deadline := time.Now().Add(journeyWait)
	for {
		spans = otlp.snapshot()
		var ok bool
		if reply, ok = find(spans, j.replyClientID); ok && len(inTrace(spans, reply.traceID)["ws.deliver"]) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reply's trace did not arrive (%d spans received)", len(spans))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Run("the reply: receive, send, commit, publish, deliver", func(t *testing.T) {
		tr := inTrace(spans, reply.traceID)
		one := func(name, parent string) recvSpan {
			t.Helper()
			for _, s := range tr[name] {
				if parent == "" || s.parentID == parent {
					return s
				}
			}
			t.Fatalf("no %s span under %s in the trace (it has %v)", name, parent, keys(tr))
			return recvSpan{}
		}
		send := one("chat.Send", reply.spanID)
		commit := one("message.commit", send.spanID)
		if commit.attrs["kefu.batch_size"] == "" || commit.attrs["kefu.batch_size"] == "0" {
			t.Errorf("the commit span has no batch size: %v", commit.attrs)
		}
		pub := one("bus.publish", send.spanID)
		deliver := one("ws.deliver", pub.spanID)
		if deliver.attrs["kefu.sockets"] == "0" {
			t.Errorf("the delivery reached no socket: %v", deliver.attrs)
		}
		if send.attrs["kefu.conversation_id"] != j.convID {
			t.Errorf("chat.Send attributes: %v", send.attrs)
		}
	})
	t.Run("the visitor's first message: its flow run and webhook call are in its trace", func(t *testing.T) {
		first, ok := find(spans, j.visitorClientID)
		if !ok {
			t.Fatal("no span for the visitor's first message")
		}
		tr := inTrace(otlp.snapshot(), first.traceID)
		for _, name := range []string{"chat.Send", "message.commit", "bus.publish", "ws.deliver", "flow.run", "webhook POST"} {
			if len(tr[name]) == 0 {
				t.Errorf("no %s span in the first message's trace (it has %v)", name, keys(tr))
			}
		}
		j.hooks.mu.Lock()
		tp := j.hooks.traceparents[0]
		j.hooks.mu.Unlock()
		if !strings.Contains(tp, first.traceID) {
			t.Errorf("the webhook was called with traceparent %q, not in trace %s", tp, first.traceID)
		}
	})
	t.Run("a REST caller's traceparent is continued", func(t *testing.T) {
		tr := inTrace(otlp.snapshot(), j.restTraceID)
		for _, name := range []string{"POST /api/v1/conversations/:id/messages", "chat.Send", "message.commit", "bus.publish"} {
			if len(tr[name]) == 0 {
				t.Errorf("no %s span in the caller's trace (it has %v)", name, keys(tr))
			}
		}
	})
}

func keys(m map[string][]recvSpan) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------------
// Logs

func (j *obsJourney) checkLogs(t *testing.T, logs string) {
	secrets := map[string]string{
		"the owner's password": j.ownerPassword, "the agent's password": j.agentPassword,
		"the owner's session token": j.owner.token, "the agent's session token": j.agent.token,
		"the API key": j.apiKey, "the visitor token": j.visitor.VisitorToken, "KEFU_SECRET": journeySecret,
	}
	for what, s := range secrets {
		if s == "" {
			t.Errorf("the journey has no %s to look for", what)
			continue
		}
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %s", what)
		}
	}
	requests, withTenant, traced := 0, 0, 0
	for _, line := range strings.Split(logs, "\n") {
		if line == "" || strings.HasPrefix(line, "----- kefu serve") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("not JSON: %q", line)
			continue
		}
		if m["msg"] != "http" {
			continue
		}
		requests++
		for _, k := range []string{"method", "route", "path", "status", "ms", "request_id"} {
			if _, ok := m[k]; !ok {
				t.Errorf("request line without %s: %s", k, line)
			}
		}
		if m["level"] != "INFO" {
			t.Errorf("request line at %v: %s", m["level"], line)
		}
		if m["tenant_id"] == j.owner.tenant.ID {
			withTenant++
		}
		if m["trace_id"] != nil {
			traced++
		}
	}
	if requests < 10 || withTenant == 0 || traced == 0 {
		t.Errorf("%d request lines, %d with the tenant id, %d with a trace id", requests, withTenant, traced)
	}
}
