package deploy

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// manifests returns every Kubernetes object under k8s/, keyed "Kind/name".
func manifests(t *testing.T) map[string]map[string]any {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in deploy/k8s (%v)", err)
	}
	objs := map[string]map[string]any{}
	for _, p := range paths {
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		for _, doc := range readDocs(t, p) {
			kind, name := strAt(doc, "kind"), strAt(doc, "metadata", "name")
			if strAt(doc, "apiVersion") == "" || kind == "" || name == "" {
				t.Errorf("%s: an object without apiVersion, kind or metadata.name", p)
				continue
			}
			if kind != "Namespace" && strAt(doc, "metadata", "namespace") != "kefu" {
				t.Errorf("%s: %s/%s is not in namespace kefu", p, kind, name)
			}
			key := kind + "/" + name
			if objs[key] != nil {
				t.Errorf("%s: %s is defined twice", p, key)
			}
			doc["_file"] = filepath.Base(p)
			objs[key] = doc
		}
	}
	return objs
}

func object(t *testing.T, objs map[string]map[string]any, key string) map[string]any {
	t.Helper()
	o := objs[key]
	if o == nil {
		keys := make([]string, 0, len(objs))
		for k := range objs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Fatalf("deploy/k8s has no %s (has %v)", key, keys)
	}
	return o
}

func container(t *testing.T, deployment map[string]any, name string) map[string]any {
	t.Helper()
	for _, c := range listAt(deployment, "spec", "template", "spec", "containers") {
		if strAt(c, "name") == name {
			m, _ := asMap(c)
			return m
		}
	}
	t.Fatalf("Deployment %s has no container %q", strAt(deployment, "metadata", "name"), name)
	return nil
}

// selects reports whether every label of selector is on labels.
func selects(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestKubernetesHasWhatKefuNeeds(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	for _, key := range []string{
		"Namespace/kefu", "Deployment/kefu", "Service/kefu", "Secret/kefu", "ConfigMap/redis-config",
		"Deployment/redis", "Service/redis", "HorizontalPodAutoscaler/kefu", "PodDisruptionBudget/kefu",
	} {
		object(t, objs, key)
	}
}

func TestKefuDeploymentProbesAndDrains(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	dep := object(t, objs, "Deployment/kefu")
	pod := mapAt(dep, "spec", "template", "spec")
	c := container(t, dep, "kefu")

	if n, _ := intAt(dep, "spec", "replicas"); n != 3 {
		t.Errorf("replicas = %d, want 3", n)
	}
	if !selects(mapAt(dep, "spec", "selector", "matchLabels"), mapAt(dep, "spec", "template", "metadata", "labels")) {
		t.Error("the Deployment's selector does not match its pod template's labels")
	}

	portName := ""
	for _, p := range listAt(c, "ports") {
		if n, _ := intAt(p, "containerPort"); n == 8080 {
			portName = strAt(p, "name")
		}
	}
	if portName == "" {
		t.Fatal("the kefu container declares no named port 8080")
	}
	probe := func(kind, path string) {
		t.Helper()
		p := mapAt(c, kind, "httpGet")
		if p == nil {
			t.Errorf("%s is not an httpGet probe", kind)
			return
		}
		if strAt(p, "path") != path {
			t.Errorf("%s path = %q, want %s", kind, strAt(p, "path"), path)
		}
		if port := strAt(p, "port"); port != portName && port != "8080" {
			t.Errorf("%s port = %q, want %s", kind, port, portName)
		}
	}
	probe("readinessProbe", "/readyz")
	probe("livenessProbe", "/healthz")

	grace, ok := intAt(pod, "terminationGracePeriodSeconds")
	if !ok || grace < 30 {
		t.Errorf("terminationGracePeriodSeconds = %v, want >= 30 so WebSockets drain", at(pod, "terminationGracePeriodSeconds"))
	}
	preStop := mapAt(c, "lifecycle", "preStop")
	sleep := 0
	switch {
	case preStop["sleep"] != nil:
		sleep, _ = intAt(preStop, "sleep", "seconds")
	case preStop["exec"] != nil:
		cmd := stringList(at(preStop, "exec", "command"))
		if len(cmd) > 0 && strings.Contains(cmd[0], "sleep") {
			sleep, _ = strconv.Atoi(cmd[len(cmd)-1])
		}
	}
	if sleep <= 0 {
		t.Errorf("preStop = %v, want a sleep so the endpoint is removed before SIGTERM", preStop)
	}
	if sleep >= grace {
		t.Errorf("preStop sleeps %d s of a %d s grace period: no time is left to close WebSockets", sleep, grace)
	}
	// The server drains for KEFU_SHUTDOWN_TIMEOUT (default 20s) after SIGTERM,
	// which comes after preStop: both must fit in the grace period.
	drain := 20 * time.Second
	for _, e := range listAt(c, "env") {
		if strAt(e, "name") == "KEFU_SHUTDOWN_TIMEOUT" {
			d, err := time.ParseDuration(strAt(e, "value"))
			if err != nil {
				t.Fatalf("KEFU_SHUTDOWN_TIMEOUT: %v", err)
			}
			drain = d
		}
	}
	if total := time.Duration(sleep)*time.Second + drain; total >= time.Duration(grace)*time.Second {
		t.Errorf("preStop %d s + KEFU_SHUTDOWN_TIMEOUT %v = %v, not under terminationGracePeriodSeconds %d: SIGKILL would cut the drain",
			sleep, drain, total, grace)
	}

	for _, r := range []string{"requests.cpu", "requests.memory", "limits.memory"} {
		kind, res, _ := strings.Cut(r, ".")
		if strAt(c, "resources", kind, res) == "" {
			t.Errorf("the kefu container sets no resources.%s", r)
		}
	}
	if at(pod, "securityContext", "runAsNonRoot") != true {
		t.Error("the kefu pod does not require runAsNonRoot")
	}
}

func TestKefuDeploymentGetsItsConfiguration(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	dep := object(t, objs, "Deployment/kefu")
	c := container(t, dep, "kefu")
	secret := object(t, objs, "Secret/kefu")

	env := map[string]map[string]any{}
	for _, e := range listAt(c, "env") {
		m, _ := asMap(e)
		env[strAt(m, "name")] = m
	}
	for _, name := range []string{"KEFU_SECRET", "KEFU_DATABASE_URL"} {
		ref := mapAt(env[name], "valueFrom", "secretKeyRef")
		if ref == nil {
			t.Errorf("%s does not come from a Secret", name)
			continue
		}
		if strAt(ref, "name") != "kefu" {
			t.Errorf("%s comes from Secret %q, want kefu (secret.example.yaml)", name, strAt(ref, "name"))
		}
		key := strAt(ref, "key")
		if mapAt(secret, "stringData")[key] == nil && mapAt(secret, "data")[key] == nil {
			t.Errorf("%s reads key %q, which the example Secret does not have", name, key)
		}
	}
	redisURL := strAt(env["KEFU_REDIS_URL"], "value")
	u, err := url.Parse(redisURL)
	if err != nil || u.Scheme != "redis" {
		t.Fatalf("KEFU_REDIS_URL = %q, want a redis:// URL", redisURL)
	}
	host := strings.Split(u.Hostname(), ".")[0]
	if objs["Service/"+host] == nil {
		t.Errorf("KEFU_REDIS_URL points at %q, but deploy/k8s defines no Service %q", redisURL, host)
	}
}

func TestKubernetesObjectsPointAtEachOther(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	dep := object(t, objs, "Deployment/kefu")
	podLabels := mapAt(dep, "spec", "template", "metadata", "labels")
	c := container(t, dep, "kefu")

	svc := object(t, objs, "Service/kefu")
	if !selects(mapAt(svc, "spec", "selector"), podLabels) {
		t.Error("Service kefu does not select the kefu pods")
	}
	portNames := map[string]bool{}
	for _, p := range listAt(c, "ports") {
		portNames[strAt(p, "name")] = true
		portNames[strAt(p, "containerPort")] = true
	}
	for _, p := range listAt(svc, "spec", "ports") {
		if tp := strAt(p, "targetPort"); !portNames[tp] {
			t.Errorf("Service kefu targets port %q, which the container does not declare", tp)
		}
		if tp := strAt(p, "targetPort"); tp == "metrics" || tp == "9100" {
			t.Errorf("Service kefu exposes the metrics port %q", tp)
		}
	}

	pdb := object(t, objs, "PodDisruptionBudget/kefu")
	if !selects(mapAt(pdb, "spec", "selector", "matchLabels"), podLabels) {
		t.Error("PodDisruptionBudget kefu does not select the kefu pods")
	}

	hpa := object(t, objs, "HorizontalPodAutoscaler/kefu")
	if strAt(hpa, "spec", "scaleTargetRef", "kind") != "Deployment" || strAt(hpa, "spec", "scaleTargetRef", "name") != "kefu" {
		t.Errorf("the HPA scales %v, want Deployment kefu", at(hpa, "spec", "scaleTargetRef"))
	}
	minReplicas, _ := intAt(hpa, "spec", "minReplicas")
	maxReplicas, _ := intAt(hpa, "spec", "maxReplicas")
	if minReplicas < 2 || maxReplicas < minReplicas {
		t.Errorf("HPA min %d max %d: want at least 2 replicas and max >= min", minReplicas, maxReplicas)
	}
	// Every replica opens up to KEFU_DB_MAX_CONNS (default 32) connections;
	// at full scale they must fit PostgreSQL's default max_connections.
	pool := 32
	for _, e := range listAt(c, "env") {
		if strAt(e, "name") == "KEFU_DB_MAX_CONNS" {
			pool, _ = strconv.Atoi(strAt(e, "value"))
		}
	}
	if maxReplicas*pool > 100 {
		t.Errorf("%d replicas x KEFU_DB_MAX_CONNS %d = %d PostgreSQL connections, over the default max_connections 100",
			maxReplicas, pool, maxReplicas*pool)
	}

	redis := object(t, objs, "Deployment/redis")
	rc := container(t, redis, "redis")
	if !selects(mapAt(object(t, objs, "Service/redis"), "spec", "selector"), mapAt(redis, "spec", "template", "metadata", "labels")) {
		t.Error("Service redis does not select the redis pods")
	}
	cmd := stringList(rc["command"])
	if len(cmd) != 2 || cmd[0] != "redis-server" {
		t.Fatalf("redis command = %v, want redis-server <conf>", cmd)
	}
	mounted := false
	for _, m := range listAt(rc, "volumeMounts") {
		dir := strAt(m, "mountPath")
		if !strings.HasPrefix(cmd[1], strings.TrimSuffix(dir, "/")+"/") {
			continue
		}
		for _, v := range listAt(redis, "spec", "template", "spec", "volumes") {
			if strAt(v, "name") == strAt(m, "name") && strAt(v, "configMap", "name") == "redis-config" {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("redis reads %s, but ConfigMap redis-config is not mounted there", cmd[1])
	}
}

// TestMetricsAreScrapedOffThePublicPort: the pods serve /metrics on
// KEFU_METRICS_ADDR, a declared container port the Service does not expose,
// and the scrape annotations point at it (the public port serves none).
func TestMetricsAreScrapedOffThePublicPort(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	dep := object(t, objs, "Deployment/kefu")
	c := container(t, dep, "kefu")
	addr := ""
	for _, e := range listAt(c, "env") {
		if strAt(e, "name") == "KEFU_METRICS_ADDR" {
			addr = strAt(e, "value")
		}
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "8080" {
		t.Fatalf("KEFU_METRICS_ADDR = %q, want host:port off the public port 8080", addr)
	}
	declared := false
	for _, p := range listAt(c, "ports") {
		if strAt(p, "containerPort") == port {
			declared = true
		}
	}
	if !declared {
		t.Errorf("the container does not declare the metrics port %s", port)
	}
	ann := mapAt(dep, "spec", "template", "metadata", "annotations")
	if strAt(ann, "prometheus.io/port") != port || strAt(ann, "prometheus.io/path") != "/metrics" {
		t.Errorf("scrape annotations %v, want port %s and path /metrics", ann, port)
	}
}

func TestRedisConfigMapMatchesRedisConf(t *testing.T) {
	t.Parallel()
	objs := manifests(t)
	cm := object(t, objs, "ConfigMap/redis-config")
	want, err := os.ReadFile("redis.conf")
	if err != nil {
		t.Fatal(err)
	}
	got := strAt(cm, "data", "redis.conf")
	if strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
		t.Error("k8s/redis-config.yaml's redis.conf differs from deploy/redis.conf; copy the file into the ConfigMap")
	}
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	t.Parallel()
	k := readDoc(t, filepath.Join("k8s", "kustomization.yaml"))
	listed := stringList(k["resources"])
	for _, r := range listed {
		if _, err := os.Stat(filepath.Join("k8s", r)); err != nil {
			t.Errorf("kustomization lists %s: %v", r, err)
		}
	}
	paths, _ := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	for _, p := range paths {
		base := filepath.Base(p)
		switch {
		case base == "kustomization.yaml":
		case strings.Contains(base, "example"):
			if slices.Contains(listed, base) {
				t.Errorf("kustomization applies %s, an example with placeholder secrets", base)
			}
		case !slices.Contains(listed, base):
			t.Errorf("kustomization does not list %s", base)
		}
	}
}
