#!/usr/bin/env bash
# Before/after in one run: the report's bench rows (audit RAW and ENRICHED parse, wtmp parse, full render) for
# an earlier commit and for this tree, runs interleaved (before, after, after, before, …) so both see the same
# minutes of this noisy VM. Medians, ratios. Writes bench/results/report-ab.md.
#
#   BEFORE=<rev> bash bench/ab.sh        # e.g. BEFORE=main~3; RUNS=5 (default)
#
# Inputs are bench/report.sh's (bench/work/report): run it first (`make bench` does).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BEFORE:?set BEFORE to the commit to compare with}"
RUNS=${RUNS:-5}
WORK=bench/work/report
AB=bench/work/ab
RES=bench/results/report-ab.md
BUNDLE=$(ls "$WORK"/bundle/*.tar.gz 2>/dev/null | head -n 1 || true)
for f in "$WORK/audit-RAW-1000000.log" "$WORK/audit-ENRICHED-1000000.log" "$WORK/wtmp-1000000" "$BUNDLE"; do
  [ -s "$f" ] || { echo "bench/ab.sh: missing input $f: run bash bench/report.sh first" >&2; exit 2; }
done

# Both builds, the same way.
rev=$(git rev-parse --short "$BEFORE")
mkdir -p "$AB"
rm -rf "$AB/src" && git worktree prune && git worktree add -q -f --detach "$AB/src" "$rev"
(cd "$AB/src" && CARGO_TARGET_DIR="$PWD/../target" cargo build --release -q -p coroner-report --bin coroner-report --example parse_bench)
git worktree remove -f "$AB/src"
cargo build --release -q -p coroner-report --bin coroner-report --example parse_bench
mkdir -p "$AB/before" "$AB/after"
cp "$AB/target/release/coroner-report" "$AB/target/release/examples/parse_bench" "$AB/before/"
cp target/release/coroner-report target/release/examples/parse_bench "$AB/after/"

# one SIDE NAME CMD... → appends "NAME SIDE wall rss_kib timings" to $AB/rows.txt
one() {
  local side=$1 name=$2; shift 2
  /usr/bin/time -v -o "$AB/time.txt" "$@" > /dev/null 2> "$AB/stderr.txt" || true
  python3 - "$AB/time.txt" "$AB/stderr.txt" "$name" "$side" >> "$AB/rows.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", t).group(1).strip()
secs = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
tl = [l for l in open(sys.argv[2], errors="replace") if "timings:" in l]
steps = ";".join(f"{re.sub(r'^s [(]', '', k.strip())}={v}" for k, v in re.findall(r"([a-z][a-z. +()]*?) (\d+\.\d+)", tl[-1])) if tl else ""
print(sys.argv[3], sys.argv[4], secs, rss, steps)
PY
}
row() {
  local side=$1 bin="$AB/$1"
  one "$side" "audit RAW parse" "$bin/parse_bench" audit_log /var/log/audit/audit.log "$WORK/audit-RAW-1000000.log" "$WORK/passwd"
  one "$side" "audit ENRICHED parse" "$bin/parse_bench" audit_log /var/log/audit/audit.log "$WORK/audit-ENRICHED-1000000.log" "$WORK/passwd"
  one "$side" "wtmp parse" "$bin/parse_bench" utmp /var/log/wtmp "$WORK/wtmp-1000000" "$WORK/passwd"
  rm -rf "$AB/rendered"; sync
  one "$side" "render" "$bin/coroner-report" render --timings "$BUNDLE" -o "$AB/rendered"
}

: > "$AB/rows.txt"
row before; row after   # untimed warm-up of both: page cache, and memory the VM hands back
: > "$AB/rows.txt"
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) = 1 ]; then row before; row after; else row after; row before; fi
done

python3 - "$AB/rows.txt" "$RES" "$rev" "$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo +changes)" "$RUNS" "$(cat /proc/loadavg | cut -d' ' -f1-3)" <<'PY'
import statistics, sys
rows, res, before, after, runs, load = sys.argv[1:7]
data = {}
for line in open(rows):
    name, rest = line.split(" before ", 1) if " before " in line else line.split(" after ", 1)
    side = "before" if " before " in line else "after"
    wall, rss, *steps = rest.split(" ", 2)
    d = data.setdefault(name, {}).setdefault(side, {"wall": [], "rss": [], "steps": {}})
    d["wall"].append(float(wall)); d["rss"].append(int(rss))
    for kv in (steps[0].strip().split(";") if steps and steps[0].strip() else []):
        k, v = kv.split("=")
        d["steps"].setdefault(k, []).append(float(v))
med = statistics.median
out = [f"## Report rows before and after, measured in one run (`bench/ab.sh`)", "",
       f"Before: {before}; after: {after}. {runs} runs of each, interleaved (before/after order alternating each round) "
       f"after one untimed run of each; wall clock and peak RSS from `/usr/bin/time -v`, medians. Same inputs as the "
       f"table above. Load average at the end: {load} (2 cores).", "",
       "| row | before s | after s | after ÷ before | before RSS MiB | after RSS MiB |", "|---|---:|---:|---:|---:|---:|"]
for name, d in data.items():
    b, a = d["before"], d["after"]
    out.append(f"| {name} | {med(b['wall']):.2f} | {med(a['wall']):.2f} | {med(a['wall'])/med(b['wall']):.2f} | "
               f"{med(b['rss'])/1024:.0f} | {med(a['rss'])/1024:.0f} |")
    for k in b["steps"]:
        if k in a["steps"]:
            bs, as_ = med(b["steps"][k]), med(a["steps"][k])
            ratio = f"{as_/bs:.2f}" if bs > 0 else "–"
            out.append(f"| {name}: {k} | {bs:.2f} | {as_:.2f} | {ratio} | | |")
open(res, "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
