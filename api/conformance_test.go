package api_test

// Every answer the server gives in the api package's tests is checked
// against api/openapi.yaml: the servers the tests start are wrapped by
// conform, which copies each response (status, headers, body) to a checker
// running beside the tests; the checker finds the operation in the spec and
// validates the answer with kin-openapi's openapi3filter (the status must
// be documented, the content type be one the operation names, the body
// match its schema, documented headers theirs). Mismatches are collected
// and TestMain fails the run with the list after the tests, so one test's
// odd answer is reported whichever test provoked it.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// maxChecked is the largest body the checker copies; larger answers (file
// downloads, exports) are checked for status and content type only.
const maxChecked = 1 << 20

// checked is one answer waiting for the checker.
type checked struct {
	req     *http.Request // method, URL and headers only
	status  int
	header  http.Header
	body    []byte
	partial bool // over maxChecked
}

type conformance struct {
	once    sync.Once
	router  routers.Router
	loadErr error
	queue   chan checked
	done    sync.WaitGroup
	started sync.Once

	mu       sync.Mutex
	failures map[string]int // "METHOD path-template status: reason" → times seen
	answers  int
}

var spec = &conformance{queue: make(chan checked, 256), failures: map[string]int{}}

// conform wraps a server's handler so its answers are checked against the
// spec.
func conform(h http.Handler) http.Handler {
	spec.start()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recording{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.hijacked || rec.status == http.StatusSwitchingProtocols {
			return // a WebSocket: its frames are the socket tests' business
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		req := &http.Request{Method: r.Method, URL: cloneURL(r.URL), Header: r.Header.Clone(), Host: r.Host}
		spec.queue <- checked{req: req, status: status, header: w.Header().Clone(), body: rec.body.Bytes(), partial: rec.partial}
	})
}

func cloneURL(u *url.URL) *url.URL { c := *u; return &c }

// recording copies what the handler writes (up to maxChecked) while
// passing it on; it keeps the writer's Flush and Hijack.
type recording struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	partial  bool
	hijacked bool
}

func (r *recording) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recording) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if !r.partial {
		if r.body.Len()+len(b) > maxChecked {
			r.partial = true
			r.body.Reset()
		} else {
			r.body.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

func (r *recording) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recording) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the response writer cannot be hijacked")
	}
	r.hijacked = true
	return h.Hijack()
}

func (r *recording) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// start loads the spec and starts the checker (once per test binary).
func (c *conformance) start() {
	c.started.Do(func() {
		c.once.Do(c.load)
		c.done.Add(1)
		go func() {
			defer c.done.Done()
			for a := range c.queue {
				c.check(a)
			}
		}()
	})
}

// textTypes are answered as documents (pages, scripts, CSV, the spec
// itself): their schema is a string, and the checker reads them as one.
var textTypes = []string{"text/html", "text/javascript", "application/javascript", "text/csv", "application/yaml", "text/plain"}

func (c *conformance) load() {
	for _, t := range textTypes {
		openapi3filter.RegisterBodyDecoder(t, func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(r)
			return string(b), err
		})
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specFile)
	if err != nil {
		c.loadErr = err
		return
	}
	// The tests' servers listen on loopback at a random port: match paths
	// whatever the host.
	doc.Servers = nil
	c.router, c.loadErr = legacy.NewRouter(doc)
}

func (c *conformance) check(a checked) {
	c.mu.Lock()
	c.answers++
	c.mu.Unlock()
	if c.loadErr != nil {
		c.fail(fmt.Sprintf("api/openapi.yaml: %v", c.loadErr))
		return
	}
	route, params, err := c.router.FindRoute(a.req)
	if err != nil {
		// The attack and edge suites probe paths and methods nobody
		// serves; their 404/405 is the router's, not an operation's.
		if a.status == http.StatusNotFound || a.status == http.StatusMethodNotAllowed {
			return
		}
		// Pages and assets of the web apps are not API operations.
		if p := a.req.URL.Path; !strings.HasPrefix(p, "/api/") {
			return
		}
		c.fail(fmt.Sprintf("%s %s %d: not in the spec", a.req.Method, a.req.URL.Path, a.status))
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: a.req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: a.status,
		Header: a.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			ExcludeResponseBody: a.partial},
	}
	switch enc := a.header.Get("Content-Encoding"); {
	case enc == "" || a.req.Method == http.MethodHead: // HEAD: no body
	case enc == "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(a.body))
		if err == nil {
			a.body, err = io.ReadAll(zr)
		}
		if err != nil && !a.partial {
			c.fail(fmt.Sprintf("%s %s %d: a gzip body that does not decompress: %v", a.req.Method, route.Path, a.status, err))
			return
		}
	default: // br: checked for status, headers and content type only
		in.Options.ExcludeResponseBody = true
	}
	in.SetBodyBytes(a.body)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		c.fail(fmt.Sprintf("%s %s %d: %s", a.req.Method, route.Path, a.status, oneLine(err.Error())))
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func (c *conformance) fail(what string) {
	c.mu.Lock()
	c.failures[what]++
	c.mu.Unlock()
}

// finish waits for the checker and reports the mismatches; it says whether
// there were none.
func (c *conformance) finish(w io.Writer) bool {
	c.started.Do(func() {}) // never started: nothing to wait for
	close(c.queue)
	c.done.Wait()
	if len(c.failures) == 0 {
		return true
	}
	lines := make([]string, 0, len(c.failures))
	for f, n := range c.failures {
		lines = append(lines, fmt.Sprintf("  %s (×%d)", f, n))
	}
	sort.Strings(lines)
	fmt.Fprintf(w, "--- FAIL: responses against api/openapi.yaml: %d kinds of answer of %d checked do not match the spec:\n%s\n",
		len(lines), c.answers, strings.Join(lines, "\n"))
	return false
}

func TestMain(m *testing.M) {
	code := m.Run()
	if !spec.finish(os.Stdout) && code == 0 {
		code = 1
	}
	os.Exit(code)
}
