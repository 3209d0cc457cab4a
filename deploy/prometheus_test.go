package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPromtoolAcceptsTheConfigAndAlerts runs Prometheus's own checker on
// the compose stack's prometheus.yml (which loads the alert rules) and on
// the rules themselves. .ci/run installs promtool (Debian's prometheus
// package), so CI never skips this.
func TestPromtoolAcceptsTheConfigAndAlerts(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	for _, args := range [][]string{{"check", "config", "prometheus.yml"}, {"check", "rules", "prometheus/alerts.yml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if args[1] == "config" && !strings.Contains(string(out), "prometheus/alerts.yml") {
			t.Errorf("promtool check config did not load the alert rules:\n%s", out)
		}
	}
}

// TestEveryAlertHasARunbookSection: each alert carries a summary, a
// severity and a runbook annotation pointing at its own section of
// deploy/README.md, which exists.
func TestEveryAlertHasARunbookSection(t *testing.T) {
	t.Parallel()
	doc := readDoc(t, filepath.Join("prometheus", "alerts.yml"))
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range listAt(doc, "groups") {
		for _, r := range listAt(g, "rules") {
			name := strAt(r, "alert")
			if name == "" {
				continue
			}
			n++
			if strAt(r, "labels", "severity") == "" || strAt(r, "annotations", "summary") == "" {
				t.Errorf("%s has no severity or summary", name)
			}
			if want := "deploy/README.md#" + strings.ToLower(name); strAt(r, "annotations", "runbook") != want {
				t.Errorf("%s: runbook %q, want %q", name, strAt(r, "annotations", "runbook"), want)
			}
			if !strings.Contains(string(readme), "\n### "+name+"\n") {
				t.Errorf("deploy/README.md has no section \"### %s\"", name)
			}
		}
	}
	// The list: error rate, ack latency, breaker open, Redis down,
	// database pool exhausted, node restarts (the outbox arrives with webhooks).
	for _, want := range []string{"KefuHighErrorRate", "KefuAckLatencyHigh", "KefuAssignmentBreakerOpen", "KefuRedisDown", "KefuDatabasePoolExhausted", "KefuNodeRestarting"} {
		if !strings.Contains(string(readme), "### "+want) {
			t.Errorf("no alert %s", want)
		}
	}
	if n < 8 {
		t.Errorf("only %d alerts", n)
	}
}
