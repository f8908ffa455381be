"""Country metadata, database code aliases and country groupings.

Three data files ship with the package:

``data/countries.csv``
    One row per ISO 3166-1 alpha-3 code plus the non-ISO codes that MRIO databases use
    (``RoW`` rest of the world, Eora's ``ROW`` statistical discrepancy, ``SUD`` former
    Sudan, ``SDS`` South Sudan, ``USR`` former USSR, ``ANT`` Netherlands Antilles, ``XKX``
    Kosovo). Columns ``iso3, name, capital, lon, lat``; lon/lat are the capital's
    coordinates in decimal degrees, empty where there is no capital (``RoW``, Antarctica).
``data/aliases.csv``
    Database-specific codes that denote an ISO country or the rest of the world
    (``wiod2013,ROM,ROU``; ``oecd_icio,CN1,CHN``; ``exiobase3,WA,RoW``; ...). Only codes that
    differ from the target are listed.
``data/groupings/*.csv``
    Groupings of countries into regions, columns ``iso3, region, region_zh``. The file order
    of first appearance fixes the order of the regions. ``belt_and_road`` is China plus the
    64 Belt-and-Road economies in seven regions (docs/methods.md section 1.4);
    ``belt_and_road_official65`` is the "official" variant (ASEAN without Timor-Leste, West
    Asia with Greece and Cyprus).

Results are always computed on the full table and aggregated afterwards with
:func:`aggregate`; see its docstring for why.

This module is a shared leaf: it imports only numpy, pandas, xarray and :mod:`brgvc.schema`.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brgvc.schema import REGION, label_coord

__all__ = [
    "GROUP",
    "OTHER",
    "ROW",
    "Grouping",
    "aggregate",
    "available_groupings",
    "capital_lonlat",
    "country_name",
    "load_countries",
    "load_grouping",
    "membership",
    "to_iso3",
]

#: Code of the rest-of-the-world region (WIOD spelling); database variants alias to it.
ROW = "RoW"
#: Default label of the region that collects the non-members of a grouping.
OTHER = "Other"
#: Name of the grouping-region dimension of :func:`membership`.
GROUP = "group"

_DATA = Path(__file__).resolve().parent / "data"
_COUNTRIES_CSV = _DATA / "countries.csv"
_ALIASES_CSV = _DATA / "aliases.csv"
_GROUPINGS_DIR = _DATA / "groupings"


# --------------------------------------------------------------------------------------------
# Country table and code aliases
# --------------------------------------------------------------------------------------------


@functools.cache
def _countries() -> pd.DataFrame:
    # keep_default_na=False: names and codes are never missing values (e.g. a code "NA");
    # only the empty lon/lat of capital-less rows become NaN.
    df = pd.read_csv(
        _COUNTRIES_CSV,
        dtype={"iso3": str, "name": str, "capital": str},
        keep_default_na=False,
        na_values={"lon": [""], "lat": [""]},
        encoding="utf-8",
    )
    dup = df["iso3"][df["iso3"].duplicated()].tolist()
    if dup:
        raise ValueError(f"{_COUNTRIES_CSV}: duplicate iso3 codes {dup}")
    df["lon"] = df["lon"].astype(float)
    df["lat"] = df["lat"].astype(float)
    return df.set_index("iso3")


def load_countries() -> pd.DataFrame:
    """Return the country table shipped with brgvc.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``iso3`` with columns ``name``, ``capital`` (str, empty if none), ``lon``
        and ``lat`` (float, capital coordinates in decimal degrees, NaN if no capital). Besides
        every ISO 3166-1 alpha-3 code it holds the non-ISO database codes ``RoW``, ``ROW``
        (Eora statistical discrepancy), ``SUD``, ``SDS``, ``USR``, ``ANT`` and ``XKX``.

    Notes
    -----
    The file is read once and cached; each call returns a copy, so callers may modify it.
    """
    return _countries().copy()


@functools.cache
def _aliases() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    with _ALIASES_CSV.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            db = str(row["database"]).strip().lower()
            table.setdefault(db, {})[row["code"].strip()] = row["iso3"].strip()
    return table


@functools.cache
def _global_aliases() -> dict[str, str]:
    # Aliases used when no database is named (or for codes the named database does not
    # alias): only codes that are not themselves in the country table and that every
    # database maps to the same target. Eora's "ROW" (a discrepancy row) is in the table,
    # so it is never silently turned into the rest of the world.
    known = set(_countries().index)
    targets: dict[str, set[str]] = {}
    for mapping in _aliases().values():
        for code, iso3 in mapping.items():
            targets.setdefault(code, set()).add(iso3)
    return {code: next(iter(t)) for code, t in targets.items() if len(t) == 1 and code not in known}


def _normalise_database(database: str | None) -> str | None:
    if database is None:
        return None
    return str(database).strip().lower()


def to_iso3(codes: str | Iterable[str], database: str | None = None) -> list[str]:
    """Map database region codes to ISO 3166-1 alpha-3 codes.

    Parameters
    ----------
    codes : str or iterable of str
        Region codes as a database spells them (a single string is one code).
    database : str, optional
        Database key as in ``aliases.csv`` (``"wiod2013"``, ``"wiod2016"``, ``"oecd_icio"``,
        ``"exiobase3"``, ``"eora26"``, ``"gloria"``; case-insensitive). Its aliases are
        applied first.

    Returns
    -------
    list of str
        One code per input, in order. A code is resolved as follows: the named database's
        alias if it has one; the code itself if it is in :func:`load_countries` (valid ISO
        codes pass through, ``RoW`` stays ``RoW``); an alias that is unambiguous across all
        databases (``ROM`` -> ``ROU``, ``CN1`` -> ``CHN``); otherwise the code unchanged
        (synthetic labels such as ``"A"`` are kept).

    Examples
    --------
    >>> to_iso3(["ROM", "CHN", "RoW"], database="wiod2013")
    ['ROU', 'CHN', 'RoW']
    >>> to_iso3(["CN1", "CN2", "ROW"], database="oecd_icio")
    ['CHN', 'CHN', 'RoW']
    """
    if isinstance(codes, str):
        codes = [codes]
    db = _normalise_database(database)
    specific = _aliases().get(db, {}) if db is not None else {}
    known = _countries().index
    fallback = _global_aliases()
    out = []
    for raw in codes:
        code = str(raw)
        if code in specific:
            out.append(specific[code])
        elif code in known:
            out.append(code)
        else:
            out.append(fallback.get(code, code))
    return out


def _country_row(code: str, database: str | None) -> pd.Series:
    iso3 = to_iso3([code], database)[0]
    table = _countries()
    if iso3 not in table.index:
        hint = f" (resolved to {iso3!r})" if iso3 != code else ""
        raise KeyError(f"unknown country code {code!r}{hint}; see brgvc/data/countries.csv")
    return table.loc[iso3]


def country_name(code: str, database: str | None = None) -> str:
    """Return the English short name of a country code.

    Parameters
    ----------
    code : str
        ISO3 or database code (see :func:`to_iso3`).
    database : str, optional
        Database whose aliases apply.

    Returns
    -------
    str
        The name, e.g. ``"Romania"`` for ``("ROM", "wiod2013")``.

    Raises
    ------
    KeyError
        If the code does not resolve to a row of the country table.
    """
    return str(_country_row(code, database)["name"])


def capital_lonlat(code: str, database: str | None = None) -> tuple[float, float]:
    """Return the capital's (longitude, latitude) in decimal degrees.

    Parameters
    ----------
    code : str
        ISO3 or database code (see :func:`to_iso3`).
    database : str, optional
        Database whose aliases apply.

    Returns
    -------
    tuple of float
        ``(lon, lat)``; ``(nan, nan)`` for codes without a capital (``RoW``, Antarctica).

    Raises
    ------
    KeyError
        If the code does not resolve to a row of the country table.
    """
    row = _country_row(code, database)
    return float(row["lon"]), float(row["lat"])


# --------------------------------------------------------------------------------------------
# Groupings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grouping:
    """A partition of some countries into named regions.

    Parameters
    ----------
    name : str
        Name of the grouping (built-in file stem or user file stem).
    members : dict of str to str
        ISO3 code -> region key, in file order.
    region_zh : dict of str to str, optional
        Region key -> Chinese region name (may be empty).

    Notes
    -----
    Countries that are not members belong to no region; :func:`membership` and
    :func:`aggregate` put them into an ``"Other"`` region or drop them.
    """

    name: str
    members: dict[str, str]
    region_zh: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [iso for iso, reg in self.members.items() if not iso or not reg]
        if bad:
            raise ValueError(f"grouping {self.name!r}: empty code or region for {bad}")

    @property
    def regions(self) -> tuple[str, ...]:
        """Region keys in order of first appearance (file order)."""
        return tuple(dict.fromkeys(self.members.values()))

    def members_of(self, region: str) -> list[str]:
        """Return the ISO3 codes of one region, in file order.

        Parameters
        ----------
        region : str
            A region key of :attr:`regions`.

        Returns
        -------
        list of str
            Member codes.

        Raises
        ------
        KeyError
            If ``region`` is not a region of this grouping.
        """
        if region not in self.regions:
            raise KeyError(f"grouping {self.name!r} has no region {region!r}: {self.regions}")
        return [iso for iso, reg in self.members.items() if reg == region]

    def region_of(self, iso3: str) -> str | None:
        """Return the region of an ISO3 code, or None if it is not a member.

        Parameters
        ----------
        iso3 : str
            ISO3 code (database codes must be mapped with :func:`to_iso3` first).

        Returns
        -------
        str or None
            The region key.
        """
        return self.members.get(iso3)

    def covered(self, codes: Iterable[str], database: str | None = None) -> dict:
        """Tell which members are separate regions of a dataset and which are missing.

        Parameters
        ----------
        codes : iterable of str
            The dataset's region codes (e.g. the ``region`` coordinate of a cube).
        database : str, optional
            Database whose aliases apply (see :func:`to_iso3`).

        Returns
        -------
        dict
            ``"present"``: members found, in grouping order; ``"missing"``: members not
            found (they are hidden in a rest-of-world region or absent), in grouping order;
            ``"codes"``: ISO3 -> list of the dataset codes that map to it (several for split
            countries such as OECD ``CN1``/``CN2``); ``"by_region"``: region -> present
            members; ``"missing_by_region"``: region -> missing members.

        Examples
        --------
        WIOD 2013 has 15 of the 65 Belt-and-Road economies as separate countries:

        >>> from brgvc.regions import load_grouping
        >>> wiod = ["CHN", "RUS", "ROM", "USA", "RoW"]
        >>> load_grouping().covered(wiod, database="wiod2013")["present"]
        ['CHN', 'ROU', 'RUS']
        """
        codes = [str(c) for c in codes]
        found: dict[str, list[str]] = {}
        for code, iso in zip(codes, to_iso3(codes, database), strict=True):
            if iso in self.members:
                found.setdefault(iso, []).append(code)
        present = [iso for iso in self.members if iso in found]
        missing = [iso for iso in self.members if iso not in found]
        return {
            "present": present,
            "missing": missing,
            "codes": {iso: found[iso] for iso in present},
            "by_region": {r: [i for i in present if self.members[i] == r] for r in self.regions},
            "missing_by_region": {
                r: [i for i in missing if self.members[i] == r] for r in self.regions
            },
        }


def available_groupings() -> list[str]:
    """Return the names of the built-in groupings.

    Returns
    -------
    list of str
        File stems in ``brgvc/data/groupings``, sorted (e.g. ``"belt_and_road"``).
    """
    return sorted(p.stem for p in _GROUPINGS_DIR.glob("*.csv"))


def _resolve_grouping_path(name_or_path: str | Path) -> tuple[str, Path]:
    if isinstance(name_or_path, str) and name_or_path in available_groupings():
        return name_or_path, _GROUPINGS_DIR / f"{name_or_path}.csv"
    path = Path(name_or_path)
    if path.is_file():
        return path.stem, path
    if isinstance(name_or_path, str) and path.suffix == "" and len(path.parts) == 1:
        raise ValueError(
            f"unknown grouping {name_or_path!r}: built-in groupings are "
            f"{available_groupings()}, or pass the path of a CSV file"
        )
    raise FileNotFoundError(f"grouping file not found: {path}")


_REQUIRED_COLUMNS = ("iso3", "region")


def _parse_grouping(name: str, path: Path) -> Grouping:
    members: dict[str, str] = {}
    first_line: dict[str, int] = {}
    region_zh: dict[str, str] = {}
    zh_line: dict[str, int] = {}
    header: list[str] | None = None
    # utf-8-sig: tolerate the byte-order mark that spreadsheet programs write.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        for row in reader:
            line = reader.line_num
            if not row or all(not v.strip() for v in row) or row[0].lstrip().startswith("#"):
                continue
            values = [v.strip() for v in row]
            if header is None:
                header = values
                lacking = [c for c in _REQUIRED_COLUMNS if c not in header]
                if lacking:
                    raise ValueError(
                        f"{path}, line {line}: missing column(s) {lacking}; a grouping file "
                        f"needs columns iso3,region[,region_zh] (header is {header})"
                    )
                dup_cols = sorted({c for c in header if header.count(c) > 1})
                if dup_cols:
                    raise ValueError(f"{path}, line {line}: repeated column(s) {dup_cols}")
                i_iso, i_reg = header.index("iso3"), header.index("region")
                i_zh = header.index("region_zh") if "region_zh" in header else None
                continue
            if len(values) < len(header):
                raise ValueError(
                    f"{path}, line {line}: {len(values)} field(s), the header has {len(header)}"
                )
            iso, region = values[i_iso], values[i_reg]
            if not iso:
                raise ValueError(f"{path}, line {line}: empty iso3")
            if not region:
                raise ValueError(f"{path}, line {line}: empty region for {iso!r}")
            if iso in members:
                raise ValueError(
                    f"{path}, line {line}: duplicate iso3 {iso!r} (first on line {first_line[iso]})"
                )
            members[iso] = region
            first_line[iso] = line
            zh = values[i_zh] if i_zh is not None else ""
            if zh:
                if region in region_zh and region_zh[region] != zh:
                    raise ValueError(
                        f"{path}, line {line}: region {region!r} has region_zh {zh!r} but "
                        f"{region_zh[region]!r} on line {zh_line[region]}"
                    )
                region_zh.setdefault(region, zh)
                zh_line.setdefault(region, line)
    if header is None:
        raise ValueError(f"{path}: empty grouping file (no header)")
    if not members:
        raise ValueError(f"{path}: grouping file has a header but no members")
    return Grouping(name=name, members=members, region_zh=region_zh)


def load_grouping(name_or_path: str | Path = "belt_and_road") -> Grouping:
    """Load a built-in grouping or a user CSV file.

    Parameters
    ----------
    name_or_path : str or pathlib.Path, default "belt_and_road"
        A built-in name (see :func:`available_groupings`) or the path of a CSV file with
        columns ``iso3, region`` and optionally ``region_zh`` (extra columns are ignored,
        blank lines and lines starting with ``#`` are skipped).

    Returns
    -------
    Grouping
        Regions in order of first appearance in the file.

    Raises
    ------
    ValueError
        For an unknown built-in name or a malformed file (missing column, duplicate iso3,
        empty code or region, conflicting ``region_zh``); the message names the file and line.
    FileNotFoundError
        If a path is given and does not exist.
    """
    name, path = _resolve_grouping_path(name_or_path)
    return _parse_grouping(name, path)


# --------------------------------------------------------------------------------------------
# Membership and aggregation
# --------------------------------------------------------------------------------------------


def _group_labels(grouping: Grouping, other: str | None) -> list[str]:
    labels = list(grouping.regions)
    if other is not None:
        if other in labels:
            raise ValueError(f"other={other!r} is also a region of grouping {grouping.name!r}")
        labels.append(other)
    return labels


def _membership_matrix(
    codes: Sequence[str], grouping: Grouping, database: str | None, other: str | None
) -> tuple[np.ndarray, list[str]]:
    labels = _group_labels(grouping, other)
    column = {label: j for j, label in enumerate(labels)}
    matrix = np.zeros((len(codes), len(labels)), dtype=float)
    for i, iso in enumerate(to_iso3(codes, database)):
        region = grouping.region_of(iso)
        if region is not None:
            matrix[i, column[region]] = 1.0
        elif other is not None:
            matrix[i, column[other]] = 1.0
    return matrix, labels


def membership(
    codes: Sequence[str],
    grouping: Grouping,
    *,
    database: str | None = None,
    other: str | None = OTHER,
) -> xr.DataArray:
    """Return the 0/1 matrix that assigns dataset regions to grouping regions.

    Parameters
    ----------
    codes : sequence of str
        The dataset's own region codes (unique), e.g. ``cube.region.values``.
    grouping : Grouping
        The grouping to map into.
    database : str, optional
        Database whose aliases apply when matching codes to members (see :func:`to_iso3`).
    other : str or None, default "Other"
        Label of the extra region that collects non-members. With ``None`` non-members get
        an all-zero row, i.e. they are dropped by :func:`aggregate`.

    Returns
    -------
    xarray.DataArray
        Float 0/1 matrix with dims ``("region", "group")``; ``region`` holds ``codes``,
        ``group`` holds :attr:`Grouping.regions` followed by ``other``. Every row has at most
        one 1 (exactly one when ``other`` is given).

    Raises
    ------
    ValueError
        If ``codes`` has duplicates or ``other`` is one of the grouping's regions.
    """
    codes = [str(c) for c in codes]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise ValueError(f"duplicate region codes {dup}")
    matrix, labels = _membership_matrix(codes, grouping, database, other)
    return xr.DataArray(
        matrix,
        dims=(REGION, GROUP),
        coords={REGION: label_coord(codes), GROUP: label_coord(labels)},
        name="membership",
        attrs={"grouping": grouping.name},
    )


def aggregate(
    da: xr.DataArray,
    grouping: Grouping,
    dim: str,
    *,
    database: str | None = None,
    other: str | None = OTHER,
    new_dim: str | None = None,
) -> xr.DataArray:
    """Sum an additive result along a region-like dimension into grouping regions.

    Parameters
    ----------
    da : xarray.DataArray
        An additive result (value-added flows, exports, decomposition terms in levels) with
        a dimension ``dim`` labelled by the dataset's region codes. Dask-backed arrays stay
        lazy.
    grouping : Grouping
        The grouping to aggregate into.
    dim : str
        Region-like dimension to aggregate (``"region"``, ``"region_to"``, ``"exporter"``...).
        Call once per dimension to aggregate both sides of a bilateral result.
    database : str, optional
        Database whose aliases apply (see :func:`to_iso3`).
    other : str or None, default "Other"
        Region that collects non-members; ``None`` drops them from the sums.
    new_dim : str, optional
        Name of the result dimension; defaults to ``dim``. It takes the position of ``dim``.

    Returns
    -------
    xarray.DataArray
        ``da`` with ``dim`` replaced by ``new_dim`` (labels: the grouping's regions, then
        ``other``). With ``other`` given the total over the dimension is preserved.

    Warnings
    --------
    Aggregate *results*, never the table: compute every Leontief inverse and decomposition on
    the full, disaggregated MRIO and only then sum the additive outputs with this function.
    Merging countries (e.g. all non-members into one "rest of world") before inversion
    changes the results (aggregation bias; docs/methods.md section 1.3). Only additive quantities
    may be summed: ratios, shares, positions and lengths must be recomputed from aggregated
    numerators and denominators.

    Notes
    -----
    The sum is ``xarray.dot`` with the :func:`membership` matrix, so a NaN anywhere along
    ``dim`` of a kept region makes every group NaN at that position (0 * NaN is NaN); fill
    missing values first if that is not wanted.
    """
    if dim not in da.dims:
        raise ValueError(f"dimension {dim!r} not in {da.dims}")
    if dim not in da.coords:
        raise ValueError(f"dimension {dim!r} has no labels; aggregation needs region codes")
    out_dim = dim if new_dim is None else new_dim
    if out_dim != dim and out_dim in da.dims:
        raise ValueError(f"new_dim {out_dim!r} is already a dimension of the array")
    codes = [str(c) for c in da[dim].values]
    matrix, labels = _membership_matrix(codes, grouping, database, other)
    if other is None:
        # Drop non-members before the product: less work, and their NaNs cannot leak.
        keep = matrix.any(axis=1)
        if not keep.all():
            da = da.isel({dim: np.flatnonzero(keep)})
            matrix = matrix[keep]
    # A temporary name avoids clashes with existing dims (including dim == "group").
    tmp = "__brgvc_group__"
    dtype = da.dtype if np.issubdtype(da.dtype, np.floating) else np.float64
    weights = xr.DataArray(
        matrix.astype(dtype),
        dims=(dim, tmp),
        coords={dim: da[dim].values, tmp: label_coord(labels)},
    )
    out = xr.dot(da, weights, dim=dim)
    out = out.transpose(*[tmp if d == dim else d for d in da.dims])
    out = out.rename({tmp: out_dim}).assign_coords({out_dim: label_coord(labels)})
    out.name = da.name
    out.attrs = {**da.attrs, "grouping": grouping.name}
    return out
