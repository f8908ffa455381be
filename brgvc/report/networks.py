"""Network files of a finished run: tidy node and edge tables, and Gephi files per year.

Derived from the result store's ``net_weight`` (the network's edge weights per year and draw,
after the negative-weight policy) and per-node ``net_*`` outputs; nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brgvc.draws import INTERVAL_STATS, interval_stats

__all__ = ["by_weight", "edge_frame", "node_frame", "write_network_files"]

_STATS = INTERVAL_STATS

#: Per-node outputs written as Gephi node attributes (base run).
GEXF_ATTRS = ("strength", "strength_share", "out_strength", "in_strength", "pagerank",
              "coreness", "core", "betweenness", "community", "strength_rank",
              "coreness_rank")


def _members(ds: xr.Dataset) -> list[str]:
    nodes = [str(x) for x in ds["node"].values] if "node" in ds.coords else []
    src = [str(x) for x in ds["net_source"].values]
    return [s for s in src if s in nodes] if nodes else src


def by_weight(ds: xr.Dataset) -> list[tuple[str | None, xr.Dataset]]:
    """Split a store's network outputs by edge weight (the ``weight`` dim of ``net_*``).

    Returns ``[(weight, dataset without the weight dim), ...]``; a store without the dim
    gives ``[(None, ds)]``.
    """
    if "weight" not in ds.dims:
        return [(None, ds)]
    return [(str(w), ds.sel(weight=w, drop=True)) for w in ds["weight"].values]


def _with_weight(
    ds: xr.Dataset, frame: Callable[[xr.Dataset, str | None], pd.DataFrame]
) -> pd.DataFrame:
    parts = []
    for w, sub in by_weight(ds):
        df = frame(sub, w)
        if w is not None:
            df.insert(0, "weight", w)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def _stored(summary: xr.Dataset | None, name: str, weight: str | None) -> xr.DataArray | None:
    """The runner's statistics of a stored variable from ``summary.zarr`` (None: absent)."""
    if summary is None or name not in summary:
        return None
    da = summary[name]
    if "weight" in da.dims:
        if weight is None:
            return None
        da = da.sel(weight=weight, drop=True)
    return da.sel(stat=list(_STATS)).load()


def edge_frame(ds: xr.Dataset, summary: xr.Dataset | None = None,
               *, _weight: str | None = None) -> pd.DataFrame:
    """Tidy edge table of the member network: one row per year and directed edge.

    Parameters
    ----------
    ds : xarray.Dataset
        A result store with ``net_weight``.
    summary : xarray.Dataset, optional
        The run's ``summary.zarr``: the statistics are read from it (the runner's reduction)
        instead of being recomputed.

    Returns
    -------
    pandas.DataFrame
        ``year, source, sink`` and the statistics ``base, mean, sd, cv, q025, q975`` over
        draws of ``w_ij``; edges that are zero in every draw are left out. For each year the
        ``base`` column sums to the base run's ``net_total_flow``. With several edge weights
        (a ``weight`` dim) a first column ``weight`` names each row's.
    """
    if "weight" in ds.dims:
        return _with_weight(ds, lambda sub, w: edge_frame(sub, summary, _weight=w))
    members = _members(ds)
    W = ds["net_weight"].sel(net_source=members, net_sink=members).load()
    st = _stored(summary, "net_weight", _weight)
    st = interval_stats(W) if st is None else st.sel(net_source=members, net_sink=members)
    st = st.transpose("year", "net_source", "net_sink", "stat").values
    years = [int(y) for y in ds["year"].values]
    n = len(members)
    iy, i, j = np.meshgrid(np.arange(len(years)), np.arange(n), np.arange(n), indexing="ij")
    keep = (i != j) & (np.abs(np.nan_to_num(W.values)).max(axis=1) > 0)
    df = pd.DataFrame({
        "year": np.asarray(years)[iy[keep]],
        "source": pd.Series(np.asarray(members, dtype=object)[i[keep]], dtype=object),
        "sink": pd.Series(np.asarray(members, dtype=object)[j[keep]], dtype=object),
    })
    for k, name in enumerate(_STATS):
        df[name] = st[..., k][keep]
    return df


def node_frame(
    ds: xr.Dataset, region_of: Callable[[str], str | None] | None = None,
    summary: xr.Dataset | None = None, *, _weight: str | None = None,
) -> pd.DataFrame:
    """Tidy node table: every per-node network output, year by year.

    Parameters
    ----------
    ds : xarray.Dataset
        A result store with ``net_*`` variables on ``(year, draw, node)``.
    region_of : callable, optional
        Node label -> grouping region (a ``region`` column).
    summary : xarray.Dataset, optional
        The run's ``summary.zarr`` (statistics read from it, not recomputed).

    Returns
    -------
    pandas.DataFrame
        ``year, node, region, metric`` and the statistics over draws (and a first column
        ``weight`` with several edge weights).
    """
    if "weight" in ds.dims:
        return _with_weight(ds, lambda sub, w: node_frame(sub, region_of, summary, _weight=w))
    names = [v for v in ds.data_vars if str(v).startswith("net_")
             and ds[v].dims == ("year", "draw", "node")]
    if not names:
        return pd.DataFrame(columns=["year", "node", "region", "metric", *_STATS])
    stacked = xr.concat([ds[v].load() for v in names],
                        dim=xr.DataArray(np.array([v[4:] for v in names], dtype=object),
                                         dims="metric"))
    stored = [_stored(summary, v, _weight) for v in names]
    if all(x is not None for x in stored):
        st = xr.concat(stored, dim=stacked["metric"])
    else:
        st = interval_stats(stacked)
    st = st.transpose("year", "node", "metric", "stat")
    st = st.assign_coords(node=np.asarray(st["node"].values).astype(object),
                          metric=np.asarray(st["metric"].values).astype(object))
    df = st.to_dataframe("v")["v"].unstack("stat").reset_index()
    df.columns = [str(c) for c in df.columns]
    df.insert(2, "region", df["node"].map(region_of) if region_of else "")
    return df[["year", "node", "region", "metric", *_STATS]]


def write_network_files(
    ds: xr.Dataset,
    folder: str | Path,
    spec: Mapping[str, Any],
    *,
    gexf: bool = True,
    region_of: Callable[[str], str | None] | None = None,
    summary: xr.Dataset | None = None,
) -> list[Path]:
    """Write ``edges.csv``, ``nodes.csv`` and one GEXF per year of the base run.

    Parameters
    ----------
    ds : xarray.Dataset
        The result store.
    folder : str or Path
        Output folder (created), e.g. ``<results>/networks``.
    spec : mapping
        The job spec (its ``network.weight`` names the files of a store without a ``weight``
        dim; otherwise each weight gets its own files, e.g. ``W1_1995.gexf``).
    gexf : bool, optional
        Write the Gephi files (default True).
    region_of : callable, optional
        Node label -> grouping region, a node attribute and a column of ``nodes.csv``.
    summary : xarray.Dataset, optional
        The run's ``summary.zarr``: statistics are read from it rather than recomputed.

    Returns
    -------
    list of pathlib.Path
        The files written; empty when the run stored no network weights.
    """
    if "net_weight" not in ds:
        return []

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    edges = edge_frame(ds, summary)
    edges.to_csv(folder / "edges.csv", index=False)
    written.append(folder / "edges.csv")
    nodes = node_frame(ds, region_of, summary)
    nodes.to_csv(folder / "nodes.csv", index=False)
    written.append(folder / "nodes.csv")
    if not gexf:
        return written
    for w, sub in by_weight(ds):
        if w is None:
            w = (spec.get("network") or {}).get("weight", "W")
            w = str(w if isinstance(w, str) else w[0])
        written += _gexf_files(sub, folder, w, region_of)
    return written


def _gexf_files(
    ds: xr.Dataset, folder: Path, weight: str, region_of: Callable[[str], str | None] | None
) -> list[Path]:
    from brgvc.network.graphs import write_gexf

    written = []
    members = _members(ds)
    base = ds.sel(draw=0)
    for y in ds["year"].values:
        one = base.sel(year=y)
        W = one["net_weight"].sel(net_source=members, net_sink=members).values
        attrs: dict[str, Any] = {}
        if region_of is not None:
            attrs["region"] = np.array([region_of(m) or "" for m in members], dtype=object)
        for name in GEXF_ATTRS:
            key = f"net_{name}"
            if key in one and one[key].dims == ("node",):
                vals = one[key].sel(node=members).values
                attrs[name] = (vals.astype(np.int64) if name in ("community", "strength_rank",
                                                                  "coreness_rank", "core")
                               else vals.astype(float))
        path = folder / f"{weight}_{int(y)}.gexf"
        write_gexf(np.nan_to_num(W), members, path, attrs)
        written.append(path)
    return written
