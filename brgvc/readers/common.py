"""Helpers shared by the database readers: file discovery, checked numeric parsing, label
mapping, assembly of the canonical stacked arrays and region-block chunking of cube stores.

Every reader module (``eora26``, ``oecd_icio``, ``wiod2016``, ``adb_mrio``, ``exiobase3``,
``figaro``, ``gloria``) exposes the same three functions that :class:`brgvc.readers.Format`
registers:

``list_years(path) -> dict[int, Path]``
    One file per year (the file whose checksum ``open_mrio`` records as provenance).
``labels(path) -> (regions, sectors, fd)``
    The labels of the cube without reading the numbers (at most a header or a label file).
``read_year(path, year) -> dict``
    ``Z`` (GN × GN), ``Y`` (GN × G·F, country-major by destination then category), ``x``
    (GN, the publisher's output, or row sums where the database has none), ``regions``,
    ``sectors``, ``fd``, ``year``, ``sha256`` (file name -> checksum of every file read),
    ``dropped`` (totals of what was left out of Z and Y: primary-input rows, discrepancy rows
    and columns), ``unit_factor`` (applied to reach million USD/EUR) and, where the database
    publishes them, ``va_published`` (K × GN primary-input rows), ``va_components`` (their K
    labels) and ``va_total`` (those that add up to value added).
``va_labels(path) -> (components, va_total)``
    The primary-input rows without reading the numbers of every year (registered as
    ``Format.va_labels``; ``open_mrio`` adds ``va_published`` to the cube).

A reader reads one year at a time and holds at most a few copies of that year's matrices.
It checks every cell it uses before it returns, so a bad file fails before anything of that
year is written; every problem raises one line of :class:`brgvc.schema.MRIOError` naming
the file, the year and, for a cell, its position as a spreadsheet shows it (CSV line = row,
field = column: ``row 12, column 7 (G12)``) with the row and column labels.
"""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, NoReturn

import numpy as np
import pandas as pd

from brgvc.readers.wiod2013 import sha256
from brgvc.schema import MRIOError

__all__ = [
    "assemble",
    "block_to_float",
    "cell_ref",
    "check_finite",
    "chunk_encoding",
    "fail",
    "fd_code",
    "find_year_files",
    "iso3_regions",
    "member_names",
    "merge_regions",
    "open_member",
    "read_grid",
    "read_numbers_csv",
    "read_sheet",
    "region_block_chunks",
    "result",
    "sha256",
    "sheet_names",
    "split_label",
    "text_to_float",
    "to_float",
    "unique_in_order",
]


def fail(where: str, message: str) -> NoReturn:
    """Raise :class:`MRIOError` as ``"{where}: {message}"``."""
    raise MRIOError(f"{where}: {message}")


def unique_in_order(values: Iterable) -> list:
    """Return the distinct values in order of first appearance."""
    return list(dict.fromkeys(values))


# ---------------------------------------------------------------------------------------------
# Files: discovery, zip members, checksums
# ---------------------------------------------------------------------------------------------


def find_year_files(
    path: str | Path,
    pattern: re.Pattern,
    expected: str,
    *,
    depth: int = 2,
) -> dict[int, Path]:
    """Map each year to the file (or folder) whose name matches ``pattern``.

    Parameters
    ----------
    path : str or Path
        A folder (searched ``depth`` levels deep) or one file.
    pattern : re.Pattern
        Matched against file names with ``search``; its group ``year`` is the year.
    expected : str
        Human-readable name pattern for the error message (e.g. ``Eora26_YYYY_bp_T.txt``).
    depth : int
        How many folder levels to search below ``path``.

    Returns
    -------
    dict of int to Path
        Sorted by year.

    Raises
    ------
    MRIOError
        If nothing matches, or two files claim the same year.
    """
    path = Path(path)
    if not path.exists():
        fail(str(path), "no such file or folder")
    if path.is_file():
        candidates = [path]
    else:
        candidates = []
        level = [path]
        for _ in range(depth + 1):
            nxt = []
            for folder in level:
                for child in sorted(folder.iterdir()):
                    candidates.append(child)
                    if child.is_dir():
                        nxt.append(child)
            level = nxt
    found: dict[int, Path] = {}
    for f in candidates:
        m = pattern.search(f.name)
        if not m:
            continue
        year = int(m.group("year"))
        if year in found and found[year] != f:
            fail(
                str(path),
                f"two files for year {year}: {found[year].name} and {f.name}; "
                "point PATH at one of them",
            )
        found[year] = f
    if not found:
        fail(str(path), f"no file named like {expected} found")
    return dict(sorted(found.items()))


def member_names(container: str | Path) -> list[str]:
    """Names of the files in a zip archive or (recursively) in a folder, relative to it."""
    container = Path(container)
    if container.is_file() and zipfile.is_zipfile(container):
        with zipfile.ZipFile(container) as zf:
            return [n for n in zf.namelist() if not n.endswith("/")]
    if container.is_dir():
        return [str(p.relative_to(container)) for p in sorted(container.rglob("*")) if p.is_file()]
    return [container.name]


def find_member(container: str | Path, pattern: re.Pattern, expected: str) -> str | None:
    """Return the one member of ``container`` whose base name matches ``pattern`` (or None).

    Raises
    ------
    MRIOError
        If several members match.
    """
    hits = [n for n in member_names(container) if pattern.search(Path(n).name)]
    if len(hits) > 1:
        fail(str(container), f"several files match {expected}: {hits[:4]}")
    return hits[0] if hits else None


@contextlib.contextmanager
def open_member(container: str | Path, member: str) -> Iterator[IO[bytes]]:
    """Open a file inside a zip archive or a folder (or the container itself) for reading."""
    container = Path(container)
    if container.is_file() and zipfile.is_zipfile(container):
        try:
            with zipfile.ZipFile(container) as zf, zf.open(member) as fh:
                yield fh
        except KeyError:
            fail(str(container), f"archive has no member {member!r}")
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            fail(f"{container}!{member}", f"truncated or corrupt archive member ({exc})")
    else:
        target = container / member if container.is_dir() else container
        with open(target, "rb") as fh:
            yield fh


def member_sha256(container: str | Path, member: str | None = None) -> tuple[str, str]:
    """Return ``(name, sha256)`` of a file, or of a member of a zip archive or folder."""
    container = Path(container)
    if member is None or (container.is_file() and not zipfile.is_zipfile(container)):
        return container.name, sha256(container)
    if container.is_dir():
        return Path(member).name, sha256(container / member)
    import hashlib

    h = hashlib.sha256()
    with open_member(container, member) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return f"{container.name}!{member}", h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Checked numbers
# ---------------------------------------------------------------------------------------------


def column_letter(col: int) -> str:
    """Spreadsheet letters of a 1-based column number (1 -> ``A``, 28 -> ``AB``)."""
    out = ""
    while col > 0:
        col, r = divmod(col - 1, 26)
        out = chr(65 + r) + out
    return out


def cell_ref(row: int, col: int) -> str:
    """``"row 12, column 7 (G12)"`` for 1-based spreadsheet positions."""
    return f"row {row}, column {col} ({column_letter(col)}{row})"


def text_to_float(
    cells: np.ndarray,
    where: str,
    first_row: int,
    first_col: int,
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    allow_empty: bool = False,
) -> np.ndarray:
    """Convert a block of text cells to float64, naming the first bad cell as a user sees it.

    Parameters
    ----------
    cells : ndarray of str (R, C)
        The cells as read (``""`` where empty).
    where : str
        File (and year) for the message.
    first_row, first_col : int
        1-based spreadsheet row and column of ``cells[0, 0]`` in the file (a CSV line is a row,
        a field a column).
    row_labels, col_labels : sequence of str, optional
        Labels added to the message.
    allow_empty : bool
        Read empty cells as 0 (else they are an error).

    Returns
    -------
    ndarray
        float64 (R, C), every cell finite.

    Raises
    ------
    MRIOError
        ``"FILE: non-numeric cell at row R, column C (XR) [labels]: 'text'"``.
    """
    frame = pd.DataFrame(np.asarray(cells, dtype=object))
    text = frame.map(lambda v: "" if v is None else str(v).strip())
    coerced = text.apply(pd.to_numeric, errors="coerce")
    out = coerced.to_numpy(dtype=np.float64)
    empty = (text == "").to_numpy()
    if allow_empty:
        out[empty] = 0.0
    bad = ~np.isfinite(out) if not allow_empty else (~np.isfinite(out) & ~empty)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        lab = []
        if row_labels is not None and i < len(row_labels):
            lab.append(f"row label {row_labels[i]!r}")
        if col_labels is not None and j < len(col_labels):
            lab.append(f"column label {col_labels[j]!r}")
        what = "empty" if empty[i, j] else "non-numeric"
        fail(where, f"{what} cell at {cell_ref(first_row + i, first_col + j)}"
                    f"{' [' + ', '.join(lab) + ']' if lab else ''}: {text.iat[i, j]!r} "
                    f"({int(bad.sum())} such cells)")
    return out


def block_to_float(
    frame: pd.DataFrame,
    where: str,
    rows: Sequence[int],
    cols: Sequence[int],
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
) -> np.ndarray:
    """float64 of a block of a parsed table; a bad cell is named by its spreadsheet position.

    Parameters
    ----------
    frame : pandas.DataFrame
        Cells as parsed (numeric columns, or object columns holding text).
    where : str
        File (and year).
    rows, cols : sequence of int
        1-based spreadsheet row (CSV line) and column (field) of each row and column.
    row_labels, col_labels : sequence of str, optional
        Labels for the message.

    Returns
    -------
    ndarray
        float64, every cell finite.
    """
    if all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):
        out = frame.to_numpy(dtype=np.float64)
        text = None
    else:
        text = frame.astype(object)
        out = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raw = frame.iat[i, j] if text is None else text.iat[i, j]
        empty = raw is None or (isinstance(raw, float) and np.isnan(raw)) or str(raw) == ""
        lab = []
        if row_labels is not None:
            lab.append(f"row label {row_labels[i]!r}")
        if col_labels is not None:
            lab.append(f"column label {col_labels[j]!r}")
        fail(where, f"{'empty' if empty else 'non-numeric'} cell at "
                    f"{cell_ref(int(rows[i]), int(cols[j]))}"
                    f"{' [' + ', '.join(lab) + ']' if lab else ''}"
                    f"{'' if empty else ': ' + repr(raw)} ({int(bad.sum())} such cells)")
    return out


def read_numbers_csv(
    data: bytes,
    where: str,
    *,
    sep: str,
    skiprows: int = 0,
    usecols: Sequence[int] | None = None,
    first_col: int = 1,
    expect_shape: tuple[int, int] | None = None,
    row_labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Read a delimited block of numbers; a bad cell is named by its line and field.

    The fast C parser reads float64; only when that fails is the block read again as text
    to name the first non-numeric or empty cell (1-based line ``skiprows + i + 1``, field
    ``first_col + j``).

    Parameters
    ----------
    data : bytes
        The file contents.
    where : str
        File (and year) for messages.
    sep : str
        Field separator.
    skiprows : int
        Header lines above the numbers.
    usecols : sequence of int, optional
        0-based fields to read (default: all).
    first_col : int
        1-based field number of the first column read.
    expect_shape : (int, int), optional
        Required shape.
    row_labels : sequence of str, optional
        Labels of the rows, for messages.

    Returns
    -------
    ndarray
        float64, every cell finite.
    """
    kw = {"sep": sep, "header": None, "skiprows": skiprows}
    if usecols is not None:
        kw["usecols"] = list(usecols)
    try:
        M = pd.read_csv(io.BytesIO(data), dtype=np.float64, engine="c", **kw).to_numpy()
    except pd.errors.EmptyDataError:
        fail(where, "empty file")
    except (ValueError, pd.errors.ParserError):
        try:
            raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, **kw)
        except (pd.errors.ParserError, ValueError) as exc:
            fail(where, f"rows of unequal length or a truncated file ({exc})")
        text_to_float(raw.to_numpy(), where, skiprows + 1, first_col, row_labels=row_labels)
        fail(where, "unreadable numbers")  # pragma: no cover - text_to_float raised
    if expect_shape is not None and M.shape != tuple(expect_shape):
        fail(where, f"expected {expect_shape[0]} rows × {expect_shape[1]} numbers, found "
                    f"{M.shape[0]} × {M.shape[1]}")
    bad = ~np.isfinite(M)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        lab = f" [row label {row_labels[i]!r}]" if row_labels is not None else ""
        fail(where, f"empty or non-finite cell at {cell_ref(skiprows + i + 1, first_col + j)}"
                    f"{lab} ({int(bad.sum())} such cells)")
    return M


def to_float(
    frame: pd.DataFrame,
    where: str,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Convert a block of cells to float64, naming the first non-numeric or missing cell.

    Parameters
    ----------
    frame : pandas.DataFrame
        The cells (any dtypes).
    where : str
        File and year, for the message.
    row_labels, col_labels : sequence of str, optional
        Labels used to name a bad cell (default: 0-based positions).

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape, every cell finite.
    """
    if all(np.issubdtype(t, np.number) for t in frame.dtypes):
        out = frame.to_numpy(dtype=np.float64)
    else:
        coerced = frame.apply(pd.to_numeric, errors="coerce")
        out = coerced.to_numpy(dtype=np.float64)
        bad = np.isnan(out) & frame.notna().to_numpy()
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            fail(
                where,
                f"non-numeric cell {_cell_name(i, j, row_labels, col_labels)}: "
                f"{frame.iat[i, j]!r} ({int(bad.sum())} such cells)",
            )
    check_finite(out, where, row_labels, col_labels)
    return out


def check_finite(
    M: np.ndarray,
    where: str,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    what: str = "cell",
) -> None:
    """Raise :class:`MRIOError` naming the first missing (NaN) or infinite cell of ``M``."""
    bad = ~np.isfinite(M)
    if bad.any():
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        i = idx[0]
        j = idx[1] if len(idx) > 1 else None
        fail(
            where,
            f"missing or non-finite {what} {_cell_name(i, j, row_labels, col_labels)} "
            f"({int(bad.sum())} such cells)",
        )


def _cell_name(i: int, j: int | None, rows: Sequence | None, cols: Sequence | None) -> str:
    r = f"row {rows[i]!r}" if rows is not None and i < len(rows) else f"row {i}"
    if j is None:
        return r
    c = f"column {cols[j]!r}" if cols is not None and j < len(cols) else f"column {j}"
    return f"at {r}, {c}"


def read_grid(
    source: str | Path | IO[bytes],
    where: str,
    *,
    n_label_cols: int,
    header_rows: int = 20,
    sep: str = ",",
    sheet: int | str = 0,
    excel: bool = False,
    numbers: bool = True,
) -> tuple[list[list[str]], list[list[str]], np.ndarray | None]:
    """Read a spreadsheet-like table: title and header rows, label columns, numeric body.

    The body starts at the first row whose label cells are not all empty and whose first
    numeric cell parses as a number. Empty cells of the body read as NaN (the caller decides
    whether that is an error for the block concerned).

    Parameters
    ----------
    source : path or binary file
        CSV (``excel=False``) or Excel workbook (``.xlsx``, or ``.xlsb`` read with calamine).
    where : str
        File and year, for messages.
    n_label_cols : int
        Number of leading label columns.
    header_rows : int
        How many leading rows may be titles or headers.
    sep : str
        CSV separator.
    sheet : int or str
        Excel sheet.
    excel : bool
        Read with :func:`pandas.read_excel`.
    numbers : bool
        Also read the numbers (``False``: labels only, much faster for CSV).

    Returns
    -------
    head : list of list of str
        The rows above the body (every cell as a string, ``""`` if empty).
    labels : list of list of str
        One list of ``n_label_cols`` strings per body row.
    values : numpy.ndarray or None
        float64 body (NaN where empty); None with ``numbers=False``.
    """
    if excel:
        raw = read_sheet(source, where, sheet)
        start = _body_start(raw.iloc[:header_rows].astype(object), n_label_cols, where)
        head = [[_text(v) for v in row] for row in raw.iloc[:start].itertuples(index=False)]
        lab = raw.iloc[start:, :n_label_cols].map(_text).to_numpy().tolist()
        body = raw.iloc[start:, n_label_cols:]
        coerced = body.apply(pd.to_numeric, errors="coerce")
        values = coerced.to_numpy(dtype=np.float64)
        bad = np.isnan(values) & body.notna().to_numpy() & (body.map(_text) != "").to_numpy()
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            fail(where, f"non-numeric cell at {cell_ref(start + i + 1, n_label_cols + j + 1)} "
                        f"[row label {'/'.join(v for v in lab[i] if v)!r}]: "
                        f"{body.iat[i, j]!r} ({int(bad.sum())} such cells)")
        return head, lab, values

    data = source.read() if hasattr(source, "read") else Path(source).read_bytes()
    try:
        top = pd.read_csv(io.BytesIO(data), sep=sep, header=None, nrows=header_rows,
                          dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        fail(where, f"not a delimited text table ({exc})")
    start = _body_start(top, n_label_cols, where)
    head = [[_text(v) for v in row] for row in top.iloc[:start].itertuples(index=False)]
    ncol = top.shape[1]
    try:
        lab_df = pd.read_csv(io.BytesIO(data), sep=sep, header=None, skiprows=start,
                             usecols=range(n_label_cols), dtype=str, keep_default_na=False)
        if not numbers:
            return head, lab_df.to_numpy().tolist(), None
        body = pd.read_csv(io.BytesIO(data), sep=sep, header=None, skiprows=start,
                           usecols=range(n_label_cols, ncol), low_memory=False)
    except (pd.errors.ParserError, ValueError) as exc:
        fail(where, f"rows of unequal length or a truncated file ({exc})")
    lab = lab_df.to_numpy().tolist()
    if all(np.issubdtype(t, np.number) for t in body.dtypes):
        values = body.to_numpy(dtype=np.float64)
    else:
        coerced = body.apply(pd.to_numeric, errors="coerce")
        values = coerced.to_numpy(dtype=np.float64)
        bad = np.isnan(values) & body.notna().to_numpy()
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            fail(where, f"non-numeric cell at {cell_ref(start + i + 1, n_label_cols + j + 1)} "
                        f"[row label {'/'.join(v for v in lab[i] if v)!r}]: "
                        f"{body.iat[i, j]!r} ({int(bad.sum())} such cells)")
    return head, lab, values


#: pandas engine -> the package that provides it (both are dependencies of brgvc).
_PACKAGES = {"calamine": "python-calamine", "openpyxl": "openpyxl"}


def _engine(source) -> str:
    """``calamine`` for binary workbooks (``.xlsb``, as WIOD 2016 is published; pandas 3
    deprecates its ``pyxlsb`` engine in favour of calamine), ``openpyxl`` otherwise."""
    name = str(getattr(source, "name", source)).lower()
    return "calamine" if name.endswith(".xlsb") else "openpyxl"


def read_sheet(source, where: str, sheet: int | str = 0) -> pd.DataFrame:
    """Every cell of one worksheet (``.xlsx`` with openpyxl, ``.xlsb`` with python-calamine).

    Raises
    ------
    MRIOError
        Naming the file and the package to install when the engine is missing, or the
        reason the workbook cannot be read.
    """
    engine = _engine(source)
    try:
        return pd.read_excel(source, sheet_name=sheet, header=None, dtype=object,
                             engine=engine)
    except ImportError as exc:
        pkg = _PACKAGES[engine]
        fail(where, f"reading this workbook needs the package {pkg} (pip install {pkg}; it "
                    f"is a dependency of brgvc, so the environment is incomplete): {exc}")
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        fail(where, f"cannot read the workbook ({exc})")


def sheet_names(source, where: str) -> list[str]:
    """Worksheet names of a workbook (same engines and errors as :func:`read_sheet`)."""
    engine = _engine(source)
    try:
        with pd.ExcelFile(source, engine=engine) as xf:
            return [str(s) for s in xf.sheet_names]
    except ImportError as exc:
        pkg = _PACKAGES[engine]
        fail(where, f"reading this workbook needs the package {pkg} (pip install {pkg}): {exc}")
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        fail(where, f"cannot read the workbook ({exc})")


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _body_start(top: pd.DataFrame, n_label_cols: int, where: str) -> int:
    for r in range(top.shape[0]):
        labels = [_text(v) for v in top.iloc[r, :n_label_cols]]
        if top.shape[1] <= n_label_cols or not any(labels):
            continue
        first = _text(top.iat[r, n_label_cols])
        try:
            float(first)
        except ValueError:
            continue
        return r
    fail(
        where,
        f"no table body found in the first {top.shape[0]} rows (expected {n_label_cols} label "
        "columns followed by numbers)",
    )


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


def split_label(label: str, sep: str = "_") -> tuple[str, str]:
    """Split ``"AUS_C01T05"`` into ``("AUS", "C01T05")`` at the first separator."""
    head, _, tail = str(label).partition(sep)
    return head, tail


_SNA_CODE = re.compile(r"\b(P\.?\d+[a-z]?)\s*$")


def fd_code(name: str) -> str:
    """Short final-demand code: the trailing SNA code of a long name, else the name.

    ``"Changes in inventories P.52"`` becomes ``"P.52"``; ``"HFCE"`` stays ``"HFCE"``.
    """
    m = _SNA_CODE.search(str(name).strip())
    return m.group(1) if m else str(name).strip()


def iso3_regions(
    codes: Sequence[str],
    database: str | None,
    aliases: Mapping[str, str] | None = None,
) -> list[str]:
    """Map a database's region codes to ISO3, keeping codes whose mapping would collide.

    Parameters
    ----------
    codes : sequence of str
        The database's region codes, in order (unique).
    database : str or None
        Key of :func:`brgvc.regions.to_iso3` (``"eora26"``, ``"exiobase3"``, ...).
    aliases : mapping, optional
        Reader-specific aliases applied first (codes that ``brgvc/data/aliases.csv`` lacks).

    Returns
    -------
    list of str
        ISO3 codes; ``RoW`` for a single rest-of-the-world region. Where several codes would
        map to the same label (EXIOBASE's five ``W*`` rest-of-world regions, GLORIA's four
        ``X*`` regions), those codes are kept as published so that labels stay unique.
    """
    aliases = dict(aliases or {})
    try:
        from brgvc.regions import to_iso3
    except ImportError:  # pragma: no cover - regions is a sibling module of the package
        def to_iso3(c, database=None):
            return list(c)
    mapped = [aliases.get(c) or to_iso3([c], database)[0] for c in codes]
    count: dict[str, int] = {}
    for m in mapped:
        count[m] = count.get(m, 0) + 1
    return [m if count[m] == 1 else str(c) for c, m in zip(codes, mapped, strict=True)]


# ---------------------------------------------------------------------------------------------
# Assembly into the canonical stacked layout
# ---------------------------------------------------------------------------------------------


def _positions(
    keys: Sequence[tuple], order: Sequence[tuple], where: str, what: str
) -> np.ndarray:
    index: dict[tuple, int] = {}
    for i, k in enumerate(keys):
        if k in index:
            fail(where, f"{what} {k} appears twice (positions {index[k]} and {i})")
        index[k] = i
    missing = [k for k in order if k not in index]
    if missing:
        fail(where, f"{what} missing for {len(missing)} of {len(order)} entries, e.g. "
                    f"{missing[:3]}")
    return np.array([index[k] for k in order], dtype=np.intp)


def assemble(
    values: np.ndarray,
    row_keys: Sequence[tuple[str, str]],
    z_cols: Sequence[tuple[int, tuple[str, str]]],
    fd_cols: Sequence[tuple[int, tuple[str, str]]],
    regions: Sequence[str],
    sectors: Sequence[str],
    fd: Sequence[str],
    where: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Place a table's cells into the canonical country-major Z and Y.

    Parameters
    ----------
    values : ndarray (R, C)
        The numeric body (rows in ``row_keys`` order).
    row_keys : sequence of (region, sector)
        Key of each body row (only rows whose key is a (region, sector) of the cube are
        used).
    z_cols : sequence of (column, (region, sector))
        Intermediate-use columns.
    fd_cols : sequence of (column, (region, category))
        Final-demand columns; (region, category) pairs that are absent are zero.
    regions, sectors, fd : sequence of str
        Output order.
    where : str
        File and year, for messages.

    Returns
    -------
    Z : ndarray (GN, GN)
    Y : ndarray (GN, G·F)
    """
    order = [(r, s) for r in regions for s in sectors]
    ri = _positions(list(row_keys), order, where, "intermediate row")
    zc_keys = [k for _, k in z_cols]
    zci = np.array([c for c, _ in z_cols], dtype=np.intp)[
        _positions(zc_keys, order, where, "intermediate column")
    ]
    Z = values[np.ix_(ri, zci)]
    G, F = len(regions), len(fd)
    Y = np.zeros((len(order), G * F))
    slot = {(r, f): g * F + k for g, r in enumerate(regions) for k, f in enumerate(fd)}
    seen: set[tuple[str, str]] = set()
    src, dst = [], []
    for c, key in fd_cols:
        if key in seen:
            fail(where, f"final-demand column {key} appears twice")
        seen.add(key)
        if key not in slot:
            fail(where, f"final-demand column {key} is not a (region, category) of the table")
        src.append(c)
        dst.append(slot[key])
    if src:
        Y[:, dst] = values[np.ix_(ri, np.array(src, dtype=np.intp))]
    return Z, Y


def merge_regions(
    Z: np.ndarray,
    Y: np.ndarray,
    x: np.ndarray,
    regions: Sequence[str],
    N: int,
    F: int,
    target: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Sum regions that share a target label (e.g. OECD ``CN1``/``CN2`` into ``CHN``).

    Parameters
    ----------
    Z, Y, x : ndarray
        Stacked arrays (GN × GN, GN × G·F, GN).
    regions : sequence of str
        Current region labels (G).
    N, F : int
        Sectors and final-demand categories.
    target : sequence of str
        New label of each region; regions with the same label are summed (rows and columns),
        in the order of first appearance.

    Returns
    -------
    Z, Y, x, labels
        Merged arrays and the merged region labels.
    """
    labels = unique_in_order(target)
    if len(labels) == len(regions):
        return Z, Y, x, list(target)
    G, Gm = len(regions), len(labels)
    k = np.array([labels.index(t) for t in target], dtype=np.intp)
    Z4 = Z.reshape(G, N, G, N)
    rows = np.zeros((Gm, N, G, N))
    for g in range(G):
        rows[k[g]] += Z4[g]
    Zm = np.zeros((Gm, N, Gm, N))
    for g in range(G):
        Zm[:, :, k[g]] += rows[:, :, g]
    Y3 = Y.reshape(G, N, G, F)
    yrows = np.zeros((Gm, N, G, F))
    for g in range(G):
        yrows[k[g]] += Y3[g]
    Ym = np.zeros((Gm, N, Gm, F))
    for g in range(G):
        Ym[:, :, k[g]] += yrows[:, :, g]
    xm = np.zeros((Gm, N))
    x2 = x.reshape(G, N)
    for g in range(G):
        xm[k[g]] += x2[g]
    return (Zm.reshape(Gm * N, Gm * N), Ym.reshape(Gm * N, Gm * F), xm.reshape(-1), labels)


def result(
    Z: np.ndarray,
    Y: np.ndarray,
    x: np.ndarray | None,
    *,
    regions: Sequence[str],
    sectors: Sequence[str],
    fd: Sequence[str],
    year: int,
    checksums: Mapping[str, str],
    where: str,
    dropped: Mapping[str, float] | None = None,
    va: np.ndarray | None = None,
    va_components: Sequence[str] | None = None,
    va_total: Sequence[str] | None = None,
    unit_factor: float = 1.0,
    **extra: object,
) -> dict:
    """Check shapes and finiteness and return a reader's ``read_year`` dictionary.

    ``x=None`` means the database publishes no output: row sums ``Z·1 + Y·1`` are used.
    ``va`` (K × GN) holds the published primary-input rows named ``va_components``, of which
    ``va_total`` add up to value added. ``unit_factor`` scales every number to the canonical
    unit (:func:`brgvc.schema.normalise_unit`; 1e-3 for thousand USD).
    """
    G, N, F = len(regions), len(sectors), len(fd)
    GN = G * N
    if Z.shape != (GN, GN) or Y.shape != (GN, G * F):
        fail(where, f"internal shape error: Z {Z.shape}, Y {Y.shape} for G={G}, N={N}, F={F}")
    row_labels = [f"{r}.{s}" for r in regions for s in sectors]
    check_finite(Z, where, row_labels, row_labels)
    check_finite(Y, where, row_labels, [f"{r}.{f}" for r in regions for f in fd])
    if x is None:
        x = Z.sum(1) + Y.sum(1)
    x = np.asarray(x, dtype=np.float64).reshape(GN)
    check_finite(x, where, row_labels, what="gross output")
    if va is not None:
        va = np.asarray(va, dtype=np.float64)
        names = list(va_components or ())
        if va.shape != (len(names), GN):
            fail(where, f"internal shape error: va {va.shape} for {len(names)} components")
        check_finite(va, where, names, row_labels, what="value-added cell")
        missing = [c for c in (va_total or ()) if c not in names]
        if missing:
            fail(where, f"value-added components {missing} not among {names}")
    if unit_factor != 1.0:
        # Divide by 1000 rather than multiply by 0.001 (not a binary fraction): the quotient
        # is then the correctly rounded value, exact where the publisher's cell is.
        def scale(a: np.ndarray) -> np.ndarray:
            return a / round(1 / unit_factor) if unit_factor < 1 else a * unit_factor

        Z, Y, x = scale(Z), scale(Y), scale(x)
        if va is not None:
            va = scale(va)
    out = {
        "Z": np.ascontiguousarray(Z, dtype=np.float64),
        "Y": np.ascontiguousarray(Y, dtype=np.float64),
        "x": x,
        "regions": list(regions),
        "sectors": list(sectors),
        "fd": list(fd),
        "year": int(year),
        "sha256": dict(checksums),
        "dropped": dict(dropped or {}),
        "unit_factor": float(unit_factor),
    }
    if va is not None:
        out["va_published"] = np.ascontiguousarray(va)
        out["va_components"] = list(va_components or ())
        out["va_total"] = list(va_total or ())
    out.update(extra)
    return out


# ---------------------------------------------------------------------------------------------
# Cube-store chunking in region blocks (for tables too large for one chunk per year)
# ---------------------------------------------------------------------------------------------


def region_block_chunks(
    G: int,
    N: int,
    F: int,
    *,
    target_bytes: int = 256 * 2**20,
    itemsize: int = 8,
) -> dict[str, tuple[int, ...]]:
    """Chunk shapes that split a year's matrices into blocks of supplying regions.

    One year of ``Z`` is G·N × G·N cells; above ``target_bytes`` it is cut along ``region``
    (the supplying side) into blocks of whole regions, each at most ``target_bytes`` (at
    least one region per block). ``Y`` uses the same region blocks; ``x_published`` stays
    one chunk per year.

    Parameters
    ----------
    G, N, F : int
        Regions, sectors and final-demand categories.
    target_bytes : int
        Upper bound of one chunk of ``Z`` (default 256 MiB).
    itemsize : int
        Bytes per value (8 for float64).

    Returns
    -------
    dict
        ``{"Z": (1, b, N, G, N), "Y": (1, b, N, G, F), "x_published": (1, G, N)}`` with ``b``
        the regions per block. With ``b == G`` this is the one-chunk-per-year layout.

    Examples
    --------
    >>> region_block_chunks(49, 163, 7)["Z"]  # EXIOBASE 3 ixi: 510 MB per year
    (1, 25, 163, 49, 163)
    """
    per_region = N * G * N * itemsize
    b = max(1, min(G, target_bytes // per_region))
    return {"Z": (1, b, N, G, N), "Y": (1, b, N, G, F), "x_published": (1, G, N)}


def chunk_encoding(ds, chunks: Mapping[str, tuple[int, ...]] | None = None, **kw) -> dict:
    """Zarr encoding for the raw variables of a cube with region-block chunks.

    Parameters
    ----------
    ds : xarray.Dataset
        Canonical cube (``Z``, ``Y`` and optionally ``x_published``).
    chunks : mapping, optional
        Chunk shape per variable; default :func:`region_block_chunks` for the cube's sizes.
    **kw
        Passed to :func:`region_block_chunks` (``target_bytes``).

    Returns
    -------
    dict
        ``{name: {"chunks": shape}}`` for ``xarray.Dataset.to_zarr(encoding=...)``.
    """
    if chunks is None:
        chunks = region_block_chunks(ds.sizes["region"], ds.sizes["sector"], ds.sizes["fd"], **kw)
    return {name: {"chunks": tuple(shape)} for name, shape in chunks.items() if name in ds}
