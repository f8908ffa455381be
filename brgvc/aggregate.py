"""Aggregate a cube's regions and sectors with groupings and concordances.

Concordance files live in ``brgvc/data/concordances/`` as CSV with the columns
``from_code,to_code`` (lines starting with ``#`` are comments). Each source code maps to one
target (many to one). A row with an empty ``from_code`` declares a target without source, which
is kept as zeros, so that a table can be brought to a fixed classification (e.g. all 26
Eora26 sectors). Targets are ordered by their first appearance in the file.

Built-in concordances:

``wiod35_to_isic3``
    WIOD 2013 sector numbers ``c1``-``c35`` to their ISIC Rev.3 codes (one to one).
``wiod35_to_isic3_groups``, ``eora26_to_isic3_groups``
    WIOD35 and Eora26 to 23 ISIC Rev.3 groups both classifications can be summed into
    (``AtB``, ``C``, ``15t16``, ``17t19``, ..., ``JtK``, ``L``, ``MtO``, ``P``, ``X``), the
    bridge Eora26 <-> WIOD35 <-> ISIC.
``wiod35_to_eora26``
    WIOD35 to Eora26, many to one and approximate (WIOD ``c1`` includes fishing, ``c16``
    recycling; Eora's Fishing, Recycling, Others and Re-export & Re-import stay zero).

Regions are aggregated with a :class:`brgvc.regions.Grouping` (``"belt_and_road"``: China and
the seven Belt-and-Road regions, non-members into a rest of the world), a mapping or a
concordance file.

Aggregating the *table* (before any Leontief inverse) is not the same as aggregating
*results*: a Leontief inverse or a value-added decomposition of an aggregated table differs
from the aggregate of the decomposition of the full table (aggregation bias, docs/methods.md
§1.3). :func:`aggregate` therefore warns with :class:`AggregationWarning`; for results use
:func:`brgvc.regions.aggregate`.
"""

from __future__ import annotations

import csv
import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from brgvc.schema import REGION, REGION_TO, SECTOR, SECTOR_TO, MRIOError, label_coord

__all__ = [
    "AggregationWarning",
    "Concordance",
    "aggregate",
    "available_concordances",
    "concordance_matrix",
    "load_concordance",
]

_DIR = Path(__file__).resolve().parent / "data" / "concordances"

#: Variables summed by :func:`aggregate` (every additive variable of the canonical cube).
ADDITIVE = ("Z", "Y", "x", "va", "x_published")


class AggregationWarning(UserWarning):
    """A table (not a result) was aggregated: compute decompositions before aggregating."""


@dataclasses.dataclass(frozen=True)
class Concordance:
    """A many-to-one mapping of codes.

    Parameters
    ----------
    name : str
        File stem or a given name.
    mapping : dict of str to str
        Source code -> target code.
    targets : tuple of str
        Target codes in output order (may include targets without source).
    """

    name: str
    mapping: dict[str, str]
    targets: tuple[str, ...]

    def __post_init__(self) -> None:
        missing = sorted({t for t in self.mapping.values() if t not in self.targets})
        if missing:
            raise MRIOError(f"concordance {self.name!r}: targets {missing} not in its target list")

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, str], name: str = "mapping", targets: Sequence[str] | None = None
    ) -> Concordance:
        """Build from a dict; targets in order of first appearance unless given."""
        m = {str(k): str(v) for k, v in mapping.items()}
        t = tuple(targets) if targets is not None else tuple(dict.fromkeys(m.values()))
        return cls(name, m, t)


def available_concordances() -> list[str]:
    """Names of the built-in concordance files (without ``.csv``)."""
    return sorted(p.stem for p in _DIR.glob("*.csv"))


def load_concordance(name_or_path: str | Path) -> Concordance:
    """Read a concordance CSV (``from_code,to_code``).

    Parameters
    ----------
    name_or_path : str or Path
        A built-in name (see :func:`available_concordances`) or a file path.

    Returns
    -------
    Concordance

    Raises
    ------
    MRIOError
        For a missing file, missing columns, or a source code mapped twice (the message names
        the file and line).
    """
    p = Path(name_or_path)
    if not p.is_file():
        p = _DIR / f"{name_or_path}.csv"
    if not p.is_file():
        raise MRIOError(
            f"concordance {str(name_or_path)!r} not found; built-in: {available_concordances()}"
        )
    mapping: dict[str, str] = {}
    targets: dict[str, None] = {}
    with p.open(encoding="utf-8-sig", newline="") as fh:
        lines = [(i + 1, line) for i, line in enumerate(fh) if not line.lstrip().startswith("#")]
    rows = list(csv.reader(line for _, line in lines))
    if not rows or [c.strip() for c in rows[0][:2]] != ["from_code", "to_code"]:
        raise MRIOError(f"{p}: expected the header 'from_code,to_code'")
    for (lineno, _), row in zip(lines[1:], rows[1:], strict=True):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < 2 or not row[1].strip():
            raise MRIOError(f"{p}, line {lineno}: expected from_code,to_code, got {row}")
        src, dst = row[0].strip(), row[1].strip()
        targets.setdefault(dst)
        if not src:
            continue
        if src in mapping and mapping[src] != dst:
            raise MRIOError(
                f"{p}, line {lineno}: {src!r} mapped to {mapping[src]!r} and to {dst!r}"
            )
        mapping[src] = dst
    return Concordance(p.stem, mapping, tuple(targets))


def concordance_matrix(codes: Sequence[str], conc: Concordance, what: str) -> np.ndarray:
    """0/1 matrix (len(codes) × len(targets)) of a concordance; every code must be mapped."""
    codes = [str(c) for c in codes]
    unmapped = [c for c in codes if c not in conc.mapping]
    if unmapped:
        raise MRIOError(
            f"concordance {conc.name!r} does not map {len(unmapped)} {what} code(s): "
            f"{unmapped[:5]}"
        )
    col = {t: j for j, t in enumerate(conc.targets)}
    M = np.zeros((len(codes), len(conc.targets)))
    for i, c in enumerate(codes):
        M[i, col[conc.mapping[c]]] = 1.0
    return M


def _region_concordance(spec, codes: Sequence[str], database: str | None, other: str | None):
    from brgvc import regions as reg

    if isinstance(spec, Concordance):
        return concordance_matrix(codes, spec, "region"), list(spec.targets), spec.name
    if isinstance(spec, Mapping):
        conc = Concordance.from_mapping(spec, "mapping")
        return concordance_matrix(codes, conc, "region"), list(conc.targets), conc.name
    if isinstance(spec, reg.Grouping) or (
        isinstance(spec, str) and spec in reg.available_groupings()
    ):
        grouping = spec if isinstance(spec, reg.Grouping) else reg.load_grouping(spec)
        m = reg.membership(codes, grouping, database=database, other=other)
        return np.asarray(m.values), [str(v) for v in m[reg.GROUP].values], grouping.name
    conc = load_concordance(spec)
    return concordance_matrix(codes, conc, "region"), list(conc.targets), conc.name


def _sector_concordance(spec, codes: Sequence[str]):
    if isinstance(spec, Concordance):
        conc = spec
    elif isinstance(spec, Mapping):
        conc = Concordance.from_mapping(spec, "mapping")
    else:
        conc = load_concordance(spec)
    return concordance_matrix(codes, conc, "sector"), list(conc.targets), conc.name


def _sum_dim(da: xr.DataArray, dim: str, matrix: np.ndarray, labels: Sequence[str]):
    tmp = "__brgvc_agg__"
    weights = xr.DataArray(
        matrix.astype(da.dtype if np.issubdtype(da.dtype, np.floating) else np.float64),
        dims=(dim, tmp),
        coords={dim: da[dim].values, tmp: label_coord(labels)},
    )
    out = xr.dot(da, weights, dim=dim)
    out = out.transpose(*[tmp if d == dim else d for d in da.dims])
    return out.rename({tmp: dim}).assign_coords({dim: label_coord(labels)})


def aggregate(
    ds: xr.Dataset,
    *,
    regions=None,
    sectors=None,
    database: str | None = None,
    other: str | None = "RoW",
    warn: bool = True,
) -> xr.Dataset:
    """Sum a cube's regions and/or sectors into groups, for Z, Y, x (and va, x_published).

    Parameters
    ----------
    ds : xarray.Dataset
        Canonical cube (lazy or in memory; dask arrays stay lazy). Additive variables are
        summed, boolean flags (``emptied``) become "any member", other variables that carry
        an aggregated dimension are left out.
    regions : str, Grouping, mapping, Concordance or None
        A grouping name (``"belt_and_road"``) or :class:`brgvc.regions.Grouping`, a dict
        ``{code: group}``, a :class:`Concordance` or the name/path of a concordance CSV.
        Applied to ``region`` and ``region_to``.
    sectors : str, mapping, Concordance or None
        A concordance name/path (``"wiod35_to_isic3_groups"``), a dict or a
        :class:`Concordance`. Applied to ``sector`` and ``sector_to``.
    database : str, optional
        Database whose code aliases apply when matching regions to a grouping.
    other : str or None
        With a grouping: label of the region collecting non-members (``None`` drops them,
        which does not preserve totals).
    warn : bool
        Emit :class:`AggregationWarning` (aggregate results, not tables, where it matters).

    Returns
    -------
    xarray.Dataset
        The aggregated cube; totals are preserved, and so are the identities
        x = Z·1 + Y·1 and x = 1'Z + va when they hold for ``ds``. ``attrs["aggregation"]``
        names the concordances used.

    Raises
    ------
    MRIOError
        If a concordance does not map every code.

    Examples
    --------
    >>> from brgvc.datasets import open_dataset
    >>> ds = open_dataset("wiod2013", years=[2011])
    >>> small = aggregate(ds, regions="belt_and_road", sectors="wiod35_to_isic3_groups",
    ...                   database="wiod2013", warn=False)
    >>> small.sizes["region"], small.sizes["sector"]
    (9, 23)
    """
    if regions is None and sectors is None:
        return ds
    out = ds
    note: dict[str, str] = {}
    if regions is not None:
        codes = [str(c) for c in ds[REGION].values]
        M, labels, name = _region_concordance(regions, codes, database, other)
        note["regions"] = name
        out = _apply(out, (REGION, REGION_TO), M, labels)
    if sectors is not None:
        codes = [str(c) for c in ds[SECTOR].values]
        M, labels, name = _sector_concordance(sectors, codes)
        note["sectors"] = name
        out = _apply(out, (SECTOR, SECTOR_TO), M, labels)
    if warn:
        warnings.warn(
            "aggregating an MRIO table before the Leontief inverse changes every "
            "decomposition (aggregation bias): compute decompositions on the full table and "
            "aggregate the additive results with brgvc.regions.aggregate where that matters",
            AggregationWarning,
            stacklevel=2,
        )
    out.attrs = {**ds.attrs, "aggregation": {**ds.attrs.get("aggregation", {}), **note}}
    return out


def _apply(ds: xr.Dataset, dims: Sequence[str], M: np.ndarray, labels: Sequence[str]):
    data = {}
    for name, da in ds.data_vars.items():
        touched = any(d in da.dims for d in dims)
        flag = da.dtype == bool
        if touched and name not in ADDITIVE and not flag:
            continue  # not additive (coefficients, shares): cannot be summed, left out
        if touched:
            for d in dims:
                if d in da.dims:
                    da = _sum_dim(da.astype(np.float64) if flag else da, d, M, labels)
            if flag:  # flags (e.g. ``emptied``): true if any member is
                da = da > 0
            da.attrs = ds[name].attrs
        data[name] = da
    coords = {k: v for k, v in ds.coords.items() if not any(d in v.dims for d in dims)}
    for d in dims:
        if d in ds.dims:
            coords[d] = label_coord(labels)
    return xr.Dataset(data, coords=coords, attrs=dict(ds.attrs))
