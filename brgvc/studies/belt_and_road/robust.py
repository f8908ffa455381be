"""Size-neutral indicators, robustness matrix and the decision rule of the four findings.

The pieces work on plain labelled arrays (``year``, ``draw`` = 0 for the base run, then the
perturbed draws), so that they can be checked on constructed tables with known answers; the
store-reading layer is :mod:`brgvc.studies.belt_and_road.findings`. The rule itself is written
out in ``docs/findings.md``:

* a *test* is one claim on one indicator in one variant (edge weight W1-W4, gross output
  balanced/published, with/without the focal country); it **holds** when the event has
  probability P >= :data:`P_SUPPORT` over the draws in every year the claim covers (for a
  trend claim: P(OLS slope over the years > 0) and P(last year > first year) both >= 0.9);
* a finding is **supported** when every test of the primary variant and of every other
  variant holds; **partly supported** when some hold and some do not (the verdict names
  those that do not); **not supported** when none holds; **cannot be tested with this
  database** when the primary variant cannot be tested (inputs absent, too few draws, or a
  region with fewer covered members than declared).

Every probability comes with its Monte Carlo standard error sqrt(p(1 - p) / R), R the number
of perturbed draws that gave a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "CANNOT",
    "P_SUPPORT",
    "VERDICTS",
    "decide",
    "focal_share",
    "group_flows",
    "leaders",
    "matrix_row",
    "mcse",
    "prob",
    "region_values",
    "spearman",
    "trend_test",
]

#: A claim holds in a test when its probability reaches this level in every covered year.
P_SUPPORT = 0.9

CANNOT = "cannot be tested with this database"

#: The four verdicts (plus :data:`CANNOT`).
VERDICTS: tuple[str, ...] = ("supported", "partly supported", "not supported", CANNOT)


def mcse(p: float | np.ndarray, r: int | np.ndarray) -> float | np.ndarray:
    """Monte Carlo standard error of a probability estimated from ``r`` draws.

    Parameters
    ----------
    p : float or ndarray
        The estimated probability.
    r : int or ndarray
        Number of draws it was estimated from (NaN when 0).

    Returns
    -------
    float or ndarray
        ``sqrt(p (1 - p) / r)``.
    """
    p = np.asarray(p, dtype=float)
    r = np.asarray(r, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sqrt(p * (1.0 - p) / np.where(r > 0, r, np.nan))
    return float(out) if out.ndim == 0 else out


def prob(event: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Share of the perturbed draws (draw > 0) where ``event`` holds, and how many counted.

    ``event`` is boolean, or float with NaN where the event is undefined (left out).
    """
    ev = event.isel(draw=slice(1, None)).astype(float)
    n = ev.notnull().sum("draw")
    p = ev.sum("draw", skipna=True) / n.where(n > 0)
    return p, n


def _slope(da: xr.DataArray) -> xr.DataArray:
    """OLS slope of ``da`` over ``year`` (NaN where any year is NaN)."""
    x = da["year"].astype(float)
    xc = x - x.mean()
    s = (da * xc).sum("year", skipna=False) / float((xc**2).sum())
    return s


def trend_test(da: xr.DataArray, sign: int = 1) -> dict[str, Any]:
    """The stated trend test of a (year, draw, ...) indicator: does it rise (``sign=-1``: fall)?

    Returns
    -------
    dict
        ``p_slope`` (P(OLS slope > 0)), ``p_last_first`` (P(last year > first year)),
        ``p`` (the smaller), ``n`` (draws counted), ``base_slope``, ``base_first``,
        ``base_last``; each an array over the dims other than year and draw (or a float).
    """
    d = da * sign
    s = _slope(d)
    lf = (d.isel(year=-1, drop=True) - d.isel(year=0, drop=True))
    p_s, n_s = prob((s > 0).where(s.notnull()))
    p_l, n_l = prob((lf > 0).where(lf.notnull()))
    return {"p_slope": p_s, "p_last_first": p_l, "p": np.minimum(p_s, p_l),
            "n": np.minimum(n_s, n_l), "base_slope": sign * s.isel(draw=0, drop=True),
            "base_first": da.isel(year=0, draw=0, drop=True),
            "base_last": da.isel(year=-1, draw=0, drop=True)}


# ------------------------------------------------------------------------------ finding 1


def group_flows(
    W: xr.DataArray, members: Sequence[str], world: xr.DataArray | None = None
) -> xr.Dataset:
    """Flows of a group in a members-plus-Rest weight matrix, and the size-neutral intensity.

    With M the group, F_MM = Σ_{i≠j ∈ M} w_ij, F_M. = Σ_{i ∈ M, j ≠ i} w_ij (to every node,
    Rest included), F_.M = Σ_{j ∈ M, i ≠ j} w_ij (from every node) and F_W the world total:

    * ``intra_share`` = F_MM / F_M. (the runner's ``net_intra_share`` when M is every member);
    * ``size_share`` = F_.M / F_W, the group's share of world flows (as destination);
    * ``intensity`` = intra_share / size_share: 1 when the members trade with each other as
      much as their size predicts, and it does not grow merely because the members grow;
    * ``total_flow`` = F_MM (nominal, context only) and ``member_share`` = F_MM / F_W.

    Parameters
    ----------
    W : xarray.DataArray
        (..., net_source, net_sink) weights: members and one ``Rest`` node (the diagonal is
        ignored).
    members : sequence of str
        The group (a subset of the members, e.g. without the focal country).
    world : xarray.DataArray, optional
        F_W, broadcastable to W without the node dims; without it, size and intensity are NaN.

    Returns
    -------
    xarray.Dataset
    """
    src = [str(x) for x in W["net_source"].values]
    m = xr.DataArray(np.isin(src, list(members)), dims="net_source",
                     coords={"net_source": W["net_source"].values})
    mt = m.rename(net_source="net_sink").assign_coords(net_sink=W["net_sink"].values)
    off = xr.DataArray(~np.eye(len(src), dtype=bool), dims=("net_source", "net_sink"),
                       coords={"net_source": W["net_source"].values,
                               "net_sink": W["net_sink"].values})
    w = W.where(off, 0.0)
    f_mm = w.where(m & mt, 0.0).sum(("net_source", "net_sink"))
    f_out = w.where(m, 0.0).sum(("net_source", "net_sink"))
    f_in = w.where(mt, 0.0).sum(("net_source", "net_sink"))
    intra = (f_mm / f_out).where(f_out > 0)
    out = xr.Dataset({"intra_share": intra, "total_flow": f_mm})
    if world is not None:
        size = (f_in / world).where(world > 0)
        out["size_share"] = size
        out["intensity"] = (intra / size).where(size > 0)
        out["member_share"] = (f_mm / world).where(world > 0)
    else:
        nan = xr.full_like(intra, np.nan)
        out["size_share"] = nan
        out["intensity"] = nan
        out["member_share"] = nan
    return out


# ------------------------------------------------------------------------------ finding 2


def leaders(strength: xr.DataArray, focal: str) -> pd.DataFrame:
    """Leader by strength per year (base run), its probability, and the switch years.

    Parameters
    ----------
    strength : xarray.DataArray
        (year, draw, node) total strength (one weight, one gross-output convention).
    focal : str
        The focal node.

    Returns
    -------
    pandas.DataFrame
        One row per year: ``leader`` (base), ``p_leader_first`` (share of draws where the base
        leader is first), ``p_focal_first``, ``mcse_focal``, ``n_draws`` and ``switch``
        (True where the base leader differs from the previous year's).
    """
    nodes = [str(x) for x in strength["node"].values]
    vals = strength.transpose("year", "draw", "node").values
    rows = []
    prev = None
    for yi, y in enumerate(strength["year"].values):
        base = vals[yi, 0]
        lead = nodes[int(np.nanargmax(base))] if np.isfinite(base).any() else ""
        d = vals[yi, 1:]
        ok = np.isfinite(d).all(axis=1)
        firsts = np.array([nodes[int(np.argmax(r))] for r in d[ok]], dtype=object)
        n = int(ok.sum())
        p_lead = float(np.mean(firsts == lead)) if n else float("nan")
        p_f = float(np.mean(firsts == focal)) if n else float("nan")
        rows.append({"year": int(y), "leader": lead, "p_leader_first": p_lead,
                     "p_focal_first": p_f, "mcse_focal": mcse(p_f, n), "n_draws": n,
                     "switch": prev is not None and lead != prev})
        prev = lead
    return pd.DataFrame(rows)


def focal_share(strength: xr.DataArray, focal: str) -> xr.DataArray:
    """The focal node's strength over the largest other node's (> 1 exactly when first)."""
    own = strength.sel(node=focal, drop=True)
    others = strength.where(strength["node"] != focal).max("node")
    return (own / others).where(others > 0)


# ------------------------------------------------------------------------------ finding 3


def spearman(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``a`` (..., k) with ``x`` (k,); NaN rows stay NaN."""
    from scipy.stats import rankdata

    a = np.asarray(a, dtype=float)
    ra = rankdata(a, axis=-1)
    rx = rankdata(x)
    ra = ra - ra.mean(axis=-1, keepdims=True)
    rx = rx - rx.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (ra * rx).sum(-1) / np.sqrt((ra**2).sum(-1) * (rx**2).sum())
    r[np.isnan(a).any(axis=-1)] = np.nan
    return r


def region_values(
    values: xr.DataArray, region_of: Mapping[str, str], min_members: int, how: str = "sum"
) -> tuple[xr.DataArray, dict[str, int], list[str]]:
    """Aggregate (..., partner) values to grouping regions with enough covered members.

    Parameters
    ----------
    values : xarray.DataArray
        Per-partner values with a ``partner`` dim.
    region_of : mapping
        Partner label -> region (partners missing here are left out).
    min_members : int
        Regions with fewer covered partners cannot be tested and are left out.
    how : {"sum", "mean"}
        Region level = sum (levels) or mean (size-normalised values) over its partners.

    Returns
    -------
    (values by region, members per region (all covered regions), regions left out)
    """
    parts = [str(p) for p in values["partner"].values if str(p) in region_of]
    count: dict[str, int] = {}
    for p in parts:
        count[region_of[p]] = count.get(region_of[p], 0) + 1
    keep = [r for r in dict.fromkeys(region_of[p] for p in parts) if count[r] >= min_members]
    dropped = [r for r in count if r not in keep]
    if not keep:
        return xr.DataArray(), count, dropped
    reg = xr.DataArray([region_of[p] for p in parts], dims="partner",
                       coords={"partner": values.sel(partner=parts)["partner"].values})
    v = values.sel(partner=parts)
    agg = [getattr(v.where(reg == r), how)("partner", skipna=True) for r in keep]
    out = xr.concat(agg, dim=xr.DataArray(np.array(keep, dtype=object), dims="region"))
    return out.where(v.notnull().all("partner")), count, dropped


# ------------------------------------------------------------------------------ decision


def decide(tests: pd.DataFrame) -> dict[str, Any]:
    """The verdict of one finding from its tests (the rule of ``docs/findings.md``).

    Parameters
    ----------
    tests : pandas.DataFrame
        One row per (variant, sub-claim) test with columns ``variant`` (str), ``primary``
        (bool), ``testable`` (bool), ``holds`` (bool; ignored where not testable), ``p_min``
        (float) and ``note`` (str).

    Returns
    -------
    dict
        ``verdict`` (one of :data:`VERDICTS`), ``disagree`` (variants where some testable
        test does not hold), ``agree`` (variants where every testable test holds),
        ``untestable`` (variant: sub-claims that cannot be tested), ``reason`` (str).
    """
    if not len(tests):
        return {"verdict": CANNOT, "disagree": [], "agree": [], "untestable": {},
                "reason": "no test could be formed from the stored results"}
    t = tests.copy()
    t["holds"] = t["holds"].astype(bool) & t["testable"].astype(bool)
    prim = t[t["primary"]]
    untestable = {v: sorted(set(g.loc[~g["testable"], "test"]))
                  for v, g in t.groupby("variant", sort=False) if (~g["testable"]).any()}
    if not len(prim) or not prim["testable"].any():
        why = "; ".join(sorted(set(prim["note"]))) if len(prim) else "no primary test"
        return {"verdict": CANNOT, "disagree": [], "agree": [], "untestable": untestable,
                "reason": why}
    testable = t[t["testable"]]
    by_var = testable.groupby("variant", sort=False)["holds"].all()
    agree = [v for v, ok in by_var.items() if ok]
    disagree = [v for v, ok in by_var.items() if not ok]
    partial_claim = bool((~prim["testable"]).any())
    if not disagree and not partial_claim:
        verdict = "supported"
    elif not agree:
        verdict = "not supported"
    else:
        verdict = "partly supported"
    reason = ""
    if partial_claim:
        reason = "part of the claim cannot be tested: " + "; ".join(
            sorted(set(prim.loc[~prim["testable"], "note"])))
    return {"verdict": verdict, "disagree": disagree, "agree": agree,
            "untestable": untestable, "reason": reason}


def matrix_row(
    finding: int, variant: str, test: str, p: Iterable[float] | float, n: Iterable[int] | int,
    *, primary: bool, note: str = "", years: str = "", base: float = float("nan"),
    **extra: Any,
) -> dict[str, Any]:
    """One row of the robustness matrix: the smallest P over the covered years decides."""
    ps = np.atleast_1d(np.asarray(p, dtype=float))
    ns = np.atleast_1d(np.asarray(n, dtype=float))
    ok = np.isfinite(ps)
    testable = bool(ok.any()) and bool(ok.all()) and not note
    if testable:
        k = int(np.argmin(ps))
        p_min, n_min = float(ps[k]), float(ns[k])
    else:
        p_min, n_min = float("nan"), float("nan")
        if not note:
            note = "no perturbed draws" if not ok.any() else "undefined in some year"
    return {"finding": finding, "variant": variant, "test": test, "years": years,
            "primary": primary, "testable": testable,
            "holds": testable and p_min >= P_SUPPORT, "p_min": p_min,
            "mcse": mcse(p_min, n_min) if testable else float("nan"),
            "n_draws": n_min, "base": base, "note": note, **extra}
