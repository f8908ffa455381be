"""Canonical names of the MRIO cube, its constructor and its validation.

Every reader returns, and every later layer consumes, one :class:`xarray.Dataset` with the
variables below. Regions and sectors are labels, never positions; the buyer side of a square
matrix carries a ``_to`` suffix.

========  ==============================================  ======================================
variable  dims                                            meaning
========  ==============================================  ======================================
``Z``     (year, region, sector, region_to, sector_to)    intermediate sales
``Y``     (year, region, sector, region_to, fd)           final demand of ``region_to`` by ``fd``
``x``     (year, region, sector)                          gross output
``va``    (year, region, sector)                          value added
========  ==============================================  ======================================

Readers of databases that publish their primary-input rows also give ``va_published``
(year, va_component, region, sector): every published row below the intermediate block
(value added or its parts, taxes less subsidies on products, cif/fob and purchase
adjustments), in the canonical unit, one ``va_component`` per row. ``attrs["va_total"]``
lists the components that add up to value added (:func:`published_value_added`).

Unit: every reader converts to :data:`CANONICAL_UNIT` where only the scale differs
(thousand -> million) and records what it read in ``attrs["unit_published"]`` and the factor
applied in ``attrs["unit_factor"]`` (:func:`normalise_unit`); a currency other than USD is
kept (no exchange rates are applied) and named in ``attrs["unit"]``.

This module is a shared leaf: it imports nothing from the rest of :mod:`brgvc`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import xarray as xr

YEAR = "year"
REGION = "region"
SECTOR = "sector"
REGION_TO = "region_to"
SECTOR_TO = "sector_to"
FD = "fd"
DRAW = "draw"
VA_COMPONENT = "va_component"

Z_DIMS = (YEAR, REGION, SECTOR, REGION_TO, SECTOR_TO)
Y_DIMS = (YEAR, REGION, SECTOR, REGION_TO, FD)
X_DIMS = (YEAR, REGION, SECTOR)
VA_PUBLISHED_DIMS = (YEAR, VA_COMPONENT, REGION, SECTOR)

#: The unit every reader delivers where the publisher's differs only in scale.
CANONICAL_UNIT = "million USD, current prices"
_SCALES = {"thousand": 1e-3, "million": 1.0, "billion": 1e3}

GrossOutput = Literal["balanced", "published"]
GROSS_OUTPUT_CONVENTIONS: tuple[str, ...] = ("balanced", "published")

#: Final-demand categories in which negative entries are legitimate (changes in inventories).
INVENTORY_CATEGORIES = frozenset(
    {"INVEN", "INVNT", "P52", "P.52", "P5", "P5M", "inventories"}
)


class MRIOError(ValueError):
    """Invalid MRIO input: the message names the file, year and cell concerned."""


def normalise_unit(published: str) -> tuple[float, str]:
    """Factor and unit that bring a published monetary unit to the canonical scale.

    Parameters
    ----------
    published : str
        The publisher's unit, e.g. ``"thousand USD, current prices"`` (Eora26, GLORIA) or
        ``"million EUR, current prices"`` (EXIOBASE, FIGARO).

    Returns
    -------
    factor : float
        Multiply the published numbers by this (``1e-3`` for thousand).
    unit : str
        The unit after scaling: :data:`CANONICAL_UNIT` for USD, ``"million EUR, current
        prices"`` for EUR (no exchange rate is applied).

    Raises
    ------
    MRIOError
        If the scale (thousand, million, billion) or the currency cannot be read.

    Examples
    --------
    >>> normalise_unit("thousand USD, current prices")
    (0.001, 'million USD, current prices')
    """
    words = published.replace(",", " ").split()
    scale = [w.lower() for w in words if w.lower() in _SCALES]
    currency = [w for w in words if w.upper() in ("USD", "EUR", "US$")]
    if len(scale) != 1 or len(currency) != 1:
        raise MRIOError(f"cannot read the monetary unit {published!r} (expected e.g. "
                        "'thousand USD, current prices')")
    cur = "USD" if currency[0].upper() in ("USD", "US$") else "EUR"
    return _SCALES[scale[0]], f"million {cur}, current prices"


def published_value_added(ds: xr.Dataset) -> xr.DataArray:
    """Published value added: the sum of the ``va_published`` components in ``va_total``.

    Parameters
    ----------
    ds : xarray.Dataset
        A cube with ``va_published`` and ``attrs["va_total"]``.

    Returns
    -------
    xarray.DataArray
        (year, region, sector).
    """
    if "va_published" not in ds:
        raise MRIOError(f"dataset {ds.attrs.get('source', '?')!r} has no published value added")
    total = ds.attrs.get("va_total")
    if isinstance(total, str):
        import json

        total = json.loads(total)
    return ds["va_published"].sel({VA_COMPONENT: list(total)}).sum(VA_COMPONENT)


class MRIOBalanceWarning(UserWarning):
    """A table does not balance within tolerance (the message names year and cells)."""


def label_coord(values: Iterable[str]) -> np.ndarray:
    """Return labels as an object array so that zarr v3 stores variable-length strings.

    Fixed-width numpy unicode (``<U4``) has no zarr v3 specification and triggers an
    ``UnstableSpecificationWarning``; object dtype maps to ``VariableLengthUTF8``.
    """
    return np.array([str(v) for v in values], dtype=object)


def make_cube(
    Z: np.ndarray,
    Y: np.ndarray,
    x: np.ndarray | None,
    *,
    years: Sequence[int],
    regions: Sequence[str],
    sectors: Sequence[str],
    fd: Sequence[str],
    attrs: dict | None = None,
    gross_output: GrossOutput = "balanced",
    va_published: np.ndarray | None = None,
    va_components: Sequence[str] | None = None,
) -> xr.Dataset:
    """Build the canonical cube from stacked (GN-indexed) arrays.

    Parameters
    ----------
    Z : ndarray, shape (T, GN, GN)
        Intermediate flows, rows = supplying country-sector, country-major.
    Y : ndarray, shape (T, GN, G * F)
        Final demand, columns country-major by category.
    x : ndarray, shape (T, GN), optional
        Published gross output. Required when ``gross_output="published"``; stored in
        ``x_published`` whenever given.
    years, regions, sectors, fd : sequence
        Labels of the axes.
    attrs : dict, optional
        Dataset attributes (source, release, unit, provenance).
    gross_output : {"balanced", "published"}
        ``"balanced"`` sets x = Z·1 + Y·1 and va = x − 1'Z, so that every accounting identity
        holds exactly (country-sectors with Z·1 + Y·1 <= 0 are emptied and flagged in
        ``emptied``); ``"published"`` uses the database's output and va = x − 1'Z.
    va_published : ndarray, shape (T, K, GN), optional
        The database's primary-input rows (see the module docstring).
    va_components : sequence of str, optional
        Their K labels (required with ``va_published``).

    Returns
    -------
    xarray.Dataset
        The canonical cube (see module docstring).
    """
    check_gross_output(gross_output)
    T, G, N, F = len(years), len(regions), len(sectors), len(fd)
    Z = np.asarray(Z, dtype=np.float64).reshape(T, G, N, G, N)
    Y = np.asarray(Y, dtype=np.float64).reshape(T, G, N, G, F)
    coords = {
        YEAR: np.asarray(years, dtype=np.int64),
        REGION: label_coord(regions),
        SECTOR: label_coord(sectors),
        REGION_TO: label_coord(regions),
        SECTOR_TO: label_coord(sectors),
        FD: label_coord(fd),
    }
    ds = xr.Dataset(
        {"Z": (Z_DIMS, Z), "Y": (Y_DIMS, Y)},
        coords=coords,
        attrs=dict(attrs or {}),
    )
    if x is not None:
        ds["x_published"] = (X_DIMS, np.asarray(x, dtype=np.float64).reshape(T, G, N))
    if va_published is not None:
        K = len(va_components or ())
        ds["va_published"] = (VA_PUBLISHED_DIMS,
                              np.asarray(va_published, dtype=np.float64).reshape(T, K, G, N))
        ds = ds.assign_coords({VA_COMPONENT: label_coord(va_components)})
    return with_gross_output(ds, gross_output)


def check_gross_output(gross_output: str) -> None:
    """Raise a clear error for an unknown gross-output convention."""
    if gross_output not in GROSS_OUTPUT_CONVENTIONS:
        raise MRIOError(
            f"gross output convention {gross_output!r} is not one of {GROSS_OUTPUT_CONVENTIONS}"
        )


def balance(Z, Y, discrepancy=None):
    """The one balancing of brgvc: ``x = Z·1 + Y·1 (+ discrepancy)`` and ``va = x − 1'Z``.

    Used for the cube's balanced convention (:func:`with_gross_output`), for each year's
    base table and each bootstrap draw (:func:`brgvc.draws.rebalance_residual`), so that a
    zero-variance draw equals the base bit for bit.

    Parameters
    ----------
    Z : ndarray (n, n) or xarray.DataArray
        Stacked intermediate flows, or the cube's ``Z`` (dims ``region, sector, region_to,
        sector_to`` and possibly ``year``).
    Y : ndarray (n, m) or xarray.DataArray
        Stacked final demand (any column layout), or the cube's ``Y``.
    discrepancy : array, optional
        Added to ``x`` (a published table's ``x − Z·1 − Y·1``).

    Returns
    -------
    x, va : ndarray (n,) or xarray.DataArray
        Gross output and value added (dims ``region, sector`` for cube inputs).
    """
    x = balanced_output(Z, Y, discrepancy)
    return x, value_added(x, Z)


def balanced_output(Z, Y, discrepancy=None):
    """Gross output ``x = Z·1 + Y·1 (+ discrepancy)`` (the row identity; see :func:`balance`).

    Parameters
    ----------
    Z, Y, discrepancy
        As in :func:`balance`.

    Returns
    -------
    ndarray (n,) or xarray.DataArray
    """
    if isinstance(Z, xr.DataArray):
        x = Z.sum((REGION_TO, SECTOR_TO)) + Y.sum((REGION_TO, FD))
    else:
        x = Z.sum(1) + Y.sum(1)
    if discrepancy is not None:
        x = x + discrepancy
    return x


def value_added(x, Z):
    """Value added ``va = x − 1'Z`` (the column identity; see :func:`balance`).

    Parameters
    ----------
    x : ndarray (n,) or xarray.DataArray
        Gross output (dims ``region, sector`` for cube inputs).
    Z : ndarray (n, n) or xarray.DataArray
        As in :func:`balance`.

    Returns
    -------
    ndarray (n,) or xarray.DataArray
    """
    if isinstance(Z, xr.DataArray):
        return x - Z.sum((REGION, SECTOR)).rename({REGION_TO: REGION, SECTOR_TO: SECTOR})
    return x - Z.sum(0)


def with_gross_output(ds: xr.Dataset, gross_output: GrossOutput = "balanced") -> xr.Dataset:
    """Set ``x`` and ``va`` on a cube according to the gross-output convention.

    Parameters
    ----------
    ds : xarray.Dataset
        Cube with ``Z`` and ``Y`` (and ``x_published`` for ``"published"``).
    gross_output : {"balanced", "published"}
        See :func:`make_cube`.

    Returns
    -------
    xarray.Dataset
        A shallow copy with ``x`` and ``va`` (lazy if the inputs are).
    """
    check_gross_output(gross_output)
    ds = ds.copy()
    if gross_output == "balanced":
        # A country-sector whose sales add up to zero or less produces nothing; its few
        # booked sales (WIOD: a handful of millions, e.g. LUX c5/c8 in 2011 sum to −1) are
        # removed so that x = Z·1 + Y·1, va = x − 1'Z, v·B = u' and V̂BY·1 = GDP hold exactly.
        # Two passes: removing a row can only lower other rows' sums by those small amounts.
        Z, Y = ds["Z"], ds["Y"]
        emptied = xr.zeros_like(Z.isel({REGION_TO: 0, SECTOR_TO: 0}, drop=True), dtype=bool)
        for _ in range(2):
            x = balanced_output(Z, Y)
            emptied = emptied | (x <= 0)
            empty_to = emptied.rename({REGION: REGION_TO, SECTOR: SECTOR_TO})
            Z = Z.where(~emptied & ~empty_to, 0.0)
            Y = Y.where(~emptied, 0.0)
        x = balanced_output(Z, Y)
        ds["Z"], ds["Y"] = Z.transpose(*Z_DIMS), Y.transpose(*Y_DIMS)
        ds["emptied"] = emptied.transpose(*X_DIMS)
        ds["emptied"].attrs["description"] = (
            "country-sectors whose sales Z·1 + Y·1 are <= 0: their rows and columns were "
            "set to zero (balanced convention)"
        )
    else:
        if "x_published" not in ds:
            raise MRIOError(
                f"gross_output='published' needs the database's output column, "
                f"but dataset {ds.attrs.get('source', '?')!r} has no x_published"
            )
        x = ds["x_published"]
    ds["x"] = x.transpose(*X_DIMS)
    ds["va"] = value_added(x, ds["Z"]).transpose(*X_DIMS)
    ds.attrs["gross_output"] = gross_output
    return ds


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Issue:
    """One finding of :func:`validate`.

    Attributes
    ----------
    year : int
    kind : str
        ``row_balance``, ``column_balance``, ``negative_cell``, ``nonpositive_output``,
        ``negative_value_added``, ``column_sum_ge_1``, ``spectral_radius_ge_1`` or ``nan``.
    severity : {"error", "warning", "info"}
    region, sector : str or None
        The country-sector concerned.
    detail : str
        Human-readable message with the numbers.
    value : float
    """

    year: int
    kind: str
    severity: str
    region: str | None
    sector: str | None
    detail: str
    value: float = float("nan")

    def __str__(self) -> str:
        where = f"{self.region}.{self.sector}" if self.region is not None else "table"
        return f"[{self.severity}] {self.year} {where}: {self.kind}: {self.detail}"


@dataclasses.dataclass
class ValidationReport:
    """The result of :func:`validate`: a list of :class:`Issue` with helpers."""

    issues: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        """Issues with severity ``error``."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def ok(self) -> bool:
        """True when no issue is an error."""
        return not self.errors

    def by_kind(self, kind: str) -> list[Issue]:
        """Issues of one kind."""
        return [i for i in self.issues if i.kind == kind]

    def to_frame(self):
        """Issues as a :class:`pandas.DataFrame`."""
        import pandas as pd

        return pd.DataFrame([dataclasses.asdict(i) for i in self.issues])

    def raise_if_errors(self) -> None:
        """Raise :class:`MRIOError` listing the first errors."""
        if self.errors:
            head = "; ".join(str(i) for i in self.errors[:5])
            more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
            raise MRIOError(f"invalid MRIO table: {head}{more}")

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues) or "no issues"


def validate(
    ds: xr.Dataset,
    *,
    rtol: float = 1e-2,
    atol: float = 1.0,
    precision: float | None = None,
    spectral: bool = True,
) -> ValidationReport:
    """Check a cube year by year and name every problem by year, region and sector.

    Checks: NaN or infinite cells; negative cells (errors in Z; in final demand reported as
    ``info`` for inventory categories and as warnings elsewhere); row balance
    ``Z·1 + Y·1 = x`` and column balance ``1'Z + va = x`` (warnings beyond the tolerance);
    zero or negative output (a zero column of A, reported); negative value added; column
    sums of A ≥ 1 and the spectral radius of A ≥ 1 (errors: the Leontief inverse does not
    exist or is not non-negative).

    Parameters
    ----------
    ds : xarray.Dataset
        Canonical cube.
    rtol, atol : float
        Tolerance of the balance checks: ``atol + rtol·|x|``.
    precision : float, optional
        Rounding unit of the published cells (WIOD: 1, whole millions); a row or column may
        then also be off by ``precision`` times its number of cells (the bound for cells
        truncated to the unit). Defaults to
        ``ds.attrs["cell_precision"]`` when present.
    spectral : bool
        Also compute the spectral radius of A (a few power iterations) when some column sum
        of A is ≥ 1.

    Returns
    -------
    ValidationReport
    """
    issues: list[Issue] = []
    if precision is None:
        precision = ds.attrs.get("cell_precision")
    regions = [str(r) for r in ds[REGION].values]
    sectors = [str(s) for s in ds[SECTOR].values]
    fd = [str(f) for f in ds[FD].values]
    N = len(sectors)

    def label(k: int) -> tuple[str, str]:
        return regions[k // N], sectors[k % N]

    for year in ds[YEAR].values:
        year = int(year)
        one = ds.sel({YEAR: year})
        Z = stacked_square(one["Z"])
        Y = stacked_final(one["Y"])
        GN = Z.shape[0]
        x = np.asarray(one["x"].values, dtype=float).reshape(GN)
        va = np.asarray(one["va"].values, dtype=float).reshape(GN)
        for name, arr in (("Z", Z), ("Y", Y), ("x", x)):
            bad = np.argwhere(~np.isfinite(arr))
            for cell in bad[:20]:
                r, s = label(int(cell[0]))
                issues.append(
                    Issue(year, "nan", "error", r, s, f"{name}{tuple(int(c) for c in cell)} is "
                          f"{arr[tuple(cell)]!r}")
                )
        if any(i.kind == "nan" and i.year == year for i in issues):
            continue
        negZ = np.argwhere(Z < 0)
        for i, j in negZ[:50]:
            r, s = label(int(i))
            rt, st = label(int(j))
            issues.append(
                Issue(year, "negative_cell", "error", r, s,
                      f"Z[{r}.{s} -> {rt}.{st}] = {Z[i, j]:g} < 0", float(Z[i, j]))
            )
        F = len(fd)
        Yr = Y.reshape(GN, -1, F)
        for f_idx, cat in enumerate(fd):
            neg = np.argwhere(Yr[:, :, f_idx] < 0)
            if not len(neg):
                continue
            if cat in INVENTORY_CATEGORIES:
                issues.append(
                    Issue(year, "negative_cell", "info", None, None,
                          f"{len(neg)} negative cells in final-demand category {cat} "
                          "(inventories, kept)", float(Yr[:, :, f_idx].min()))
                )
            else:
                # Real tables have a few (e.g. WIOD GFCF); they are kept but named.
                for i, d in neg[:50]:
                    r, s = label(int(i))
                    issues.append(
                        Issue(year, "negative_cell", "warning", r, s,
                              f"Y[{r}.{s} -> {regions[d]}.{cat}] = {Yr[i, d, f_idx]:g} < 0 "
                              "outside inventories", float(Yr[i, d, f_idx]))
                    )
        row_err = Z.sum(1) + Y.sum(1) - x
        tol = atol + rtol * np.abs(x)
        col_tol = tol
        if precision:
            # Cells truncated to the unit (WIOD) can each lose up to one unit, zeros included.
            tol = np.maximum(tol, precision * (Z.shape[1] + Y.shape[1]))
            col_tol = np.maximum(col_tol, precision * (Z.shape[0] + 1))
        for k in np.flatnonzero(np.abs(row_err) > tol):
            r, s = label(int(k))
            issues.append(
                Issue(year, "row_balance", "warning", r, s,
                      f"Z·1 + Y·1 − x = {row_err[k]:g} (x = {x[k]:g})", float(row_err[k]))
            )
        col_err = Z.sum(0) + va - x
        for k in np.flatnonzero(np.abs(col_err) > col_tol):
            r, s = label(int(k))
            issues.append(
                Issue(year, "column_balance", "warning", r, s,
                      f"1'Z + va − x = {col_err[k]:g} (x = {x[k]:g})", float(col_err[k]))
            )
        for k in np.flatnonzero(x <= 0):
            r, s = label(int(k))
            issues.append(
                Issue(year, "nonpositive_output", "warning", r, s,
                      f"gross output {x[k]:g} <= 0: column of A and v set to 0", float(x[k]))
            )
        pos = x > 0
        for k in np.flatnonzero(pos & (va < 0)):
            r, s = label(int(k))
            issues.append(
                Issue(year, "negative_value_added", "warning", r, s,
                      f"value added {va[k]:g} < 0", float(va[k]))
            )
        colsumA = np.zeros(GN)
        colsumA[pos] = Z.sum(0)[pos] / x[pos]
        high = np.flatnonzero(colsumA >= 1.0)
        for k in high:
            r, s = label(int(k))
            issues.append(
                Issue(year, "column_sum_ge_1", "warning", r, s,
                      f"column sum of A = {colsumA[k]:.6g} >= 1", float(colsumA[k]))
            )
        if spectral and len(high):
            A = np.zeros_like(Z)
            A[:, pos] = Z[:, pos] / x[pos]
            rho = float(np.max(np.abs(np.linalg.eigvals(A))))
            if rho >= 1.0:
                issues.append(
                    Issue(year, "spectral_radius_ge_1", "error", None, None,
                          f"spectral radius of A = {rho:.6g} >= 1: (I − A) has no "
                          "non-negative inverse", rho)
                )
    return ValidationReport(issues)


def stacked_square(da: xr.DataArray) -> np.ndarray:
    """Return a (region, sector, region_to, sector_to) array as a GN × GN matrix."""
    v = np.asarray(da.transpose(REGION, SECTOR, REGION_TO, SECTOR_TO).values, dtype=np.float64)
    G, N = v.shape[0], v.shape[1]
    return v.reshape(G * N, G * N)


def stacked_final(da: xr.DataArray, by_destination: bool = False) -> np.ndarray:
    """Return final demand as GN × (G·F), or GN × G summed over categories.

    Parameters
    ----------
    da : xarray.DataArray
        ``Y`` of one year, dims (region, sector, region_to, fd).
    by_destination : bool
        Sum over the final-demand categories.
    """
    v = np.asarray(da.transpose(REGION, SECTOR, REGION_TO, FD).values, dtype=np.float64)
    G, N = v.shape[0], v.shape[1]
    if by_destination:
        return v.sum(-1).reshape(G * N, G)
    return v.reshape(G * N, -1)


def stacked_vector(da: xr.DataArray) -> np.ndarray:
    """Return a (region, sector) vector as a length-GN array."""
    return np.asarray(da.transpose(REGION, SECTOR).values, dtype=np.float64).reshape(-1)


def warn_balance(report: ValidationReport, source: str) -> None:
    """Emit one :class:`MRIOBalanceWarning` summarising balance problems, if any."""
    bal = report.by_kind("row_balance") + report.by_kind("column_balance")
    if bal:
        worst = max(bal, key=lambda i: abs(i.value))
        warnings.warn(
            f"{source}: {len(bal)} country-sectors out of balance; worst {worst}",
            MRIOBalanceWarning,
            stacklevel=3,
        )
