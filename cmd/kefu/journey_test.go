package main

// TestJourney is the black-box acceptance test of the foundation: it builds the
// real binary, runs `kefu serve` and walks one business, its agents, an API
// client and a visitor through the public contract (api/openapi.yaml) over
// HTTP and WebSocket, including a graceful restart and a kill -9. The same
// journey runs on the embedded SQLite store and, when a test database and Redis
// are given, on PostgreSQL + Redis:
//
//	go test -run TestJourney -count=1 -v ./cmd/kefu/
//	KEFU_TEST_DATABASE_URL=postgres://… KEFU_TEST_REDIS_URL=redis://… go test -run TestJourney ./cmd/kefu/

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kefu/api/apitest"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"
)

func TestJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("the journey builds and runs the real server: skipped in -short mode")
	}
	bin := buildKefu(t)

	t.Run("embedded_sqlite", func(t *testing.T) {
		runJourney(t, journeyConfig{bin: bin, dataDir: t.TempDir()}, nil)
	})

	t.Run("postgres_and_redis", func(t *testing.T) {
		dbURL, redisURL := os.Getenv("KEFU_TEST_DATABASE_URL"), os.Getenv("KEFU_TEST_REDIS_URL")
		if dbURL == "" || redisURL == "" {
			t.Skip("KEFU_TEST_DATABASE_URL/KEFU_TEST_REDIS_URL not set: skipping the PostgreSQL+Redis journey")
		}
		// Registered before the server starts, so the schemas are dropped
		// after the server has been killed.
		schemas := newTenantSchemas(t, dbURL)
		runJourney(t, journeyConfig{bin: bin, dataDir: t.TempDir(), databaseURL: dbURL, redisURL: redisURL}, schemas)
	})
}

// journeyAccount is a signed-up or logged-in user and the credentials it used.
type journeyAccount struct {
	tenant   apitest.Tenant
	user     apitest.User
	token    string
	email    string
	password string
}

// journey is the state the steps hand on to each other.
type journey struct {
	root    *testing.T // owns connections that outlive one step
	srv     *kefuServer
	api     apitest.Client // no credential; use api.As(token)
	schemas *tenantSchemas

	owner    journeyAccount
	agent    journeyAccount
	agentID  string
	apiKey   string
	visitor  apitest.WidgetSession
	tenantB  journeyAccount
	convID   string
	convB    string
	helloCID string // client_id of the visitor's first message
	helloAck apitest.Frame

	ownerWS   *apitest.Conn
	visitorWS *apitest.Conn
}

func runJourney(t *testing.T, cfg journeyConfig, schemas *tenantSchemas) {
	srv := startKefu(t, cfg)
	j := &journey{root: t, srv: srv, api: newAPIClient(srv), schemas: schemas}

	journeyStep(t, "the health, readiness and metrics endpoints answer", j.health)
	journeyStep(t, "a business signs up and gets a tenant, an owner and a token", j.signup)
	journeyStep(t, "signup refuses malformed JSON, a missing email and a short password", j.signupValidation)
	journeyStep(t, "signup refuses a taken company but accepts a reused email for another company", j.signupDuplicates)
	journeyStep(t, "the owner logs in and reads who they are, and bad credentials are refused", j.login)
	journeyStep(t, "the owner adds an agent who may not administer", j.agents)
	journeyStep(t, "a developer API key reads conversations but may not administer", j.apiKeys)
	journeyStep(t, "a visitor opens a widget session and resumes it with the visitor token", j.widgetSession)
	journeyStep(t, "the owner goes online and chats with the visitor over the WebSocket", j.chat)
	journeyStep(t, "a resent client_id is acknowledged again without being stored twice", j.idempotentResend)
	journeyStep(t, "REST lists, reads and posts to the conversation", j.restConversation)
	journeyStep(t, "read state only moves forward, even under concurrent receipts", j.readState)
	journeyStep(t, "another business can reach none of the first one's data", j.tenantIsolation)
	journeyStep(t, "bad frames get error frames and an oversized frame closes the connection", j.badFrames)
	journeyStep(t, "a reconnecting visitor receives exactly the messages they missed", j.resume)
	journeyStep(t, "sessions and messages survive a graceful restart", j.gracefulRestart)
	journeyStep(t, "an acknowledged message survives kill -9", j.crash)
	if schemas != nil {
		journeyStep(t, "every tenant has its own PostgreSQL schema", j.postgresSchemas)
	}
}

// journeyStep runs one step of the journey and stops the journey if it failed: later
// steps build on earlier ones.
func journeyStep(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, fn) {
		t.FailNow()
	}
}

// ---------------------------------------------------------------------------
// Steps

func (j *journey) health(t *testing.T) {
	j.api.Get(t, "/healthz").Want(t, http.StatusOK)
	j.api.Get(t, "/readyz").Want(t, http.StatusOK)
	r := j.api.Get(t, "/metrics").Want(t, http.StatusOK)
	if !strings.Contains(r.Raw, "kefu_") {
		t.Errorf("/metrics has no kefu_ metric:\n%.2000s", r.Raw)
	}
}

func (j *journey) signup(t *testing.T) {
	j.owner = j.signupAccount(t, "Journey "+randHex(4), "Olivia Owner")
}

// signupAccount signs up a new business and checks the answer's shape.
func (j *journey) signupAccount(t *testing.T, company, name string) journeyAccount {
	t.Helper()
	a := journeyAccount{email: "owner-" + randHex(4) + "@example.com", password: "correct horse " + randHex(2)}
	r := j.postSignup(t, map[string]any{"company": company, "email": a.email, "password": a.password, "name": name})
	r.Want(t, http.StatusCreated)
	var s apitest.SignupAnswer
	r.Into(t, &s)
	if s.Tenant.ID == "" || s.Tenant.Slug == "" || s.Tenant.WidgetKey == "" || s.Token == "" || s.User.ID == "" {
		t.Fatalf("signup answer lacks tenant.id, tenant.slug, tenant.widget_key, user.id or token: %s", r)
	}
	if s.Tenant.Name != company {
		t.Errorf("tenant.name = %q, want %q", s.Tenant.Name, company)
	}
	if s.User.Role != "owner" || s.User.Email != a.email || s.User.Name != name {
		t.Errorf("signup user = %+v, want role owner, email %q, name %q", s.User, a.email, name)
	}
	a.tenant, a.user, a.token = s.Tenant, s.User, s.Token
	return a
}

// postSignup posts a signup; any tenant it creates is registered for cleanup.
func (j *journey) postSignup(t *testing.T, body any) apitest.Response {
	t.Helper()
	r := j.api.Post(t, "/api/v1/signup", body)
	if r.Status == http.StatusCreated && j.schemas != nil {
		var s apitest.SignupAnswer
		r.Into(t, &s)
		j.schemas.add(s.Tenant.ID)
	}
	return r
}

func (j *journey) signupValidation(t *testing.T) {
	t.Run("malformed JSON is invalid_argument", func(t *testing.T) {
		j.postSignup(t, apitest.Raw(`{"company": "Broken`)).WantError(t, http.StatusBadRequest, "invalid_argument")
	})
	t.Run("a missing email is named in error.fields", func(t *testing.T) {
		j.postSignup(t, map[string]any{"company": "NoEmail " + randHex(4), "password": "long enough 1", "name": "N"}).
			WantFieldError(t, "email")
	})
	t.Run("a password under 8 characters is named in error.fields", func(t *testing.T) {
		j.postSignup(t, map[string]any{"company": "Short " + randHex(4), "email": "short-" + randHex(4) + "@example.com", "password": "short", "name": "S"}).
			WantFieldError(t, "password")
	})
}

func (j *journey) signupDuplicates(t *testing.T) {
	t.Run("the same company name again gets a free slug and names no other workspace", func(t *testing.T) {
		r := j.postSignup(t, map[string]any{
			"company": j.owner.tenant.Name, "email": "other-" + randHex(4) + "@example.com",
			"password": "another password", "name": "Copycat",
		}).Want(t, http.StatusCreated)
		var s apitest.SignupAnswer
		r.Into(t, &s)
		if s.Tenant.ID == j.owner.tenant.ID || s.Tenant.Slug == j.owner.tenant.Slug || !strings.HasPrefix(s.Tenant.Slug, j.owner.tenant.Slug+"-") {
			t.Errorf("the copy got slug %q (the first has %q): %s", s.Tenant.Slug, j.owner.tenant.Slug, r)
		}
	})
	t.Run("the owner's email may sign up a different company", func(t *testing.T) {
		r := j.postSignup(t, map[string]any{
			"company": "Second Shop " + randHex(4), "email": j.owner.email, "password": "a different one", "name": "Olivia Owner",
		}).Want(t, http.StatusCreated)
		var s apitest.SignupAnswer
		r.Into(t, &s)
		if s.Tenant.ID == j.owner.tenant.ID || s.User.ID == "" {
			t.Errorf("the second company got tenant %q, the first has %q: %s", s.Tenant.ID, j.owner.tenant.ID, r)
		}
	})
}

func (j *journey) login(t *testing.T) {
	r := j.api.Post(t, "/api/v1/auth/login", map[string]any{
		"tenant": j.owner.tenant.Slug, "email": j.owner.email, "password": j.owner.password,
	}).Want(t, http.StatusOK)
	var l apitest.LoginAnswer
	r.Into(t, &l)
	if l.Token == "" || l.User.ID != j.owner.user.ID {
		t.Errorf("login answer: want a token and user.id %q: %s", j.owner.user.ID, r)
	}

	j.api.Post(t, "/api/v1/auth/login", map[string]any{
		"tenant": j.owner.tenant.Slug, "email": j.owner.email, "password": j.owner.password + "x",
	}).WantError(t, http.StatusUnauthorized, "unauthenticated")

	for _, tok := range []struct{ name, token string }{{"the signup token", j.owner.token}, {"the login token", l.Token}} {
		r := j.api.As(tok.token).Get(t, "/api/v1/me")
		if r.Status != http.StatusOK {
			t.Errorf("GET /api/v1/me with %s: %s", tok.name, r)
			continue
		}
		var me apitest.Me
		r.Into(t, &me)
		if me.User.ID != j.owner.user.ID || me.Tenant.ID != j.owner.tenant.ID || len(me.Permissions) == 0 {
			t.Errorf("GET /api/v1/me with %s: want user %q, tenant %q and permissions: %s", tok.name, j.owner.user.ID, j.owner.tenant.ID, r)
		}
	}

	j.api.Get(t, "/api/v1/me").WantError(t, http.StatusUnauthorized, "unauthenticated")
	j.api.As("garbage."+randHex(16)).Get(t, "/api/v1/me").WantError(t, http.StatusUnauthorized, "unauthenticated")
}

func (j *journey) agents(t *testing.T) {
	owner := j.api.As(j.owner.token)
	j.agent = journeyAccount{email: "agent-" + randHex(4) + "@example.com", password: "agent password 1", tenant: j.owner.tenant}
	r := owner.Post(t, "/api/v1/agents", map[string]any{
		"email": j.agent.email, "name": "Andy Agent", "password": j.agent.password,
		"role": "agent", "skills": []string{"billing"}, "max_concurrent": 5,
	}).Want(t, http.StatusCreated)
	var a apitest.Agent
	r.Into(t, &a)
	if a.ID == "" || a.Email != j.agent.email || a.Role != "agent" || !slices.Equal(a.Skills, []string{"billing"}) || a.MaxConcurrent != 5 {
		t.Errorf("created agent: want id, email %q, role agent, skills [billing], max_concurrent 5: %s", j.agent.email, r)
	}
	j.agentID = a.ID

	owner.Post(t, "/api/v1/agents", map[string]any{
		"email": j.agent.email, "name": "Andy Again", "password": "agent password 2", "role": "agent",
	}).WantError(t, http.StatusConflict, "already_exists")
	owner.Post(t, "/api/v1/agents", map[string]any{
		"email": "wizard-" + randHex(4) + "@example.com", "name": "Wiz", "password": "wizard password", "role": "wizard",
	}).WantFieldError(t, "role")

	r = owner.Get(t, "/api/v1/agents").Want(t, http.StatusOK)
	var list struct {
		Agents []apitest.Agent `json:"agents"`
	}
	r.Into(t, &list)
	found := map[string]apitest.Agent{}
	for _, a := range list.Agents {
		found[a.Email] = a
		if a.Status == nil || !slices.Contains([]string{"online", "away", "offline"}, *a.Status) {
			t.Errorf("agent %s: want status online|away|offline: %s", a.Email, r)
		}
	}
	if o, ok := found[j.owner.email]; !ok {
		t.Errorf("GET /api/v1/agents does not list the owner %s: %s", j.owner.email, r)
	} else if o.ID != j.owner.user.ID {
		t.Errorf("the owner is listed with id %q, but is user %q", o.ID, j.owner.user.ID)
	}
	if _, ok := found[j.agent.email]; !ok {
		t.Errorf("GET /api/v1/agents does not list the new agent %s: %s", j.agent.email, r)
	}

	r = j.api.Post(t, "/api/v1/auth/login", map[string]any{
		"tenant": j.owner.tenant.Slug, "email": j.agent.email, "password": j.agent.password,
	}).Want(t, http.StatusOK)
	var l apitest.LoginAnswer
	r.Into(t, &l)
	j.agent.token, j.agent.user = l.Token, l.User
	asAgent := j.api.As(l.Token)
	asAgent.Post(t, "/api/v1/agents", map[string]any{
		"email": "sneaky-" + randHex(4) + "@example.com", "name": "Sneaky", "password": "sneaky password", "role": "admin",
	}).WantError(t, http.StatusForbidden, "permission_denied")
	asAgent.Post(t, "/api/v1/api-keys", map[string]any{"name": "mine", "role": "admin"}).
		WantError(t, http.StatusForbidden, "permission_denied")
}

func (j *journey) apiKeys(t *testing.T) {
	r := j.api.As(j.owner.token).Post(t, "/api/v1/api-keys", map[string]any{"name": "crm", "role": "developer"}).
		Want(t, http.StatusCreated)
	var k apitest.APIKey
	r.Into(t, &k)
	if !strings.HasPrefix(k.Key, "kf_") || k.ID == "" || k.Name != "crm" {
		t.Fatalf("api key: want id, name crm and a key starting kf_: %s", r)
	}
	j.apiKey = k.Key
	key := j.api.As(k.Key)
	key.Get(t, "/api/v1/conversations").Want(t, http.StatusOK)
	key.Post(t, "/api/v1/agents", map[string]any{
		"email": "bot-" + randHex(4) + "@example.com", "name": "Bot", "password": "bot password", "role": "admin",
	}).WantError(t, http.StatusForbidden, "permission_denied")
}

func (j *journey) widgetSession(t *testing.T) {
	r := j.api.Post(t, "/api/v1/widget/sessions", map[string]any{
		"widget_key": j.owner.tenant.WidgetKey,
		"visitor": map[string]any{
			"name": "Vera", "email": "vera-" + randHex(4) + "@example.com", "attributes": map[string]any{"plan": "pro"},
		},
	}).Want(t, http.StatusCreated)
	r.Into(t, &j.visitor)
	if j.visitor.VisitorID == "" || j.visitor.VisitorToken == "" {
		t.Fatalf("widget session: want visitor_id and visitor_token: %s", r)
	}

	j.api.Post(t, "/api/v1/widget/sessions", map[string]any{"widget_key": "wk_" + randHex(12), "visitor": map[string]any{}}).
		WantError(t, http.StatusNotFound, "not_found")

	j.visitor = j.resumeVisitor(t)
}

// resumeVisitor opens a widget session with the visitor token and checks that
// it is the same visitor.
func (j *journey) resumeVisitor(t *testing.T) apitest.WidgetSession {
	t.Helper()
	r := j.api.Post(t, "/api/v1/widget/sessions", map[string]any{
		"widget_key": j.owner.tenant.WidgetKey, "visitor_token": j.visitor.VisitorToken, "visitor": map[string]any{},
	}).Want(t, http.StatusCreated, http.StatusOK)
	var again apitest.WidgetSession
	r.Into(t, &again)
	if again.VisitorID != j.visitor.VisitorID {
		t.Fatalf("resuming with the visitor token gave visitor %q, want %q: %s", again.VisitorID, j.visitor.VisitorID, r)
	}
	if again.VisitorToken == "" {
		again.VisitorToken = j.visitor.VisitorToken
	}
	return again
}

func (j *journey) chat(t *testing.T) {
	j.ownerWS = dialWS(t, j.srv, "owner", j.root)
	if w := j.ownerWS.Hello(t, j.owner.token, nil, journeyWait); w.SessionID == "" {
		t.Errorf("welcome without session_id: %s", w)
	}
	j.ownerWS.Send(t, map[string]any{"type": "presence", "status": "online"})
	j.ownerWS.ExpectMatch(t, "the presence confirmation", func(f apitest.Frame) bool {
		return f.Type == "presence" && f.Status == "online"
	}, journeyWait)
	j.checkOwnerStatus(t, "online")

	j.visitorWS = dialWS(t, j.srv, "visitor", j.root)
	j.visitorWS.Hello(t, j.visitor.VisitorToken, nil, journeyWait)

	j.helloCID = newClientID("visitor")
	ack := sendMessage(t, j.visitorWS, "", j.helloCID, "hello")
	if ack.ConversationID == "" || ack.Seq < 1 || ack.MessageID == "" {
		t.Fatalf("visitor's ack: want conversation_id, seq >= 1 and message_id: %s", ack)
	}
	j.convID, j.helloAck = ack.ConversationID, ack

	updated := j.ownerWS.ExpectMatch(t, "conversation.updated for the new conversation", func(f apitest.Frame) bool {
		return f.Type == "conversation.updated" && f.Conv() != nil && f.Conv().ID == j.convID
	}, journeyWait)
	delivered := j.ownerWS.ExpectMatch(t, "message.new of the visitor's hello", isMessageNew(j.convID, ack.Seq), journeyWait)
	if delivered.Index < updated.Index {
		t.Errorf("the owner got message.new (#%d) before conversation.updated (#%d)", delivered.Index, updated.Index)
	}
	checkDelivered(t, delivered, ack, "visitor", "hello")

	replyCID := newClientID("owner")
	reply := sendMessage(t, j.ownerWS, j.convID, replyCID, "Hi Vera, how can I help?")
	if reply.ConversationID != j.convID || reply.Seq <= ack.Seq {
		t.Errorf("owner's ack: want conversation %s and a seq after %d: %s", j.convID, ack.Seq, reply)
	}
	got := j.visitorWS.ExpectMatch(t, "message.new of the owner's reply", isMessageNew(j.convID, reply.Seq), journeyWait)
	m := checkDelivered(t, got, reply, "agent", "Hi Vera, how can I help?")
	if m.Author.ID != "" && m.Author.ID != j.owner.user.ID {
		t.Errorf("the reply's author.id = %q, want the owner %q", m.Author.ID, j.owner.user.ID)
	}

	j.ownerWS.WaitSeq(t, j.convID, reply.Seq, journeyWait)
	j.visitorWS.WaitSeq(t, j.convID, reply.Seq, journeyWait)
	j.ownerWS.CheckSeqs(t, j.convID, 1)
	j.visitorWS.CheckSeqs(t, j.convID, 1)
}

// checkOwnerStatus reports unless GET /api/v1/agents shows the owner with status.
func (j *journey) checkOwnerStatus(t *testing.T, status string) {
	t.Helper()
	r := j.api.As(j.owner.token).Get(t, "/api/v1/agents").Want(t, http.StatusOK)
	var list struct {
		Agents []apitest.Agent `json:"agents"`
	}
	r.Into(t, &list)
	for _, a := range list.Agents {
		if a.ID == j.owner.user.ID {
			if a.Status == nil || *a.Status != status {
				t.Errorf("after presence %s the owner is listed as %v: %s", status, a.Status, r)
			}
			return
		}
	}
	t.Errorf("the owner is not in GET /api/v1/agents: %s", r)
}

func (j *journey) idempotentResend(t *testing.T) {
	again := sendMessage(t, j.visitorWS, "", j.helloCID, "hello")
	if again.Seq != j.helloAck.Seq || again.MessageID != j.helloAck.MessageID || again.ConversationID != j.convID {
		t.Errorf("resending client_id %s: want the first ack %s, got %s", j.helloCID, j.helloAck, again)
	}
	count := 0
	for _, m := range j.messages(t, j.owner.token, 0) {
		if m.Body == "hello" || m.ClientID == j.helloCID {
			count++
		}
	}
	if count != 1 {
		t.Errorf("the visitor's hello is stored %d times, want once", count)
	}

	j.visitorWS.Send(t, map[string]any{"type": "ping"})
	j.visitorWS.Expect(t, "pong", journeyWait)
	// The resend must not have been delivered to the owner a second time.
	j.ownerWS.CheckSeqs(t, j.convID, 1)
}

func (j *journey) restConversation(t *testing.T) {
	owner := j.api.As(j.owner.token)
	key := j.api.As(j.apiKey)

	t.Run("the list contains the conversation", func(t *testing.T) {
		for _, who := range []struct {
			name string
			c    apitest.Client
		}{{"owner", owner}, {"API key", key}} {
			r := who.c.Get(t, "/api/v1/conversations").Want(t, http.StatusOK)
			var list struct {
				Conversations []apitest.Conversation `json:"conversations"`
			}
			r.Into(t, &list)
			if !slices.ContainsFunc(list.Conversations, func(c apitest.Conversation) bool { return c.ID == j.convID }) {
				t.Errorf("GET /api/v1/conversations as the %s lacks %s: %s", who.name, j.convID, r)
			}
		}
	})

	conv := j.conversation(t, j.owner.token)
	t.Run("the conversation is assigned to the owner and knows the visitor", func(t *testing.T) {
		if conv.Status != "assigned" || conv.Assignee() != j.owner.user.ID {
			t.Errorf("conversation: want status assigned, assignee_id %q; got status %q, assignee_id %q", j.owner.user.ID, conv.Status, conv.Assignee())
		}
		if conv.Visitor.ID != j.visitor.VisitorID || conv.Visitor.Name != "Vera" || conv.Visitor.Attributes["plan"] != "pro" {
			t.Errorf("conversation.visitor = %+v, want id %s, name Vera, attributes.plan pro", conv.Visitor, j.visitor.VisitorID)
		}
	})

	t.Run("messages come ordered by seq with no gap", func(t *testing.T) {
		msgs := j.messages(t, j.owner.token, 0)
		checkContiguous(t, msgs, 1)
		if n := len(msgs); n == 0 || msgs[n-1].Seq != conv.LastSeq {
			t.Errorf("the last message's seq should be the conversation's last_seq %d; messages: %v", conv.LastSeq, seqsOf(msgs))
		}
	})

	t.Run("an API key posts as a bot, and a repeated client_id stores nothing new", func(t *testing.T) {
		path := "/api/v1/conversations/" + j.convID + "/messages"
		cid := newClientID("crm")
		body := "Your invoice is on its way."
		r := key.Post(t, path, map[string]any{"body": body, "client_id": cid}).Want(t, http.StatusCreated)
		var m apitest.Message
		r.Into(t, &m)
		if m.ID == "" || m.Seq <= conv.LastSeq || m.Body != body || m.Author.Type != "bot" || m.Author.Name != "crm" || m.ConversationID != j.convID {
			t.Errorf("API-key message: want a new seq after %d, author {type bot, name crm}: %s", conv.LastSeq, r)
		}
		lastSeq := j.conversation(t, j.owner.token).LastSeq

		r = key.Post(t, path, map[string]any{"body": body, "client_id": cid}).Want(t, http.StatusCreated, http.StatusOK)
		var again apitest.Message
		r.Into(t, &again)
		if again.ID != m.ID || again.Seq != m.Seq {
			t.Errorf("reposting client_id %s: want message %s seq %d again: %s", cid, m.ID, m.Seq, r)
		}
		if now := j.conversation(t, j.owner.token).LastSeq; now != lastSeq {
			t.Errorf("reposting a client_id moved last_seq from %d to %d", lastSeq, now)
		}
		// Both sides of the chat receive it.
		j.ownerWS.ExpectMatch(t, "message.new of the bot's message", isMessageNew(j.convID, m.Seq), journeyWait)
		j.visitorWS.ExpectMatch(t, "message.new of the bot's message", isMessageNew(j.convID, m.Seq), journeyWait)
	})

	t.Run("a message over the limit is too_large", func(t *testing.T) {
		key.Post(t, "/api/v1/conversations/"+j.convID+"/messages", map[string]any{
			"body": strings.Repeat("x", 70000), "client_id": newClientID("big"),
		}).WantError(t, http.StatusRequestEntityTooLarge, "too_large")
	})
}

func (j *journey) readState(t *testing.T) {
	owner := j.api.As(j.owner.token)
	path := "/api/v1/conversations/" + j.convID + "/read"
	last := j.conversation(t, j.owner.token).LastSeq
	if last < 3 {
		t.Fatalf("the conversation should hold at least 3 messages by now, last_seq is %d", last)
	}
	read := func(t *testing.T, seq int64) int64 {
		t.Helper()
		r := owner.Post(t, path, map[string]any{"seq": seq}).Want(t, http.StatusOK)
		var v struct {
			LastReadSeq int64 `json:"last_read_seq"`
		}
		r.Into(t, &v)
		return v.LastReadSeq
	}
	if got := read(t, 2); got != 2 {
		t.Errorf("read {seq: 2} → last_read_seq %d, want 2", got)
	}
	if got := read(t, 1); got != 2 {
		t.Errorf("read {seq: 1} after 2 → last_read_seq %d, want 2 (it never moves back)", got)
	}

	// 20 concurrent receipts; one of them is the last seq, so the end state is last.
	seqs := make([]int64, 20)
	for i := range seqs {
		seqs[i] = 1 + rand.Int64N(last)
	}
	seqs[rand.IntN(len(seqs))] = last
	var wg sync.WaitGroup
	errs := make(chan string, len(seqs))
	for _, s := range seqs {
		wg.Add(1)
		go func(s int64) {
			defer wg.Done()
			r, err := owner.Call(http.MethodPost, path, map[string]any{"seq": s})
			if err != nil {
				errs <- err.Error()
				return
			}
			var v struct {
				LastReadSeq int64 `json:"last_read_seq"`
			}
			if r.Status != http.StatusOK {
				errs <- r.String()
			} else if err := json.Unmarshal([]byte(r.Raw), &v); err != nil || v.LastReadSeq < max(s, 2) {
				errs <- fmt.Sprintf("read {seq: %d} → %s (want at least %d)", s, r.Raw, max(s, 2))
			}
		}(s)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent read: %s", e)
	}
	if got := read(t, 1); got != last {
		t.Errorf("after concurrent reads of %v the last_read_seq is %d, want the max %d", seqs, got, last)
	}
}

func (j *journey) tenantIsolation(t *testing.T) {
	j.tenantB = j.signupAccount(t, "Rival "+randHex(4), "Bob Boss")
	ownerA, ownerB := j.api.As(j.owner.token), j.api.As(j.tenantB.token)

	// B gets a conversation of its own, from a B visitor.
	r := j.api.Post(t, "/api/v1/widget/sessions", map[string]any{
		"widget_key": j.tenantB.tenant.WidgetKey, "visitor": map[string]any{"name": "Bea"},
	}).Want(t, http.StatusCreated)
	var visitorB apitest.WidgetSession
	r.Into(t, &visitorB)
	wsVisitorB := dialWS(t, j.srv, "visitor of B", nil)
	wsVisitorB.Hello(t, visitorB.VisitorToken, nil, journeyWait)
	j.convB = sendMessage(t, wsVisitorB, "", newClientID("visitorB"), "hi from B").ConversationID
	wsVisitorB.Close()

	before := j.conversation(t, j.owner.token)
	beforeMsgs := len(j.messages(t, j.owner.token, 0))

	t.Run("B's token gets not_found for every id of A", func(t *testing.T) {
		conv := "/api/v1/conversations/" + j.convID
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, conv, nil},
			{http.MethodGet, conv + "/messages?after_seq=0", nil},
			{http.MethodPost, conv + "/messages", map[string]any{"body": "intrusion", "client_id": newClientID("b")}},
			{http.MethodPost, conv + "/read", map[string]any{"seq": 1}},
			{http.MethodPost, conv + "/assign", map[string]any{"agent_id": j.tenantB.user.ID}},
			{http.MethodPost, conv + "/resolve", nil},
			{http.MethodPost, "/api/v1/conversations/" + j.convB + "/assign", map[string]any{"agent_id": j.agentID}},
			{http.MethodPost, "/api/v1/conversations/" + j.convB + "/assign", map[string]any{"agent_id": j.owner.user.ID}},
		} {
			ownerB.Do(t, c.method, c.path, c.body).WantError(t, http.StatusNotFound, "not_found")
		}
	})

	t.Run("B's lists show nothing of A", func(t *testing.T) {
		r := ownerB.Get(t, "/api/v1/conversations").Want(t, http.StatusOK)
		if strings.Contains(r.Raw, j.convID) {
			t.Errorf("B's conversation list contains A's conversation %s: %s", j.convID, r)
		}
		r = ownerB.Get(t, "/api/v1/agents").Want(t, http.StatusOK)
		for _, id := range []string{j.owner.user.ID, j.agentID} {
			if strings.Contains(r.Raw, id) {
				t.Errorf("B's agent list contains A's user %s: %s", id, r)
			}
		}
	})

	t.Run("A's token and API key get not_found for B's conversation", func(t *testing.T) {
		for _, c := range []apitest.Client{ownerA, j.api.As(j.apiKey)} {
			c.Get(t, "/api/v1/conversations/"+j.convB).WantError(t, http.StatusNotFound, "not_found")
			c.Post(t, "/api/v1/conversations/"+j.convB+"/messages", map[string]any{"body": "intrusion", "client_id": newClientID("a")}).
				WantError(t, http.StatusNotFound, "not_found")
		}
	})

	t.Run("A's conversation is untouched", func(t *testing.T) {
		after := j.conversation(t, j.owner.token)
		if after.Status != before.Status || after.Assignee() != before.Assignee() || after.LastSeq != before.LastSeq {
			t.Errorf("A's conversation changed: status %q→%q, assignee %q→%q, last_seq %d→%d",
				before.Status, after.Status, before.Assignee(), after.Assignee(), before.LastSeq, after.LastSeq)
		}
		if n := len(j.messages(t, j.owner.token, 0)); n != beforeMsgs {
			t.Errorf("A's conversation had %d messages, now %d", beforeMsgs, n)
		}
	})

	t.Run("over the WebSocket B's user can neither replay nor write A's conversation", func(t *testing.T) {
		ws := dialWS(t, j.srv, "owner of B", nil)
		w := ws.Hello(t, j.tenantB.token, map[string]int64{j.convID: 0}, journeyWait)
		if strings.Contains(w.Raw, j.convID) {
			t.Errorf("B's welcome mentions A's conversation: %s", w)
		}
		cid := newClientID("b")
		ws.Send(t, map[string]any{"type": "message.send", "client_id": cid, "conversation_id": j.convID, "body": "intrusion"})
		f := ws.ExpectMatch(t, "an answer to message.send", func(f apitest.Frame) bool {
			return (f.Type == "error" || f.Type == "ack") && f.ClientID == cid
		}, journeyWait)
		if f.Type != "error" || f.Code != "not_found" {
			t.Errorf("B writing into A's conversation: want an error frame with code not_found, got %s", f)
		}
		ws.ExpectNone(t, "frame about A's conversation", func(f apitest.Frame) bool {
			return f.Type != "error" && (f.ConversationID == j.convID || (f.Conv() != nil && f.Conv().ID == j.convID))
		}, 500*time.Millisecond)
	})

	t.Run("A's visitor token is no user token and opens nothing of B", func(t *testing.T) {
		asVisitor := j.api.As(j.visitor.VisitorToken)
		asVisitor.Get(t, "/api/v1/me").WantError(t, http.StatusUnauthorized, "unauthenticated")
		for _, path := range []string{"/api/v1/conversations", "/api/v1/conversations/" + j.convB, "/api/v1/agents"} {
			if r := asVisitor.Get(t, path); r.Status < 400 {
				t.Errorf("a visitor token as bearer must be refused: %s", r)
			}
		}
		r := j.api.Post(t, "/api/v1/widget/sessions", map[string]any{
			"widget_key": j.tenantB.tenant.WidgetKey, "visitor_token": j.visitor.VisitorToken, "visitor": map[string]any{},
		})
		if r.Status < 400 {
			var s apitest.WidgetSession
			r.Into(t, &s)
			if s.VisitorID == j.visitor.VisitorID {
				t.Errorf("A's visitor token resumed A's visitor on B's widget: %s", r)
			}
		}
		cid := newClientID("visitorA")
		j.visitorWS.Send(t, map[string]any{"type": "message.send", "client_id": cid, "conversation_id": j.convB, "body": "intrusion"})
		f := j.visitorWS.ExpectMatch(t, "an answer to message.send into B", func(f apitest.Frame) bool {
			return (f.Type == "error" || f.Type == "ack") && f.ClientID == cid
		}, journeyWait)
		if f.Type != "error" || f.Code != "not_found" {
			t.Errorf("A's visitor writing into B's conversation: want an error frame with code not_found, got %s", f)
		}
	})
}

func (j *journey) badFrames(t *testing.T) {
	t.Run("bad JSON and an unknown type get error frames and the connection stays usable", func(t *testing.T) {
		ws := dialWS(t, j.srv, "owner (bad frames)", nil)
		ws.Hello(t, j.owner.token, nil, journeyWait)
		ws.SendRaw(t, []byte(`{"type": "message.send", `))
		ws.Expect(t, "error", journeyWait)
		ws.Send(t, map[string]any{"type": "ping"})
		ws.Expect(t, "pong", journeyWait)
		ws.Send(t, map[string]any{"type": "no.such.frame"})
		ws.Expect(t, "error", journeyWait)
		ws.Send(t, map[string]any{"type": "ping"})
		ws.Expect(t, "pong", journeyWait)
	})

	t.Run("a frame before hello is not authenticated", func(t *testing.T) {
		ws := dialWS(t, j.srv, "unauthenticated", nil)
		ws.Send(t, map[string]any{"type": "ping"})
		f, err := ws.Next(func(apitest.Frame) bool { return true }, 5*time.Second)
		switch {
		case err != nil && !ws.IsOpen():
			return // closed: fine
		case err != nil:
			t.Fatalf("a ping before hello got neither an error frame nor a close within 5s")
		case f.Type != "error":
			t.Fatalf("a ping before hello must get an error frame or a close, got %s", f)
		}
		cid := newClientID("anon")
		if err := ws.WS.Write(context.Background(), websocket.MessageText,
			[]byte(fmt.Sprintf(`{"type":"message.send","client_id":%q,"conversation_id":%q,"body":"anonymous"}`, cid, j.convID))); err != nil {
			return // closed by now: fine
		}
		if f, err := ws.Next(func(f apitest.Frame) bool { return f.Type != "error" }, time.Second); err == nil {
			t.Errorf("an unauthenticated connection got %s", f)
		}
	})

	t.Run("a 70 KiB frame closes the connection with 1009", func(t *testing.T) {
		ws := dialWS(t, j.srv, "owner (big frame)", nil)
		ws.Hello(t, j.owner.token, nil, journeyWait)
		big := fmt.Sprintf(`{"type":"ping","pad":%q}`, strings.Repeat("x", 70<<10))
		ctx, cancel := context.WithTimeout(context.Background(), journeyWait)
		defer cancel()
		_ = ws.WS.Write(ctx, websocket.MessageText, []byte(big)) // the server may close while we write
		err, closed := ws.WaitClosed(journeyWait)
		if !closed {
			t.Fatalf("the connection is still open %v after a 70 KiB frame", journeyWait)
		}
		if !apitest.IsCloseStatus(err, websocket.StatusMessageTooBig) {
			t.Errorf("want close status 1009 (message too big), got %v (status %d)", err, websocket.CloseStatus(err))
		}
		j.api.Get(t, "/healthz").Want(t, http.StatusOK)
	})
}

func (j *journey) resume(t *testing.T) {
	last := j.conversation(t, j.owner.token).LastSeq
	j.visitorWS.WaitSeq(t, j.convID, last, journeyWait)
	j.visitorWS.CheckSeqs(t, j.convID, 1)
	seen := j.visitorWS.MaxSeq(j.convID)
	j.visitorWS.Close()

	a1 := sendMessage(t, j.ownerWS, j.convID, newClientID("owner"), "Are you still there?")
	a2 := sendMessage(t, j.ownerWS, j.convID, newClientID("owner"), "I have sent you the invoice.")

	var want []int64
	for _, m := range j.messages(t, j.owner.token, seen) {
		if !m.Private {
			want = append(want, m.Seq)
		}
	}
	if !slices.Contains(want, a1.Seq) || !slices.Contains(want, a2.Seq) {
		t.Fatalf("REST after_seq=%d gives seqs %v, which lack the acked %d and %d", seen, want, a1.Seq, a2.Seq)
	}

	j.visitorWS = dialWS(t, j.srv, "visitor (resumed)", j.root)
	j.visitorWS.Hello(t, j.visitor.VisitorToken, map[string]int64{j.convID: seen}, journeyWait)
	var got []int64
	for range want {
		f := j.visitorWS.ExpectMatch(t, "a missed message", isMessageNew(j.convID, 0), journeyWait)
		got = append(got, f.Seq)
		if f.Seq == a2.Seq {
			checkDelivered(t, f, a2, "agent", "I have sent you the invoice.")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("after since %d the visitor got seqs %v, want exactly %v", seen, got, want)
	}
	j.visitorWS.ExpectNone(t, "further message.new", isMessageNew(j.convID, 0), 700*time.Millisecond)
	j.visitorWS.CheckSeqs(t, j.convID, seen+1)
	j.ownerWS.CheckSeqs(t, j.convID, 1)
}

func (j *journey) gracefulRestart(t *testing.T) {
	before := j.messages(t, j.owner.token, 0)
	j.ownerWS.Close()
	j.visitorWS.Close()

	j.srv.stop(t)
	j.srv.start(t)

	r := j.api.As(j.owner.token).Get(t, "/api/v1/me").Want(t, http.StatusOK)
	var me apitest.Me
	r.Into(t, &me)
	if me.User.ID != j.owner.user.ID {
		t.Errorf("the old token now belongs to %q, want %q", me.User.ID, j.owner.user.ID)
	}
	j.api.Post(t, "/api/v1/auth/login", map[string]any{
		"tenant": j.owner.tenant.Slug, "email": j.owner.email, "password": j.owner.password,
	}).Want(t, http.StatusOK)
	j.api.As(j.apiKey).Get(t, "/api/v1/conversations").Want(t, http.StatusOK)
	j.visitor = j.resumeVisitor(t)

	checkSameMessages(t, before, j.messages(t, j.owner.token, 0))
}

func (j *journey) crash(t *testing.T) {
	before := j.messages(t, j.owner.token, 0)
	last := before[len(before)-1].Seq
	ws := dialWS(t, j.srv, "visitor (before the crash)", nil)
	ws.Hello(t, j.visitor.VisitorToken, map[string]int64{j.convID: last}, journeyWait)
	cid := newClientID("visitor")
	ack := sendMessage(t, ws, j.convID, cid, "Did you get my last message?")
	if ack.ConversationID != j.convID || ack.Seq <= last {
		t.Errorf("ack before the crash: want conversation %s and a seq after %d: %s", j.convID, last, ack)
	}

	j.srv.kill(t)
	ws.CloseNow()
	j.srv.start(t)

	after := j.messages(t, j.owner.token, 0)
	checkSameMessages(t, before, after[:min(len(before), len(after))])
	i := slices.IndexFunc(after, func(m apitest.Message) bool { return m.ID == ack.MessageID })
	if i < 0 {
		t.Fatalf("the message acked as %s (seq %d) is gone after kill -9; messages: %v", ack.MessageID, ack.Seq, seqsOf(after))
	}
	if m := after[i]; m.Seq != ack.Seq || m.Body != "Did you get my last message?" {
		t.Errorf("after kill -9 the acked message is seq %d body %q, want seq %d", m.Seq, m.Body, ack.Seq)
	}
	checkContiguous(t, after, 1)

	ws = dialWS(t, j.srv, "visitor (after the crash)", nil)
	ws.Hello(t, j.visitor.VisitorToken, map[string]int64{j.convID: ack.Seq}, journeyWait)
	again := sendMessage(t, ws, j.convID, cid, "Did you get my last message?")
	if again.Seq != ack.Seq || again.MessageID != ack.MessageID {
		t.Errorf("resending client_id %s after the crash: want the first ack %s, got %s", cid, ack, again)
	}
}

func (j *journey) postgresSchemas(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), journeyWait)
	defer cancel()
	conn, err := pgx.Connect(ctx, j.schemas.url)
	if err != nil {
		t.Fatalf("connecting to KEFU_TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	exists := func(name string) bool {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1`, name).Scan(&n)
		if err != nil {
			t.Fatalf("querying information_schema.schemata: %v", err)
		}
		return n == 1
	}
	if !exists("platform") {
		t.Errorf("schema platform does not exist")
	}
	for _, name := range j.schemas.list() {
		if !exists(name) {
			t.Errorf("tenant schema %s does not exist", name)
		}
	}
}

// ---------------------------------------------------------------------------
// Helpers

// sendMessage sends message.send (conv may be empty for a visitor) and returns
// the ack; an error frame for the same client_id fails the test.
func sendMessage(t *testing.T, c *apitest.Conn, conv, clientID, body string) apitest.Frame {
	t.Helper()
	msg := map[string]any{"type": "message.send", "client_id": clientID, "body": body}
	if conv != "" {
		msg["conversation_id"] = conv
	}
	c.Send(t, msg)
	f := c.ExpectMatch(t, "the ack of "+clientID, func(f apitest.Frame) bool {
		return (f.Type == "ack" || f.Type == "error") && f.ClientID == clientID
	}, journeyWait)
	if f.Type != "ack" {
		t.Fatalf("%s: message.send %s was refused: %s", c.Name, clientID, f)
	}
	return f
}

// isMessageNew matches message.new for conv, and for seq unless seq is 0.
func isMessageNew(conv string, seq int64) func(apitest.Frame) bool {
	return func(f apitest.Frame) bool {
		return f.Type == "message.new" && f.ConversationID == conv && (seq == 0 || f.Seq == seq)
	}
}

// checkDelivered compares a message.new frame with the sender's ack.
func checkDelivered(t *testing.T, f apitest.Frame, ack apitest.Frame, authorType, body string) apitest.Message {
	t.Helper()
	m, err := f.Msg()
	if err != nil {
		t.Fatalf("message.new: %v", err)
	}
	if m.ID != ack.MessageID || m.Seq != ack.Seq || m.ConversationID != ack.ConversationID || m.Author.Type != authorType || m.Body != body {
		t.Errorf("message.new: want id %s, seq %d, author.type %s, body %q; got %s", ack.MessageID, ack.Seq, authorType, body, f)
	}
	return m
}

// conversation reads the journey's conversation with token.
func (j *journey) conversation(t *testing.T, token string) apitest.Conversation {
	t.Helper()
	r := j.api.As(token).Get(t, "/api/v1/conversations/"+j.convID).Want(t, http.StatusOK)
	var c apitest.Conversation
	r.Into(t, &c)
	if c.ID != j.convID {
		t.Fatalf("GET conversation %s answered another id: %s", j.convID, r)
	}
	return c
}

// messages reads every message of the journey's conversation after afterSeq,
// page by page.
func (j *journey) messages(t *testing.T, token string, afterSeq int64) []apitest.Message {
	t.Helper()
	var all []apitest.Message
	for page := 0; page < 100; page++ {
		r := j.api.As(token).Get(t, fmt.Sprintf("/api/v1/conversations/%s/messages?after_seq=%d&limit=100", j.convID, afterSeq)).
			Want(t, http.StatusOK)
		var p struct {
			Messages []apitest.Message `json:"messages"`
		}
		r.Into(t, &p)
		if len(p.Messages) == 0 {
			return all
		}
		for _, m := range p.Messages {
			if m.Seq <= afterSeq {
				t.Fatalf("messages after_seq=%d are not ordered by seq or include seq %d: %s", afterSeq, m.Seq, r)
			}
			afterSeq = m.Seq
		}
		all = append(all, p.Messages...)
	}
	t.Fatalf("more than 100 pages of messages")
	return nil
}

// checkContiguous asserts that msgs have the seqs from, from+1, … in order.
func checkContiguous(t *testing.T, msgs []apitest.Message, from int64) {
	t.Helper()
	for i, m := range msgs {
		if m.Seq != from+int64(i) {
			t.Errorf("messages should have seqs %d, %d, … without gaps; got %v", from, from+1, seqsOf(msgs))
			return
		}
	}
}

// checkSameMessages asserts that two reads of a conversation agree.
func checkSameMessages(t *testing.T, want, got []apitest.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d messages before, %d after: %v vs %v", len(want), len(got), seqsOf(want), seqsOf(got))
		return
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.ID != g.ID || w.Seq != g.Seq || w.Body != g.Body || w.Author.Type != g.Author.Type || w.ClientID != g.ClientID {
			t.Errorf("message %d changed: %+v → %+v", i, w, g)
		}
	}
}

func seqsOf(msgs []apitest.Message) []int64 {
	seqs := make([]int64, len(msgs))
	for i, m := range msgs {
		seqs[i] = m.Seq
	}
	return seqs
}

// tenantSchemas remembers the PostgreSQL schemas of the tenants a journey
// created and drops exactly those (and nothing else) when the test ends.
type tenantSchemas struct {
	url   string
	mu    sync.Mutex
	names []string
	ids   []string
}

func newTenantSchemas(t *testing.T, url string) *tenantSchemas {
	t.Helper()
	s := &tenantSchemas{url: url}
	t.Cleanup(func() {
		names := s.list()
		if len(names) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*journeyWait)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("cleanup: connecting to drop the tenant schemas %v: %v", names, err)
			return
		}
		defer conn.Close(ctx)
		for _, name := range names {
			if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
				t.Errorf("cleanup: dropping schema %s: %v", name, err)
			}
		}
		// Forget the tenants too (their sessions and keys cascade), or the
		// next server start would provision their schemas again.
		s.mu.Lock()
		ids := slices.Clone(s.ids)
		s.mu.Unlock()
		if _, err := conn.Exec(ctx, "DELETE FROM platform.tenants WHERE id = ANY($1)", ids); err != nil {
			t.Errorf("cleanup: deleting tenant rows: %v", err)
		}
	})
	return s
}

// add records the schema of a tenant: t_ and its id without dashes.
func (s *tenantSchemas) add(tenantID string) {
	if tenantID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names = append(s.names, "t_"+strings.ReplaceAll(tenantID, "-", ""))
	s.ids = append(s.ids, tenantID)
}

func (s *tenantSchemas) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.names)
}
