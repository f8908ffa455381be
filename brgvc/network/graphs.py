"""Conversions of a weight matrix to networkx graphs, Gephi files and tidy tables.

These are for inspection, maps and export; the metrics in :mod:`brgvc.network.metrics` work
on the matrix directly and never build a graph.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd
import xarray as xr

from ._util import as_weights, check_labels
from .metrics import degree, strength

__all__ = [
    "edge_table",
    "node_table",
    "to_networkx",
    "write_gexf",
    "write_graphml",
    "write_per_year",
]

NodeAttrs = Mapping[str, Sequence[object] | np.ndarray] | pd.DataFrame


def _plain(value: object) -> object:
    """numpy scalar -> Python scalar: GraphML and GEXF writers only know Python types."""
    return value.item() if isinstance(value, np.generic) else value


def to_networkx(
    W: np.ndarray, labels: Sequence[Hashable], attrs: NodeAttrs | None = None
) -> nx.DiGraph:
    """Directed networkx graph of the positive off-diagonal flows.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights, ``W[i, j]`` from ``labels[i]`` to ``labels[j]``.
    labels : sequence
        Node labels (converted to ``str``), one per row of ``W``.
    attrs : mapping or pandas.DataFrame, optional
        Node attributes: attribute name -> one value per node, in the order of ``labels``
        (a DataFrame is read column by column in row order). Arrays of other lengths, such
        as scalars of a :func:`~brgvc.network.summary.summarise` dict, are skipped.

    Returns
    -------
    networkx.DiGraph
        Nodes carry ``attrs``; every edge carries ``weight = w_ij`` and ``distance = 1 / w_ij``
        (the Opsahl length used by the path metrics).
    """
    a = as_weights(W)
    names = check_labels(labels, a.shape[0])
    G = nx.DiGraph()
    G.add_nodes_from(names)
    if attrs is not None:
        for key, values in _node_columns(attrs, len(names)).items():
            nx.set_node_attributes(
                G, {u: _plain(v) for u, v in zip(names, values, strict=True)}, name=key
            )
    i, j = np.nonzero(a)
    G.add_edges_from(
        (names[s], names[t], {"weight": float(w), "distance": 1.0 / float(w)})
        for s, t, w in zip(i.tolist(), j.tolist(), a[i, j].tolist(), strict=True)
    )
    return G


def _node_columns(attrs: NodeAttrs, n: int) -> dict[str, np.ndarray]:
    """Per-node attribute columns of length ``n``; other entries are dropped."""
    if isinstance(attrs, pd.DataFrame):
        items = {str(c): attrs[c].to_numpy() for c in attrs.columns}
    else:
        items = {str(k): np.asarray(v) for k, v in attrs.items()}
    return {k: v for k, v in items.items() if v.ndim == 1 and v.shape[0] == n}


def write_graphml(
    W: np.ndarray,
    labels: Sequence[Hashable],
    path: str | os.PathLike[str],
    attrs: NodeAttrs | None = None,
) -> Path:
    """Write one network as GraphML (readable by Gephi, Cytoscape, igraph).

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights.
    labels : sequence
        Node labels.
    path : str or path-like
        Output file.
    attrs : mapping or pandas.DataFrame, optional
        Per-node attributes, see :func:`to_networkx`.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    nx.write_graphml(to_networkx(W, labels, attrs), path)
    return path


def write_gexf(
    W: np.ndarray,
    labels: Sequence[Hashable],
    path: str | os.PathLike[str],
    attrs: NodeAttrs | None = None,
) -> Path:
    """Write one network as GEXF, Gephi's native format.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights.
    labels : sequence
        Node labels.
    path : str or path-like
        Output file.
    attrs : mapping or pandas.DataFrame, optional
        Per-node attributes, see :func:`to_networkx`.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    nx.write_gexf(to_networkx(W, labels, attrs), path)
    return path


def write_per_year(
    W: xr.DataArray,
    pattern: str,
    fmt: Literal["gexf", "graphml"] = "gexf",
    node_attrs: xr.Dataset | None = None,
    source_dim: str = "source",
    sink_dim: str = "sink",
) -> list[Path]:
    """Write one Gephi file per year.

    Parameters
    ----------
    W : xarray.DataArray
        Weights with dims ``("year", source_dim, sink_dim)``; select a draw (or take the
        median over draws) beforehand.
    pattern : str
        Output path with a ``{year}`` field, e.g. ``"out/vby_{year}.gexf"``.
    fmt : {"gexf", "graphml"}, optional
        File format, default GEXF.
    node_attrs : xarray.Dataset, optional
        Per-node attributes with dims ``("year", "node")``, e.g. a summary Dataset with the
        draw selected; every such variable becomes a node attribute.
    source_dim, sink_dim : str, optional
        Names of the matrix dims.

    Returns
    -------
    list of pathlib.Path
        The files written, in year order.
    """
    if "{year}" not in pattern:
        raise ValueError("pattern needs a '{year}' field")
    writer = {"gexf": write_gexf, "graphml": write_graphml}[fmt]
    extra = set(W.dims) - {"year", source_dim, sink_dim}
    if extra:
        raise ValueError(f"select or reduce the dims {sorted(extra)} before writing")
    labels = [str(x) for x in W[source_dim].values]
    written = []
    for year in W["year"].values:
        mat = W.sel(year=year).transpose(source_dim, sink_dim).values
        attrs = None
        if node_attrs is not None:
            ds = node_attrs.sel(year=year)
            attrs = {str(k): ds[k].values for k in ds.data_vars if ds[k].dims == ("node",)}
        path = Path(pattern.format(year=_plain(year)))
        path.parent.mkdir(parents=True, exist_ok=True)
        written.append(writer(mat, labels, path, attrs))
    return written


def edge_table(W: np.ndarray, labels: Sequence[Hashable]) -> pd.DataFrame:
    """Tidy edge list of the positive off-diagonal flows.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights.
    labels : sequence
        Node labels.

    Returns
    -------
    pandas.DataFrame
        Columns ``source``, ``sink`` (object-dtype strings) and ``weight``, one row per edge,
        in row-major order of ``W``. The weights sum to the total flow.
    """
    a = as_weights(W)
    names = np.array(check_labels(labels, a.shape[0]), dtype=object)
    i, j = np.nonzero(a)
    return pd.DataFrame(
        {
            "source": pd.Series(names[i], dtype=object),
            "sink": pd.Series(names[j], dtype=object),
            "weight": a[i, j],
        }
    )


def node_table(
    W: np.ndarray,
    labels: Sequence[Hashable],
    metrics: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """Per-node table: strengths and degrees, plus any per-node metrics given.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights.
    labels : sequence
        Node labels, used as the index (named ``"node"``).
    metrics : mapping, optional
        Extra columns, e.g. the dict returned by
        :func:`~brgvc.network.summary.summarise`; only 1-D entries of length n are used.

    Returns
    -------
    pandas.DataFrame
        Columns ``out_strength``, ``in_strength``, ``strength``, ``out_degree``,
        ``in_degree`` and the per-node metrics.
    """
    a = as_weights(W)
    names = check_labels(labels, a.shape[0])
    s_out, s_in, s_tot = strength(a)
    k_out, k_in = degree(a)
    cols: dict[str, np.ndarray] = {
        "out_strength": s_out,
        "in_strength": s_in,
        "strength": s_tot,
        "out_degree": k_out,
        "in_degree": k_in,
    }
    if metrics is not None:
        cols.update(_node_columns({k: v for k, v in metrics.items() if k not in cols}, a.shape[0]))
    return pd.DataFrame(cols, index=pd.Index(names, name="node", dtype=object))
