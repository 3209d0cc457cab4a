package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// webFile is one file of the built app as it is served: its type, its
// validator, and the precompressed copies the build left beside it
// (frontend/scripts/compress.mjs writes NAME.br and NAME.gz).
type webFile struct {
	name     string
	ctype    string
	etag     string            // of the uncompressed bytes
	variants map[string]string // content coding ("br", "gzip") → file holding it
	body     []byte            // the bytes to serve when they differ from the file's (the public demo page)
}

// webApp is the built app, indexed once at start: serving a file reads it
// straight from the embedded data, with no copy and no hashing per request.
type webApp struct {
	fsys    fs.FS
	files   map[string]*webFile
	modTime time.Time // Last-Modified: when this server started (embedded files carry no time)
}

// encodings are the content codings a build may precompress, by preference.
var encodings = []struct{ coding, suffix string }{{"br", ".br"}, {"gzip", ".gz"}}

// newWebApp indexes every file of fsys. The precompressed copies are not
// served under their own names.
func newWebApp(fsys fs.FS, publicDemo bool) (*webApp, error) {
	w := &webApp{fsys: fsys, files: map[string]*webFile{}, modTime: time.Now().UTC().Truncate(time.Second)}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		f := &webFile{name: name, ctype: contentType(name), variants: map[string]string{}}
		if name == "demo.html" && publicDemo {
			// The page differs from the built file, so its compressed
			// copies do not fit it: it is served as it is (it is small).
			f.body = bytes.Replace(b, []byte(`<meta name="kefu-demo" content="staff">`), []byte(`<meta name="kefu-demo" content="public">`), 1)
			b = f.body
		} else {
			for _, e := range encodings {
				if st, err := fs.Stat(fsys, name+e.suffix); err == nil && !st.IsDir() {
					f.variants[e.coding] = name + e.suffix
				}
			}
		}
		sum := sha256.Sum256(b)
		f.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
		w.files[name] = f
		return nil
	})
	return w, err
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".ico":
		return "image/x-icon"
	case ".json":
		return "application/json"
	case ".woff2":
		return "font/woff2"
	}
	return "application/octet-stream"
}

// mountWeb serves the built web app: hashed assets with a long cache, the
// widget script and demo page, and index.html for every other page route so
// the single-page app can route them. Every file answers GET and HEAD, with
// an ETag and Last-Modified (conditional requests get 304), and in the
// smallest precompressed coding the client accepts (Vary: Accept-Encoding).
// HTML pages carry the app's Content-Security-Policy and may not be framed;
// the widget script, which customers embed in their own sites, carries no
// frame or page policy (it is a script, and its API calls are cross-origin
// without credentials).
func (s *Server) mountWeb(web fs.FS) {
	getHead := []string{http.MethodGet, http.MethodHead}
	var app *webApp
	if web != nil {
		var err error
		if app, err = newWebApp(web, s.cfg.PublicDemo); err != nil {
			s.log.Error("indexing the web app", "err", err)
			app = nil
		}
	}
	if app == nil {
		s.e.Match(getHead, "/", func(c echo.Context) error {
			s.pageHeaders(c)
			return c.HTML(http.StatusOK, "<!doctype html><title>Kefu</title><p>The web app is not built. Run <code>make build</code>.</p>")
		})
		return
	}
	serve := func(c echo.Context, name, cache string) error {
		f := app.files[name]
		if f == nil {
			return echo.NewHTTPError(http.StatusNotFound, "not found")
		}
		return s.serveWebFile(c, app, f, cache)
	}
	s.e.Match(getHead, "/widget.js", func(c echo.Context) error {
		c.Response().Header().Set("Access-Control-Allow-Origin", "*")
		return serve(c, "widget.js", "public, max-age=300")
	})
	s.e.Match(getHead, "/demo", func(c echo.Context) error { return serve(c, "demo.html", "no-cache") })
	s.e.Match(getHead, "/api/docs/redoc.standalone.js", func(c echo.Context) error {
		return serve(c, "redoc.standalone.js", "public, max-age=3600")
	})
	s.e.Match(getHead, "/assets/*", func(c echo.Context) error {
		name := strings.TrimPrefix(c.Request().URL.Path, "/")
		if !fs.ValidPath(name) {
			return echo.NewHTTPError(http.StatusNotFound, "not found")
		}
		// Their names carry a hash of their content: cached for good.
		return serve(c, name, "public, max-age=31536000, immutable")
	})
	spa := func(c echo.Context) error { return serve(c, "index.html", "no-cache") }
	s.e.Match(getHead, "/", spa)
	s.e.Match(getHead, "/*", func(c echo.Context) error {
		p := c.Request().URL.Path
		if strings.HasPrefix(p, "/api/") || p == "/ws" {
			return echo.NewHTTPError(http.StatusNotFound, "not found")
		}
		// A file at the root of the build (favicon.svg, robots.txt …).
		if name := strings.TrimPrefix(p, "/"); name != "" && !strings.Contains(name, "/") && app.files[name] != nil {
			return serve(c, name, "public, max-age=3600")
		}
		return spa(c)
	})
}

// serveWebFile writes f in the best coding the client accepts. ServeContent
// answers conditional requests (If-None-Match, If-Modified-Since) with 304,
// ranges with 206, and HEAD with the headers alone.
func (s *Server) serveWebFile(c echo.Context, app *webApp, f *webFile, cache string) error {
	h := c.Response().Header()
	if strings.HasSuffix(f.name, ".html") {
		s.pageHeaders(c)
	}
	h.Set("Cache-Control", cache)
	h.Set(echo.HeaderContentType, f.ctype)
	name, etag, coding := f.name, f.etag, ""
	if len(f.variants) > 0 {
		h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
		if coding = pickCoding(c.Request().Header.Get(echo.HeaderAcceptEncoding), f.variants); coding != "" {
			name = f.variants[coding]
			etag = strings.TrimSuffix(etag, `"`) + "-" + coding + `"`
			h.Set(echo.HeaderContentEncoding, coding)
		}
	}
	h.Set("ETag", etag)
	var content io.ReadSeeker
	if f.body != nil {
		content = bytes.NewReader(f.body)
	} else {
		file, err := app.fsys.Open(name)
		if err != nil {
			return err
		}
		defer file.Close()
		rs, ok := file.(io.ReadSeeker)
		if !ok {
			b, err := io.ReadAll(file)
			if err != nil {
				return err
			}
			rs = bytes.NewReader(b)
		}
		content = rs
	}
	req := c.Request()
	if coding != "" {
		// ServeContent leaves out Content-Length when Content-Encoding is
		// set (it allows for writers that compress on the fly); these bytes
		// are compressed already and their length is known. Ranges of a
		// compressed copy serve no one, so the whole copy is sent.
		size, err := content.Seek(0, io.SeekEnd)
		if err != nil {
			return err
		}
		if _, err := content.Seek(0, io.SeekStart); err != nil {
			return err
		}
		h.Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
		req = req.Clone(req.Context())
		req.Header.Del("Range")
		req.Header.Del("If-Range")
	}
	http.ServeContent(c.Response(), req, "", app.modTime, content)
	return nil
}

// pickCoding chooses among the available codings the one the client
// accepts with the highest weight (Accept-Encoding, RFC 9110 12.5.3),
// preferring br on a tie; "" means the identity. A coding given q=0 is
// refused, and "*" stands for every coding not named.
func pickCoding(accept string, available map[string]string) string {
	if accept == "" {
		return ""
	}
	weights := map[string]float64{}
	star := -1.0
	for _, part := range strings.Split(accept, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				} else {
					q = 0
				}
			}
		}
		if name == "*" {
			star = q
		} else if name != "" {
			weights[name] = q
		}
	}
	best, bestQ := "", 0.0
	for _, e := range encodings {
		if _, ok := available[e.coding]; !ok {
			continue
		}
		q, named := weights[e.coding]
		if !named {
			if e.coding == "gzip" {
				q, named = weights["x-gzip"]
			}
			if !named {
				q = star
			}
		}
		if q > bestQ {
			best, bestQ = e.coding, q
		}
	}
	return best
}

// pageHeaders: the app pages' policy, and no framing (clickjacking).
func (s *Server) pageHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", s.pagePolicy(c.Request()))
	h.Set("X-Frame-Options", "DENY")
}
