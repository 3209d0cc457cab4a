package apitest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

// The contract's JSON shapes, as far as the tests read them.

// Tenant is a workspace as the API answers it.
type Tenant struct {
	ID        string `json:"id"`
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	WidgetKey string `json:"widget_key"`
}

// User is a person of a workspace.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

// SignupAnswer is POST /api/v1/signup's answer.
type SignupAnswer struct {
	Tenant Tenant `json:"tenant"`
	User   User   `json:"user"`
	Token  string `json:"token"`
}

// LoginAnswer is POST /api/v1/auth/login's answer.
type LoginAnswer struct {
	Token string `json:"token"`
	User  User   `json:"user"`
}

// Me is GET /api/v1/me's answer.
type Me struct {
	User        User   `json:"user"`
	Tenant      Tenant `json:"tenant"`
	Permissions []any  `json:"permissions"`
}

// Agent is an entry of GET /api/v1/agents.
type Agent struct {
	ID            string   `json:"id"`
	Email         string   `json:"email"`
	Name          string   `json:"name"`
	Role          string   `json:"role"`
	Skills        []string `json:"skills"`
	MaxConcurrent int      `json:"max_concurrent"`
	Status        *string  `json:"status"`
}

// APIKey is POST /api/v1/api-keys's answer.
type APIKey struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Key  string `json:"key"`
}

// WidgetSession is POST /api/v1/widget/sessions's answer.
type WidgetSession struct {
	VisitorID    string `json:"visitor_id"`
	VisitorToken string `json:"visitor_token"`
}

// Conversation is a conversation as REST and the socket give it.
type Conversation struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Visitor struct {
		ID         string         `json:"id"`
		Name       string         `json:"name"`
		Email      string         `json:"email"`
		Attributes map[string]any `json:"attributes"`
	} `json:"visitor"`
	AssigneeID *string `json:"assignee_id"`
	LastSeq    int64   `json:"last_seq"`
}

// Assignee is the assignee's id ("" if none).
func (c Conversation) Assignee() string {
	if c.AssigneeID == nil {
		return ""
	}
	return *c.AssigneeID
}

// Message is a message as REST and the socket give it.
type Message struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	ClientID       string `json:"client_id"`
	Author         struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"author"`
	Body    string `json:"body"`
	Private bool   `json:"private"`
}

// RandHex returns 2n random lowercase hex characters.
func RandHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// ClientID returns a fresh client_id for message.send or a REST post.
func ClientID(prefix string) string { return prefix + "-" + RandHex(8) }

// Account is a signed-up workspace with its owner's token.
type Account struct {
	TenantID, Slug, WidgetKey string
	OwnerID, Token            string
}

// Signup signs up company with an owner (email, password, name) and fails
// the test unless it is created.
func (c Client) Signup(t testing.TB, company, email, password, name string) Account {
	t.Helper()
	r := c.Must(t, http.StatusCreated, "POST", "/api/v1/signup", map[string]any{"company": company, "email": email, "password": password, "name": name})
	return Account{TenantID: r.Str("tenant", "id"), Slug: r.Str("tenant", "slug"), WidgetKey: r.Str("tenant", "widget_key"), OwnerID: r.Str("user", "id"), Token: r.Str("token")}
}

// Login signs in to the workspace slug and returns the session token; it
// fails the test unless the answer is 200.
func (c Client) Login(t testing.TB, slug, email, password string) string {
	t.Helper()
	return c.Must(t, http.StatusOK, "POST", "/api/v1/auth/login", map[string]any{"tenant": slug, "email": email, "password": password}).Str("token")
}

// Invite invites email with the given fields (role, skills, …) as c's
// credential, accepts the invitation with name and password, and returns
// the new user's id and session token.
func (c Client) Invite(t testing.TB, email, name, password string, fields map[string]any) (id, token string) {
	t.Helper()
	body := map[string]any{"email": email}
	for k, v := range fields {
		body[k] = v
	}
	url := c.Must(t, http.StatusCreated, "POST", "/api/v1/invites", body).Str("url")
	_, inv, ok := strings.Cut(url, "/invite#")
	if !ok {
		t.Fatalf("invite answer without a /invite#token url: %q", url)
	}
	r := c.As("").Must(t, http.StatusCreated, "POST", "/api/v1/invites/accept", map[string]any{"token": inv, "name": name, "password": password})
	return r.Str("user", "id"), r.Str("token")
}

// Visitor opens a widget session for widgetKey with the given visitor
// fields and returns the visitor's id and token.
func (c Client) Visitor(t testing.TB, widgetKey string, visitor map[string]any) (id, token string) {
	t.Helper()
	body := map[string]any{"widget_key": widgetKey}
	if visitor != nil {
		body["visitor"] = visitor
	}
	r := c.Must(t, http.StatusCreated, "POST", "/api/v1/widget/sessions", body)
	return r.Str("visitor_id"), r.Str("visitor_token")
}
