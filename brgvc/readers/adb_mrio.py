"""Reader for the ADB Multiregional Input-Output tables (62/63/72/73 economies × 35 sectors).

Documented layout (ADB MRIO workbooks, one per year, e.g. ``ADB-MRIO-2017_Mar2022.xlsx``;
positions as read by ksreyes/mrio ``check()`` and by Bhusal (2025), "Harmonized ADB MRIO
panel", ``scripts/01_build_panel_current.R``):

- the workbook may start with a ``Legend`` sheet (economy codes, names and numbers in
  A2:C64); the table is on the sheet named ``ADB MRIO YYYY`` (else: the first sheet that is
  not ``Legend``);
- 7 header rows and 4 label columns: the numbers start at cell **E8**. Columns: G·35
  intermediate columns (E8:CFY2212 for 63 economies), G·5 final-demand columns ``F1``-``F5``
  (household, NPISH and government consumption, GFCF, changes in inventories), one total
  output column (CSC for 63 economies);
- rows: G·35 industry rows, then 8 rows: 1 total intermediate consumption (r60), 2-7 primary
  inputs (taxes less subsidies on products, cif/fob adjustments, direct purchases abroad by
  residents, purchases on the domestic territory by non-residents, **value added at basic
  prices** (the 6th row), international transport margins), 8 total output (r69). ``check()``
  sums rows 2-7 to value added and compares row 8 with the total column.

Which of the header rows holds which label is not documented in those sources; this reader
uses the WIOD template (:func:`brgvc.readers.wiod2016.parse_sheet`): the four header rows
directly above the body hold column codes (``c1``-``c35``, ``F1``-``F5``, ``ToT``),
descriptions, economy codes and numbers, and the four label columns hold sector code,
description, economy code and number. Final-demand codes ``F1``-``F5`` are reported with
the WIOD names ``CONS_h CONS_np CONS_g GFCF INVEN``; ``x`` is the total column. The six
primary-input rows are returned as ``va_published`` by position (labels from their code
cells); the 6th bottom row is value added (``va_total``).

Economy codes: ADB's own codes for its members (``PRC`` China, ``TAP`` Taipei,China, ``INO``
Indonesia, ``MAL`` Malaysia, ``PHI`` Philippines, ``VIE`` Viet Nam, ``BAN`` Bangladesh,
``SRI`` Sri Lanka, ``NEP`` Nepal, ``MON`` Mongolia, ``FIJ`` Fiji, ``BRU`` Brunei, ``BHU``
Bhutan, ``CAM`` Cambodia, ``MLD`` Maldives, ``SIN`` Singapore, ``ROW``) are mapped to ISO3;
the others are ISO3 already. Unit: million US$, current prices (the canonical unit).

Bad input: a non-numeric cell, or an empty one among those read, names the file and the
cell as the spreadsheet shows it (``row 9, column 5 (E9)``).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from brgvc.readers.common import (
    fail,
    find_year_files,
    iso3_regions,
    read_grid,
    result,
    sha256,
    sheet_names,
)
from brgvc.readers.wiod2016 import parse_sheet

__all__ = ["ADB_CODES", "ATTRS", "FD_CODES", "labels", "list_years", "read_year", "table_sheet",
           "va_labels"]

DATABASE = "adb_mrio"
ATTRS = {
    "source": "ADB MRIO",
    "release": "as published (62/63/72/73 economies)",
    "unit": "million USD, current prices",
    "price_basis": "basic prices",
    "citation": "Asian Development Bank, Multiregional Input-Output Tables, "
                "https://kidb.adb.org/mrio",
}
#: ADB economy codes that are not ISO3.
ADB_CODES = {
    "PRC": "CHN", "TAP": "TWN", "INO": "IDN", "MAL": "MYS", "PHI": "PHL", "VIE": "VNM",
    "BAN": "BGD", "SRI": "LKA", "NEP": "NPL", "MON": "MNG", "FIJ": "FJI", "BRU": "BRN",
    "BHU": "BTN", "CAM": "KHM", "MLD": "MDV", "SIN": "SGP", "ROW": "RoW", "RoW": "RoW",
}
FD_CODES = {"F1": "CONS_h", "F2": "CONS_np", "F3": "CONS_g", "F4": "GFCF", "F5": "INVEN",
            "CONS_h": "CONS_h", "CONS_np": "CONS_np", "CONS_g": "CONS_g", "GFCF": "GFCF",
            "INVEN": "INVEN"}
TOTAL_CODES = ("ToT", "TOT", "GO", "r69")
#: Rows above the body: the numbers start at cell E8.
HEADER_ROWS = 7

_FILE = re.compile(r"mrio\D*?(?:\d{2}\D+)?(?P<year>(?:19|20)\d{2}).*\.xls[xbm]?$", re.I)


def list_years(path: str | Path) -> dict[int, Path]:
    """Map each year to its workbook (a name containing ``MRIO`` and the year)."""
    return find_year_files(path, _FILE, "ADB-MRIO-YYYY*.xlsx")


_SHEET = re.compile(r"^ADB\s*MRIO\s*(?:\d{4})?$", re.I)


def table_sheet(f: Path, where: str) -> int | str:
    """The sheet holding the table: ``ADB MRIO YYYY``, else the first that is not a legend."""
    if f.suffix.lower() == ".csv":
        return 0
    names = sheet_names(f, where)
    named = [n for n in names if _SHEET.match(n.strip())]
    if named:
        return named[0]
    rest = [n for n in names if n.strip().lower() != "legend"]
    if not rest:
        fail(where, f"no table sheet (sheets: {names}; expected 'ADB MRIO YYYY')")
    return rest[0]


def _parse(f: Path, year: int) -> dict:
    # labels(), va_labels() and read_year() of the first year read the same workbook:
    # parse it once (keyed by size and modification time, so an edited file is re-read).
    st = f.stat()
    return _parse_cached(str(f), year, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _parse_cached(name: str, year: int, size: int, mtime: int) -> dict:
    f = Path(name)
    where = f"{f} (year {year})"
    sheet = table_sheet(f, where)
    head, lab, values = read_grid(f, where, n_label_cols=4, excel=f.suffix.lower() != ".csv",
                                  sheet=sheet)
    if f.suffix.lower() != ".csv" and len(head) != HEADER_ROWS:
        fail(where, f"sheet {sheet!r}: the numbers start in row {len(head) + 1}, expected "
                    f"row {HEADER_ROWS + 1} (cell E{HEADER_ROWS + 1}: 7 header rows and 4 "
                    "label columns, ADB MRIO layout)")
    d = parse_sheet(head, lab, values, where, fd_codes=FD_CODES, total_codes=TOTAL_CODES,
                    layout="ADB MRIO", by_position=True)
    for k in ("Z", "Y", "x", "va"):
        d[k].setflags(write=False)  # shared by the cache: never modified in place
    return d


def labels(path: str | Path) -> tuple[list[str], list[str], list[str]]:
    """Regions (ISO3), sector codes and final-demand categories of the first year."""
    files = list_years(path)
    y = min(files)
    d = _parse(files[y], y)
    return iso3_regions(d["regions"], DATABASE, ADB_CODES), d["sectors"], d["fd"]


def va_labels(path: str | Path) -> tuple[list[str], list[str]]:
    """The six primary-input rows of the first year and the value-added row."""
    files = list_years(path)
    y = min(files)
    d = _parse(files[y], y)
    return d["va_components"], d["va_total"]


def read_year(path: str | Path, year: int) -> dict:
    """Read one ADB MRIO year (see the module docstring for the assumed layout)."""
    year = int(year)
    files = list_years(path)
    if year not in files:
        fail(str(path), f"no ADB MRIO workbook for year {year} (have {sorted(files)})")
    f = files[year]
    d = _parse(f, year)
    return result(
        d["Z"], d["Y"], d["x"], regions=iso3_regions(d["regions"], DATABASE, ADB_CODES),
        sectors=d["sectors"], fd=d["fd"], year=year, checksums={f.name: sha256(f)},
        where=f"{f} (year {year})", dropped=d["dropped"], va=d["va"],
        va_components=d["va_components"], va_total=d["va_total"],
    )
