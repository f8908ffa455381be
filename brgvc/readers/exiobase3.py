"""Reader for EXIOBASE 3 monetary tables (44 countries + 5 rest-of-world regions).

One archive per year and system, ``IOT_{YYYY}_ixi.zip`` (163 industries) or
``IOT_{YYYY}_pxp.zip`` (200 products), as published on Zenodo (or the same folder
extracted). Inside (at the top or in a folder ``IOT_{YYYY}_{sys}/``), in pymrio's text
format, tab-separated:

``Z.txt``
    Intermediate flows with a three-line header::

        region<TAB><TAB>AT<TAB>AT ...
        sector<TAB><TAB>Cultivation of paddy rice<TAB>Cultivation of wheat ...
        region<TAB>sector<TAB><TAB> ...
        AT<TAB>Cultivation of paddy rice<TAB>0.0<TAB>...

``Y.txt``
    Final demand, the same with ``category`` in the second header line (seven categories
    per region).
``x.txt``
    Gross output: a header line ``region sector indout`` and one line per region-sector.
``A.txt``
    Coefficients; used with ``x.txt`` (Z = A·diag(x)) only where ``Z.txt`` is missing, as in
    releases that ship coefficients only (then the round trip is exact only to rounding).
``factor_inputs/F.txt`` (3.8 onward) or ``satellite/F.txt`` (3.4-3.7)
    Factor inputs (pymrio text format: header lines ``region`` and ``sector`` as in
    ``Z.txt``, an optional index-name line ``stressor``, then one line per input with its
    name in the first field). The rows whose name starts with ``Taxes less subsidies on
    products purchased``, ``Other net taxes on production``, ``Compensation of employees``
    or ``Operating surplus`` (the nine factor inputs of EXIOBASE 3, ``unit.txt``: M.EUR) are
    returned as ``va_published``; all but the taxes less subsidies on products add up to
    value added (``va_total``). Other satellite rows (emissions, ...) are not read.

``x.txt`` is required: without it the published output is unknown, and the reader names the
archive or folder that lacks it. A non-numeric or empty cell in any file names the member and
its position as a spreadsheet would show it (line = row, field = column).

Layout source: pymrio's EXIOBASE 3 text format (``pymrio.load``/``save``, the files on
Zenodo, doi:10.5281/zenodo.3583070). The third header line (index names) is optional.
Monetary unit: million EUR (``M.EUR``, ``unit.txt``), current prices, basic prices: kept in
EUR (no exchange rate is applied; ``ATTRS["unit"]`` says so). Region codes (``AT`` ...
``WM``) are mapped to ISO3; the five
rest-of-world regions ``WA WE WF WL WM`` keep their codes (they would all be ``RoW``).
Final-demand categories are given SNA codes: households ``P3_S14``, NPISH ``P3_S15``,
government ``P3_S13``, GFCF ``P51``, changes in inventories ``P52``, changes in valuables
``P53``, exports ``P6``; other names are kept.

Format ``exiobase3`` reads whichever system is present and refuses a folder holding both
for the same year; ``exiobase3_ixi`` and ``exiobase3_pxp`` choose one.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from brgvc.readers.common import (
    assemble,
    fail,
    find_member,
    iso3_regions,
    member_names,
    member_sha256,
    open_member,
    read_numbers_csv,
    result,
    unique_in_order,
)

__all__ = ["ATTRS", "FACTOR_INPUTS", "FD_CODES", "labels", "list_years", "read_year",
           "va_labels"]

DATABASE = "exiobase3"
ATTRS = {
    "source": "EXIOBASE",
    "release": "3",
    "unit": "million EUR, current prices",
    "price_basis": "basic prices",
    "citation": (
        "Stadler, K. et al. (2018), EXIOBASE 3: Developing a Time Series of Detailed "
        "Environmentally Extended Multi-Regional Input-Output Tables, Journal of Industrial "
        "Ecology 22(3): 502-515."
    ),
}
FD_CODES = {
    "Final consumption expenditure by households": "P3_S14",
    "Final consumption expenditure by non-profit organisations serving households (NPISH)":
        "P3_S15",
    "Final consumption expenditure by government": "P3_S13",
    "Gross fixed capital formation": "P51",
    "Changes in inventories": "P52",
    "Changes in valuables": "P53",
    "Exports: Total (fob)": "P6",
}


def _pattern(system: str | None) -> re.Pattern:
    sys_ = system or "ixi|pxp"
    return re.compile(rf"^IOT_(?P<year>\d{{4}})_(?P<sys>{sys_})(?:\.zip)?$", re.I)


def _containers(path: str | Path, system: str | None) -> dict[int, Path]:
    p = Path(path)
    pat = _pattern(system)
    if p.is_file() and not pat.search(p.name) and p.name in ("Z.txt", "A.txt"):
        p = p.parent
    if p.is_dir() and pat.search(p.name):
        return {int(pat.search(p.name).group("year")): p}
    found: dict[int, list[Path]] = {}
    for cand in ([p] if p.is_file() else sorted(p.rglob("IOT_*"))):
        m = pat.search(cand.name)
        if m and (cand.is_dir() or cand.suffix.lower() == ".zip"):
            found.setdefault(int(m.group("year")), []).append(cand)
    if not found:
        fail(str(path), f"no EXIOBASE 3 archive named IOT_YYYY_{system or 'ixi|pxp'}.zip "
                        "(or extracted folder) found")
    out = {}
    for y, cands in sorted(found.items()):
        systems = {_pattern(None).search(c.name).group("sys").lower() for c in cands}
        if len(systems) > 1:
            fail(str(path), f"both ixi and pxp tables for {y}; use format exiobase3_ixi or "
                            "exiobase3_pxp, or point PATH at one archive")
        zips = [c for c in cands if c.suffix.lower() == ".zip"]
        out[y] = zips[0] if zips else cands[0]
    return out


def list_years(path: str | Path, system: str | None = None) -> dict[int, Path]:
    """Map each year to its ``IOT_YYYY_{ixi,pxp}.zip`` (or the ``Z.txt`` of an extracted one).

    Parameters
    ----------
    path : str or Path
        Folder with the archives, one archive, or one extracted folder.
    system : {"ixi", "pxp"}, optional
        Restrict to one system (default: whichever is present).
    """
    out = {}
    for y, c in _containers(path, system).items():
        if c.is_dir():
            z = find_member(c, re.compile(r"^Z\.txt$"), "Z.txt") or \
                find_member(c, re.compile(r"^A\.txt$"), "A.txt")
            if z is None:
                fail(str(c), "extracted EXIOBASE folder without Z.txt or A.txt")
            out[y] = c / z
        else:
            out[y] = c
    return out


def _member(container: Path, name: str, required: bool = True) -> str | None:
    m = find_member(container, re.compile(rf"^{re.escape(name)}$"), name)
    if m is None and required:
        fail(str(container), f"no {name} in the EXIOBASE folder or archive")
    return m


def _header(container: Path, member: str, second: str, where: str):
    with open_member(container, member) as fh:
        lines = [fh.readline().decode("utf-8").rstrip("\r\n") for _ in range(3)]
    first, sec, third = (line.split("\t") for line in lines)
    if first[0] != "region" or sec[0] != second:
        fail(where, f"not an EXIOBASE 3 matrix: expected header lines starting 'region' and "
                    f"'{second}' (pymrio text format), found {first[0]!r} and {sec[0]!r}")
    # Z/Y have two index fields (region, sector); F has one (stressor)
    n_idx = 2 if len(first) > 1 and first[1] == "" else 1
    skip = 3 if third[:2] == ["region", "sector"] else 2
    return first[n_idx:], sec[n_idx:], skip


def _body(container: Path, member: str, skip: int, ncol: int, where: str,
          n_index: int = 2):
    with open_member(container, member) as fh:
        data = fh.read()
    try:
        lab = pd.read_csv(io.BytesIO(data), sep="\t", header=None, skiprows=skip,
                          usecols=range(n_index), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError, EOFError) as exc:
        fail(where, f"truncated file ({exc})")
    keys = [tuple(r) for r in lab.to_numpy().tolist()]
    M = read_numbers_csv(data, where, sep="\t", skiprows=skip,
                         usecols=range(n_index, n_index + ncol), first_col=n_index + 1,
                         expect_shape=(len(keys), ncol),
                         row_labels=[".".join(k) for k in keys])
    return keys, M


#: Leading words of the nine EXIOBASE 3 factor inputs; the first is not value added.
FACTOR_INPUTS = ("Taxes less subsidies on products purchased", "Other net taxes on production",
                 "Compensation of employees", "Operating surplus")


def _factor_member(container: Path) -> str | None:
    names = member_names(container)
    for folder in ("factor_inputs", "satellite"):
        hits = [n for n in names if Path(n).name == "F.txt" and Path(n).parent.name == folder]
        if hits:
            return hits[0]
    return None


def _factor_inputs(container: Path, regs, secs, where: str):
    """Factor-input rows of ``F.txt`` in the column order of ``Z.txt`` (or None)."""
    fm = _factor_member(container)
    if fm is None:
        return None, [], []
    fregs, fsecs, _ = _header(container, fm, "sector", f"{where} {fm}")
    with open_member(container, fm) as fh:
        lines = [fh.readline().decode("utf-8") for _ in range(3)]
    skip = 3 if lines[2].split("\t")[0].strip() in ("stressor", "") else 2
    keys, M = _body(container, fm, skip, len(fregs), f"{where} {fm}", n_index=1)
    names = [k[0] for k in keys]
    keep = [i for i, n in enumerate(names) if n.startswith(FACTOR_INPUTS)]
    pos = {k: j for j, k in enumerate(zip(fregs, fsecs, strict=True))}
    try:
        cols = [pos[k] for k in zip(regs, secs, strict=True)]
    except KeyError as exc:
        fail(f"{where} {fm}", f"no column for {exc} of Z.txt")
    comps = [names[i] for i in keep]
    total = [c for c in comps if not c.startswith(FACTOR_INPUTS[0])]
    return M[np.ix_(keep, cols)], comps, total


def _structure(container: Path, where: str):
    zm = _member(container, "Z.txt", required=False)
    main = zm or _member(container, "A.txt")
    regs, secs, skip = _header(container, main, "sector", f"{where} {main}")
    ym = _member(container, "Y.txt")
    yregs, cats, yskip = _header(container, ym, "category", f"{where} {ym}")
    regions = unique_in_order(regs)
    sectors = unique_in_order(secs)
    if len(regs) != len(regions) * len(sectors):
        fail(f"{where} {main}", f"columns are not every region × sector: {len(regs)} for "
                                f"{len(regions)} regions and {len(sectors)} sectors")
    fd_names = unique_in_order(cats)
    fd = [FD_CODES.get(c, c) for c in fd_names]
    return (zm, main, regs, secs, skip), (ym, yregs, cats, yskip), regions, sectors, fd


def labels(path: str | Path, system: str | None = None):
    """Regions (ISO3 where unique), sectors and final-demand codes of the first year."""
    files = list_years(path, system)
    c = files[min(files)]
    container = c.parent if c.suffix.lower() == ".txt" else c
    _, _, regions, sectors, fd = _structure(container, str(container))
    return iso3_regions(regions, DATABASE), sectors, fd


def read_year(path: str | Path, year: int, system: str | None = None) -> dict:
    """Read one EXIOBASE 3 year (see the module docstring).

    Parameters
    ----------
    path : str or Path
    year : int
    system : {"ixi", "pxp"}, optional

    Returns
    -------
    dict
        See :mod:`brgvc.readers.common`; ``system`` is ``"ixi"`` or ``"pxp"``.
    """
    year = int(year)
    files = list_years(path, system)
    if year not in files:
        fail(str(path), f"no EXIOBASE 3 table for year {year} (have {sorted(files)})")
    c = files[year]
    container = c.parent if c.suffix.lower() == ".txt" else c
    where = f"{container} (year {year})"
    (zm, main, regs, secs, skip), (ym, yregs, cats, yskip), regions, sectors, fd = \
        _structure(container, where)
    keys, M = _body(container, main, skip, len(regs), f"{where} {main}")
    z_cols = list(enumerate(zip(regs, secs, strict=True)))
    fd_map = dict(zip(unique_in_order(cats), fd, strict=True))
    ykeys, YM = _body(container, ym, yskip, len(yregs), f"{where} {ym}")
    if ykeys != keys:
        fail(f"{where} {ym}", "rows are not in the order of the intermediate matrix")
    fd_cols = [(len(regs) + j, (r, fd_map[c])) for j, (r, c) in
               enumerate(zip(yregs, cats, strict=True))]
    values = np.hstack([M, YM])
    del M, YM
    Z, Y = assemble(values, keys, z_cols, fd_cols, regions, sectors, fd, where)
    del values
    xm = _member(container, "x.txt", required=False)
    if xm is None:
        fail(str(container), f"no x.txt (gross output) in the EXIOBASE archive or folder for "
                             f"year {year}; the publisher's IOT_{year}_{{ixi,pxp}} holds "
                             "Z.txt, Y.txt and x.txt")
    checks = [member_sha256(container, main), member_sha256(container, ym)]
    xkeys, xvals = _body(container, xm, 1, 1, f"{where} {xm}")
    xv = dict(zip(xkeys, xvals[:, 0], strict=True))
    missing = [(r, s) for r in regions for s in sectors if (r, s) not in xv]
    if missing:
        fail(f"{where} {xm}", f"no output for {missing[:3]}")
    x = np.array([xv[(r, s)] for r in regions for s in sectors], dtype=np.float64)
    checks.append(member_sha256(container, xm))
    # Factor inputs, in the canonical (region, sector) order of the cube.
    canon = [(r, s) for r in regions for s in sectors]
    F, comps, total = _factor_inputs(container, [k[0] for k in canon], [k[1] for k in canon],
                                     where)
    if F is not None:
        checks.append(member_sha256(container, _factor_member(container)))
    if zm is None:
        # Coefficients only: Z = A diag(x).
        Z *= x[None, :]
    sys_m = _pattern(None).search(container.name)
    return result(
        Z, Y, x, regions=iso3_regions(regions, DATABASE), sectors=sectors, fd=fd, year=year,
        checksums=dict(checks), where=where, dropped={},
        va=F if F is not None else np.zeros((0, len(canon))), va_components=comps,
        va_total=total,
        system=sys_m.group("sys").lower() if sys_m else None, from_coefficients=zm is None,
    )


def va_labels(path: str | Path, system: str | None = None) -> tuple[list[str], list[str]]:
    """Factor inputs of the first year (names of ``F.txt`` rows) and those in value added."""
    files = list_years(path, system)
    c = files[min(files)]
    container = c.parent if c.suffix.lower() == ".txt" else c
    fm = _factor_member(container)
    if fm is None:
        return [], []
    with open_member(container, fm) as fh:
        names = pd.read_csv(fh, sep="\t", header=None, skiprows=2, usecols=[0], dtype=str,
                            keep_default_na=False).iloc[:, 0].tolist()
    comps = [n for n in names if n.startswith(FACTOR_INPUTS)]
    return comps, [c for c in comps if not c.startswith(FACTOR_INPUTS[0])]


def list_years_ixi(path: str | Path) -> dict[int, Path]:
    """:func:`list_years` for the industry-by-industry tables."""
    return list_years(path, "ixi")


def list_years_pxp(path: str | Path) -> dict[int, Path]:
    """:func:`list_years` for the product-by-product tables."""
    return list_years(path, "pxp")


def read_year_ixi(path: str | Path, year: int) -> dict:
    """:func:`read_year` for the industry-by-industry tables."""
    return read_year(path, year, "ixi")


def read_year_pxp(path: str | Path, year: int) -> dict:
    """:func:`read_year` for the product-by-product tables."""
    return read_year(path, year, "pxp")


def labels_ixi(path: str | Path):
    """:func:`labels` for the industry-by-industry tables."""
    return labels(path, "ixi")


def labels_pxp(path: str | Path):
    """:func:`labels` for the product-by-product tables."""
    return labels(path, "pxp")
