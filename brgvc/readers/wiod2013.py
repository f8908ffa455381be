"""Reader for the WIOD 2013 release (41 regions × 35 sectors, 1995–2011).

The layout is the plain-CSV conversion of the ``wiod`` R package's ``wiot_YYYY`` objects
(Timmer et al. 2015): one file ``wiot_YYYY.csv.gz`` per year, a header row, 1435 data rows
``country, sector, <1435 Z columns>, <205 final-demand columns>, GO``. Final-demand columns are
country-major with five categories each (CONS_h, CONS_np, CONS_g, GFCF, INVEN).

Codes are kept as WIOD publishes them (``ROM`` is Romania, ``RoW`` the rest of the world);
:func:`brgvc.regions.to_iso3` maps them to ISO3.

The publisher's workbooks ``wiot{YY}_row_apr12.xlsx`` / ``wiot{YY}_row_sep12.xlsx`` (wiod.org,
2013 release) are read too (:func:`read_workbook`), in the layout documented by the WIOD
release and read by pymrio ``parse_wiod`` (0-based sheet rows/columns of the first sheet):

=========  ===================================================================================
cells      content
=========  ===================================================================================
A1         title ending with the year (``World Input-Output Table 1995``)
A3, A4     ``(industry-by-industry)`` and the unit ``(millions of US$)``
rows 2-5   from column E: industry codes (``AtB`` ...), descriptions, country codes, column
           numbers ``c1``-``c35`` per country, then ``c37 c38 c39 c41 c42`` per country
           (household, NPISH and government consumption, GFCF, changes in inventories and
           valuables), and the total column (the last column)
rows 6-    body: columns A-D hold industry code, description, country, row number
           (``c1``-``c35``); after the G·35 industry rows come the primary-input rows with
           numbers ``r60`` (total intermediate consumption) ... ``r69`` (output at basic
           prices) in column D
=========  ===================================================================================

The workbook gives the same cube as the CSV conversion (sectors ``c1``-``c35``, WIOD country
codes, ``CONS_h CONS_np CONS_g GFCF INVEN``, ``x`` the total column), plus the primary-input
rows between ``r60`` and ``r69`` as ``va_published`` (labelled by their row numbers; the row
described "Value added at basic prices" is value added). The ``r69`` row is required.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from brgvc.schema import MRIOError

FD_CATEGORIES = ("CONS_h", "CONS_np", "CONS_g", "GFCF", "INVEN")
FILE_PATTERN = re.compile(r"wiot_(\d{4})\.csv(\.gz)?$")
WORKBOOK_PATTERN = re.compile(r"^wiot(\d{2})_row_(?:apr|sep)12\.xlsx$", re.I)
#: Column numbers of the five final-demand columns of each country in the workbook.
WORKBOOK_FD = ("c37", "c38", "c39", "c41", "c42")
SOURCE = "WIOD"
RELEASE = "2013"
UNIT = "million USD, current prices"
CITATION = (
    "Timmer, M. P., Dietzenbacher, E., Los, B., Stehrer, R. and de Vries, G. J. (2015), "
    "An Illustrated User Guide to the World Input–Output Database: the Case of Global "
    "Automotive Production, Review of International Economics 23: 575–605."
)


def sha256(path: str | Path) -> str:
    """Return the hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def year_files(path: str | Path) -> dict[int, Path]:
    """Map each year to its ``wiot_YYYY.csv[.gz]`` file in a folder (or one file).

    Raises
    ------
    MRIOError
        If the path holds no such file.
    """
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.iterdir()) if path.is_dir() else []
    found: dict[int, Path] = {}
    for f in files:
        m = FILE_PATTERN.search(f.name)
        if m:
            found[int(m.group(1))] = f
    for f in files:
        m = WORKBOOK_PATTERN.search(f.name)
        if m:
            yy = int(m.group(1))
            year = 1900 + yy if yy >= 50 else 2000 + yy
            if year in found:
                raise MRIOError(f"{path}: two files for year {year}: {found[year].name} and "
                                f"{f.name}; keep one of them")
            found[year] = f
    if not found:
        raise MRIOError(f"{path}: no WIOD 2013 file named wiot_YYYY.csv.gz or "
                        "wiotYY_row_apr12.xlsx found")
    return dict(sorted(found.items()))


def is_workbook(path: str | Path) -> bool:
    """True for a publisher workbook ``wiot{YY}_row_{apr,sep}12.xlsx``."""
    return bool(WORKBOOK_PATTERN.search(Path(path).name))


def read_workbook(path: str | Path) -> dict:
    """Read a WIOD 2013 publisher workbook (see the module docstring for the layout).

    Parameters
    ----------
    path : str or Path
        ``wiot{YY}_row_apr12.xlsx`` (or ``_sep12``).

    Returns
    -------
    dict
        As :func:`read_year`, plus ``va_published`` (K × GN), ``va_components`` (row numbers
        ``r61`` ...), ``va_total`` and ``dropped`` (totals of the ``r60``/``r69`` rows).

    Raises
    ------
    MRIOError
        For a wrong layout, a missing ``r69`` row, or a non-numeric or empty cell (named as
        the spreadsheet shows it, e.g. ``row 8, column 5 (E8)``).
    """
    from brgvc.readers.common import cell_ref, read_sheet, text_to_float

    path = Path(path)
    m = WORKBOOK_PATTERN.search(path.name)
    yy = int(m.group(1)) if m else None
    year = None if yy is None else (1900 + yy if yy >= 50 else 2000 + yy)
    where = f"{path} (year {year})"
    raw = read_sheet(path, where, 0)
    cells = raw.to_numpy(dtype=object)

    def text(v: object) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        return str(v).strip()

    if cells.shape[0] < 8 or cells.shape[1] < 6:
        raise MRIOError(f"{where}: not a WIOD 2013 workbook (sheet is {cells.shape[0]} × "
                        f"{cells.shape[1]} cells)")
    regions_h = [text(v) for v in cells[4, 4:]]
    numbers_h = [text(v) for v in cells[5, 4:]]
    row_reg = [text(v) for v in cells[6:, 2]]
    row_num = [text(v) for v in cells[6:, 3]]
    row_desc = [text(v) for v in cells[6:, 1]]
    ind = [i for i, c in enumerate(row_num) if re.fullmatch(r"c\d+", c)]
    if not ind or ind != list(range(len(ind))):
        raise MRIOError(f"{where}: expected the industry rows (numbers c1 ... c35 in column D) "
                        "to start in row 7 (WIOD 2013 workbook layout)")
    GN = len(ind)
    regions = list(dict.fromkeys(row_reg[:GN]))
    sectors = list(dict.fromkeys(row_num[:GN]))
    G, N = len(regions), len(sectors)
    if G * N != GN or [(r, s) for r in regions for s in sectors] != list(
            zip(row_reg[:GN], row_num[:GN], strict=True)):
        raise MRIOError(f"{where}: industry rows are not country-major c1 ... c{N} for each "
                        "country")
    zc = list(zip(regions_h[:GN], numbers_h[:GN], strict=True))
    if zc != list(zip(row_reg[:GN], row_num[:GN], strict=True)):
        bad = next(j for j, (a, b) in enumerate(zip(zc, zip(row_reg, row_num, strict=False),
                                                     strict=False)) if a != b)
        raise MRIOError(f"{where}: column {cell_ref(5, 5 + bad).split(', ', 1)[1]} is {zc[bad]},"
                        f" expected {(row_reg[bad], row_num[bad])} (rows 5-6 must label the "
                        "intermediate columns like the rows)")
    fdc = list(zip(regions_h[GN:GN + 5 * G], numbers_h[GN:GN + 5 * G], strict=False))
    want = [(r, c) for r in regions for c in WORKBOOK_FD]
    if fdc != want:
        raise MRIOError(f"{where}: final-demand columns (row 6 from column "
                        f"{cell_ref(6, 5 + GN).split('(')[1][:-1]}) are not "
                        f"{', '.join(WORKBOOK_FD)} per country in the row order")
    ncol = GN + 5 * G + 1
    if cells.shape[1] < 4 + ncol:
        raise MRIOError(f"{where}: no total column after the final-demand columns")
    below = list(range(GN, len(row_num)))
    codes = [row_num[i] for i in below]
    if "r69" not in codes:
        raise MRIOError(f"{where}: no output row r69 below the industry rows (found "
                        f"{[c for c in codes if c][:10]})")
    comp = [i for i in below if row_num[i] not in ("", "r60", "r69")
            and re.fullmatch(r"r\d+", row_num[i])]
    out_i = below[codes.index("r69")]
    body = text_to_float(cells[6:6 + GN, 4:4 + ncol], where, 7, 5,
                         row_labels=[f"{r}.{s}" for r, s in zip(row_reg, row_num, strict=False)])
    # primary-input rows and r69, over the intermediate columns (sheet row 7 + i)
    va = np.vstack([text_to_float(cells[6 + i:7 + i, 4:4 + GN], where, 7 + i, 5)
                    for i in [*comp, out_i]])
    out = {
        "Z": body[:, :GN],
        "Y": body[:, GN:GN + 5 * G],
        "x": body[:, GN + 5 * G],
        "regions": regions,
        "sectors": sectors,
        "fd": list(FD_CATEGORIES),
        "year": year,
        "sha256": sha256(path),
        "va_published": va[:-1],
        "va_components": [row_num[i] for i in comp],
        "va_total": [row_num[i] for i in comp if "value added" in row_desc[i].lower()],
        "dropped": {"row r69": float(va[-1].sum())},
    }
    return out


def expected_header(regions: Sequence[str], sectors: Sequence[str]) -> list[str]:
    """The column names a WIOD 2013 year file must have, in order."""
    z = [f"{r}_{s}" for r in regions for s in sectors]
    f = [f"{r}_{c}" for r in regions for c in FD_CATEGORIES]
    return ["country", "sector", *z, *f, "GO"]


def read_year(
    path: str | Path,
    regions: Sequence[str] | None = None,
    sectors: Sequence[str] | None = None,
) -> dict:
    """Read one WIOD 2013 year file into stacked arrays.

    Parameters
    ----------
    path : str or Path
        A ``wiot_YYYY.csv.gz`` (or uncompressed ``.csv``) file.
    regions, sectors : sequence of str, optional
        Expected labels in order; taken from the file's rows when omitted.

    Returns
    -------
    dict
        ``Z`` (GN × GN), ``Y`` (GN × G·5), ``x`` (GN), ``regions``, ``sectors``, ``fd``,
        ``year`` and ``sha256``.

    Raises
    ------
    MRIOError
        For a truncated or corrupt file, a missing or misplaced column, a wrong row order,
        or a non-numeric / NaN cell; the message names the file, year and cell.
    """
    path = Path(path)
    m = FILE_PATTERN.search(path.name)
    year = int(m.group(1)) if m else None
    where = f"{path} (year {year})"
    try:
        df = pd.read_csv(path, compression="infer", low_memory=False)
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile) as exc:
        raise MRIOError(f"{where}: truncated or corrupt file ({exc})") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MRIOError(f"{where}: not a WIOD 2013 CSV ({exc})") from exc

    if list(df.columns[:2]) != ["country", "sector"]:
        raise MRIOError(
            f"{where}: expected the first two columns 'country', 'sector', "
            f"found {list(df.columns[:2])}"
        )
    if regions is None:
        regions = list(dict.fromkeys(df["country"].astype(str)))
    if sectors is None:
        sectors = list(dict.fromkeys(df["sector"].astype(str)))
    regions, sectors = list(regions), list(sectors)
    G, N = len(regions), len(sectors)
    header = expected_header(regions, sectors)
    cols = [str(c) for c in df.columns]
    if cols != header:
        missing = [c for c in header if c not in set(cols)]
        extra = [c for c in cols if c not in set(header)]
        if missing or extra:
            raise MRIOError(
                f"{where}: layout is not WIOD 2013: expected {len(header)} columns, found "
                f"{len(cols)}; missing {missing[:5]}{'…' if len(missing) > 5 else ''}, "
                f"unexpected {extra[:5]}{'…' if len(extra) > 5 else ''}"
            )
        first = next(i for i, (a, b) in enumerate(zip(cols, header, strict=True)) if a != b)
        raise MRIOError(
            f"{where}: column {first} is {cols[first]!r}, expected {header[first]!r}"
        )
    if len(df) != G * N:
        raise MRIOError(f"{where}: expected {G * N} data rows (G={G}, N={N}), found {len(df)}")
    row_labels = list(zip(df["country"].astype(str), df["sector"].astype(str), strict=True))
    want = [(r, s) for r in regions for s in sectors]
    if row_labels != want:
        bad = next(i for i, (a, b) in enumerate(zip(row_labels, want, strict=True)) if a != b)
        raise MRIOError(
            f"{where}: data row {bad + 1} is {row_labels[bad]}, expected {want[bad]} "
            "(rows must be country-major in the order of the columns)"
        )
    values = df.iloc[:, 2:]
    nonnum = [c for c, t in values.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if nonnum:
        c = nonnum[0]
        coerced = pd.to_numeric(values[c], errors="coerce")
        i = int(np.flatnonzero(coerced.isna() & values[c].notna())[0]) if (
            coerced.isna() & values[c].notna()
        ).any() else 0
        raise MRIOError(
            f"{where}: non-numeric cell at row {row_labels[i][0]}.{row_labels[i][1]}, "
            f"column {c}: {values[c].iloc[i]!r}"
        )
    M = values.to_numpy(dtype=np.float64)
    nan = np.argwhere(~np.isfinite(M))
    if len(nan):
        i, j = (int(k) for k in nan[0])
        raise MRIOError(
            f"{where}: missing or non-finite value at row {row_labels[i][0]}.{row_labels[i][1]}, "
            f"column {values.columns[j]} ({len(nan)} such cells)"
        )
    GN = G * N
    return {
        "Z": M[:, :GN],
        "Y": M[:, GN : GN + G * len(FD_CATEGORIES)],
        "x": M[:, -1],
        "regions": regions,
        "sectors": sectors,
        "fd": list(FD_CATEGORIES),
        "year": year,
        "sha256": sha256(path),
    }


def read_row_labels(path: str | Path) -> tuple[list[str], list[str]]:
    """Read the country and sector labels from the first two columns of a year file."""
    path = Path(path)
    m = FILE_PATTERN.search(path.name)
    where = f"{path} (year {int(m.group(1)) if m else None})"
    try:
        rows = pd.read_csv(path, usecols=[0, 1])
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile) as exc:
        raise MRIOError(f"{where}: truncated or corrupt file ({exc})") from exc
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise MRIOError(f"{where}: not a WIOD 2013 CSV ({exc})") from exc
    if list(rows.columns) != ["country", "sector"]:
        raise MRIOError(
            f"{where}: expected the first two columns 'country', 'sector', "
            f"found {list(rows.columns)}"
        )
    return (list(dict.fromkeys(rows["country"].astype(str))),
            list(dict.fromkeys(rows["sector"].astype(str))))


def read_labels(folder: str | Path) -> tuple[list[str], list[str]]:
    """Read ``countries.csv`` and ``sectors.csv`` (index, code, ...) from a WIOD folder."""
    folder = Path(folder)
    out = []
    for name in ("countries.csv", "sectors.csv"):
        f = folder / name
        try:
            t = pd.read_csv(f)
            out.append(t.sort_values("index")["code"].astype(str).tolist())
        except (OSError, KeyError, pd.errors.ParserError) as exc:
            raise MRIOError(f"{f}: cannot read WIOD label table ({exc})") from exc
    return out[0], out[1]


def iter_years(path: str | Path, years: Iterable[int] | None = None):
    """Yield ``read_year`` results one year at a time (peak memory: one year).

    Parameters
    ----------
    path : str or Path
        Folder with ``wiot_YYYY.csv.gz`` files (and optionally ``countries.csv`` /
        ``sectors.csv``), or one such file.
    years : iterable of int, optional
        Years to read; all found when omitted.
    """
    files = year_files(path)
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    regions = sectors = None
    if (folder / "countries.csv").exists() and (folder / "sectors.csv").exists():
        regions, sectors = read_labels(folder)
    wanted = sorted(files) if years is None else sorted(years)
    for y in wanted:
        if y not in files:
            raise MRIOError(
                f"{path}: no file for year {y}; available {min(files)}–{max(files)}"
            )
        yield read_year(files[y], regions, sectors)
