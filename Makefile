# schemagate build and test entry points. `make test` is what CI runs (.ci/run): it installs what
# is missing, checks generated code, lints, and runs every unit and integration test with -race.

SHELL := /bin/bash
GO    ?= go

# Debian packages the tests need: gcc and libc headers for the race detector (cgo), promtool
# (prometheus) for the alert rule tests, Alertmanager for the alert delivery tests, PostgreSQL for
# unit-postgres, curl for the README and runbook examples that tests/docs runs, jq for
# scripts/compare-registry.sh (the issue-17 registry figures in docs/performance.md), systemd for
# systemd-analyze (tests/packaging verifies the unit in docs/operations), chromium for the console's
# browser tests (tests/browser drives it headless with chromedp; axe-core comes from npm-deps).
APT_PACKAGES := gcc libc6-dev prometheus prometheus-alertmanager postgresql curl jq systemd chromium
# Generated files that `make generate` owns.
GENERATED := $(shell git ls-files 'proto/*.pb.go' 'proto/*.pb.gw.go' 'proto/*.swagger.json' 2>/dev/null)
GOOGLEAPIS := annotations.proto http.proto

.PHONY: test deps npm-deps proto-deps generate check-generated lint unit fuzz fuzz-smoke build

test: deps check-generated lint alerts unit unit-postgres fuzz-smoke

## deps: install missing Debian packages (as root, with apt-get) and the pinned npm packages.
deps: npm-deps
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

npm-deps: node_modules/.package-lock.json tests/clients/node/node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
# The pinned Schema Registry clients that tests/clients runs against the server.
tests/clients/node/node_modules/.package-lock.json: tests/clients/node/package.json tests/clients/node/package-lock.json
	cd tests/clients/node && npm ci --no-audit --no-fund --loglevel=error

## proto-deps: copy google/api annotations from the pinned google-proto-files npm package.
proto-deps: npm-deps
	cp $(addprefix node_modules/google-proto-files/google/api/,$(GOOGLEAPIS)) third_party/googleapis/google/api/
	cp node_modules/google-proto-files/LICENSE third_party/googleapis/LICENSE

## generate: regenerate Go, grpc-gateway and OpenAPI code offline with the go.mod-pinned tools.
generate: proto-deps
	$(GO) tool buf generate

## check-generated: fail when committed generated code or the vendored protos are stale.
check-generated: npm-deps
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; stale=0; \
	for f in $(GOOGLEAPIS); do cmp -s node_modules/google-proto-files/google/api/$$f third_party/googleapis/google/api/$$f || { echo "stale: third_party/googleapis/google/api/$$f (run make generate)"; stale=1; }; done; \
	$(GO) tool buf generate -o "$$tmp"; \
	for f in $$(cd "$$tmp" && find . -type f | sed 's|^\./||'); do cmp -s "$$tmp/$$f" "$$f" || { echo "stale: $$f (run make generate)"; stale=1; }; done; \
	for f in $(GENERATED); do [ -f "$$tmp/$$f" ] || { echo "stale: $$f is no longer generated (remove it)"; stale=1; }; done; \
	[ $$stale = 0 ] && echo "generated code is up to date"

## lint: buf lint, gofmt and go vet.
lint:
	$(GO) tool buf lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## alerts: check the Prometheus alert rules and run their unit tests with promtool (Debian
## package prometheus, in APT_PACKAGES).
.PHONY: alerts
alerts:
	promtool check rules docs/operations/alerts/schemagate.rules.yml
	promtool test rules docs/operations/alerts/schemagate.rules.test.yml

## unit: every unit and integration test, with the race detector.
unit:
	$(GO) test -race -count=1 -timeout 15m ./...

## unit-postgres: the storage tests again on PostgreSQL (Debian package postgresql, in
## APT_PACKAGES): scripts/with-postgres.sh starts a throwaway server, and the packages whose tests
## open their store with store/storetest run on it.
.PHONY: unit-postgres
unit-postgres:
	scripts/with-postgres.sh $(GO) test -count=1 -timeout 10m ./store/... ./registry/ ./registry/upstream/ ./registry/importer/ ./governance/ ./gateway/ ./tests/replicas/ ./tests/upstream/ ./tests/crash/ ./tests/examples/ ./cmd/schemagate/internal/registryload/

## fuzz-smoke: run the parsers' fuzz targets briefly; make test runs it. Each entry is
## package:Target or package:Target:executions (FUZZ_SMOKE_EXECS when left out). The budget is a
## count of executions, not a duration: Go 1.26's fuzz coordinator can report a spurious
## "context deadline exceeded" failure when a -fuzztime duration ends on a loaded machine
## (go.dev/issue/75804, fixed in Go 1.27). The counts are about 10 s of fuzzing each on a 2-core
## machine. The seed corpora of every fuzz target also run as plain tests in `unit`.
FUZZ_SMOKE_EXECS ?= 40000
FUZZ_SMOKE := ./validate:FuzzConfluentFrame ./validate:FuzzAvroBinary ./validate:FuzzAvroJSON \
	./validate:FuzzJSONPayload:2500 ./validate:FuzzJSONSchemaValidate ./registry:FuzzParseAvro \
	./registry:FuzzParseJSONSchema ./registry:FuzzParseNormalized ./registry:FuzzRegister:25000 \
	./registry:FuzzValidateSubject ./gateway/confluent:FuzzConfluentREST:15000 \
	./gateway/confluent:FuzzDecodeSchemaRequest:5000 ./gateway/auth:FuzzMatchGlob:5000 \
	./gateway:FuzzRewriteJSONPayloads:20000 ./registry/protoschema:FuzzParse \
	./validate:FuzzProtobufMessageIndexes ./validate:FuzzProtobufBinary:15000 \
	./validate:FuzzProtobufJSON:2000
fuzz-smoke:
	@set -e; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; for e in $(FUZZ_SMOKE); do \
	  pkg=$${e%%:*}; rest=$${e#*:}; t=$${rest%%:*}; n=$${rest#*:}; \
	  if [ "$$n" = "$$rest" ]; then n=$(FUZZ_SMOKE_EXECS); fi; \
	  echo "fuzz $$pkg $$t for $$n executions"; \
	  $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime "$${n}x" $$pkg > "$$log" 2>&1 || { cat "$$log"; exit 1; }; \
	done

## fuzz: run each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## soak: the long runs `make test` keeps short: every fuzz target for SOAK_FUZZTIME, the mixed
## load test for SOAK_LOAD, and the SIGKILL crash test for SOAK_CRASH_ROUNDS rounds on SQLite and
## on PostgreSQL. Defaults take close to two hours; each can be shortened.
SOAK_FUZZTIME ?= 5m
SOAK_LOAD ?= 10m
SOAK_CRASH_ROUNDS ?= 50
.PHONY: soak
soak: deps
	$(MAKE) fuzz FUZZTIME=$(SOAK_FUZZTIME)
	SCHEMAGATE_LOAD_DURATION=$(SOAK_LOAD) $(GO) test -count=1 -timeout 0 -v -run . ./tests/load/
	SCHEMAGATE_CRASH_ROUNDS=$(SOAK_CRASH_ROUNDS) $(GO) test -count=1 -timeout 0 -v -run . ./tests/crash/
	SCHEMAGATE_CRASH_ROUNDS=$(SOAK_CRASH_ROUNDS) scripts/with-postgres.sh $(GO) test -count=1 -timeout 0 -v -run . ./tests/crash/

build:
	$(GO) build -o bin/schemagate ./cmd/schemagate
