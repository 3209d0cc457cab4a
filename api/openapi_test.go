package api_test

// These tests keep api/openapi.yaml honest on its own: it must be well-formed
// OpenAPI 3.1, hold every operation of the minimum public contract (listed below in
// contractEndpoints) with the answers it promises, and be internally consistent
// (references resolve, error answers use the Error schema, operation ids are
// unique). They read only the YAML file, never the server code, so they run
// while the server is being written; a router-versus-spec test belongs beside
// the router.

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const specFile = "openapi.yaml"

// httpMethods are the operation keys of an OpenAPI path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// endpoint is one operation the spec must document, with the success status
// the contract promises for it.
type endpoint struct {
	method, path string
	success      string
}

// contractEndpoints is every method and path of the minimum public
// contract (the first one Kefu promised integrators, which api/openapi.yaml
// must keep serving), with the success status it names (200 where none).
var contractEndpoints = []endpoint{
	// Auth
	{"POST", "/api/v1/signup", "201"},
	{"POST", "/api/v1/auth/login", "200"},
	{"GET", "/api/v1/me", "200"},
	{"POST", "/api/v1/agents", "201"},
	{"GET", "/api/v1/agents", "200"},
	{"POST", "/api/v1/api-keys", "201"},
	// Widget
	{"POST", "/api/v1/widget/sessions", "201"},
	{"GET", "/widget.js", "200"},
	// Conversations
	{"GET", "/api/v1/conversations", "200"},
	{"GET", "/api/v1/conversations/{id}", "200"},
	{"GET", "/api/v1/conversations/{id}/messages", "200"},
	{"POST", "/api/v1/conversations/{id}/messages", "201"},
	{"POST", "/api/v1/conversations/{id}/assign", "200"},
	{"POST", "/api/v1/conversations/{id}/resolve", "200"},
	{"POST", "/api/v1/conversations/{id}/read", "200"},
	// Flows
	{"GET", "/api/v1/flows", "200"},
	{"POST", "/api/v1/flows", "201"},
	{"PUT", "/api/v1/flows/{id}", "200"},
	{"POST", "/api/v1/flows/{id}/publish", "200"},
	{"POST", "/api/v1/flows/{id}/simulate", "200"},
	// Bots
	{"GET", "/api/v1/faqs", "200"},
	{"POST", "/api/v1/faqs", "201"},
	{"PUT", "/api/v1/faqs/{id}", "200"},
	{"DELETE", "/api/v1/faqs/{id}", "204"},
	{"PUT", "/api/v1/bots/llm", "200"},
	// Webhooks
	{"POST", "/api/v1/webhooks", "201"},
	// WebSocket: an upgrade, so its success is 101.
	{"GET", "/ws", "101"},
	// Operations
	{"GET", "/healthz", "200"},
	{"GET", "/readyz", "200"},
	{"GET", "/metrics", "200"},
}

// extraEndpoints are served today beyond the contract.
var extraEndpoints = []endpoint{
	{"GET", "/api/v1/faqs/{id}", "200"},
	{"POST", "/api/v1/faqs/import", "200"},
	{"GET", "/api/v1/faqs/export", "200"},
	{"POST", "/api/v1/faqs/match", "200"},
	{"GET", "/api/v1/articles", "200"},
	{"POST", "/api/v1/articles", "201"},
	{"GET", "/api/v1/articles/{id}", "200"},
	{"PUT", "/api/v1/articles/{id}", "200"},
	{"DELETE", "/api/v1/articles/{id}", "204"},
	{"GET", "/api/v1/bots/llm", "200"},
	{"POST", "/api/v1/bots/llm/test", "200"},
	{"GET", "/api/v1/bots/settings", "200"},
	{"PUT", "/api/v1/bots/settings", "200"},
	{"GET", "/api/v1/bots/usage", "200"},
	{"POST", "/api/v1/conversations/{id}/suggest", "200"},
	{"POST", "/api/v1/auth/logout", "204"},
	{"GET", "/api/v1/tenant", "200"},
	{"PATCH", "/api/v1/tenant", "200"},
	{"GET", "/api/v1/agents/{id}", "200"},
	{"PATCH", "/api/v1/agents/{id}", "200"},
	{"GET", "/api/v1/api-keys", "200"},
	{"DELETE", "/api/v1/api-keys/{id}", "204"},
	{"GET", "/api/v1/widget/config", "200"},
	{"GET", "/demo", "200"},
	{"GET", "/api/v1/conversations/{id}/events", "200"},
	{"GET", "/api/v1/flows/{id}", "200"},
	{"GET", "/api/v1/flows/{id}/versions", "200"},
	{"POST", "/api/v1/flows/{id}/rollback", "200"},
	{"POST", "/api/v1/flows/{id}/replay", "200"},
	{"POST", "/api/v1/uploads", "201"},
	{"GET", "/api/v1/files/{tenant}/{id}", "200"},
	{"GET", "/api/v1/conversations/counts", "200"},
	{"PATCH", "/api/v1/conversations/{id}", "200"},
	{"POST", "/api/v1/conversations/{id}/unassign", "200"},
	{"GET", "/api/v1/search", "200"},
	{"GET", "/api/v1/teams", "200"},
	{"POST", "/api/v1/teams", "201"},
	{"GET", "/api/v1/teams/{id}", "200"},
	{"PUT", "/api/v1/teams/{id}", "200"},
	{"PATCH", "/api/v1/teams/{id}", "200"},
	{"DELETE", "/api/v1/teams/{id}", "204"},
	{"GET", "/api/v1/canned-replies", "200"},
	{"POST", "/api/v1/canned-replies", "201"},
	{"PUT", "/api/v1/canned-replies/{id}", "200"},
	{"PATCH", "/api/v1/canned-replies/{id}", "200"},
	{"DELETE", "/api/v1/canned-replies/{id}", "204"},
}

// plannedPrefixes are the contract's parts that later issues implement; their
// operations must carry x-kefu-status: planned, and no other may.
var plannedPrefixes = []string{}

func isPlanned(path string) bool {
	for _, p := range plannedPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// contractErrorCodes are the codes of the contract's error table, plus
// internal (the code of every unexpected fault).
var contractErrorCodes = []string{
	"invalid_argument", "unauthenticated", "permission_denied", "not_found",
	"already_exists", "conflict", "too_large", "invalid_flow", "rate_limited", "internal",
}

// operation is one operation found in the spec.
type operation struct {
	where  string // "GET /api/v1/me" or "webhook kefuEvent POST"
	path   string // the path template; empty for webhooks
	method string // lower case
	item   map[string]any
	op     map[string]any
}

func loadSpec(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatalf("reading the spec: %v", err)
	}
	var doc any
	// yaml.v3 refuses duplicate mapping keys, so a path or schema defined
	// twice fails here instead of silently replacing the first.
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parsing %s: %v", specFile, err)
	}
	m, ok := asMap(doc)
	if !ok {
		t.Fatalf("%s: the document is not a mapping", specFile)
	}
	return m
}

// asMap returns v as a string-keyed map. yaml.v3 gives map[string]any for
// mappings whose keys are all strings and map[any]any otherwise (e.g. an
// unquoted response code 200); both are accepted, keys turned into strings.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

func mapAt(v any, keys ...string) map[string]any {
	m, _ := asMap(v)
	for _, k := range keys {
		if m == nil {
			return nil
		}
		m, _ = asMap(m[k])
	}
	return m
}

func stringAt(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// operations lists every operation under paths and webhooks, in a stable order.
func operations(t *testing.T, doc map[string]any) []operation {
	t.Helper()
	var ops []operation
	collect := func(kind string, items map[string]any) {
		for _, key := range sortedKeys(items) {
			item, ok := asMap(items[key])
			if !ok {
				t.Errorf("%s %s: not a mapping", kind, key)
				continue
			}
			for _, method := range httpMethods {
				raw, present := item[method]
				if !present {
					continue
				}
				op, ok := asMap(raw)
				if !ok {
					t.Errorf("%s %s %s: not a mapping", kind, key, method)
					continue
				}
				o := operation{method: method, item: item, op: op}
				if kind == "path" {
					o.path = key
					o.where = strings.ToUpper(method) + " " + key
				} else {
					o.where = "webhook " + key + " " + strings.ToUpper(method)
				}
				ops = append(ops, o)
			}
		}
	}
	collect("path", mapAt(doc, "paths"))
	collect("webhook", mapAt(doc, "webhooks"))
	if len(ops) == 0 {
		t.Fatal("the spec has no operations")
	}
	return ops
}

func findOperation(doc map[string]any, method, path string) map[string]any {
	return mapAt(doc, "paths", path, strings.ToLower(method))
}

// resolve follows a local reference ("#/components/schemas/Error") and
// reports whether it points at something.
func resolve(doc map[string]any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := asMap(cur)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// deref returns v, or what its $ref points at when it is a reference.
func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	m, _ := asMap(v)
	for i := 0; m != nil && i < 10; i++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		target, found := resolve(doc, ref)
		if !found {
			t.Errorf("$ref %q does not resolve", ref)
			return nil
		}
		m, _ = asMap(target)
	}
	return m
}

func TestSpecIsOpenAPI31(t *testing.T) {
	doc := loadSpec(t)
	if v := stringAt(doc, "openapi"); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info := mapAt(doc, "info")
	if got := stringAt(info, "title"); got != "Kefu" {
		t.Errorf("info.title = %q, want Kefu", got)
	}
	if got := stringAt(info, "version"); got != "0.1.0" {
		t.Errorf("info.version = %q, want 0.1.0", got)
	}
	servers, _ := doc["servers"].([]any)
	if len(servers) == 0 || stringAt(mapAt(servers[0]), "url") != "/" {
		t.Errorf("servers = %v, want the first url to be /", servers)
	}
	bearer := mapAt(doc, "components", "securitySchemes", "bearer")
	if stringAt(bearer, "type") != "http" || stringAt(bearer, "scheme") != "bearer" {
		t.Errorf("securitySchemes.bearer = %v, want type http, scheme bearer", bearer)
	}
	security, _ := doc["security"].([]any)
	if len(security) == 0 || mapAt(security[0]) == nil || mapAt(security[0])["bearer"] == nil {
		t.Errorf("top-level security = %v, want bearer by default", security)
	}
}

func TestEveryContractOperationIsDocumented(t *testing.T) {
	doc := loadSpec(t)
	for _, e := range contractEndpoints {
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			checkEndpoint(t, doc, e)
		})
	}
}

func TestEveryImplementedExtraOperationIsDocumented(t *testing.T) {
	doc := loadSpec(t)
	for _, e := range extraEndpoints {
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			checkEndpoint(t, doc, e)
		})
	}
}

func checkEndpoint(t *testing.T, doc map[string]any, e endpoint) {
	t.Helper()
	op := findOperation(doc, e.method, e.path)
	if op == nil {
		t.Fatalf("%s %s is missing", e.method, e.path)
	}
	responses := mapAt(op, "responses")
	if _, ok := responses[e.success]; !ok {
		t.Errorf("%s %s has responses %v, want %s among them", e.method, e.path, sortedKeys(responses), e.success)
	}
	status := stringAt(op, "x-kefu-status")
	switch {
	case isPlanned(e.path) && status != "planned":
		t.Errorf("%s %s: x-kefu-status = %q, want planned (it comes in a later issue)", e.method, e.path, status)
	case !isPlanned(e.path) && status != "":
		t.Errorf("%s %s: x-kefu-status = %q, but it is served now", e.method, e.path, status)
	}
}

func TestPlannedIsTheOnlyStatusMarker(t *testing.T) {
	doc := loadSpec(t)
	for _, o := range operations(t, doc) {
		if v, ok := o.op["x-kefu-status"]; ok && v != "planned" {
			t.Errorf("%s: x-kefu-status = %v, the only value is planned", o.where, v)
		}
		if o.path != "" && isPlanned(o.path) && stringAt(o.op, "x-kefu-status") != "planned" {
			t.Errorf("%s: not marked x-kefu-status: planned", o.where)
		}
	}
}

func TestEveryOperationHasASuccessAnswerAndAUniqueID(t *testing.T) {
	doc := loadSpec(t)
	seen := map[string]string{}
	for _, o := range operations(t, doc) {
		id := stringAt(o.op, "operationId")
		switch {
		case id == "":
			t.Errorf("%s has no operationId", o.where)
		case seen[id] != "":
			t.Errorf("operationId %q is used by %s and %s", id, seen[id], o.where)
		default:
			seen[id] = o.where
		}

		responses := mapAt(o.op, "responses")
		if len(responses) == 0 {
			t.Errorf("%s has no responses", o.where)
			continue
		}
		ok := false
		for code := range responses {
			if len(code) == 3 && code[0] == '2' {
				ok = true
			}
			// The WebSocket upgrade succeeds with 101 Switching Protocols;
			// it has no 2xx answer by nature.
			if code == "101" && o.path == "/ws" {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s has no 2xx response (has %v)", o.where, sortedKeys(responses))
		}
	}
}

func TestEveryRefResolvesToAComponent(t *testing.T) {
	doc := loadSpec(t)
	count := 0
	var walk func(at string, v any)
	walk = func(at string, v any) {
		if m, ok := asMap(v); ok {
			for _, k := range sortedKeys(m) {
				child := m[k]
				if k == "$ref" {
					count++
					checkRef(t, doc, at, child)
					continue
				}
				// Discriminator mappings hold references too.
				if k == "mapping" && strings.HasSuffix(at, "/discriminator") {
					if mm, ok := asMap(child); ok {
						for _, name := range sortedKeys(mm) {
							checkRef(t, doc, at+"/mapping/"+name, mm[name])
						}
					}
					continue
				}
				walk(at+"/"+k, child)
			}
			return
		}
		if list, ok := v.([]any); ok {
			for i, item := range list {
				walk(at+"/"+strconv.Itoa(i), item)
			}
		}
	}
	walk("#", doc)
	if count == 0 {
		t.Error("found no $ref at all; is the spec complete?")
	}
}

func checkRef(t *testing.T, doc map[string]any, at string, v any) {
	t.Helper()
	ref, ok := v.(string)
	if !ok {
		t.Errorf("%s: $ref is %T, want a string", at, v)
		return
	}
	if !strings.HasPrefix(ref, "#/components/") {
		t.Errorf("%s: $ref %q does not point into #/components", at, ref)
		return
	}
	if _, found := resolve(doc, ref); !found {
		t.Errorf("%s: $ref %q does not resolve", at, ref)
	}
}

func TestEveryErrorResponseUsesTheErrorSchema(t *testing.T) {
	doc := loadSpec(t)
	const errorRef = "#/components/schemas/Error"
	for _, o := range operations(t, doc) {
		responses := mapAt(o.op, "responses")
		for _, code := range sortedKeys(responses) {
			if code != "default" && (len(code) != 3 || code[0] < '4') {
				continue
			}
			resp := deref(t, doc, responses[code])
			content := mapAt(resp, "content")
			if len(content) == 0 {
				// Only the operational endpoints (e.g. /readyz) may answer
				// an error without a body; /api/v1 always sends Error.
				if strings.HasPrefix(o.path, "/api/") {
					t.Errorf("%s %s: no body, want the Error schema", o.where, code)
				}
				continue
			}
			for _, media := range sortedKeys(content) {
				schema := mapAt(content, media, "schema")
				if got := stringAt(schema, "$ref"); media != "application/json" || got != errorRef {
					t.Errorf("%s %s: %s schema $ref %q, want application/json with %s", o.where, code, media, got, errorRef)
				}
			}
		}
	}
}

func TestErrorSchemaIsTheContractsEnvelope(t *testing.T) {
	doc := loadSpec(t)
	errSchema := mapAt(doc, "components", "schemas", "Error")
	if errSchema == nil {
		t.Fatal("components.schemas.Error is missing")
	}
	requireFields(t, doc, "Error", errSchema, "error")
	inner := mapAt(errSchema, "properties", "error")
	requireFields(t, doc, "Error.error", inner, "code", "message")
	props := mapAt(inner, "properties")
	for _, name := range []string{"code", "message", "fields"} {
		if _, ok := props[name]; !ok {
			t.Errorf("Error.error has no property %q", name)
		}
	}
	codes := enumOf(t, doc, props["code"])
	for _, c := range contractErrorCodes {
		if !slices.Contains(codes, c) {
			t.Errorf("Error code enum %v lacks %q", codes, c)
		}
	}

	// Each reusable error answer carries the code its status stands for.
	statusCodes := map[string][]string{
		"400": {"invalid_argument"},
		"401": {"unauthenticated"},
		"403": {"permission_denied"},
		"404": {"not_found"},
		"409": {"already_exists", "conflict"},
		"413": {"too_large"},
		"422": {"invalid_flow", "idempotency_key_reused"},
		"429": {"rate_limited"},
	}
	for _, o := range operations(t, doc) {
		responses := mapAt(o.op, "responses")
		for code, want := range statusCodes {
			raw, ok := responses[code]
			if !ok {
				continue
			}
			resp := deref(t, doc, raw)
			example := mapAt(resp, "content", "application/json", "example", "error")
			if example == nil {
				t.Errorf("%s %s: no example error body", o.where, code)
				continue
			}
			if got := stringAt(example, "code"); !slices.Contains(want, got) {
				t.Errorf("%s %s: example code %q, want one of %v", o.where, code, got, want)
			}
		}
	}
}

func TestRateLimitedAnswersCarryRetryAfter(t *testing.T) {
	doc := loadSpec(t)
	for _, path := range []string{"/api/v1/signup", "/api/v1/auth/login"} {
		if _, ok := mapAt(findOperation(doc, "POST", path), "responses")["429"]; !ok {
			t.Errorf("POST %s: no 429 answer, but it is rate limited per client IP", path)
		}
	}
	for _, o := range operations(t, doc) {
		raw, ok := mapAt(o.op, "responses")["429"]
		if !ok {
			continue
		}
		resp := deref(t, doc, raw)
		if mapAt(resp, "headers")["Retry-After"] == nil {
			t.Errorf("%s 429: no Retry-After header", o.where)
		}
	}
}

func TestEveryRequestBodyCanBeTooLarge(t *testing.T) {
	doc := loadSpec(t)
	for _, o := range operations(t, doc) {
		if o.path == "" || o.op["requestBody"] == nil {
			continue // webhooks are requests Kefu sends, not receives
		}
		if _, ok := mapAt(o.op, "responses")["413"]; !ok {
			t.Errorf("%s takes a body but documents no 413 (bodies over 1 MiB)", o.where)
		}
	}
}

// TestEveryJSONBodyMayBeRefusedAsNotJSON: the API reads JSON bodies only
// (XML and form bodies are refused with 415).
func TestEveryJSONBodyMayBeRefusedAsNotJSON(t *testing.T) {
	doc := loadSpec(t)
	for _, o := range operations(t, doc) {
		if o.path == "" || mapAt(o.op, "requestBody", "content", "application/json") == nil {
			continue
		}
		if _, ok := mapAt(o.op, "responses")["415"]; !ok {
			t.Errorf("%s takes a JSON body but documents no 415 (bodies that are not application/json)", o.where)
		}
	}
	ws := stringAt(findOperation(doc, "GET", "/ws"), "description")
	for _, fact := range []string{"5 seconds", "KEFU_WS_MAX_PER_IP", "KEFU_WS_MAX_PER_PRINCIPAL", "KEFU_WS_FRAME_RATE", "1008"} {
		if !strings.Contains(ws, fact) {
			t.Errorf("GET /ws does not say %q", fact)
		}
	}
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestPathParametersAreDeclared(t *testing.T) {
	doc := loadSpec(t)
	for _, o := range operations(t, doc) {
		if o.path == "" {
			continue
		}
		declared := map[string]bool{}
		for _, list := range []any{o.item["parameters"], o.op["parameters"]} {
			params, _ := list.([]any)
			for _, p := range params {
				pm := deref(t, doc, p)
				if stringAt(pm, "in") == "path" {
					declared[stringAt(pm, "name")] = true
					if pm["required"] != true {
						t.Errorf("%s: path parameter %q is not required", o.where, stringAt(pm, "name"))
					}
				}
			}
		}
		for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %q is not declared", o.where, m[1])
			}
		}
	}
}

func TestPublicOperationsNeedNoToken(t *testing.T) {
	doc := loadSpec(t)
	public := []endpoint{
		{method: "POST", path: "/api/v1/signup"},
		{method: "POST", path: "/api/v1/auth/login"},
		{method: "POST", path: "/api/v1/widget/sessions"},
		{method: "GET", path: "/api/v1/widget/config"},
		{method: "GET", path: "/widget.js"},
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/readyz"},
		{method: "GET", path: "/metrics"},
	}
	for _, e := range public {
		op := findOperation(doc, e.method, e.path)
		sec, present := op["security"]
		list, _ := sec.([]any)
		if !present || len(list) != 0 {
			t.Errorf("%s %s: security = %v, want [] (public)", e.method, e.path, sec)
		}
	}
}

func TestSchemasCarryTheContractsFields(t *testing.T) {
	doc := loadSpec(t)
	schemas := mapAt(doc, "components", "schemas")
	cases := []struct {
		schema string
		fields []string
	}{
		{"Tenant", []string{"id", "slug", "name", "widget_key", "allowed_origins"}},
		{"User", []string{"id", "email", "name", "role"}},
		{"Agent", []string{"id", "email", "name", "role", "skills", "max_concurrent", "status"}},
		{"AgentCreate", []string{"email", "name", "password", "role", "skills", "max_concurrent"}},
		{"ApiKey", []string{"id", "name", "role"}},
		{"ApiKeyCreated", []string{"id", "name", "key"}},
		{"SignupResult", []string{"tenant", "user", "token"}},
		{"LoginResult", []string{"token", "user"}},
		{"Me", []string{"user", "tenant", "permissions"}},
		{"WidgetSession", []string{"visitor_id", "visitor_token"}},
		{"WidgetConfig", []string{"tenant_name", "agents_online"}},
		{"Conversation", []string{"id", "status", "visitor", "assignee_id", "team", "last_seq", "created_at", "updated_at", "last_message"}},
		{"Visitor", []string{"id", "name", "email", "attributes"}},
		{"LastMessage", []string{"body", "author_type", "created_at"}},
		{"ConversationPage", []string{"conversations", "next_cursor"}},
		{"Message", []string{"id", "conversation_id", "seq", "client_id", "author", "body", "private", "attachments", "created_at"}},
		{"Author", []string{"type", "id", "name"}},
		{"ReadState", []string{"last_read_seq"}},
		{"Flow", []string{"id", "name", "version", "status", "graph"}},
		{"FlowNode", []string{"id", "type", "data", "position"}},
		{"FlowEdge", []string{"id", "source", "target", "label"}},
		{"SimulateResult", []string{"trace", "result"}},
		{"Faq", []string{"id", "question", "answer", "keywords"}},
		{"LlmBot", []string{"base_url", "model", "has_api_key"}},
		{"Webhook", []string{"id", "url", "events", "secret"}},
		{"WebhookDelivery", []string{"id", "event", "tenant_id", "created_at", "data"}},
	}
	for _, c := range cases {
		t.Run(c.schema, func(t *testing.T) {
			s := mapAt(schemas, c.schema)
			if s == nil {
				t.Fatalf("components.schemas.%s is missing", c.schema)
			}
			props := mapAt(s, "properties")
			for _, f := range c.fields {
				if _, ok := props[f]; !ok {
					t.Errorf("%s has no property %q", c.schema, f)
				}
			}
		})
	}

	enums := []struct {
		schema, property string
		want             []string
	}{
		{"Conversation", "status", []string{"bot", "queued", "assigned", "resolved"}},
		{"Author", "type", []string{"visitor", "agent", "bot", "system"}},
		{"Agent", "status", []string{"online", "away", "offline"}},
		{"AgentCreate", "role", []string{"agent", "supervisor", "admin"}},
		{"ApiKeyCreate", "role", []string{"developer", "admin"}},
		{"Flow", "status", []string{"draft", "published"}},
		{"WebhookInput", "events", []string{"conversation.created", "conversation.assigned", "conversation.transferred", "conversation.resolved",
			"conversation.reopened", "message.created", "contact.created", "contact.updated", "csat.submitted"}},
		{"SimulateRequest", "event", []string{"conversation.created", "message.created", "agent.offline", "conversation.idle"}}, // the contract's two, and the other events flows run on
	}
	for _, e := range enums {
		t.Run(e.schema+"."+e.property, func(t *testing.T) {
			prop := deref(t, doc, mapAt(schemas, e.schema, "properties")[e.property])
			if stringAt(prop, "type") == "array" {
				prop = deref(t, doc, prop["items"])
			}
			got := enumOf(t, doc, prop)
			sort.Strings(got)
			want := slices.Clone(e.want)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s.%s enum = %v, want %v", e.schema, e.property, got, want)
			}
		})
	}
}

// TestWebSocketIsDocumented checks that /ws lists every frame of the contract
// (and Kefu's extensions) and that each frame has a JSON Schema whose type is
// fixed to its name.
func TestWebSocketIsDocumented(t *testing.T) {
	doc := loadSpec(t)
	description := stringAt(findOperation(doc, "GET", "/ws"), "description")
	frames := map[string]string{
		"WsHello":               "hello",
		"WsWelcome":             "welcome",
		"WsMessageSend":         "message.send",
		"WsAck":                 "ack",
		"WsMessageNew":          "message.new",
		"WsConversationUpdated": "conversation.updated",
		"WsRead":                "read",
		"WsTyping":              "typing",
		"WsPresence":            "presence",
		"WsError":               "error",
		"WsQueue":               "queue",
		"WsMessageDelta":        "message.delta",
		"WsSubscribe":           "subscribe",
		"WsUnsubscribe":         "unsubscribe",
		"WsPing":                "ping",
		"WsPong":                "pong",
		"WsHandoff":             "handoff",
	}
	for _, name := range sortedKeys(toAny(frames)) {
		frameType := frames[name]
		s := mapAt(doc, "components", "schemas", name)
		if s == nil {
			t.Errorf("components.schemas.%s is missing", name)
			continue
		}
		if got := mapAt(s, "properties", "type")["const"]; got != frameType {
			t.Errorf("%s.type const = %v, want %q", name, got, frameType)
		}
		required, _ := s["required"].([]any)
		if !slices.Contains(required, any("type")) {
			t.Errorf("%s does not require type", name)
		}
		if !strings.Contains(description, `"type":"`+frameType+`"`) {
			t.Errorf("GET /ws description does not show the %q frame", frameType)
		}
	}
	requireFields(t, doc, "WsWelcome", mapAt(doc, "components", "schemas", "WsWelcome"), "session_id", "principal", "conversations")
	requireFields(t, doc, "WsAck", mapAt(doc, "components", "schemas", "WsAck"), "client_id", "conversation_id", "seq", "message_id")
	for _, fact := range []string{"1009", "64 KiB", "rate_limited", "durably stored", "private"} {
		if !strings.Contains(description, fact) {
			t.Errorf("GET /ws description does not mention %q", fact)
		}
	}
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func requireFields(t *testing.T, doc map[string]any, name string, schema map[string]any, fields ...string) {
	t.Helper()
	schema = deref(t, doc, schema)
	required, _ := schema["required"].([]any)
	for _, f := range fields {
		if !slices.Contains(required, any(f)) {
			t.Errorf("%s does not require %q (required: %v)", name, f, required)
		}
	}
}

func enumOf(t *testing.T, doc map[string]any, v any) []string {
	t.Helper()
	s := deref(t, doc, v)
	list, _ := s["enum"].([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}
