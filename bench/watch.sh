#!/usr/bin/env bash
# What recording costs (issue 13): three workloads — a signal storm, a fork/exec/exit storm, a normal mixed
# workload (gcc builds) — plus getppid(2) as the price every unrelated syscall pays, each run with nothing
# recording, with `coroner-collect watch`, and with the kill-family audit rules `arm` writes (auditd running).
# Medians of RUNS, ratios against "nothing", the recorder's CPU share, peak RSS and disk per million records,
# and records written vs signals sent (every loss must be counted). Writes bench/results/watch.md. Root only.
#
#   bash bench/watch.sh               # RUNS=5 SIGNALS=200000 RATE=100000 (a second; 0: unpaced) SPAWNS=2000 BUILDS=10
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

: > "$W/rows.txt"
for mode in none recorder audit; do
  case $mode in recorder) rec_on ;; audit) audit_on ;; esac
  t0=$EPOCHREALTIME
  clk=$(getconf CLK_TCK)
  for wl in signals spawn builds getppid; do
    one "$wl" >/dev/null   # warm-up
    for r in $(seq 1 "$RUNS"); do echo "$mode $wl $(one "$wl")" >> "$W/rows.txt"; done
  done
  wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print b - a}')
  case $mode in
    recorder)
      rec_off
      sent=$(( (RUNS + 1) * SIGNALS ))
      # The stop record's totals: `lost` records inside files the cap removed are gone, the totals are not.
      read -r recorded lost < <(cat "$W"/state/watch/*.jsonl | python3 -c 'import sys,json
s=[json.loads(l) for l in sys.stdin if "\"record\":\"stop\"" in l][-1]; print(s["records"], s["lost"])')
      disk=$(du -sb "$W/state/watch" | cut -f1)
      kept=$(cat "$W"/state/watch/*.jsonl | wc -l)
      echo "recorder_stats $sent $recorded $lost $disk $REC_HWM $REC_CPU_TICKS $clk $wall $kept" >> "$W/rows.txt" ;;
    audit) audit_off ;;
  esac
done

if [ "$STORM_SECS" -gt 0 ]; then
  rec_on
  "$W/storm" signals 1000000000 >/dev/null & STORM=$!
  : > "$W/rss.txt"
  for _ in $(seq 10 10 "$STORM_SECS"); do sleep 10; awk '/VmRSS/{print $2}' "/proc/$REC_PID/status" >> "$W/rss.txt"; done
  kill -TERM "$STORM"; wait "$STORM" 2>/dev/null || true
  rec_off
fi

RATE=$RATE python3 - "$W/rows.txt" "$RES" "$RUNS" "$W/rss.txt" "$STORM_SECS" "$(cat /proc/loadavg | cut -d' ' -f1-3)" <<'PY'
import statistics, sys, os
rows, res, runs, rssf, storm, load = sys.argv[1:7]
data, stats = {}, None
for line in open(rows):
    p = line.split()
    if p[0] == "recorder_stats":
        stats = [float(x) for x in p[1:]]
        continue
    data.setdefault(p[1], {}).setdefault(p[0], []).append(float(p[2]))
names = {"signals": f"signal storm at {os.environ.get('RATE', '100000')}/s: ns per kill(2)", "spawn": "fork/exec/exit storm: ns per spawn",
         "builds": "normal workload: s for the gcc builds", "getppid": "an unrelated syscall: ns per getppid(2)"}
med = statistics.median
out = ["## The recorder's cost (`bench/watch.sh`)", "",
       f"Each workload {runs} times (after one untimed run) with nothing recording, with `coroner-collect watch` "
       "(its own tracefs instance, default signal filter), and with the kill-family audit rules `arm` writes "
       f"(b64 and b32, auditd running). Medians; load average at the end: {load} (2 cores).", "",
       "| workload | nothing | recorder | audit rules | recorder ÷ nothing | audit ÷ nothing |",
       "|---|---:|---:|---:|---:|---:|"]
for wl, d in data.items():
    n, r, a = med(d["none"]), med(d["recorder"]), med(d["audit"])
    f = "{:.3f}" if wl == "builds" else "{:.1f}"
    out.append(f"| {names[wl]} | {f.format(n)} | {f.format(r)} | {f.format(a)} | {r / n:.3f} | {a / n:.3f} |")
if stats:
    sent, recorded, lost, disk, hwm, ticks, clk, wall, kept = stats
    out += ["", f"Recorder over its whole phase ({wall:.0f} s; its stop record's totals): {sent:.0f} SIGUSR1 sent by the "
            f"storm; {recorded:.0f} records written (signals of every phase, with their deliveries, OOM and kmsg "
            f"copies); {lost:.0f} counted lost (trace events the ring buffer overwrote, of every traced kind, and "
            f"records in files the size cap removed). CPU "
            f"{ticks / clk:.2f} s ({100 * ticks / clk / wall:.1f}% of one core); peak RSS {hwm / 1024:.1f} MiB; "
            f"disk {disk / 1e6:.1f} MB for the {kept:.0f} records kept, {disk / max(kept, 1) * 1e6 / 1e9:.2f} GB per million records."]
if int(storm) > 0 and os.path.exists(rssf):
    rss = [int(x) for x in open(rssf) if x.strip()]
    out += ["", f"A {storm}-second storm: the recorder's RSS every 10 s, KiB: {', '.join(map(str, rss))}."]
open(res, "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
