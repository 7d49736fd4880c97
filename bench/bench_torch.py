"""Speed of convlab's convolution and max pooling against PyTorch's CPU layers, in one process.

For the issue-13 workloads A-D (forward + backward: dx, dw, db) and max pooling 2x2/2 and 3x3/2,
in float32 and float64, prints one markdown table with, per row:

- the median time of convlab (forward, backward, both) and of PyTorch (both), and their ratio
  (convlab / PyTorch: below 1.0 means convlab is faster);
- for convolutions, convlab's rate in GFLOP/s (2 * K * C * F * F * N * H_out * W_out per matrix
  product, three products per step); the GEMM bound measured in the same loop: NumPy's BLAS
  running the workload's three products (forward, dw, column gradient) as single calls, its rate
  on the forward product, and the share of that rate convlab's whole forward pass reaches;
- convlab's peak extra memory during one forward + backward, measured with ``tracemalloc`` (NumPy
  reports its array buffers to it), as a multiple of the column matrix (C * F * F * N * H_out *
  W_out entries).

Both sides get one thread: NumPy's BLAS through ``limit_blas_threads(1)``, PyTorch through
``torch.set_num_threads(1)``; pin the process too (``taskset -c 0``). Each measurement's runs are
interleaved with the others' (convlab, PyTorch, the GEMMs in turn), so a load spike from other
programs hits all of them. The default clock is the process's CPU time, which does not count the
time spent waiting for a core on a shared machine (``--clock wall`` for elapsed time); the load
average is printed with the table. The outputs of the two libraries are compared and the script
exits 1 if they differ (float32: 1e-4, float64: 1e-10, relative to the largest entry).

PyTorch is an optional, bench-only dependency (``pip install torch==2.13.0``, the CPU build); without
it the script says so and exits 0.

Run: ``taskset -c 0 python bench/bench_torch.py [--repeat N] [--dtype float32] [--only B] [--clock wall]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc

import numpy as np

from convlab.gradcheck import rel_error
from convlab.layers import conv_backward, conv_forward, max_pool_backward, max_pool_forward
from convlab.shapes import conv_output_size
from convlab.train import limit_blas_threads

# name: (N, C, H, W, K, F, S, P), the workloads of issue 13
CONV_WORKLOADS = {
    "A": (64, 3, 32, 32, 32, 3, 1, 1),
    "B": (64, 32, 16, 16, 64, 3, 1, 1),
    "C": (1, 3, 227, 227, 96, 11, 4, 0),
    "D": (64, 64, 8, 8, 128, 3, 1, 1),
}
# name: (N, C, H, W, F, S); 3x3/2 needs an odd size to tile the input (33 -> 16)
POOL_WORKLOADS = {
    "max pool 2x2/2": (64, 64, 32, 32, 2, 2),
    "max pool 3x3/2": (64, 64, 33, 33, 3, 2),
}
SKIP_MESSAGE = (
    "bench_torch: skipped, PyTorch is not installed. It is an optional bench-only dependency: "
    "pip install torch==2.13.0 (the CPU build), then run this script again."
)


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def interleaved_medians(fns, repeat, clock):
    """Median seconds of each function in ``fns``, calling them in turn ``repeat`` times (after one warm-up)."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            start = clock()
            fn()
            ts.append(clock() - start)
    return [statistics.median(ts) for ts in times]


def peak_extra_bytes(fn):
    """Peak bytes allocated (as ``tracemalloc`` sees them) while ``fn()`` runs, beyond what was live before."""
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def gemm_products(K, rows, cols, dtype):
    """The three BLAS products of one convolution step as single calls, for the GEMM bound.

    ``w (K, rows) @ cols (rows, cols)`` (forward), ``dout (K, cols) @ cols.T`` (dw) and
    ``w.T @ dout`` (the column gradient); returns (forward product, all three).
    """
    rng = np.random.default_rng(1)
    w = rng.standard_normal((K, rows)).astype(dtype)
    columns = rng.standard_normal((rows, cols)).astype(dtype)
    dout = rng.standard_normal((K, cols)).astype(dtype)
    out, dw, dcols = np.empty((K, cols), dtype), np.empty((K, rows), dtype), np.empty((rows, cols), dtype)

    def forward():
        np.matmul(w, columns, out=out)

    def all_three():
        forward()
        np.matmul(dout, columns.T, out=dw)
        np.matmul(w.T, dout, out=dcols)

    return forward, all_three


def conv_row(torch, name, geometry, dtype, repeat, clock):
    N, C, H, W, K, F, S, P = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = (rng.standard_normal((K, C, F, F)) / np.sqrt(C * F * F)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    out, cache = conv_forward(x, w, b, stride=S, pad=P)
    dout = rng.standard_normal(out.shape).astype(dtype)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    tdout = torch.from_numpy(dout)

    def torch_step():
        tout = torch.nn.functional.conv2d(tx, tw, tb, stride=S, padding=P)
        return tout, torch.autograd.grad(tout, (tx, tw, tb), tdout)

    tout, tgrads = torch_step()
    ours = (out, *conv_backward(dout, cache))
    theirs = (tout.detach().numpy(), *(g.numpy() for g in tgrads))
    agree = max(rel_error(a, c) for a, c in zip(ours, theirs))

    columns = N * out.shape[2] * out.shape[3]
    gemm_forward, gemm_all = gemm_products(K, C * F * F, columns, dtype)
    t_fwd, t_bwd, t_both, t_torch, t_gemm_fwd, t_gemm = interleaved_medians([
        lambda: conv_forward(x, w, b, stride=S, pad=P),
        lambda: conv_backward(dout, cache),
        lambda: conv_backward(dout, conv_forward(x, w, b, stride=S, pad=P)[1]),
        torch_step,
        gemm_forward,
        gemm_all,
    ], repeat, clock)
    del cache
    cols_bytes = C * F * F * columns * np.dtype(dtype).itemsize
    peak = peak_extra_bytes(lambda: conv_backward(dout, conv_forward(x, w, b, stride=S, pad=P)[1]))
    flops = 2 * K * C * F * F * columns  # one of the three products
    return dict(
        name=f"{name}: {N},{C},{H}x{W},K={K},F={F},S={S},P={P}", dtype=np.dtype(dtype).name,
        fwd=t_fwd, bwd=t_bwd, both=t_both, torch=t_torch, gflops=3 * flops / t_both / 1e9,
        gemm_rate=flops / t_gemm_fwd / 1e9, fwd_gemm=t_gemm_fwd / t_fwd, gemm_ms=t_gemm * 1e3,
        peak=peak / cols_bytes, agree=agree,
    )


def pool_row(torch, name, geometry, dtype, repeat, clock):
    N, C, H, W, F, S = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    out, cache = max_pool_forward(x, size=F, stride=S)
    dout = rng.standard_normal(out.shape).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_()
    tdout = torch.from_numpy(dout)

    def torch_step():
        tout = torch.nn.functional.max_pool2d(tx, F, S)
        return tout, torch.autograd.grad(tout, tx, tdout)

    tout, (tdx,) = torch_step()
    agree = max(rel_error(out, tout.detach().numpy()), rel_error(max_pool_backward(dout, cache), tdx.numpy()))
    t_fwd, t_bwd, t_both, t_torch = interleaved_medians([
        lambda: max_pool_forward(x, size=F, stride=S),
        lambda: max_pool_backward(dout, cache),
        lambda: max_pool_backward(dout, max_pool_forward(x, size=F, stride=S)[1]),
        torch_step,
    ], repeat, clock)
    return dict(name=f"{name}: {N},{C},{H}x{W}", dtype=np.dtype(dtype).name, fwd=t_fwd, bwd=t_bwd, both=t_both,
                torch=t_torch, gflops=None, gemm_rate=None, fwd_gemm=None, gemm_ms=None, peak=None, agree=agree)


def markdown(rows):
    lines = [
        "| workload | dtype | convlab fwd ms | bwd ms | fwd+bwd ms | PyTorch fwd+bwd ms | convlab / PyTorch "
        "| GFLOP/s | GEMM GFLOP/s | fwd / GEMM rate | 3 GEMMs ms | peak extra / cols |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        def opt(key, fmt):
            return "" if r[key] is None else format(r[key], fmt)
        lines.append(
            f"| {r['name']} | {r['dtype']} | {r['fwd'] * 1e3:.2f} | {r['bwd'] * 1e3:.2f} | {r['both'] * 1e3:.2f} "
            f"| {r['torch'] * 1e3:.2f} | {r['both'] / r['torch']:.2f}x | {opt('gflops', '.1f')} "
            f"| {opt('gemm_rate', '.1f')} | {opt('fwd_gemm', '.0%')} | {opt('gemm_ms', '.2f')} | {opt('peak', '.2f')} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21, help="interleaved runs per measurement (median)")
    parser.add_argument("--dtype", choices=["float32", "float64"], action="append",
                        help="dtype(s) to measure (default: both)")
    parser.add_argument("--only", action="append", help="workload names to run (A, B, C, D, pool); default all")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="cpu: process CPU time (robust when other programs share the core); wall: elapsed time")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: PLC0415 - optional, bench-only
    except ImportError:
        print(SKIP_MESSAGE)
        return 0
    torch.set_num_threads(1)
    clock = CLOCKS[args.clock]
    dtypes = args.dtype or ["float32", "float64"]
    only = set(args.only or [*CONV_WORKLOADS, "pool"])
    rows = []
    with limit_blas_threads(1):
        for dtype in dtypes:
            for name, geometry in CONV_WORKLOADS.items():
                if name in only:
                    rows.append(conv_row(torch, name, geometry, dtype, args.repeat, clock))
            for name, geometry in POOL_WORKLOADS.items():
                if "pool" in only:
                    rows.append(pool_row(torch, name, geometry, dtype, args.repeat, clock))
    load = os.getloadavg()
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a"
    print(f"convlab vs PyTorch {torch.__version__} (CPU), one thread each, NumPy {np.__version__}, "
          f"median {args.clock} time of {args.repeat} interleaved runs; CPUs allowed {affinity}; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
    print("GEMM: NumPy's BLAS on the workload's three products as single calls (forward, dw, column "
          "gradient); 'fwd / GEMM rate' = the forward product's time / convlab's forward time")
    print("peak extra / cols: tracemalloc peak during one forward + backward / bytes of the column matrix")
    print()
    print(markdown(rows))
    worst = max(r["agree"] for r in rows)
    tolerance = {"float32": 1e-4, "float64": 1e-10}
    bad = [r["name"] + " " + r["dtype"] for r in rows if r["agree"] > tolerance[r["dtype"]]]
    if bad:
        print(f"FAIL: convlab and PyTorch disagree on {', '.join(bad)} (largest relative error {worst:.1e})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
