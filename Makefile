# kwhisk: `make run` starts local mode, `make test` runs every test.
GO      ?= go
BIN     := bin/kwhisk
E2E_DIR := test/e2e
# Fuzzing runs a number of executions, not a duration: with a duration, Go's
# fuzz coordinator can report its own deadline as a failure ("context
# deadline exceeded") when the deadline's cancellation reaches it before it
# reaches the workers' context, which a loaded machine makes likely.
FUZZ_EXECS     ?= 3000
FUZZ_EXECS_PARSE ?= 20000

.PHONY: build run test unit e2e e2e-deps fuzz bench vet kube-bin knative-bin eventing-bin kube-tools dnsmasq test-kube test-kube-fake test-serving

build:
	$(GO) build -o $(BIN) ./cmd/kwhisk

run: build
	./$(BIN) serve

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

# Brief fuzzing of the input parsers: never a panic, never a 500.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzEntityPath -fuzztime=$(FUZZ_EXECS_PARSE)x ./pkg/whisk
	$(GO) test -run='^$$' -fuzz=FuzzPutAction -fuzztime=$(FUZZ_EXECS)x ./pkg/api
	$(GO) test -run='^$$' -fuzz=FuzzInvokeAction -fuzztime=$(FUZZ_EXECS)x ./pkg/api

$(E2E_DIR)/node_modules/.package-lock.json: $(E2E_DIR)/package-lock.json
	cd $(E2E_DIR) && npm ci --no-audit --no-fund --loglevel=error

e2e-deps: $(E2E_DIR)/node_modules/.package-lock.json

e2e: build e2e-deps
	cd $(E2E_DIR) && KWHISK_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1

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

# Each build runs before the test and a failed one stops make (a failed
# $$(...) in an assignment prefix would not), so the suite never runs with an
# empty binary directory.
# Both tiers of the knative suite: the fake one (a stand-in for Knative
# written for the test), then the real one (Knative Serving's own
# components in a network namespace of the run's own, test/kube/lab).
test-kube: test-kube-fake test-serving

test-kube-fake: e2e-deps dnsmasq
	kube=$$(third_party/build.sh) && ko=$$(third_party/tools.sh) && \
		KWHISK_KUBE_BIN="$$kube" KWHISK_KO_BIN="$$ko" \
		$(GO) test -count=1 -timeout 30m ./test/kube

test-serving: e2e-deps dnsmasq
	kube=$$(third_party/build.sh) && knative=$$(third_party/knative.sh) && eventing=$$(third_party/eventing.sh) && \
		ko=$$(third_party/tools.sh) && \
		KWHISK_KUBE_BIN="$$kube" KWHISK_KNATIVE_BIN="$$knative" KWHISK_EVENTING_BIN="$$eventing" KWHISK_KO_BIN="$$ko" \
		$(GO) test -count=1 -timeout 30m ./test/kube

test: vet unit fuzz e2e test-kube

# test/bench (BenchmarkInvokeCPU drives bin/kwhisk as its own process),
# then the knative path through the test/kube harness (its
# API server and runtime mains, as test-kube; docs/benchmarks.md): on the
# fake tier (BenchmarkKnative), then on the real one, Knative Serving's own
# components, as test-serving (BenchmarkKnativeServing).
bench: build dnsmasq
	KWHISK_BIN=$(CURDIR)/$(BIN) $(GO) test -run='^$$' -bench=. -benchtime=1x ./test/bench
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
