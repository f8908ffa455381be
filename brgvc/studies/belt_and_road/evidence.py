"""The robust layer of the findings: size-neutral tables, the robustness matrix and verdicts.

Reads one or more finished runs (the main run and its variants, e.g. ``variants/published``)
through the findings' store view and forms, draw by draw, only *derived* quantities (group
flows from ``net_weight``, leaders, region aggregates, group rates); statistics over draws use
:func:`brgvc.draws.summarise` as the runner does. The rule is :func:`robust.decide`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brgvc.studies.belt_and_road.robust import (
    CANNOT,
    decide,
    group_flows,
    leaders,
    matrix_row,
    prob,
    region_values,
    spearman,
    trend_test,
)

__all__ = ["CANNOT", "WEIGHT_DIM", "net_array", "robust_tables"]

#: The dim of the network outputs that names the edge weight.
WEIGHT_DIM = "weight"


def net_array(src: Any, name: str) -> xr.DataArray | None:
    """``net_<name>`` with a ``weight`` dim (added from the job's weight for older stores)."""
    da = src.net(name)
    if da is None:
        return None
    if WEIGHT_DIM not in da.dims:
        w = (src.spec.get("network") or {}).get("weight", "W1")
        w = [w] if isinstance(w, str) else list(w)
        da = da.expand_dims({WEIGHT_DIM: np.array(w[:1], dtype=object)}, axis=2)
    return da


def _weights(src: Any) -> list[str]:
    da = net_array(src, "total_flow")
    return [] if da is None else [str(w) for w in da[WEIGHT_DIM].values]


def _go(src: Any) -> str:
    return str(src.spec.get("gross_output", "balanced"))


def _years(src: Any, finding: int) -> list[int]:
    cy = (src.options.get("claim_years") or {})
    cy = cy.get(finding, cy.get(str(finding), "all")) if isinstance(cy, Mapping) else cy
    if cy in (None, "all"):
        return src.years
    return [y for y in src.years if y in {int(v) for v in cy}]


def _span(years: Sequence[int]) -> str:
    return f"{years[0]}-{years[-1]}" if years else ""


def _world(src: Any, weight: str) -> xr.DataArray | None:
    w = src.var("br_capture", "world_flow")
    if w is None or weight not in [str(x) for x in w["br_weight"].values]:
        return None
    return w.sel(br_weight=weight, drop=True).load()


def _stat_rows(da: xr.DataArray, frame_fn, **cols: Any) -> pd.DataFrame:
    df = frame_fn(da, cols.pop("indicator"))
    for k, v in cols.items():
        df[k] = v
    return df


# ------------------------------------------------------------------------------ finding 1


def _finding1(srcs: Sequence[Any], focal: str, frame_fn) -> tuple[pd.DataFrame, list[dict]]:
    frames, tests = [], []
    for src in srcs:
        W = net_array(src, "weight")
        if W is None:
            continue
        W = W.load()
        years = _years(src, 1)
        members = [str(n) for n in src.ds["node"].values]
        for w in [str(x) for x in W[WEIGHT_DIM].values]:
            world = _world(src, w)
            for with_focal in (True, False):
                grp = members if with_focal else [m for m in members if m != focal]
                gf = group_flows(W.sel({WEIGHT_DIM: w}, drop=True), grp, world)
                tag = "with" if with_focal else "without"
                variant = f"{w}/{_go(src)}/{tag} {focal}"
                for ind in ("intensity", "intra_share", "size_share", "member_share",
                            "total_flow"):
                    frames.append(_stat_rows(gf[ind], frame_fn, indicator=ind, weight=w,
                                             gross_output=_go(src), focal=tag))
                for ind in ("intensity", "intra_share"):
                    da = gf[ind].sel(year=years)
                    note = "" if world is not None or ind == "intra_share" else \
                        "no world total of this weight in the store (br_capture)"
                    tt = trend_test(da)
                    tests.append(matrix_row(
                        1, variant, f"{ind} rises", [float(tt["p"])], [int(tt["n"])],
                        primary=(ind == "intensity" and with_focal and w == "W1"
                                 and _go(src) == "balanced"),
                        note=note, years=_span(years), base=float(tt["base_slope"]),
                        indicator=ind, weight=w, gross_output=_go(src), focal=tag))
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), tests


# ------------------------------------------------------------------------------ finding 2


def _finding2(srcs: Sequence[Any], focal: str, frame_fn) -> tuple[pd.DataFrame, list[dict]]:
    from brgvc.studies.belt_and_road.robust import focal_share

    rows, tests = [], []
    for src in srcs:
        S = net_array(src, "strength")
        if S is None or focal not in [str(n) for n in S["node"].values]:
            continue
        S = S.load()
        core = net_array(src, "core")
        years = _years(src, 2)
        for w in [str(x) for x in S[WEIGHT_DIM].values]:
            s = S.sel({WEIGHT_DIM: w}, drop=True)
            lead = leaders(s, focal)
            lead.insert(1, "weight", w)
            lead.insert(2, "gross_output", _go(src))
            rows.append(lead)
            variant = f"{w}/{_go(src)}"
            primary = w == "W1" and _go(src) == "balanced"
            sel = lead[lead["year"].isin(years)]
            tests.append(matrix_row(
                2, variant, f"{focal} first by strength every year", sel["p_focal_first"],
                sel["n_draws"], primary=primary, years=_span(years),
                base=float((sel["leader"] == focal).mean()), weight=w, gross_output=_go(src),
                focal="with"))
            if core is not None:
                c = core.sel({WEIGHT_DIM: w, "node": focal}, drop=True).sel(year=years).load()
                p, n = prob((c > 0).where(c.notnull()))
                tests.append(matrix_row(
                    2, variant, f"{focal} in the discrete core every year", p.values, n.values,
                    primary=primary, years=_span(years), weight=w, gross_output=_go(src),
                    focal="with"))
            prim = focal_share(s, focal).sel(year=years)
            tt = trend_test(prim)
            tests.append(matrix_row(
                2, variant, f"{focal}'s primacy rises", [float(tt["p"])], [int(tt["n"])],
                primary=primary, years=_span(years), base=float(tt["base_slope"]), weight=w,
                gross_output=_go(src), focal="with"))
    return (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()), tests


# ------------------------------------------------------------------------------ finding 3


def _gdp(src: Any, partners: list[str]) -> xr.DataArray | None:
    g = src.var("br_capture", "gdp")
    if g is None:
        return None
    return g.sel(br_importer=partners).rename(br_importer="partner").load()


def _definitions(src: Any, focal: str) -> dict[str, tuple[xr.DataArray, xr.DataArray | None]]:
    """Definitions of "value added the focal country obtains from j": (level, partner size).

    The partner size is j's total incoming flow of the same weight (so that the normalised
    value is the focal country's share among j's sources).
    """
    out: dict[str, tuple[xr.DataArray, xr.DataArray | None]] = {}
    W = net_array(src, "weight")
    members = [str(n) for n in src.ds["node"].values] if "node" in src.ds.coords else []
    partners = [m for m in members if m != focal]
    size: dict[str, xr.DataArray] = {}
    if W is not None and focal in members:
        W = W.load()
        for w in [str(x) for x in W[WEIGHT_DIM].values]:
            ww = W.sel({WEIGHT_DIM: w}, drop=True)
            lvl = ww.sel(net_source=focal, net_sink=partners, drop=True).rename(
                net_sink="partner")
            names = [str(x) for x in ww["net_source"].values]
            off = xr.DataArray(~np.eye(len(names), dtype=bool), dims=("net_source", "net_sink"),
                               coords={"net_source": ww["net_source"].values,
                                       "net_sink": ww["net_sink"].values})
            col = ww.where(off, 0.0).sel(net_sink=partners).sum("net_source")
            size[w] = col.rename(net_sink="partner")
            out[f"{w} {focal}->j"] = (lvl, size[w])
    a = src.var("china_va", "a")
    if a is not None:
        a = a.load()
        keep = [p for p in [str(x) for x in a["partner"].values] if p in partners]
        if keep:
            measure = "wwz"
            for item in src.spec.get("measures", []):
                if isinstance(item, Mapping) and item.get("name") == "china_va":
                    measure = str(item.get("measure", "wwz"))
            out[f"china_va ({measure})"] = (a.sel(partner=keep), size.get("W3"))
    return out


def _finding3(
    srcs: Sequence[Any], focal: str, frame_fn, min_members: int
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    from brgvc.regions import capital_lonlat

    reg_rows, grad_rows, tests = [], [], []
    for src in srcs:
        years = _years(src, 3)
        expected = str(src.options.get("expected_top_region", "Southeast Asia"))
        defs = _definitions(src, focal)
        first = next((n for n in defs if n.startswith("china_va")),
                     next((n for n in defs if n.startswith("W3")), next(iter(defs), "")))
        for name, (lvl, size) in defs.items():
            partners = [str(p) for p in lvl["partner"].values]
            gdp = _gdp(src, partners)
            region_of = {p: src.region_of(p) for p in partners if src.region_of(p)}
            lon = np.array([capital_lonlat(src.iso.get(p, p))[0] for p in partners])
            for norm in ("level", "size-normalised", "per partner GDP"):
                if norm == "level":
                    v, how = lvl, "sum"
                elif norm == "size-normalised" and size is not None:
                    v, how = (lvl / size.sel(partner=partners)).where(size > 0), "mean"
                elif norm == "per partner GDP" and gdp is not None:
                    v, how = (lvl / gdp).where(gdp > 0), "mean"
                else:
                    continue
                variant = f"{name}/{norm}/{_go(src)}"
                primary = name == first and norm == "level" and _go(src) == "balanced"
                reg, count, _ = region_values(v, region_of, min_members, how)
                n_exp = count.get(expected, 0)
                if n_exp < min_members or reg.ndim == 0 or reg.sizes.get("region", 0) < 2:
                    note = (f"{expected}: {n_exp} covered member(s) < {min_members}"
                            if n_exp < min_members else
                            f"fewer than 2 regions with >= {min_members} covered members")
                    tests.append(matrix_row(3, variant, f"{expected} is the top source region",
                                            [np.nan], [0], primary=primary, note=note,
                                            years=_span(years), definition=name,
                                            normalisation=norm, gross_output=_go(src)))
                else:
                    regions = [str(r) for r in reg["region"].values]
                    top = reg.fillna(-np.inf).argmax("region")
                    p, n = prob((top == regions.index(expected)).where(
                        reg.notnull().all("region")))
                    p = p.sel(year=years)
                    n = n.sel(year=years)
                    tests.append(matrix_row(3, variant, f"{expected} is the top source region",
                                            p.values, n.values, primary=primary,
                                            years=_span(years), definition=name,
                                            normalisation=norm, gross_output=_go(src)))
                    df = frame_fn(reg.transpose("year", "draw", "region"), "region_value")
                    df["members"] = df["region"].map(count)
                    df["definition"], df["normalisation"] = name, norm
                    df["gross_output"] = _go(src)
                    reg_rows.append(df)
                ok = np.isfinite(lon)
                vals = v.transpose("year", "draw", "partner").values[..., ok]
                rho = xr.DataArray(spearman(vals, lon[ok]), dims=("year", "draw"),
                                   coords={"year": v["year"], "draw": v["draw"]})
                df = frame_fn(rho, "spearman_lon")
                df["definition"], df["normalisation"] = name, norm
                df["gross_output"] = _go(src)
                df["n_partners"] = int(ok.sum())
                grad_rows.append(df)
                p, n = prob((rho > 0).where(rho.notnull()))
                tests.append(matrix_row(3, variant, "value added higher further east",
                                        p.sel(year=years).values, n.sel(year=years).values,
                                        primary=primary, years=_span(years),
                                        note="" if ok.sum() >= 3 else "fewer than 3 partners",
                                        definition=name, normalisation=norm,
                                        gross_output=_go(src)))
    return _cat(reg_rows), _cat(grad_rows), tests


def _cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# ------------------------------------------------------------------------------ finding 4


def _rate(num: xr.DataArray, den: xr.DataArray, e: str, k: str,
          markets: list[str]) -> xr.DataArray:
    """Group rate k of exporter e over the markets: a ratio of sums."""
    n_ = num.sel(br_rate=k, br_exporter=e, br_importer=markets).sum("br_importer")
    d_ = den.sel(br_rate=k, br_exporter=e, br_importer=markets).sum("br_importer")
    return (n_ / d_).where(d_ > 0)


def _finding4(
    srcs: Sequence[Any], focal: str, frame_fn
) -> tuple[pd.DataFrame, list[dict]]:
    rows, tests = [], []
    for src in srcs:
        num, den = src.var("br_capture", "num"), src.var("br_capture", "den")
        if num is None or den is None:
            continue
        num, den = num.load(), den.load()
        years = _years(src, 4)
        exps = [str(x) for x in num["br_exporter"].values]
        if focal not in exps:
            continue
        members = [str(n) for n in src.ds["node"].values] if "node" in src.ds.coords else [
            p for p in [str(x) for x in num["br_importer"].values] if src.region_of(p)]
        vbss, fin = src.var("br_capture", "vbss"), src.var("br_capture", "final_sector")
        for b in [e for e in exps if e != focal]:
            markets = [m for m in members if m not in (focal, b)]

            for k in [str(x) for x in num["br_rate"].values]:
                ef, eb = _rate(num, den, focal, k, markets), _rate(num, den, b, k, markets)
                rows.append(_stat_rows(ef / eb, frame_fn, indicator=f"{k} ratio",
                                       benchmark=b, gross_output=_go(src)))
                p, n = prob((ef < eb).where(ef.notnull() & eb.notnull()))
                tests.append(matrix_row(
                    4, f"{k}/{_go(src)}", f"{k} {focal} < {k} {b}",
                    p.sel(year=years).values, n.sel(year=years).values,
                    primary=(k == "e3" and _go(src) == "balanced"), years=_span(years),
                    base=float((ef / eb).isel(draw=0).sel(year=years[-1])),
                    measure=k, benchmark=b, gross_output=_go(src)))
            if vbss is not None and fin is not None:
                # e3 at a common sector mix: both exporters' sector rates V^sB^{ss} weighted
                # by the benchmark's final exports to the same markets.
                mix = fin.sel(br_exporter=b, br_member=[m for m in markets if m in [
                    str(x) for x in fin["br_member"].values]]).sum("br_member").load()
                tot = mix.sum("br_sector")
                ef = (vbss.sel(br_exporter=focal) * mix).sum("br_sector") / tot
                eb = (vbss.sel(br_exporter=b) * mix).sum("br_sector") / tot
                ef, eb = ef.where(tot > 0).load(), eb.where(tot > 0).load()
                rows.append(_stat_rows(ef / eb, frame_fn, indicator="e3 within-sector ratio",
                                       benchmark=b, gross_output=_go(src)))
                p, n = prob((ef < eb).where(ef.notnull() & eb.notnull()))
                tests.append(matrix_row(
                    4, f"e3 within sectors/{_go(src)}", f"e3 {focal} < e3 {b} at {b}'s mix",
                    p.sel(year=years).values, n.sel(year=years).values, primary=False,
                    years=_span(years), base=float((ef / eb).isel(draw=0).sel(
                        year=years[-1])), measure="e3 within sectors", benchmark=b,
                    gross_output=_go(src)))
    return (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()), tests


# ------------------------------------------------------------------------------ context


def _context(srcs: Sequence[Any]) -> pd.DataFrame:
    """RoW share of world flows and the emptied (clipped negative) mass, per variant."""
    rows = []
    for src in srcs:
        tf, nm = net_array(src, "total_flow"), net_array(src, "negative_mass")
        rw = src.var("br_capture", "row_flow")
        wf = src.var("br_capture", "world_flow")
        for w in _weights(src):
            r: dict[str, Any] = {"weight": w, "gross_output": _go(src)}
            if tf is not None and nm is not None:
                t = tf.sel({WEIGHT_DIM: w}).values
                m = nm.sel({WEIGHT_DIM: w}).values
                with np.errstate(invalid="ignore", divide="ignore"):
                    share = m / (t + m)
                r["emptied_share_max"] = float(np.nanmax(share)) if np.isfinite(
                    share).any() else float("nan")
                r["emptied_networks"] = int(np.sum(np.nan_to_num(m) > 0))
            if rw is not None and wf is not None and w in [str(x) for x in
                                                          rw["br_weight"].values]:
                s = (rw.sel(br_weight=w) / wf.sel(br_weight=w)).isel(draw=0).values
                r["row_share_min"] = float(np.nanmin(s)) if np.isfinite(s).any() else np.nan
                r["row_share_max"] = float(np.nanmax(s)) if np.isfinite(s).any() else np.nan
            rows.append(r)
    return pd.DataFrame(rows)


def robust_tables(
    srcs: Sequence[Any], focal: str, frame_fn, min_members: int = 2
) -> dict[str, pd.DataFrame]:
    """Every robust table of the findings from the main run and its variants.

    Parameters
    ----------
    srcs : sequence
        Store views (the findings' ``_Source``), the main run first.
    focal : str
        The focal country's label.
    frame_fn : callable
        ``frame_fn(da, indicator) -> DataFrame`` reducing a (year, draw, ...) array over draws.
    min_members : int
        Regions with fewer covered members cannot be tested (finding 3).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``size_neutral``, ``leaders_by_weight``, ``sources_definitions``,
        ``gradient_definitions``, ``efficiency_measures``, ``robustness`` (every test),
        ``context`` (RoW share, emptied mass) and ``decisions`` (one row per finding).
    """
    t1, r1 = _finding1(srcs, focal, frame_fn)
    t2, r2 = _finding2(srcs, focal, frame_fn)
    t3r, t3g, r3 = _finding3(srcs, focal, frame_fn, min_members)
    t4, r4 = _finding4(srcs, focal, frame_fn)
    tests = pd.DataFrame(r1 + r2 + r3 + r4)
    decisions = []
    for k in (1, 2, 3, 4):
        sub = tests[tests["finding"] == k] if len(tests) else tests
        d = decide(sub)
        decisions.append({"finding": k, "verdict": d["verdict"],
                          "disagree": "; ".join(d["disagree"]),
                          "agree": "; ".join(d["agree"]),
                          "untestable": "; ".join(f"{v}: {', '.join(s)}" for v, s in
                                                  d["untestable"].items()),
                          "reason": d["reason"]})
    return {"size_neutral": t1, "leaders_by_weight": t2, "sources_definitions": t3r,
            "gradient_definitions": t3g, "efficiency_measures": t4, "robustness": tests,
            "context": _context(srcs), "decisions": pd.DataFrame(decisions)}

