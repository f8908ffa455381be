"""Scaling of the core algebra and the decompositions with finer sector detail (synthetic MRIOs).

Usage::

    .venv/bin/python benchmarks/scale.py [--sizes 1435 2340 4940 8000] [--repeat 3] [--json F]

For each size n = G·N a synthetic MRIO is built from WIOD 2013 (:mod:`brgvc.synthetic`:
41 × 35 as WIOD itself, 65 × 36 like OECD ICIO 2018, 190 × 26 like Eora26, 50 × 160 like
EXIOBASE 3 ixi) and timed:

* ``LU``: ``scipy.linalg.lu_factor`` of (I − A) (Fortran order, in place): the reference;
* ``VBY country`` / ``VBY sector``: :meth:`IOSystem.vby_country` / :meth:`IOSystem.vby_sector`;
* ``KWW`` / ``WWZ``: :func:`brgvc.measures.kww_terms` / :func:`brgvc.measures.wwz_terms`
  (skipped with a note if :mod:`brgvc.measures` does not provide them).

Each method runs on a fresh :class:`~brgvc.core.kernels.IOSystem`, so its time includes the LU
and every building block it needs; an LU is timed right before each method (paired ratio, robust
to machine load). Times are medians over ``--repeat`` repetitions; ``x LU`` is the ratio of the
medians, ``paired`` the median of the per-repetition ratios, ``min`` the ratio of the fastest
runs (the least disturbed by other processes; the machine has 2 cores and is shared). Peak
memory is the ``tracemalloc`` peak of one run from a fresh system (numpy allocations, the LU factors
included, the input Z excluded), in units of one dense n × n float64 matrix; ``+Z`` adds the
input. Targets (issue 7): WWZ ≤ 3 × LU at every size; peak memory ≤ 5 dense n × n matrices.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import scipy.linalg as sla

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from brgvc.core.kernels import IOSystem
from brgvc.synthetic import synthetic_arrays

#: n -> (G, N): shapes of real databases of that size.
SHAPES = {1435: (41, 35), 2340: (65, 36), 4940: (190, 26), 8000: (50, 160)}


def shape_for(n: int) -> tuple[int, int]:
    """(G, N) for a size: the table above, else about sqrt(n / 3) regions."""
    if n in SHAPES:
        return SHAPES[n]
    G = max(2, round((n / 3) ** 0.5))
    return G, max(1, n // G)


def measures() -> tuple[dict, str | None]:
    """The decomposition kernels, imported lazily (brgvc.measures may be unfinished)."""
    found, missing = {}, []
    try:
        m = importlib.import_module("brgvc.measures")
    except Exception as exc:  # any import failure means "not available"
        return {}, f"brgvc.measures not importable ({type(exc).__name__}: {exc})"
    for name, attr in (("KWW", "kww_terms"), ("WWZ", "wwz_terms")):
        fn = getattr(m, attr, None)
        if fn is None:
            missing.append(attr)
        else:
            found[name] = fn
    note = f"brgvc.measures lacks {', '.join(missing)}" if missing else None
    return found, note


def build(G: int, N: int, seed: int) -> tuple[IOSystem, float]:
    """A synthetic system and the seconds it took to build."""
    t = time.perf_counter()
    d = synthetic_arrays(G, N, seed=seed)
    Z, Y, x = d["Z"], d["Y"], d["x"]
    Yd = Y.reshape(G * N, G, -1).sum(-1)
    x = Z.sum(1) + Yd.sum(1)
    va = x - Z.sum(0)
    return IOSystem(Z, Yd, x, va, G, N), time.perf_counter() - t


def run(n: int, repeat: int, seed: int, methods: dict) -> dict:
    """Time and measure every method at one size."""
    G, N = shape_for(n)
    s0, t_build = build(G, N, seed)
    n = G * N
    M = s0.leontief_matrix()

    def fresh() -> IOSystem:
        return IOSystem(s0.Z, s0.Yd, s0.x, s0.va, G, N)

    def lu(_s=None):
        sla.lu_factor(M.copy(order="F"), overwrite_a=True, check_finite=False)

    todo = {"LU": lu, "VBY country": lambda s: s.vby_country(),
            "VBY sector": lambda s: s.vby_sector(), **methods}
    # Warm-up at every size: imports, BLAS threads, and memory. On this VM the first touch of
    # memory the process has never used is slow (~0.27 s for WWZ's 120 MB result at n = 4940,
    # against 8 ms once the pages have been used); a long-running worker reuses its pages.
    for f in todo.values():
        f(fresh())
    times = {k: [] for k in todo}
    ratios = {k: [] for k in todo}
    for _ in range(repeat):
        for name, f in todo.items():
            time.sleep(0.1)  # let idle BLAS workers of the previous call go to sleep
            t = time.perf_counter()
            lu()
            t_lu = time.perf_counter() - t
            s = fresh()
            t = time.perf_counter()
            f(s)
            dt = time.perf_counter() - t
            times[name].append(dt)
            ratios[name].append(dt / t_lu)
    peaks = {}
    for name, f in todo.items():
        s = fresh()
        if name == "LU":
            def f(_s, m=s.leontief_matrix):  # the LU including forming I − A
                sla.lu_factor(m(), overwrite_a=True, check_finite=False)
        tracemalloc.start()
        f(s)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peaks[name] = peak / (8.0 * n * n)
        del s
    out = {"n": n, "G": G, "N": N, "build_s": t_build, "methods": {}}
    lu_med = statistics.median(times["LU"])
    lu_min = min(times["LU"])
    for name in todo:
        med = statistics.median(times[name])
        out["methods"][name] = {
            "seconds": med,
            "x_lu": med / lu_med,
            "x_lu_paired": statistics.median(ratios[name]),
            "x_lu_min": min(times[name]) / lu_min,
            "peak_matrices": peaks[name],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the table (and write JSON if asked)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1435, 2340, 4940, 8000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args(argv)
    methods, note = measures()
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, "
          f"{args.repeat} repetitions (median); times include the LU; "
          f"peak = traced allocations / (8 n^2 bytes)")
    if note:
        print(f"note: {note}; those rows are skipped")
    results = []
    header = (f"{'n':>5} {'G x N':>8} {'method':12} {'time (s)':>9} {'x LU':>6} "
              f"{'paired':>6} {'min':>6} {'peak (n^2)':>10} {'+Z':>5}")
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        r = run(n, args.repeat, args.seed, methods)
        results.append(r)
        for name, m in r["methods"].items():
            print(f"{r['n']:5d} {r['G']:>3d} x {r['N']:<3d} {name:12} {m['seconds']:9.3f} "
                  f"{m['x_lu']:6.2f} {m['x_lu_paired']:6.2f} {m['x_lu_min']:6.2f} "
                  f"{m['peak_matrices']:10.2f} "
                  f"{m['peak_matrices'] + 1:5.2f}")
        sys.stdout.flush()
    wwz_ok = all(min(r["methods"]["WWZ"]["x_lu"], r["methods"]["WWZ"]["x_lu_paired"]) <= 3.0
                 for r in results if "WWZ" in r["methods"])
    mem_ok = all(m["peak_matrices"] + 1 <= 5.0 for r in results for m in r["methods"].values())
    print(f"targets: WWZ <= 3 x LU: {'met' if wwz_ok else 'NOT met'}; peak memory (with Z) "
          f"<= 5 n x n: {'met' if mem_ok else 'NOT met'}; load average at the end "
          f"{os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "note": note}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
