"""Calibrate the bootstrap draw model against the literature's uncertainty of country totals.

Rodrigues, Moran, Wood & Behrens (2018, Environ. Sci. Technol. 52: 7577-7586) compared five
MRIO databases and found a relative uncertainty of 2-16 % on country consumption-based totals,
and that independent cell errors understate it because the errors are strongly correlated.
Independent 10 % cell errors average out in country sums (CV 0.4-2 % on WIOD); correlated
country-pair shocks ``exp(eta_s + eta_r)`` (``tau``) do not.

This script draws ``R`` perturbed WIOD tables per scenario and prints, for three country
totals, the coefficient of variation over draws across the 41 WIOD regions (min / median /
max): gross exports, value added exported and absorbed abroad (VAX, row sums of S V^BY off the
diagonal) and foreign value added absorbed by the country's final demand (the value-added
analogue of a consumption-based footprint, column sums of S V^BY off the diagonal).

Usage::

    python benchmarks/calibrate_uncertainty.py [--draws 60] [--years 1995 2011]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from brgvc.core.kernels import IOSystem, country_sum
from brgvc.datasets import open_dataset
from brgvc.draws import RSE, DrawModel, Sampler, Table, draw_rng

#: The size-dependent cell RSE of the default job: 10 % at a cell of USD 100 million, rising
#: for smaller cells with elasticity 0.2, between 5 % and 50 % (stated assumptions).
SIZE_RSE = RSE("size", a=0.1, b=0.2, lo=0.05, hi=0.5, z_ref=100.0)

#: Scenarios compared; the last is the default of jobs/belt_and_road.yaml.
SCENARIOS: dict[str, DrawModel] = {
    "flat 10 %, independent": DrawModel(rse=RSE("flat", value=0.1)),
    "size RSE, independent": DrawModel(rse=SIZE_RSE),
    "size RSE, tau 0.03": DrawModel(rse=SIZE_RSE, tau=0.03),
    "size RSE, tau 0.08": DrawModel(rse=SIZE_RSE, tau=0.08),
    "size RSE, tau 0.05": DrawModel(rse=SIZE_RSE, tau=0.05),
}


def country_totals(t: Table) -> dict[str, np.ndarray]:
    """Gross exports, VAX and foreign VA in final demand, by country (G,)."""
    sys_ = IOSystem(t.Z, t.Yd, t.x, t.va, t.G, t.N)
    exports = country_sum(sys_.exports.sum(1), t.G, t.N)
    vby = sys_.vby_country()
    off = vby - np.diag(np.diag(vby))
    return {"gross exports": exports, "VAX": off.sum(1), "foreign VA in FD": off.sum(0)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=60)
    p.add_argument("--years", type=int, nargs="+", default=[1995, 2011])
    p.add_argument("--seed", type=int, default=20190701)
    args = p.parse_args()
    print(f"{'year':>4}  {'scenario':<26} {'total':<18} {'CV min':>7} {'median':>7} "
          f"{'max':>7}  {'in 2-16 %':>9}")
    for year in args.years:
        base = Table.from_cube(open_dataset("wiod2013", years=[year]).sel(year=year).load(),
                               gross_output="balanced")
        for name, model in SCENARIOS.items():
            t0 = time.perf_counter()
            sampler = Sampler(base, model)
            samples = [country_totals(sampler.draw(draw_rng(args.seed, year, d)))
                       for d in range(1, args.draws + 1)]
            for total in samples[0]:
                v = np.stack([s[total] for s in samples])
                cv = v.std(0, ddof=1) / np.abs(v.mean(0))
                share = np.mean((cv >= 0.02) & (cv <= 0.16))
                print(f"{year:>4}  {name:<26} {total:<18} {cv.min():7.2%} {np.median(cv):7.2%} "
                      f"{cv.max():7.2%}  {share:9.0%}")
            print(f"{'':>4}  ({args.draws} draws in {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
