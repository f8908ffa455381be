"""Reader for the WIOD 2016 release (``WIOT{YYYY}_Nov16_ROW``: 43 countries + ROW × 56 industries).

Layout of the published sheet (one workbook per year, sheet 1; Timmer et al. 2016), as this
reader assumes it (0-based rows; the body may start lower if more title rows precede it):

======  ======================================================================================
rows    content
======  ======================================================================================
0-1     title (``World Input-Output Table 2014``) and unit (``(millions of US$)``)
2       column codes: industry codes (``A01`` ... ``U``), final-demand codes (``CONS_h``,
        ``CONS_np``, ``CONS_g``, ``GFCF``, ``INVEN``), ``GO`` (total output)
3       column descriptions
4       column countries (``AUS`` ... ``ROW``; ``TOT`` for the total column)
5       column numbers (``c1`` ... ``c61``, ``c62``)
6-      body: four label columns (industry code, description, country, row number) and the
        numbers; after the GN industry rows come the rows of country ``TOT``: ``II_fob``,
        ``TXSP``, ``EXP_adj``, ``PURR``, ``PURNR``, ``VA``, ``IntTTM``, ``GO``
======  ======================================================================================

That is: the four header rows directly above the body hold codes, descriptions, countries and
numbers, in this order. Intermediate columns are those whose (country, code) is also a body
row; final-demand columns are those with one of the five codes above; the total column has
code ``GO`` or country ``TOT``. The ``TOT`` rows are left out (their totals are returned
under ``dropped``); ``x`` is the ``GO`` column.

Files: ``WIOT{YYYY}_Nov16_ROW.xlsb`` (needs the optional package ``pyxlsb``), ``.xlsx`` (needs
``openpyxl``), or a CSV export of the sheet (``WIOT{YYYY}_Nov16_ROW.csv``, same cells). Country
``ROW`` becomes ``RoW``; the other codes are ISO3 already.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from brgvc.readers.common import (
    assemble,
    fail,
    find_year_files,
    iso3_regions,
    read_grid,
    result,
    sha256,
    unique_in_order,
)

__all__ = ["ATTRS", "FD_CODES", "labels", "list_years", "parse_sheet", "read_year",
           "sheet_columns", "sheet_labels"]

DATABASE = "wiod2016"
ATTRS = {
    "source": "WIOD",
    "release": "2016",
    "unit": "million USD, current prices",
    "price_basis": "basic prices",
    "citation": (
        "Timmer, M. P., Los, B., Stehrer, R. and de Vries, G. J. (2016), An Anatomy of the "
        "Global Trade Slowdown based on the WIOD 2016 Release, GGDC research memorandum 162."
    ),
}
#: Final-demand codes -> canonical category.
FD_CODES = {c: c for c in ("CONS_h", "CONS_np", "CONS_g", "GFCF", "INVEN")}
TOTAL_CODES = ("GO", "TOT", "ToT")
N_LABEL_COLS = 4
#: Header rows above the body (counted upwards from the body): codes, countries.
CODE_ROW, REGION_ROW = 4, 2
#: Label columns of the body: industry code, country.
CODE_COL, REGION_COL = 0, 2

_FILE = re.compile(r"^WIOT(?P<year>\d{4})_Nov16_ROW\.(?:xlsb|xlsx|csv)$", re.I)


def list_years(path: str | Path) -> dict[int, Path]:
    """Map each year to its ``WIOT{YYYY}_Nov16_ROW`` workbook (or CSV export)."""
    return find_year_files(path, _FILE, "WIOT{YYYY}_Nov16_ROW.xlsb/.xlsx/.csv")


def load(f: Path, where: str):
    """Read a workbook or CSV export into (header rows, body labels, numbers)."""
    return read_grid(f, where, n_label_cols=N_LABEL_COLS, excel=f.suffix.lower() != ".csv")


def sheet_columns(
    head: Sequence[Sequence[str]],
    lab: Sequence[Sequence[str]],
    ncol: int,
    where: str,
    *,
    fd_codes: Mapping[str, str] = FD_CODES,
    total_codes: Sequence[str] = TOTAL_CODES,
    layout: str = "WIOD 2016",
) -> dict:
    """Classify the columns of a WIOD-style sheet from its header rows and row labels.

    Parameters
    ----------
    head : list of list of str
        The rows above the body (at least four: codes, descriptions, countries, numbers).
    lab : list of list of str
        Label columns of the body rows.
    ncol : int
        Number of numeric columns.
    where : str
        File and year, for messages.
    fd_codes : mapping
        Final-demand column codes -> canonical category.
    total_codes : sequence of str
        Codes (or countries) of the total-output column.
    layout : str
        Name of the layout, for messages.

    Returns
    -------
    dict
        ``z_cols``, ``fd_cols``, ``total`` (column positions and keys), ``row_keys``,
        ``regions`` (raw codes), ``sectors`` and ``fd``.
    """
    if len(head) < CODE_ROW:
        fail(where, f"expected {CODE_ROW} header rows above the body ({layout} layout: codes, "
                    f"descriptions, countries, numbers), found {len(head)}")
    codes = list(head[-CODE_ROW][N_LABEL_COLS:])
    regs = list(head[-REGION_ROW][N_LABEL_COLS:])
    codes += [""] * (ncol - len(codes))
    regs += [""] * (ncol - len(regs))
    row_keys = [(r[REGION_COL], r[CODE_COL]) for r in lab]
    row_set = set(row_keys)
    z_cols, fd_cols, total = [], [], None
    for j in range(ncol):
        c, r = codes[j], regs[j]
        if c in total_codes or r in total_codes:
            total = j
        elif c in fd_codes and r:
            fd_cols.append((j, (r, fd_codes[c])))
        elif (r, c) in row_set:
            z_cols.append((j, (r, c)))
    if not z_cols or not fd_cols or total is None:
        fail(where, f"not the {layout} layout: found {len(z_cols)} industry columns, "
                    f"{len(fd_cols)} final-demand columns ({sorted(set(fd_codes))}) and "
                    f"{'a' if total is not None else 'no'} total column ({list(total_codes)}) "
                    f"in header rows {len(head) - CODE_ROW} (codes) and {len(head) - REGION_ROW}"
                    " (countries) above the body")
    regions = unique_in_order(k[0] for _, k in z_cols)
    sectors = unique_in_order(k[1] for _, k in z_cols)
    if len(z_cols) != len(regions) * len(sectors):
        fail(where, f"industry columns are not every country × industry: {len(z_cols)} for "
                    f"{len(regions)} countries and {len(sectors)} industries")
    fd = unique_in_order(v for v in fd_codes.values() if v in {k[1] for _, k in fd_cols})
    return {"z_cols": z_cols, "fd_cols": fd_cols, "total": total, "row_keys": row_keys,
            "regions": regions, "sectors": sectors, "fd": fd}


def parse_sheet(
    head: Sequence[Sequence[str]],
    lab: Sequence[Sequence[str]],
    values: np.ndarray,
    where: str,
    **kw,
) -> dict:
    """Split a WIOD-style sheet into intermediate, final-demand and total columns.

    Parameters
    ----------
    head, lab : list of list of str
        Header rows and body labels (see :func:`sheet_columns`).
    values : ndarray
        Numbers of the body.
    where : str
        File and year, for messages.
    **kw
        ``fd_codes``, ``total_codes``, ``layout`` of :func:`sheet_columns`.

    Returns
    -------
    dict
        ``regions`` (raw codes), ``sectors``, ``fd``, ``Z``, ``Y``, ``x``, ``dropped``.
    """
    cols = sheet_columns(head, lab, values.shape[1], where, **kw)
    z_cols, fd_cols, total = cols["z_cols"], cols["fd_cols"], cols["total"]
    regions, sectors, fd, row_keys = cols["regions"], cols["sectors"], cols["fd"], \
        cols["row_keys"]
    zkeys = {k for _, k in z_cols}
    is_z = np.array([k in zkeys for k in row_keys])
    z_rows = [k for k, z in zip(row_keys, is_z, strict=True) if z]
    body = values[is_z]
    Z, Y = assemble(body, z_rows, z_cols, fd_cols, regions, sectors, fd, where)
    order = {k: i for i, k in enumerate(z_rows)}
    x = body[[order[(r, s)] for r in regions for s in sectors], total]
    zc = np.array([j for j, _ in z_cols])
    dropped = {}
    for i in np.flatnonzero(~is_z):
        name = " ".join(v for v in (lab[i][CODE_COL], lab[i][REGION_COL]) if v)
        dropped[f"row {name}"] = float(np.nansum(values[i, zc]))
    return {"regions": regions, "sectors": sectors, "fd": fd, "Z": Z, "Y": Y, "x": x,
            "dropped": dropped}


def sheet_labels(f: Path, where: str, **kw) -> tuple[list[str], list[str], list[str]]:
    """Raw regions, sectors and final-demand categories of a sheet, without its numbers
    (for a CSV export; a workbook is read whole)."""
    head, lab, _ = read_grid(f, where, n_label_cols=N_LABEL_COLS,
                             excel=f.suffix.lower() != ".csv", numbers=False)
    ncol = max(len(h) for h in head) - N_LABEL_COLS
    cols = sheet_columns(head, lab, ncol, where, **kw)
    return cols["regions"], cols["sectors"], cols["fd"]


def labels(path: str | Path) -> tuple[list[str], list[str], list[str]]:
    """Regions (ISO3, ``RoW``), industry codes and final-demand codes of the first year."""
    files = list_years(path)
    y = min(files)
    regions, sectors, fd = sheet_labels(files[y], f"{files[y]} (year {y})")
    return iso3_regions(regions, DATABASE), sectors, fd


def _parse(f: Path, year: int) -> dict:
    where = f"{f} (year {year})"
    head, lab, values = load(f, where)
    return parse_sheet(head, lab, values, where)


def read_year(path: str | Path, year: int) -> dict:
    """Read one WIOD 2016 year (see the module docstring for the layout)."""
    year = int(year)
    files = list_years(path)
    if year not in files:
        fail(str(path), f"no WIOD 2016 file for year {year} (have {sorted(files)})")
    f = files[year]
    d = _parse(f, year)
    return result(
        d["Z"], d["Y"], d["x"], regions=iso3_regions(d["regions"], DATABASE),
        sectors=d["sectors"], fd=d["fd"], year=year, checksums={f.name: sha256(f)},
        where=f"{f} (year {year})", dropped=d["dropped"],
    )
