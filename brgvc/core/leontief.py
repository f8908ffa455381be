"""Thin xarray layer over :mod:`brgvc.core.kernels`: labelled inputs in, labelled results out.

Result dimensions: ``source`` (country whose value added it is), ``source_sector``, ``sink``
(absorbing country of final demand), ``exporter`` / ``importer``, and ``sector`` for the
exporting or producing sector.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Literal

import numpy as np
import xarray as xr

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

    def _da(self, values: np.ndarray, dims: tuple[str, ...], **extra) -> xr.DataArray:
        coords = {}
        for d in dims:
            if d in ("source", "sink", "exporter", "importer", REGION, REGION_TO):
                coords[d] = self.regions
            elif d in ("sector", "source_sector", SECTOR, "sector_to"):
                coords[d] = self.sectors
        coords.update(extra)
        da = xr.DataArray(values, dims=dims, coords=coords)
        return da.assign_coords({YEAR: self.year})

    def _gn(self, M: np.ndarray, axis: int) -> np.ndarray:
        G, N = self.system.G, self.system.N
        shape = list(M.shape)
        shape[axis : axis + 1] = [G, N]
        return M.reshape(shape)

    # -- results -------------------------------------------------------------------------------

    def vby(self, level: Literal["country", "sector"] = "country") -> xr.DataArray:
        """Value-added flow matrix V̂BY (METHODS.md §2).

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
