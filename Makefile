# kwhisk: `make run` starts local mode, `make test` runs every test.
GO      ?= go
BIN     := bin/kwhisk
E2E_DIR := test/e2e
CONSOLE_DIR := web/console
# Fuzzing runs a number of executions, not a duration: with a duration, Go's
# fuzz coordinator can report its own deadline as a failure ("context
# deadline exceeded") when the deadline's cancellation reaches it before it
# reaches the workers' context, which a loaded machine makes likely.
FUZZ_EXECS     ?= 3000
FUZZ_EXECS_PARSE ?= 20000

.PHONY: build run test unit e2e e2e-postgres e2e-deps node-client fuzz bench vet kube-bin knative-bin eventing-bin kube-tools dnsmasq postgresql \
	test-kube test-kube-fake test-serving console console-deps console-check chromium

# The packages the Node.js runtime offers every action, as OpenWhisk's
# Node.js runtime images do (the openwhisk client), installed by npm from
# the committed package-lock.json and embedded by go:embed into the
# gateway (local mode) and the nodejs runtime images: every Go build that
# ships them (build, vet and unit, ko and the runtime mains in test-kube
# and bench) comes after this step. Without it the binaries still build;
# their actions' require('openwhisk') then says how to add it.
NODE_BUNDLE := runtimes/nodejs/launcher/bundled

$(NODE_BUNDLE)/node_modules/.package-lock.json: $(NODE_BUNDLE)/package-lock.json
	cd $(NODE_BUNDLE) && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error

node-client: $(NODE_BUNDLE)/node_modules/.package-lock.json

build: node-client
	$(GO) build -o $(BIN) ./cmd/kwhisk

run: build
	./$(BIN) serve

vet: node-client
	$(GO) vet ./...

# The PostgreSQL store's tests start throwaway servers (pkg/store/postgres/pgtest).
unit: node-client postgresql
	$(GO) test -count=1 ./...

# Brief fuzzing of the input parsers: never a panic, never a 500.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzEntityPath -fuzztime=$(FUZZ_EXECS_PARSE)x ./pkg/whisk
	$(GO) test -run='^$$' -fuzz=FuzzPutAction -fuzztime=$(FUZZ_EXECS)x ./pkg/api
	$(GO) test -run='^$$' -fuzz=FuzzInvokeAction -fuzztime=$(FUZZ_EXECS)x ./pkg/api
	$(GO) test -run='^$$' -fuzz=FuzzAPIs -fuzztime=$(FUZZ_EXECS)x ./pkg/api

$(E2E_DIR)/node_modules/.package-lock.json: $(E2E_DIR)/package-lock.json
	cd $(E2E_DIR) && npm ci --no-audit --no-fund --loglevel=error

e2e-deps: $(E2E_DIR)/node_modules/.package-lock.json

e2e: build e2e-deps chromium
	cd $(E2E_DIR) && KWHISK_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1

# The browser console (web/console, Vite + TypeScript) builds into
# pkg/console/dist, which the binary embeds. The build is committed, so
# `go build` and `make run` need no Node.js; `make console` rebuilds it
# after a change to web/console (commit the result), and console-check,
# part of `make test`, fails when the committed build is not the sources'.
$(CONSOLE_DIR)/node_modules/.package-lock.json: $(CONSOLE_DIR)/package-lock.json
	cd $(CONSOLE_DIR) && npm ci --no-audit --no-fund --loglevel=error

console-deps: $(CONSOLE_DIR)/node_modules/.package-lock.json

console: console-deps
	cd $(CONSOLE_DIR) && npm run --silent build -- --logLevel=warn

console-check: console
	@test -z "$$(git status --porcelain --untracked-files=all -- pkg/console/dist)" || { \
		echo 'pkg/console/dist is not the build of web/console: run `make console` and commit pkg/console/dist' >&2; \
		git status --short --untracked-files=all -- pkg/console/dist >&2; exit 1; }

# Debian's chromium, which the console's e2e test drives (playwright-core,
# /usr/bin/chromium).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# The e2e suite again with every gateway on PostgreSQL: test/pgserve runs
# it beside a throwaway server, and each gateway gets a schema of its own
# (KWHISK_E2E_STORE_URL, lib/gateway.mjs).
e2e-postgres: build e2e-deps postgresql
	$(GO) build -o bin/pgserve ./test/pgserve
	cd $(E2E_DIR) && KWHISK_BIN=$(CURDIR)/$(BIN) $(CURDIR)/bin/pgserve -- node --test --test-concurrency=1

# The knative suite: a real kube-apiserver, kube-controller-manager and etcd
# (built once from third_party/ into ~/.cache/kwhisk-kube), Knative Serving's
# components (from third_party/knative/, the same cache) and Knative
# Eventing's (third_party/eventing/, the same cache), ko, crane and
# registry for the offline `ko resolve` of config/, and dnsmasq for the
# wildcard *.cluster.local names of the test's network.
kube-bin:
	@third_party/build.sh

knative-bin:
	@third_party/knative.sh

eventing-bin:
	@third_party/eventing.sh

kube-tools:
	@third_party/tools.sh

# Debian's dnsmasq-base is the binary alone; the dnsmasq package would also
# install and start a system resolver service.
dnsmasq:
	@command -v dnsmasq >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dnsmasq-base; }

# PostgreSQL's server binaries (initdb, pg_ctl, postgres), which the tests
# run as throwaway servers: Debian's postgresql package if they are missing.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; } || \
		{ echo "make: PostgreSQL server binaries missing and Debian's postgresql package could not be installed" >&2; exit 1; }

# Each build runs before the test and a failed one stops make (a failed
# $$(...) in an assignment prefix would not), so the suite never runs with an
# empty binary directory.
# Both tiers of the knative suite: the fake one (a stand-in for Knative
# written for the test), then the real one (Knative Serving's own
# components in a network namespace of the run's own, test/kube/lab).
test-kube: test-kube-fake test-serving

test-kube-fake: node-client e2e-deps dnsmasq chromium
	kube=$$(third_party/build.sh) && ko=$$(third_party/tools.sh) && \
		KWHISK_KUBE_BIN="$$kube" KWHISK_KO_BIN="$$ko" \
		$(GO) test -count=1 -timeout 30m ./test/kube

test-serving: node-client e2e-deps dnsmasq chromium
	kube=$$(third_party/build.sh) && knative=$$(third_party/knative.sh) && eventing=$$(third_party/eventing.sh) && \
		ko=$$(third_party/tools.sh) && \
		KWHISK_KUBE_BIN="$$kube" KWHISK_KNATIVE_BIN="$$knative" KWHISK_EVENTING_BIN="$$eventing" KWHISK_KO_BIN="$$ko" \
		$(GO) test -count=1 -timeout 30m ./test/kube

test: console-check vet unit fuzz e2e e2e-postgres test-kube

# test/bench (BenchmarkInvokeCPU drives bin/kwhisk as its own process), the
# stores' durable activation records/s (SQLite and PostgreSQL in the same
# run), then the knative path through the test/kube harness (its API server
# and runtime mains, as test-kube; docs/benchmarks.md): on the fake tier
# (BenchmarkKnative), then on the real one, Knative Serving's own
# components, as test-serving (BenchmarkKnativeServing).
bench: build dnsmasq postgresql
	KWHISK_BIN=$(CURDIR)/$(BIN) $(GO) test -run='^$$' -bench=. -benchtime=1x ./test/bench
	$(GO) test -run='^$$' -bench='^BenchmarkPutActivation$$' -benchtime=50000x ./pkg/store/sqlite ./pkg/store/postgres
	$(GO) test -run='^$$' -bench='^BenchmarkSignCheck$$' -benchtime=200000x ./pkg/runtime/runauth
	kube=$$(third_party/build.sh) && ko=$$(third_party/tools.sh) && \
		KWHISK_KUBE_BIN="$$kube" KWHISK_KO_BIN="$$ko" \
		$(GO) test -run='^$$' -bench='^BenchmarkKnative$$' -benchtime=1x -timeout 30m ./test/kube
	kube=$$(third_party/build.sh) && knative=$$(third_party/knative.sh) && ko=$$(third_party/tools.sh) && \
		KWHISK_KUBE_BIN="$$kube" KWHISK_KNATIVE_BIN="$$knative" KWHISK_KO_BIN="$$ko" \
		$(GO) test -run='^$$' -bench='^BenchmarkKnativeServing$$' -benchtime=1x -timeout 30m ./test/kube
	kube=$$(third_party/build.sh) && knative=$$(third_party/knative.sh) && eventing=$$(third_party/eventing.sh) && \
		ko=$$(third_party/tools.sh) && \
		KWHISK_KUBE_BIN="$$kube" KWHISK_KNATIVE_BIN="$$knative" KWHISK_EVENTING_BIN="$$eventing" KWHISK_KO_BIN="$$ko" \
		$(GO) test -run='^$$' -bench='^BenchmarkKnativeEventing$$' -benchtime=1x -timeout 30m ./test/kube
