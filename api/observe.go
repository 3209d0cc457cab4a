package api

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"kefu"
)

// traceContext reads a caller's W3C traceparent.
var traceContext = propagation.TraceContext{}

// httpMetrics are the RED metrics of the HTTP edge. The route label is the
// router's template (/api/v1/conversations/:id), never the path, and the
// method is one of a fixed list, so neither grows with traffic.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kefu_http_requests_total",
			Help: "HTTP requests, by route template, method and status. /ws upgrades count under route /ws (status 101 once upgraded).",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kefu_http_request_duration_seconds",
			Help:    "HTTP request latency, by route template and method (/ws aside: a socket lives for hours).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kefu_http_requests_in_flight", Help: "HTTP requests being served (/ws upgrades aside).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.inFlight)
	}
	return m
}

// knownMethods keeps the method label bounded: anything else is OTHER.
var knownMethods = map[string]string{
	http.MethodGet: http.MethodGet, http.MethodHead: http.MethodHead, http.MethodPost: http.MethodPost,
	http.MethodPut: http.MethodPut, http.MethodPatch: http.MethodPatch, http.MethodDelete: http.MethodDelete,
	http.MethodOptions: http.MethodOptions,
}

func methodLabel(m string) string {
	if l, ok := knownMethods[m]; ok {
		return l
	}
	return "OTHER"
}

// routeLabel is the route template the router matched; "unmatched" when
// none did (Echo's own 404 and 405 answers).
func routeLabel(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return "unmatched"
}

// quietRoutes are polled by probes and scrapers: their requests are logged
// at debug, not info.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// observe measures, logs and answers errors for every request the router
// handles. The request log line is at info (debug for probes and scrapes)
// and carries the method, route template, path (never the query, which may
// hold a signature), status, latency, request id and tenant id; it never
// carries a header or a body, where tokens and passwords travel.
//
// The request id goes into the request's context (kefu.WithRequestID), so
// the services' own log lines carry it too; with tracing on, the request is
// a span, continuing the caller's trace when it sends a traceparent.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		s.http.inFlight.Inc()
		defer s.http.inFlight.Dec()
		req := c.Request()
		route, method := routeLabel(c), methodLabel(req.Method)
		ctx := kefu.WithRequestID(req.Context(), c.Response().Header().Get(echo.HeaderXRequestID))
		var span trace.Span
		if s.tracer != nil {
			ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(req.Header))
			ctx, span = s.tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("http.route", route), attribute.String("url.path", req.URL.Path)))
		}
		c.SetRequest(req.WithContext(ctx))
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		elapsed := time.Since(start)
		if span != nil {
			span.SetAttributes(attribute.Int("http.response.status_code", res.Status), attribute.String("kefu.tenant_id", tenantOf(c)))
			if res.Status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(res.Status))
			}
			span.End()
		}
		s.http.requests.WithLabelValues(route, method, strconv.Itoa(res.Status)).Inc()
		s.http.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if quietRoutes[route] {
			level = slog.LevelDebug
		}
		s.log.Log(req.Context(), level, "http", "method", req.Method, "route", route, "path", req.URL.Path, "status", res.Status,
			"ms", float64(elapsed.Microseconds())/1000, "bytes", res.Size,
			"request_id", res.Header().Get(echo.HeaderXRequestID), "tenant_id", tenantOf(c))
		return nil
	}
}

// countUpgrade counts a /ws request, which passes the router by: status
// 101 once the socket is upgraded, else the status it was answered with.
func (s *Server) countUpgrade(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := &statusRecorder{ResponseWriter: w}
	h.ServeHTTP(rec, r)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	s.http.requests.WithLabelValues("/ws", methodLabel(r.Method), strconv.Itoa(status)).Inc()
}

// statusRecorder notes the status a handler answers with; a hijacked
// connection (a WebSocket upgrade) counts as 101.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	c, brw, err := hj.Hijack()
	if err == nil && r.status == 0 {
		r.status = http.StatusSwitchingProtocols
	}
	return c, brw, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
