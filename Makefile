# Coroner: the one entry point. `.ci/run` calls `make test`.
SHELL := /bin/bash
CARGO ?= cargo
OUT ?= out
TARGET_TRIPLE := x86_64-unknown-linux-gnu

.PHONY: all build collect test bench bench-ab bench-watch bench-pairs bench-fleet dist lint schemas clean fuzz fuzz-ci reliability

all: build

build:
	$(CARGO) build --release --workspace

## collect this host into $(OUT)/ and render the report into $(OUT)/report/
collect: build
	@mkdir -p $(OUT)
	@if [ "$$(id -u)" != 0 ]; then echo "note: not root; collecting what this user can read (run as root for the full picture)" >&2; fi
	./target/release/coroner-collect -o $(OUT) > $(OUT)/.last-bundle; rc=$$?; \
	  if [ $$rc -ge 2 ]; then exit $$rc; fi; \
	  bundle=$$(tail -n 1 $(OUT)/.last-bundle); \
	  ./target/release/coroner-report render "$$bundle" -o $(OUT)/report; rc2=$$?; \
	  if [ $$rc2 -ge 2 ]; then exit $$rc2; fi; \
	  echo "bundle: $$bundle"; echo "report: $(OUT)/report/report.html  $(OUT)/report/report.md"

## every test: unit, golden, binary, real-host (as root) and staged-incident tests
test:
	$(CARGO) build --release --workspace
	@if [ "$$(id -u)" = 0 ]; then \
	  echo "make test: as root: the real-host tests (#[ignore = \"needs root\"]) run too"; \
	  $(CARGO) test --workspace --no-fail-fast -- --include-ignored; \
	else \
	  echo "make test: not root: the real-host tests are listed as ignored (needs root); run as root for them" >&2; \
	  $(CARGO) test --workspace --no-fail-fast; \
	fi

## benchmarks side by side with the peer tools; results in BENCHMARKS.md
bench: build
	bash bench/collect.sh
	bash bench/report.sh
	$(MAKE) bench-fleet
	@if [ "$$(id -u)" = 0 ]; then bash bench/watch.sh && bash bench/watch_argv.sh; else echo "make bench: not root: bench/watch.sh and watch_argv.sh (the recorder's cost) skipped" >&2; fi
	{ echo "# Benchmarks"; echo; echo "Written by \`make bench\` (bench/*.sh); machine: $$(nproc) cores, $$(free -g | awk '/Mem:/{print $$2}') GiB."; echo; \
	  for f in $$(ls bench/results/*.md | LC_ALL=C sort); do cat "$$f"; echo; done; } > BENCHMARKS.md

## the report's bench rows for BEFORE=<rev> and this tree, interleaved in one run (after `make bench`'s inputs)
bench-ab:
	bash bench/ab.sh
	bash bench/instructions.sh

## `coroner-report fleet` over 100 bundles of ~100k events vs `render` on each in turn (bench/results/fleet.md)
bench-fleet:
	bash bench/fleet.sh

## what the signal recorder costs, beside audit's kill rules, and what its argv sources cost a process (root)
bench-watch:
	bash bench/watch.sh
	bash bench/watch_argv.sh

## one long run of the builds pairs alone (PAIRS=4000: about 35 min here; root), its rows kept in bench/results/pairs/
## and pooled with the earlier runs' into bench/results/watch_pooled.md (bench/pairs.py)
bench-pairs:
	t=$$(date -u +%Y%m%dT%H%M); WORKLOADS= PAIR_AUDIT=0 PAIR_AA=0 PAIRS=$${PAIRS:-4000} RES=bench/work/pairs_last.md bash bench/watch.sh && \
	  gzip -9 -c bench/work/watch/rows.txt > bench/results/pairs/$$t-recorder.rows.gz
	python3 bench/pairs.py bench/results/pairs/*.rows.gz > bench/results/watch_pooled.md

## a statically linked collector that runs on a host with nothing installed
dist:
	RUSTFLAGS='-C target-feature=+crt-static' $(CARGO) build --release -p coroner-collect --target $(TARGET_TRIPLE)
	@mkdir -p dist && cp target/$(TARGET_TRIPLE)/release/coroner-collect dist/coroner-collect
	@file dist/coroner-collect 2>/dev/null || true
	@ldd dist/coroner-collect 2>&1 | grep -q 'statically linked\|not a dynamic executable' && echo "dist/coroner-collect: static"

lint:
	$(CARGO) clippy --workspace --all-targets

## regenerate schemas/json/*.schema.json from the serde types
schemas:
	UPDATE_SCHEMAS=1 $(CARGO) test -p coroner-schemas --test schema_files

clean:
	$(CARGO) clean
	rm -rf $(OUT) dist bench/work

## fuzz every parser, bundle reading and verification for FUZZ_SECONDS each (nightly, cargo-fuzz); fuzz/stats.tsv
FUZZ_SECONDS ?= 60
fuzz:
	cd fuzz && $(CARGO) +nightly fuzz build -O
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh

## CI's fuzz step: build every target and run each for a few seconds
fuzz-ci:
	$(MAKE) fuzz FUZZ_SECONDS=3

## RELIABILITY.md: issue 15's figures (fuzz executions, refused bundles, host faults, hostile payloads, redaction
## patterns), each from running the fuzzers and tests here (as root for the host faults and the browser)
reliability: build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/reliability.sh
