# Kefu — one binary, one Makefile.
#   make run    build everything and start on the embedded default (SQLite + in-process bus)
#   make build  leave bin/kefu (with the web app embedded)
#   make test   linters, go vet, go test -race, frontend typecheck + unit tests, browser journeys, the fault table (make chaos)
#   make lint   golangci-lint (.golangci.yml), ESLint (eslint.config.js) and Prettier --check (.prettierrc)
#   make chaos  faults under load on a private PostgreSQL + Redis (CHAOS_FLAGS=--long for the long run)

SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
KEFU_ADDR ?= 127.0.0.1:8080
E2E_ADDR ?= 127.0.0.1:18089
# The sign-in journey starts a second server of its own, with e-mail on, here.
E2E_MAIL_ADDR ?= 127.0.0.1:18090
E2E_OFFLINE_ADDR ?= 127.0.0.1:18091

.PHONY: run build image web deps lint test test-go test-fuzz test-web test-browser chaos vet fmt bench clean

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json

web: deps
	npm run build

build: web
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/kefu ./cmd/kefu

# The container image, stamped with the version (kefu version, kefu_build_info).
image:
	docker build -f deploy/Dockerfile --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t kefu:$(VERSION) .

run: build
	KEFU_ADDR=$(KEFU_ADDR) ./bin/kefu serve

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test-go: vet
	$(GO) test -race -count=1 -timeout 30m ./...

test-web: deps
	npm run check:api
	npm run typecheck
	npm test

# The browser journey runs against the built binary on a fresh data dir.
test-browser: build
	@command -v chromium >/dev/null || { echo "chromium is missing: apt-get install -y chromium"; exit 1; }
	@set -e; dir=$$(mktemp -d); \
	KEFU_ADDR=$(E2E_ADDR) KEFU_DATA_DIR=$$dir KEFU_ALLOW_PRIVATE_NETWORKS=true KEFU_WIDGET_PER_MINUTE=600 KEFU_DEFAULT_PLAN=enterprise ./bin/kefu serve >$$dir/server.log 2>&1 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null || true' EXIT; \
	for i in $$(seq 1 100); do curl -fs http://$(E2E_ADDR)/readyz >/dev/null && break; sleep 0.1; done; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_SCREENSHOTS=tmp/screenshots npm run e2e || { cat $$dir/server.log; exit 1; }; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_SCREENSHOTS=tmp/screenshots npm run e2e:flow || { cat $$dir/server.log; exit 1; }; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_SCREENSHOTS=tmp/screenshots node frontend/e2e/offboard.mjs || { cat $$dir/server.log; exit 1; }; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_SCREENSHOTS=tmp/screenshots node frontend/e2e/audit.mjs || { cat $$dir/server.log; exit 1; }; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_SCREENSHOTS=tmp/screenshots npm run e2e:bots || { cat $$dir/server.log; exit 1; }; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_SCREENSHOTS=tmp/screenshots npm run e2e:console || { cat $$dir/server.log; exit 1; }; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_SCREENSHOTS=tmp/screenshots node frontend/e2e/apidocs.mjs || { cat $$dir/server.log; exit 1; }; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_SCREENSHOTS=tmp/screenshots node frontend/e2e/widget.mjs || { cat $$dir/server.log; exit 1; }; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_SCREENSHOTS=tmp/screenshots node frontend/e2e/zhcn.mjs || { cat $$dir/server.log; exit 1; }; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_E2E_MAIL_ADDR=$(E2E_MAIL_ADDR) KEFU_SCREENSHOTS=tmp/screenshots node frontend/e2e/signin.mjs || { cat $$dir/server.log; exit 1; }; \
	KEFU_URL=http://$(E2E_ADDR) KEFU_SCREENSHOTS=tmp/screenshots node frontend/e2e/widget-settings.mjs || { cat $$dir/server.log; exit 1; }
	KEFU_OFFLINE_ADDR=$(E2E_OFFLINE_ADDR) KEFU_SCREENSHOTS=tmp/screenshots node frontend/e2e/offline.mjs

# A short fuzz run of the flow decoder, the expression compiler and the
# expression sandbox (seed corpus in the tests; findings land in
# routing/testdata/fuzz).
test-fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzCompileGraph$$' -fuzztime 10s ./routing/
	$(GO) test -run '^$$' -fuzz '^FuzzCompileExpr$$' -fuzztime 10s ./routing/
	$(GO) test -run '^$$' -fuzz '^FuzzEvalExpr$$' -fuzztime 10s ./routing/

# Two nodes on a PostgreSQL cluster and a Redis of the run's own (ports
# 18150-18156; the shared databases are never touched), kill -9, Redis
# restart and FLUSHALL, PostgreSQL crash and a held lock under load; prints
# the table and fails on any loss (README, Guarantees). It needs the
# PostgreSQL server binaries (initdb, pg_ctl: the postgresql package) and
# redis-server; .ci/run installs them. About 3 to 9 minutes on two cores.
chaos: build
	$(GO) run ./cmd/kefu-chaos --kefu bin/kefu $(CHAOS_FLAGS)

# golangci-lint pinned here and run through the module proxy (not in go.mod:
# its dependencies are not Kefu's); the first run builds it (about 3 CPU
# minutes), later runs use Go's build cache.
GOLANGCI_LINT ?= $(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

lint: deps
	$(GOLANGCI_LINT) run ./...
	npx eslint frontend
	npx prettier --check frontend

test: lint build test-go test-fuzz test-web test-browser chaos

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin frontend/dist/app
