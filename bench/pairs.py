"""The paired rounds of bench/watch.sh: the median of per-round ratios with a distribution-free interval, and
pooling of several runs' rows (each run's rounds kept apart, so a round is never paired across runs).

    python3 bench/pairs.py ROWS.txt[.gz]...   # pooled recorder ÷ nothing over the runs given, and each run's own
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


def main(paths):
    pooled = []
    for path in paths:
        rr = ratios(read_pairs(path), "recorder")
        pooled += rr
        m, lo, hi, _ = median_ci(rr)
        print(f"- `{path.rsplit('/', 1)[-1]}`: {len(rr)} rounds, recorder ÷ nothing median {m:.4f}, 95% interval "
              f"[{lo:.4f}, {hi:.4f}]; mean {statistics.mean(rr):.4f}, sd {statistics.pstdev(rr):.3f}.")
    m, lo, hi, cov = median_ci(pooled)
    print(f"- Pooled, {len(pooled)} rounds: recorder ÷ nothing median **{m:.4f}**, 95% interval **[{lo:.4f}, {hi:.4f}]** "
          f"(order statistics, exact coverage {100 * cov:.1f}%); mean {statistics.mean(pooled):.4f}, "
          f"sd {statistics.pstdev(pooled):.3f}. Against the target 1.01: **{verdict(lo, hi)}**.")
    print(f"- Pooled, {spread(pooled)}.")


if __name__ == "__main__":
    main(sys.argv[1:])
