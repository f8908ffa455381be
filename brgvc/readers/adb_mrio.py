"""Reader for the ADB Multiregional Input-Output tables (62/63/72/73 economies × 35 sectors).

The ADB MRIO workbooks (one per year, e.g. ``ADB-MRIO-2017_Mar2022.xlsx``) follow the WIOD
2013 template: 35 industries ``c1``-``c35``, five final-demand columns per economy, a total
column, and eight rows after the industry rows (``r60`` total intermediate consumption,
``r61``-``r66`` taxes less subsidies, cif/fob adjustments, purchases abroad, purchases by
non-residents, value added at basic prices, international transport margins, ``r69`` total
output). The numbers start at Excel cell E8 (ksreyes/mrio ``check()``).

Assumed layout (the real workbooks could not be checked here): sheet 1; the four rows
directly above the body hold column codes (``c1``-``c35``, ``F1``-``F5`` or the WIOD names
``CONS_h`` ... ``INVEN``, ``ToT``), descriptions, economy codes and numbers, like WIOD 2016
(:func:`brgvc.readers.wiod2016.parse_sheet`); the body has four label columns: sector code,
description, economy code, number. Final-demand codes ``F1``-``F5`` are reported with the
WIOD names ``CONS_h CONS_np CONS_g GFCF INVEN``. ``x`` is the ``ToT`` column.

Economy codes: ADB's own codes for its members (``PRC`` China, ``TAP`` Taipei,China, ``INO``
Indonesia, ``MAL`` Malaysia, ``PHI`` Philippines, ``VIE`` Viet Nam, ``BAN`` Bangladesh,
``SRI`` Sri Lanka, ``NEP`` Nepal, ``MON`` Mongolia, ``FIJ`` Fiji, ``BRU`` Brunei, ``BHU``
Bhutan, ``CAM`` Cambodia, ``MLD`` Maldives, ``SIN`` Singapore, ``ROW``) are mapped to ISO3;
the others are ISO3 already.
"""

from __future__ import annotations

import re
from pathlib import Path

from brgvc.readers.common import fail, find_year_files, iso3_regions, read_grid, result, sha256
from brgvc.readers.wiod2016 import parse_sheet, sheet_labels

__all__ = ["ADB_CODES", "ATTRS", "FD_CODES", "labels", "list_years", "read_year"]

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

_FILE = re.compile(r"mrio\D*?(?:\d{2}\D+)?(?P<year>(?:19|20)\d{2}).*\.xls[xbm]?$", re.I)


def list_years(path: str | Path) -> dict[int, Path]:
    """Map each year to its workbook (a name containing ``MRIO`` and the year)."""
    return find_year_files(path, _FILE, "ADB-MRIO-YYYY*.xlsx")


def _parse(f: Path, year: int) -> dict:
    where = f"{f} (year {year})"
    head, lab, values = read_grid(f, where, n_label_cols=4, excel=f.suffix.lower() != ".csv")
    return parse_sheet(head, lab, values, where, fd_codes=FD_CODES, total_codes=TOTAL_CODES,
                       layout="ADB MRIO")


def labels(path: str | Path) -> tuple[list[str], list[str], list[str]]:
    """Regions (ISO3), sector codes and final-demand categories of the first year."""
    files = list_years(path)
    y = min(files)
    regions, sectors, fd = sheet_labels(files[y], f"{files[y]} (year {y})",
                                        fd_codes=FD_CODES, total_codes=TOTAL_CODES,
                                        layout="ADB MRIO")
    return iso3_regions(regions, DATABASE, ADB_CODES), sectors, fd


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
        where=f"{f} (year {year})", dropped=d["dropped"],
    )
