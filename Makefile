# kwhisk: `make run` starts local mode, `make test` runs every test.
GO      ?= go
BIN     := bin/kwhisk
E2E_DIR := test/e2e
FUZZTIME ?= 5s

.PHONY: build run test unit e2e e2e-deps fuzz bench vet kube-bin kube-tools test-kube

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
	$(GO) test -run='^$$' -fuzz=FuzzEntityPath -fuzztime=$(FUZZTIME) ./pkg/whisk
	$(GO) test -run='^$$' -fuzz=FuzzPutAction -fuzztime=$(FUZZTIME) ./pkg/api
	$(GO) test -run='^$$' -fuzz=FuzzInvokeAction -fuzztime=$(FUZZTIME) ./pkg/api

$(E2E_DIR)/node_modules/.package-lock.json: $(E2E_DIR)/package-lock.json
	cd $(E2E_DIR) && npm ci --no-audit --no-fund --loglevel=error

e2e-deps: $(E2E_DIR)/node_modules/.package-lock.json

e2e: build e2e-deps
	cd $(E2E_DIR) && KWHISK_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1

# The knative suite: a real kube-apiserver and etcd (built once from
# third_party/ into ~/.cache/kwhisk-kube, about 4 minutes the first time),
# ko, crane and registry for the offline `ko resolve` of config/.
kube-bin:
	@third_party/build.sh

kube-tools:
	@third_party/tools.sh

test-kube:
	KWHISK_KUBE_BIN="$$(third_party/build.sh)" KWHISK_KO_BIN="$$(third_party/tools.sh)" \
		$(GO) test -count=1 -timeout 30m ./test/kube

test: vet unit fuzz e2e test-kube

# test/bench, then the knative path through the test/kube harness (its
# API server and runtime mains, as test-kube; docs/benchmarks.md).
bench: build
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./test/bench
	KWHISK_KUBE_BIN="$$(third_party/build.sh)" KWHISK_KO_BIN="$$(third_party/tools.sh)" \
		$(GO) test -run='^$$' -bench='^BenchmarkKnative$$' -benchtime=1x -timeout 30m ./test/kube
