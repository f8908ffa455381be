"""Reader for the OECD Inter-Country Input-Output tables, editions 2016, 2018, 2021 and 2023.

Layout (one CSV per year, comma-separated, values in million USD): the first column holds
the row labels and the first line the column labels. Labels are ``COUNTRY_INDUSTRY``, split
at the *first* underscore (the 2023 industry codes contain underscores: ``AUS_A01_02``).

=========  ============================  ==================================  ==============
edition    file name                     final-demand columns                totals / rows
=========  ============================  ==================================  ==============
2016       ``ICIO2016_YYYY.csv``         category first: ``HFCE_AUS``,        ``DISC``
                                         ``NPS``, ``GGFC``, ``GFCF``,         column; rows
                                         ``INV``, ``DIRP``                    ``VA+TAXSUB``
                                                                              and ``OUT``
2018       ``ICIO2018_YYYY.csv``         ``AUS_HFCE`` ... ``AUS_INVNT``,      ``TOTAL``
                                         ``AUS_P33``                          column; rows
                                                                              ``AUS_TAXSUB``
                                                                              ..., ``VALU``,
                                                                              ``OUTPUT``
2021       ``ICIO2021_YYYY.csv``         ``AUS_HFCE`` ... ``AUS_DPABR``       as 2018
2023       ``ICIO2023_YYYY.csv``,        as 2021                              ``OUT``
           ``YYYY_SML.csv``, ``YYYY.csv``                                     column; rows
                                                                              ``TLS``, ``VA``,
                                                                              ``OUT``
=========  ============================  ==================================  ==============

A file may also be zipped alone (``ICIO2021_2018.zip``). The layout is recognised from the
labels, not the file name: intermediate columns are ``COUNTRY_INDUSTRY`` labels whose second
part is not a final-demand code; final-demand columns carry one of the codes above on either
side; every row whose label is not an intermediate (country, industry) pair — taxes less
subsidies (``TLS``, ``TAXSUB``, ``COUNTRY_TAXSUB``), value added (``VA``, ``VALU``,
``VA+TAXSUB``), output (``OUT``, ``OUTPUT``) — is left out and its total reported under
``dropped``; so is the 2016 statistical discrepancy column ``DISC``.

Final-demand codes are harmonised to the 2021 names: ``HFCE NPISH GGFC GFCF INVNT DPABR``
(``NPS``->``NPISH``, ``INV``->``INVNT``, ``DIRP``/``P33``->``DPABR``).

China and Mexico: the extended tables split them into ``CN1``/``CN2`` and ``MX1``/``MX2``
(activities excluding / for export processing), whose final demand is booked to ``CHN`` and
``MEX``. By default the splits are summed (rows and columns) into ``CHN`` and ``MEX``;
``read_year(..., keep_splits=True)`` (format ``oecd_icio_split``) keeps them as regions, with
zero final demand of their own. ``x`` is the published output column (``TOTAL``/``OUT``) or,
where there is none (2016), the row sum of all published columns including ``DISC``.

Assumptions (the real files could not be checked here): the file starts with one header
line; the row-label column has an empty or arbitrary name; ``ROW`` is the rest of the world.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from brgvc.readers.common import (
    assemble,
    fail,
    find_year_files,
    iso3_regions,
    merge_regions,
    open_member,
    result,
    sha256,
    split_label,
    to_float,
    unique_in_order,
)

__all__ = ["ATTRS", "FD_ORDER", "labels", "labels_split", "list_years", "read_year",
           "read_year_split"]

DATABASE = "oecd_icio"
ATTRS = {
    "source": "OECD ICIO",
    "release": "2016/2018/2021/2023 editions",
    "unit": "million USD, current prices",
    "price_basis": "basic prices",
    "citation": "OECD (2023), OECD Inter-Country Input-Output Database, "
                "http://oe.cd/icio",
}
#: Harmonised final-demand codes, in output order.
FD_ORDER = ("HFCE", "NPISH", "GGFC", "GFCF", "INVNT", "DPABR")
FD_ALIASES = {"HFCE": "HFCE", "NPISH": "NPISH", "NPS": "NPISH", "GGFC": "GGFC", "GFCF": "GFCF",
              "INVNT": "INVNT", "INV": "INVNT", "DPABR": "DPABR", "DIRP": "DPABR",
              "P33": "DPABR"}
TOTAL_COLUMNS = ("TOTAL", "OUT", "OUTPUT")
DISCREPANCY_COLUMNS = ("DISC",)
SPLITS = {"CN1": "CHN", "CN2": "CHN", "MX1": "MEX", "MX2": "MEX"}

_FILE = re.compile(r"^(?:ICIO(?P<ed>\d{4})_)?(?P<year>\d{4})(?:_SML)?\.(?:csv|zip)$", re.I)
_EXPECTED = ("columns COUNTRY_INDUSTRY (e.g. AUS_D01T02), final demand COUNTRY_HFCE ... "
             "(or HFCE_COUNTRY in 2016) and a TOTAL/OUT column")


def list_years(path: str | Path) -> dict[int, Path]:
    """Map each year to its ``ICIO{edition}_{YYYY}.csv`` (or ``YYYY_SML.csv``, or a zip)."""
    return find_year_files(path, _FILE, "ICIO2021_YYYY.csv (or .zip, YYYY_SML.csv)")


def _open(f: Path):
    if f.suffix.lower() == ".zip":
        with zipfile.ZipFile(f) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
        if len(names) != 1:
            fail(str(f), f"expected one CSV in the archive, found {names[:4]}")
        return open_member(f, names[0])
    return open(f, "rb")


def _classify_columns(cols: list[str], where: str):
    z, fd, total, disc = [], [], None, []
    for j, c in enumerate(cols):
        u = c.strip()
        if u.upper() in TOTAL_COLUMNS:
            total = j
            continue
        if u.upper() in DISCREPANCY_COLUMNS:
            disc.append(j)
            continue
        a, b = split_label(u)
        if b.upper() in FD_ALIASES:
            fd.append((j, (a, FD_ALIASES[b.upper()])))
        elif a.upper() in FD_ALIASES and b:
            fd.append((j, (b, FD_ALIASES[a.upper()])))
        elif a and b:
            z.append((j, (a, b)))
    if not z or not fd:
        fail(where, f"not an OECD ICIO table: found {len(z)} intermediate and {len(fd)} "
                    f"final-demand columns; expected {_EXPECTED}")
    return z, fd, total, disc


def _structure(z_cols, fd_cols, keep_splits: bool, where: str):
    regions_raw = unique_in_order(k[0] for _, k in z_cols)
    sectors = unique_in_order(k[1] for _, k in z_cols)
    if len(z_cols) != len(regions_raw) * len(sectors):
        fail(where, f"intermediate columns are not every country × industry: "
                    f"{len(z_cols)} columns for {len(regions_raw)} countries and "
                    f"{len(sectors)} industries")
    present = {k[1] for _, k in fd_cols}
    fd = [f for f in FD_ORDER if f in present]
    fd_regions = {k[0] for _, k in fd_cols}
    unknown = sorted(fd_regions - set(regions_raw))
    if unknown:
        fail(where, f"final demand of countries without intermediate columns: {unknown[:5]}")
    merged = regions_raw if keep_splits else [SPLITS.get(r, r) for r in regions_raw]
    return regions_raw, sectors, fd, merged


def _header(f: Path, where: str) -> list[str]:
    try:
        with _open(f) as fh:
            cols = pd.read_csv(fh, nrows=0, index_col=0).columns
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        fail(where, f"not a CSV table ({exc}); expected {_EXPECTED}")
    return [str(c) for c in cols]


def _labels(path: str | Path, keep_splits: bool):
    files = list_years(path)
    f = files[min(files)]
    where = str(f)
    z, fd_cols, _, _ = _classify_columns(_header(f, where), where)
    _, sectors, fd, merged = _structure(z, fd_cols, keep_splits, where)
    regions = iso3_regions(unique_in_order(merged), DATABASE)
    return regions, sectors, fd


def labels(path: str | Path) -> tuple[list[str], list[str], list[str]]:
    """Regions (ISO3, CN1/CN2 and MX1/MX2 merged), industries and final-demand codes."""
    return _labels(path, keep_splits=False)


def labels_split(path: str | Path) -> tuple[list[str], list[str], list[str]]:
    """As :func:`labels` with ``CN1``/``CN2``/``MX1``/``MX2`` kept as regions."""
    return _labels(path, keep_splits=True)


def edition(cols: list[str], rows: list[str], name: str) -> str:
    """Guess the edition from the file name or, failing that, from the labels."""
    m = _FILE.search(name)
    if m and m.group("ed"):
        return m.group("ed")
    upper = {c.upper() for c in cols}
    if "OUT" in upper or "TLS" in {r.upper() for r in rows}:
        return "2023"
    if any(c.upper().startswith("HFCE_") for c in cols):
        return "2016"
    if any(c.upper().endswith("_P33") for c in cols):
        return "2018"
    return "2021"


def read_year(path: str | Path, year: int, keep_splits: bool = False) -> dict:
    """Read one ICIO year.

    Parameters
    ----------
    path : str or Path
        Folder with the year files, or one file.
    year : int
    keep_splits : bool
        Keep ``CN1``/``CN2``/``MX1``/``MX2`` as regions instead of summing them into
        ``CHN``/``MEX``.

    Returns
    -------
    dict
        See :mod:`brgvc.readers.common`; ``edition`` names the layout recognised.
    """
    year = int(year)
    files = list_years(path)
    if year not in files:
        fail(str(path), f"no ICIO file for year {year} (have {sorted(files)})")
    f = files[year]
    where = f"{f} (year {year})"
    try:
        with _open(f) as fh:
            df = pd.read_csv(fh, index_col=0, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, EOFError,
            zipfile.BadZipFile) as exc:
        fail(where, f"truncated or not a CSV table ({exc}); expected {_EXPECTED}")
    cols = [str(c) for c in df.columns]
    rows = [str(r).strip() for r in df.index]
    z_cols, fd_cols, total, disc = _classify_columns(cols, where)
    regions_raw, sectors, fd, merged = _structure(z_cols, fd_cols, keep_splits, where)
    zkeys = {k for _, k in z_cols}
    row_keys = [split_label(r) for r in rows]
    is_z = np.array([k in zkeys for k in row_keys])
    z_rows = [k for k, z in zip(row_keys, is_z, strict=True) if z]
    body = df.iloc[np.flatnonzero(is_z)]
    values = to_float(body, where, [rows[i] for i in np.flatnonzero(is_z)], cols)
    Z, Y = assemble(values, z_rows, z_cols, fd_cols, regions_raw, sectors, fd, where)
    order = {k: i for i, k in enumerate(z_rows)}
    ri = np.array([order[(r, s)] for r in regions_raw for s in sectors])
    if total is not None:
        x = values[ri, total]
    else:
        numeric = [j for j, _ in z_cols] + [j for j, _ in fd_cols] + disc
        x = values[np.ix_(ri, numeric)].sum(1)
    dropped = {}
    for j in disc:
        dropped[f"column {cols[j]}"] = float(values[:, j].sum())
    other = np.flatnonzero(~is_z)
    if len(other):
        zc = np.array([j for j, _ in z_cols])
        extra = df.iloc[other, zc].apply(pd.to_numeric, errors="coerce").fillna(0.0)
        for i, tot in zip(other, extra.sum(axis=1).to_numpy(), strict=True):
            dropped[f"row {rows[i]}"] = float(tot)
    G, N, F = len(regions_raw), len(sectors), len(fd)
    Z, Y, x, labels_ = merge_regions(Z, Y, x, regions_raw, N, F, merged)
    regions = iso3_regions(labels_, DATABASE)
    return result(
        Z, Y, x, regions=regions, sectors=sectors, fd=fd, year=year,
        checksums={f.name: sha256(f)}, where=where, dropped=dropped,
        edition=edition(cols, rows, f.name), merged_splits=not keep_splits and G != len(labels_),
    )


def read_year_split(path: str | Path, year: int) -> dict:
    """:func:`read_year` with ``keep_splits=True`` (the ``oecd_icio_split`` format)."""
    return read_year(path, year, keep_splits=True)
