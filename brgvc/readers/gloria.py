"""Reader for GLORIA (Global Resource Input-Output Assessment, University of Sydney ISA).

GLORIA (release 057 onward: 164 regions × 120 sectors, thousand USD) is published as a
multi-regional *supply-use* system, per year (pymrio ``parse_gloria_sut``; Lenzen et al. 2022):

``GLORIA_MRIOs_{VV}_{YYYY}/`` (or ``.zip``) with, at basic prices (``Markup001``):

- ``..._120secMother_AllCountries_002_T-Results_{YYYY}_0{VV}_Markup001(full).csv``:
  the transaction matrix, no header and no labels. Rows and columns run over regions, and
  within each region over the 120 *industries* then the 120 *products*. The
  industry-rows × product-columns blocks are the supply (make) table V, the product-rows ×
  industry-columns blocks the use table U.
- ``..._Y-Results_...``: final demand, rows as T, columns regions × 6 categories.
- ``..._V-Results_...``: value added, rows regions × 6 categories, columns as T.

``GLORIA_ReadMe_0{VV}.xlsx`` (next to the data or one folder up) gives the labels: sheet
``Regions`` (column ``Region_acronyms``), ``Sectors`` (``Sector_names``) and ``Value added
and final demand`` (``Final_demand_names``, ``Value_added_names``). Reading it needs
``openpyxl``.

The cube is the product-by-product table under the industry-technology assumption (model B
of the Eurostat manual, as pymrio): Z = U·diag(g)⁻¹·V with g = V·1 the industry output,
Y the product rows of final demand, and x = V'·1 the product output (the published supply).
GLORIA's supply table is diagonal (each industry makes its own product), so Z = U exactly;
the reader checks this and takes the general (sparse) product otherwise.

Value added: the rows of ``V-Results`` (regions × the six ``Value_added_names``) summed over
the row regions, on the industry columns, are brought to products like U (``va_ind ·
diag(g)⁻¹ · V``; the identity for a diagonal supply) and returned as ``va_published``, one
component per value-added name; all six add up to value added.

Unit: thousand US$, current prices (GLORIA ReadMe; pymrio ``parse_gloria``): every number is
divided by 1000 to the canonical million USD (``ATTRS["unit_published"]`` records it).

Bad input: a non-numeric or empty cell in T, Y or V names the file and its position as a
spreadsheet shows the CSV (line = row, field = column).

T is streamed in blocks of rows, so the peak memory is about U plus a block (GLORIA's full
T would be 12 GB in float64). Final-demand categories are reported by their SNA codes
(``P.3h`` ... ``P.53``); region acronyms are mapped to ISO3 (the four rest-of-continent
regions ``XAF XAM XAS XEU`` keep their codes). Countries without transactions in a year
are kept (zero rows), so that every year has the same labels.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from brgvc.readers.common import (
    fail,
    fd_code,
    find_member,
    iso3_regions,
    member_names,
    member_sha256,
    open_member,
    read_numbers_csv,
    result,
    text_to_float,
    unique_in_order,
)
from brgvc.schema import normalise_unit

__all__ = ["ATTRS", "labels", "list_years", "read_year", "va_labels"]

DATABASE = "gloria"
UNIT_PUBLISHED = "thousand USD, current prices"
UNIT_FACTOR, UNIT = normalise_unit(UNIT_PUBLISHED)
ATTRS = {
    "source": "GLORIA",
    "release": "as published (057 onward)",
    "unit": UNIT,
    "unit_published": UNIT_PUBLISHED,
    "unit_factor": UNIT_FACTOR,
    "price_basis": "basic prices",
    "citation": (
        "Lenzen, M. et al. (2022), Implementing the material footprint to measure progress "
        "towards Sustainable Development Goals 8 and 12, Nature Sustainability 5: 157-166."
    ),
}

_T = re.compile(r"_T-Results_(?P<year>\d{4})_0?(?P<ver>\d+)_Markup001\(full\)\.csv$")
_README = re.compile(r"^GLORIA_ReadMe_0?\d+[a-z]?\.xlsx$", re.I)
ROW_BLOCK = 2048


def list_years(path: str | Path) -> dict[int, Path]:
    """Map each year to its T-Results file, or to the ``GLORIA_MRIOs_*`` zip holding it."""
    p = Path(path)
    if not p.exists():
        fail(str(p), "no such file or folder")
    cands = [p] if p.is_file() else sorted(p.rglob("*"))
    found: dict[int, Path] = {}
    for c in cands:
        m = _T.search(c.name)
        if m:
            found[int(m.group("year"))] = c
        elif c.suffix.lower() == ".zip" and c.name.upper().startswith("GLORIA_MRIOS"):
            member = find_member(c, _T, "T-Results")
            if member:
                found.setdefault(int(_T.search(member).group("year")), c)
    if not found:
        fail(str(p), "no GLORIA file *_T-Results_YYYY_0VV_Markup001(full).csv (or "
                     "GLORIA_MRIOs_VV_YYYY.zip) found")
    return dict(sorted(found.items()))


def _readme(path: str | Path, near: Path) -> Path:
    base = Path(path) if Path(path).is_dir() else Path(path).parent
    for folder in (near, near.parent, base, base.parent):
        if folder.is_dir():
            hits = sorted(f for f in folder.iterdir() if _README.search(f.name))
            if hits:
                return hits[-1]
    fail(str(path), "GLORIA_ReadMe_0VV.xlsx (labels) not found next to the data")


def _read_labels(readme: Path):
    try:
        regions = pd.read_excel(readme, sheet_name="Regions", dtype=str, engine="openpyxl")
        sectors = pd.read_excel(readme, sheet_name="Sectors", dtype=str, engine="openpyxl")
        vafd = pd.read_excel(readme, sheet_name="Value added and final demand", dtype=str,
                             engine="openpyxl")
    except ImportError as exc:
        fail(str(readme), f"reading the ReadMe workbook needs openpyxl ({exc})")
    except (ValueError, KeyError, OSError) as exc:
        fail(str(readme), f"expected sheets Regions, Sectors and 'Value added and final "
                          f"demand' ({exc})")
    try:
        reg = regions["Region_acronyms"].dropna().str.strip().tolist()
        sec = sectors["Sector_names"].dropna().str.strip().tolist()
        fd = vafd["Final_demand_names"].dropna().str.strip().tolist()
        va = vafd["Value_added_names"].dropna().str.strip().tolist()
    except KeyError as exc:
        fail(str(readme), f"missing column {exc} (expected Region_acronyms, Sector_names, "
                          "Final_demand_names, Value_added_names)")
    return reg, sec, fd, va


def _container(path: str | Path, year: int) -> tuple[Path, str]:
    files = list_years(path)
    if year not in files:
        fail(str(path), f"no GLORIA tables for year {year} (have {sorted(files)})")
    f = files[year]
    if f.suffix.lower() == ".zip":
        return f, find_member(f, _T, "T-Results")
    return f.parent, f.name


def _sibling(container: Path, t_member: str, kind: str) -> str:
    name = Path(t_member).name.replace("_T-Results_", f"_{kind}-Results_")
    if kind == "V":
        name = re.sub(r"Markup\d+\(full\)", "Markup001(full)", name)
    hits = [n for n in member_names(container) if Path(n).name == name]
    if not hits:
        fail(str(container), f"missing {name}")
    return hits[0]


def labels(path: str | Path) -> tuple[list[str], list[str], list[str]]:
    """Regions (ISO3 where unique), sector names and final-demand codes."""
    files = list_years(path)
    y = min(files)
    container, _ = _container(path, y)
    near = container if container.is_dir() else container.parent
    reg, sec, fd, _ = _read_labels(_readme(path, near))
    return iso3_regions(reg, DATABASE), sec, [fd_code(f) for f in fd]


def read_year(path: str | Path, year: int) -> dict:
    """Read one GLORIA year as a product-by-product table (see the module docstring)."""
    import scipy.sparse as sp

    year = int(year)
    container, t_member = _container(path, year)
    near = container if container.is_dir() else container.parent
    reg, sec, fd_names, va_names = _read_labels(_readme(path, near))
    G, N, F = len(reg), len(sec), len(fd_names)
    n2 = 2 * G * N
    where = f"{container} (year {year})"
    # position of each T row/column: region g, block b (0 industry, 1 product), sector i
    pos = np.arange(n2)
    block = (pos // N) % 2
    stacked = (pos // (2 * N)) * N + pos % N  # index in the GN product (or industry) order
    ind, prod = block == 0, block == 1
    U = np.zeros((G * N, G * N))
    rows_v, cols_v, vals_v = [], [], []
    done = 0
    try:
        with open_member(container, t_member) as fh:
            reader = pd.read_csv(fh, header=None, dtype=np.float64, chunksize=ROW_BLOCK,
                                 engine="c")
            for chunk in reader:
                M = chunk.to_numpy(dtype=np.float64)
                if M.shape[1] != n2:
                    fail(f"{where} {t_member}", f"expected {n2} columns (regions × industries "
                                                f"and products from the ReadMe), found "
                                                f"{M.shape[1]}")
                if not np.isfinite(M).all():
                    i, j = (int(k) for k in np.argwhere(~np.isfinite(M))[0])
                    from brgvc.readers.common import cell_ref

                    fail(f"{where} {t_member}", f"empty or non-finite cell at "
                                                f"{cell_ref(done + i + 1, j + 1)}")
                r = np.arange(done, done + M.shape[0])
                pr = prod[r]
                if pr.any():
                    U[stacked[r[pr]]] = M[pr][:, ind]
                ir = ind[r]
                if ir.any():
                    sub = M[ir][:, prod]
                    i, j = np.nonzero(sub)
                    rows_v.append(stacked[r[ir]][i])
                    cols_v.append(j)
                    vals_v.append(sub[i, j])
                done += M.shape[0]
    except (pd.errors.ParserError, ValueError, EOFError) as exc:
        _locate_bad_cell(container, t_member, f"{where} {t_member}")
        fail(f"{where} {t_member}", f"truncated file ({exc})")
    if done != n2:
        fail(f"{where} {t_member}", f"expected {n2} rows, found {done}")
    V = sp.csr_matrix(
        (np.concatenate(vals_v) if vals_v else np.zeros(0),
         (np.concatenate(rows_v) if rows_v else np.zeros(0, int),
          np.concatenate(cols_v) if cols_v else np.zeros(0, int))),
        shape=(G * N, G * N),
    )
    g = np.asarray(V.sum(1)).ravel()  # industry output
    q = np.asarray(V.sum(0)).ravel()  # product output (supply)
    diag = V.diagonal()
    if V.nnz == np.count_nonzero(diag):
        ratio = np.divide(diag, g, out=np.zeros_like(g), where=g != 0)
        Z = U * ratio[None, :]
    else:
        ginv = np.divide(1.0, g, out=np.zeros_like(g), where=g != 0)
        Z = np.asarray((V.T @ (U * ginv[None, :]).T).T)
    del U
    y_member = _sibling(container, t_member, "Y")
    with open_member(container, y_member) as fh:
        Yt = read_numbers_csv(fh.read(), f"{where} {y_member}", sep=",",
                              expect_shape=(n2, G * F))
    Y = np.zeros((G * N, G * F))
    Y[stacked[prod]] = Yt[prod]
    dropped = {"Y_industry_rows": float(Yt[ind].sum())}
    del Yt
    v_member = _sibling(container, t_member, "V")
    K = len(va_names)
    with open_member(container, v_member) as fh:
        Vt = read_numbers_csv(fh.read(), f"{where} {v_member}", sep=",",
                              expect_shape=(G * K, n2))
    # rows: region-major × K categories; sum the regions, keep the industry columns
    va_ind = np.zeros((K, G * N))
    va_ind[:, stacked[ind]] = Vt.reshape(G, K, n2).sum(0)[:, ind]
    if V.nnz == np.count_nonzero(diag):
        # diagonal supply: industry j makes product j, so its value added is product j's
        va_prod = va_ind * np.divide(diag, g, out=np.zeros_like(g), where=g != 0)[None, :]
    else:
        ginv = np.divide(1.0, g, out=np.zeros_like(g), where=g != 0)
        va_prod = np.asarray((V.T @ (va_ind * ginv[None, :]).T).T)
    checks = dict(member_sha256(container, m) for m in (t_member, y_member, v_member))
    return result(
        Z, Y, q, regions=iso3_regions(reg, DATABASE), sectors=sec,
        fd=unique_in_order(fd_code(f) for f in fd_names), year=year, checksums=checks,
        where=where, dropped=dropped, va=va_prod, va_components=va_names, va_total=va_names,
        unit_factor=UNIT_FACTOR, industry_output=g / round(1 / UNIT_FACTOR),
        diagonal_supply=V.nnz == np.count_nonzero(diag),
    )


def _locate_bad_cell(container: Path, member: str, where: str) -> None:
    """Re-read a CSV as text in row blocks and name its first non-numeric or empty cell."""
    done = 0
    with open_member(container, member) as fh:
        for chunk in pd.read_csv(fh, header=None, dtype=str, keep_default_na=False,
                                 chunksize=ROW_BLOCK):
            text_to_float(chunk.to_numpy(), where, done + 1, 1)
            done += len(chunk)


def va_labels(path: str | Path) -> tuple[list[str], list[str]]:
    """Value-added names of the ReadMe (all of them add up to value added)."""
    files = list_years(path)
    container, _ = _container(path, min(files))
    near = container if container.is_dir() else container.parent
    _, _, _, va = _read_labels(_readme(path, near))
    return va, list(va)
