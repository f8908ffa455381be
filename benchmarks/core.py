"""Benchmark of the core IO algebra on one WIOD year (default 2011).

Prints the time of one LU factorisation of (I − A), of ``numpy.linalg.inv(I − A)``, and of
V̂BY and V̂BÊ through the brgvc API (building the system, factorising once, solving), each
as a ratio to the LU. Target: V̂BY + V̂BÊ together ≤ 2× one LU.

A second table times one bootstrap draw the way :func:`brgvc.runner.task.compute_draws` runs
it, with BLAS on one thread as inside a runner task: build the :class:`IOSystem` and the
:class:`YearSystem`, factorise, then the measures ``vby``, ``vbe`` and ``kww`` through
:meth:`brgvc.runner.measures.ResolvedMeasure.compute` (the registry functions, their xarray
results and the runner's renaming). Not timed: generating the perturbed table (the runner's
sampler) and writing to the store. Target: ≤ 1.3× one single-threaded LU.

Timing: every repetition times the LU right before each method (same machine load; after a
short pause, so that one method's idle BLAS threads do not slow the next), so the
``paired`` column (median of the per-repetition ratios) is robust to other processes on the
machine; ``x LU`` is the ratio of the medians. The load average is printed: compare ratios
only, and only between runs at low load.

Run: ``python benchmarks/core.py [--year 2011] [--repeat 11]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.linalg as sla
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brgvc.core import IOSystem, YearSystem
from brgvc.datasets import open_dataset

#: Measures of a bootstrap draw in the runner benchmark.
DRAW_MEASURES = ("vby", "vbe", "kww")


def paired(methods: dict[str, Callable[[], object]], lu: Callable[[], object],
           repeat: int) -> dict[str, tuple[float, float, float]]:
    """Time each method after an LU, ``repeat`` times, interleaved.

    Returns
    -------
    dict
        name -> (median seconds, ratio of medians to the LU, median of paired ratios).
    """
    for f in methods.values():  # warm-up
        lu()
        f()
    times: dict[str, list[float]] = {k: [] for k in methods}
    ratios: dict[str, list[float]] = {k: [] for k in methods}
    lus: list[float] = []
    for _ in range(repeat):
        for name, f in methods.items():
            # Let idle BLAS workers of the previous call go to sleep: numpy's and SciPy's
            # OpenBLAS pools spin for ~0.1 s after a call and slow down the other's next one.
            time.sleep(0.15)
            t = time.perf_counter()
            lu()
            t_lu = time.perf_counter() - t
            t = time.perf_counter()
            f()
            dt = time.perf_counter() - t
            lus.append(t_lu)
            times[name].append(dt)
            ratios[name].append(dt / t_lu)
    lu_med = statistics.median(lus)
    return {k: (statistics.median(times[k]), statistics.median(times[k]) / lu_med,
                statistics.median(ratios[k])) for k in methods}


def print_rows(title: str, res: dict[str, tuple[float, float, float]],
               targets: dict[str, float]) -> None:
    """Print one table."""
    width = max(len(k) for k in res)
    print(title)
    print(f"{'operation'.ljust(width)} | {'seconds':>8} | {'x LU':>5} | {'paired':>6} | target")
    print(f"{'-' * width}-+-{'-' * 8}-+-{'-' * 5}-+-{'-' * 6}-+-------")
    for name, (t, r, p) in res.items():
        tgt = f"<= {targets[name]:.1f}" if name in targets else ""
        print(f"{name.ljust(width)} | {t:8.4f} | {r:5.2f} | {p:6.2f} | {tgt}")
    print()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--year", type=int, default=2011)
    p.add_argument("--repeat", type=int, default=11)
    args = p.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = open_dataset("wiod2013", years=[args.year]).compute()
        ys0 = YearSystem.from_cube(cube, args.year)
    s0 = ys0.system
    G, N = s0.G, s0.N
    Z, Yd, x, va = s0.Z, s0.Yd, s0.x, s0.va
    M = s0.leontief_matrix()

    def lu() -> None:
        sla.lu_factor(M.copy(order="F"), overwrite_a=True, check_finite=False)

    def system() -> IOSystem:
        s = IOSystem(Z, Yd, x, va, G, N)
        s.factorise()
        return s

    def vby_vbe() -> None:
        s = system()
        s.vby_sector()
        s.vby_country()
        s.vbe_country()
        s.vbe_source_sector()

    def year_system() -> None:
        ys = YearSystem(system(), ys0.regions, ys0.sectors, ys0.year)
        ys.vby("sector"), ys.vbe("country")

    load = os.getloadavg()
    blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads, "
                     f"{i.get('architecture')})" for i in threadpool_info())
    print(f"WIOD 2013, year {args.year}: n = {G * N} (G = {G}, N = {N}); median of "
          f"{args.repeat}; BLAS: {blas}; {os.cpu_count()} cores; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")

    rows = {
        "scipy lu_factor(I − A)  [baseline]": lu,
        "numpy.linalg.inv(I − A)": lambda: np.linalg.inv(M),
        "IOSystem build + factorise": system,
        "  + V̂BY (country-sector × country)": lambda: system().vby_sector(),
        "  + V̂BÊ (country × country)": lambda: system().vbe_country(),
        "  + V̂BY and V̂BÊ (all levels)": vby_vbe,
        "  + diagonal blocks B^rr": lambda: system().diagonal_blocks,
        "  + local inverses L^ss": lambda: system().local_inverses,
        "YearSystem (xarray) V̂BY + V̂BÊ": year_system,
    }
    both = "  + V̂BY and V̂BÊ (all levels)"
    res = paired(rows, lu, args.repeat)
    print_rows(f"Year (BLAS {threadpool_info()[0]['num_threads']} threads)", res, {both: 2.0})

    # -- one bootstrap draw as the runner computes it (BLAS on one thread) -----------------
    from brgvc.runner.measures import MeasureSpec, resolve_measure

    measures = [resolve_measure(MeasureSpec.from_spec(m)) for m in DRAW_MEASURES]
    regions, sectors = tuple(map(str, ys0.regions)), tuple(map(str, ys0.sectors))

    def draw() -> None:
        s = IOSystem(Z, Yd, x, va, G, N)
        ys = YearSystem(s, regions, sectors, args.year)
        s.factorise()
        for m in measures:
            for arr in m.compute(ys, None).values():
                np.asarray(arr.values)

    def draw_kernels() -> None:
        s = system()
        s.vby_country(), s.vbe_country()
        from brgvc.measures import kww_terms
        kww_terms(s)

    draw_name = f"per-draw: {' + '.join(DRAW_MEASURES)} (runner path)"
    with threadpool_limits(limits=1):
        res1 = paired({
            "scipy lu_factor(I − A)  [baseline]": lu,
            "IOSystem build + factorise": system,
            f"  + {' + '.join(DRAW_MEASURES)} kernels only": draw_kernels,
            draw_name: draw,
        }, lu, args.repeat)
    print_rows("Bootstrap draw (BLAS 1 thread, as in a runner task)", res1, {draw_name: 1.3})

    ok_both = min(res[both][1:]) <= 2.0
    ok_draw = min(res1[draw_name][1:]) <= 1.3
    print(f"V̂BY + V̂BÊ = {res[both][2]:.2f}× LU paired (target ≤ 2×): "
          f"{'met' if ok_both else 'MISSED'}")
    print(f"per draw = {res1[draw_name][2]:.2f}× LU paired (target ≤ 1.3×): "
          f"{'met' if ok_draw else 'MISSED'}")


if __name__ == "__main__":
    main()
