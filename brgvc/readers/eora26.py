"""Reader for Eora26 (Lenzen et al. 2012, 2013): 189 countries × 26 sectors, basic prices.

Layout (docs/methods.md §1.2; pymrio ``parse_eora26``), per year and price basis ``bp``:

``Eora26_{YYYY}_bp_T.txt``
    Intermediate flows, tab-separated, no header and no label column: (GN+1) × (GN+1)
    numbers, rows and columns in the order of ``labels_T.txt``.
``Eora26_{YYYY}_bp_FD.txt``
    Final demand, (GN+1) rows × one column per line of ``labels_FD.txt``.
``Eora26_{YYYY}_bp_VA.txt``
    Primary inputs, one row per line of ``labels_VA.txt`` × (GN+1) columns.
``labels_T.txt``, ``labels_FD.txt``, ``labels_VA.txt``
    Tab-separated, no header. ``labels_T``/``labels_FD``: country name, country code,
    ``Industries`` (``Final Demand``), sector (category) name. ``labels_VA``: category,
    primary input name.

The files may sit in a folder, in per-year sub-folders, or in zip archives
(``Eora26_{YYYY}_bp.zip``); the label files may also be in ``indices.zip``.

Preprocessing (docs/methods.md §1.3):

- The statistical-discrepancy region ``ROW`` (one row and one column of ``T``, its columns of
  ``FD``, its column of ``VA``) is dropped; its totals are returned under ``dropped`` and
  logged.
- Final demand keeps its six categories per destination (``fd`` holds the SNA codes
  ``P.3h P.3n P.3g P.51 P.52 P.53`` taken from the end of the category names); negative
  inventories are kept.
- ``x`` is the full row sum of ``T`` and ``FD`` *including* the dropped ``ROW`` column and
  ``ROW`` final demand, i.e. the total output Eora balances to (Eora publishes no output
  vector); the balanced convention of :func:`brgvc.readers.open_mrio` recomputes
  x = Z·1 + Y·1 without them. The sum of the ``VA`` rows is returned as ``va_published``.
- Country codes are mapped to ISO3 (``SDS`` -> ``SSD``); Eora's own codes for entities that
  have none (``SUD``, ``USR``, ``ANT``) are kept.
- Primary inputs: every row of ``VA`` (``labels_VA.txt``: compensation of employees, taxes
  on production, subsidies on production, net operating surplus, net mixed income,
  consumption of fixed capital) over the kept columns is returned as ``va_published``, one
  ``va_component`` per row named by its label; all of them add up to value added.

Unit: the Eora documentation (worldmrio.com, "Eora26": "all values are in thousand US
dollars, current prices") gives thousand US$ (pymrio's ``parse_eora26`` instead assumes
million USD "by personal communication"). Every number is divided by 1000 to the canonical
million USD; ``ATTRS["unit_published"]`` records the published unit.

Bad input: a non-numeric or empty cell names the file and its position as a spreadsheet
would show the tab-separated file (line = row, field = column), e.g. ``row 3, column 7
(G3)``; a wrong number of lines or fields names the file and both shapes.

Assumptions: the ``ROW`` line is recognised by its code (second column of ``labels_T``,
``labels_FD``) being ``ROW``; every country has the same sector list in the same order.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from brgvc.readers.common import (
    fail,
    fd_code,
    find_member,
    find_year_files,
    iso3_regions,
    member_sha256,
    open_member,
    read_numbers_csv,
    result,
    unique_in_order,
)
from brgvc.schema import normalise_unit

__all__ = ["ATTRS", "DISCREPANCY", "labels", "list_years", "read_year", "va_labels"]

log = logging.getLogger(__name__)

DISCREPANCY = "ROW"
DATABASE = "eora26"
UNIT_PUBLISHED = "thousand USD, current prices"
UNIT_FACTOR, UNIT = normalise_unit(UNIT_PUBLISHED)
ATTRS = {
    "source": "Eora26",
    "release": "v199.82",
    "unit": UNIT,
    "unit_published": UNIT_PUBLISHED,
    "unit_factor": UNIT_FACTOR,
    "price_basis": "basic prices",
    "citation": (
        "Lenzen, M., Moran, D., Kanemoto, K. and Geschke, A. (2013), Building Eora: a global "
        "multi-region input-output database at high country and sector resolution, Economic "
        "Systems Research 25(1): 20-49."
    ),
}

_T = re.compile(r"^Eora26_(?P<year>\d{4})_bp_T\.txt$")
_ZIP = re.compile(r"^Eora26_(?P<year>\d{4})_bp\.zip$")
_YEAR_FILE = re.compile(r"^Eora26_(?P<year>\d{4})_bp(_T\.txt|\.zip)$")


def list_years(path: str | Path) -> dict[int, Path]:
    """Map each year to its ``Eora26_YYYY_bp_T.txt`` (or ``Eora26_YYYY_bp.zip``).

    Parameters
    ----------
    path : str or Path
        Folder with the files (or per-year folders or zips), or one T file or zip.

    Returns
    -------
    dict of int to Path
    """
    return find_year_files(path, _YEAR_FILE, "Eora26_YYYY_bp_T.txt or Eora26_YYYY_bp.zip")


def _container(path: str | Path, year: int) -> tuple[Path, str]:
    """The folder or zip holding the year's files and the T member name."""
    files = list_years(path)
    if year not in files:
        fail(str(path), f"no Eora26 basic-price files for year {year} (have {sorted(files)})")
    f = files[year]
    if _ZIP.search(f.name):
        member = find_member(f, _T, f"Eora26_{year}_bp_T.txt")
        if member is None:
            fail(str(f), f"archive has no Eora26_{year}_bp_T.txt")
        return f, member
    return f.parent, f.name


def _label_source(path: str | Path, container: Path, name: str) -> tuple[Path, str]:
    """Find a label file next to the data, in the zip, in ``indices.zip`` or above."""
    pat = re.compile(rf"^{re.escape(name)}$")
    member = find_member(container, pat, name)
    if member is not None:
        return container, member
    base = Path(path) if Path(path).is_dir() else Path(path).parent
    for folder in (container if container.is_dir() else container.parent, base):
        if (folder / name).is_file():
            return folder, name
        idx = folder / "indices.zip"
        if idx.is_file():
            m = find_member(idx, pat, name)
            if m is not None:
                return idx, m
    fail(str(path), f"label file {name} not found (next to the data, in the archive or in "
                    "indices.zip)")


def _read_labels(src: tuple[Path, str], ncols: int) -> pd.DataFrame:
    where = f"{src[0]}!{src[1]}" if src[0].suffix == ".zip" else str(src[0] / src[1])
    try:
        with open_member(*src) as fh:
            df = pd.read_csv(fh, sep="\t", header=None, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        fail(where, f"not a tab-separated Eora label file ({exc})")
    if df.shape[1] < ncols:
        fail(where, f"expected at least {ncols} tab-separated label columns, found {df.shape[1]}")
    return df.map(str.strip)


def _labels_all(path: str | Path, year: int | None = None):
    files = list_years(path)
    y = sorted(files)[0] if year is None else year
    container, _ = _container(path, y)
    lt = _read_labels(_label_source(path, container, "labels_T.txt"), 4)
    lf = _read_labels(_label_source(path, container, "labels_FD.txt"), 4)
    lv = _read_labels(_label_source(path, container, "labels_VA.txt"), 2)
    return container, lt, lf, lv


def _structure(path: str | Path, lt: pd.DataFrame, lf: pd.DataFrame):
    """Regions, sectors and FD categories (without ROW) and the kept positions."""
    where = f"{path} labels_T.txt"
    codes_t = lt.iloc[:, 1].tolist()
    keep_t = np.array([c != DISCREPANCY for c in codes_t])
    codes = [c for c in codes_t if c != DISCREPANCY]
    regions_raw = unique_in_order(codes)
    sect = lt.iloc[:, 3].tolist()
    sectors = [s for c, s in zip(codes_t, sect, strict=True) if c == regions_raw[0]]
    N = len(sectors)
    expect = [(r, s) for r in regions_raw for s in sectors]
    got = [(c, s) for c, s in zip(codes_t, sect, strict=True) if c != DISCREPANCY]
    if got != expect:
        bad = next(i for i, (a, b) in enumerate(zip(got, expect, strict=False)) if a != b) if (
            len(got) == len(expect)) else min(len(got), len(expect))
        fail(where, f"expected {len(regions_raw)} countries × the same {N} sectors in "
                    f"country-major order; line {bad + 1} is {got[bad] if bad < len(got) else '?'}"
                    f", expected {expect[bad] if bad < len(expect) else '?'}")
    codes_f = lf.iloc[:, 1].tolist()
    keep_f = np.array([c != DISCREPANCY for c in codes_f])
    cats_raw = [s for c, s in zip(codes_f, lf.iloc[:, 3], strict=True) if c == regions_raw[0]]
    fd = [fd_code(c) for c in cats_raw]
    expect_f = [(r, c) for r in regions_raw for c in cats_raw]
    got_f = [(c, s) for c, s in zip(codes_f, lf.iloc[:, 3], strict=True) if c != DISCREPANCY]
    if got_f != expect_f:
        fail(f"{path} labels_FD.txt", f"expected {len(regions_raw)} countries × the same "
                                      f"{len(cats_raw)} final-demand categories, country-major")
    regions = iso3_regions(regions_raw, DATABASE)
    return regions, sectors, fd, keep_t, keep_f


def labels(path: str | Path) -> tuple[list[str], list[str], list[str]]:
    """Regions (ISO3), sectors and final-demand codes of an Eora26 folder, ``ROW`` dropped."""
    _, lt, lf, _ = _labels_all(path)
    regions, sectors, fd, _, _ = _structure(path, lt, lf)
    return regions, sectors, fd


def _read_matrix(container: Path, member: str, shape: tuple[int, int], where: str) -> np.ndarray:
    try:
        with open_member(container, member) as fh:
            data = fh.read()
    except FileNotFoundError:
        fail(where, "file not found")
    return read_numbers_csv(data, where, sep="\t", expect_shape=shape)


def va_labels(path: str | Path) -> tuple[list[str], list[str]]:
    """Primary-input rows (``labels_VA.txt``, last column) and those in value added (all)."""
    _, _, _, lv = _labels_all(path)
    names = lv.iloc[:, -1].tolist()
    return names, list(names)


def read_year(path: str | Path, year: int) -> dict:
    """Read one Eora26 basic-price year and drop the ``ROW`` discrepancy region.

    Parameters
    ----------
    path : str or Path
        Folder (or T file or zip) as for :func:`list_years`.
    year : int

    Returns
    -------
    dict
        See :mod:`brgvc.readers.common`; ``dropped`` holds the totals of the ``ROW`` row
        and column of ``T``, its final-demand columns and its ``VA`` column (in the
        published thousand US$), and ``va_published`` the ``VA`` rows for the kept
        country-sectors. ``Z``, ``Y``, ``x`` and ``va_published`` are in million USD.
    """
    year = int(year)
    container, t_member = _container(path, year)
    _, lt, lf, lv = _labels_all(path, year)
    regions, sectors, fd, keep_t, keep_f = _structure(path, lt, lf)
    nt, nf, nv = len(lt), len(lf), len(lv)
    prefix = t_member[: -len("_T.txt")]
    where = f"{container} (year {year})"
    T = _read_matrix(container, t_member, (nt, nt), f"{container}!{t_member} (year {year})")
    fd_member = f"{prefix}_FD.txt"
    va_member = f"{prefix}_VA.txt"
    FD = _read_matrix(container, fd_member, (nt, nf), f"{container}!{fd_member} (year {year})")
    VA = _read_matrix(container, va_member, (nv, nt), f"{container}!{va_member} (year {year})")
    x = T.sum(1) + FD.sum(1)
    drop_t = ~keep_t
    dropped = {
        "T_ROW_row": float(T[drop_t].sum()),
        "T_ROW_column": float(T[:, drop_t].sum()),
        "FD_ROW_row": float(FD[drop_t].sum()),
        "FD_ROW_columns": float(FD[:, ~keep_f].sum()),
        "VA_ROW_column": float(VA[:, drop_t].sum()),
        "x_ROW_columns": float(T[keep_t][:, drop_t].sum() + FD[keep_t][:, ~keep_f].sum()),
    }
    log.info("%s: dropped the ROW statistical-discrepancy region: %s", where, dropped)
    Z = T[np.ix_(keep_t, keep_t)]
    del T
    Y = FD[np.ix_(keep_t, keep_f)]
    del FD
    checks = dict(
        [member_sha256(container, t_member), member_sha256(container, fd_member),
         member_sha256(container, va_member)]
    )
    va_names = lv.iloc[:, -1].tolist()
    return result(
        Z, Y, x[keep_t], regions=regions, sectors=sectors, fd=fd, year=year,
        checksums=checks, where=where, dropped=dropped,
        va=VA[:, keep_t], va_components=va_names, va_total=va_names, unit_factor=UNIT_FACTOR,
    )
