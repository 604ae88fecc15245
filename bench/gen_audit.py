#!/usr/bin/env python3
"""Deterministic audit.log generator for the report benchmark.

Writes N records (default 1,000,000) in auditd's RAW or ENRICHED format, with the record shapes of a real
Debian 12 auditd log (fixtures/audit): execve events (SYSCALL+EXECVE+CWD+PATH+PATH+PROCTITLE), kill
events (SYSCALL kill + OBJ_PID + PROCTITLE, some process-group kills with several OBJ_PIDs),
and single user-space records (USER_START, USER_END, CRED_ACQ, USER_LOGIN, SERVICE_START/STOP, USER_CMD).

    gen_audit.py OUT [--records N] [--format RAW|ENRICHED] [--seed S]
(auditd 3.0.9 writes no EOE records to the log, so none are generated.)
"""
import argparse
import random

GS = "\x1d"
USERS = [(0, "root"), (1000, "alice"), (1001, "bob"), (33, "www-data"), (65534, "nobody")]
PROGS = [("/usr/bin/ls", ["ls", "-la", "/var/log"]), ("/usr/bin/grep", ["grep", "-r", "needle", "/etc"]),
         ("/usr/bin/python3.11", ["python3", "worker.py", "--queue", "jobs"]), ("/usr/bin/sleep", ["sleep", "300"]),
         ("/usr/bin/bash", ["bash", "-c", "echo hello world"]), ("/usr/sbin/nginx", ["nginx", "-s", "reload"])]


def hexs(s):
    return s.encode().hex().upper()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--format", choices=["RAW", "ENRICHED"], default="ENRICHED")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    enriched = a.format == "ENRICHED"
    t = 1_795_000_000.0
    serial = 1000
    n = 0
    buf = []
    out = open(a.out, "w", encoding="utf-8", newline="\n")

    def emit(rtype, body, enr=""):
        nonlocal n
        stamp = f"{int(t)}.{int((t % 1) * 1000):03d}:{serial}"
        line = f"type={rtype} msg=audit({stamp}): {body}"
        if enriched and enr:
            line += GS + enr
        buf.append(line)
        n += 1

    while n < a.records:
        t += rnd.random() * 0.05
        serial += 1
        uid, user = rnd.choice(USERS)
        auid, auser = (1000, "alice") if rnd.random() < 0.7 else (4294967295, "unset")
        ses = 3 if auid != 4294967295 else 4294967295
        pid = rnd.randint(300, 4_000_000)
        ppid = rnd.randint(1, 4_000_000)
        ids = f"auid={auid} uid={uid} gid={uid} euid={uid} suid={uid} fsuid={uid} egid={uid} sgid={uid} fsgid={uid}"
        enr_ids = (f'AUID="{auser}" UID="{user}" GID="{user}" EUID="{user}" SUID="{user}" FSUID="{user}" '
                   f'EGID="{user}" SGID="{user}" FSGID="{user}"')
        r = rnd.random()
        if r < 0.70:
            exe, argv = rnd.choice(PROGS)
            comm = argv[0][:15]
            emit("SYSCALL", f"arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=8 items=2 "
                 f"ppid={ppid} pid={pid} {ids} tty=pts0 ses={ses} comm=\"{comm}\" exe=\"{exe}\" key=\"coroner_exec\"",
                 f"ARCH=x86_64 SYSCALL=execve {enr_ids}")
            args = " ".join(f'a{i}={hexs(x)}' if " " in x else f'a{i}="{x}"' for i, x in enumerate(argv))
            emit("EXECVE", f"argc={len(argv)} {args}")
            emit("CWD", 'cwd="/home/alice/work"')
            emit("PATH", f'item=0 name="{exe}" inode=1234 dev=fe:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 '
                 "nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
                 'OUID="root" OGID="root"')
            emit("PATH", 'item=1 name="/lib64/ld-linux-x86-64.so.2" inode=99 dev=fe:01 mode=0100755 ouid=0 ogid=0 '
                 "rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
                 'OUID="root" OGID="root"')
            emit("PROCTITLE", "proctitle=" + "00".join(x.encode().hex().upper() for x in argv))
        elif r < 0.85:
            targets = [rnd.randint(300, 4_000_000)]
            sig = rnd.choice([9, 15, 15, 1, 10, 2])
            if rnd.random() < 0.1:
                a0 = (-targets[0]) & 0xFFFFFFFF
                targets += [rnd.randint(300, 4_000_000) for _ in range(rnd.randint(1, 4))]
            else:
                a0 = targets[0]
            emit("SYSCALL", f"arch=c000003e syscall=62 success=yes exit=0 a0={a0:x} a1={sig:x} a2=0 a3=7f0 items=0 "
                 f"ppid={ppid} pid={pid} {ids} tty=pts0 ses={ses} comm=\"bash\" exe=\"/usr/bin/bash\" "
                 f"key=\"coroner_kill\"", f"ARCH=x86_64 SYSCALL=kill {enr_ids}")
            for tp in targets:
                ou, oname = rnd.choice(USERS)
                emit("OBJ_PID", f'opid={tp} oauid={auid if auid != 4294967295 else -1} ouid={ou} oses={ses if ses != 4294967295 else -1} ocomm="sleep"',
                     f'OAUID="{auser}" OUID="{oname}"')
            emit("PROCTITLE", "proctitle=" + hexs(f"kill -{sig} {targets[0]}"))
        else:
            kind = rnd.choice(["USER_START", "USER_END", "CRED_ACQ", "USER_LOGIN", "SERVICE_START", "SERVICE_STOP",
                               "USER_CMD"])
            if kind.startswith("SERVICE"):
                inner = (f"unit={rnd.choice(['nginx', 'cron', 'ssh'])} comm=\"systemd\" exe=\"/usr/lib/systemd/systemd\" "
                         "hostname=? addr=? terminal=? res=success")
            elif kind == "USER_CMD":
                inner = f'cwd="/root" cmd={hexs("systemctl restart nginx")} exe="/usr/bin/sudo" terminal=pts/0 res=success'
            else:
                inner = (f'op=PAM:session_open grantors=pam_unix acct="{user}" exe="/usr/sbin/sshd" '
                         f"hostname=203.0.113.{rnd.randint(1, 254)} addr=203.0.113.{rnd.randint(1, 254)} terminal=ssh res=success")
            emit(kind, f"pid={pid} uid=0 auid={auid} ses={ses} subj=unconfined msg='{inner}'",
                 f'UID="root" AUID="{auser}"')
        if len(buf) >= 20000:
            out.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        out.write("\n".join(buf) + "\n")
    out.close()
    print(f"{a.out}: {n} records ({a.format})")


if __name__ == "__main__":
    main()
