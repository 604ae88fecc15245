#!/usr/bin/env bash
# What each argv source of the recorder costs a process start: a fork/exec/exit storm (fork, execve
# /bin/true, wait; ns per spawn) with nothing recording, with `watch --argv bpf` (the exec tracepoint program)
# and with `watch --argv uprobe` (the loader uprobe). ROUNDS rounds, the three modes back to back in each, a
# recorder started afresh for its piece. Medians of per-round ratios against nothing, and the same-round
# difference uprobe - bpf. Writes bench/results/watch_argv.md. Root only.
#
#   bash bench/watch_argv.sh          # ROUNDS=10 SPAWNS=3000
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/watch_argv.sh: needs root (tracefs, bpf)" >&2; exit 2; }
ROUNDS=${ROUNDS:-10}
SPAWNS=${SPAWNS:-3000}
W=bench/work/watch_argv
RES=${RES:-bench/results/watch_argv.md}
mkdir -p "$W" bench/results
command -v gcc >/dev/null || apt-get install -y gcc >/dev/null
if [ -z "${COLLECT:-}" ]; then
  cargo build --release -q -p coroner-collect
  COLLECT=${CARGO_TARGET_DIR:-$PWD/target}/release/coroner-collect
fi
gcc -O2 -o "$W/storm" bench/watch/storm.c

REC_PID=""
stop_rec() { [ -n "$REC_PID" ] && kill -TERM "$REC_PID" 2>/dev/null && wait "$REC_PID" 2>/dev/null || true; REC_PID=""; }
trap stop_rec EXIT

: > "$W/rows.txt"
for r in $(seq 1 "$ROUNDS"); do
  for mode in none bpf uprobe; do
    if [ "$mode" != none ]; then
      rm -rf "$W/state"
      "$COLLECT" watch --state-dir "$W/state" --argv "$mode" >"$W/recorder.log" 2>&1 &
      REC_PID=$!
      for _ in $(seq 1 100); do grep -qs '"record":"start"' "$W"/state/watch/*.jsonl && break; sleep 0.1; done
      grep -qs '"record":"start"' "$W"/state/watch/*.jsonl || { cat "$W/recorder.log" >&2; exit 1; }
      sleep 1   # its table seeded from /proc, its CPU still
    fi
    echo "$r $mode $("$W/storm" spawn "$SPAWNS" | awk '{print $3}')" >> "$W/rows.txt"
    stop_rec
  done
done

python3 - "$W/rows.txt" "$RES" "$ROUNDS" "$SPAWNS" <<'PY'
import statistics as st, sys
rows, res, rounds, spawns = sys.argv[1:5]
d = {}
for line in open(rows):
    r, m, v = line.split()
    d.setdefault(int(r), {})[m] = float(v)
full = [x for x in d.values() if len(x) == 3]
med = st.median
out = ["## What the recorder's argv source costs a process start (`bench/watch_argv.sh`)", "",
       f"A fork/exec/exit storm ({spawns} times fork, execve /bin/true, wait) with nothing recording, with "
       "`coroner-collect watch --argv bpf` (a program on the exec tracepoint copies argv) and with `--argv uprobe` "
       f"(a probe on the dynamic loader's first call reads it). {len(full)} rounds, the three modes back to back, "
       "a recorder started afresh for its piece. Medians of the per-round figures; 2 cores.", "",
       "| | nothing | `--argv bpf` | `--argv uprobe` |", "|---|---:|---:|---:|",
       f"| µs per spawn | {med(x['none'] for x in full) / 1000:.1f} | {med(x['bpf'] for x in full) / 1000:.1f} | {med(x['uprobe'] for x in full) / 1000:.1f} |",
       f"| ÷ nothing, per round | 1 | {med(x['bpf'] / x['none'] for x in full):.3f} | {med(x['uprobe'] / x['none'] for x in full):.3f} |",
       "", f"- uprobe − bpf in the same round: median **{med((x['uprobe'] - x['bpf']) / 1000 for x in full):.1f} µs** a spawn.",
       "- Per round, bpf ÷ nothing: " + ", ".join(f"{x['bpf'] / x['none']:.3f}" for x in full) + ".",
       "- Per round, uprobe ÷ nothing: " + ", ".join(f"{x['uprobe'] / x['none']:.3f}" for x in full) + "."]
open(res, "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
