"""Benchmark of the core IO algebra on one WIOD year (default 2011).

Prints the time of one LU factorisation of (I − A), of ``numpy.linalg.inv(I − A)``, and of
V̂BY and V̂BÊ through the brgvc API (building the system, factorising once, solving), each
as a ratio to the LU measured in the same run. Target: V̂BY + V̂BÊ together ≤ 2× one LU.

Run: ``python benchmarks/core.py [--year 2011] [--repeat 7]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.linalg as sla
from threadpoolctl import threadpool_info

sys.path.insert(0, str(Path(__file__).parent))
from _timing import median_time, print_table  # noqa: E402

from brgvc.core import IOSystem, YearSystem  # noqa: E402
from brgvc.datasets import open_dataset  # noqa: E402
from brgvc.schema import stacked_final, stacked_square, stacked_vector  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--year", type=int, default=2011)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args()

    ds = open_dataset("wiod2013", years=[args.year]).sel(year=args.year).compute()
    G, N = ds.sizes["region"], ds.sizes["sector"]
    Z = stacked_square(ds["Z"])
    Yd = stacked_final(ds["Y"], by_destination=True)
    x, va = stacked_vector(ds["x"]), stacked_vector(ds["va"])
    base = IOSystem(Z, Yd, x, va, G, N)
    M = base.leontief_matrix()

    t_lu = median_time(lambda m: sla.lu_factor(m, overwrite_a=True, check_finite=False),
                       args.repeat, setup=lambda: M.copy(order="F"))
    t_inv = median_time(lambda: np.linalg.inv(M), args.repeat)

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

    t_sys = median_time(system, args.repeat)
    t_vby = median_time(lambda: system().vby_sector(), args.repeat)
    t_vbe = median_time(lambda: system().vbe_country(), args.repeat)
    t_both = median_time(vby_vbe, args.repeat)
    t_diag = median_time(lambda: system().diagonal_blocks, args.repeat)
    t_local = median_time(lambda: system().local_inverses, args.repeat)
    t_ys = median_time(lambda: (lambda y: (y.vby("sector"), y.vbe("country")))(
        YearSystem.from_cube(ds.expand_dims(year=[args.year]), args.year, warn_zero=False)),
        args.repeat)

    blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads, "
                     f"{i.get('architecture')})" for i in threadpool_info())
    print(f"WIOD 2013, year {args.year}: n = {G * N} (G = {G}, N = {N}); median of "
          f"{args.repeat}; BLAS: {blas}\n")
    rows = [
        ("scipy lu_factor(I − A)  [baseline]", t_lu, 1.0),
        ("numpy.linalg.inv(I − A)", t_inv, t_inv / t_lu),
        ("IOSystem build + factorise", t_sys, t_sys / t_lu),
        ("  + V̂BY (country-sector × country)", t_vby, t_vby / t_lu),
        ("  + V̂BÊ (country × country)", t_vbe, t_vbe / t_lu),
        ("  + V̂BY and V̂BÊ (all levels)", t_both, t_both / t_lu),
        ("  + diagonal blocks B^rr", t_diag, t_diag / t_lu),
        ("  + local inverses L^ss", t_local, t_local / t_lu),
        ("YearSystem (xarray) V̂BY + V̂BÊ", t_ys, t_ys / t_lu),
    ]
    print_table(rows, "LU")
    ok = t_both / t_lu <= 2.0
    print(f"\nV̂BY + V̂BÊ = {t_both / t_lu:.2f}× LU (target ≤ 2×): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
