package frontend

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestPagesHaveNoInlineScript: the app's pages are served with a
// Content-Security-Policy that allows scripts only from the server's own
// files (script-src 'self'), so an inline script would not run.
func TestPagesHaveNoInlineScript(t *testing.T) {
	pages, _ := filepath.Glob("public/*.html")
	pages = append(pages, "index.html")
	script := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range script.FindAllSubmatch(b, -1) {
			if !regexp.MustCompile(`(?i)\ssrc=`).Match(m[1]) || len(regexp.MustCompile(`\S`).FindAll(m[2], 1)) > 0 {
				t.Errorf("%s has an inline script: %.80s", p, m[0])
			}
		}
		if loc := handler.FindIndex(b); loc != nil {
			t.Errorf("%s has an inline event handler near %q", p, b[loc[0]:min(len(b), loc[1]+20)])
		}
	}
	if len(pages) < 2 {
		t.Fatalf("only %v checked", pages)
	}
}
