#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS each (after `cargo fuzz build`), seeded by seed.sh, and writes
# fuzz/stats.tsv: target, seconds, executions (libFuzzer's stat::number_of_executed_units). Fails when any
# target finds a crash, a hang (-timeout) or an out-of-memory (-rss_limit_mb); the input is kept in
# fuzz/artifacts/<target>/. FUZZ_TARGETS limits the run to some targets; FUZZ_STATS names another stats file.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
bin=${CARGO_TARGET_DIR:-fuzz/target}/x86_64-unknown-linux-gnu/release
targets=${FUZZ_TARGETS:-$(ls fuzz/fuzz_targets | sed 's/\.rs$//')}
bash fuzz/seed.sh || exit 2
mkdir -p fuzz/logs
final=${FUZZ_STATS:-fuzz/stats.tsv}
stats=$final.new
printf 'target\tseconds\texecutions\n' > "$stats"
failed=()
for t in $targets; do
  mkdir -p "fuzz/artifacts/$t"
  log=fuzz/logs/$t.log
  # Inputs up to 512 KiB (a whole lastlog or core head), 10 s per input, 2 GiB of memory. No leak checks: LSan
  # flags glibc's thread-exit bookkeeping (__cxa_thread_atexit_impl) for the bundle reader's hashing thread now
  # and then, not reproducibly; memory growth is still caught by -rss_limit_mb.
  "$bin/$t" "fuzz/corpus/$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=524288 -detect_leaks=0 \
    -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" > "$log" 2>&1
  rc=$?
  execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log" | tail -n 1)
  printf '%s\t%s\t%s\n' "$t" "$secs" "${execs:-0}" >> "$stats"
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc); log $log, input in fuzz/artifacts/$t/" >&2
    grep -m 5 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" >&2
  else
    echo "fuzz: $t: ${execs:-0} executions in ${secs}s"
  fi
done
mv "$stats" "$final"
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: failing targets: ${failed[*]}" >&2; exit 1; }
