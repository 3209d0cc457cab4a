package api

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"

	"github.com/labstack/echo/v4"
)

// spec is the contract of record, served as it is at /api/openapi.yaml.
//
//go:embed openapi.yaml
var spec []byte

var specETag = func() string {
	sum := sha256.Sum256(spec)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// docsPage renders the spec with Redoc's standalone bundle, which the build
// copies into the app (frontend/scripts/redoc.mjs): nothing comes from
// another origin, and no script is inline.
const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kefu API reference</title>
<style>body{margin:0}</style>
</head>
<body>
<redoc spec-url="/api/openapi.yaml" hide-download-button="false"></redoc>
<script src="/api/docs/redoc.standalone.js"></script>
</body>
</html>
`

// mountDocs serves the spec and the reference page. The page's policy is the
// app's plus workers from blob: URLs (Redoc runs its search in one).
func (s *Server) mountDocs() {
	s.e.GET("/api/openapi.yaml", func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", specETag)
		h.Set("Access-Control-Allow-Origin", "*")
		if etagMatches(c.Request().Header.Get("If-None-Match"), specETag) {
			return c.NoContent(http.StatusNotModified)
		}
		return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", spec)
	})
	s.e.GET("/api/docs", func(c echo.Context) error {
		s.pageHeaders(c)
		h := c.Response().Header()
		h.Set("Content-Security-Policy", s.pagePolicy(c.Request())+"; worker-src 'self' blob:")
		h.Set("Cache-Control", "no-cache")
		return c.HTML(http.StatusOK, docsPage)
	})
}
