"""Reader for Eurostat FIGARO inter-country input-output tables (industry by industry).

FIGARO (editions 2021-2024: 46 areas, the 27 EU members, 18 partners and ``FIGW1`` the rest
of the world, × 64 NACE industries, million EUR) is published per year in two CSV forms,
both read here:

``matrix_eu-ic-io_ind-by-ind_{ED}ed_{YYYY}.csv``
    A wide matrix: first column ``rowLabels`` (``AR_A01``), one column per
    ``AREA_INDUSTRY`` and per ``AREA_CATEGORY`` of final demand (``P3_S13``, ``P3_S14``,
    ``P3_S15``, ``P51G``, ``P5M``); below the industry rows come the value-added rows of
    area ``W2`` (``W2_D21X31`` taxes less subsidies on products, ``W2_OP_RES``,
    ``W2_OP_NRES``, ``W2_D1``, ``W2_D29X39``, ``W2_B2A3G``). Labels are split at the first
    underscore.
``flatfile_eu-ic-io_ind-by-ind_{ED}ed_{YYYY}.csv``
    The same cells in long form, one per line, with (at least) the columns ``refArea``,
    ``rowIi`` (``rowPi`` in product tables), ``counterpartArea``, ``colIi`` (``colPi``) and
    ``obsValue``; other columns (``icioRow``, ``icioCol``, time, unit) are ignored. Absent
    cells are zero, but areas and industries are ordered by their first appearance, so the
    file should list every cell (Eurostat's flat files do: (46 × 64)² lines).

Layout source: Eurostat, "EU inter-country supply, use and input-output tables - Full
international and global accounts for research in input-output analysis (FIGARO)",
methodological note and the file descriptions of the ESTAT FIGARO download page (matrix:
``rowLabels`` then ``AREA_CODE`` columns; flat file: one observation per line).
If a folder holds both forms for a year, the matrix is read. Rows that are not an
(area, industry) of the table (the ``W2`` primary-input rows) are returned over the
industry columns as ``va_published`` with their labels (``W2_D1``, ...); ``W2_D1``,
``W2_D29X39`` and ``W2_B2A3G`` add up to value added (``va_total``). Unit: million EUR,
current prices, kept in EUR (no exchange rate is applied). A non-numeric or empty cell
names the file and its spreadsheet position (line = row, field = column). FIGARO publishes
no output column: ``x`` is the row sum.
Area codes are Eurostat's two-letter codes (``EL`` Greece, ``UK``/``GB``), mapped to ISO3;
``FIGW1`` becomes ``RoW``. ``P5M`` (changes in inventories and valuables) may be negative.

Assumptions (the files could not be checked here): one year per file; the column names
above; area codes without underscores.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from brgvc.readers.common import (
    assemble,
    block_to_float,
    cell_ref,
    fail,
    find_year_files,
    iso3_regions,
    result,
    sha256,
    split_label,
    unique_in_order,
)

__all__ = ["AREAS", "ATTRS", "FD_ORDER", "VA_CODES", "labels", "list_years", "read_year",
           "va_labels"]

DATABASE = "figaro"
ATTRS = {
    "source": "FIGARO",
    "release": "Eurostat EU inter-country input-output tables",
    "unit": "million EUR, current prices",
    "price_basis": "basic prices",
    "citation": "Eurostat, FIGARO tables, https://ec.europa.eu/eurostat/web/"
                "esa-supply-use-input-tables",
}
FD_ORDER = ("P3_S13", "P3_S14", "P3_S15", "P51G", "P5M")
#: Eurostat two-letter area codes of FIGARO -> ISO3.
AREAS = {
    "AT": "AUT", "BE": "BEL", "BG": "BGR", "CY": "CYP", "CZ": "CZE", "DE": "DEU", "DK": "DNK",
    "EE": "EST", "EL": "GRC", "GR": "GRC", "ES": "ESP", "FI": "FIN", "FR": "FRA", "HR": "HRV",
    "HU": "HUN", "IE": "IRL", "IT": "ITA", "LT": "LTU", "LU": "LUX", "LV": "LVA", "MT": "MLT",
    "NL": "NLD", "PL": "POL", "PT": "PRT", "RO": "ROU", "SE": "SWE", "SI": "SVN", "SK": "SVK",
    "AR": "ARG", "AU": "AUS", "BR": "BRA", "CA": "CAN", "CH": "CHE", "CN": "CHN", "GB": "GBR",
    "UK": "GBR", "ID": "IDN", "IN": "IND", "JP": "JPN", "KR": "KOR", "MX": "MEX", "NO": "NOR",
    "RU": "RUS", "SA": "SAU", "TR": "TUR", "US": "USA", "ZA": "ZAF", "FIGW1": "RoW",
}

_FILE = re.compile(r"^(?P<kind>matrix|flatfile)_eu-ic-io_(?:ind|prod)-by-(?:ind|prod)_"
                   r"(?:\d{2}ed_)?(?P<year>\d{4})\.csv$", re.I)
_EXPECTED_FLAT = "columns refArea, rowIi, counterpartArea, colIi, obsValue"


def list_years(path: str | Path) -> dict[int, Path]:
    """Map each year to its matrix CSV (or, if there is none, its flat CSV)."""
    p = Path(path)
    if p.is_file():
        return find_year_files(p, _FILE, "matrix_/flatfile_eu-ic-io_ind-by-ind_..._YYYY.csv")
    out: dict[int, Path] = {}
    for f in sorted(p.rglob("*.csv")) if p.is_dir() else []:
        m = _FILE.search(f.name)
        if not m:
            continue
        y = int(m.group("year"))
        if y not in out or m.group("kind").lower() == "matrix":
            out[y] = f
    if not out:
        return find_year_files(p, _FILE, "matrix_/flatfile_eu-ic-io_ind-by-ind_..._YYYY.csv")
    return dict(sorted(out.items()))


def _is_flat(f: Path) -> bool:
    return f.name.lower().startswith("flatfile")


def _read_flat(f: Path, where: str):
    try:
        head = pd.read_csv(f, nrows=0)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        fail(where, f"not a CSV file ({exc}); expected {_EXPECTED_FLAT}")
    cols = set(head.columns)
    row = "rowIi" if "rowIi" in cols else "rowPi"
    col = "colIi" if "colIi" in cols else "colPi"
    need = ["refArea", row, "counterpartArea", col, "obsValue"]
    missing = [c for c in need if c not in cols]
    if missing:
        fail(where, f"not a FIGARO flat file: missing columns {missing}; expected "
                    f"{_EXPECTED_FLAT}")
    df = pd.read_csv(f, usecols=need, dtype={c: str for c in need[:4]}, keep_default_na=False,
                     na_values={"obsValue": [""]})
    df.columns = ["ra", "ri", "ca", "ci", "v"]
    return df


def _flat_structure(df: pd.DataFrame, where: str):
    is_fd = df["ci"].isin(FD_ORDER)
    zc = df.loc[~is_fd, ["ca", "ci"]]
    regions = unique_in_order(zc["ca"])
    sectors = unique_in_order(zc["ci"])
    present = set(df.loc[is_fd, "ci"])
    fd = [c for c in FD_ORDER if c in present]
    if not regions or not fd:
        fail(where, f"not a FIGARO table: no industry or no final-demand columns ({FD_ORDER})")
    return regions, sectors, fd


def _matrix_header(f: Path, where: str) -> list[str]:
    try:
        return [str(c) for c in pd.read_csv(f, nrows=0, index_col=0).columns]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        fail(where, f"not a CSV matrix ({exc})")


def _matrix_columns(cols: list[str], where: str):
    z, fd_cols = [], []
    for j, c in enumerate(cols):
        a, b = split_label(c)
        if b in FD_ORDER:
            fd_cols.append((j, (a, b)))
        elif a and b:
            z.append((j, (a, b)))
    if not z or not fd_cols:
        fail(where, "not a FIGARO matrix: expected columns AREA_INDUSTRY (e.g. AR_A01) and "
                    f"AREA_CATEGORY with categories {FD_ORDER}")
    regions = unique_in_order(k[0] for _, k in z)
    sectors = unique_in_order(k[1] for _, k in z)
    present = {k[1] for _, k in fd_cols}
    fd = [c for c in FD_ORDER if c in present]
    return z, fd_cols, regions, sectors, fd


#: Value-added rows of FIGARO (area ``W2``): compensation of employees, other net taxes on
#: production, operating surplus and mixed income. ``D21X31`` (taxes less subsidies on
#: products) and ``OP_RES``/``OP_NRES`` (purchases by residents abroad / non-residents) are
#: published primary inputs but not value added.
VA_CODES = ("D1", "D29X39", "B2A3G")


def _is_va(name: str) -> bool:
    return split_label(name)[1] in VA_CODES


def va_labels(path: str | Path) -> tuple[list[str], list[str]]:
    """Primary-input rows (``W2_...``) of the first year and those that are value added."""
    files = list_years(path)
    f = files[min(files)]
    if _is_flat(f):
        df = _read_flat(f, str(f))
        regions, sectors, _ = _flat_structure(df, str(f))
        other = ~(df["ra"].isin(regions) & df["ri"].isin(sectors)) & df["ca"].isin(regions) \
            & df["ci"].isin(sectors)
        names = unique_in_order((df["ra"][other] + "_" + df["ri"][other]).tolist())
    else:
        cols = _matrix_header(f, str(f))
        z, _, _, _, _ = _matrix_columns(cols, str(f))
        zkeys = {k for _, k in z}
        rows = pd.read_csv(f, usecols=[0], dtype=str, keep_default_na=False).iloc[:, 0]
        names = [str(r) for r in rows if split_label(str(r)) not in zkeys]
    return names, [n for n in names if _is_va(n)]


def labels(path: str | Path) -> tuple[list[str], list[str], list[str]]:
    """Regions (ISO3), industries and final-demand codes of the first year."""
    files = list_years(path)
    f = files[min(files)]
    if _is_flat(f):
        regions, sectors, fd = _flat_structure(_read_flat(f, str(f)), str(f))
    else:
        _, _, regions, sectors, fd = _matrix_columns(_matrix_header(f, str(f)), str(f))
    return iso3_regions(regions, DATABASE, AREAS), sectors, fd


def read_year(path: str | Path, year: int) -> dict:
    """Read one FIGARO year from the matrix or the flat CSV (see the module docstring)."""
    year = int(year)
    files = list_years(path)
    if year not in files:
        fail(str(path), f"no FIGARO file for year {year} (have {sorted(files)})")
    f = files[year]
    where = f"{f} (year {year})"
    dropped: dict[str, float] = {}
    if _is_flat(f):
        df = _read_flat(f, where)
        regions, sectors, fd = _flat_structure(df, where)
        v = pd.to_numeric(df["v"], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            col = list(pd.read_csv(f, nrows=0).columns).index("obsValue") + 1
            raw = df["v"].iloc[i]
            fail(where, f"{'empty' if pd.isna(raw) else 'non-numeric'} obsValue at "
                        f"{cell_ref(i + 2, col)} [{'/'.join(map(str, df.iloc[i, :4]))}]: "
                        f"{raw!r} ({int(bad.sum())} such cells)")
        G, N, F = len(regions), len(sectors), len(fd)
        rg = {r: i for i, r in enumerate(regions)}
        sc = {s: i for i, s in enumerate(sectors)}
        fc = {c: i for i, c in enumerate(fd)}
        r_i = df["ra"].map(rg)
        s_i = df["ri"].map(sc)
        is_row = (r_i.notna() & s_i.notna()).to_numpy()
        row = np.where(is_row, r_i.fillna(0).to_numpy(int) * N + s_i.fillna(0).to_numpy(int), -1)
        c_r = df["ca"].map(rg).fillna(-1).to_numpy(int)
        c_s = df["ci"].map(sc).fillna(-1).to_numpy(int)
        c_f = df["ci"].map(fc).fillna(-1).to_numpy(int)
        is_z = is_row & (c_r >= 0) & (c_s >= 0)
        is_y = is_row & (c_r >= 0) & (c_f >= 0)
        GN = G * N
        flat = np.concatenate([row[is_z] * GN + c_r[is_z] * N + c_s[is_z],
                               GN * GN + row[is_y] * (G * F) + c_r[is_y] * F + c_f[is_y]])
        if len(np.unique(flat)) != len(flat):
            fail(where, "a cell appears more than once in the flat file")
        Z = np.zeros(GN * GN)
        Z[flat[: is_z.sum()]] = v[is_z]
        Y = np.zeros(GN * G * F)
        Y[flat[is_z.sum():] - GN * GN] = v[is_y]
        Z, Y = Z.reshape(GN, GN), Y.reshape(GN, G * F)
        other = ~is_row & (c_r >= 0) & (c_s >= 0)
        names = unique_in_order((df["ra"][other] + "_" + df["ri"][other]).tolist())
        va = np.zeros((len(names), GN))
        if other.any():
            k = pd.Series(df["ra"][other] + "_" + df["ri"][other]).map(
                {n: i for i, n in enumerate(names)}).to_numpy(int)
            cell = k * GN + c_r[other] * N + c_s[other]
            if len(np.unique(cell)) != len(cell):
                fail(where, "a value-added cell appears more than once in the flat file")
            va.reshape(-1)[cell] = v[other]
            dropped = {f"row {n}": float(va[i].sum()) for i, n in enumerate(names)}
    else:
        try:
            df = pd.read_csv(f, index_col=0, low_memory=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            fail(where, f"truncated or not a CSV matrix ({exc})")
        cols = [str(c) for c in df.columns]
        z_cols, fd_cols, regions, sectors, fd = _matrix_columns(cols, where)
        rows = [str(r) for r in df.index]
        zkeys = {k for _, k in z_cols}
        keys = [split_label(r) for r in rows]
        is_z = np.array([k in zkeys for k in keys])
        zi = np.flatnonzero(is_z)
        used = sorted([j for j, _ in z_cols] + [j for j, _ in fd_cols])
        # Spreadsheet positions: line 1 is the header, field 1 the rowLabels column.
        body = block_to_float(df.iloc[zi, used], where, zi + 2, np.array(used) + 2,
                              row_labels=[rows[i] for i in zi],
                              col_labels=[cols[j] for j in used])
        values = np.zeros((len(zi), len(cols)))
        values[:, used] = body
        Z, Y = assemble(values, [keys[i] for i in zi], z_cols, fd_cols, regions, sectors, fd,
                        where)
        canon = {(r, s_): i for i, (r, s_) in enumerate((r, s_) for r in regions
                                                         for s_ in sectors)}
        zc = np.array([j for j, _ in z_cols])[np.argsort([canon[k] for _, k in z_cols])]
        oi = np.flatnonzero(~is_z)
        names = [rows[i] for i in oi]
        va = block_to_float(df.iloc[oi, zc], where, oi + 2, zc + 2, row_labels=names,
                            col_labels=[cols[j] for j in zc]) if len(oi) else \
            np.zeros((0, len(zc)))
        dropped = {f"row {n}": float(va[i].sum()) for i, n in enumerate(names)}
    return result(
        Z, Y, None, regions=iso3_regions(regions, DATABASE, AREAS), sectors=sectors, fd=fd,
        year=year, checksums={f.name: sha256(f)}, where=where, dropped=dropped,
        va=va, va_components=names, va_total=[n for n in names if _is_va(n)],
        form="flat" if _is_flat(f) else "matrix",
    )
