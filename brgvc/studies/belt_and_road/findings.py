"""The four findings of Zheng et al. (2019) (docs/methods.md §0), answered from a result store.

Everything here is *derived* from the per-draw results a run wrote (``results.zarr``): no
Leontief algebra is redone. Each statistic over draws uses the runner's own reduction
(:func:`brgvc.draws.summarise`: base, mean, sd, cv, 2.5 and 97.5 percentiles over the
draws, draw 0 being the unperturbed base run), so values of stored variables equal those in
``summary.zarr``; derived per-draw quantities (growth indices, China's primacy, rank
correlations, group aggregates of e3) are formed draw by draw first and then reduced the same
way. Probabilities are shares of the perturbed draws (NaN draws left out).

The four findings and what answers them:

1. *Intra-B&R connection intensity rose* — total intra-group flow, weighted density and
   intra-group share of the W1 network (``net_total_flow``, ``net_density_weighted``,
   ``net_intra_share``) per year; growth index vs the first year; P(last year > first).
2. *China is the core and first* — China's strength, coreness and PageRank ranks, P(China
   ranks first), discrete-core membership, primacy S2/S4/S11 of the first node and China's
   own primacy (its strength over the largest other); P(S2 rises).
3. *VA China obtains is high in the east, Southeast Asia first* — ``china_va`` by partner and
   by grouping region (levels, shares); Spearman correlation of a_j with the capital's
   longitude (and latitude); P(Southeast Asia is the top region).
4. *Low capture efficiency* — e3 (final-goods DVA rate) of China to the B&R partners vs the
   benchmark exporters to the same partners (from ``final_dva_rate``), P(e_CHN < e_bench);
   e1, e2, e3 by region (``china_efficiency``).

The coverage of the grouping by the table is always stated (WIOD 2013 has 14 B&R economies
besides China as separate countries); regions with no covered member are named, and the
same code runs unchanged on tables that cover more.

Public API: :func:`findings` (tables), :func:`findings_text` (Markdown for the terminal),
:func:`write_findings` (``findings/*.csv``, ``findings.md`` and ``networks/`` into the
results folder).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brgvc.draws import INTERVAL_STATS, interval_stats
from brgvc.studies.belt_and_road.robust import spearman

__all__ = [
    "STATS",
    "SUPPORT",
    "FindingsError",
    "FindingsFiles",
    "findings",
    "findings_text",
    "write_findings",
]

#: Statistic columns of every per-year table (as :func:`brgvc.draws.summarise` names them).
STATS: tuple[str, ...] = INTERVAL_STATS

#: A finding counts as "supported" when its key probability reaches this level.
SUPPORT = 0.9

#: Regions with fewer covered members than this cannot be tested (``min_members`` option).
MIN_MEMBERS = 2

_FOCAL_DEFAULT = "CHN"
_TOP_REGION_DEFAULT = "Southeast Asia"


class FindingsError(RuntimeError):
    """The folder holds no result store, or one that findings cannot read."""


# ------------------------------------------------------------------------------ the store


@dataclasses.dataclass
class _Source:
    """A finished run as the findings see it."""

    out: Path
    ds: xr.Dataset
    spec: dict[str, Any]
    options: dict[str, Any]
    aliases: dict[str, str]
    data_attrs: dict[str, Any]
    database: str | None
    grouping: Any
    regions: list[str]
    iso: dict[str, str]
    focal: str | None
    summary: xr.Dataset | None = None

    @property
    def years(self) -> list[int]:
        return [int(y) for y in self.ds["year"].values]

    @property
    def n_draws(self) -> int:
        """Perturbed draws (draw 0, the base, excluded)."""
        return int(self.ds.sizes["draw"]) - 1

    def var(self, measure: str, suffix: str = "") -> xr.DataArray | None:
        """A measure's variable by the measure's registry name (its alias may differ)."""
        alias = self.aliases.get(measure)
        if alias is None:
            return None
        name = alias if not suffix else f"{alias}_{suffix}"
        return self.ds[name] if name in self.ds else None

    def net(self, name: str) -> xr.DataArray | None:
        """A network output ``net_<name>`` with all its weights (``weight`` dim), or None."""
        key = f"net_{name}"
        return self.ds[key] if key in self.ds else None

    @property
    def primary_weight(self) -> str | None:
        """The weight of the primary indicators: W1 when computed, else the job's first."""
        da = self.net("total_flow")
        if da is None or "weight" not in da.dims:
            return None
        ws = [str(w) for w in da["weight"].values]
        return "W1" if "W1" in ws else ws[0]

    def net1(self, name: str) -> xr.DataArray | None:
        """``net_<name>`` of the primary weight (no ``weight`` dim)."""
        da = self.net(name)
        if da is not None and "weight" in da.dims:
            da = da.sel(weight=self.primary_weight, drop=True)
        return da

    def stored_stats(self, name: str, **sel: Any) -> xr.DataArray | None:
        """Statistics over draws of a stored variable, as the runner reduced them.

        Read from ``summary.zarr`` (issue 13: not recomputed); None when the summary lacks
        the variable, so that the caller reduces it itself.
        """
        if self.summary is None or name not in self.summary:
            return None
        da = self.summary[name]
        if "weight" in da.dims and "weight" not in sel:
            sel = {**sel, "weight": self.primary_weight}
        try:
            return da.sel(**sel, drop=True).sel(stat=list(STATS)).load()
        except (KeyError, ValueError):
            return None

    def region_of(self, label: str) -> str | None:
        return self.grouping.region_of(self.iso.get(label, label))


def _results_path(results_dir: str | Path, allow_partial: bool = False) -> tuple[Path, Path]:
    from brgvc.runner.store import verify_results

    out = Path(results_dir)
    if out.name == "results.zarr":
        out = out.parent
    store = out / "results.zarr"
    if not (store / "zarr.json").exists():
        raise FindingsError(f"{out} holds no brgvc result store (results.zarr); run a job first")
    # A damaged store (missing or truncated chunk) or an interrupted run is an error here.
    verify_results(store, allow_partial=allow_partial)
    return out, store


def _table_regions(ds: xr.Dataset, focal: str) -> list[str]:
    for dim in ("source", "exporter", "sink", "importer"):
        if dim in ds.coords:
            return [str(x) for x in ds[dim].values]
    if "partner" in ds.coords:
        return [focal, *(str(x) for x in ds["partner"].values)]
    if "net_source" in ds.coords:
        return [str(x) for x in ds["net_source"].values]
    return []


def _open(results_dir: str | Path, options: Mapping[str, Any] | None,
          allow_partial: bool = False) -> _Source:
    from brgvc.regions import load_grouping, to_iso3
    from brgvc.storage import verify_store

    out, store = _results_path(results_dir, allow_partial)
    ds = xr.open_zarr(store, consolidated=False, zarr_format=3)
    try:
        spec = json.loads(ds.attrs.get("brgvc_job", "{}"))
        data_attrs = json.loads(ds.attrs.get("brgvc_data", "{}"))
    except json.JSONDecodeError as exc:
        raise FindingsError(f"{store}: unreadable job attributes ({exc})") from None
    aliases: dict[str, str] = {}
    focal = _FOCAL_DEFAULT
    for item in spec.get("measures", []):
        if isinstance(item, str):
            aliases.setdefault(item, item)
        else:
            aliases.setdefault(str(item["name"]), str(item.get("as", item["name"])))
            if item["name"] in ("china_va", "china_efficiency") and "focal" in item:
                focal = str(item["focal"])  # the China measures' own focal country
    opts = {"focal": focal, "expected_top_region": _TOP_REGION_DEFAULT, "gexf": True,
            "min_members": MIN_MEMBERS,
            **(spec.get("findings") or {}), **(options or {})}
    database = data_attrs.get("format") or (spec.get("data") if isinstance(spec.get("data"), str)
                                            else None)
    grouping = load_grouping(spec.get("grouping") or "belt_and_road")
    regions = _table_regions(ds, str(opts["focal"]))
    iso = dict(zip(regions, to_iso3(regions, database), strict=True))
    focal_label = None
    for lab, code in iso.items():
        if str(opts["focal"]) in (lab, code):
            focal_label = lab
            break
    summary = None
    if (out / "summary.zarr" / "zarr.json").exists():
        verify_store(out / "summary.zarr")  # a damaged chunk is named, never read
        summary = xr.open_zarr(out / "summary.zarr", consolidated=False, zarr_format=3)
    return _Source(out, ds, spec, opts, aliases, data_attrs, database, grouping, regions, iso,
                   focal_label, summary)


# ------------------------------------------------------------------------------ statistics


def _frame(da: xr.DataArray | None, indicator: str, *, stats: xr.DataArray | None = None,
           **columns: Any) -> pd.DataFrame:
    """Statistics of a (year, draw, ...) array as a wide frame: year, dims..., stats.

    ``stats`` (dims year, ..., stat) are the runner's statistics of a stored variable read
    from ``summary.zarr``; without them ``da`` is reduced here (derived quantities).
    """
    st = stats if stats is not None else interval_stats(da)
    other = [d for d in st.dims if d not in ("year", "stat")]
    st = st.transpose("year", *other, "stat")
    st = st.assign_coords({d: np.asarray(st[d].values).astype(object)
                           for d in other if d in st.coords})
    df = st.to_pandas() if st.ndim == 2 else st.to_dataframe("v")["v"].unstack("stat")
    df = df.reset_index()
    df.columns = [str(c) for c in df.columns]
    df.insert(1 + len(other), "indicator", indicator)
    for k, v in columns.items():
        df[k] = v
    return df[["year", *other, "indicator", *columns, *STATS]]


def _prob(event: xr.DataArray) -> xr.DataArray:
    """Share of the perturbed draws (draw > 0) where ``event`` holds (NaN draws left out)."""
    ev = event.isel(draw=slice(1, None))
    if ev.sizes["draw"] == 0:
        return xr.full_like(event.isel(draw=0, drop=True), np.nan, dtype=float)
    return ev.astype(float).mean("draw")


def _paired_rise(da: xr.DataArray) -> float:
    """P(value in the last year > value in the first year), draw by draw (draws > 0)."""
    first, last = da.isel(year=0, drop=True), da.isel(year=-1, drop=True)
    ev = (last > first).where(last.notnull() & first.notnull())
    return float(_prob(ev).values) if da.sizes["year"] > 1 else float("nan")


def _years_rising(base: np.ndarray) -> tuple[int, int]:
    """Year-on-year increases of a base series, and the number of steps."""
    b = np.asarray(base, dtype=float)
    return int(np.sum(np.diff(b) > 0)), max(b.size - 1, 0)


def _probability_rows(
    rows: list[dict[str, Any]], finding: int, event: str, values: xr.DataArray, n: int,
    **extra: Any,
) -> None:
    """Append one row per year (or one row for a year-free value) to ``rows``."""
    if "year" in values.dims:
        for y, p in zip(values["year"].values, values.values, strict=True):
            rows.append({"finding": finding, "event": event, "year": str(int(y)),
                         "probability": float(p), "n_draws": n, **extra})
    else:
        rows.append({"finding": finding, "event": event, "year": extra.pop("span", ""),
                     "probability": float(values), "n_draws": n, **extra})


# ------------------------------------------------------------------------------ coverage


def _coverage(src: _Source) -> pd.DataFrame:
    cov = src.grouping.covered(src.regions, database=src.database)
    rows = []
    for region in src.grouping.regions:
        members = src.grouping.members_of(region)
        present = cov["by_region"][region]
        rows.append({
            "region": region,
            "n_members": len(members),
            "n_present": len(present),
            "present": " ".join(present),
            "missing": " ".join(cov["missing_by_region"][region]),
        })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ finding 1


_F1 = (("total_flow", "total intra-group flow"), ("density_weighted", "weighted density"),
       ("intra_share", "intra-group share"))


def _finding1(src: _Source, probs: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames, trends = [], []
    for name, _ in _F1:
        da = src.net1(name)
        if da is None:
            continue
        da = da.load()
        frames.append(_frame(da, name, stats=src.stored_stats(f"net_{name}")))
        if name == "total_flow":
            index = da / da.isel(year=0, drop=True)
            frames.append(_frame(index, "total_flow_index"))
        base = da.sel(draw=0).values
        up, steps = _years_rising(base)
        p = _paired_rise(da)
        trends.append({"finding": 1, "indicator": name, "first_year": src.years[0],
                       "last_year": src.years[-1], "base_first": float(base[0]),
                       "base_last": float(base[-1]), "change": float(base[-1] / base[0])
                       if base[0] else float("nan"), "p_rise": p, "years_rising": up,
                       "steps": steps})
        _probability_rows(probs, 1, f"{name} last year > first year", xr.DataArray(p),
                          src.n_draws, span=f"{src.years[0]}-{src.years[-1]}")
    empty = pd.DataFrame(columns=["year", "indicator", *STATS])
    return (pd.concat(frames, ignore_index=True) if frames else empty), pd.DataFrame(trends)


# ------------------------------------------------------------------------------ finding 2


def _node_labels(src: _Source) -> list[str]:
    return [str(x) for x in src.ds["node"].values] if "node" in src.ds.coords else []


def _finding2(
    src: _Source, probs: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    nodes = _node_labels(src)
    empty = pd.DataFrame(columns=["year", "indicator", *STATS])
    if src.net1("strength") is None or src.focal not in nodes:
        return empty, pd.DataFrame(), pd.DataFrame()
    f = src.focal
    frames = []
    for name in ("strength_rank", "coreness_rank", "pagerank_rank", "strength_share",
                 "coreness", "pagerank", "betweenness", "core"):
        da = src.net1(name)
        if da is not None:
            frames.append(_frame(da.sel(node=f, drop=True).load(), name,
                                 stats=src.stored_stats(f"net_{name}", node=f)))
    strength = src.net1("strength").load()
    own = strength.sel(node=f, drop=True)
    others = strength.where(strength["node"] != f).max("node")
    primacy = (own / others).where(others > 0)
    frames.append(_frame(primacy, "focal_primacy"))
    for name in ("S2", "S4", "S11"):
        da = src.net1(name)
        if da is not None:
            frames.append(_frame(da.load(), name, stats=src.stored_stats(f"net_{name}")))
    trends = []
    for name, da in (("S2", src.net1("S2")), ("focal_primacy", primacy)):
        if da is None:
            continue
        base = da.sel(draw=0).values
        up, steps = _years_rising(base)
        p = _paired_rise(da)
        trends.append({"finding": 2, "indicator": name, "first_year": src.years[0],
                       "last_year": src.years[-1], "base_first": float(base[0]),
                       "base_last": float(base[-1]),
                       "change": float(base[-1] / base[0]) if base[0] else float("nan"),
                       "p_rise": p, "years_rising": up, "steps": steps})
        _probability_rows(probs, 2, f"{name} last year > first year", xr.DataArray(p),
                          src.n_draws, span=f"{src.years[0]}-{src.years[-1]}")
    leaders = []
    ranks = {k: src.net1(f"{k}_rank") for k in ("strength", "coreness", "pagerank")}
    ranks = {k: v.load() for k, v in ranks.items() if v is not None}
    p_first = {k: _prob((v.sel(node=f, drop=True) == 1).where(v.sel(node=f).notnull()))
               for k, v in ranks.items()}
    for k, p in p_first.items():
        _probability_rows(probs, 2, f"{f} ranks first by {k}", p, src.n_draws)
    core = src.net1("core")
    p_core = _prob(core.sel(node=f, drop=True).load() > 0.5) if core is not None else None
    if p_core is not None:
        _probability_rows(probs, 2, f"{f} is in the discrete core", p_core, src.n_draws)
    for yi, y in enumerate(src.years):
        row: dict[str, Any] = {"year": y}
        for k, v in ranks.items():
            base = v.isel(year=yi).sel(draw=0).values
            row[f"first_by_{k}"] = nodes[int(np.argmin(base))] if np.isfinite(base).all() else ""
            row[f"{f}_{k}_rank"] = float(v.isel(year=yi).sel(draw=0, node=f))
            row[f"p_{f}_first_by_{k}"] = float(p_first[k].isel(year=yi))
        if "strength" in ranks and src.n_draws:
            d = ranks["strength"].isel(year=yi, draw=slice(1, None)).values
            firsts = [nodes[int(np.argmin(r))] for r in d if np.isfinite(r).all()]
            if firsts:
                modal = max(set(firsts), key=firsts.count)
                row["modal_first"] = modal
                row["p_modal_first"] = firsts.count(modal) / len(firsts)
        if p_core is not None:
            row[f"p_{f}_in_core"] = float(p_core.isel(year=yi))
        leaders.append(row)
    return pd.concat(frames, ignore_index=True), pd.DataFrame(trends), pd.DataFrame(leaders)


# ------------------------------------------------------------------------------ finding 3


def _finding3(
    src: _Source, probs: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from brgvc.regions import capital_lonlat

    empty = pd.DataFrame()
    a = src.var("china_va", "a")
    if a is None:
        return empty, empty, empty
    a = a.load()
    partners = [str(p) for p in a["partner"].values]
    member = [p for p in partners if src.region_of(p) is not None]
    if not member:
        return empty, empty, empty
    a_m = a.sel(partner=member)
    total_world = a.sum("partner")
    total_m = a_m.sum("partner")
    lonlat = {p: capital_lonlat(src.iso.get(p, p)) for p in member}
    cols = {"region": [src.region_of(p) for p in member]}
    frames = []
    for ind, da in (("a", a_m), ("share_world", a_m / total_world),
                    ("share_group", a_m / total_m)):
        st = src.stored_stats(f"{src.aliases['china_va']}_a", partner=member) \
            if ind == "a" else None
        df = _frame(da, ind, stats=st)
        df.insert(2, "iso3", df["partner"].map(src.iso))
        df.insert(3, "region", df["partner"].map(dict(zip(member, cols["region"],
                                                          strict=True))))
        df.insert(4, "lon", df["partner"].map(lambda p: lonlat[p][0]))
        frames.append(df)
    by_partner = pd.concat(frames, ignore_index=True)

    # Regions: sums over the covered members (from the per-partner levels, draw by draw).
    regions = [r for r in src.grouping.regions
               if any(src.region_of(p) == r for p in member)]
    reg_of = xr.DataArray([src.region_of(p) for p in member], dims="partner",
                          coords={"partner": member})
    a_r = xr.concat([a_m.where(reg_of == r).sum("partner", min_count=1) for r in regions],
                    dim=xr.DataArray(np.array(regions, dtype=object), dims="region"))
    a_r = a_r.where(a_m.notnull().all("partner"))
    n_present = {r: int((reg_of == r).sum()) for r in regions}
    rframes = []
    for ind, da in (("a", a_r), ("share_group", a_r / total_m),
                    ("a_per_member", a_r / xr.DataArray([n_present[r] for r in regions],
                                                        dims="region"))):
        df = _frame(da.transpose("year", "draw", "region"), ind)
        df.insert(2, "n_present", df["region"].map(n_present))
        rframes.append(df)
    by_region = pd.concat(rframes, ignore_index=True)
    top = a_r.fillna(-np.inf).argmax("region")
    valid = a_r.notnull().all("region")
    expected = str(src.options.get("expected_top_region", _TOP_REGION_DEFAULT))
    if expected in regions:
        k = regions.index(expected)
        p_top = _prob((top == k).where(valid))
    else:
        p_top = xr.zeros_like(top.isel(draw=0, drop=True), dtype=float).where(valid.any("draw"))
    _probability_rows(probs, 3, f"{expected} is the top source region", p_top, src.n_draws,
                      note="" if expected in regions else "region not covered by the table")
    for r_i, r in enumerate(regions):
        if r != expected:
            _probability_rows(probs, 3, f"{r} is the top source region",
                              _prob((top == r_i).where(valid)), src.n_draws)

    grad = []
    x_lon = np.array([lonlat[p][0] for p in member])
    x_lat = np.array([lonlat[p][1] for p in member])
    ok = np.isfinite(x_lon) & np.isfinite(x_lat)
    if ok.sum() >= 3:
        vals = a_m.transpose("year", "draw", "partner").values[..., ok]
        for ind, x in (("spearman_lon", x_lon[ok]), ("spearman_lat", x_lat[ok])):
            rho = xr.DataArray(spearman(vals, x), dims=("year", "draw"),
                               coords={"year": a_m["year"], "draw": a_m["draw"]})
            grad.append(_frame(rho, ind, n_partners=int(ok.sum())))
            _probability_rows(probs, 3, f"{ind} > 0 (more value added further "
                              f"{'east' if ind.endswith('lon') else 'north'})",
                              _prob((rho > 0).where(rho.notnull())), src.n_draws)
    return by_partner, by_region, (pd.concat(grad, ignore_index=True) if grad else empty)


# ------------------------------------------------------------------------------ finding 4


def _finding4(
    src: _Source, probs: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from brgvc.measures.china import DEFAULT_BENCHMARKS

    empty = pd.DataFrame()
    frames = []
    num = src.var("final_dva_rate", "DVA_FIN")
    den = src.var("final_dva_rate", "final_exports")
    f = src.focal
    if num is not None and den is not None and f is not None:
        num, den = num.load(), den.load()
        exporters = [str(x) for x in num["exporter"].values]
        member = [p for p in exporters if src.region_of(p) is not None and p != f]
        bench = []
        for code in src.options.get("benchmarks") or DEFAULT_BENCHMARKS:
            lab = next((r for r in exporters if code in (r, src.iso.get(r))), None)
            if lab is not None and lab != f:
                bench.append(lab)

        def e3(exporter: str, markets: Sequence[str]) -> xr.DataArray:
            n = num.sel(exporter=exporter, importer=list(markets)).sum("importer")
            d = den.sel(exporter=exporter, importer=list(markets)).sum("importer")
            return (n / d).where(d > 0)

        e_f = e3(f, member)
        frames.append(_frame(e_f, "e3_group", exporter=f, markets="all members"))
        frames.append(_frame((num.sel(exporter=f).sum("importer")
                              / den.sel(exporter=f).sum("importer")), "e3_world",
                             exporter=f, markets="world"))
        for b in bench:
            markets = [p for p in member if p != b]
            e_b = e3(b, markets)
            e_fb = e3(f, markets)
            frames.append(_frame(e_b, "e3_group", exporter=b, markets=f"members except {b}"))
            frames.append(_frame(e_fb / e_b, "e3_ratio", exporter=b,
                                 markets=f"members except {b}"))
            _probability_rows(probs, 4, f"e3 {f} < e3 {b} (B&R markets)",
                              _prob((e_fb < e_b).where(e_fb.notnull() & e_b.notnull())),
                              src.n_draws, benchmark=b)
        if src.years and len(src.years) > 1:
            _probability_rows(probs, 4, f"e3 {f} last year > first year",
                              xr.DataArray(_paired_rise(e_f)), src.n_draws,
                              span=f"{src.years[0]}-{src.years[-1]}")
    by_region = []
    for ind in ("e1", "e2", "e3", "e3_int"):
        da = src.var("china_efficiency", f"{ind}_group")
        if da is None:
            continue
        da = da.load()
        keep = [str(g) for g in da["group"].values
                if str(g) in src.grouping.regions]
        if keep:
            st = src.stored_stats(da.name, group=keep)
            df = _frame(da.sel(group=keep).rename(group="region"), ind,
                        stats=None if st is None else st.rename(group="region"))
            by_region.append(df)
    return (pd.concat(frames, ignore_index=True) if frames else empty,
            pd.concat(by_region, ignore_index=True) if by_region else empty)


# ------------------------------------------------------------------------------ assembly


def _negative_weights(src: _Source) -> pd.DataFrame:
    """Every (year, draw) whose network had negative weights clipped to 0."""
    n, m, t = src.net1("n_negative_edges"), src.net1("negative_mass"), src.net1("total_flow")
    cols = ["year", "draw", "n_negative_edges", "negative_mass", "total_flow",
            "negative_share"]
    if n is None or m is None or t is None:
        return pd.DataFrame(columns=cols)
    n, m, t = n.values, m.values, t.values
    rows = [{"year": src.years[i], "draw": int(src.ds["draw"].values[d]),
             "n_negative_edges": int(n[i, d]), "negative_mass": float(m[i, d]),
             "total_flow": float(t[i, d]),
             "negative_share": float(m[i, d] / (t[i, d] + m[i, d])) if t[i, d] + m[i, d] > 0
             else float("nan")}
            for i, d in zip(*np.nonzero(np.nan_to_num(n) > 0), strict=True)]
    return pd.DataFrame(rows, columns=cols)


def _findings(results_dir: str | Path, options: Mapping[str, Any] | None,
              allow_partial: bool = False) -> tuple[dict[str, pd.DataFrame], _Source]:
    src = _open(results_dir, options, allow_partial)
    probs: list[dict[str, Any]] = []
    tables: dict[str, pd.DataFrame] = {"coverage": _coverage(src)}
    tables["intensity"], t1 = _finding1(src, probs)
    tables["position"], t2, tables["leaders"] = _finding2(src, probs)
    tables["trends"] = pd.concat([t for t in (t1, t2) if len(t)], ignore_index=True) \
        if len(t1) or len(t2) else pd.DataFrame()
    tables["sources_partner"], tables["sources_region"], tables["gradient"] = \
        _finding3(src, probs)
    tables["efficiency"], tables["efficiency_region"] = _finding4(src, probs)
    tables["probabilities"] = pd.DataFrame(
        probs, columns=["finding", "event", "year", "probability", "n_draws",
                        *sorted({k for p in probs for k in p} - {
                            "finding", "event", "year", "probability", "n_draws"})])
    if len(tables["probabilities"]):
        from brgvc.studies.belt_and_road.robust import mcse

        pr = tables["probabilities"]
        pr.insert(4, "mcse", mcse(pr["probability"].to_numpy(float),
                                  pr["n_draws"].to_numpy(float)))
    tables["negative_weights"] = _negative_weights(src)
    tables.update(_robust(src))
    tables["verdicts"] = _verdicts(tables, src)
    tables["interval_check"] = _interval_check(tables)
    return tables, src


def _variants(src: _Source) -> list[_Source]:
    """The main run and the variant runs under ``<out>/variants/<name>/`` (e.g. published)."""
    out = [src]
    folder = src.out / "variants"
    if folder.is_dir():
        for sub in sorted(folder.iterdir()):
            if (sub / "results.zarr" / "zarr.json").exists():
                out.append(_open(sub, src.options))
    return out


def _robust(src: _Source) -> dict[str, pd.DataFrame]:
    from brgvc.studies.belt_and_road.evidence import robust_tables

    srcs = _variants(src)
    try:
        if src.focal is None:
            return {}
        return robust_tables(srcs, src.focal, lambda da, ind: _frame(da, ind),
                             int(src.options.get("min_members", MIN_MEMBERS)))
    finally:
        for s in srcs[1:]:
            s.ds.close()


def _interval_check(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Is the base value inside its own 2.5-97.5 % interval? One row per table and indicator."""
    rows = []
    for name, df in tables.items():
        if not len(df) or not {"base", "q025", "q975", "indicator"} <= set(df.columns):
            continue
        ok = df[["base", "q025", "q975"]].notna().all(axis=1)
        d = df[ok]
        outside = (d["base"] < d["q025"]) | (d["base"] > d["q975"])
        for ind, g in d.assign(outside=outside).groupby("indicator", sort=False):
            bad = g[g["outside"]]
            rows.append({"table": name, "indicator": ind, "n_values": len(g),
                         "n_outside": len(bad),
                         "years_outside": " ".join(sorted({str(int(y)) for y in bad["year"]}))})
    return pd.DataFrame(rows, columns=["table", "indicator", "n_values", "n_outside",
                                       "years_outside"])


def findings(
    results_dir: str | Path, options: Mapping[str, Any] | None = None, *,
    allow_partial: bool = False,
) -> dict[str, pd.DataFrame]:
    """Answer the four findings of docs/methods.md §0 from a finished run's result store.

    Parameters
    ----------
    results_dir : str or Path
        A run's output folder (holding ``results.zarr``), or the store itself.
    options : mapping, optional
        Override the job's ``findings`` options: ``focal`` (ISO3, default CHN),
        ``benchmarks`` (ISO3 codes; default USA, JPN, DEU, KOR, RUS, IND),
        ``expected_top_region`` (default "Southeast Asia").
    allow_partial : bool, optional
        Answer from a run whose tasks are not all done (an interrupted run; the missing
        draws are left out as NaN). Default: refuse.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``coverage`` (grouping regions: members, covered, missing); ``intensity`` (finding 1:
        year × indicator statistics), ``trends`` (first vs last year, P(rise), year-on-year
        rises of the base), ``position`` and ``leaders`` (finding 2), ``sources_partner``,
        ``sources_region`` and ``gradient`` (finding 3), ``efficiency`` and
        ``efficiency_region`` (finding 4), ``probabilities`` (every probability, one row per
        event and year), ``verdicts`` (one row per finding) and ``negative_weights`` (every
        (year, draw) whose network had negative weights clipped to 0). Statistic columns are
        :data:`STATS`: ``base`` is the unperturbed table (draw 0); the others are over the
        perturbed draws. A section whose inputs the job did not compute is an empty frame.

    Raises
    ------
    FindingsError
        If the folder holds no result store.
    brgvc.storage.StoreDamagedError
        If a chunk file of the store is missing or truncated (named).
    brgvc.storage.IncompleteStoreError
        If tasks of the run are not done (how many are named), unless ``allow_partial``.
    """
    return _findings(results_dir, options, allow_partial)[0]


def _verdicts(tables: Mapping[str, pd.DataFrame], src: _Source) -> pd.DataFrame:
    """One line per finding: the decision rule's verdict, the variants that disagree and why.

    The rule (docs/findings.md, :func:`brgvc.studies.belt_and_road.robust.decide`) runs on
    the robustness matrix; a finding whose inputs the job lacks cannot be tested.
    """
    from brgvc.studies.belt_and_road.robust import CANNOT

    f = src.focal or str(src.options.get("focal"))
    top = str(src.options.get("expected_top_region", _TOP_REGION_DEFAULT))
    claims = {1: "intra-B&R connection intensity rose (size-adjusted)",
              2: f"{f} is the core and first in every year, its primacy grows",
              3: f"{top} is {f}'s main VA source; east high, west low",
              4: f"{f} captures VA from final products less efficiently than the benchmarks"}
    dec = tables.get("decisions", pd.DataFrame())
    rob = tables.get("robustness", pd.DataFrame())
    rows = []
    for k, claim in claims.items():
        d = dec[dec["finding"] == k].iloc[0].to_dict() if len(dec) and \
            (dec["finding"] == k).any() else {"verdict": CANNOT, "disagree": "",
                                              "reason": "inputs not in the job"}
        t = rob[(rob["finding"] == k) & rob["primary"]] if len(rob) else rob
        ev = "; ".join(f"{r['test']} [{r['variant']}]: P = {r['p_min']:.2f} ± "
                       f"{r['mcse']:.2f}" if r["testable"] else
                       f"{r['test']} [{r['variant']}]: {r['note']}"
                       for _, r in t.iterrows()) if len(t) else str(d.get("reason", ""))
        rows.append({"finding": k, "claim": claim, "verdict": d["verdict"],
                     "disagree": d.get("disagree", ""), "evidence": ev,
                     "reason": d.get("reason", "")})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ text


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax >= 1e4:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.1f}"
    return f"{x:.{digits}g}" if ax < 1e-3 else f"{x:.{digits}f}"


def _interval(row: Mapping[str, Any], digits: int = 3) -> str:
    return (f"{_fmt(row['base'], digits)} [{_fmt(row['q025'], digits)}, "
            f"{_fmt(row['q975'], digits)}]")


def _md_table(df: pd.DataFrame, columns: Sequence[str], floatfmt: int = 3) -> str:
    cols = [c for c in columns if c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            cells.append(_fmt(float(v), floatfmt) if isinstance(v, float | np.floating)
                         else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pick(df: pd.DataFrame, **eq: Any) -> pd.DataFrame:
    if not len(df):
        return df
    mask = np.ones(len(df), dtype=bool)
    for k, v in eq.items():
        mask &= (df[k] == v).to_numpy()
    return df[mask]


def _describe_run(src: _Source) -> str:
    spec = src.spec
    d = spec.get("draws") or {}
    net = spec.get("network") or {}
    years = src.years
    return (f"Data: {spec.get('data')} ({src.data_attrs.get('source', '')} "
            f"{src.data_attrs.get('release', '')}), {years[0]}–{years[-1]} ({len(years)} years); "
            f"grouping {spec.get('grouping')}; network weight {net.get('weight', 'n/a')}; "
            f"{src.n_draws} bootstrap draws ({d.get('model', '')}, rse {d.get('rse')}, "
            f"rebalance {d.get('rebalance', '')}). Values are 'base [2.5 %, 97.5 %]': the "
            "unperturbed table, then percentiles over the draws. Probabilities are shares of "
            "the draws.")


def _text(tables: Mapping[str, pd.DataFrame], src: _Source) -> str:
    f = src.focal or str(src.options.get("focal"))
    years = src.years
    y0, y1 = years[0], years[-1]
    out = ["# Findings: The Belt and Road production networks and China's participation",
           "", _describe_run(src), ""]

    cov = tables["coverage"]
    n_all = int(cov["n_members"].sum())
    n_in = int(cov["n_present"].sum())
    focal_region = src.grouping.region_of(src.iso.get(f, f)) if f else None
    others_in = n_in - (1 if f and focal_region else 0)
    empty = cov[cov["n_present"] == 0]["region"].tolist()
    out += ["## Coverage", "",
            f"Only {others_in} of the {n_all - 1} {src.grouping.name} economies besides {f} are "
            f"separate regions of this table ({n_in} of {n_all} in all); the others are "
            "inside its rest-of-world region and are not network nodes. Regions with no "
            f"covered economy: {', '.join(empty) if empty else 'none'}. Regional results "
            "stand for the covered members only.", "",
            _md_table(cov, ["region", "n_members", "n_present", "present"]), ""]
    neg = tables["negative_weights"]
    policy = (src.spec.get("network") or {}).get("negative", "clip")
    if src.net1("total_flow") is not None:
        n_net = len(years) * (src.n_draws + 1)
        if len(neg):
            worst = neg.sort_values("negative_share").iloc[-1]
            out += [f"Negative-weight policy '{policy}': {len(neg)} of {n_net} (year, draw) "
                    "networks had negative weights (negative value added in a drawn table), "
                    f"set to 0: at most {int(neg['n_negative_edges'].max())} edges; the "
                    f"largest clipped mass was {_fmt(100 * worst['negative_share'], 2)} % of "
                    f"the flow ({int(worst['year'])}, draw {int(worst['draw'])}). See "
                    "findings/negative_weights.csv.", ""]
        else:
            out += [f"Negative-weight policy '{policy}': none of the {n_net} (year, draw) "
                    "networks had a negative weight.", ""]

    ver = tables["verdicts"].set_index("finding")

    def head(k: int, title: str) -> list[str]:
        v = ver.loc[k] if k in ver.index else None
        line = f"## {k}. {title}" + (f" — {v['verdict']}" if v is not None else "")
        return [line, "", (f"{v['evidence']}." if v is not None else ""), ""]

    # 1
    out += head(1, "Intra-B&R connection intensity")
    it = tables["intensity"]
    if len(it):
        rows = []
        for y in years:
            r = {"year": y}
            for ind, lab in (("total_flow", "total flow"), ("total_flow_index", "index"),
                             ("density_weighted", "weighted density"),
                             ("intra_share", "intra share")):
                sel = _pick(it, year=y, indicator=ind)
                r[lab] = _interval(sel.iloc[0]) if len(sel) else "n/a"
            rows.append(r)
        out += [_md_table(pd.DataFrame(rows), list(rows[0])), ""]
        tr = _pick(tables["trends"], indicator="intra_share")
        if len(tr):
            t = tr.iloc[0]
            out += [f"Intra-B&R share {y0} → {y1}: {_fmt(t['base_first'])} → "
                    f"{_fmt(t['base_last'])}; P(share {y1} > {y0}) = {t['p_rise']:.2f}; it rose "
                    f"in {t['years_rising']} of {t['steps']} year steps.", ""]
    else:
        out += ["Not available: the job has no network section.", ""]

    # 2
    out += head(2, f"{f}: core and first position")
    lead = tables["leaders"]
    if len(lead):
        cols = ["year", "first_by_strength", f"{f}_strength_rank", f"p_{f}_first_by_strength",
                "first_by_coreness", f"{f}_coreness_rank", f"p_{f}_first_by_coreness",
                f"p_{f}_in_core", "modal_first", "p_modal_first"]
        pos = tables["position"]
        df = lead.copy()
        for ind in ("S2", "focal_primacy"):
            df[ind] = [(_interval(_pick(pos, year=y, indicator=ind).iloc[0])
                        if len(_pick(pos, year=y, indicator=ind)) else "n/a") for y in df["year"]]
        out += [_md_table(df, [*cols, "S2", "focal_primacy"], 2), "",
                f"S2 = P1/P2 of total strength (whoever is first); focal_primacy = {f}'s "
                "strength over the largest other strength (> 1 exactly when it is first).", ""]
        for ind in ("S2", "focal_primacy"):
            tr = _pick(tables["trends"], indicator=ind)
            if len(tr):
                t = tr.iloc[0]
                out += [f"- {ind}: {_fmt(t['base_first'])} ({y0}) → {_fmt(t['base_last'])} "
                        f"({y1}); P(rise) = {t['p_rise']:.2f}; rose in {t['years_rising']} of "
                        f"{t['steps']} year steps."]
        out += [""]
    else:
        out += ["Not available: the job has no network section (or the focal country is not "
                "a node).", ""]

    # 3
    out += head(3, f"Where {f}'s value added comes from")
    reg = tables["sources_region"]
    if len(reg):
        sh = _pick(reg, indicator="share_group")
        pivot = sh.pivot(index="year", columns="region", values="base")
        regions = list(dict.fromkeys(sh["region"]))
        pivot = pivot[regions].reset_index()
        pivot["year"] = pivot["year"].astype(int).astype(str)
        out += [f"Share of each region in the value added {f} obtains from the covered "
                "B&R partners (base):", "", _md_table(pivot, ["year", *regions]), ""]
        last = _pick(reg, year=y1, indicator="share_group").sort_values("base", ascending=False)
        out += [f"{y1}: " + "; ".join(f"{r['region']} ({int(r['n_present'])} covered) "
                                       f"{_interval(r)}" for _, r in last.iterrows()), ""]
        pr = tables["probabilities"]
        tops = pr[(pr["finding"] == 3) & pr["event"].str.endswith("top source region")]
        if len(tops):
            pt = tops.pivot(index="year", columns="event", values="probability").reset_index()
            pt.columns = [c.replace(" is the top source region", "") for c in pt.columns]
            out += ["P(region is the top source), by year:", "",
                    _md_table(pt, list(pt.columns), 2), ""]
        part = _pick(tables["sources_partner"], year=y1, indicator="share_group")
        part = part.sort_values("base", ascending=False).head(5)
        out += [f"Top partners {y1} (share of the covered B&R total): " + "; ".join(
            f"{r['partner']} ({r['region']}) {_interval(r)}" for _, r in part.iterrows()), ""]
        gr = tables["gradient"]
        if len(gr):
            for ind, lab in (("spearman_lon", "longitude"), ("spearman_lat", "latitude")):
                g = _pick(gr, indicator=ind)
                out += [f"- Spearman(a_j, capital {lab}): " + ", ".join(
                    f"{int(r['year'])} {_interval(r, 2)}" for _, r in g.iterrows()
                    if int(r["year"]) in (y0, y1) or len(years) <= 5)]
            out += [""]
    else:
        out += ["Not available: the job lacks the china_va measure.", ""]

    # 4
    out += head(4, f"{f}'s efficiency of capturing value added from final products")
    eff = tables["efficiency"]
    if len(eff):
        e3 = _pick(eff, indicator="e3_group")
        rows = []
        for y in years:
            r: dict[str, Any] = {"year": y}
            for exp in dict.fromkeys(e3["exporter"]):
                sel = _pick(e3, year=y, exporter=exp)
                r[exp] = _fmt(float(sel["base"].iloc[0])) if len(sel) else "n/a"
            rows.append(r)
        out += [f"e3 = final-goods DVA rate into the covered B&R markets (base; {f}: all "
                "members; benchmarks: members except themselves):", "",
                _md_table(pd.DataFrame(rows), list(rows[0])), ""]
        pr = tables["probabilities"]
        pe = pr[(pr["finding"] == 4) & pr["event"].str.contains("<")]
        if len(pe):
            pt = pe.pivot(index="year", columns="benchmark", values="probability").reset_index()
            out += [f"P(e3 {f} < e3 benchmark) over the benchmark's B&R markets:", "",
                    _md_table(pt, list(pt.columns), 2), ""]
        er = tables["efficiency_region"]
        if len(er):
            last = er[er["year"] == y1]
            pv = last.pivot(index="region", columns="indicator", values="base").reset_index()
            out += [f"{f}'s e1, e2, e3 and intermediate-exports rate by region, {y1} (base):",
                    "", _md_table(pv, list(pv.columns)), ""]
    else:
        out += ["Not available: the job lacks the final_dva_rate measure.", ""]
    out += ["## Robustness", "", *[f"- {x}" for x in robustness_text(tables, f)], ""]
    out += ["## How to read", "", *[f"- {x}" for x in how_to_read(tables)], ""]
    out += ["Method notes: docs/methods.md §5 (network), §6 (China's measures), §7.2 (bootstrap). "
            "Findings are derived from the result store; see findings/*.csv for every number.",
            ""]
    return "\n".join(out)


def how_to_read(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """The conventions a reader needs (units, nominal values, RoW share), one line each."""
    lines = [
        "Flows are in the table's unit (WIOD 2013: millions of current US dollars), nominal: "
        "every flow of a growing economy grows, so nominal levels (total_flow) are context "
        "and never decide a verdict; verdicts use shares and ratios.",
        "Edges i -> j are computed on the full table, then restricted to the members plus "
        "one Rest node; W1 = VA of i in j's gross exports, W2 = VAX, W3 = WWZ terms 1-8, "
        "W4 = intermediate goods. Balanced gross output = row sums of Z and Y; published = "
        "the database's output column.",
        "Values are 'base [2.5 %, 97.5 %]' (unperturbed table, then percentiles over the "
        "draws); probabilities are shares of the draws, '± x' their Monte Carlo standard "
        "error sqrt(P(1-P)/R).",
        "Intensity = intra share / members' share of world flows of the same weight: 1 when "
        "members trade with each other as their size predicts.",
    ]
    ctx = tables.get("context", pd.DataFrame())
    if len(ctx) and "row_share_min" in ctx:
        c = ctx.dropna(subset=["row_share_min"])
        if len(c):
            lines.append(
                f"The table's rest-of-world region (where most B&R members are) holds "
                f"{100 * c['row_share_min'].min():.0f}-{100 * c['row_share_max'].max():.0f} % "
                "of world flows (base, all weights and years): that part of the group is not "
                "visible country by country.")
    if len(ctx) and "emptied_networks" in ctx:
        lines.append(
            f"Negative flows set to 0: {int(ctx['emptied_networks'].sum())} (year, draw, "
            f"weight, convention) networks; largest emptied share "
            f"{100 * float(np.nan_to_num(ctx['emptied_share_max']).max()):.2g} %.")
    ic = tables.get("interval_check", pd.DataFrame())
    if len(ic):
        bad = ic[ic["n_outside"] > 0]
        lines.append(
            f"Base outside its own 2.5-97.5 % interval: {int(bad['n_outside'].sum())} of "
            f"{int(ic['n_values'].sum())} values" + (": " + "; ".join(
                f"{r['indicator']} ({r['table']}) {r['years_outside']}"
                for _, r in bad.head(12).iterrows()) if len(bad) else "") +
            " (findings/interval_check.csv).")
    return lines


def robustness_text(tables: Mapping[str, pd.DataFrame], focal: str) -> list[str]:
    """The verdict of each finding with the variants that disagree, and the key numbers."""
    lines = []
    dec = tables.get("decisions", pd.DataFrame())
    for _, d in dec.iterrows():
        extra = f"; variants that disagree: {d['disagree']}" if isinstance(
            d["disagree"], str) and d["disagree"] else ""
        why = f" ({d['reason']})" if isinstance(d["reason"], str) and d["reason"] else ""
        lines.append(f"Finding {int(d['finding'])}: {d['verdict']}{why}{extra}.")
    sn = tables.get("size_neutral", pd.DataFrame())
    if len(sn):
        y0, y1 = int(sn["year"].min()), int(sn["year"].max())
        for (w, go, fc), g in sn.groupby(["weight", "gross_output", "focal"], sort=False):
            vals = []
            for ind in ("intra_share", "intensity"):
                r0 = g[(g["indicator"] == ind) & (g["year"] == y0)]
                r1 = g[(g["indicator"] == ind) & (g["year"] == y1)]
                if len(r0) and len(r1):
                    vals.append(f"{ind} {_fmt(float(r0['base'].iloc[0]))} -> "
                                f"{_fmt(float(r1['base'].iloc[0]))}")
            lines.append(f"1. {w}/{go}/{fc} {focal}, {y0} -> {y1}: " + ", ".join(vals))
    ld = tables.get("leaders_by_weight", pd.DataFrame())
    if len(ld):
        for (w, go), g in ld.groupby(["weight", "gross_output"], sort=False):
            runs, prev = [], None
            for _, r in g.iterrows():
                if r["leader"] != prev:
                    runs.append([r["leader"], int(r["year"]), int(r["year"])])
                    prev = r["leader"]
                else:
                    runs[-1][2] = int(r["year"])
            sw = [str(int(y)) for y in g.loc[g["switch"], "year"]]
            lines.append(f"2. leader by strength, {w}/{go}: " + ", ".join(
                f"{a} {b}" + (f"-{c}" if c != b else "") for a, b, c in runs)
                + (f"; switch years {' '.join(sw)}" if sw else "; no switch"))
    rob = tables.get("robustness", pd.DataFrame())
    if len(rob):
        for k in (3, 4):
            sub = rob[(rob["finding"] == k) & rob["testable"] & ~rob["holds"]]
            if len(sub):
                lines.append(f"{k}. tests that do not hold: " + "; ".join(
                    f"{r['test']} [{r['variant']}] P = {r['p_min']:.2f} ± {r['mcse']:.2f}"
                    for _, r in sub.head(12).iterrows())
                    + (f" (+{len(sub) - 12} more in robustness.csv)" if len(sub) > 12 else ""))
            nt = rob[(rob["finding"] == k) & ~rob["testable"]]
            if len(nt):
                lines.append(f"{k}. cannot be tested: " + "; ".join(sorted(set(
                    f"{r['test']}: {r['note']}" for _, r in nt.iterrows()))))
    return lines


def findings_text(
    results_dir: str | Path, options: Mapping[str, Any] | None = None, *, write: bool = True,
    allow_partial: bool = False,
) -> str:
    """The findings as Markdown text for the terminal (``brgvc findings RESULTS``).

    Parameters
    ----------
    results_dir : str or Path
        A run's output folder (or its ``results.zarr``).
    options : mapping, optional
        See :func:`findings`.
    write : bool, optional
        Also write the files of :func:`write_findings` (default True).
    allow_partial : bool, optional
        See :func:`findings`.

    Returns
    -------
    str
        The text of ``findings.md``.
    """
    if write:
        return write_findings(results_dir, options, allow_partial=allow_partial).text
    tables, src = _findings(results_dir, options, allow_partial)
    try:
        return _text(tables, src)
    finally:
        src.ds.close()


@dataclasses.dataclass
class FindingsFiles:
    """What :func:`write_findings` wrote.

    Attributes
    ----------
    markdown : pathlib.Path
        ``findings.md``.
    tables : list of pathlib.Path
        ``findings/<name>.csv``.
    networks : list of pathlib.Path
        Gephi files and the node and edge tables under ``networks/``.
    text : str
        The Markdown text.
    frames : dict of str to pandas.DataFrame
        The tables of :func:`findings`.
    focal : str
        The focal country's label in the table.
    """

    markdown: Path
    tables: list[Path]
    networks: list[Path]
    text: str
    frames: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict, repr=False)
    focal: str = ""

    @property
    def paths(self) -> list[Path]:
        """Every file written."""
        return [self.markdown, *self.tables, *self.networks]


def write_findings(
    results_dir: str | Path, options: Mapping[str, Any] | None = None, *,
    allow_partial: bool = False,
) -> FindingsFiles:
    """Write the findings into the results folder.

    Files: ``findings.md`` (the text of :func:`findings_text`), ``findings/<table>.csv``
    (every table of :func:`findings`), and when the run has a network with stored weights,
    ``networks/edges.csv`` and ``networks/nodes.csv`` (tidy, every year, base and statistics
    over draws) and ``networks/<weight>_<year>.gexf`` (the base run's network of each year,
    for Gephi, with node metrics as attributes).

    Parameters
    ----------
    results_dir : str or Path
        A run's output folder.
    options : mapping, optional
        See :func:`findings`; ``gexf: false`` skips the Gephi files.
    allow_partial : bool, optional
        See :func:`findings`.

    Returns
    -------
    FindingsFiles
    """
    tables, src = _findings(results_dir, options, allow_partial)
    try:
        folder = src.out / "findings"
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, df in tables.items():
            path = folder / f"{name}.csv"
            df.to_csv(path, index=False)
            written.append(path)
        text = _text(tables, src)
        md = src.out / "findings.md"
        md.write_text(text, encoding="utf-8")
        from brgvc.report.networks import write_network_files

        nets = write_network_files(src.ds, src.out / "networks", src.spec,
                                   gexf=bool(src.options.get("gexf", True)),
                                   region_of=src.region_of, summary=src.summary)
    finally:
        src.ds.close()
    return FindingsFiles(md, written, nets, text, tables,
                         src.focal or str(src.options.get("focal")))
