"""Access to a job's data from the client (labels, years, checksums) and from tasks (one year).

Tasks open their year themselves from the data spec (an embedded name or a cube-store path),
so no big array travels through the scheduler. A worker keeps the last couple of years it
read (:func:`open_year`), so the draw blocks of one year that land on the same worker read the
table once.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import warnings
from collections import OrderedDict
from typing import Any

from brgvc.draws import Table

__all__ = ["DataInfo", "data_info", "data_provenance", "open_sd", "open_year"]


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What the client needs to know about a dataset without reading its numbers.

    Attributes
    ----------
    data : str
        Embedded name or cube-store path.
    years : tuple of int
    regions, sectors, fd : tuple of str
    provenance : dict
        Input file name -> SHA-256 (the cube's ``attrs["provenance"]``).
    attrs : dict
        Source, release, unit, ... (JSON-serialisable entries only).
    """

    data: str
    years: tuple[int, ...]
    regions: tuple[str, ...]
    sectors: tuple[str, ...]
    fd: tuple[str, ...]
    provenance: dict[str, str]
    attrs: dict[str, Any]

    @property
    def G(self) -> int:
        """Number of regions."""
        return len(self.regions)

    @property
    def N(self) -> int:
        """Number of sectors."""
        return len(self.sectors)

    @property
    def n(self) -> int:
        """Number of country-sectors G·N."""
        return self.G * self.N

    @property
    def bytes_per_year(self) -> int:
        """Bytes of one year's Z and Y in float64."""
        return 8 * (self.n * self.n + self.n * self.G * len(self.fd))


@functools.lru_cache(maxsize=16)
def data_info(data: str) -> DataInfo:
    """Open a dataset lazily and return its labels, years and checksums (cached)."""
    from brgvc.datasets import open_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = open_dataset(data)
    prov = ds.attrs.get("provenance") or {}
    if not isinstance(prov, dict):
        prov = {"input": str(prov)}
    attrs = {k: v for k, v in ds.attrs.items()
             if k != "provenance" and isinstance(v, str | int | float | bool)}
    return DataInfo(
        data=data,
        years=tuple(int(y) for y in ds["year"].values),
        regions=tuple(str(r) for r in ds["region"].values),
        sectors=tuple(str(s) for s in ds["sector"].values),
        fd=tuple(str(f) for f in ds["fd"].values),
        provenance={str(k): str(v) for k, v in prov.items()},
        attrs=attrs,
    )


@functools.lru_cache(maxsize=16)
def _provenance(data: str, years: tuple[int, ...]) -> tuple[tuple[str, str], ...]:
    from brgvc.datasets import open_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prov = open_dataset(data, years=list(years)).attrs.get("provenance") or {}
    if not isinstance(prov, dict):
        prov = {"input": str(prov)}
    return tuple(sorted((str(k), str(v)) for k, v in prov.items()))


def data_provenance(data: str, years: tuple[int, ...] | list[int]) -> dict[str, str]:
    """Input checksums (file name -> SHA-256) of the files behind the given years.

    For the embedded data and readers that record one file per year, only those years' files
    count, so a job is not refused because an unused year's file changed; a cube store gives
    its whole provenance.
    """
    return dict(_provenance(data, tuple(int(y) for y in years)))


_CACHE: OrderedDict[tuple, Any] = OrderedDict()
_CACHE_SIZE = 2
_LOCK = threading.Lock()


def _cached(key: tuple, load):
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = load()
    with _LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def _read_year(data: str, year: int, gross_output: str):
    from brgvc.datasets import open_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = open_dataset(data, years=[year], gross_output=gross_output)
        return ds.isel(year=0)[["Z", "Y", "x", "va"]].compute()


def open_year(data: str, year: int, gross_output: str = "balanced") -> Table:
    """One year of a dataset as a stacked :class:`~brgvc.draws.Table` (cached per process).

    Parameters
    ----------
    data : str
        Embedded name or cube-store path.
    year : int
    gross_output : {"balanced", "published"}
    """

    def load() -> Table:
        return Table.from_cube(_read_year(data, year, gross_output), gross_output)

    return _cached(("table", data, int(year), gross_output), load)


def open_sd(path: str, year: int) -> tuple[Any, Any]:
    """Standard deviations ``(sd_Z, sd_Y)`` of one year from an SD cube, stacked like a Table.

    The SD cube is any dataset :func:`brgvc.datasets.open_dataset` opens whose ``Z`` and ``Y``
    hold the standard deviations of the corresponding cells (Eora's SD sheets).
    """
    from brgvc.schema import stacked_final, stacked_square

    def load():
        one = _read_year(path, year, "balanced")
        return stacked_square(one["Z"]), stacked_final(one["Y"])

    return _cached(("sd", path, int(year)), load)
