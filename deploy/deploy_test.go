package deploy

// These tests read the deployment files as data and check the facts Kefu
// relies on: what the server needs at run time (database and Redis URLs,
// probes, drain time), what Redis needs for presence and fan-out, and that
// the files agree with each other (selectors, ports, secret keys, the Redis
// configuration in two places). They need no Docker or Kubernetes; the Redis
// configuration is also loaded by a real redis-server when one is installed.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"gopkg.in/yaml.v3"
)

// readDocs decodes every document of a (possibly multi-document) YAML file.
// Empty documents (a trailing ---) are skipped.
func readDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []map[string]any
	for i := 0; ; i++ {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, i, err)
		}
		if doc == nil {
			continue
		}
		m, ok := asMap(doc)
		if !ok {
			t.Fatalf("%s: document %d is a %T, want a mapping", path, i, doc)
		}
		docs = append(docs, m)
	}
	return docs
}

func readDoc(t *testing.T, path string) map[string]any {
	t.Helper()
	docs := readDocs(t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: %d documents, want 1", path, len(docs))
	}
	return docs[0]
}

// asMap returns v as a string-keyed map (yaml.v3 gives map[any]any for
// mappings with non-string keys).
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

// at walks v through map keys and list indexes ("0", "1", …) and returns what
// it finds, or nil.
func at(v any, path ...string) any {
	for _, key := range path {
		if m, ok := asMap(v); ok {
			v = m[key]
			continue
		}
		list, ok := v.([]any)
		i, err := strconv.Atoi(key)
		if !ok || err != nil || i < 0 || i >= len(list) {
			return nil
		}
		v = list[i]
	}
	return v
}

func mapAt(v any, path ...string) map[string]any {
	m, _ := asMap(at(v, path...))
	return m
}

func listAt(v any, path ...string) []any {
	l, _ := at(v, path...).([]any)
	return l
}

func strAt(v any, path ...string) string {
	switch s := at(v, path...).(type) {
	case string:
		return s
	case nil:
		return ""
	default:
		return fmt.Sprint(s)
	}
}

func intAt(v any, path ...string) (int, bool) {
	n, ok := at(v, path...).(int)
	return n, ok
}

// stringList turns a YAML list (or a single string) into strings.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// yamlFiles lists every YAML file under deploy/.
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing deploy/: %v", err)
	}
	if len(files) == 0 {
		t.Fatal("no YAML files under deploy/")
	}
	return files
}

func TestEveryYAMLFileParses(t *testing.T) {
	t.Parallel()
	for _, path := range yamlFiles(t) {
		t.Run(path, func(t *testing.T) {
			if docs := readDocs(t, path); len(docs) == 0 {
				t.Errorf("%s holds no document", path)
			}
		})
	}
}
