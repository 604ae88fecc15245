#!/usr/bin/env bash
# What recording costs (issue 13): three workloads — a signal storm, a fork/exec/exit storm, a normal mixed
# workload (gcc builds) — plus getppid(2) as the price every unrelated syscall pays, each run with nothing
# recording, with `coroner-collect watch`, and with the kill-family audit rules `arm` writes (auditd running).
# Medians of RUNS, ratios against "nothing", the recorder's CPU share, peak RSS and disk per million records,
# and records written vs signals sent (every loss must be counted). Writes bench/results/watch.md. Root only.
#
#   bash bench/watch.sh               # RUNS=5 SIGNALS=200000 RATE=100000 (a second; 0: unpaced) SPAWNS=2000 BUILDS=40
#   STORM_SECS=600 bash bench/watch.sh   # also a long storm: the recorder's RSS sampled every 10 s
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/watch.sh: needs root (tracefs, audit)" >&2; exit 2; }
RUNS=${RUNS:-5}
SIGNALS=${SIGNALS:-200000}
RATE=${RATE:-100000}
SPAWNS=${SPAWNS:-2000}
BUILDS=${BUILDS:-40}
STORM_SECS=${STORM_SECS:-0}
W=bench/work/watch
RES=bench/results/watch.md
mkdir -p "$W" bench/results
command -v auditctl >/dev/null && command -v auditd >/dev/null || apt-get install -y auditd >/dev/null
command -v gcc >/dev/null || apt-get install -y gcc >/dev/null
if [ -z "${COLLECT:-}" ]; then
  cargo build --release -q -p coroner-collect
  COLLECT=$PWD/target/release/coroner-collect
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
rec_on() {
  rm -rf "$W/state"
  "$COLLECT" watch --state-dir "$W/state" >"$W/recorder.log" 2>&1 &
  REC_PID=$!
  # Ready once its start record is written.
  for _ in $(seq 1 100); do
    grep -qs '"record":"start"' "$W"/state/watch/*.jsonl && return 0
    sleep 0.1
  done
  echo "bench/watch.sh: the recorder did not start: $(cat "$W/recorder.log")" >&2; exit 1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rec_off() {
  local pid=$REC_PID
  REC_CPU_TICKS=$(ticks "$pid")
  REC_HWM=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true
  REC_PID=""
}

# one WORKLOAD → prints its figure (ns per op, or seconds for builds)
one() {
  case $1 in
    signals) "$W/storm" signals "$SIGNALS" "$RATE" | awk '{print $3}' ;;
    spawn) "$W/storm" spawn "$SPAWNS" | awk '{print $3}' ;;
    getppid) "$W/storm" getppid 5000000 | awk '{print $3}' ;;
    builds)
      local t0=$EPOCHREALTIME
      for i in $(seq 1 "$BUILDS"); do gcc -O2 -o "$W/hello.$i" "$W/hello.c"; "$W/hello.$i" >/dev/null; done
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
for wl in signals spawn builds getppid; do
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
          read -r recorded lost < <(cat "$W"/state/watch/*.jsonl | python3 -c 'import sys,json
s=[json.loads(l) for l in sys.stdin if "\"record\":\"stop\"" in l][-1]; print(s["records"], s["lost"])')
          disk=$(du -sb "$W/state/watch" | cut -f1)
          kept=$(cat "$W"/state/watch/*.jsonl | wc -l)
          [ "$r" -gt 0 ] && echo "recorder_run $wl $((c1 - c0)) $wall $REC_HWM $recorded $lost $disk $kept" >> "$W/rows.txt" ;;
        audit) audit_off ;;
      esac
      [ "$r" -gt 0 ] && echo "$mode $wl $fig" >> "$W/rows.txt"
    done
  done
done

if [ "$STORM_SECS" -gt 0 ]; then
  rec_on
  "$W/storm" signals 1000000000 >/dev/null & STORM=$!
  : > "$W/rss.txt"
  for _ in $(seq 10 10 "$STORM_SECS"); do sleep 10; awk '/VmRSS/{print $2}' "/proc/$REC_PID/status" >> "$W/rss.txt"; done
  kill -TERM "$STORM"; wait "$STORM" 2>/dev/null || true
  rec_off
fi

RATE=$RATE SIGNALS=$SIGNALS python3 - "$W/rows.txt" "$RES" "$RUNS" "$W/rss.txt" "$STORM_SECS" "$(cat /proc/loadavg | cut -d' ' -f1-3)" "$clk" <<'PY'
import statistics, sys, os
rows, res, runs, rssf, storm, load, clk = sys.argv[1:8]
clk = float(clk)
data, rec = {}, {}
for line in open(rows):
    p = line.split()
    if p[0] == "recorder_run":
        rec.setdefault(p[1], []).append([float(x) for x in p[2:]])
        continue
    data.setdefault(p[1], {}).setdefault(p[0], []).append(float(p[2]))
names = {"signals": f"signal storm at {os.environ.get('RATE', '100000')}/s: ns per kill(2)", "spawn": "fork/exec/exit storm: ns per spawn",
         "builds": "normal workload: s for the gcc builds", "getppid": "an unrelated syscall: ns per getppid(2)"}
med = statistics.median
out = ["## The recorder's cost (`bench/watch.sh`)", "",
       f"Each workload {runs} times (after one untimed round) with nothing recording, with `coroner-collect watch` "
       "(its own tracefs instance, default signal filter), and with the kill-family audit rules `arm` writes "
       "(b64 and b32, auditd running). The three modes take turns in a rotating order, each started afresh and "
       "left to settle (its CPU time still for 0.5 s) before its run, so drift and backlogs fall on none of them "
       f"alone. Medians; the runs are listed; load average at the end: {load} (2 cores).", "",
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
out += ["", "Runs, in order:"] + runs_lines
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
