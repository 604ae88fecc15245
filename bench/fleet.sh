#!/usr/bin/env bash
# Fleet benchmark (issue 16): `coroner-report fleet` over BUNDLES bundles of about EVENTS timeline events each,
# beside `coroner-report render` run on each bundle in turn; `fleet` at several fleet sizes (peak RSS should stay
# flat) and at --jobs 1 and 2. Medians of RUNS runs, interleaved round by round, wall and peak RSS from
# /usr/bin/time -v. Writes bench/results/fleet.md. Work files under bench/work/fleet (gitignored).
#
#   bash bench/fleet.sh                          # 100 bundles of ~100k events, sizes 10 25 50 100, 3 runs
#   RUNS=1 SIZES="10 100" JOBS_AT=10 bash bench/fleet.sh
#   BUNDLES=20 EVENTS=20000 bash bench/fleet.sh  # a quick look
#   DISK_MARGIN_GB=5                             # free space left beyond what a run is estimated to write
#
# The bundles are made once per generator parameters (hosts, events, seed, the generators' bytes, the
# collector's version) by the real collector from `--root` trees (bench/gen_fleet.py), with one shared fleet
# key (host mode), laid out as an Ansible run folder with a clock.json per host; `rm -rf bench/work/fleet` to
# make them again.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
BUNDLES=${BUNDLES:-100}
EVENTS=${EVENTS:-100000}
SEED=${SEED:-16}
SIZES=${SIZES:-"10 25 50 100"}
JOBS_AT=${JOBS_AT:-25}
DISK_MARGIN_GB=${DISK_MARGIN_GB:-5}
TGT=${CARGO_TARGET_DIR:-target}
COLLECT=$TGT/release/coroner-collect
REPORT=$TGT/release/coroner-report
WORK=bench/work/fleet
RES=bench/results/fleet.md
mkdir -p "$WORK" bench/results
command -v /usr/bin/time >/dev/null || apt-get install -y time >/dev/null
cargo build --release -q -p coroner-collect -p coroner-report

# --- the bundles, cached by the generator's parameters --------------------------------------------------------
KEY=$( { echo "$BUNDLES $EVENTS $SEED"; cat bench/gen_fleet.py bench/gen_audit.py bench/gen_wtmp.py; "$COLLECT" --version; } \
  | sha256sum | cut -c1-12)
CACHE=$WORK/b$BUNDLES-e$EVENTS-s$SEED-$KEY
if [ ! -f "$CACHE/.done" ]; then
  rm -rf "$WORK"/b*-e*-s*-*   # older parameter sets: one set on disk at a time
  mkdir -p "$CACHE"
  t0=$(date +%s.%N)
  python3 bench/gen_fleet.py "$CACHE/gen" --hosts "$BUNDLES" --events "$EVENTS" --seed "$SEED"
  t1=$(date +%s.%N)
  "$COLLECT" keygen -o "$CACHE/fleet.key" >/dev/null 2>&1
  for tree in "$CACHE"/gen/trees/*/; do
    host=$(basename "$tree")
    d=$CACHE/run/$host
    mkdir -p "$d"
    "$COLLECT" --root "$tree" -o "$d" --key "$CACHE/fleet.key" --no-gentle -q >/dev/null
    rm -f "$d"/*.allowed_signers   # the run folder holds what the Ansible role fetches (fleet-contract)
  done
  t2=$(date +%s.%N)
  # clock.json per host: a controller clock that sees host i's clock off by a known amount (-120..+120 s),
  # waiting 0.4 s before and 0.6 s after the host's own collection.
  python3 - "$CACHE/run" <<'PY'
import json, os, sys, tarfile, datetime as dt
run = sys.argv[1]
def parse(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
def fmt(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
for i, host in enumerate(sorted(os.listdir(run))):
    d = os.path.join(run, host)
    bundle = [f for f in os.listdir(d) if f.endswith(".tar.gz")][0]
    with tarfile.open(os.path.join(d, bundle), "r:gz") as t:
        m = json.load(t.extractfile("manifest.json"))
    s, f = parse(m["collector"]["started"]), parse(m["collector"]["finished"])
    skew = dt.timedelta(seconds=(i * 37) % 241 - 120)
    clock = {"schema_version": 1, "inventory_hostname": host, "bundle": bundle,
             "controller_before": fmt(s - skew - dt.timedelta(seconds=0.4)),
             "controller_after": fmt(f - skew + dt.timedelta(seconds=0.6))}
    with open(os.path.join(d, "clock.json"), "w") as o:
        json.dump(clock, o, indent=1)
        o.write("\n")
PY
  # Smaller fleets: run folders of the first N hosts (hard links).
  for n in $SIZES; do
    [ "$n" -le "$BUNDLES" ] || continue
    for host in $(ls "$CACHE/run" | head -n "$n"); do
      mkdir -p "$CACHE/run$n/$host"
      ln -f "$CACHE/run/$host"/* "$CACHE/run$n/$host/"
    done
  done
  python3 -c "import sys; t0, t1, t2 = map(float, sys.argv[1:]); print(f'{t1 - t0:.1f} {t2 - t1:.1f}')" "$t0" "$t1" "$t2" > "$CACHE/gen-seconds"
  touch "$CACHE/.done"
fi
read -r GEN_TREES GEN_COLLECT < "$CACHE/gen-seconds"
BUNDLE_FILES=$(ls "$CACHE"/run/*/*.tar.gz)
BUNDLE_MB=$(du -cm $BUNDLE_FILES | tail -1 | cut -f1)

# --- measuring ----------------------------------------------------------------------------------------------
: > "$WORK/stderr.log"
# one_run OUTDIR CMD... → "wall rss exit" (the output directory removed and synced first, untimed; OUTDIR `-`:
# nothing removed or synced, for the renders in turn, whose outputs all stay until the row ends as fleet's do)
one_run() {
  local out=$1; shift
  if [ "$out" != - ]; then rm -rf "$out"; sync; fi
  /usr/bin/time -v -o "$WORK/time.txt" "$@" > /dev/null 2>>"$WORK/stderr.log" || true
  python3 - "$WORK/time.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", t).group(1).strip()
secs = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
code = int(re.search(r"Exit status: (\d+)", t).group(1)) if "Exit status" in t else -1
print(f"{secs:.3f} {rss} {code}")
PY
}

# The events per bundle, counted as the brief says (a render's timeline.jsonl), and one render's output size
# (for the disk check); also the untimed warm-up of the bundles' pages and the render path.
FIRST=$(echo "$BUNDLE_FILES" | head -n 1)
rm -rf "$WORK/render1"
"$REPORT" render --pubkey "$CACHE/fleet.key.pub" "$FIRST" -o "$WORK/render1" > /dev/null 2>>"$WORK/stderr.log" || true
EVENTS_COUNTED=$(wc -l < "$WORK/render1/timeline.jsonl")
RENDER_MB=$(du -sm "$WORK/render1" | cut -f1)
rm -rf "$WORK/render1"
cat $BUNDLE_FILES > /dev/null

HAVE_FLEET=1
"$REPORT" fleet --help > /dev/null 2>&1 || HAVE_FLEET=0

ROWS=$WORK/rows.txt
: > "$ROWS.raw"; : > "$WORK/outputs.txt"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
SKIPPED=""
fits() { # fits N: room for a fleet run over N hosts? It writes each host's render and the fleet timeline's
  # JSONL and Parquet (about 1.6 renders a host, measured at 100 hosts of ~100k events; 1.7 allowed).
  local need=$(( $1 * RENDER_MB * 17 / 10 / 1024 + DISK_MARGIN_GB ))
  local avail=$(df -BG --output=avail "$WORK" | tail -1 | tr -dc 0-9)
  [ "$avail" -ge "$need" ] || { SKIPPED="$SKIPPED fleet over $1 bundles (needs ~${need} GiB free with the margin, ${avail} GiB free);"; return 1; }
}
for round in $(seq 1 "$RUNS"); do
  echo "round $round of $RUNS" >&2
  # render on each bundle in turn: total wall (the sum), the largest peak RSS. Each render keeps its output in a
  # folder of its own until the row ends, as fleet keeps every host's: removing each right after it would let
  # its bytes die in the page cache unwritten while fleet's reach the disk (the comparison would not be fair).
  walls=(); rss=0; i=0
  rm -rf "$WORK/out-render"; mkdir -p "$WORK/out-render"; sync
  for b in $BUNDLE_FILES; do
    i=$((i + 1))
    read -r w r c < <(one_run - "$REPORT" render --pubkey "$CACHE/fleet.key.pub" "$b" -o "$WORK/out-render/$i")
    walls+=("$w"); [ "$r" -gt "$rss" ] && rss=$r
  done
  rm -rf "$WORK/out-render"; sync
  echo "render_each $BUNDLES 1 $(IFS=,; echo "${walls[*]}") $rss" >> "$ROWS.raw"
  echo "  render each: $(python3 -c 'import sys; print(round(sum(map(float, sys.argv[1:])), 2))' "${walls[@]}") s, max RSS $rss KiB" >&2
  [ "$HAVE_FLEET" = 1 ] || continue
  for n in $SIZES; do
    [ "$n" -le "$BUNDLES" ] || continue
    fits "$n" || continue
    read -r w r c < <(one_run "$WORK/out-fleet" "$REPORT" fleet "$CACHE/run$n" -o "$WORK/out-fleet" --pubkey "$CACHE/fleet.key.pub" --jobs 2)
    if [ "$round" = 1 ]; then   # what the run wrote, once per size
      lines=0; pq=0
      [ -f "$WORK/out-fleet/timeline.jsonl" ] && lines=$(wc -l < "$WORK/out-fleet/timeline.jsonl")
      [ -f "$WORK/out-fleet/timeline.parquet" ] && pq=$(du -m "$WORK/out-fleet/timeline.parquet" | cut -f1)
      echo "$n $lines $(du -sm "$WORK/out-fleet" | cut -f1) $pq $c" >> "$WORK/outputs.txt"
    fi
    rm -rf "$WORK/out-fleet"
    echo "fleet $n 2 $w $r $c" >> "$ROWS.raw"
    echo "  fleet $n --jobs 2: $w s, $r KiB, exit $c" >&2
  done
  if [ "$JOBS_AT" -le "$BUNDLES" ] && fits "$JOBS_AT"; then
    read -r w r c < <(one_run "$WORK/out-fleet" "$REPORT" fleet "$CACHE/run$JOBS_AT" -o "$WORK/out-fleet" --pubkey "$CACHE/fleet.key.pub" --jobs 1)
    rm -rf "$WORK/out-fleet"
    echo "fleet $JOBS_AT 1 $w $r $c" >> "$ROWS.raw"
    echo "  fleet $JOBS_AT --jobs 1: $w s, $r KiB, exit $c" >&2
  fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$ROWS.raw" "$WORK/outputs.txt" "$RES" <<PY
import statistics, sys
raw, outputs, res = sys.argv[1:4]
runs, bundles, events, counted = $RUNS, $BUNDLES, $EVENTS, $EVENTS_COUNTED
# name n jobs -> list of (wall, rss, exit); render_each also keeps each bundle's wall
rows, each = {}, []
for line in open(raw):
    p = line.split()
    if p[0] == "render_each":
        walls = [float(x) for x in p[3].split(",")]
        each.append(walls)
        rows.setdefault(("render_each", int(p[1]), 1), []).append((sum(walls), int(p[4]), 0))
    else:
        rows.setdefault((p[0], int(p[1]), int(p[2])), []).append((float(p[3]), int(p[4]), int(p[5])))
outs = {int(l.split()[0]): l.split()[1:] for l in open(outputs) if l.strip()}
def med(k):
    v = rows[k]
    return statistics.median(w for w, _, _ in v), max(r for _, r, _ in v), [w for w, _, _ in v], sorted({c for _, _, c in v})
# the sequential renders of the first n bundles: the same runs' per-bundle walls, summed
def seq(n):
    return statistics.median(sum(w[:n]) for w in each) if each else None
out = ["## Fleet: \`coroner-report fleet\` vs \`render\` on each bundle in turn", "",
       f"Written by \`bench/fleet.sh\`: {bundles} bundles made by \`coroner-collect --root\` (one shared \`--key\`, host "
       f"mode) from \`bench/gen_fleet.py\` trees (per host: its own /etc/hostname, audit.log and, on every fourth, an "
       f"OOM storm in kern.log; a shared RFC 3339 syslog and wtmp), laid out as the Ansible role's run folder with "
       f"a clock.json per host (offsets -120..+120 s). {counted:,} timeline events per bundle (lines of one "
       f"render's timeline.jsonl), {$BUNDLE_MB} MB of bundles in all; one render writes {$RENDER_MB} MB. "
       f"Generating them took {float('$GEN_TREES'):.0f} s for the trees and {float('$GEN_COLLECT'):.0f} s for "
       f"{bundles} collections, once (cached under bench/work/fleet/). {runs} round(s), each running every row "
       f"once in turn (the render of every bundle, then \`fleet\` at each size); medians; wall and peak RSS "
       f"(the largest of the runs) from \`/usr/bin/time -v\`; every output of a row kept until the row ends (each "
       f"render in a folder of its own, as \`fleet\` keeps every host's), then removed and synced, untimed. "
       f"Kernel $(uname -r); load average (1/5/15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER (2 cores, "
       f"shared with other work, which inflates wall times).", "",
       "| row | bundles | --jobs | median wall s | runs s | peak RSS MiB | renders in turn ÷ fleet (>1: fleet faster) | exit |",
       "|---|---:|---:|---:|---|---:|---:|---|"]
for k in sorted(rows, key=lambda k: (k[0] != "render_each", k[1], -k[2])):
    wall, rss, walls, codes = med(k)
    ratio = ""
    if k[0] == "fleet" and seq(k[1]) and max(codes) < 2:
        ratio = f"{seq(k[1]) / wall:.2f}×"
    name = "\`render\` on each bundle in turn (sum of walls, largest RSS)" if k[0] == "render_each" else "\`fleet\`"
    out.append(f"| {name} | {k[1]} | {k[2]} | {wall:.1f} | {', '.join(f'{w:.1f}' for w in walls)} | {rss / 1024:.0f} | {ratio} | {','.join(map(str, codes))} |")
if each and any(k[0] == "fleet" for k in rows):
    out.append("")
    out.append("Renders in turn over the first N bundles (the same runs' walls, summed; what each fleet size's ratio is "
               "taken against): " + "; ".join(f"{n}: {seq(n):.1f} s" for n in sorted({k[1] for k in rows if k[0] == 'fleet'})) + ".")
out.append("")
for n, (lines, mb, pq, code) in sorted(outs.items()):
    out.append(f"- fleet over {n}: timeline.jsonl {int(lines):,} rows (about {n * counted:,}: hosts differ "
               f"by their own audit.log and OOM storm), outputs {int(mb) / 1024:.1f} GiB (timeline.parquet {pq} MB), exit {code}.")
full = "No space left on device" in open("$WORK/stderr.log").read()
failed = sorted({k[1] for k, v in rows.items() if k[0] == "fleet" and any(c >= 2 for _, _, c in v)})
if failed:
    out.append(f"- Exit 2 (fatal) at {', '.join(map(str, failed))} bundles"
               + (": the disk was full (\`No space left on device\`), so that row's wall is the time to failure and its "
                  "peak RSS a lower bound." if full else "; see bench/work/fleet/stderr.log."))
fl = {k: med(k) for k in rows if k[0] == "fleet" and k[2] == 2}
if fl:
    ok_sizes = [k for k in fl if max(fl[k][3]) < 2]
    big = max(ok_sizes) if ok_sizes else None
    if big and seq(big[1]):
        r = seq(big[1]) / fl[big][0]
        out.append(f"- Target: fleet faster than the renders in turn on 2 cores — {r:.2f}× at {big[1]} bundles: "
                   f"{'met' if r > 1 else 'NOT met'}.")
    peaks = [(k[1], fl[k][1]) for k in sorted(fl)]
    top = max(r for _, r in peaks)
    grow = peaks[-1][1] / peaks[0][1] if len(peaks) > 1 else 1.0
    out.append(f"- Target: peak RSS under 2 GiB and flat — " + ", ".join(f"{n} bundles {r / 1024:.0f} MiB" for n, r in peaks)
               + f" (largest {top / 1024:.0f} MiB, last ÷ first {grow:.2f}): "
               + ("met" if top < 2 * 1024 * 1024 and grow < 1.25 else "NOT met") + ".")
    j1 = [k for k in rows if k[0] == "fleet" and k[2] == 1]
    if j1 and (j1[0][0], j1[0][1], 2) in rows:
        a, b = med(j1[0]), med((j1[0][0], j1[0][1], 2))
        out.append(f"- --jobs 1 vs 2 at {j1[0][1]} bundles: {a[0]:.1f} s vs {b[0]:.1f} s ({a[0] / b[0]:.2f}×), "
                   f"peak RSS {a[1] / 1024:.0f} vs {b[1] / 1024:.0f} MiB.")
else:
    out.append("- \`coroner-report fleet\` was not measured (this build has no fleet command, or no size fitted on the disk).")
skipped = """$SKIPPED""".strip()
if skipped:
    out.append(f"- Skipped for disk space: {skipped}")
open(res, "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
