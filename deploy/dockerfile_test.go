package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

type instruction struct {
	cmd  string // upper case
	args string
}

type stage struct {
	from  string // the FROM arguments
	steps []instruction
}

// readDockerfile splits a Dockerfile into stages of instructions, joining
// continuation lines and dropping comments.
func readDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var logical strings.Builder
	flush := func() {
		line := strings.TrimSpace(logical.String())
		logical.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, stage{from: in.args})
			return
		}
		if len(stages) == 0 {
			t.Errorf("%s: %s before the first FROM", path, in.cmd)
			return
		}
		stages[len(stages)-1].steps = append(stages[len(stages)-1].steps, in)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			logical.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		logical.WriteString(trimmed)
		flush()
	}
	flush()
	return stages
}

// image returns the image of a FROM line, without --platform and AS.
func (s stage) image() string {
	for _, f := range strings.Fields(s.from) {
		if !strings.HasPrefix(f, "--") {
			return f
		}
	}
	return ""
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.steps {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

func TestDockerfileBuildsAndRunsServeAsNonRoot(t *testing.T) {
	t.Parallel()
	stages := readDockerfile(t, "Dockerfile")
	if len(stages) < 3 {
		t.Fatalf("%d stages, want the frontend, the server and the runtime", len(stages))
	}

	t.Run("the frontend is built with npm ci and npm run build on node 20", func(t *testing.T) {
		web := stages[0]
		if !strings.HasPrefix(web.image(), "node:20") {
			t.Errorf("first stage FROM %q, want node:20", web.image())
		}
		runs := strings.Join(web.all("RUN"), "\n")
		for _, want := range []string{"npm ci", "npm run build"} {
			if !strings.Contains(runs, want) {
				t.Errorf("the frontend stage does not run %q", want)
			}
		}
	})

	t.Run("the server is a static Go build of ./cmd/kefu", func(t *testing.T) {
		var build *stage
		for i := range stages {
			if strings.HasPrefix(stages[i].image(), "golang:1.26") {
				build = &stages[i]
			}
		}
		if build == nil {
			t.Fatal("no golang:1.26 stage")
		}
		runs := strings.Join(build.all("RUN"), "\n") + strings.Join(build.all("ENV"), "\n")
		for _, want := range []string{"CGO_ENABLED=0", "go build", "-o /kefu", "./cmd/kefu"} {
			if !strings.Contains(runs, want) {
				t.Errorf("the Go stage does not have %q", want)
			}
		}
	})

	final := stages[len(stages)-1]
	t.Run("the final stage runs /kefu serve as a non-root user", func(t *testing.T) {
		users := final.all("USER")
		if len(users) == 0 {
			t.Fatal("the final stage sets no USER, so it runs as root")
		}
		user, _, _ := strings.Cut(users[len(users)-1], ":")
		if user == "" || user == "root" || user == "0" {
			t.Errorf("USER %q, want a non-root user", users[len(users)-1])
		}
		if _, err := strconv.Atoi(user); err != nil {
			t.Errorf("USER %q: want a numeric uid, which Kubernetes' runAsNonRoot can verify", user)
		}
		entries := final.all("ENTRYPOINT")
		if len(entries) != 1 {
			t.Fatalf("%d ENTRYPOINTs in the final stage, want 1", len(entries))
		}
		var entry []string
		if err := json.Unmarshal([]byte(entries[0]), &entry); err != nil {
			t.Fatalf("ENTRYPOINT %s is not the exec (JSON) form: %v", entries[0], err)
		}
		if !slices.Equal(entry, []string{"/kefu", "serve"}) {
			t.Errorf("ENTRYPOINT %v, want [/kefu serve]", entry)
		}
		copied := false
		for _, c := range final.all("COPY") {
			if strings.HasPrefix(c, "--from=") && strings.Contains(c, "/kefu") {
				copied = true
			}
		}
		if !copied {
			t.Error("the final stage does not copy /kefu from the build stage")
		}
	})

	t.Run("the final stage listens on 8080 and keeps data in /data", func(t *testing.T) {
		if exposes := strings.Join(final.all("EXPOSE"), " "); !slices.Contains(strings.Fields(exposes), "8080") {
			t.Errorf("EXPOSE %q, want 8080", exposes)
		}
		env := strings.Join(final.all("ENV"), " ")
		for _, want := range []string{"KEFU_ADDR=0.0.0.0:8080", "KEFU_DATA_DIR=/data"} {
			if !slices.Contains(strings.Fields(env), want) {
				t.Errorf("ENV %q lacks %s", env, want)
			}
		}
	})
}

// TestDockerImageReportsItsVersion runs the Dockerfile's own go build (its
// RUN line, without Docker: the cache mounts aside, and /kefu written to a
// temporary directory) with the build arguments VERSION and COMMIT, and
// checks the binary reports them: the image said "dev" (operator review).
func TestDockerImageReportsItsVersion(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the server: skipped in -short mode")
	}
	var build *stage
	for _, s := range readDockerfile(t, "Dockerfile") {
		if strings.HasPrefix(s.image(), "golang:") {
			build = &s
		}
	}
	if build == nil {
		t.Fatal("no Go stage")
	}
	args := strings.Join(build.all("ARG"), " ")
	for _, want := range []string{"VERSION", "COMMIT"} {
		if !strings.Contains(args, want) {
			t.Errorf("the Go stage declares no ARG %s (it has %q)", want, args)
		}
	}
	var goBuild string
	for _, r := range build.all("RUN") {
		if strings.Contains(r, "go build") {
			goBuild = r
		}
	}
	if goBuild == "" {
		t.Fatal("the Go stage runs no go build")
	}
	// RUN --mount=… flags are Docker's, not the shell's.
	fields := strings.Fields(goBuild)
	for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
		fields = fields[1:]
	}
	bin := filepath.Join(t.TempDir(), "kefu")
	script := strings.Replace(strings.Join(fields, " "), "-o /kefu", "-o "+bin, 1)
	if !strings.Contains(script, bin) {
		t.Fatalf("the go build does not write -o /kefu: %s", goBuild)
	}
	goArch, _ := exec.Command("go", "env", "GOARCH").Output()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "VERSION=1.2.3-test", "COMMIT=abc1234", "TARGETOS=", "TARGETARCH="+strings.TrimSpace(string(goArch)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "kefu 1.2.3-test" {
		t.Fatalf("kefu version said %q (%v), want \"kefu 1.2.3-test\"", out, err)
	}
}
