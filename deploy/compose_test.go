package deploy

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// composeEnv returns a service's environment, in map or KEY=VALUE list form.
func composeEnv(service map[string]any) map[string]string {
	env := map[string]string{}
	switch e := service["environment"].(type) {
	case []any:
		for _, item := range e {
			k, v, _ := strings.Cut(fmt.Sprint(item), "=")
			env[k] = v
		}
	default:
		m, _ := asMap(e)
		for k, v := range m {
			if v == nil {
				env[k] = ""
			} else {
				env[k] = fmt.Sprint(v)
			}
		}
	}
	return env
}

// composeCommand returns a compose command or healthcheck test as one string.
func composeCommand(v any) string {
	return strings.Join(stringList(v), " ")
}

func TestComposeRunsTwoNodesOnPostgresAndRedis(t *testing.T) {
	t.Parallel()
	compose := readDoc(t, "docker-compose.yml")
	services := mapAt(compose, "services")
	for _, name := range []string{"postgres", "redis", "kefu-1", "kefu-2", "prometheus"} {
		if services[name] == nil {
			t.Errorf("compose has no %q service (has %v)", name, sortedKeys(services))
		}
	}

	t.Run("postgres is version 15 with a pg_isready healthcheck", func(t *testing.T) {
		pg := mapAt(services, "postgres")
		if img := strAt(pg, "image"); !strings.HasPrefix(img, "postgres:15") {
			t.Errorf("postgres image = %q, want postgres:15", img)
		}
		if test := composeCommand(at(pg, "healthcheck", "test")); !strings.Contains(test, "pg_isready") {
			t.Errorf("postgres healthcheck = %q, want pg_isready", test)
		}
	})

	t.Run("redis 7 runs with deploy/redis.conf", func(t *testing.T) {
		redis := mapAt(services, "redis")
		if img := strAt(redis, "image"); !strings.HasPrefix(img, "redis:7") {
			t.Errorf("redis image = %q, want redis:7", img)
		}
		const confPath = "/usr/local/etc/redis/redis.conf"
		if cmd := composeCommand(redis["command"]); cmd != "redis-server "+confPath {
			t.Errorf("redis command = %q, want redis-server %s", cmd, confPath)
		}
		mounted := false
		for _, v := range stringList(redis["volumes"]) {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 && filepath.Clean(parts[0]) == "redis.conf" && parts[1] == confPath {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("redis volumes = %v, want ./redis.conf mounted at %s", redis["volumes"], confPath)
		}
		if test := composeCommand(at(redis, "healthcheck", "test")); test == "" {
			t.Error("redis has no healthcheck, but the Kefu nodes wait for it to be healthy")
		}
	})

	for _, name := range []string{"kefu-1", "kefu-2"} {
		t.Run(name+" is a Kefu node wired to postgres and redis", func(t *testing.T) {
			node := mapAt(services, name)
			if node == nil {
				t.Fatalf("no %s service", name)
			}
			if df := strAt(node, "build", "dockerfile"); df != "deploy/Dockerfile" {
				t.Errorf("build.dockerfile = %q, want deploy/Dockerfile", df)
			}
			if ctx := strAt(node, "build", "context"); filepath.Clean(ctx) != ".." {
				t.Errorf("build.context = %q, want .. (the repository root)", ctx)
			}
			env := composeEnv(node)
			checkURL(t, "KEFU_DATABASE_URL", env["KEFU_DATABASE_URL"], "postgres", "postgres")
			checkURL(t, "KEFU_REDIS_URL", env["KEFU_REDIS_URL"], "redis", "redis")
			if s := env["KEFU_SECRET"]; !strings.Contains(s, "${KEFU_SECRET:?") {
				t.Errorf("KEFU_SECRET = %q, want ${KEFU_SECRET:?…} so compose refuses to start without it", s)
			}
			for _, dep := range []string{"postgres", "redis"} {
				if c := strAt(node, "depends_on", dep, "condition"); c != "service_healthy" {
					t.Errorf("depends_on.%s.condition = %q, want service_healthy", dep, c)
				}
			}
			if test := composeCommand(at(node, "healthcheck", "test")); !strings.Contains(test, ":8080/readyz") {
				t.Errorf("healthcheck = %q, want a probe of :8080/readyz", test)
			}
			ports := stringList(node["ports"])
			if len(ports) == 0 || !strings.HasSuffix(ports[0], ":8080") {
				t.Errorf("ports = %v, want the container's 8080 published", ports)
			}
			if m := env["KEFU_METRICS_ADDR"]; m != "0.0.0.0:9100" {
				t.Errorf("KEFU_METRICS_ADDR = %q, want 0.0.0.0:9100 (metrics off the public port)", m)
			}
			for _, p := range ports {
				if strings.HasSuffix(p, ":9100") {
					t.Errorf("ports = %v: the metrics port is published", ports)
				}
			}
		})
	}

	t.Run("the two nodes publish different host ports", func(t *testing.T) {
		a := stringList(at(services, "kefu-1", "ports"))
		b := stringList(at(services, "kefu-2", "ports"))
		if len(a) == 0 || len(b) == 0 || a[0] == b[0] {
			t.Errorf("kefu-1 ports %v, kefu-2 ports %v: want two different host ports", a, b)
		}
	})

	t.Run("prometheus reads deploy/prometheus.yml", func(t *testing.T) {
		found := false
		for _, v := range stringList(at(services, "prometheus", "volumes")) {
			if strings.HasPrefix(v, "./prometheus.yml:") {
				found = true
			}
		}
		if !found {
			t.Errorf("prometheus volumes = %v, want ./prometheus.yml mounted", at(services, "prometheus", "volumes"))
		}
	})
}

// checkURL checks that raw is a URL with the scheme and host a node needs.
func checkURL(t *testing.T, name, raw, scheme, host string) {
	t.Helper()
	if raw == "" {
		t.Errorf("%s is not set", name)
		return
	}
	// Compose substitutes ${VAR:-default} before the URL is used; put the
	// defaults in place to parse it here.
	u, err := url.Parse(substituteDefaults(raw))
	if err != nil {
		t.Errorf("%s = %q: %v", name, raw, err)
		return
	}
	if u.Scheme != scheme || u.Hostname() != host {
		t.Errorf("%s = %q, want %s://%s…", name, raw, scheme, host)
	}
}

// substituteDefaults replaces ${VAR:-default} with default.
func substituteDefaults(s string) string {
	for {
		start := strings.Index(s, "${")
		if start < 0 {
			return s
		}
		end := strings.Index(s[start:], "}")
		if end < 0 {
			return s
		}
		expr := s[start+2 : start+end]
		_, def, _ := strings.Cut(expr, ":-")
		s = s[:start] + def + s[start+end+1:]
	}
}

// ---------------------------------------------------------------- Prometheus

func TestPrometheusScrapesBothNodes(t *testing.T) {
	t.Parallel()
	prom := readDoc(t, "prometheus.yml")
	targets := map[string]bool{}
	for _, job := range listAt(prom, "scrape_configs") {
		path := strAt(job, "metrics_path")
		if path == "" {
			path = "/metrics" // Prometheus's default
		}
		if path != "/metrics" {
			continue
		}
		for _, sc := range listAt(job, "static_configs") {
			for _, target := range stringList(at(sc, "targets")) {
				targets[target] = true
			}
		}
	}
	compose := readDoc(t, "docker-compose.yml")
	for _, node := range []string{"kefu-1", "kefu-2"} {
		if mapAt(compose, "services", node) == nil {
			t.Errorf("prometheus.yml is checked against compose service %s, which is missing", node)
		}
		if !targets[node+":9100"] {
			t.Errorf("prometheus.yml does not scrape %s:9100/metrics (KEFU_METRICS_ADDR)", node)
		}
		if targets[node+":8080"] {
			t.Errorf("prometheus.yml scrapes %s:8080, which serves no metrics", node)
		}
	}
}
