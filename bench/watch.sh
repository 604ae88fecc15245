#!/usr/bin/env bash
# What recording costs (issue 13): three workloads — a signal storm, a fork/exec/exit storm, a normal mixed
# workload (gcc builds) — plus getppid(2) as the price every unrelated syscall pays, each run with nothing
# recording, with `coroner-collect watch`, and with the kill-family audit rules `arm` writes (auditd running).
# Medians of RUNS, ratios against "nothing", the recorder's CPU share, peak RSS and disk per million records,
# and records written vs signals sent (every loss must be counted). Writes bench/results/watch.md. Root only.
#
# The builds row, whose target (under 1% slowdown) is smaller than this VM's run-to-run spread, is measured
# apart, in many short pairs: a build's time here follows the host's load over seconds (lag-1 autocorrelation
# 0.47 over 600 builds in a row), so pieces next to each other cancel most of it. PAIRS rounds of back-to-back
# pieces (nothing, recorder, audit rules; a fixed-seed shuffled order in each round), each piece PAIR_WARM
# untimed builds then PAIR_BUILDS timed ones, and the median of the per-round ratios with a distribution-free
# 95% interval (order statistics), judged against 1.01. A recorder piece starts a recorder and waits until
# its run time is still (a start reads the kmsg ring again and walks the cgroup tree), so the timed builds
# see a recorder as it runs for months. A fourth mode (PAIR_AA=1) is the design's A/A check: "idle" is nothing
# after a pause as long as the last recorder piece's start and wait (PAIR_IDLE seconds before the first), so
# the recorder can also be read against nothing after the same pause; PAIR_MODES overrides the list.
# 600 rounds pin the median to about ±1%; `make bench-pairs` runs 4000 rounds of the builds pairs alone, keeps
# the rows in bench/results/pairs/ and pools every kept run (bench/pairs.py, bench/results/watch_pooled.md).
#
#   bash bench/watch.sh               # RUNS=5 SIGNALS=200000 RATE=100000 (a second; 0: unpaced) SPAWNS=2000
#                                     # PAIRS=600 PAIR_BUILDS=2 PAIR_WARM=1 PAIR_AUDIT=1 PAIR_AA=1
#   STORM_SECS=600 bash bench/watch.sh   # also a long storm: the recorder's RSS sampled every 10 s
#   WORKLOADS= PAIR_AUDIT=0 PAIR_AA=0 RES=/tmp/x.md bash bench/watch.sh   # the builds pairs alone, recorder vs nothing
#   REC_ARGS="--argv uprobe" ...      # extra arguments for the recorder (here: argv from the loader uprobe)
#   WORKLOADS= PAIR_WL=spawn PAIR_AUDIT=0 PAIR_AA=0 PAIR_MODES="none inst recorder" RES=bench/results/watch_spawn.md \
#     bash bench/watch.sh             # the pairs on fork/exec/exit of /bin/true (SPAWN_PER=100 a build's place),
#                                     # with "inst": the recorder's trace instance alone, no reader, no exec program
#                                     # (inst-signals, inst-procs: its signal events, its other four)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/watch.sh: needs root (tracefs, audit)" >&2; exit 2; }
RUNS=${RUNS:-5}
SIGNALS=${SIGNALS:-200000}
RATE=${RATE:-100000}
SPAWNS=${SPAWNS:-2000}
PAIRS=${PAIRS:-600}
PAIR_BUILDS=${PAIR_BUILDS:-2}
PAIR_WARM=${PAIR_WARM:-1}
PAIR_AUDIT=${PAIR_AUDIT:-1}
PAIR_AA=${PAIR_AA:-1}
REC_ARGS=${REC_ARGS:-}
PAIR_SEED=${PAIR_SEED:-13}
PAIR_WL=${PAIR_WL:-builds}
SPAWN_PER=${SPAWN_PER:-100}
WORKLOADS=${WORKLOADS-signals spawn getppid}
STORM_SECS=${STORM_SECS:-0}
W=bench/work/watch
RES=${RES:-bench/results/watch.md}
mkdir -p "$W" bench/results
command -v auditctl >/dev/null && command -v auditd >/dev/null || apt-get install -y auditd >/dev/null
command -v gcc >/dev/null || apt-get install -y gcc >/dev/null
if [ -z "${COLLECT:-}" ]; then
  cargo build --release -q -p coroner-collect
  COLLECT=${CARGO_TARGET_DIR:-$PWD/target}/release/coroner-collect
fi
gcc -O2 -o "$W/storm" bench/watch/storm.c
printf '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n' > "$W/hello.c"

# Host state this script changes, put back on exit however it ends.
AUDIT_ENABLED=$(auditctl -s | awk '$1=="enabled"{print $2}')
KILLS=kill,tkill,tgkill,rt_sigqueueinfo,rt_tgsigqueueinfo,pidfd_send_signal
RULE64=(-F arch=b64 -S "$KILLS" -k coroner_bench)
RULE32=(-F arch=b32 -S "$KILLS" -k coroner_bench)
AUDITD_PID=""
REC_PID=""
restore() {
  [ -n "$REC_PID" ] && kill -TERM "$REC_PID" 2>/dev/null && wait "$REC_PID" 2>/dev/null || true
  audit_off
  auditctl -e "$AUDIT_ENABLED" >/dev/null 2>&1 || true
  inst_off 2>/dev/null || true
}
trap restore EXIT
audit_on() {
  auditctl -e 1 >/dev/null
  # auditd in the foreground (-n), as this script's child: stopped and reaped by its pid afterwards.
  if ! pgrep -x auditd >/dev/null; then auditd -n & AUDITD_PID=$!; sleep 1; fi
  auditctl -a always,exit "${RULE64[@]}" >/dev/null
  auditctl -a always,exit "${RULE32[@]}" >/dev/null
}
audit_off() {
  auditctl -d always,exit "${RULE64[@]}" >/dev/null 2>&1 || true
  auditctl -d always,exit "${RULE32[@]}" >/dev/null 2>&1 || true
  # Stop only the auditd this script started, by its pid.
  if [ -n "$AUDITD_PID" ]; then kill -TERM "$AUDITD_PID" 2>/dev/null || true; wait "$AUDITD_PID" 2>/dev/null || true; AUDITD_PID=""; fi
}
# rec_on [keep]: a recorder on $W/state, emptied first unless "keep" (the paired row's pieces share one, as one
# recorder restarted on a host would: its kmsg position carries over).
rec_on() {
  [ "${1:-}" = keep ] || rm -rf "$W/state"
  # shellcheck disable=SC2086 # REC_ARGS is a list of words
  "$COLLECT" watch --state-dir "$W/state" $REC_ARGS >"$W/recorder.log" 2>&1 &
  REC_PID=$!
  # Ready once its start record is written.
  for _ in $(seq 1 100); do
    grep -qs '"record":"start"' "$W"/state/watch/*.jsonl && return 0
    sleep 0.1
  done
  echo "bench/watch.sh: the recorder did not start: $(cat "$W/recorder.log")" >&2; exit 1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The stop records in $W/state, summed: records, lost, how many (each run counts its own).
stop_totals() {
  cat "$W"/state/watch/*.jsonl | python3 -c 'import sys,json
s=[json.loads(l) for l in sys.stdin if "\"record\":\"stop\"" in l]; print(sum(x["records"] for x in s), sum(x["lost"] for x in s), len(s))'
}
rec_off() {
  local pid=$REC_PID
  REC_CPU_TICKS=$(ticks "$pid")
  REC_HWM=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true
  REC_PID=""
}

# The normal workload: N times compile hello.c with gcc -O2 and run it.
builds() { for i in $(seq 1 "$1"); do gcc -O2 -o "$W/hello.$i" "$W/hello.c"; "$W/hello.$i" >/dev/null; done; }
# The paired row's work: N builds, or with PAIR_WL=spawn N times SPAWN_PER fork/exec/exit of /bin/true.
pair_work() { if [ "$PAIR_WL" = spawn ]; then "$W/storm" spawn $((SPAWN_PER * $1)) >/dev/null; else builds "$1"; fi; }

# "inst": a trace instance of the bench's own set as the recorder sets its own (tracefs.rs: clock, record-tgid,
# buffer, filters, events; DEFAULT_SIGNALS by number), with no reader and no exec program: the kernel side
# of the recorder's tracepoints alone.
I=/sys/kernel/tracing/instances/coroner_bench
SIGF="sig == 1 || sig == 2 || sig == 3 || sig == 4 || sig == 5 || sig == 6 || sig == 7 || sig == 8 || sig == 9 || sig == 10 || sig == 11 || sig == 12 || sig == 13 || sig == 14 || sig == 15 || sig == 19 || sig == 20 || sig == 24 || sig == 25 || sig == 31"
INST_SIGNALS="signal/signal_generate signal/signal_deliver"
INST_PROCS="sched/sched_process_exec sched/sched_process_fork sched/sched_process_exit oom/mark_victim"
# inst_on EVENTS...: the instance with these events on.
inst_on() {
  mkdir "$I"; echo 0 > "$I/tracing_on"; echo mono > "$I/trace_clock"; echo 1 > "$I/options/record-tgid"
  echo 4096 > "$I/buffer_size_kb"; echo 0 > "$I/buffer_percent"
  echo "$SIGF" > "$I/events/signal/signal_generate/filter"; echo "$SIGF" > "$I/events/signal/signal_deliver/filter"
  for e in "$@"; do
    echo 1 > "$I/events/$e/enable"
  done
  echo 1 > "$I/tracing_on"
}
inst_off() { [ -d "$I" ] || return 0; echo 0 > "$I/tracing_on"; echo 0 > "$I/events/enable"; rmdir "$I"; }

# one WORKLOAD → prints its figure (ns per op, or seconds for builds)
one() {
  case $1 in
    signals) "$W/storm" signals "$SIGNALS" "$RATE" | awk '{print $3}' ;;
    spawn) "$W/storm" spawn "$SPAWNS" | awk '{print $3}' ;;
    getppid) "$W/storm" getppid 5000000 | awk '{print $3}' ;;
    builds)
      local t0=$EPOCHREALTIME
      pair_work "$PAIR_BUILDS"
      awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print b - a}' ;;
  esac
}

# Waits until PID's CPU time stops growing (0.5 s without a tick, at most 20 s): a recorder seeding its table
# from /proc, or auditd writing a backlog, must not overlap the next timed run.
settle() {
  local pid=$1 a b
  for _ in $(seq 1 40); do
    a=$(ticks "$pid" 2>/dev/null) || return 0
    sleep 0.5
    b=$(ticks "$pid" 2>/dev/null) || return 0
    [ "$a" = "$b" ] && return 0
  done
}
auditd_pid() { [ -n "$AUDITD_PID" ] && echo "$AUDITD_PID" || pgrep -xo auditd || true; }

# Each workload's runs rotate the three modes (none, recorder, audit; then recorder, audit, none; ...), each
# started afresh and settled before its run and stopped after it: the machine's drift over minutes (it is
# larger than 1% here) falls on every mode alike, and no mode inherits another workload's backlog.
: > "$W/rows.txt"
clk=$(getconf CLK_TCK)
modes=(none recorder audit)
for wl in $WORKLOADS; do
  for r in $(seq 0 "$RUNS"); do   # round 0 is untimed (warm caches)
    for k in 0 1 2; do
      mode=${modes[$(( (r + k) % 3 ))]}
      case $mode in
        recorder) rec_on; settle "$REC_PID" ;;
        audit) audit_on; p=$(auditd_pid); [ -n "$p" ] && settle "$p" ;;
      esac
      [ "$mode" = recorder ] && c0=$(ticks "$REC_PID")
      t0=$EPOCHREALTIME
      fig=$(one "$wl")
      wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print b - a}')
      [ "$mode" = recorder ] && c1=$(ticks "$REC_PID")
      case $mode in
        recorder)
          rec_off
          # The stop record's totals: `lost` records inside files the cap removed are gone, the totals are not.
          read -r recorded lost _ < <(stop_totals)   # the state was emptied at this run's start: its stop alone
          disk=$(du -sb "$W/state/watch" | cut -f1)
          kept=$(cat "$W"/state/watch/*.jsonl | wc -l)
          [ "$r" -gt 0 ] && echo "recorder_run $wl $((c1 - c0)) $wall $REC_HWM $recorded $lost $disk $kept" >> "$W/rows.txt" ;;
        audit) audit_off ;;
      esac
      [ "$r" -gt 0 ] && echo "$mode $wl $fig" >> "$W/rows.txt"
    done
  done
done

# Waits until PID's run time grows by less than 0.3 ms in 50 ms, looking first 100 ms after its start record
# (a restart reads the kmsg ring again, the first exec after it walks the cgroup tree); at most 3 s. The
# recorder's share during the timed builds then is that of one long running, not of its start.
runtime() { local t; read -r t _ < "/proc/$1/schedstat" && echo "$t"; }
quiet() {
  local pid=$1 a b
  sleep 0.1
  a=$(runtime "$pid") || return 0
  for _ in $(seq 1 58); do
    sleep 0.05
    b=$(runtime "$pid") || return 0
    [ $((b - a)) -lt 300000 ] && return 0
    a=$b
  done
}

# The builds, paired. Each recorder piece starts a recorder (its table seeded from /proc, as on a host where
# it has run for months), waits until it is quiet, and stops it after the builds; "nothing" has no recorder
# at all, so no tracepoint, program or probe of it is registered in the kernel. The audit pieces add the
# rules and enable audit, and take both away after. A switch's tail falls in the untimed builds.
if [ "$PAIRS" -gt 0 ]; then
  auditctl -e "$AUDIT_ENABLED" >/dev/null
  pmodes=(none recorder); [ "$PAIR_AUDIT" = 1 ] && pmodes+=(audit); [ "$PAIR_AA" = 1 ] && pmodes+=(idle)
  [ -n "${PAIR_MODES:-}" ] && read -r -a pmodes <<< "$PAIR_MODES"
  if [ "$PAIR_AUDIT" = 1 ] && ! pgrep -x auditd >/dev/null; then auditd -n & AUDITD_PID=$!; sleep 1; fi
  rm -rf "$W/state"
  # Untimed: warm the caches, and count the workload's execs and forks (strace: successful execve only).
  f0=$(awk '$1=="processes"{print $2}' /proc/stat); t0=$EPOCHREALTIME
  pair_work 30
  wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print b - a}')
  f1=$(awk '$1=="processes"{print $2}' /proc/stat)
  strace -f -qq -e trace=execve -e status=successful -o "$W/execs.txt" bash -c "$(declare -f builds pair_work); W=$W PAIR_WL=$PAIR_WL SPAWN_PER=$SPAWN_PER; pair_work 30"
  echo "pair_execs $(grep -c execve "$W/execs.txt") $((f1 - f0)) $wall" >> "$W/rows.txt"
  python3 -c "import random,sys; random.seed($PAIR_SEED); m=sys.argv[1:]
for _ in range($PAIRS): random.shuffle(m); print(' '.join(m))" "${pmodes[@]}" > "$W/pair_order.txt"
  r=0
  while read -r -a order; do
    r=$((r + 1))
    for mode in "${order[@]}"; do
      case $mode in
        recorder)
          ts=$EPOCHREALTIME; rec_on keep; quiet "$REC_PID"
          # The start and wait just made, which the next idle piece's pause copies.
          SETUP=$(awk -v a="$ts" -v b="$EPOCHREALTIME" 'BEGIN{print b - a}'); echo "pair_setup $r $SETUP" >> "$W/rows.txt"
          # What the recorder runs, from its start record (the argv source among them), for the table.
          grep -q '^pair_events' "$W/rows.txt" || echo "pair_events $(grep -h '"record":"start"' "$W"/state/watch/*.jsonl | python3 -c 'import sys,json; print(" ".join(json.loads(sys.stdin.readline())["events"]))')" >> "$W/rows.txt" ;;
        audit) auditctl -e 1 >/dev/null; auditctl -a always,exit "${RULE64[@]}" >/dev/null; auditctl -a always,exit "${RULE32[@]}" >/dev/null ;;
        idle) sleep "${SETUP:-${PAIR_IDLE:-0.3}}" ;;
        # inst: all the recorder's events; inst-signals, inst-procs: its two signal events, its four others.
        inst*)
          case $mode in inst-signals) ev=$INST_SIGNALS ;; inst-procs) ev=$INST_PROCS ;; *) ev="$INST_SIGNALS $INST_PROCS" ;; esac
          # shellcheck disable=SC2086 # a list of event names
          inst_on $ev; sleep "${SETUP:-${PAIR_IDLE:-0.3}}" ;;
      esac
      pair_work "$PAIR_WARM"   # untimed: a switch's tail falls here, and every piece starts busy, in its mode
      [ "$mode" = recorder ] && c0=$(runtime "$REC_PID")
      fig=$(one builds)
      case $mode in
        recorder)
          c1=$(runtime "$REC_PID"); echo "pair_cpu $((c1 - c0)) $fig" >> "$W/rows.txt"; rec_off ;;
        audit) auditctl -d always,exit "${RULE64[@]}" >/dev/null; auditctl -d always,exit "${RULE32[@]}" >/dev/null; auditctl -e "$AUDIT_ENABLED" >/dev/null ;;
        inst*) inst_off ;;
      esac
      echo "pair $r $mode $fig" >> "$W/rows.txt"
    done
  done < "$W/pair_order.txt"
  [ -d "$W/state/watch" ] && echo "pair_rec $(stop_totals)" >> "$W/rows.txt"
  audit_off
fi

if [ "$STORM_SECS" -gt 0 ]; then
  rec_on
  "$W/storm" signals 1000000000 >/dev/null & STORM=$!
  : > "$W/rss.txt"
  for _ in $(seq 10 10 "$STORM_SECS"); do sleep 10; awk '/VmRSS/{print $2}' "/proc/$REC_PID/status" >> "$W/rss.txt"; done
  kill -TERM "$STORM"; wait "$STORM" 2>/dev/null || true
  rec_off
fi

RATE=$RATE SIGNALS=$SIGNALS PAIR_BUILDS=$PAIR_BUILDS PAIR_WARM=$PAIR_WARM REC_ARGS=$REC_ARGS PAIR_WL=$PAIR_WL SPAWN_PER=$SPAWN_PER python3 - "$W/rows.txt" "$RES" "$RUNS" "$W/rss.txt" "$STORM_SECS" "$(cat /proc/loadavg | cut -d' ' -f1-3)" "$clk" <<'PY'
import statistics, sys, os
sys.path.insert(0, "bench")
from pairs import fmt, median_ci, ratios as pair_ratios, read_pairs, spread, verdict  # noqa: E402 (bench/pairs.py, also used to pool runs)
rows, res, runs, rssf, storm, load, clk = sys.argv[1:8]
clk = float(clk)
data, rec = {}, {}
for line in open(rows):
    p = line.split()
    if p[0].startswith("pair"):
        continue
    if p[0] == "recorder_run":
        rec.setdefault(p[1], []).append([float(x) for x in p[2:]])
        continue
    data.setdefault(p[1], {}).setdefault(p[0], []).append(float(p[2]))
names = {"signals": f"signal storm at {os.environ.get('RATE', '100000')}/s: ns per kill(2)", "spawn": "fork/exec/exit storm: ns per spawn",
         "getppid": "an unrelated syscall: ns per getppid(2)"}
med = statistics.median
intro = (f"Each workload {runs} times (after one untimed round) with nothing recording, with `coroner-collect watch` "
         "(its own tracefs instance, default signal filter), and with the kill-family audit rules `arm` writes "
         "(b64 and b32, auditd running). The three modes take turns in a rotating order, each started afresh and "
         "left to settle (its CPU time still for 0.5 s) before its run, so drift and backlogs fall on none of them "
         f"alone. Medians; the runs are listed; load average at the end: {load} (2 cores).") if data else (
         f"The paired row alone (`WORKLOADS=`); load average at the end: {load} (2 cores).")
out = ["## The recorder's cost (`bench/watch.sh`)" + (", fork/exec/exit paired" if os.environ.get("PAIR_WL") == "spawn" else ""), "", intro, "",
       "| workload | nothing | recorder | audit rules | recorder ÷ nothing | audit ÷ nothing | recorder's CPU during the runs |",
       "|---|---:|---:|---:|---:|---:|---:|"]
runs_lines = []
for wl, d in data.items():
    n, r, a = med(d["none"]), med(d["recorder"]), med(d["audit"])
    f = "{:.3f}" if wl == "builds" else "{:.1f}"
    rr = rec.get(wl, [])
    share = 100 * sum(x[0] for x in rr) / clk / max(sum(x[1] for x in rr), 1e-9)
    out.append(f"| {names[wl]} | {f.format(n)} | {f.format(r)} | {f.format(a)} | {r / n:.3f} | {a / n:.3f} | {share:.1f}% of a core |")
    runs_lines.append(f"- {wl}: " + "; ".join(f"{m} " + ", ".join(f.format(v) for v in d[m]) for m in ("none", "recorder", "audit")))
pairs, pair_cpu, pair_execs, pair_rec, pair_events, pair_setup = read_pairs(rows), [], None, None, None, []
for line in open(rows):
    p = line.split()
    if p[0] == "pair_cpu":
        pair_cpu.append((float(p[1]), float(p[2])))
    elif p[0] == "pair_execs":
        pair_execs = (int(p[1]), int(p[2]), float(p[3]))
    elif p[0] == "pair_rec":
        pair_rec = (int(p[1]), int(p[2]), int(p[3]))
    elif p[0] == "pair_events":
        pair_events = p[1:]
    elif p[0] == "pair_setup":
        pair_setup.append(float(p[2]))

pair_text = []
if pairs:
    order = {"recorder": 0, "audit": 1, "idle": 2, "inst": 3, "inst-signals": 4, "inst-procs": 5}
    modes = sorted({m for d in pairs.values() for m in d} - {"none"}, key=lambda m: (order.get(m, 9), m))
    ratios = {m: pair_ratios(pairs, m) for m in modes}
    def piece(m):
        v = [d[m] for d in pairs.values() if m in d]
        return med(v) if v else None
    n_, r_, a_ = piece("none"), piece("recorder"), piece("audit")
    share = 100 * sum(c for c, _ in pair_cpu) / 1e9 / max(sum(w for _, w in pair_cpu), 1e-9)
    spawn = os.environ.get("PAIR_WL") == "spawn"
    nb, sp = int(os.environ.get("PAIR_BUILDS", "0")), int(os.environ.get("SPAWN_PER", "0"))
    if n_ and r_:
        what = f"fork/exec/exit storm, paired: s for {nb * sp} spawns" if spawn else f"normal workload, paired: s for {nb} gcc builds"
        out.append(f"| {what} | {n_:.3f} | {r_:.3f} | "
                   + (f"{a_:.3f}" if a_ else "–") + f" | {med(ratios['recorder']):.4f} | "
                   + (f"{med(ratios['audit']):.4f}" if a_ else "–") + f" | {share:.2f}% of a core |")
    nrounds = max(len(v) for v in ratios.values()) if ratios else 0
    work = (f"{nb * sp} times fork, exec of `/bin/true` and wait, after {int(os.environ.get('PAIR_WARM', '0')) * sp} untimed" if spawn else
            f"{nb} timed runs of `gcc -O2` of a hello world and a run of it, after {os.environ.get('PAIR_WARM', '0')} untimed")
    pair_text += ["", f"**The {'fork/exec/exit storm' if spawn else 'normal workload'}, paired** ({nrounds} rounds; each piece {work} "
                  "in the same mode; the modes of a round back to back in a fixed-seed "
                  "shuffled order; a recorder started for each recorder piece and left until its run time was still, none at all in the "
                  "others" + ("; an idle or instance piece pauses as long as the last recorder piece's start and wait" if any(m == "idle" or m.startswith("inst") for m in modes) else "")
                  + "). The columns are medians of the pieces; the ratios are medians of the per-round ratios."]
    if pair_events:
        pair_text.append("- The recorder's events (its start record): " + ", ".join(f"`{e}`" for e in pair_events)
                         + (f"; arguments `{os.environ['REC_ARGS']}`" if os.environ.get("REC_ARGS") else "") + ".")
    label = {"recorder": "recorder", "audit": "audit rules", "idle": "nothing after a pause (A/A check)",
             "inst": "the recorder's trace instance alone (no reader, no exec program)",
             "inst-signals": "the instance with the recorder's two signal events alone",
             "inst-procs": "the instance with the recorder's exec, fork, exit and OOM events alone"}
    for m in modes:
        rr = ratios[m]
        _, lo, hi, _ = median_ci(rr)
        if lo is None:
            continue
        line = f"- {label.get(m, m)} ÷ nothing, per round: {fmt(rr)}."
        if m == "recorder" and not spawn:
            line += f" Against the target 1.01: **{verdict(lo, hi)}**."
        pair_text.append(line)
    # The recorder against a mode that has its pause: nothing after it (idle), its trace instance alone (inst).
    against = {"idle": f"nothing after the same pause (its start and wait, median {med(pair_setup) if pair_setup else 0:.2f} s)",
               "inst": "its trace instance alone, after the same pause"}
    for b in [m for m in ("idle", "inst") if m in modes and "recorder" in modes]:
        rr = pair_ratios(pairs, "recorder", b)
        _, lo, hi, _ = median_ci(rr)
        if lo is not None:
            pair_text.append(f"- recorder ÷ {against[b]}, per round: {fmt(rr)}."
                             + ("" if spawn else f" Against the target 1.01: **{verdict(lo, hi)}**."))
    if pair_execs:
        e, f, w = pair_execs
        pair_text.append(f"- The workload's rate, with nothing recording: {e} execs and {f} forks in {w:.2f} s, "
                         f"**{e / w:.0f} execs/s** and {f / w:.0f} forks/s ({f'{30 * sp} spawns' if spawn else '30 builds'}, untimed; execs counted with strace in another run).")
    if pair_rec:
        pair_text.append(f"- The {pair_rec[2]} recorders over the row: {pair_rec[0]} records, {pair_rec[1]} counted lost.")
    for m in modes:
        pair_text.append(f"- {label.get(m, m)} ÷ nothing, {spread(ratios[m])}.")
if out[-1].startswith("|---"):
    out = out[:-3]  # no row for the table: no workload and no recorder pieces
out += pair_text
out += ["", "Runs, in order:"] + runs_lines if runs_lines else []
if "signals" in rec:
    rr = rec["signals"]
    sent = float(os.environ.get("SIGNALS", "0")) * len(rr)
    recorded, lost = sum(x[3] for x in rr), sum(x[4] for x in rr)
    disk, kept = sum(x[5] for x in rr), sum(x[6] for x in rr)
    hwm = max(x[2] for v in rec.values() for x in v)
    out += ["", f"The recorder in the signal storm's {len(rr)} runs (each run's stop record, summed): {sent:.0f} SIGUSR1 sent; "
            f"{recorded:.0f} records written (each signal's generate and its delivery, and the recorder's own start, "
            f"stop and loss records); {lost:.0f} counted lost (trace events the ring buffer overwrote, of every traced "
            f"kind, and records in files the size cap removed). Peak RSS over every run {hwm / 1024:.1f} MiB; "
            f"disk {disk / 1e6:.1f} MB for the {kept:.0f} records kept, {disk / max(kept, 1) * 1e6 / 1e9:.2f} GB per million records."]
if int(storm) > 0 and os.path.exists(rssf):
    rss = [int(x) for x in open(rssf) if x.strip()]
    out += ["", f"A {storm}-second storm: the recorder's RSS every 10 s, KiB: {', '.join(map(str, rss))}."]
open(res, "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
