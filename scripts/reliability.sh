#!/usr/bin/env bash
# Writes RELIABILITY.md: issue 15's figures, each produced here by running the fuzzers and the tests that
# prove a protection (a row says "ok" only when its test passed in this run). `make reliability` calls it.
set -uo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
out=RELIABILITY.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=no; [ "$(id -u)" = 0 ] && root=yes

# Runs one test file of a package and prints "name<TAB>ok|FAILED|ignored" for the tests whose names match $3.
results() {
  local pkg=$1 test=$2 pat=$3 extra=()
  [ "$root" = yes ] && extra=(--include-ignored)
  $CARGO test -p "$pkg" --test "$test" -- "${extra[@]}" --test-threads=1 --show-output > "$work/$test.log" 2>&1
  grep -E "^test [^ ]+ \.\.\. (ok|FAILED|ignored)" "$work/$test.log" | awk -v p="$pat" '$2 ~ p {print $2 "\t" $4}' | LC_ALL=C sort
}
table() { # name<TAB>result rows on stdin -> a Markdown table, then a count line
  echo "| case | result |"; echo "|---|---|"
  awk -F'\t' '{print "| `" $1 "` | " $2 " |"; n++; if ($2=="ok") k++} END {print ""; print "**" k+0 " of " n+0 " passed.**"}'
}

{
  echo "# Reliability"
  echo
  echo "Written by \`make reliability\` (scripts/reliability.sh) on $(nproc) cores, as root: $root. Every figure comes from this"
  echo "run; a case reads \`ok\` only when its test passed here. Each test fails when the protection it proves is removed."
  echo

  echo "## Fuzzing"
  echo
  if $CARGO +nightly fuzz --version >/dev/null 2>&1 && make -s fuzz FUZZ_SECONDS="$FUZZ_SECONDS" > "$work/fuzz.log" 2>&1; then
    echo "libFuzzer (cargo-fuzz) for ${FUZZ_SECONDS} s per target, seeded from \`fixtures/\`, with the invariants checked inside"
    echo "each target (origins inside the input, times inside their bounds, the same events twice)."
    echo
    echo "| target | seconds | executions |"; echo "|---|---:|---:|"
    LC_ALL=C sort fuzz/stats.tsv | awk -F'\t' '$1!="target"{print "| `" $1 "` | " $2 " | " $3 " |"; n+=$3} END {print ""; print "**" n+0 " executions in all.**"}'
  else
    echo "Not run: \`make fuzz\` failed or cargo-fuzz is missing (see its output)."; tail -n 20 "$work/fuzz.log" 2>/dev/null | sed 's/^/    /'
  fi
  echo
  echo "Crashes, hangs and out-of-memory found by fuzzing, each fixed with a regression fixture and test (\`fuzz/FINDINGS.md\`):"
  echo
  if [ -f fuzz/FINDINGS.md ]; then sed -n '/^|/p' fuzz/FINDINGS.md; else echo "none recorded"; fi
  echo

  echo "## Adversarial bundles refused"
  echo
  echo "Each case hands \`coroner-report verify\` a bundle an attacker changed; \`ok\` means it was refused (or, for the good"
  echo "bundle, accepted) as the test demands."
  echo
  { results coroner-report verify_bundle .; results coroner-report bomb_gzip .; results coroner-report bomb_bitflips .
    results coroner-report encrypted_bundle '(fail|caps|plaintext)'; results coroner-report fuzz_regressions .; } | table
  grep -h "^bitflips:" "$work/bomb_bitflips.log" 2>/dev/null | sed 's/^bitflips: /Single-bit flips tried: /'
  echo

  echo "## Faults on the host"
  echo
  echo "Each case ends with a valid bundle that records the problem, or no file at the final path."
  echo
  { results coroner-collect faults_live '^fault_'; results coroner-collect watch_faults_live '^fault_'; } | table
  echo

  echo "## Hostile content"
  echo
  if [ -f fixtures/hostile/payloads.txt ]; then
    echo "$(grep -cv '^#' fixtures/hostile/payloads.txt) payloads (\`fixtures/hostile/payloads.txt\`), carried by the real collector into every attacker-controlled"
    echo "source, then checked in the parsed HTML, in headless Chromium (no script ran, no CSP violation), in Markdown and"
    echo "on a terminal."
  fi
  echo
  { results coroner-report hostile_html '^hostile_'; results coroner-report hostile_browser '^hostile_'; results coroner-report hostile_terminal '^hostile_'; } | table
  echo

  echo "## Redaction patterns (\`--redact\`)"
  echo
  $CARGO build -q --release -p coroner-collect
  echo "| pattern | what it matches |"; echo "|---|---|"
  "${CARGO_TARGET_DIR:-target}/release/coroner-collect" --list-redactions | LC_ALL=C sort | awk -F'\t' '{print "| `" $1 "` | " $2 " |"}'
} > "$out.tmp" && mv "$out.tmp" "$out"
echo "wrote $out"
