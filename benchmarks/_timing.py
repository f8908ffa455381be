"""Shared timing helpers for the benchmark scripts (median of repeated runs)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeat: int = 5, setup: Callable[[], object] | None = None
                ) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs (``setup`` runs untimed before each)."""
    times = []
    fn() if setup is None else fn_with(setup, fn)  # warm-up: first BLAS call is slow
    for _ in range(repeat):
        arg = setup() if setup is not None else None
        t0 = time.perf_counter()
        fn() if setup is None else fn(arg)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fn_with(setup: Callable[[], object], fn: Callable) -> object:
    return fn(setup())


def print_table(rows: list[tuple[str, float, float | None]], baseline: str) -> None:
    """Print ``name | seconds | ratio to baseline`` rows as a fixed-width table."""
    width = max(len(r[0]) for r in rows)
    print(f"{'operation'.ljust(width)} | {'seconds':>9} | {'× ' + baseline:>12}")
    print(f"{'-' * width}-+-{'-' * 9}-+-{'-' * 12}")
    for name, t, ratio in rows:
        r = f"{ratio:12.2f}" if ratio is not None else " " * 12
        print(f"{name.ljust(width)} | {t:9.4f} | {r}")
