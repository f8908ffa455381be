"""Realistic synthetic MRIO tables of any size, built from the embedded WIOD 2013 release.

:func:`synthetic_mrio` returns a canonical cube of G regions × N sectors that keeps the
structure of a real table (WIOD 2013, 41 × 35, by default 2011):

1. **Base.** The WIOD year with its published gross output: the small row discrepancy
   GO − Z·1 − F·1 (integer rounding in the source) is booked to the own country's
   inventories, and the few sectors with zero output lose their tiny sales, so that
   x = Z·1 + Y·1 holds exactly and every sector with output has value added ≥ 9 % of it.
2. **Shrinking.** Where G < 41 the G − 1 largest economies are kept and the others summed
   into ``RoW``; where N < 35 neighbouring WIOD sectors are summed into N groups.
3. **Splitting.** Where N > 35 each WIOD sector is split into sub-sectors (more for larger
   sectors) and where G > 41 each country into replicas (more for larger countries). A
   parent cell (region r, sector j) gets children (r', j') with shares
   s = σ_{r'} · τ_{r', j'}, σ ~ Dirichlet(β) over a country's replicas and τ ~ Dirichlet(α)
   over a sector's sub-sectors, drawn separately for every replica. Rows and columns are
   split with the same shares: Z'[k, l] = Z[p(k), p(l)] · s_k · s_l, Y'[k, (d, f)] =
   Y[p(k), (p(d), f)] · s_k · σ_d and x' = x[p(k)] · s_k.

Splitting preserves every total (children sum to their parent), the identities
x = Z·1 + Y·1 and x = 1'Z + va, value added ≥ 0 (va' = s · va) and the column sums of
A (A'[:, l] sums to the column sum of its parent), so the system stays productive: the
spectral radius of A is at most the largest column sum of the base, about 0.91.
Randomness comes only from ``np.random.default_rng(np.random.SeedSequence(seed))``: the same
seed gives the same table.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import xarray as xr

from brgvc.schema import make_cube

__all__ = ["base_table", "synthetic_arrays", "synthetic_mrio"]

FD = ("CONS_h", "CONS_np", "CONS_g", "GFCF", "INVEN")


@functools.lru_cache(maxsize=2)
def base_table(year: int = 2011) -> tuple:
    """The balanced WIOD 2013 base (read once; arrays are read-only).

    Returns
    -------
    tuple
        ``(Z, F, x, regions, sectors)`` with Z (1435 × 1435), F (1435 × 205), x (1435).
    """
    from brgvc.datasets import data_path
    from brgvc.readers import wiod2013

    folder = data_path("wiod2013")
    regions, sectors = wiod2013.read_labels(folder)
    d = wiod2013.read_year(folder / f"wiot_{year}.csv.gz", regions, sectors)
    Z, F, x = d["Z"].copy(), d["Y"].copy(), d["x"].copy()
    G, N, K = len(regions), len(sectors), len(FD)
    zero = x <= 0
    Z[zero] = 0.0
    F[zero] = 0.0
    x[zero] = 0.0
    resid = x - Z.sum(1) - F.sum(1)
    own = np.repeat(np.arange(G), N) * K + FD.index("INVEN")
    F[np.arange(G * N), own] += resid
    for a in (Z, F, x):
        a.setflags(write=False)
    return Z, F, x, tuple(regions), tuple(sectors)


def _counts(total: int, weights: np.ndarray) -> np.ndarray:
    """Children per parent: at least one each, the rest by largest remainder of weights."""
    m = len(weights)
    extra = total - m
    w = np.maximum(np.asarray(weights, float), 0) + 1e-12
    quota = extra * w / w.sum()
    k = np.floor(quota).astype(int)
    left = extra - k.sum()
    k[np.argsort(-(quota - k), kind="stable")[:left]] += 1
    return k + 1


def _shrink_regions(G: int, regions: Sequence[str], size: np.ndarray):
    """Grouping matrix (G × 41) keeping the G−1 largest economies (RoW collects the rest)."""
    n = len(regions)
    if G >= n:
        return np.eye(n), list(regions)
    countries = [i for i, r in enumerate(regions) if r != "RoW"]
    keep = sorted(sorted(countries, key=lambda i: -size[i])[: G - 1])
    labels = [regions[i] for i in keep] + ["RoW"]
    M = np.zeros((G, n))
    for g, i in enumerate(keep):
        M[g, i] = 1.0
    M[G - 1, [i for i in range(n) if i not in keep]] = 1.0
    return M, labels


def _shrink_sectors(N: int, sectors: Sequence[str]):
    """Grouping matrix (N × 35) summing neighbouring sectors."""
    n = len(sectors)
    if N >= n:
        return np.eye(n), list(sectors)
    M = np.zeros((N, n))
    labels = []
    for g, idx in enumerate(np.array_split(np.arange(n), N)):
        M[g, idx] = 1.0
        labels.append(sectors[idx[0]] if len(idx) == 1 else f"{sectors[idx[0]]}-"
                      f"{sectors[idx[-1]]}")
    return M, labels


def synthetic_arrays(
    G: int = 41,
    N: int = 35,
    *,
    seed: int = 0,
    year: int = 2011,
    alpha: float = 2.0,
    beta: float = 2.0,
) -> dict:
    """Stacked arrays of a synthetic MRIO (see the module docstring).

    Parameters
    ----------
    G, N : int
        Regions and sectors (any positive sizes).
    seed : int
        Seed of the Dirichlet shares.
    year : int
        WIOD 2013 base year (1995-2011).
    alpha, beta : float
        Dirichlet concentrations of the sector and region splits (larger: more even).

    Returns
    -------
    dict
        ``Z`` (GN × GN), ``Y`` (GN × G·5), ``x`` (GN), ``regions``, ``sectors``, ``fd`` and
        ``parent`` (index of each new country-sector in the shrunk base).
    """
    if G < 1 or N < 1:
        raise ValueError(f"G and N must be positive, got G={G}, N={N}")
    Z0, F0, x0, regions0, sectors0 = base_table(year)
    G0, N0, K = len(regions0), len(sectors0), len(FD)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    # 1. shrink where asked for fewer regions/sectors than the base has
    size = x0.reshape(G0, N0).sum(1)
    R, reg_b = _shrink_regions(G, regions0, size)
    S, sec_b = _shrink_sectors(N, sectors0)
    P = np.kron(R, S)
    Zb = P @ Z0 @ P.T
    Fb = P @ F0 @ np.kron(R, np.eye(K)).T
    xb = P @ x0
    Gb, Nb = len(reg_b), len(sec_b)
    # 2. split where asked for more
    kr = _counts(G, xb.reshape(Gb, Nb).sum(1)) if G > Gb else np.ones(Gb, int)
    ks = _counts(N, xb.reshape(Gb, Nb).sum(0)) if N > Nb else np.ones(Nb, int)
    reg_parent = np.repeat(np.arange(Gb), kr)
    sec_parent = np.repeat(np.arange(Nb), ks)
    sigma = np.concatenate([rng.dirichlet(np.full(k, beta)) if k > 1 else np.ones(1)
                            for k in kr])
    tau = np.empty((G, N))
    for g in range(G):
        tau[g] = np.concatenate([rng.dirichlet(np.full(k, alpha)) if k > 1 else np.ones(1)
                                 for k in ks])
    share = (sigma[:, None] * tau).reshape(-1)
    parent = (reg_parent[:, None] * Nb + sec_parent[None, :]).reshape(-1)
    Z = Zb[np.ix_(parent, parent)]
    Z *= share[:, None]
    Z *= share[None, :]
    Yb = Fb[parent].reshape(G * N, Gb, K)[:, reg_parent, :]
    Yb *= share[:, None, None] * sigma[None, :, None]
    x = xb[parent] * share
    regions = _labels(reg_b, kr, "")
    sectors = _labels(sec_b, ks, ".")
    return {"Z": Z, "Y": Yb.reshape(G * N, G * K), "x": x, "regions": regions,
            "sectors": sectors, "fd": list(FD), "parent": parent}


def _labels(base: Sequence[str], counts: np.ndarray, sep: str) -> list[str]:
    out = []
    for b, k in zip(base, counts, strict=True):
        out += [b] if k == 1 else [f"{b}{sep}{i + 1}" for i in range(k)]
    return out


def synthetic_mrio(
    G: int = 41,
    N: int = 35,
    *,
    seed: int = 0,
    year: int = 2011,
    alpha: float = 2.0,
    beta: float = 2.0,
    label_year: int | None = None,
) -> xr.Dataset:
    """A realistic synthetic MRIO cube of G regions × N sectors, reproducible from ``seed``.

    Parameters
    ----------
    G, N : int
        Regions and sectors.
    seed : int
        Seed (``np.random.SeedSequence``): the same seed gives the same table.
    year : int
        WIOD 2013 base year.
    alpha, beta : float
        Dirichlet concentrations of the sector and region splits.
    label_year : int, optional
        Value of the ``year`` coordinate (default ``year``).

    Returns
    -------
    xarray.Dataset
        Canonical cube (:func:`brgvc.schema.make_cube`, balanced: x = Z·1 + Y·1,
        va = x − 1'Z ≥ 0), one year, with ``x_published`` the split base output.

    Examples
    --------
    >>> ds = synthetic_mrio(50, 160, seed=1)
    >>> ds.sizes["region"] * ds.sizes["sector"]
    8000
    """
    d = synthetic_arrays(G, N, seed=seed, year=year, alpha=alpha, beta=beta)
    GN = G * N
    attrs = {
        "source": "synthetic",
        "release": f"from WIOD 2013 {year}",
        "unit": "million USD, current prices",
        "seed": int(seed),
        "method": "Dirichlet split of WIOD 2013 sectors and countries (brgvc.synthetic)",
        "alpha": float(alpha),
        "beta": float(beta),
    }
    return make_cube(
        d["Z"].reshape(1, GN, GN), d["Y"].reshape(1, GN, -1), d["x"].reshape(1, GN),
        years=[label_year if label_year is not None else year], regions=d["regions"],
        sectors=d["sectors"], fd=d["fd"], attrs=attrs, gross_output="balanced",
    )
