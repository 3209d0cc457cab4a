package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm/schema"

	"kefu"
	"kefu/chat"
	"kefu/tenants"
)

type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// Delivery is one attempt to deliver an event, as the delivery log shows
// it. ResponseStatus is 0 when no answer came (Error says why).
type Delivery struct {
	ID              string            `json:"id"`
	WebhookID       string            `json:"webhook_id"`
	EventID         string            `json:"event_id"`
	EventType       string            `json:"event_type"`
	Attempt         int               `json:"attempt"`
	URL             string            `json:"url"`
	Success         bool              `json:"success"`
	RequestHeaders  map[string]string `json:"request_headers"`
	RequestBody     string            `json:"request_body"`
	ResponseStatus  int               `json:"response_status"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	LatencyMS       int               `json:"latency_ms"`
	Error           string            `json:"error"`
	CreatedAt       time.Time         `json:"created_at"`
}

type deliveryRow struct {
	ID              string `gorm:"primaryKey"`
	WebhookID       string
	OutboxID        int64
	EventID         string
	EventType       string
	Attempt         int
	URL             string
	RequestHeaders  string
	RequestBody     string
	ResponseStatus  int
	ResponseHeaders string
	ResponseBody    string
	LatencyMS       int `gorm:"column:latency_ms"`
	Error           string
	CreatedAt       time.Time
}

func (deliveryRow) TableName(n schema.Namer) string { return n.TableName("webhook_delivery") }

func (r deliveryRow) delivery() Delivery {
	d := Delivery{ID: r.ID, WebhookID: r.WebhookID, EventID: r.EventID, EventType: r.EventType, Attempt: r.Attempt, URL: r.URL,
		RequestBody: r.RequestBody, ResponseStatus: r.ResponseStatus, ResponseBody: r.ResponseBody, LatencyMS: r.LatencyMS,
		Error: r.Error, CreatedAt: r.CreatedAt, Success: r.Error == "" && r.ResponseStatus >= 200 && r.ResponseStatus < 300}
	_ = json.Unmarshal([]byte(r.RequestHeaders), &d.RequestHeaders)
	_ = json.Unmarshal([]byte(r.ResponseHeaders), &d.ResponseHeaders)
	if d.RequestHeaders == nil {
		d.RequestHeaders = map[string]string{}
	}
	if d.ResponseHeaders == nil {
		d.ResponseHeaders = map[string]string{}
	}
	return d
}

// signingKeys are the keys that sign a delivery now: the secret's, and the
// previous secret's while its grace lasts.
func (s *Service) signingKeys(w webhookRow) [][]byte {
	keys := [][]byte{secretKey(w.Secret)}
	if w.PreviousSecret != "" && w.PreviousExpiresAt != nil && s.now().Before(*w.PreviousExpiresAt) {
		keys = append(keys, secretKey(w.PreviousSecret))
	}
	return keys
}

// secretKey is the HMAC key of a whsec_ secret: its base64-decoded bytes,
// as Standard Webhooks has it (and Kefu-Signature uses the same key).
func secretKey(secret string) []byte {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return []byte(secret)
	}
	return b
}

func mac(key []byte, parts ...string) []byte {
	h := hmac.New(sha256.New, key)
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{'.'})
		}
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// signatureHeaders are a delivery's signing headers: webhook-id,
// webhook-timestamp and webhook-signature (Standard Webhooks: "v1,<base64
// HMAC-SHA256 of id.timestamp.body>", one per key, space separated) and
// Kefu-Signature ("t=<ts>,v1=<hex HMAC-SHA256 of ts.body>", one v1 per key).
func signatureHeaders(keys [][]byte, id string, ts int64, body string) map[string]string {
	t := strconv.FormatInt(ts, 10)
	var std, kefuSig []string
	for _, k := range keys {
		std = append(std, "v1,"+base64.StdEncoding.EncodeToString(mac(k, id, t, body)))
		kefuSig = append(kefuSig, "v1="+hex.EncodeToString(mac(k, t, body)))
	}
	return map[string]string{
		"webhook-id":        id,
		"webhook-timestamp": t,
		"webhook-signature": strings.Join(std, " "),
		"Kefu-Signature":    "t=" + t + "," + strings.Join(kefuSig, ","),
	}
}

// job is one event to deliver to one endpoint.
type job struct {
	outboxID  int64
	eventID   string
	eventType string
	payload   string
	attempt   int
}

// attempt POSTs the job to the endpoint once, within the timeout, and logs
// the attempt in the tenant's delivery log. A 2xx answer is success; a
// redirect is not followed and counts as a failure, as does any other
// status or no answer.
func (s *Service) attempt(ctx context.Context, tenantID string, w webhookRow, j job) Delivery {
	start, t0 := s.now(), time.Now()
	hdr := signatureHeaders(s.signingKeys(w), j.eventID, start.Unix(), j.payload)
	hdr["Content-Type"] = "application/json"
	hdr["User-Agent"] = "Kefu-Webhook/1"
	d := Delivery{ID: tenants.NewID(), WebhookID: w.ID, EventID: j.eventID, EventType: j.eventType, Attempt: j.attempt, URL: w.URL,
		RequestHeaders: hdr, RequestBody: excerpt(j.payload), ResponseHeaders: map[string]string{}, CreatedAt: start.UTC().Truncate(time.Microsecond)}
	status, rh, body, err := s.post(ctx, w.URL, hdr, j.payload)
	d.LatencyMS = int(time.Since(t0).Milliseconds())
	d.ResponseStatus, d.ResponseHeaders, d.ResponseBody = status, rh, body
	switch {
	case err != nil:
		d.Error = chat.OutboundProblem(err)
		if errors.Is(err, errBadURL) {
			d.Error = "invalid URL"
		}
	case status < 200 || status > 299:
		d.Error = fmt.Sprintf("HTTP %d", status)
	default:
		d.Success = true
	}
	s.metrics.result(d)
	s.logDelivery(ctx, tenantID, j.outboxID, d)
	return d
}

var errBadURL = errors.New("bad url")

// post sends body with the headers and reads at most maxResponseRead of the
// answer (an excerpt of it is kept).
func (s *Service) post(ctx context.Context, url string, hdr map[string]string, body string) (int, map[string]string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, map[string]string{}, "", errBadURL
	}
	for k, v := range hdr {
		req.Header[k] = []string{v} // as written: webhook-id stays lower case
	}
	res, err := s.client.Do(req)
	if err != nil {
		return 0, map[string]string{}, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseRead))
	if err != nil && ctx.Err() != nil {
		return res.StatusCode, headersOf(res.Header), excerpt(string(b)), ctx.Err()
	}
	return res.StatusCode, headersOf(res.Header), excerpt(string(b)), nil
}

// headersOf keeps a bounded copy of response headers for the log.
func headersOf(h http.Header) map[string]string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, min(len(keys), maxLoggedHeaders))
	for _, k := range keys[:min(len(keys), maxLoggedHeaders)] {
		out[k] = truncate(strings.Join(h[k], ", "), maxHeaderValueLen)
	}
	return out
}

// excerpt is at most excerptBytes of s, cut on a character boundary, with
// anything that is not clean text replaced (a response may be binary).
func excerpt(s string) string {
	s = truncate(s, excerptBytes)
	if !kefu.CleanText(s) || !utf8.ValidString(s) {
		s = strings.Map(func(r rune) rune {
			if r == utf8.RuneError || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
				return '\uFFFD'
			}
			return r
		}, strings.ToValidUTF8(s, "\uFFFD"))
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (s *Service) logDelivery(ctx context.Context, tenantID string, outboxID int64, d Delivery) {
	db, err := s.store.Tenant(tenantID)
	if err != nil {
		return
	}
	rh, _ := json.Marshal(d.RequestHeaders)
	sh, _ := json.Marshal(d.ResponseHeaders)
	r := deliveryRow{ID: d.ID, WebhookID: d.WebhookID, OutboxID: outboxID, EventID: d.EventID, EventType: d.EventType, Attempt: d.Attempt,
		URL: d.URL, RequestHeaders: string(rh), RequestBody: d.RequestBody, ResponseStatus: d.ResponseStatus, ResponseHeaders: string(sh),
		ResponseBody: d.ResponseBody, LatencyMS: d.LatencyMS, Error: d.Error, CreatedAt: d.CreatedAt}
	if err := db.WithContext(context.WithoutCancel(ctx)).Create(&r).Error; err != nil {
		s.log.Warn("webhook: delivery log", "tenant_id", tenantID, "err", err)
	}
}

// Deliveries is a page of a webhook's delivery log, newest first, with the
// cursor of the next page ("" at the end). Errors: not_found,
// invalid_argument.
func (s *Service) Deliveries(ctx context.Context, tenantID, webhookID string, limit int, cursor string) ([]Delivery, string, error) {
	fields := map[string]string{}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 200 {
		fields["limit"] = "must be between 1 and 200"
	}
	var after string
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 || len(b) > 64 || !kefu.CleanText(string(b)) {
			fields["cursor"] = "is not a cursor this server gave"
		}
		after = string(b)
	}
	if len(fields) > 0 {
		return nil, "", kefu.Invalid(fields)
	}
	db, _, err := s.row(ctx, tenantID, webhookID)
	if err != nil {
		return nil, "", err
	}
	q := db.WithContext(ctx).Where("webhook_id = ?", webhookID)
	if after != "" {
		q = q.Where("id < ?", after)
	}
	var rows []deliveryRow
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(rows[len(rows)-1].ID))
	}
	out := make([]Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	return out, next, nil
}

// Test delivers a webhook.test event to the webhook now, whether or not it
// is enabled, and returns the attempt (also in the log). Errors: not_found.
func (s *Service) Test(ctx context.Context, tenantID, webhookID string) (Delivery, error) {
	_, w, err := s.row(ctx, tenantID, webhookID)
	if err != nil {
		return Delivery{}, err
	}
	id := tenants.NewID()
	payload := chat.HookPayload(tenantID, id, chat.HookTest, s.stamp(), map[string]string{"webhook_id": w.ID, "message": "This is a test event from Kefu."})
	return s.attempt(ctx, tenantID, w, job{eventID: id, eventType: chat.HookTest, payload: payload, attempt: 1}), nil
}

// Redeliver sends the event of a logged delivery again, now, with the same
// webhook-id (receivers deduplicate on it), and returns the new attempt.
// Events are kept for the retention period. Errors: not_found.
func (s *Service) Redeliver(ctx context.Context, tenantID, webhookID, deliveryID string) (Delivery, error) {
	db, w, err := s.row(ctx, tenantID, webhookID)
	if err != nil {
		return Delivery{}, err
	}
	if p := kefu.TextProblem(deliveryID); p != "" {
		return Delivery{}, kefu.Invalid(map[string]string{"delivery_id": p})
	}
	var ds []deliveryRow
	if err := db.WithContext(ctx).Where("id = ? AND webhook_id = ?", deliveryID, webhookID).Limit(1).Find(&ds).Error; err != nil {
		return Delivery{}, err
	}
	if len(ds) == 0 {
		return Delivery{}, kefu.Errorf(kefu.ENotFound, "no such delivery")
	}
	d := ds[0]
	if d.OutboxID == 0 { // a test event: send a new one
		return s.Test(ctx, tenantID, webhookID)
	}
	o, ok, err := s.outboxRow(ctx, tenantID, db, d.OutboxID)
	if err != nil {
		return Delivery{}, err
	}
	if !ok {
		return Delivery{}, kefu.Errorf(kefu.ENotFound, "the event is no longer kept")
	}
	return s.attempt(ctx, tenantID, w, job{outboxID: o.ID, eventID: o.EventID, eventType: o.Type, payload: o.Payload, attempt: d.Attempt + 1}), nil
}

type metrics struct {
	deliveries *prometheus.CounterVec
	latency    prometheus.Histogram
	pending    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kefu_webhook_deliveries_total", Help: "Webhook delivery attempts by result (success, failure)."}, []string{"result"}),
		latency:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kefu_webhook_delivery_seconds", Help: "Time from a webhook request to its answer.", Buckets: prometheus.DefBuckets}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kefu_webhook_outbox_pending",
			Help: "Webhook events waiting to be delivered (retries included), as counted by this node's last full pass over the outboxes."}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.latency, m.pending)
	}
	return m
}

func (m *metrics) result(d Delivery) {
	r := "failure"
	if d.Success {
		r = "success"
	}
	m.deliveries.WithLabelValues(r).Inc()
	m.latency.Observe(float64(d.LatencyMS) / 1000)
}
