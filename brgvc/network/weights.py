"""Country-level edge weights of the value-flow network (docs/methods.md §5.1-5.2).

Every weight is computed on the **full** table (all G countries of the MRIO, one LU of
(I − A)) and only then restricted to a grouping (:func:`restrict`): aggregating the
non-members into one region before the Leontief inverse would change every number
(aggregation bias, docs/methods.md §1.3). Edges are directed ``i -> j`` with ``i != j``:

* ``W1`` (default): ``w_ij = M_c[i, j] = (S V̂BÊ S')[i, j]``, the value added created in i
  that is embodied in j's gross exports (Amador & Cabral 2016's FVA network);
* ``W2``: ``w_ij = VAX_ij = (S V̂BY)[i, j]``, i's value added absorbed by j's final demand
  (Johnson & Noguera 2012);
* ``W3``: ``w_ij`` = the sum over i's exporting sectors of WWZ terms 1-8 for exports from i
  to j, the domestic value added i earns by exporting to j (Wang, Wei & Zhu 2013; the
  costliest weight: the full WWZ kernel, about 3 LUs);
* ``W4``: ``w_ij = u'Z^{ij}1``, the intermediate-goods flow from i to j.

The numpy layer (:func:`edge_weights`) returns a (G, G) array whose diagonal is 0 by
default (domestic value is not an edge); :func:`edge_weights_da` names it ``(source, sink)``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "REST",
    "WEIGHTS",
    "edge_weights",
    "edge_weights_da",
    "member_mask",
    "restrict",
]

#: Label of the optional node that sums every non-member (for share measures only).
REST = "Rest"

#: The edge weights and their meaning.
WEIGHTS: dict[str, str] = {
    "W1": "S V̂BÊ S': value added created in i embodied in j's gross exports",
    "W2": "S V̂BY: i's value added absorbed by j's final demand (VAX)",
    "W3": "sum over sectors of WWZ terms 1-8 for i -> j: domestic value added i earns "
          "by exporting to j",
    "W4": "u'Z^{ij}1: intermediate-goods flow from i to j",
}


def _country_z(system: Any) -> np.ndarray:
    """S Z S' without a copy of Z: the (G, G) block sums of the intermediate flows."""
    G, N = system.G, system.N
    return np.asarray(system.Z).reshape(G, N, G, N).sum(axis=(1, 3))


def edge_weights(ys: Any, weight: str = "W1", *, diagonal: bool = False) -> np.ndarray:
    """Country-level edge weights of one (year, draw) system.

    Parameters
    ----------
    ys : brgvc.core.leontief.YearSystem or brgvc.core.kernels.IOSystem
        The full table of one year or draw (all countries, factorised on first use).
    weight : {"W1", "W2", "W3", "W4"}, optional
        Which weight (see the module docstring); default W1.
    diagonal : bool, optional
        Keep the domestic diagonal (DVA + DDC for W1, domestic absorption for W2, 0 for W3,
        domestic intermediates for W4). Default False: the diagonal is 0.

    Returns
    -------
    numpy.ndarray
        (G, G) float64, ``out[i, j]`` the flow from country i to country j in the unit of
        the table. Entries can be slightly negative where value added is negative (Eora,
        bootstrap draws); the network layer's negative-weight policy deals with them.

    Raises
    ------
    ValueError
        For an unknown weight name.

    Examples
    --------
    >>> from brgvc.core.kernels import IOSystem
    >>> import numpy as np
    >>> s = IOSystem(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 2.0], [1.0, 4.0]]),
    ...              np.array([10.0, 12.0]), np.array([6.0, 6.0]), 2, 1)
    >>> edge_weights(s, "W4")
    array([[0., 2.],
           [3., 0.]])
    """
    system = getattr(ys, "system", ys)
    if weight == "W1":
        W = np.array(system.vbe_country(), dtype=np.float64)
    elif weight == "W2":
        W = np.array(system.vby_country(), dtype=np.float64)
    elif weight == "W3":
        from brgvc.measures.wwz import wwz_terms

        # (16, G, N, G): terms 1-8 (DVA) of exporter s, sector i, importer r.
        W = np.asarray(wwz_terms(system)[:8].sum(axis=(0, 2)), dtype=np.float64)
    elif weight == "W4":
        W = _country_z(system).astype(np.float64)
    else:
        raise ValueError(f"unknown edge weight {weight!r}; use one of {', '.join(WEIGHTS)}")
    if not diagonal:
        np.fill_diagonal(W, 0.0)
    return W


def edge_weights_da(ys: Any, weight: str = "W1", *, diagonal: bool = False) -> xr.DataArray:
    """:func:`edge_weights` labelled with dims ``(source, sink)``.

    Parameters
    ----------
    ys : brgvc.core.leontief.YearSystem
        The full table of one year or draw, with its region labels.
    weight : {"W1", "W2", "W3", "W4"}, optional
        Which weight, default W1.
    diagonal : bool, optional
        Keep the domestic diagonal (default: 0).

    Returns
    -------
    xarray.DataArray
        Named ``weight``, dims ``(source, sink)`` labelled by the table's regions, with the
        scalar coordinate ``year`` and attrs ``weight`` and ``description``.
    """
    labels = np.array([str(r) for r in ys.regions], dtype=object)
    W = edge_weights(ys, weight, diagonal=diagonal)
    out = xr.DataArray(
        W, dims=("source", "sink"), coords={"source": labels, "sink": labels.copy()},
        name=weight, attrs={"weight": weight, "description": WEIGHTS[weight],
                            "units": "unit of the table"},
    )
    if hasattr(ys, "year"):
        out = out.assign_coords(year=int(ys.year))
    return out


def member_mask(
    labels: Sequence[Hashable], grouping: Any, database: str | None = None
) -> tuple[np.ndarray, list[str | None]]:
    """Which table regions belong to a grouping, matched by ISO3 code.

    Parameters
    ----------
    labels : sequence
        The table's region codes (a database's own spelling, e.g. WIOD ``ROM``).
    grouping : brgvc.regions.Grouping
        The grouping (e.g. ``load_grouping("belt_and_road")``).
    database : str, optional
        Database whose code aliases apply (see :func:`brgvc.regions.to_iso3`); without it
        the aliases that are unambiguous across databases apply (``ROM`` -> ``ROU``).

    Returns
    -------
    mask : numpy.ndarray
        Boolean (G,), True for members.
    region_of : list
        The grouping region of each label (None for non-members).
    """
    from brgvc.regions import to_iso3

    codes = to_iso3([str(x) for x in labels], database)
    region_of = [grouping.region_of(c) for c in codes]
    return np.array([r is not None for r in region_of], dtype=bool), region_of


def restrict(
    W: np.ndarray,
    labels: Sequence[Hashable],
    members: np.ndarray,
    *,
    rest: str | None = REST,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Cut the members' sub-network out of a full-table weight matrix, plus a "Rest" node.

    Parameters
    ----------
    W : numpy.ndarray
        (G, G) weights over every country of the table (from :func:`edge_weights`).
    labels : sequence
        The table's region labels.
    members : numpy.ndarray
        Boolean (G,) mask of the network's nodes.
    rest : str or None, optional
        Label of one extra node that sums all non-members (``W[rest, j] = Σ_{i ∉ members}
        w_ij`` and likewise for the column; the flows among non-members form its diagonal,
        which is set to 0). It serves share measures only, such as the intra-group share
        ``Σ_{i,j ∈ members} w_ij / Σ_{i ∈ members, j ≠ i} w_ij``, which it leaves unchanged;
        None leaves it out. No node is added when every country is a member.

    Returns
    -------
    W_sub : numpy.ndarray
        (m, m) or (m + 1, m + 1) weights, members first in table order, then ``rest``.
    labels_sub : list of str
        Their labels.
    is_member : numpy.ndarray
        Boolean mask of the result's nodes (False only for ``rest``): the ``members``
        argument of :func:`~brgvc.network.summary.summarise`.

    Notes
    -----
    Summing rows and columns of the *result* (never the table before the inverse) is exact:
    every weight is additive over source and sink countries.
    """
    a = np.asarray(W, dtype=np.float64)
    m = np.asarray(members, dtype=bool)
    names = [str(x) for x in labels]
    if a.shape != (m.size, m.size) or len(names) != m.size:
        raise ValueError(f"W {a.shape}, labels ({len(names)}) and members ({m.size}) differ")
    idx = np.flatnonzero(m)
    out_labels = [names[i] for i in idx]
    if rest is None or m.all():
        return a[np.ix_(idx, idx)].copy(), out_labels, np.ones(idx.size, dtype=bool)
    if rest in out_labels:
        raise ValueError(f"rest label {rest!r} is also a member's label")
    k = idx.size
    out = np.zeros((k + 1, k + 1))
    out[:k, :k] = a[np.ix_(idx, idx)]
    others = ~m
    out[:k, k] = a[np.ix_(idx, np.flatnonzero(others))].sum(axis=1)
    out[k, :k] = a[np.ix_(np.flatnonzero(others), idx)].sum(axis=0)
    is_member = np.ones(k + 1, dtype=bool)
    is_member[k] = False
    return out, [*out_labels, rest], is_member
