#!/usr/bin/env bash
# Before/after by instructions executed, which other load on this shared 2-core VM does not change: the
# render of a 100k-record bundle (audit ENRICHED + wtmp, as bench/report.sh's) under callgrind, for the two
# binaries bench/ab.sh built. Writes bench/results/report-ab-instructions.md.
#
#   bash bench/instructions.sh        # after bench/ab.sh (needs its bench/work/ab/{before,after})
set -euo pipefail
cd "$(dirname "$0")/.."
AB=bench/work/ab
W=bench/work/instructions
RES=bench/results/report-ab-instructions.md
RECORDS=${RECORDS:-100000}
for side in before after; do
  [ -x "$AB/$side/coroner-report" ] || { echo "bench/instructions.sh: run bench/ab.sh first" >&2; exit 2; }
done
command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null
cargo build --release -q -p coroner-collect

# The bundle: generated inputs collected with --root, as bench/report.sh makes its bundle.
T=$W/tree
if ! ls "$W"/bundle/*.tar.gz >/dev/null 2>&1; then
  rm -rf "$W" && mkdir -p "$T/var/log/audit" "$T/etc" "$W/bundle"
  python3 bench/gen_audit.py "$T/var/log/audit/audit.log" --records "$RECORDS" --format ENRICHED >/dev/null
  python3 bench/gen_wtmp.py "$T/var/log/wtmp" --records "$RECORDS" >/dev/null
  printf 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n' > "$T/etc/passwd"
  target/release/coroner-collect --root "$T" -o "$W/bundle" --max-file 1G -q >/dev/null
fi
B=$(ls "$W"/bundle/*.tar.gz | head -n 1)

count() {
  rm -rf "$W/out-$1"
  valgrind --tool=callgrind --callgrind-out-file="$W/cg.$1" "$AB/$1/coroner-report" render "$B" -o "$W/out-$1" \
    2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
before=$(count before)
after=$(count after)
same=$(for f in timeline.jsonl timeline.csv findings.json report.md report.html; do
  if cmp -s "$W/out-before/$f" "$W/out-after/$f"; then echo "$f"; fi; done | paste -sd, -)
python3 - "$RES" "$before" "$after" "$RECORDS" "$same" <<'PY'
import sys
res, b, a, n, same = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
open(res, "w").write(
    "## Render before and after, by instructions executed (`bench/instructions.sh`)\n\n"
    f"The same two binaries as the table above, rendering a bundle of {int(n):,} audit and {int(n):,} wtmp records "
    "under callgrind (every thread counted; a count other load on the VM does not change).\n\n"
    "| before | after | after ÷ before |\n|---:|---:|---:|\n"
    f"| {b:,} | {a:,} | {a / b:.3f} |\n\n"
    f"Outputs byte-identical between the two: {same or 'none'}.\n")
print(open(res).read())
PY
