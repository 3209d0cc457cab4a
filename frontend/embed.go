// Package frontend embeds the built web app (console, portal, widget and demo
// page) so that one binary serves everything. `npm run build` writes it to
// dist/app; dist/.keep keeps the embed valid before the first build.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// App returns the built app, or nil when it has not been built.
func App() fs.FS {
	sub, err := fs.Sub(dist, "dist/app")
	if err != nil {
		return nil
	}
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		return nil
	}
	return sub
}
