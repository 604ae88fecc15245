"""The paired rounds of bench/watch.sh: the median of per-round ratios with a distribution-free interval, and
pooling of several runs' rows (each run's rounds kept apart, so a round is never paired across runs).

    python3 bench/pairs.py ROWS.txt[.gz]...   # markdown: each run's recorder ÷ nothing, then all pooled
"""
import gzip
import math
import statistics
import sys


def median_ci(xs):
    """The median and a distribution-free 95% interval: order statistics x(k), x(n+1-k), k the largest with
    P(Binomial(n, 1/2) < k) <= 2.5%; the interval's exact coverage is returned too."""
    xs, n = sorted(xs), len(xs)
    cdf, acc = [], 0  # cdf[j] = P(Binomial(n, 1/2) <= j), exact
    for i in range(n // 2 + 1):
        acc += math.comb(n, i)
        cdf.append(acc / 2 ** n)
    k = max([j for j in range(1, n // 2 + 1) if cdf[j - 1] <= 0.025], default=0)
    if k == 0:
        return statistics.median(xs), None, None, None
    return statistics.median(xs), xs[k - 1], xs[n - k], 1 - 2 * cdf[k - 1]


def spread(xs):
    """Every value when few, else the deciles."""
    xs = sorted(xs)
    if len(xs) <= 64:
        return "per round: " + ", ".join(f"{x:.3f}" for x in xs)
    return "deciles of the per-round ratios: " + ", ".join(f"{xs[round(q * (len(xs) - 1) / 10)]:.3f}" for q in range(11))


def verdict(lo, hi, target=1.01):
    return "met" if hi < target else "not met" if lo > target else "unresolved"


def read_pairs(path):
    """{round: {mode: seconds}} from a rows file's `pair R MODE SECONDS` lines (gzip when it ends in .gz)."""
    opener = gzip.open if path.endswith(".gz") else open
    pairs = {}
    with opener(path, "rt") as f:
        for line in f:
            p = line.split()
            if p and p[0] == "pair":
                pairs.setdefault(int(p[1]), {})[p[2]] = float(p[3])
    return pairs


def ratios(pairs, mode, base="none"):
    return [d[mode] / d[base] for d in pairs.values() if base in d and mode in d]


def fmt(rr):
    m, lo, hi, cov = median_ci(rr)
    return (f"median **{m:.4f}**, 95% interval **[{lo:.4f}, {hi:.4f}]** (order statistics, exact coverage "
            f"{100 * cov:.1f}%); mean {statistics.mean(rr):.4f}, sd {statistics.pstdev(rr):.3f}")


def main(paths):
    """Markdown: each run's recorder ÷ nothing (and any other mode's, against both), then the runs pooled."""
    out = ["## The builds row pooled over long runs (`bench/pairs.py`)", "",
           "The rows of `bench/watch.sh` runs of the builds pairs alone (`WORKLOADS= PAIR_AUDIT=0 PAIR_AA=0`, 2 timed "
           "builds a piece after 1 untimed), kept in `bench/results/pairs/`; per-round ratios, each round within its run. "
           "A run's other modes are listed under it against both and not pooled: `batch`, the recorder under `chrt -b 0` "
           "(SCHED_BATCH), from a copy of the script with that mode; `idle`, nothing after a pause as long as the last "
           "recorder piece's start and wait (`PAIR_MODES=\"none idle recorder\"`), and `inst`, the recorder's trace instance alone "
           "with no reader and no exec program, after the same pause (`PAIR_MODES=\"none inst recorder\"`): the recorder "
           "is read against these two. "
           "Written by `make bench-pairs` (`python3 bench/pairs.py bench/results/pairs/*.rows.gz`).", ""]
    pooled = []
    for path in paths:
        pairs = read_pairs(path)
        rr = ratios(pairs, "recorder")
        pooled += rr
        out.append(f"- `{path.rsplit('/', 1)[-1]}`, {len(rr)} rounds: recorder ÷ nothing {fmt(rr)}.")
        for m in sorted({m for d in pairs.values() for m in d} - {"none", "recorder"}):
            # idle and inst are baselines (the recorder's pause; its kernel side alone): it is read against them.
            vs = f"recorder ÷ {m} {fmt(ratios(pairs, 'recorder', m))}" if m in ("idle", "inst") else f"{m} ÷ recorder {fmt(ratios(pairs, m, 'recorder'))}"
            out.append(f"  - {m} ÷ nothing {fmt(ratios(pairs, m))}; {vs}.")
    m, lo, hi, _ = median_ci(pooled)
    out += ["", f"Pooled, {len(pooled)} rounds: recorder ÷ nothing {fmt(pooled)}. Against the target 1.01: "
            f"**{verdict(lo, hi)}**.", "", f"Pooled, {spread(pooled)}."]
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
