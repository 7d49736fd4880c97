"""Limiting the BLAS thread pool while training small nets.

The matrices of course-sized ConvNets are small; on a 2-core machine that is also
doing other work, BLAS threads spinning against each other made training 3-4x
slower in our measurements than one thread. :func:`limit_blas_threads` is a
context manager (from threadpoolctl, which ships with scikit-learn) and a no-op
when threadpoolctl is missing.
"""

from __future__ import annotations

from contextlib import nullcontext

__all__ = ["limit_blas_threads"]


def limit_blas_threads(limit: int | None = 1):
    """Context manager running its body with at most ``limit`` BLAS threads (None: no change)."""
    if limit is None:
        return nullcontext()
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415 - optional, ships with scikit-learn
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=int(limit), user_api="blas")
