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
side (pymrio ``parse_oecd`` documents the category-first 2016 labels, ``HFCE_AUS``).

Rows below the intermediate block (positions as published: after the G·N industry rows, the
output row last): taxes less subsidies (``TLS``, ``TAXSUB``, ``COUNTRY_TAXSUB``), value added
(``VA``, ``VALU``; ``VA+TAXSUB`` in 2016) and output (``OUT``, ``OUTPUT``). The output row is
required (a file without it is incomplete). Every other row is returned, over the
intermediate columns, as ``va_published`` with its published label as ``va_component``;
``VA``/``VALU``/``VA+TAXSUB`` are flagged as value added (``va_total``). The 2016 statistical
discrepancy column ``DISC`` is reported under ``dropped``.

Final-demand codes are harmonised to the 2021 names: ``HFCE NPISH GGFC GFCF INVNT DPABR``
(``NPS``->``NPISH``, ``INV``->``INVNT``, ``DIRP``/``P33``->``DPABR``).

China and Mexico (ICIO readme, "country coverage"; pymrio ``parse_oecd`` note I): the 2016
edition splits China into ``CN1``-``CN4`` and Mexico into ``MX1``-``MX3``, the 2018-2023
editions into ``CN1``/``CN2`` and ``MX1``/``MX2`` (activities excluding / for processing
or global manufacturing); their final demand is booked to ``CHN`` and ``MEX``. By default
every ``CN<digit>`` / ``MX<digit>`` region is summed (rows, columns and primary inputs) into
``CHN`` / ``MEX`` (added to whatever ``CHN``/``MEX`` rows the file holds);
``read_year(..., keep_splits=True)`` (format ``oecd_icio_split``) keeps them as regions,
with zero final demand of their own. ``x`` is the published output column
(``TOTAL``/``OUT``) or, where there is none (2016), the published output row.

Unit: million USD, current prices (ICIO readme) — the canonical unit, no scaling.

Bad input: a non-numeric or empty cell in any block read names the file and the cell as a
spreadsheet shows it (CSV line = row, field = column, e.g. ``row 12, column 7 (G12)``),
with the row and column labels.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from brgvc.readers.common import (
    assemble,
    block_to_float,
    fail,
    find_year_files,
    iso3_regions,
    merge_regions,
    open_member,
    result,
    sha256,
    split_label,
    unique_in_order,
)

__all__ = ["ATTRS", "FD_ORDER", "labels", "labels_split", "list_years", "read_year",
           "read_year_split", "split_parent", "va_labels"]

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
#: Processing splits (ICIO readme: 2016 edition CN1-CN4 and MX1-MX3, later CN1/CN2, MX1/MX2;
#: pymrio ``parse_oecd`` sums every ``CN\\d``/``MX\\d`` region into CHN/MEX).
SPLIT_PATTERN = re.compile(r"^(CN|MX)\d+$")
SPLIT_PARENT = {"CN": "CHN", "MX": "MEX"}
OUTPUT_ROWS = ("OUT", "OUTPUT")
VA_ROWS = ("VA", "VALU", "VA+TAXSUB")


def split_parent(region: str) -> str:
    """``CHN`` for ``CN1``...``CN4``, ``MEX`` for ``MX1``...``MX3``, else the region itself."""
    m = SPLIT_PATTERN.match(region)
    return SPLIT_PARENT[m.group(1)] if m else region

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
    merged = regions_raw if keep_splits else [split_parent(r) for r in regions_raw]
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


def _va_rows(rows: list[str], zkeys: set) -> tuple[list[int], list[int]]:
    """Positions of the primary-input rows and of the output row(s) among the row labels."""
    va, out = [], []
    for i, r in enumerate(rows):
        if split_label(r) in zkeys:
            continue
        (out if r.upper() in OUTPUT_ROWS else va).append(i)
    return va, out


def va_labels(path: str | Path) -> tuple[list[str], list[str]]:
    """Primary-input rows of the first year's file and those that are value added.

    Reads only the first column. ``VA``/``VALU`` (or ``VA+TAXSUB`` in 2016, the only row
    there) is value added; ``TLS``/``TAXSUB`` rows are taxes less subsidies on products.
    """
    files = list_years(path)
    f = files[min(files)]
    where = str(f)
    cols = _header(f, where)
    z, _, _, _ = _classify_columns(cols, where)
    zkeys = {k for _, k in z}
    try:
        with _open(f) as fh:
            rows = pd.read_csv(fh, usecols=[0], dtype=str, keep_default_na=False).iloc[:, 0]
    except (pd.errors.ParserError, ValueError) as exc:
        fail(where, f"cannot read the row labels ({exc})")
    rows = [str(r).strip() for r in rows]
    va, out = _va_rows(rows, zkeys)
    if not out:
        fail(where, f"no output row {'/'.join(OUTPUT_ROWS)} (expected below the value-added "
                    "rows, as in every ICIO edition)")
    names = [rows[i] for i in va]
    return names, [n for n in names if n.upper() in VA_ROWS]


def read_year(path: str | Path, year: int, keep_splits: bool = False) -> dict:
    """Read one ICIO year.

    Parameters
    ----------
    path : str or Path
        Folder with the year files, or one file.
    year : int
    keep_splits : bool
        Keep ``CN1``... and ``MX1``... as regions instead of summing them into ``CHN``/``MEX``.

    Returns
    -------
    dict
        See :mod:`brgvc.readers.common`; ``edition`` names the layout recognised;
        ``va_published`` holds the primary-input rows (``TLS``/``TAXSUB``, ``VA``/``VALU``)
        over the intermediate columns (splits summed like the columns of Z).

    Raises
    ------
    MRIOError
        For a missing output row, or a non-numeric or empty cell in the intermediate,
        final-demand, total, primary-input or output cells: the message names the file and
        the cell as a spreadsheet shows it (line = row, field = column).
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
    zi = np.flatnonzero(is_z)
    z_rows = [row_keys[i] for i in zi]
    va_i, out_i = _va_rows(rows, zkeys)
    if not out_i:
        fail(where, f"no output row {'/'.join(OUTPUT_ROWS)} among the {len(rows) - len(zi)} "
                    f"rows below the intermediate block ({[rows[i] for i in va_i][:6]}); "
                    "the file is incomplete")
    used = sorted([j for j, _ in z_cols] + [j for j, _ in fd_cols] + disc
                  + ([total] if total is not None else []))
    # Spreadsheet positions: line 1 is the header, field 1 the row labels.
    body = block_to_float(df.iloc[zi, used], where, zi + 2, np.array(used) + 2,
                          row_labels=[rows[i] for i in zi], col_labels=[cols[j] for j in used])
    values = np.zeros((len(zi), len(cols)))
    values[:, used] = body
    Z, Y = assemble(values, z_rows, z_cols, fd_cols, regions_raw, sectors, fd, where)
    order = {k: i for i, k in enumerate(z_rows)}
    ri = np.array([order[(r, s)] for r in regions_raw for s in sectors])
    zc = np.array([j for j, _ in z_cols])[
        np.argsort([regions_raw.index(k[0]) * len(sectors) + sectors.index(k[1])
                    for _, k in z_cols])]
    bottom = block_to_float(df.iloc[va_i + out_i[:1], zc], where,
                            np.array(va_i + out_i[:1], dtype=int) + 2,
                            zc + 2, row_labels=[rows[i] for i in va_i + out_i[:1]],
                            col_labels=[cols[j] for j in zc])
    va = bottom[: len(va_i)]
    out_row = bottom[len(va_i)]
    if total is not None:
        x = values[ri, total]
    else:
        # 2016: no output column; the output row is the publisher's gross output.
        x = out_row
    dropped = {}
    for j in disc:
        dropped[f"column {cols[j]}"] = float(values[:, j].sum())
    for k, i in enumerate(va_i):
        dropped[f"row {rows[i]}"] = float(va[k].sum())
    dropped[f"row {rows[out_i[0]]}"] = float(out_row.sum())
    G, N, F = len(regions_raw), len(sectors), len(fd)
    Z, Y, x, labels_ = merge_regions(Z, Y, x, regions_raw, N, F, merged)
    if G != len(labels_):
        k = np.array([labels_.index(t) for t in merged])
        va3 = va.reshape(len(va_i), G, N)
        vm = np.zeros((len(va_i), len(labels_), N))
        for g in range(G):
            vm[:, k[g]] += va3[:, g]
        va = vm.reshape(len(va_i), -1)
    regions = iso3_regions(labels_, DATABASE)
    names = [rows[i] for i in va_i]
    return result(
        Z, Y, x, regions=regions, sectors=sectors, fd=fd, year=year,
        checksums={f.name: sha256(f)}, where=where, dropped=dropped,
        va=va, va_components=names, va_total=[n for n in names if n.upper() in VA_ROWS],
        edition=edition(cols, rows, f.name), merged_splits=not keep_splits and G != len(labels_),
    )


def read_year_split(path: str | Path, year: int) -> dict:
    """:func:`read_year` with ``keep_splits=True`` (the ``oecd_icio_split`` format)."""
    return read_year(path, year, keep_splits=True)
