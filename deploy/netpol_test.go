package deploy

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestNetworkPolicies: by default no pod of the namespace takes
// connections; Kefu's public port is open, its metrics port only to the
// monitoring namespace, and Redis only to Kefu's pods (operator review:
// there was no NetworkPolicy).
func TestNetworkPolicies(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	kefuPods := mapAt(object(t, objs, "Deployment/kefu"), "spec", "template", "metadata", "labels")
	redisPods := mapAt(object(t, objs, "Deployment/redis"), "spec", "template", "metadata", "labels")

	deny := object(t, objs, "NetworkPolicy/default-deny-ingress")
	if len(mapAt(deny, "spec", "podSelector")) != 0 || !slices.Contains(stringList(at(deny, "spec", "policyTypes")), "Ingress") || len(listAt(deny, "spec", "ingress")) != 0 {
		t.Errorf("default-deny-ingress does not deny every pod's ingress: %v", deny["spec"])
	}

	kefu := object(t, objs, "NetworkPolicy/kefu-server")
	if !selects(mapAt(kefu, "spec", "podSelector", "matchLabels"), kefuPods) {
		t.Error("NetworkPolicy kefu-server does not select the kefu pods")
	}
	open := map[string]bool{}  // ports anyone may reach
	gated := map[string]bool{} // ports some peers may reach
	for _, rule := range listAt(kefu, "spec", "ingress") {
		for _, p := range listAt(rule, "ports") {
			if len(listAt(rule, "from")) == 0 {
				open[strAt(p, "port")] = true
			} else {
				gated[strAt(p, "port")] = true
			}
		}
	}
	if !open["http"] {
		t.Errorf("the public port is not open: open %v", open)
	}
	if open["metrics"] || !gated["metrics"] {
		t.Errorf("the metrics port must be reachable by the monitoring namespace only: open %v, gated %v", open, gated)
	}
	egressToRedis, egressDNS := false, false
	for _, rule := range listAt(kefu, "spec", "egress") {
		for _, to := range listAt(rule, "to") {
			if selects(mapAt(to, "podSelector", "matchLabels"), redisPods) {
				egressToRedis = true
			}
			if strAt(to, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") == "kube-system" {
				egressDNS = true
			}
			if cidr := strAt(to, "ipBlock", "cidr"); cidr == "0.0.0.0/0" && !slices.Contains(stringList(at(to, "ipBlock", "except")), "169.254.0.0/16") {
				t.Error("kefu pods may reach the cloud metadata service (169.254.0.0/16)")
			}
		}
	}
	if !egressToRedis || !egressDNS {
		t.Errorf("kefu pods cannot reach Redis (%v) or DNS (%v)", egressToRedis, egressDNS)
	}

	rp := object(t, objs, "NetworkPolicy/redis")
	if !selects(mapAt(rp, "spec", "podSelector", "matchLabels"), redisPods) {
		t.Fatal("NetworkPolicy redis does not select the redis pods")
	}
	rules := listAt(rp, "spec", "ingress")
	if len(rules) != 1 {
		t.Fatalf("redis has %d ingress rules, want 1 (from kefu)", len(rules))
	}
	froms := listAt(rules[0], "from")
	if len(froms) != 1 || !selects(mapAt(froms[0], "podSelector", "matchLabels"), kefuPods) || mapAt(froms[0], "namespaceSelector") != nil {
		t.Errorf("redis takes connections from %v, want the kefu pods only", froms)
	}
	if !slices.Contains(stringList(at(rp, "spec", "policyTypes")), "Egress") || len(listAt(rp, "spec", "egress")) != 0 {
		t.Error("redis may open connections")
	}
}

// TestRedisRequiresAPassword: the Redis of deploy/k8s runs with
// requirepass from the Secret redis, and Kefu's KEFU_REDIS_URL carries the
// same password. With redis-server installed, the test then starts Redis
// the way the manifest does and connects the way Kefu would, with the URL
// as Kubernetes expands it: without the password Redis refuses, with it it
// answers.
func TestRedisRequiresAPassword(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	secret := object(t, objs, "Secret/redis")
	if strAt(secret, "stringData", "password") == "" {
		t.Fatal("the example Secret redis has no password")
	}
	rc := container(t, object(t, objs, "Deployment/redis"), "redis")
	env := envOf(t, rc, "redis")
	args := stringList(rc["args"])
	if !slices.Equal(args, []string{"--requirepass", "$(REDIS_PASSWORD)"}) {
		t.Errorf("redis args %v, want --requirepass $(REDIS_PASSWORD)", args)
	}
	for _, name := range []string{"REDIS_PASSWORD", "REDISCLI_AUTH"} {
		if ref := mapAt(env[name], "valueFrom", "secretKeyRef"); strAt(ref, "name") != "redis" || strAt(ref, "key") != "password" {
			t.Errorf("redis's %s does not come from Secret redis, key password", name)
		}
	}

	kc := container(t, object(t, objs, "Deployment/kefu"), "kefu")
	kenv := envOf(t, kc, "kefu")
	if ref := mapAt(kenv["REDIS_PASSWORD"], "valueFrom", "secretKeyRef"); strAt(ref, "name") != "redis" || strAt(ref, "key") != "password" {
		t.Error("kefu's REDIS_PASSWORD does not come from Secret redis, key password")
	}
	// Kubernetes expands $(VAR) only from variables defined before it.
	var order []string
	for _, e := range listAt(kc, "env") {
		order = append(order, strAt(e, "name"))
	}
	if slices.Index(order, "REDIS_PASSWORD") < 0 || slices.Index(order, "REDIS_PASSWORD") > slices.Index(order, "KEFU_REDIS_URL") {
		t.Errorf("REDIS_PASSWORD must come before KEFU_REDIS_URL in the env list: %v", order)
	}
	rawURL := strAt(kenv["KEFU_REDIS_URL"], "value")
	if !strings.Contains(rawURL, ":$(REDIS_PASSWORD)@") {
		t.Fatalf("KEFU_REDIS_URL %q does not carry the password", rawURL)
	}

	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed: the manifests were checked, not run")
	}
	password := "0123456789abcdef" + randomHex(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	conf, _ := filepath.Abs("redis.conf")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmdArgs := []string{conf}
	for _, a := range args {
		cmdArgs = append(cmdArgs, strings.ReplaceAll(a, "$(REDIS_PASSWORD)", password))
	}
	cmdArgs = append(cmdArgs, "--port", "0", "--unixsocket", sock, "--dir", dir, "--daemonize", "no", "--logfile", "")
	cmd := exec.CommandContext(ctx, bin, cmdArgs...)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.Contains(strings.ToLower(sc.Text()), "ready to accept connections") {
	}
	go func() {
		for sc.Scan() {
		}
	}()

	expanded := strings.ReplaceAll(rawURL, "$(REDIS_PASSWORD)", password)
	u, err := url.Parse(expanded)
	if err != nil {
		t.Fatalf("KEFU_REDIS_URL as expanded does not parse: %v", err)
	}
	opt, err := redis.ParseURL(expanded)
	if err != nil {
		t.Fatalf("go-redis refuses KEFU_REDIS_URL: %v", err)
	}
	if opt.Password != password {
		t.Fatalf("go-redis reads password %q from %s", opt.Password, u.Redacted())
	}
	dial := func(pw string) error {
		o := *opt
		o.Network, o.Addr, o.Password = "unix", sock, pw
		o.Dialer = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}
		c := redis.NewClient(&o)
		defer c.Close()
		return c.Ping(ctx).Err()
	}
	if err := dial(""); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("Redis answered without the password: %v", err)
	}
	if err := dial(opt.Password); err != nil {
		t.Errorf("Redis refused the password from KEFU_REDIS_URL: %v", err)
	}
}

func envOf(t *testing.T, c map[string]any, name string) map[string]map[string]any {
	t.Helper()
	env := map[string]map[string]any{}
	for _, e := range listAt(c, "env") {
		m, _ := asMap(e)
		env[strAt(m, "name")] = m
	}
	if len(env) == 0 {
		t.Fatalf("container %s has no env", name)
	}
	return env
}

// TestKustomizeBuilds: kustomize (as kubectl embeds it) builds deploy/k8s,
// network policies included.
func TestKustomizeBuilds(t *testing.T) {
	t.Parallel()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed; `go run sigs.k8s.io/kustomize/kustomize/v5@latest build deploy/k8s` does the same")
	}
	out, err := exec.Command(kubectl, "kustomize", "k8s").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize deploy/k8s: %v\n%s", err, out)
	}
	docs := strings.Split(string(out), "\n---\n")
	kinds := map[string]int{}
	for _, d := range docs {
		for _, line := range strings.Split(d, "\n") {
			if k, ok := strings.CutPrefix(line, "kind: "); ok {
				kinds[k]++
			}
		}
	}
	if kinds["NetworkPolicy"] != 3 || kinds["Deployment"] != 2 || kinds["Secret"] != 0 {
		t.Errorf("kustomize built %v, want 3 NetworkPolicies, 2 Deployments and no Secret (the Secrets are made by hand)", kinds)
	}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
