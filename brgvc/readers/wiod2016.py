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
code ``GO`` or country ``TOT``. ``x`` is the ``GO`` column. Of the ``TOT`` rows (names as
documented by the WIOD release notes and the ``wiod.diagrammer`` R package, ``aggregates``:
``II_fob`` total intermediate consumption, ``TXSP`` taxes less subsidies on products,
``EXP_adj`` cif/fob adjustments on exports, ``PURR`` direct purchases abroad by residents,
``PURNR`` purchases on the domestic territory by non-residents, ``VA`` value added at basic
prices, ``IntTTM`` international transport margins, ``GO`` output at basic prices), the six
between the totals are returned over the industry columns as ``va_published`` (``VA`` is
value added, ``va_total``); the ``GO`` row is required.

Files: ``WIOT{YYYY}_Nov16_ROW.xlsb`` as published (read with pandas' ``calamine`` engine,
package ``python-calamine``, a dependency of brgvc; pandas 3 deprecates its ``pyxlsb``
engine), ``.xlsx`` (``openpyxl``), or a CSV export of the sheet
(``WIOT{YYYY}_Nov16_ROW.csv``, same cells). Country ``ROW`` becomes ``RoW``; the other codes
are ISO3 already. Unit: million US$, current prices (title row 2), the canonical unit.

Bad input: a non-numeric cell anywhere in the body, or an empty cell in the intermediate,
final-demand, output or primary-input cells, names the file and the cell as the spreadsheet
shows it (``row 9, column 5 (E9)``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from brgvc.readers.common import (
    assemble,
    cell_ref,
    fail,
    find_year_files,
    iso3_regions,
    read_grid,
    result,
    sha256,
    unique_in_order,
)

__all__ = ["ATTRS", "FD_CODES", "labels", "list_years", "parse_sheet", "read_year",
           "sheet_columns", "sheet_labels", "va_labels"]

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


def va_labels(path: str | Path) -> tuple[list[str], list[str]]:
    """Primary-input rows of the first year (``TXSP`` ... ``IntTTM``) and the value added."""
    files = list_years(path)
    y = min(files)
    d = _parse(files[y], y)
    return d["va_components"], d["va_total"]


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
    *,
    total_rows: Sequence[str] = ("II_fob", "GO"),
    output_rows: Sequence[str] = ("GO",),
    va_rows: Sequence[str] = ("VA",),
    by_position: bool = False,
    **kw,
) -> dict:
    """Split a WIOD-style sheet into intermediate, final-demand, total and primary-input rows.

    Parameters
    ----------
    head, lab : list of list of str
        Header rows and body labels (see :func:`sheet_columns`).
    values : ndarray
        Numbers of the body.
    where : str
        File and year, for messages.
    total_rows : sequence of str
        Codes of the bottom rows that are totals (total intermediate use, output): not
        returned as components.
    output_rows : sequence of str
        Codes of the output row (required).
    va_rows : sequence of str
        Codes of the value-added row(s).
    by_position : bool
        ADB layout: the eight bottom rows are recognised by position (ksreyes/mrio
        ``check()``): 1 total intermediate use, 2-7 primary inputs of which the 5th
        (6th bottom row) is value added at basic prices, 8 total output.
    **kw
        ``fd_codes``, ``total_codes``, ``layout`` of :func:`sheet_columns`.

    Returns
    -------
    dict
        ``regions`` (raw codes), ``sectors``, ``fd``, ``Z``, ``Y``, ``x``, ``dropped``,
        ``va`` (K × GN), ``va_components``, ``va_total``.
    """
    layout = kw.get("layout", "WIOD 2016")
    cols = sheet_columns(head, lab, values.shape[1], where, **kw)
    z_cols, fd_cols, total = cols["z_cols"], cols["fd_cols"], cols["total"]
    regions, sectors, fd, row_keys = cols["regions"], cols["sectors"], cols["fd"], \
        cols["row_keys"]
    zkeys = {k for _, k in z_cols}
    is_z = np.array([k in zkeys for k in row_keys])
    zi = np.flatnonzero(is_z)
    z_rows = [row_keys[i] for i in zi]
    top = len(head)  # spreadsheet row of body row i is top + i + 1
    used = sorted([j for j, _ in z_cols] + [j for j, _ in fd_cols] + [total])
    _no_gaps(values[np.ix_(zi, used)], where, top + zi + 1,
             np.array(used) + N_LABEL_COLS + 1)
    body = values[is_z]
    Z, Y = assemble(body, z_rows, z_cols, fd_cols, regions, sectors, fd, where)
    order = {k: i for i, k in enumerate(z_rows)}
    x = body[[order[(r, s)] for r in regions for s in sectors], total]
    canon = {k: i for i, k in enumerate((r, s) for r in regions for s in sectors)}
    zc = np.array([j for j, _ in z_cols])[np.argsort([canon[k] for _, k in z_cols])]
    other = np.flatnonzero(~is_z)
    names = [_row_code(lab[i]) for i in other]
    if by_position:
        if len(other) < 8:
            fail(where, f"expected 8 rows below the {len(zi)} industry rows ({layout}: total "
                        "intermediate use, 6 primary inputs, total output), found "
                        f"{len(other)}")
        comp_i = list(other[1:7])
        out_i = other[7]
        va_total = [names[5]]  # the 6th bottom row: value added at basic prices
    else:
        outs = [i for i, n in zip(other, names, strict=True) if n in output_rows]
        if not outs:
            fail(where, f"no output row {list(output_rows)} below the industry rows "
                        f"({layout} layout; found {names[:10]})")
        out_i = outs[0]
        comp_i = [i for i, n in zip(other, names, strict=True) if n not in total_rows]
        va_total = [n for n in names if n in va_rows]
    comps = [_row_code(lab[i]) for i in comp_i]
    rows_va = [*comp_i, out_i]
    _no_gaps(values[np.ix_(rows_va, zc)], where, top + np.array(rows_va) + 1,
             zc + N_LABEL_COLS + 1)
    va = values[np.ix_(comp_i, zc)] if comp_i else np.zeros((0, len(zc)))
    dropped = {}
    for i in other:
        name = " ".join(v for v in (lab[i][CODE_COL], lab[i][REGION_COL]) if v)
        dropped[f"row {name}"] = float(np.nansum(values[i, zc]))
    return {"regions": regions, "sectors": sectors, "fd": fd, "Z": Z, "Y": Y, "x": x,
            "dropped": dropped, "va": va, "va_components": comps, "va_total": va_total}


def _row_code(labels: Sequence[str]) -> str:
    """Code of a bottom row: its code cell, else its number cell, else its description."""
    for k in (CODE_COL, 3, 1):
        if k < len(labels) and labels[k]:
            return labels[k]
    return ""


def _no_gaps(block: np.ndarray, where: str, rows: np.ndarray, cols: np.ndarray) -> None:
    """Fail on the first empty cell of a block, named by its spreadsheet position."""
    bad = ~np.isfinite(block)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        fail(where, f"empty cell at {cell_ref(int(rows[i]), int(cols[j]))} "
                    f"({int(bad.sum())} such cells)")


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
    # labels(), va_labels() and read_year() of the first year read the same workbook:
    # parse it once (keyed by size and modification time, so an edited file is re-read).
    st = f.stat()
    return _parse_cached(str(f), year, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _parse_cached(name: str, year: int, size: int, mtime: int) -> dict:
    f = Path(name)
    where = f"{f} (year {year})"
    head, lab, values = load(f, where)
    d = parse_sheet(head, lab, values, where)
    for k in ("Z", "Y", "x", "va"):
        d[k].setflags(write=False)  # shared by the cache: never modified in place
    return d


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
        where=f"{f} (year {year})", dropped=d["dropped"], va=d["va"],
        va_components=d["va_components"], va_total=d["va_total"],
    )
