"""What ``grade AID`` shows while it runs and when it ends: a progress bar and a summary table.

The bar (tqdm) counts submissions on stderr, only when stderr is a terminal and not ``--quiet``;
each result's own lines go to stdout above it. :meth:`GradingProgress.summary` is the closing table:
graded, failed (with why), kept from an earlier run, wall time and submissions per minute.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

from tqdm import tqdm

from autograder.grading import SubmissionResult

__all__ = ["GradingProgress"]


class GradingProgress:
    """A context manager; pass :meth:`update` as ``grade_all``'s ``progress``."""

    def __init__(self, total: int, workers: int, quiet: bool = False, echo=None, stream=None):
        self.total, self.workers, self.echo = total, workers, echo
        self.stream = stream or sys.stderr
        self.results: list[SubmissionResult] = []
        self.started = time.monotonic()
        self.bar = tqdm(total=total, unit="submission", file=self.stream, dynamic_ncols=True,
                        disable=quiet or not self.stream.isatty())

    def __enter__(self) -> "GradingProgress":
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
        self.seconds = time.monotonic() - self.started

    def update(self, result: SubmissionResult) -> None:
        self.results.append(result)
        if self.echo:
            with self.bar.external_write_mode(file=self.stream):
                self.echo(result)
        self.bar.update(1)

    def summary(self) -> str:
        """The closing table (call after the ``with`` block)."""
        seconds = getattr(self, "seconds", time.monotonic() - self.started)
        kept = [r for r in self.results if r.reused]
        graded = [r for r in self.results if r.status == "graded" and not r.reused]
        failed = [r for r in self.results if r.status == "failed"]
        rate = len(graded) + len(failed)
        lines = [f"{'graded now':<22} {len(graded):>5}",
                 f"{'already graded (kept)':<22} {len(kept):>5}",
                 f"{'failed':<22} {len(failed):>5}"]
        for why, count in Counter(r.notes[-1] if r.notes else "no reason recorded" for r in failed).most_common():
            lines.append(f"{'':<4}{count:>3} x {why}")
        lines.append(f"{'time':<22} {seconds:>7.1f} s on {self.workers} worker(s)"
                     + (f", {60 * rate / seconds:.1f} submissions/min" if rate and seconds > 0 else ""))
        return "\n".join(lines)
