#!/usr/bin/env bash
# Seeds each fuzz target's corpus (fuzz/corpus/<target>/) from fixtures/ at run time; nothing is copied into git.
# A target with several ways to call its parser (fuzz/src/check.rs, PARSERS) reads the first input byte as the
# way's index, so its seeds get that byte in front.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/corpus
F=fixtures

# seed TARGET INDEX|- FILE...: INDEX is the way's byte (- for a target with one way); cores are cut to their
# first 64 KiB, where the notes are (the parser reads a cut core too), so mutations stay fast.
seed() {
  local t=$1 idx=$2; shift 2
  mkdir -p "$out/$t"
  local f name
  for f in "$@"; do
    [ -f "$f" ] || continue
    name="$out/$t/seed-${idx/-/x}-$(echo "$f" | tr '/' '_')"
    {
      if [ "$idx" != - ]; then printf "\\x$(printf %02x "$idx")"; fi
      if [ "$t" = core_elf ]; then head -c 65536 "$f"; else cat "$f"; fi
    } > "$name"
  done
}

seed kmsg 0 $F/kmsg/*.records
seed kmsg 1 $F/kmsg/dmesg*.txt $F/kmsg/eras-*.txt $F/hosts/live-min/var/log/dmesg
seed kmsg 2 $F/kmsg/pstore-*
seed syslog - $F/syslog/* $F/hosts/debian-incident/var/log/{syslog,syslog.1,kern.log,auth.log}
seed journal - $F/journal/journal.json
seed audit - $F/audit/*.log $F/hosts/debian-incident/var/log/audit/*
seed utmp 0 $F/utmp/wtmp $F/utmp/wtmp-* $F/hosts/debian-incident/var/log/wtmp
seed utmp 1 $F/utmp/btmp $F/hosts/debian-incident/var/log/btmp
seed utmp 2 $F/utmp/utmp
seed lastlog 0 $F/utmp/lastlog $F/utmp/lastlog-aarch64 $F/utmp/lastlog-s390x
seed lastlog 1 $F/utmp/lastlog.json $F/utmp/lastlog-aarch64.json
seed history 0 $F/history/bash_history* $F/hosts/debian-incident/root/.bash_history
seed history 1 $F/history/zsh_history*
seed history 2 $F/history/fish_history*
seed history 3 $F/history/bash_history
seed history 4 $F/history/tcsh_history*
seed history 5 $F/history/python_history
seed cron 0 $F/cron/crontab $F/cron/cron.d-* $F/hosts/debian-incident/etc/crontab
seed cron 1 $F/cron/crontab-alice
seed cron 2 $F/cron/anacrontab $F/hosts/debian-incident/etc/anacrontab
seed cron 3 $F/cron/list-timers-all.txt
seed core_elf - $F/cores/*.core $F/cores/core.*[0-9] $F/cores/*.head $F/cores/*/*core*
seed core_meta - $F/cores/*.meta.json
seed core_name - $F/cores/names.tsv
seed proc - $F/proc/*.json
seed limits 0 $F/proc/limits-pid1.txt
seed limits 1 $F/settings/limits*.conf $F/hosts/live-min/etc/security/limits.conf
seed settings 0 $F/settings/sysctl*.json
seed settings 1 $F/settings/cgroups-memory.json
seed settings 2 $F/settings/auditctl-l-*.txt
seed settings 3 $F/settings/auditctl-s.txt
seed settings 4 $F/settings/systemd-show.json
seed watch - $F/watch/*.jsonl
seed docker 0 $F/containers/docker/*/*/config.v2.json
seed docker 1 $F/containers/docker/*/*/hostconfig.json
seed docker 2 $F/containers/docker/*/*/*-json.log
seed docker 3 $F/containers/docker/docker-ps.jsonl
seed docker 4 $F/containers/docker/docker-inspect.json
seed oci 0 $F/containers/oci/*config.json
seed oci 1 $F/containers/oci/crio-state.json
seed podman_events 0 $F/containers/podman/events.log
seed podman_events 1 $F/containers/podman/ps.json
seed crictl 0 $F/containers/crictl/ps.json
seed crictl 1 $F/containers/crictl/inspect.jsonl
seed kubelet 0 $F/containers/kubelet/kubelet.log
seed kubelet 1 $F/containers/kubelet/config.yaml
seed runtime_log - $F/containers/containerd/containerd.log $F/containers/docker/dockerd.log
seed cri_log 0 $F/containers/kubelet/pod-web-2.log
seed cri_log 1 $F/containers/kubelet/containers-links.json
seed conmon 0 $F/containers/conmon/*exit*
seed conmon 1 $F/containers/conmon/*oom*
seed container_ids - $F/proc/processes.json
seed verify_keys - $F/bundles/small.allowed_signers
seed manifest - /dev/null
# The bundle target takes a gzip stream as is, or a tar that it gzips: seed with both.
seed bundle - $F/bundles/*.tar.gz
mkdir -p "$out/bundle" && gzip -dc $F/bundles/small.tar.gz > "$out/bundle/seed-x-small.tar"
tar -xzOf $F/bundles/small.tar.gz manifest.json > "$out/manifest/seed-x-manifest.json"

# Each core-name line (pattern, core_uses_pid, name, …) as the target's input: pattern, newline, name.
mkdir -p "$out/core_name"
tail -n +2 $F/cores/names.tsv | while IFS=$'\t' read -r pat _ name _; do
  printf '%s\n%s' "$pat" "$name" > "$out/core_name/seed-x-$(printf '%s' "$pat$name" | sha1sum | cut -c1-12)"
done
# Cgroup paths, one per seed: those in the fixtures, and each runtime's shapes (container_ids.rs) around one id.
mkdir -p "$out/container_ids"
id=575da7c9803ba895725e27c2b9e31186cff274dc35be146c218088f32434a67a
{ grep -rhoE '(task|oom)_memcg=/[^ ,]*' $F | sed 's/^[a-z_]*=//' || true
  printf '%s\n' "/docker/$id" "/system.slice/docker-$id.scope" "/kubepods/burstable/pod1a2b3c4d-0000-4000-8000-000000000001/$id" \
    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_0000_4000_8000_000000000001.slice/cri-containerd-$id.scope" \
    "/machine.slice/libpod-$id.scope/container" "/libpod_parent/libpod-$id" "/crio-conmon-$id.scope"
} | sort -u | head -50 | while read -r p; do printf '%s' "$p" > "$out/container_ids/seed-x-$(printf '%s' "$p" | sha1sum | cut -c1-12)"; done

for t in $(ls fuzz/fuzz_targets | sed 's/\.rs$//'); do
  n=$(ls "$out/$t" 2>/dev/null | wc -l)
  [ "$n" -gt 0 ] || { echo "seed.sh: no seeds for $t" >&2; exit 1; }
done
