"""Time every decomposition on one WIOD year against one LU of that year's (I − A).

Usage::

    .venv/bin/python benchmarks/decompositions.py [--year 2011] [--repeat 5]

Each method runs on a *fresh* :class:`~brgvc.core.kernels.IOSystem` (so its time includes the
LU and every building block it needs, nothing is shared between methods) except the "all
measures" row, which runs everything on one system the way the runner does. Every repetition
times ``scipy.linalg.lu_factor`` of (I − A) right before the methods, so the ratios compare
numbers measured under the same machine load; the table shows medians over the repetitions.
The two "default job" rows run the default job's per-draw measures (vby, vbe,
kww, china_va, china_efficiency, final_dva_rate) through the registry with and without the
shared WWZ terms (option ``wwz_cache``). Targets (PERFORMANCE.md, issue 3): WWZ <= 3x LU,
KWW <= 1.5x LU, BM source + sink <= 4x LU, all measures together <= 6x LU, WWZ peak memory
<= 4 dense n x n matrices.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
import warnings

import numpy as np
import scipy.linalg as sla

from brgvc.core import IOSystem, YearSystem
from brgvc.datasets import open_dataset
from brgvc.measures import (
    bm_terms,
    capture_efficiency,
    downstreamness_vector,
    get_measure,
    gvc_income_country,
    hypothetical_extraction_dva,
    koopman_position,
    kww_terms,
    participation_terms,
    production_length_terms,
    upstreamness_vector,
    value_added_obtained,
    wwz_terms,
)


def _flows(s: IOSystem) -> None:
    s.vby_country()
    s.vbe_country()
    gvc_income_country(s)


def _all(s: IOSystem, ys: YearSystem) -> None:
    wwz_terms(s)
    kww_terms(s)
    bm_terms(s, "source")
    bm_terms(s, "sink")
    _flows(s)
    participation_terms(s)
    production_length_terms(s)
    upstreamness_vector(s)
    downstreamness_vector(s)
    koopman_position(s, "kww_t3")
    koopman_position(s, "dvx")
    hypothetical_extraction_dva(s)
    value_added_obtained(ys, grouping=None)
    capture_efficiency(ys, grouping=None)


#: The per-draw measures of the default (Belt and Road) job, through the registry as the
#: runner calls them (labelled results included).
DEFAULT_JOB = (
    ("vby", {}),
    ("vbe", {}),
    ("kww", {}),
    ("china_va", {"grouping": "belt_and_road", "database": "wiod2013"}),
    ("china_efficiency", {"grouping": "belt_and_road", "database": "wiod2013"}),
    ("final_dva_rate", {}),
)


def _default_job(s: IOSystem, ys0: YearSystem, cache: bool) -> None:
    from brgvc.options import set_options

    ys = YearSystem(s, ys0.regions, ys0.sectors, ys0.year)
    with set_options(wwz_cache=cache):
        for name, opts in DEFAULT_JOB:
            get_measure(name)(ys, **opts)


def main() -> None:
    """Print the timing table and WWZ's peak memory."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--year", type=int, default=2011)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--only", default="", help="run only the rows whose name contains this")
    args = p.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ys0 = YearSystem.from_cube(open_dataset("wiod2013", years=[args.year]), args.year)
    s0 = ys0.system
    G, N, n = s0.G, s0.N, s0.n

    def fresh() -> IOSystem:
        return IOSystem(s0.Z, s0.Yd, s0.x, s0.va, G, N)

    M = s0.leontief_matrix()

    def lu(_s):
        sla.lu_factor(M.copy(order="F"), overwrite_a=True, check_finite=False)

    def diag_blocks(s):
        s.factorise()
        t = time.perf_counter()
        _ = s.diagonal_blocks
        return time.perf_counter() - t  # only the blocks, after the LU

    def all_measures(s):
        ys = YearSystem(s, ys0.regions, ys0.sectors, ys0.year)
        _all(s, ys)

    methods = {
        "lu_factor (reference)": lu,
        "IOSystem.factorise": lambda s: s.factorise(),
        "diagonal_blocks (after LU)": diag_blocks,
        "wwz (16 terms, sector x partner)": wwz_terms,
        "kww (9 terms, country)": kww_terms,
        "bm source": lambda s: bm_terms(s, "source"),
        "bm sink": lambda s: bm_terms(s, "sink"),
        "bm source + sink": lambda s: (bm_terms(s, "source"), bm_terms(s, "sink")),
        "vby + vbe + gvc_income": _flows,
        "wwyz participation": participation_terms,
        "production length / GVC_Pos": production_length_terms,
        "U + D": lambda s: (upstreamness_vector(s), downstreamness_vector(s)),
        "koopman (both IV)": lambda s: (koopman_position(s, "kww_t3"),
                                        koopman_position(s, "dvx")),
        "all measures (one system)": all_measures,
        "default job, wwz_cache on": lambda s: _default_job(s, ys0, True),
        "default job, wwz_cache off": lambda s: _default_job(s, ys0, False),
    }
    if args.only:
        methods = {k: v for k, v in methods.items()
                   if k == "lu_factor (reference)" or args.only in k}
    times: dict[str, list[float]] = {k: [] for k in methods}
    ratios: dict[str, list[float]] = {k: [] for k in methods}
    for f in methods.values():  # warm-up (imports, BLAS thread start)
        f(fresh())
    for _ in range(args.repeat):
        time.sleep(0.1)
        t = time.perf_counter()
        lu(None)
        t_lu = time.perf_counter() - t
        for name, f in methods.items():
            s = fresh()
            # Let the previous call's idle BLAS workers go to sleep (numpy's and SciPy's
            # OpenBLAS pools spin for ~0.1 s after a call and slow down the other's next one).
            time.sleep(0.1)
            t = time.perf_counter()
            r = f(s)
            dt = time.perf_counter() - t
            if isinstance(r, float):
                dt = r
            times[name].append(dt)
            ratios[name].append(dt / t_lu)

    ref = "lu_factor (reference)"
    lu_med, lu_min = float(np.median(times[ref])), float(np.min(times[ref]))
    print(f"WIOD 2013, year {args.year}: n = {n} (G = {G}, N = {N}); {args.repeat} repetitions; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
    print(f"{'method':36s} {'median s':>9s} {'x LU':>6s} {'x LU min':>9s} {'paired':>7s} target")
    targets = {"wwz (16 terms, sector x partner)": 3.0, "kww (9 terms, country)": 1.5,
               "bm source + sink": 4.0, "all measures (one system)": 6.0}
    for name in methods:
        med, mn = float(np.median(times[name])), float(np.min(times[name]))
        tgt = f"<= {targets[name]:.1f}" if name in targets else ""
        print(f"{name:36s} {med:9.4f} {med / lu_med:6.2f} {mn / lu_min:9.2f} "
              f"{np.median(ratios[name]):7.2f} {tgt}")
    print("x LU: ratio of medians; x LU min: ratio of the fastest runs (least disturbed by other "
          "load); paired: median of per-repetition ratios")
    print(f"load average at the end {os.getloadavg()[0]:.2f} (2 cores: compare runs at low load)")

    # Peak memory of WWZ from a fresh system (the LU factors included; inputs excluded).
    s = fresh()
    tracemalloc.start()
    wwz_terms(s)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"wwz peak traced memory: {peak / 2**20:.1f} MiB = {peak / (8 * n * n):.2f} "
          f"dense n x n matrices ({8 * n * n / 2**20:.1f} MiB each)")


if __name__ == "__main__":
    main()
