# offloadpmd. `sudo make run` and `sudo make test` work on a fresh Debian 12
# machine: both install what is missing first (scripts/install-deps.sh).

GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN     := bin/offloadpmd
PKGS    := ./...
# Seconds `make run` forwards before it stops and prints its statistics.
RUN_SECONDS ?= 10
# go test timeout; CI has 90 minutes for everything.
TEST_TIMEOUT ?= 30m

.PHONY: all deps build test run demo demo-shell bench bench-offload plot lint clean

all: build

deps:
	./scripts/install-deps.sh

build:
	$(GO) build -o $(BIN) ./cmd/offloadpmd

# Tests need root for DPDK and network namespaces; CI runs them as root.
# -p 1: test binaries each start an EAL on lcores 0-1; run them one at a
# time so they do not fight over the two cores.
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -p 1 -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

# The main job on the embedded default: two net_null vdevs, no hugepages,
# no NIC, io forwarding on lcore 1 with periodic statistics.
run: deps build
	$(BIN) -- --stats-period=1 --run-time=$(RUN_SECONDS)

# The Linux kernel as the OS: two namespaces, a TAP port in each, iperf3
# TCP and UDP through offloadpmd, then its offload counters (root).
demo: deps build
	./scripts/demo.sh

# The interactive engine on the demo's topology.
demo-shell: deps build
	./scripts/demo.sh shell

bench: build
	./scripts/bench-io.sh

# The software offloads against testpmd and librte_gro/gso (about 25 min).
bench-offload: build
	./scripts/bench-offload.sh

# The bench scripts write results/NAME.csv and draw results/NAME.png with
# cmd/benchplot themselves; this redraws every chart from its CSV.
BENCH_RESULTS ?= results
plot:
	@found=0; for f in $(BENCH_RESULTS)/bench-io.csv $(BENCH_RESULTS)/bench-offload.csv $(BENCH_RESULTS)/bench-kernel.csv; do \
		[ -f "$$f" ] || continue; found=1; \
		$(GO) run ./cmd/benchplot "$$f" && echo "$$f -> $${f%.csv}.png" || exit 1; \
	done; [ $$found = 1 ] || { echo "plot: no results in $(BENCH_RESULTS)/ (make bench first)"; exit 1; }

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet $(PKGS)
	./scripts/check-cgo-boundary.sh

clean:
	rm -rf bin
