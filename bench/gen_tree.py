#!/usr/bin/env python3
"""Generate a deterministic synthetic host tree for the collector benchmark.

    gen_tree.py OUT_DIR [--gib N]

Writes OUT_DIR/{etc,var/log,home,root} with N GiB (default 2) of syslog-style logs: current and rotated
plain files (each under the collector's default 256 MiB per-file cap, so both tools take the same bytes)
plus gzip-compressed rotations, and 100 users with bash/zsh histories. Same arguments, same bytes (seeded
PRNG, no wall clock). Lines are drawn from a pool of varied messages so gzip sees realistic, not trivially
repetitive, text.
"""

import argparse
import gzip
import os
import random

HOST = "benchhost"
PROGS = ["sshd", "cron", "kernel", "systemd", "sudo", "nginx", "postgres", "app", "dockerd", "containerd"]
VERBS = ["Accepted publickey for", "session opened for user", "Connection closed by", "Started", "Stopped",
         "Out of memory: Killed process", "segfault at 0 ip", "CMD (run-parts /etc/cron.hourly)",
         "GET /api/v1/items HTTP/1.1 200", "checkpoint complete: wrote", "oom-kill:constraint=CONSTRAINT_MEMCG",
         "pam_unix(sshd:session): session closed for user", "audit: type=1400 apparmor=\"DENIED\""]


def line_pool(rng, n):
    pool = []
    for i in range(n):
        prog = rng.choice(PROGS)
        pid = rng.randrange(100, 65000)
        verb = rng.choice(VERBS)
        extra = " ".join("%s=%x" % (rng.choice("abcdefuvwxyz"), rng.getrandbits(rng.choice((8, 16, 32, 48))))
                         for _ in range(rng.randrange(1, 5)))
        user = "user%02d" % rng.randrange(100)
        pool.append("%s[%d]: %s %s %s\n" % (prog, pid, verb, user, extra))
    return pool


def write_log(path, size, rng, pool, start_minute, compress=False):
    """Write about `size` bytes of log text in ~4 MiB blocks, timestamps advancing by block."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    opener = (lambda p: gzip.open(p, "wb", compresslevel=6)) if compress else (lambda p: open(p, "wb"))
    written = 0
    minute = start_minute
    with opener(path) as f:
        while written < size:
            k = 40000
            lines = rng.choices(pool, k=k)
            day, rem = divmod(minute, 24 * 60)
            stamp = "Nov %2d %02d:%02d:" % (1 + day % 28, rem // 60, rem % 60)
            secs = ["%02d %s " % (s, HOST) for s in range(60)]
            block = "".join(stamp + secs[i % 60] + l for i, l in enumerate(lines)).encode()
            block = block[: max(0, size - written)]
            f.write(block)
            written += len(block)
            minute += 1
    return written


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--gib", type=float, default=2.0)
    a = ap.parse_args()
    rng = random.Random(20261127)
    pool = line_pool(rng, 50000)
    root = a.out
    mib = 1 << 20
    total = int(a.gib * (1 << 30))

    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    users = ["root:x:0:0:root:/root:/bin/bash"]
    groups = ["root:x:0:"]
    for u in range(100):
        users.append("user%02d:x:%d:%d:Bench User %d:/home/user%02d:/bin/%s" %
                     (u, 1000 + u, 1000 + u, u, u, "zsh" if u % 4 == 0 else "bash"))
        groups.append("user%02d:x:%d:" % (u, 1000 + u))
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("\n".join(users) + "\n")
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("\n".join(groups) + "\n")
    with open(os.path.join(root, "etc/hostname"), "w") as f:
        f.write(HOST + "\n")

    # N GiB of plain files of at most 240 MiB each, plus gzip rotations holding another 10% of text.
    gz_text = total // 10
    plain = total
    bases = ["syslog", "kern.log", "messages", "daemon.log", "auth.log", "user.log"]
    files = []
    per = 240 * mib
    i = 0
    left = plain
    while left > 0:
        base = bases[i % len(bases)]
        gen = i // len(bases)
        name = base if gen == 0 else "%s.%d" % (base, gen)
        files.append((name, min(per, left)))
        left -= per
        i += 1
    minute = 0
    on_disk = 0
    for name, size in files:
        on_disk += write_log(os.path.join(root, "var/log", name), size, rng, pool, minute)
        minute += 2000
    for n in range(4):
        p = os.path.join(root, "var/log", "syslog.%d.gz" % (n + 2))
        write_log(p, gz_text // 4, rng, pool, minute, compress=True)
        on_disk += os.path.getsize(p)
        minute += 2000

    for u in range(100):
        home = os.path.join(root, "home", "user%02d" % u)
        os.makedirs(home, exist_ok=True)
        hist = []
        t = 1764200000 + u * 1000
        for k in range(rng.randrange(200, 2000)):
            t += rng.randrange(1, 300)
            hist.append("#%d\n%s\n" % (t, rng.choice(["ls -la", "sudo systemctl restart app", "kill -9 %d" % rng.randrange(100, 65000),
                                                    "tail -f /var/log/syslog", "vim config.yaml", "git pull", "top"])))
        name = ".zsh_history" if u % 4 == 0 else ".bash_history"
        with open(os.path.join(home, name), "w") as f:
            if name == ".zsh_history":
                f.write("".join(": %s:0;%s" % (h.split("\n")[0][1:], h.split("\n")[1] + "\n") for h in hist))
            else:
                f.write("".join(hist))
        with open(os.path.join(home, ".bashrc"), "w") as f:
            f.write("HISTTIMEFORMAT='%F %T '\nHISTSIZE=10000\n")
    os.makedirs(os.path.join(root, "root"), exist_ok=True)
    with open(os.path.join(root, "root/.bash_history"), "w") as f:
        f.write("#1764200000\ndmesg | tail\n")
    print("%s: %.2f GiB of logs on disk in %d plain + 4 gzip files, 100 users" %
          (root, on_disk / (1 << 30), len(files)))


if __name__ == "__main__":
    main()
