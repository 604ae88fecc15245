#!/usr/bin/env python3
"""Deterministic host trees for the fleet benchmark: N `--root` trees of about E timeline events each.

    gen_fleet.py OUT_DIR --hosts N --events E [--seed S]

OUT_DIR/base/ holds the large files every host shares (an RFC 3339 rsyslog `syslog` and a `wtmp`, from
bench/gen_wtmp.py); OUT_DIR/trees/hostNNN/ links to them (hard links: 100 hosts cost one copy) and has its own
/etc/hostname ("fleet-NNN"), its own small audit.log (bench/gen_audit.py, seeded by the host, so kills and execs
differ per host), and on every fourth host a kern.log with a memory-cgroup OOM storm of three kills in the
kernel's exact line shapes. Event mix per host: ~55% syslog lines, ~40% wtmp records, ~2% audit records.
Same arguments, same bytes (seeded PRNGs, no wall clock).
"""
import argparse
import datetime
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MSGS = [
    "sshd[{p}]: Accepted publickey for {u} from 203.0.113.{a} port {q} ssh2: ED25519 SHA256:Zm9vYmFyYmF6cXV4",
    "sshd[{p}]: pam_unix(sshd:session): session opened for user {u}(uid=1000) by (uid=0)",
    "sshd[{p}]: Connection closed by 198.51.100.{a} port {q}",
    "CRON[{p}]: ({u}) CMD (/usr/local/bin/backup --quiet)",
    "systemd[1]: Started Session {q} of user {u}.",
    "app[{p}]: GET /api/v1/items/{q} HTTP/1.1 200 {a}ms",
    "nginx[{p}]: 203.0.113.{a} - - \"POST /login HTTP/1.1\" 302 {q}",
    "sudo[{p}]: {u} : TTY=pts/{a} ; PWD=/home/{u} ; USER=root ; COMMAND=/usr/bin/systemctl restart app",
]
USERS = ["alice", "bob", "deploy", "carol", "root"]


def write_syslog(path, lines, rng):
    """RFC 3339 (RSYSLOG_FileFormat) lines, one a second from 2026-11-27T00:00:00Z."""
    base = 1795737600  # 2026-11-27T00:00:00Z
    with open(path, "w") as f:
        for i in range(lines):
            stamp = datetime.datetime.fromtimestamp(base + i, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            stamp += ".%06d+00:00" % rng.randrange(10 ** 6)
            msg = rng.choice(MSGS).format(p=rng.randrange(100, 60000), u=rng.choice(USERS), a=rng.randrange(1, 254),
                                         q=rng.randrange(1000, 60000))
            f.write("%s vm %s\n" % (stamp, msg))


def oom_storm(host, i):
    """Three memory-cgroup OOM kills, as the kernel prints them (FACTS.md), in a kern.log of RFC 3339 lines."""
    out = []
    for k in range(3):
        pid = 20000 + i * 10 + k
        t = "2026-11-27T14:%02d:%02d.%06d+00:00" % (2 + k, 10 + i % 40, 1000 * i)
        up = 1088.0 + 60 * k
        out.append("%s %s kernel: [%12.6f] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                   "oom_memcg=/app,task_memcg=/app,task=worker,pid=%d,uid=1000\n" % (t, host, up, pid))
        out.append("%s %s kernel: [%12.6f] Memory cgroup out of memory: Killed process %d (worker) total-vm:221368kB, "
                   "anon-rss:50816kB, file-rss:6596kB, shmem-rss:0kB, UID:1000 pgtables:168kB oom_score_adj:0\n"
                   % (t, host, up + 0.00003, pid))
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=16)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    wtmp_records = a.events * 40 // 100
    audit_records = a.events * 2 // 100
    # ~0.21 timeline events per generated audit record (execve events span six records), one per wtmp record
    syslog_lines = a.events - wtmp_records - audit_records * 21 // 100

    base = os.path.join(a.out, "base")
    os.makedirs(base, exist_ok=True)
    write_syslog(os.path.join(base, "syslog"), syslog_lines, rng)
    subprocess.run([sys.executable, os.path.join(HERE, "gen_wtmp.py"), os.path.join(base, "wtmp"),
                    "--records", str(wtmp_records), "--seed", str(a.seed)], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(base, "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/bash\n")
        for n, u in enumerate(USERS[:-1]):
            f.write("%s:x:%d:%d::/home/%s:/bin/bash\n" % (u, 1000 + n, 1000 + n, u))

    for i in range(a.hosts):
        host = "fleet-%03d" % i
        t = os.path.join(a.out, "trees", host)
        for d in ("etc", "var/log/audit"):
            os.makedirs(os.path.join(t, d), exist_ok=True)
        for src, dst in (("syslog", "var/log/syslog"), ("wtmp", "var/log/wtmp"), ("passwd", "etc/passwd")):
            p = os.path.join(t, dst)
            if not os.path.exists(p):
                os.link(os.path.join(base, src), p)
        with open(os.path.join(t, "etc/hostname"), "w") as f:
            f.write(host + "\n")
        subprocess.run([sys.executable, os.path.join(HERE, "gen_audit.py"), os.path.join(t, "var/log/audit/audit.log"),
                        "--records", str(audit_records), "--format", "ENRICHED", "--seed", str(a.seed * 1000 + i)],
                       check=True, stdout=subprocess.DEVNULL)
        if i % 4 == 0:
            with open(os.path.join(t, "var/log/kern.log"), "w") as f:
                f.write(oom_storm(host, i))
    print("%s: %d host trees, %d syslog lines + %d wtmp records shared, %d audit records each"
          % (a.out, a.hosts, syslog_lines, wtmp_records, audit_records))


if __name__ == "__main__":
    main()
