#!/usr/bin/env python3
"""Deterministic wtmp generator for the report benchmark: N glibc x86_64 `struct utmp` records (384 bytes,
packed with struct like the fixtures built by utmpdump -r): login/logout pairs on pts lines from IPv4 and
IPv6 hosts, getty records, and a boot (plus, usually, a shutdown) every few thousand records.

    gen_wtmp.py OUT [--records N] [--seed S]
"""
import argparse
import random
import socket
import struct

FMT = "<hxxi32s4s32s256shhiii16s20x"
assert struct.calcsize(FMT) == 384


def rec(ut_type, pid, line, ut_id, user, host, tv_sec, tv_usec=0, addr=b""):
    return struct.pack(FMT, ut_type, pid, line, ut_id, user, host, 0, 0, 0, tv_sec, tv_usec, addr.ljust(16, b"\0"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    t = 1_700_000_000
    n = 0
    users = [b"alice", b"bob", b"root", b"deploy", b"carol"]
    open_lines = {}
    with open(a.out, "wb") as f:
        out = []
        while n < a.records:
            t += rnd.randint(1, 120)
            r = rnd.random()
            if r < 0.0005:
                if rnd.random() < 0.8:
                    out.append(rec(1, 0, b"~~", b"~~", b"shutdown", b"6.18.44", t)); n += 1
                out.append(rec(2, 0, b"~", b"~~", b"reboot", b"6.18.44", t + 30)); n += 1
                open_lines.clear()
            elif r < 0.02:
                out.append(rec(6, rnd.randint(300, 9999), b"tty1", b"tty1", b"LOGIN", b"", t)); n += 1
            elif open_lines and r < 0.5:
                line = rnd.choice(sorted(open_lines))
                pid = open_lines.pop(line)
                out.append(rec(8, pid, line, line[-4:], b"", b"", t)); n += 1
            else:
                line = b"pts/%d" % rnd.randint(0, 63)
                pid = rnd.randint(300, 4_000_000)
                if rnd.random() < 0.8:
                    ip = f"198.51.100.{rnd.randint(1, 254)}"
                    addr = socket.inet_pton(socket.AF_INET, ip)
                else:
                    ip = f"2001:db8::{rnd.randint(1, 65535):x}"
                    addr = socket.inet_pton(socket.AF_INET6, ip)
                out.append(rec(7, pid, line, line[-4:], rnd.choice(users), ip.encode(), t, rnd.randint(0, 999999), addr))
                n += 1
                open_lines[line] = pid
            if len(out) >= 10000:
                f.write(b"".join(out)); out.clear()
        f.write(b"".join(out))
    print(f"{a.out}: {n} records")


if __name__ == "__main__":
    main()
