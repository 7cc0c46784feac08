# catsync: disaster-recovery replication of BackPak and DSM/TC tape catalogs.

BIN      := .bin
DATA     := .data
GO       ?= go
CATSYNC  := $(BIN)/catsync
TEMPORAL := $(BIN)/temporal

# PostgreSQL for the store tests; set it empty to skip them.
CATSYNC_TEST_POSTGRES_DSN ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export CATSYNC_TEST_POSTGRES_DSN

.PHONY: all build test lint bench fuzz demo dev-server stop temporal clean

all: lint test build

build:
	$(GO) build -o $(CATSYNC) ./starter
	$(GO) build -o $(BIN)/catsync-worker ./worker

# The integration tests run on the real Temporal dev server: the pinned CLI.
test: $(TEMPORAL)
	CATSYNC_REQUIRE_TEMPORAL=1 CATSYNC_TEMPORAL_CLI=$(abspath $(TEMPORAL)) $(GO) test -count=1 -timeout 30m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Benchmarks, side by side with their naive baselines. The reference catalog
# (100,000 volumes, 1,000,000 tape files, 5,000,000 disk files) takes some
# minutes; CATSYNC_BENCH_SCALE=0.05 makes a quick run.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

# Every fuzz target, one after the other, CATSYNC_FUZZ_TIME each (default
# 30s); the corpora stay in the Go cache (or CATSYNC_FUZZ_CACHE), and a
# failing input is left in the package's testdata/fuzz to commit as a seed.
fuzz:
	scripts/fuzz

# The main job, on the embedded defaults: the Temporal dev server (SQLite,
# Web UI on the port of CATSYNC_UI_URL, default :8233), a simulated primary
# and secondary in SQLite files under .data/, a worker, a FULL sync, a day of
# activity, an UPDATE sync, verify.
demo: build $(TEMPORAL)
	scripts/demo

# The Temporal dev server alone, with catsync's search attributes.
dev-server: $(TEMPORAL)
	scripts/dev-server

# Stops what demo and dev-server left running.
stop:
	-@[ -f $(DATA)/worker.pid ] && kill $$(cat $(DATA)/worker.pid) 2>/dev/null; rm -f $(DATA)/worker.pid
	-@[ -f $(DATA)/temporal.pid ] && kill $$(cat $(DATA)/temporal.pid) 2>/dev/null; rm -f $(DATA)/temporal.pid
	@echo stopped

# The Temporal CLI (dev server and Web UI), pinned in its own module; built
# once, reused.
temporal: $(TEMPORAL)
$(TEMPORAL): tools/temporal/go.mod
	cd tools/temporal && $(GO) build -o ../../$(TEMPORAL) github.com/temporalio/cli/cmd/temporal

# The production Temporal server, its SQL tool and its Web UI, pinned in
# their own module (tools/server: the server cannot share the
# application's); built once, reused.
SERVER_BINS := $(BIN)/temporal-server $(BIN)/temporal-sql-tool $(BIN)/temporal-ui-server
.PHONY: server deploy-test faults
server: $(SERVER_BINS)
$(BIN)/temporal-server: tools/server/go.mod tools/server/go.sum
	cd tools/server && $(GO) build -o ../../$@ go.temporal.io/server/cmd/server
$(BIN)/temporal-sql-tool: tools/server/go.mod tools/server/go.sum
	cd tools/server && $(GO) build -o ../../$@ go.temporal.io/server/cmd/tools/sql
$(BIN)/temporal-ui-server: tools/server/go.mod tools/server/go.sum
	cd tools/server && $(GO) build -o ../../$@ github.com/temporalio/ui-server/v2/cmd/server

# The production deployment of deploy/, run here: the
# Temporal server on the local PostgreSQL with mutual TLS, the Web UI,
# the three workers from their environment files, FULL and UPDATE syncs,
# the secondary's worker killed in the middle of a FULL. Hosts, logs and
# the report of times go to .data/deploy-test.
deploy-test: build server
	CATSYNC_DEPLOY_TEST=1 CATSYNC_DEPLOY_BIN=$(abspath $(BIN)) CATSYNC_DEPLOY_DIR=$(abspath $(DATA))/deploy-test \
	  $(GO) test -count=1 -timeout 20m -v -run 'TestDeployment$$' ./internal/deploytest

# The crash-and-fault matrix: CATSYNC_FAULTS_TRIALS seeded trials (default
# 50), each a FULL, an UPDATE or a drill hit by one fault at a step boundary
# or inside a step, then checked: nothing lost, duplicated or corrupt, the
# audit chain intact. CATSYNC_FAULTS_SEED and CATSYNC_FAULTS_TRIAL replay
# one; CATSYNC_FAULTS_VOLUMES sizes the primary (default 2000). Sites, logs
# and the report go to .data/faults (docs/faults.md).
faults: build $(TEMPORAL)
	CATSYNC_FAULTS=1 CATSYNC_FAULTS_BIN=$(abspath $(BIN)) CATSYNC_FAULTS_DIR=$(abspath $(DATA))/faults \
	  CATSYNC_TEMPORAL_CLI=$(abspath $(TEMPORAL)) CATSYNC_REQUIRE_TEMPORAL=1 CATSYNC_REQUIRE_PYKMIP=1 \
	  $(GO) test -count=1 -timeout 60m -v -run 'TestFaultMatrix$$' ./internal/faults

clean:
	rm -rf $(BIN) $(DATA)
