"""Thin xarray layer over :mod:`brgvc.core.kernels`: labelled inputs in, labelled results out.

Result dimensions: ``source`` (country whose value added it is), ``source_sector``, ``sink``
(absorbing country of final demand), ``exporter`` / ``importer``, and ``sector`` for the
exporting or producing sector.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import xarray as xr
from xarray.core.variable import Variable

from brgvc.core.kernels import IOSystem, SingularSystemError
from brgvc.schema import (
    FD,
    REGION,
    REGION_TO,
    SECTOR,
    YEAR,
    MRIOError,
    label_coord,
    stacked_final,
    stacked_square,
    stacked_vector,
)

__all__ = [
    "YearSystem",
    "ZeroOutputWarning",
    "gross_exports",
    "leontief_inverse",
    "local_inverses",
    "system",
    "vbe",
    "vby",
]


class ZeroOutputWarning(UserWarning):
    """Some country-sectors have zero or negative gross output (zero column of A, v = 0)."""


#: Result dims labelled by the regions, and by the sectors.
_REGION_DIMS = frozenset(("source", "sink", "exporter", "importer", REGION, REGION_TO))
_SECTOR_DIMS = frozenset(("sector", "source_sector", SECTOR, "sector_to"))


class _LabelIndex:
    """The index coordinate of one label set, built once per dimension name and then shared.

    Building a labelled result the public way (``xr.DataArray(values, coords=...)``) creates
    a pandas index for every labelled dim of every result, which costs more than a measure's
    numerical work on a bootstrap draw. The index variable and index object built here are
    immutable and are reused by every result with these labels (each result gets a shallow
    copy of the variable, so its attrs stay its own).
    """

    __slots__ = ("_by_dim", "labels")

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels
        self._by_dim: dict[str, tuple[Variable, Any]] = {}

    def get(self, dim: str) -> tuple[Variable, Any]:
        """(index variable, xarray Index) of these labels along ``dim``."""
        built = self._by_dim.get(dim)
        if built is None:
            c = xr.Coordinates({dim: self.labels})
            built = (c.variables[dim], c.xindexes[dim])
            self._by_dim[dim] = built
        return built


@functools.lru_cache(maxsize=64)
def _label_index(labels: tuple[str, ...]) -> _LabelIndex:
    return _LabelIndex(label_coord(labels))


def _fast_dataarray(
    values: np.ndarray, dims: tuple[str, ...], coords: Mapping[str, tuple[Variable, Any]],
    year: int,
) -> xr.DataArray:
    """``xr.DataArray(values, dims, coords).assign_coords(year=year)`` from pre-built indexes."""
    variables = {d: var.copy(deep=False) for d, (var, _) in coords.items()}
    variables[YEAR] = Variable((), np.asarray(year))
    indexes = {d: index for d, (_, index) in coords.items()}
    return xr.DataArray(
        Variable(dims, values, fastpath=True), coords=variables, indexes=indexes, fastpath=True
    )


def _same_coord(a: Variable, b: Variable, indexed: bool) -> bool:
    """``a.identical(b)`` for coordinates of :func:`_fast_dataarray` results, cheaply.

    An indexed coordinate's values are those of its index (already checked to be the same
    object); a scalar is compared by value.
    """
    if a is b:
        return True
    if a.dims != b.dims or a.dtype != b.dtype or a.attrs != b.attrs:
        return False
    if indexed:
        return True
    if a.ndim == 0 and a.dtype.kind in "biu":
        return bool(a.values == b.values)
    return a.identical(b)


def _fast_dataset(data: Mapping[str, xr.DataArray], attrs: Mapping | None) -> xr.Dataset | None:
    """``xr.Dataset(data, attrs=attrs)`` for results that share their index objects.

    Skips the alignment of the public constructor, which cannot change anything when every
    index is the same object. Returns None when that is not the case (the caller then uses
    the public constructor).
    """
    construct = getattr(xr.Dataset, "_construct_direct", None)
    if construct is None:
        return None
    # The public constructor's order: each result's new coordinates, then the result.
    variables: dict[str, Variable] = {}
    indexes: dict[str, Any] = {}
    coord_names: set[str] = set()
    for name, da in data.items():
        own = da.xindexes
        for iname, index in own.items():
            if indexes.setdefault(iname, index) is not index:
                return None
        for cname, var in da.coords.variables.items():
            seen = variables.get(cname)
            if seen is None:
                variables[cname] = var
                coord_names.add(cname)
            elif not _same_coord(seen, var, cname in own):
                return None
        if name in variables:
            return None
        variables[name] = da.variable.copy(deep=False)
    if coord_names & set(data):
        return None
    try:
        return construct(variables, coord_names, None, dict(attrs) if attrs else None, indexes)
    except ValueError:  # conflicting sizes: let the public constructor say so
        return None


class YearSystem:
    """One year's :class:`~brgvc.core.kernels.IOSystem` with the cube's labels.

    Parameters
    ----------
    system : IOSystem
    regions, sectors : sequence of str
    year : int
    """

    def __init__(self, system: IOSystem, regions, sectors, year: int) -> None:
        self.system = system
        self.regions = label_coord(regions)
        self.sectors = label_coord(sectors)
        self.year = int(year)
        self._label_cache: dict[int, tuple[np.ndarray, _LabelIndex]] = {}

    @classmethod
    def from_cube(
        cls, ds: xr.Dataset, year: int | None = None, *, warn_zero: bool = True
    ) -> YearSystem:
        """Build the system of one year of a canonical cube (computing it if lazy).

        Raises
        ------
        MRIOError
            If (I − A) is singular; the message names the year and country-sector.
        """
        if year is None:
            if YEAR in ds.dims:
                if ds.sizes[YEAR] != 1:
                    raise MRIOError("several years in the cube: pass year=")
                year = int(ds[YEAR].values[0])
            else:
                year = int(ds[YEAR].values) if YEAR in ds.coords else 0
        one = ds.sel({YEAR: year}) if YEAR in ds.dims else ds
        one = one[["Z", "Y", "x", "va"]].compute()
        regions = [str(r) for r in one[REGION].values]
        sectors = [str(s) for s in one[SECTOR].values]
        G, N = len(regions), len(sectors)
        s = IOSystem(
            stacked_square(one["Z"]),
            stacked_final(one["Y"], by_destination=True),
            stacked_vector(one["x"]),
            stacked_vector(one["va"]),
            G,
            N,
        )
        out = cls(s, regions, sectors, year)
        if warn_zero and len(s.zero_output):
            warnings.warn(
                f"year {year}: {len(s.zero_output)} country-sectors with zero or negative "
                f"output (column of A and v set to 0): "
                f"{', '.join(out.label(k) for k in s.zero_output)}",
                ZeroOutputWarning,
                stacklevel=2,
            )
        try:
            s.factorise()
        except SingularSystemError as exc:
            where = out.label(exc.index) if exc.index is not None else "?"
            raise MRIOError(f"year {year}: {exc} (at {where})") from exc
        return out

    def label(self, k: int) -> str:
        """``REGION.sector`` label of stacked index k."""
        N = len(self.sectors)
        return f"{self.regions[k // N]}.{self.sectors[k % N]}"

    @property
    def zero_output(self) -> list[str]:
        """Labels of country-sectors with x <= 0."""
        return [self.label(k) for k in self.system.zero_output]

    # -- coordinates ---------------------------------------------------------------------------

    def _labels(self, labels: np.ndarray) -> _LabelIndex:
        """The shared index coordinates of ``labels`` (self.regions or self.sectors)."""
        hit = self._label_cache.get(id(labels))
        if hit is None or hit[0] is not labels:
            hit = (labels, _label_index(tuple(str(v) for v in labels)))
            self._label_cache[id(labels)] = hit
        return hit[1]

    def _da(self, values: np.ndarray, dims: tuple[str, ...], **extra) -> xr.DataArray:
        """A labelled result: dims named in the region / sector lists get those labels.

        ``extra`` adds coordinates (``producer=ys.regions``). The result equals
        ``xr.DataArray(values, dims=dims, coords=...).assign_coords(year=year)``; when every
        labelled dim uses ``self.regions`` or ``self.sectors`` it is built from cached indexes
        (about 100× faster), else the public way.
        """
        da = self._da_cached(values, dims, extra)
        if da is not None:
            return da
        coords = {}
        for d in dims:
            if d in _REGION_DIMS:
                coords[d] = self.regions
            elif d in _SECTOR_DIMS:
                coords[d] = self.sectors
        coords.update(extra)
        da = xr.DataArray(values, dims=dims, coords=coords)
        return da.assign_coords({YEAR: self.year})

    def _da_cached(
        self, values: Any, dims: tuple[str, ...], extra: Mapping[str, Any]
    ) -> xr.DataArray | None:
        if (type(values) is not np.ndarray or values.dtype.kind not in "biufc"
                or values.ndim != len(dims) or len(set(dims)) != len(dims)):
            return None
        sources: dict[str, np.ndarray] = {}
        for d in dims:
            if d in _REGION_DIMS:
                sources[d] = self.regions
            elif d in _SECTOR_DIMS:
                sources[d] = self.sectors
        for k, v in extra.items():
            if k not in dims or (v is not self.regions and v is not self.sectors):
                return None
            sources[k] = v
        coords = {}
        for d, labels in sources.items():
            if values.shape[dims.index(d)] != len(labels):
                return None  # the public constructor raises the error
            coords[d] = self._labels(labels).get(d)
        return _fast_dataarray(values, tuple(dims), coords, self.year)

    def _dataset(self, data: Mapping[str, xr.DataArray], attrs: Mapping | None = None
                 ) -> xr.Dataset:
        """``xr.Dataset(data, attrs=attrs)`` for results of :meth:`_da` (cheap when they share
        their indexes, as results of one system do)."""
        ds = _fast_dataset(data, attrs)
        if ds is None:
            ds = xr.Dataset(dict(data), attrs=dict(attrs) if attrs else None)
        return ds

    def _gn(self, M: np.ndarray, axis: int) -> np.ndarray:
        G, N = self.system.G, self.system.N
        shape = list(M.shape)
        shape[axis : axis + 1] = [G, N]
        return M.reshape(shape)

    # -- results -------------------------------------------------------------------------------

    def vby(self, level: Literal["country", "sector"] = "country") -> xr.DataArray:
        """Value-added flow matrix V̂BY (docs/methods.md §2).

        Parameters
        ----------
        level : {"country", "sector"}
            ``"country"``: S V̂BY, dims (source, sink); ``"sector"``: V̂BY, dims
            (source, source_sector, sink).
        """
        if level == "country":
            return self._da(self.system.vby_country(), ("source", "sink"))
        if level == "sector":
            return self._da(self._gn(self.system.vby_sector(), 0),
                            ("source", "source_sector", "sink"))
        raise ValueError(f"level must be 'country' or 'sector', not {level!r}")

    def vbe(
        self, level: Literal["country", "source_sector", "export_sector", "full"] = "country"
    ) -> xr.DataArray:
        """Leontief value-added origin of gross exports V̂BÊ (decompr ``leontief``).

        Parameters
        ----------
        level : {"country", "source_sector", "export_sector", "full"}
            ``"country"``: S V̂BÊ S', dims (source, exporter); ``"source_sector"``: V̂BÊ S',
            dims (source, source_sector, exporter); ``"export_sector"``: S V̂BÊ, dims
            (source, exporter, sector); ``"full"``: V̂BÊ, dims (source, source_sector,
            exporter, sector) — forms the dense B.
        """
        s = self.system
        if level == "country":
            return self._da(s.vbe_country(), ("source", "exporter"))
        if level == "source_sector":
            return self._da(self._gn(s.vbe_source_sector(), 0),
                            ("source", "source_sector", "exporter"))
        if level == "export_sector":
            return self._da(self._gn(s.vbe_export_sector(), 1), ("source", "exporter", "sector"))
        if level == "full":
            M = self._gn(self._gn(s.vbe_full(), 1), 0)
            return self._da(M, ("source", "source_sector", "exporter", "sector"))
        raise ValueError(f"unknown level {level!r}")

    def gross_exports(self) -> xr.DataArray:
        """Gross exports E^{sr}, dims (exporter, sector, importer); zero on the diagonal."""
        return self._da(self._gn(self.system.exports, 0), ("exporter", "sector", "importer"))

    def local_inverses(self) -> xr.DataArray:
        """Domestic Leontief inverses L^{ss}, dims (region, sector, sector_to)."""
        return self._da(self.system.local_inverses, (REGION, SECTOR, "sector_to"))

    def leontief_inverse(self) -> xr.DataArray:
        """Dense B = (I − A)^-1, dims (region, sector, region_to, sector_to)."""
        B = self._gn(self._gn(self.system.leontief_inverse(), 1), 0)
        return self._da(B, (REGION, SECTOR, REGION_TO, "sector_to"))


def system(ds: xr.Dataset, year: int | None = None) -> YearSystem:
    """Build one year's :class:`YearSystem` from a canonical cube."""
    return YearSystem.from_cube(ds, year)


def _over_years(ds: xr.Dataset, years: Iterable[int] | None, fn) -> xr.DataArray:
    years = [int(y) for y in (ds[YEAR].values if years is None else years)]
    parts = [fn(YearSystem.from_cube(ds, y)) for y in years]
    return xr.concat(parts, dim=YEAR)


def vby(ds: xr.Dataset, level: str = "country", years: Iterable[int] | None = None):
    """V̂BY for each year of a cube (see :meth:`YearSystem.vby`)."""
    return _over_years(ds, years, lambda s: s.vby(level)).rename("vby")


def vbe(ds: xr.Dataset, level: str = "country", years: Iterable[int] | None = None):
    """V̂BÊ for each year of a cube (see :meth:`YearSystem.vbe`)."""
    return _over_years(ds, years, lambda s: s.vbe(level)).rename("vbe")


def gross_exports(ds: xr.Dataset, years: Iterable[int] | None = None) -> xr.DataArray:
    """Gross exports by partner for each year, dims (year, exporter, sector, importer)."""
    return _over_years(ds, years, YearSystem.gross_exports).rename("exports")


def local_inverses(ds: xr.Dataset, years: Iterable[int] | None = None) -> xr.DataArray:
    """Local inverses L^{ss} for each year, dims (year, region, sector, sector_to)."""
    return _over_years(ds, years, YearSystem.local_inverses).rename("L")


def leontief_inverse(ds: xr.Dataset, years: Iterable[int] | None = None) -> xr.DataArray:
    """Dense Leontief inverse for each year (n² per year: only for small tables)."""
    return _over_years(ds, years, YearSystem.leontief_inverse).rename("B")


def final_demand_total(ds: xr.Dataset) -> xr.DataArray:
    """Final demand summed over categories, dims (year, region, sector, region_to)."""
    return ds["Y"].sum(FD)
