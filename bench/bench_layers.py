"""Speed of the im2col convolution and pooling against the naive loops, in the same process.

Prints, for a few layer geometries, the median time of the naive (loop) reference and of the fast
layer, and their ratio (the speed-up), forward and backward. Ratios, not absolute times, are what
to compare between machines. Also checks that the two agree (float64, < 1e-10) and exits 1 if not.

Run: ``python bench/bench_layers.py [--repeat N]`` (``make bench`` runs it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from convlab.gradcheck import rel_error
from convlab.layers import conv_backward, conv_backward_naive, conv_forward, conv_forward_naive
from convlab.train import limit_blas_threads

# (N, C, H, W, K, FH, FW, stride, pad, dilation): the notes' common 3x3/S1/P1, a strided first layer,
# a dilated layer; small enough that the naive loops take about a second.
GEOMETRIES = [
    (4, 3, 32, 32, 16, 3, 3, 1, 1, 1),
    (4, 3, 63, 63, 8, 7, 7, 2, 0, 1),
    (4, 8, 24, 20, 8, 3, 3, 1, 2, 2),
]


def median_seconds(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    ok = True
    print(f"{'geometry':<42} {'pass':<8} {'naive s':>9} {'im2col s':>9} {'speed-up':>9} {'agree':>9}")
    with limit_blas_threads(1):
        for N, C, H, W, K, FH, FW, S, P, D in GEOMETRIES:
            x = rng.standard_normal((N, C, H, W))
            w = rng.standard_normal((K, C, FH, FW))
            b = rng.standard_normal(K)
            kw = {"stride": S, "pad": P, "dilation": D}
            out_naive, cache_naive = conv_forward_naive(x, w, b, **kw)
            out_fast, cache_fast = conv_forward(x, w, b, **kw)
            dout = rng.standard_normal(out_fast.shape)
            grads_naive = conv_backward_naive(dout, cache_naive)
            grads_fast = conv_backward(dout, cache_fast)
            errors = [rel_error(a, c) for a, c in zip((out_naive, *grads_naive), (out_fast, *grads_fast))]
            agree = max(errors)
            ok &= agree < 1e-10
            name = f"x {N}x{C}x{H}x{W}, w {K}x{C}x{FH}x{FW}, S={S} P={P} d={D}"
            for label, slow, fast in [
                ("forward", lambda: conv_forward_naive(x, w, b, **kw), lambda: conv_forward(x, w, b, **kw)),
                ("backward", lambda: conv_backward_naive(dout, cache_naive), lambda: conv_backward(dout, cache_fast)),
            ]:
                t_slow, t_fast = median_seconds(slow, args.repeat), median_seconds(fast, args.repeat)
                print(f"{name:<42} {label:<8} {t_slow:9.3f} {t_fast:9.4f} {t_slow / t_fast:8.0f}x {agree:9.1e}")
    if not ok:
        print("FAIL: the im2col layer disagrees with the naive reference", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
