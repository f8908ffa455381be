"""All network indicators of one (year, draw) in one call, and their stacking into xarray.

:func:`summarise` is the unit of work of the network stage: one weight matrix in, a flat
dict of scalars and per-node arrays out. Measured on 2 cores: ~3 ms at n = 15 and ~16 ms at
n = 65, of which networkx's Louvain takes ~9 ms (``communities=False`` skips it). The xarray layer
(:func:`summary_to_dataset` for eager lists of dicts, :func:`summarise_da` for a labelled,
possibly dask-backed matrix) only names dims.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from . import backbone as _bb
from . import metrics as _m
from ._util import check_labels, clip_negative, single_threaded_blas
from .communities import louvain, modularity
from .coreperiphery import Transform, continuous_coreness, discrete_core

__all__ = [
    "BACKBONE_VARS",
    "NODE_VARS",
    "RANKED",
    "SCALAR_VARS",
    "backbone_stats",
    "ranks",
    "summarise",
    "summarise_da",
    "summary_to_dataset",
]

Backbone = Literal["disparity", "mean", "threshold", "none"]
Negative = Literal["clip", "raise"]

#: Per-node outputs of :func:`summarise`, in order, with their dtype.
NODE_VARS: dict[str, type] = {
    "out_strength": float,
    "in_strength": float,
    "strength": float,
    "strength_share": float,
    "out_degree": int,
    "in_degree": int,
    "pagerank": float,
    "pagerank_source": float,
    "eigenvector": float,
    "betweenness": float,
    "closeness_in": float,
    "closeness_out": float,
    "clustering": float,
    "coreness": float,
    "core": bool,
    "community": int,
    "strength_rank": int,
    "pagerank_rank": int,
    "coreness_rank": int,
}

#: Per-node ranks (1 = largest value; ties go to the earlier node, as ``first`` does) and
#: the per-node variable each ranks.
RANKED: dict[str, str] = {
    "strength_rank": "strength",
    "pagerank_rank": "pagerank",
    "coreness_rank": "coreness",
}

#: Outputs that depend on the backbone (the thresholded network); all others are computed on
#: the full weighted network and are the same for every threshold.
BACKBONE_VARS: tuple[str, ...] = ("n_edges", "density_binary", "out_degree", "in_degree")

#: Scalar outputs of :func:`summarise`, in order, with their dtype ("intra_share" only when
#: ``members`` is given).
SCALAR_VARS: dict[str, type] = {
    "total_flow": float,
    "intra_share": float,
    "n_edges": int,
    "density_binary": float,
    "density_weighted": float,
    "S2": float,
    "S4": float,
    "S11": float,
    "first": int,
    "avg_clustering": float,
    "avg_path_length": float,
    "avg_path_length_harmonic": float,
    "coreness_rho": float,
    "core_rho": float,
    "core_density": float,
    "periphery_density": float,
    "n_communities": int,
    "modularity": float,
    "n_negative_edges": int,
    "negative_mass": float,
}


def _backbone(a: np.ndarray, kind: str, alpha: float, tau: float) -> np.ndarray:
    """The thresholded network used for the binary statistics."""
    if kind == "disparity":
        return _bb.disparity_filter(a, alpha=alpha)
    if kind == "mean":
        return _bb.mean_dichotomise(a)
    if kind == "threshold":
        return _bb.global_threshold(a, tau=tau)
    if kind == "none":
        return a
    raise ValueError(f"unknown backbone {kind!r}; use disparity, mean, threshold or none")


def ranks(values: np.ndarray) -> np.ndarray:
    """Rank of every node, 1 for the largest value.

    Ties go to the earlier node (a stable sort of ``-values``), so the node ranked 1 is the
    ``first`` of :func:`~brgvc.network.metrics.primacy`. NaN values rank last.

    Parameters
    ----------
    values : numpy.ndarray
        One value per node.

    Returns
    -------
    numpy.ndarray
        int64 ranks 1..n.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(np.where(np.isnan(v), np.inf, -v), kind="stable")
    out = np.empty(v.size, dtype=np.int64)
    out[order] = np.arange(1, v.size + 1)
    return out


def _members_view(
    W: np.ndarray, labels: Sequence[Hashable], members: np.ndarray | None, negative: str
) -> tuple[np.ndarray, np.ndarray, list[str], float | None, int, float]:
    """Clip, check labels, and cut the member sub-network out of ``W``."""
    full, n_neg, neg_mass = clip_negative(W, negative)
    names = check_labels(labels, full.shape[0])
    if members is None:
        return full, full, names, None, n_neg, neg_mass
    mask = np.asarray(members, dtype=bool)
    intra = _m.intra_group_share(full, mask)
    a = full[np.ix_(mask, mask)]
    names = [lab for lab, keep in zip(names, mask, strict=True) if keep]
    return full, a, names, intra, n_neg, neg_mass


def backbone_stats(
    W: np.ndarray,
    labels: Sequence[Hashable],
    *,
    members: np.ndarray | None = None,
    backbone: Backbone = "disparity",
    alpha: float = 0.05,
    tau: float = 0.001,
    negative: Negative = "clip",
) -> dict[str, Any]:
    """Only the backbone-dependent outputs of :func:`summarise` (see :data:`BACKBONE_VARS`).

    A job that reports several thresholds runs :func:`summarise` once and this function for
    each further threshold: the weighted metrics do not depend on the threshold.

    Parameters
    ----------
    W, labels, members, backbone, alpha, tau, negative
        As in :func:`summarise`.

    Returns
    -------
    dict
        ``n_edges`` and ``density_binary`` (scalars), ``out_degree`` and ``in_degree`` (n,).
    """
    with single_threaded_blas():
        _, a, _, _, _, _ = _members_view(W, labels, members, negative)
        bb = _backbone(a, backbone, alpha, tau)
        k_out, k_in = _m.degree(bb)
        density_binary, _ = _m.density(bb)
    return {
        "n_edges": int(k_out.sum()),
        "density_binary": float(density_binary),
        "out_degree": k_out,
        "in_degree": k_in,
    }


def summarise(
    W: np.ndarray,
    labels: Sequence[Hashable],
    *,
    members: np.ndarray | None = None,
    region_of: Mapping[Hashable, Hashable] | None = None,
    regions: Sequence[Hashable] | None = None,
    backbone: Backbone = "disparity",
    alpha: float = 0.05,
    tau: float = 0.001,
    cp_transform: Transform = "none",
    seed: int = 0,
    communities: bool = True,
    negative: Negative = "clip",
) -> dict[str, Any]:
    """Network indicators of one value-flow matrix (one year, one draw).

    Weighted metrics use the full matrix with Opsahl distances ``d = 1 / w``; only the
    degrees, ``n_edges`` and ``density_binary`` use the backbone, because the full MRIO network
    is nearly complete and its binary statistics carry no information.

    Parameters
    ----------
    W : numpy.ndarray
        (N, N) flows, ``W[i, j]`` from ``labels[i]`` to ``labels[j]``. The diagonal is
        ignored; negative off-diagonal flows follow ``negative``.
    labels : sequence
        Node labels of ``W``.
    members : numpy.ndarray, optional
        Boolean (N,) mask of the network's nodes (e.g. the B&R economies) within a larger
        ``W`` (e.g. the 189-country table, or B&R plus an aggregate rest-of-world node). When
        given, ``intra_share`` is computed on the full ``W`` and **every other output on the
        member sub-network** ``W[members][:, members]``: the non-member nodes serve only the
        share, as docs/methods.md §5.1 prescribes. Per-node outputs then follow
        ``labels[members]``.
    region_of : mapping, optional
        Node label -> region label; adds ``"regional"`` (the r x r matrix ``S W S'``) and
        ``"regions"`` (its labels, object array).
    regions : sequence, optional
        Fixed region order for ``"regional"``; default is first appearance along ``labels``.
    backbone : {"disparity", "mean", "threshold", "none"}, optional
        Backbone for the binary statistics: the disparity filter at ``alpha`` (default),
        UCINET's mean dichotomisation, the global cut at ``tau`` times the total flow, or
        the full network.
    alpha : float, optional
        Disparity-filter level, default 0.05.
    tau : float, optional
        Global-cut share for ``backbone="threshold"``, default 0.001 (0.1 %).
    cp_transform : {"none", "log1p", "binary"}, optional
        Transform of ``(W + W') / 2`` for the core-periphery models.
    seed : int, optional
        Louvain seed (and tie-breaking seed of the coreness start).
    communities : bool, optional
        Run Louvain (more than half the run time at n = 65); if False, ``community`` is -1,
        ``n_communities`` is -1 and ``modularity`` is NaN.
    negative : {"clip", "raise"}, optional
        Negative-weight policy (see :func:`brgvc.network._util.clip_negative`): ``"clip"``
        (default) sets negative off-diagonal weights of the whole ``W`` to 0 before anything
        is computed and reports their number and absolute sum as ``n_negative_edges`` and
        ``negative_mass``; ``"raise"`` refuses such a matrix with ValueError. NaN or
        infinite weights always raise.

    Returns
    -------
    dict
        Scalars (Python ``float``/``int``) named in :data:`SCALAR_VARS` and (n,) arrays named
        in :data:`NODE_VARS`, plus ``"regional"``/``"regions"`` when ``region_of`` is given.
        ``first`` is the position (in the network's node order) of the node with the largest
        total strength; ``S2``, ``S4`` and ``S11`` are primacy indices of total strength;
        ``strength_rank``, ``pagerank_rank`` and ``coreness_rank`` rank the nodes (1 = top,
        see :func:`ranks`).

    Notes
    -----
    BLAS runs single-threaded inside the call (see ``_util.single_threaded_blas``).
    """
    with single_threaded_blas():
        return _summarise(
            W,
            labels,
            members=members,
            region_of=region_of,
            regions=regions,
            backbone=backbone,
            alpha=alpha,
            tau=tau,
            cp_transform=cp_transform,
            seed=seed,
            communities=communities,
            negative=negative,
        )


def _summarise(
    W: np.ndarray,
    labels: Sequence[Hashable],
    *,
    members: np.ndarray | None,
    region_of: Mapping[Hashable, Hashable] | None,
    regions: Sequence[Hashable] | None,
    backbone: str,
    alpha: float,
    tau: float,
    cp_transform: Transform,
    seed: int,
    communities: bool,
    negative: str,
) -> dict[str, Any]:
    """Body of :func:`summarise`, run under the single-thread BLAS limit."""
    _, a, names, intra, n_neg, neg_mass = _members_view(W, labels, members, negative)
    out: dict[str, Any] = {}
    n = a.shape[0]

    s_out, s_in, s_tot = _m.strength(a)
    total = float(s_out.sum())
    bb = _backbone(a, backbone, alpha, tau)
    k_out, k_in = _m.degree(bb)
    density_binary, _ = _m.density(bb)
    _, density_weighted = _m.density(a)
    prim = _m.primacy(s_tot)
    D = _m.distance_matrix(a)
    clus, avg_clus = _m.clustering(a)
    coreness, coreness_rho = continuous_coreness(a, transform=cp_transform, seed=seed)
    cp = discrete_core(a, transform=cp_transform, coreness=coreness)
    if communities and n > 0:
        comm = louvain(a, seed=seed)
        n_comm, mod = int(comm.max()) + 1, modularity(a, comm)
    else:
        comm, n_comm, mod = np.full(n, -1, dtype=np.int64), -1, float("nan")

    scalars: dict[str, Any] = {
        "total_flow": total,
        "intra_share": intra,
        "n_edges": int(k_out.sum()),
        "density_binary": density_binary,
        "density_weighted": density_weighted,
        "S2": prim["S2"],
        "S4": prim["S4"],
        "S11": prim["S11"],
        "first": prim["first"],
        "avg_clustering": avg_clus,
        "avg_path_length": _m.average_path_length_from_distances(D),
        "avg_path_length_harmonic": _m.average_path_length_from_distances(D, harmonic=True),
        "coreness_rho": coreness_rho,
        "core_rho": cp.rho,
        "core_density": cp.core_density,
        "periphery_density": cp.periphery_density,
        "n_communities": n_comm,
        "modularity": mod,
        "n_negative_edges": n_neg,
        "negative_mass": neg_mass,
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        share = s_tot / s_tot.sum() if s_tot.sum() > 0 else np.full(n, np.nan)
    nodes: dict[str, np.ndarray] = {
        "out_strength": s_out,
        "in_strength": s_in,
        "strength": s_tot,
        "strength_share": share,
        "out_degree": k_out,
        "in_degree": k_in,
        "pagerank": _m.pagerank(a),
        "pagerank_source": _m.pagerank(a, transpose=True),
        "eigenvector": _m.eigenvector(a),
        "betweenness": _m.betweenness_from_distances(a, D),
        "closeness_in": _m.closeness_from_distances(D, "in"),
        "closeness_out": _m.closeness_from_distances(D, "out"),
        "clustering": clus,
        "coreness": coreness,
        "core": cp.core,
        "community": comm,
    }
    for rank_name, var in RANKED.items():
        nodes[rank_name] = ranks(nodes[var])
    for key, typ in SCALAR_VARS.items():
        if scalars[key] is not None:
            out[key] = typ(scalars[key])
    out.update(nodes)
    if region_of is not None:
        R, reg = _m.regional_matrix(a, names, region_of, regions)
        out["regional"] = R
        out["regions"] = np.array([str(r) for r in reg], dtype=object)
    return out


# ------------------------------------------------------------------------------ xarray layer


def summary_to_dataset(
    dicts: Sequence[Mapping[str, Any]] | Mapping[tuple[Hashable, Hashable], Mapping[str, Any]],
    labels: Sequence[Hashable],
    years: Sequence[Hashable],
    draws: Sequence[Hashable],
) -> xr.Dataset:
    """Stack :func:`summarise` dicts into a Dataset with dims (year, draw[, node]).

    Parameters
    ----------
    dicts : sequence of dict, or mapping (year, draw) -> dict
        Either a flat sequence in year-major order (all draws of the first year, then the
        next year) of length ``len(years) * len(draws)``, or a mapping keyed by
        ``(year, draw)``. All dicts must hold the same keys.
    labels : sequence
        Node labels of the per-node arrays (``labels[members]`` if ``members`` was used).
    years, draws : sequence
        Coordinates of the ``year`` and ``draw`` dims.

    Returns
    -------
    xarray.Dataset
        Scalars on (year, draw), per-node arrays on (year, draw, node) with ``node`` an
        object-dtype string coordinate, and ``regional`` on (year, draw, region, region_to)
        when present.
    """
    years, draws = list(years), list(draws)
    if isinstance(dicts, Mapping):
        flat = [dicts[(y, d)] for y in years for d in draws]
    else:
        flat = list(dicts)
    if len(flat) != len(years) * len(draws):
        raise ValueError(
            f"expected {len(years) * len(draws)} summaries (years x draws), got {len(flat)}"
        )
    if not flat:
        raise ValueError("no summaries to stack")
    keys = list(flat[0])
    for k, item in enumerate(flat):
        if list(item) != keys:
            raise ValueError(f"summary {k} has keys {sorted(item)}, expected {sorted(keys)}")
    names = np.array([str(x) for x in labels], dtype=object)
    shape = (len(years), len(draws))
    coords: dict[str, Any] = {"year": years, "draw": draws, "node": names}
    data_vars: dict[str, Any] = {}
    for key in keys:
        if key == "regions":
            continue
        stacked = np.stack([np.asarray(item[key]) for item in flat]).reshape(
            shape + np.shape(flat[0][key])
        )
        if key == "regional":
            data_vars[key] = (("year", "draw", "region", "region_to"), stacked)
        elif stacked.ndim == 2:
            data_vars[key] = (("year", "draw"), stacked)
        elif stacked.ndim == 3 and stacked.shape[2] == len(names):
            data_vars[key] = (("year", "draw", "node"), stacked)
        else:
            raise ValueError(f"{key!r} has an unexpected shape {stacked.shape[2:]}")
    if "regions" in keys:
        reg = np.asarray(flat[0]["regions"], dtype=object)
        coords["region"] = reg
        coords["region_to"] = reg.copy()
    return xr.Dataset(data_vars, coords=coords)


def _layout(n: int, n_regions: int | None, with_share: bool) -> list[tuple[str, tuple, type]]:
    """(name, shape, dtype) of every output of :func:`summarise`, in packing order."""
    spec: list[tuple[str, tuple, type]] = [
        (k, (), t) for k, t in SCALAR_VARS.items() if with_share or k != "intra_share"
    ]
    spec += [(k, (n,), t) for k, t in NODE_VARS.items()]
    if n_regions is not None:
        spec.append(("regional", (n_regions, n_regions), float))
    return spec


def _pack(result: Mapping[str, Any], spec: list[tuple[str, tuple, type]]) -> np.ndarray:
    """Flatten one summary into a float vector (bools and ints survive exactly as floats)."""
    parts = [np.asarray(result[k], dtype=np.float64).reshape(-1) for k, _, _ in spec]
    return np.concatenate(parts)


def summarise_da(
    W: xr.DataArray,
    *,
    source_dim: str = "source",
    sink_dim: str = "sink",
    members: Sequence[bool] | np.ndarray | None = None,
    region_of: Mapping[Hashable, Hashable] | None = None,
    regions: Sequence[Hashable] | None = None,
    **kwargs: Any,
) -> xr.Dataset:
    """:func:`summarise` over every leading index of a labelled weight matrix.

    Parameters
    ----------
    W : xarray.DataArray
        Flows with dims ``(..., source_dim, sink_dim)``, e.g. ``(year, draw, source, sink)``,
        and identical label coordinates on the two matrix dims. May be dask-backed: the
        result is then lazy, one task per chunk, with each chunk's matrices summarised in a
        loop (chunk the matrix dims whole).
    source_dim, sink_dim : str, optional
        Names of the matrix dims.
    members, region_of, regions : optional
        See :func:`summarise`; ``members`` is a mask along ``source_dim``.
    **kwargs
        Passed to :func:`summarise` (``backbone``, ``alpha``, ``tau``, ``cp_transform``,
        ``seed``, ``communities``).

    Returns
    -------
    xarray.Dataset
        Scalars on the leading dims, per-node arrays on the leading dims plus ``node``,
        ``regional`` on the leading dims plus ``(region, region_to)``.
    """
    src = [str(x) for x in W[source_dim].values]
    snk = [str(x) for x in W[sink_dim].values]
    if src != snk:
        raise ValueError(f"{source_dim} and {sink_dim} must carry identical labels")
    mask = None if members is None else np.asarray(members, dtype=bool)
    nodes = src if mask is None else [s for s, keep in zip(src, mask, strict=True) if keep]
    reg_labels = None
    if region_of is not None:
        _, reg_labels = _m.region_index(nodes, region_of, regions)
        regions = reg_labels
    spec = _layout(len(nodes), None if reg_labels is None else len(reg_labels), mask is not None)
    size = sum(int(np.prod(shape)) for _, shape, _ in spec)

    def kernel(mat: np.ndarray) -> np.ndarray:
        res = summarise(mat, src, members=mask, region_of=region_of, regions=regions, **kwargs)
        return _pack(res, spec)

    packed = xr.apply_ufunc(
        kernel,
        W,
        input_core_dims=[[source_dim, sink_dim]],
        output_core_dims=[["_packed"]],
        vectorize=True,
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"_packed": size}},
    )
    lead = [d for d in packed.dims if d != "_packed"]
    data_vars: dict[str, Any] = {}
    start = 0
    for name, shape, typ in spec:
        width = int(np.prod(shape))
        piece = packed.isel(_packed=slice(start, start + width))
        start += width
        if shape == ():
            var = piece.squeeze("_packed", drop=True)
        elif name == "regional":
            var = xr.DataArray(
                piece.data.reshape(piece.shape[:-1] + shape),
                dims=(*lead, "region", "region_to"),
            )
        else:
            var = piece.rename(_packed="node")
        data_vars[name] = var.astype(typ) if typ is not float else var
    coords: dict[str, Any] = {d: W[d] for d in lead if d in W.coords}
    coords["node"] = np.array(nodes, dtype=object)
    if reg_labels is not None:
        coords["region"] = np.array([str(r) for r in reg_labels], dtype=object)
        coords["region_to"] = coords["region"].copy()
    ds = xr.Dataset(data_vars)
    return ds.assign_coords(coords)
