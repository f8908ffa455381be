"""Readers: one module per MRIO database, each giving the canonical cube of :mod:`brgvc.schema`.

``open_mrio(FORMAT, PATH)`` opens a database's files lazily (one dask chunk per year, read when
computed); :mod:`brgvc.readers.store` writes and reads the zarr cube store.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import xarray as xr

from brgvc.readers import wiod2013
from brgvc.schema import (
    VA_COMPONENT,
    VA_PUBLISHED_DIMS,
    MRIOError,
    label_coord,
    make_cube,
    with_gross_output,
)

__all__ = ["FORMATS", "open_mrio", "register", "year_reader"]


class Format:
    """A registered database layout.

    Parameters
    ----------
    name : str
        Format name used on the command line (``brgvc ingest NAME``).
    list_years : callable
        ``list_years(path) -> dict[int, Path]``.
    read_year : callable
        ``read_year(path, year) -> dict`` with ``Z`` (GN × GN), ``Y`` (GN × G·F), ``x`` (GN),
        ``regions``, ``sectors``, ``fd``, ``sha256``.
    labels : callable
        ``labels(path) -> (regions, sectors, fd)`` without reading the numbers.
    attrs : dict
        Source, release, unit (canonical, after scaling), ``unit_published`` and citation.
    va_labels : callable, optional
        ``va_labels(path) -> (components, va_total)``: the published primary-input rows that
        ``read_year`` returns as ``va_published`` (K × GN) and those that add up to value
        added. None (or a callable returning None) for a layout without such rows.
    """

    def __init__(
        self,
        name: str,
        list_years: Callable,
        read_year: Callable,
        labels: Callable,
        attrs: dict,
        va_labels: Callable | None = None,
    ) -> None:
        self.name = name
        self.list_years = list_years
        self.read_year = read_year
        self.labels = labels
        self.attrs = attrs
        self.va_labels = va_labels


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> None:
    """Add a database layout to the registry."""
    FORMATS[fmt.name] = fmt


def _wiod_labels(path: str | Path) -> tuple[list[str], list[str], list[str]]:
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    first = next(iter(wiod2013.year_files(path).values()))
    if (folder / "countries.csv").exists() and (folder / "sectors.csv").exists():
        regions, sectors = wiod2013.read_labels(folder)
    elif wiod2013.is_workbook(first):
        d = _wiod_workbook(str(first))
        regions, sectors = d["regions"], d["sectors"]
    else:
        regions, sectors = wiod2013.read_row_labels(first)
    return regions, sectors, list(wiod2013.FD_CATEGORIES)


@functools.lru_cache(maxsize=1)
def _wiod_workbook(name: str) -> dict:
    # labels, va_labels and the first year read the same workbook: parse it once
    return wiod2013.read_workbook(name)


def _wiod_read(path: str | Path, year: int) -> dict:
    files = wiod2013.year_files(path)
    if year not in files:
        raise MRIOError(f"{path}: no WIOD 2013 file for year {year}")
    regions, sectors, _ = _wiod_labels(path)
    if wiod2013.is_workbook(files[year]):
        d = dict(_wiod_workbook(str(files[year])))
        if (d["regions"], d["sectors"]) != (regions, sectors):
            raise MRIOError(f"{files[year]} (year {year}): countries or sectors differ from "
                            "those of the first year")
        return d
    return wiod2013.read_year(files[year], regions, sectors)


def _wiod_va_labels(path: str | Path) -> tuple[list[str], list[str]] | None:
    """Primary-input rows of publisher workbooks; None for the CSV conversion (no such rows)."""
    first = next(iter(wiod2013.year_files(path).values()))
    if not wiod2013.is_workbook(first):
        return None
    d = _wiod_workbook(str(first))
    return d["va_components"], d["va_total"]


register(
    Format(
        "wiod2013",
        wiod2013.year_files,
        _wiod_read,
        _wiod_labels,
        {
            "source": wiod2013.SOURCE,
            "release": wiod2013.RELEASE,
            "unit": wiod2013.UNIT,
            "price_basis": "basic prices",
            "cell_precision": 1.0,
            "citation": wiod2013.CITATION,
        },
        _wiod_va_labels,
    )
)


def year_reader(fmt: str) -> Format:
    """Return the registered :class:`Format` for a name, with a clear error otherwise."""
    try:
        return FORMATS[fmt]
    except KeyError:
        raise MRIOError(
            f"unknown MRIO format {fmt!r}; known formats: {', '.join(sorted(FORMATS))}"
        ) from None


def select_years(available: Iterable[int], years: Iterable[int] | None, where: str) -> list[int]:
    """Check requested years against those available; all when ``years`` is None."""
    available = sorted(int(y) for y in available)
    if years is None:
        return available
    years = sorted({int(y) for y in years})
    missing = [y for y in years if y not in available]
    if missing:
        raise MRIOError(
            f"{where}: years {missing} not available (have {available[0]}–{available[-1]})"
        )
    return years


def open_mrio(
    fmt: str,
    path: str | Path,
    years: Iterable[int] | None = None,
    gross_output: str = "balanced",
    lazy: bool = True,
) -> xr.Dataset:
    """Open a database's files as a lazy canonical cube, one dask chunk per year.

    Parameters
    ----------
    fmt : str
        Registered format name (see ``FORMATS``), e.g. ``"wiod2013"``.
    path : str or Path
        Folder (or file) as the publisher distributes it.
    years : iterable of int, optional
        Years to open (default: all found).
    gross_output : {"balanced", "published"}
        Gross-output convention (see :func:`brgvc.schema.with_gross_output`).
    lazy : bool, optional
        True (default): dask arrays, read when computed. False: the years are read now into
        numpy arrays, without importing dask (the quick path of one-year commands).

    Returns
    -------
    xarray.Dataset
        Lazy cube; nothing but the labels is read until computed. ``attrs["provenance"]``
        maps each file name to its SHA-256.
    """
    f = year_reader(fmt)
    files = f.list_years(path)
    sel = select_years(files, years, str(path))
    regions, sectors, fd = f.labels(path)
    G, N, F = len(regions), len(sectors), len(fd)
    labs = f.va_labels(path) if f.va_labels is not None else None
    comps, va_total = labs if labs is not None else (None, None)
    Zs, Ys, xs, vas = [], [], [], []
    if lazy:
        # Imported here: dask costs most of a short command's start-up.
        import dask
        import dask.array as da

        concat = da.concatenate
        for y in sel:
            d = dask.delayed(_checked_read, pure=True)(f.read_year, str(path), y, comps)
            Zs.append(da.from_delayed(d["Z"], (G * N, G * N), np.float64))
            Ys.append(da.from_delayed(d["Y"], (G * N, G * F), np.float64))
            xs.append(da.from_delayed(d["x"], (G * N,), np.float64))
            if comps is not None:
                vas.append(da.from_delayed(d["va_published"], (len(comps), G * N), np.float64))
    else:
        concat = np.concatenate
        for y in sel:
            d = _checked_read(f.read_year, str(path), y, comps)
            Zs.append(np.asarray(d["Z"], dtype=np.float64))
            Ys.append(np.asarray(d["Y"], dtype=np.float64))
            xs.append(np.asarray(d["x"], dtype=np.float64))
            if comps is not None:
                vas.append(np.asarray(d["va_published"], dtype=np.float64))
    Zs = [a.reshape(1, G, N, G, N) for a in Zs]
    Ys = [a.reshape(1, G, N, G, F) for a in Ys]
    xs = [a.reshape(1, G, N) for a in xs]
    if comps is not None:
        vas = [a.reshape(1, len(comps), G, N) for a in vas]
    attrs = dict(f.attrs)
    attrs["format"] = fmt
    if comps is not None:
        attrs["va_total"] = list(va_total)
    attrs["provenance"] = {Path(files[y]).name: wiod2013.sha256(files[y]) for y in sel}
    template = make_cube(
        np.zeros((1, G * N, G * N)),
        np.zeros((1, G * N, G * F)),
        np.zeros((1, G * N)),
        years=[0],
        regions=regions,
        sectors=sectors,
        fd=fd,
    )
    ds = xr.Dataset(
        {
            "Z": (template["Z"].dims, concat(Zs, axis=0)),
            "Y": (template["Y"].dims, concat(Ys, axis=0)),
            "x_published": (template["x_published"].dims, concat(xs, axis=0)),
        },
        coords={**{k: v for k, v in template.coords.items() if k != "year"}, "year": sel},
        attrs=attrs,
    )
    if comps is not None:
        ds["va_published"] = (VA_PUBLISHED_DIMS, concat(vas, axis=0))
        ds = ds.assign_coords({VA_COMPONENT: label_coord(comps)})
    return with_gross_output(ds, gross_output)


def _checked_read(read_year: Callable, path: str, year: int, comps: list[str] | None) -> dict:
    """``read_year`` with the published value-added rows checked against the first year's."""
    d = read_year(path, year)
    if comps is not None and d.get("va_components") != list(comps):
        raise MRIOError(
            f"{path} (year {year}): primary-input rows {d.get('va_components')} differ from "
            f"those of the first year {list(comps)}; ingest the years separately"
        )
    return d


# Eora26 (basic prices): brgvc.readers.eora26
from brgvc.readers import eora26 as _eora26  # noqa: E402

register(Format("eora26", _eora26.list_years, _eora26.read_year, _eora26.labels, _eora26.ATTRS,
                _eora26.va_labels))


# OECD ICIO 2016/2018/2021/2023 editions: brgvc.readers.oecd_icio. "oecd_icio" sums the
# CN1..CN4 and MX1..MX3 processing splits into CHN and MEX; "oecd_icio_split" keeps them.
from brgvc.readers import oecd_icio as _oecd_icio  # noqa: E402

register(Format("oecd_icio", _oecd_icio.list_years, _oecd_icio.read_year, _oecd_icio.labels,
                _oecd_icio.ATTRS, _oecd_icio.va_labels))
register(Format("oecd_icio_split", _oecd_icio.list_years, _oecd_icio.read_year_split,
                _oecd_icio.labels_split, _oecd_icio.ATTRS, _oecd_icio.va_labels))


# WIOD 2016 release (WIOT{YYYY}_Nov16_ROW sheets): brgvc.readers.wiod2016
from brgvc.readers import wiod2016 as _wiod2016  # noqa: E402

register(Format("wiod2016", _wiod2016.list_years, _wiod2016.read_year, _wiod2016.labels,
                _wiod2016.ATTRS, _wiod2016.va_labels))


# ADB MRIO workbooks: brgvc.readers.adb_mrio
from brgvc.readers import adb_mrio as _adb_mrio  # noqa: E402

register(Format("adb_mrio", _adb_mrio.list_years, _adb_mrio.read_year, _adb_mrio.labels,
                _adb_mrio.ATTRS, _adb_mrio.va_labels))


# EXIOBASE 3 (IOT_YYYY_ixi.zip / IOT_YYYY_pxp.zip): brgvc.readers.exiobase3. "exiobase3"
# reads whichever system is present; "exiobase3_ixi" / "exiobase3_pxp" choose one.
from brgvc.readers import exiobase3 as _exiobase3  # noqa: E402

register(Format("exiobase3", _exiobase3.list_years, _exiobase3.read_year, _exiobase3.labels,
                _exiobase3.ATTRS, _exiobase3.va_labels))
register(Format("exiobase3_ixi", _exiobase3.list_years_ixi, _exiobase3.read_year_ixi,
                _exiobase3.labels_ixi, _exiobase3.ATTRS,
                lambda p: _exiobase3.va_labels(p, "ixi")))
register(Format("exiobase3_pxp", _exiobase3.list_years_pxp, _exiobase3.read_year_pxp,
                _exiobase3.labels_pxp, _exiobase3.ATTRS,
                lambda p: _exiobase3.va_labels(p, "pxp")))


# Eurostat FIGARO (matrix_ or flatfile_eu-ic-io_ind-by-ind CSVs): brgvc.readers.figaro
from brgvc.readers import figaro as _figaro  # noqa: E402

register(Format("figaro", _figaro.list_years, _figaro.read_year, _figaro.labels, _figaro.ATTRS,
                _figaro.va_labels))


# GLORIA (T/Y/V-Results CSVs + ReadMe labels; product-by-product): brgvc.readers.gloria
from brgvc.readers import gloria as _gloria  # noqa: E402

register(Format("gloria", _gloria.list_years, _gloria.read_year, _gloria.labels, _gloria.ATTRS,
                _gloria.va_labels))
