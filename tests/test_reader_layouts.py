"""Readers against files written here in the publishers' documented layouts (issue 11).

Independent of ``tests/fixtures/make_fixtures.py``: every writer below follows the layout
source cited in its docstring (publisher readme, or the positions another tool reads), fills
it with real WIOD 2013 numbers (five economies × 35 sectors, 2011, integer million US$) and
the test asserts that the reader gives back exactly those numbers: Z, Y, x and every
published primary-input row. Processing splits (OECD ICIO 2016: CN1-CN4, MX1-MX3) are
integer parts of China's and Mexico's rows and columns, so the merged table must equal the
original one exactly, rows, columns and final demand. Bad cells must raise one line naming
the file and the cell as a spreadsheet shows it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brgvc.datasets import data_path
from brgvc.readers import (
    adb_mrio,
    eora26,
    exiobase3,
    figaro,
    gloria,
    oecd_icio,
    open_mrio,
    wiod2013,
    wiod2016,
)
from brgvc.readers.common import cell_ref, column_letter
from brgvc.readers.store import open_cube, write_cube
from brgvc.schema import MRIOError, normalise_unit, published_value_added

KEEP = ("CHN", "DEU", "JPN", "MEX", "USA")
YEAR = 2011
N = 35


def wiod_subset(year: int = YEAR) -> dict:
    """Real WIOD 2013 numbers of five economies (their blocks of Z and Y, their GO and VA)."""
    folder = data_path("wiod2013")
    regions, sectors = wiod2013.read_labels(folder)
    d = wiod2013.read_year(folder / f"wiot_{year}.csv.gz", regions, sectors)
    rows = [regions.index(r) * N + k for r in KEEP for k in range(N)]
    fcols = [regions.index(r) * 5 + k for r in KEEP for k in range(5)]
    va = d["x"] - d["Z"].sum(0)  # WIOD's value added (all primary inputs) of each column
    va = va[rows]
    tax = np.floor(0.1 * np.maximum(va, 0))  # an integer part, so both parts are exact
    return {"Z": d["Z"][np.ix_(rows, rows)], "Y": d["Y"][np.ix_(rows, fcols)],
            "x": d["x"][rows], "tax": tax, "vab": va - tax, "sectors": sectors}


@pytest.fixture(scope="module")
def t():
    return wiod_subset()


def test_cell_names_are_spreadsheet_positions():
    assert [column_letter(c) for c in (1, 26, 27, 52, 53, 2209)] == \
        ["A", "Z", "AA", "AZ", "BA", "CFY"]  # CFY: last Z column of ADB's 63 economies
    assert cell_ref(8, 5) == "row 8, column 5 (E8)"
    assert normalise_unit("thousand USD, current prices") == (1e-3, "million USD, current prices")
    with pytest.raises(MRIOError, match="cannot read the monetary unit"):
        normalise_unit("current prices")


# ---------------------------------------------------------------------------------------------
# OECD ICIO 2016 edition: CN1-CN4 and MX1-MX3
# ---------------------------------------------------------------------------------------------

ICIO16_FD = ("HFCE", "NPS", "GGFC", "GFCF", "INV", "DIRP")
SPLIT = {"CHN": ("CN1", "CN2", "CN3", "CN4"), "MEX": ("MX1", "MX2", "MX3")}


def _split_parts(M: np.ndarray, k: int) -> list[np.ndarray]:
    """k integer parts of an integer block (floor shares 40 %, 30 %, ... , rest last)."""
    parts, rest = [], M.copy()
    for i in range(k - 1):
        p = np.floor(M * (0.4 - 0.1 * i))
        parts.append(p)
        rest = rest - p
    return [*parts, rest]


def write_icio2016(folder: Path, t: dict, *, drop: str | None = None,
                   text_cell: tuple[int, int, str] | None = None) -> dict:
    """``ICIO2016_YYYY.csv`` as documented by the ICIO 2016 readme and read by pymrio
    ``parse_oecd``: line 1 the column labels, field 1 the row labels ``COUNTRY_INDUSTRY``;
    China and Mexico split into ``CN1``-``CN4`` / ``MX1``-``MX3`` (rows and columns, after
    the other countries; the ``CHN``/``MEX`` rows and columns stay, zero); final demand
    category first (``HFCE_CHN`` ... ``DIRP_USA``) booked to ``CHN``/``MEX``; a ``DISC``
    column; below the industry rows ``TAXSUB``, ``VALU`` and the output row ``OUT``."""
    sectors = [f"C{k + 1:02d}" for k in range(N)]
    base = list(KEEP)
    splits = [s for r in KEEP for s in SPLIT.get(r, ())]
    regions = base + splits
    G0, G = len(base), len(regions)
    # E: (G·N × G0·N) with Z_file = E Z Eᵀ; the parent keeps zero rows
    E = np.zeros((G * N, G0 * N))
    for g, r in enumerate(base):
        if r not in SPLIT:
            E[g * N:(g + 1) * N, g * N:(g + 1) * N] = np.eye(N)
    Zr = np.zeros((G * N, G0 * N))  # split the rows
    Yr = np.zeros((G * N, t["Y"].shape[1]))
    xr, taxr, vabr = np.zeros(G * N), np.zeros(G * N), np.zeros(G * N)
    for g, r in enumerate(base):
        src = slice(g * N, (g + 1) * N)
        if r not in SPLIT:
            Zr[src], Yr[src], xr[src] = t["Z"][src], t["Y"][src], t["x"][src]
            taxr[src], vabr[src] = t["tax"][src], t["vab"][src]
            continue
        for part, name in zip(_split_parts(np.hstack([t["Z"][src], t["Y"][src]]),
                                           len(SPLIT[r])), SPLIT[r], strict=True):
            h = regions.index(name)
            Zr[h * N:(h + 1) * N] = part[:, :G0 * N]
            Yr[h * N:(h + 1) * N] = part[:, G0 * N:]
    Z = np.zeros((G * N, G * N))  # then the columns of the split economies
    cols = {}
    for g, r in enumerate(base):
        src = slice(g * N, (g + 1) * N)
        if r not in SPLIT:
            Z[:, g * N:(g + 1) * N] = Zr[:, src]
            cols[g] = [(g, None)]
            continue
        colparts = _split_parts(np.vstack([Zr[:, src], t["x"][None, src], t["tax"][None, src],
                                           t["vab"][None, src]]), len(SPLIT[r]))
        for part, name in zip(colparts, SPLIT[r], strict=True):
            h = regions.index(name)
            Z[:, h * N:(h + 1) * N] = part[:G * N]
            xr[h * N:(h + 1) * N] = part[G * N]
            taxr[h * N:(h + 1) * N] = part[G * N + 1]
            vabr[h * N:(h + 1) * N] = part[G * N + 2]
    # output of the split parts: the column parts of China's and Mexico's output; DISC
    # (published output minus the row sum) makes every row add up to it
    x_rows = xr
    F = np.zeros((G * N, 6 * G0))
    fd_labels = []
    for k, cat in enumerate(ICIO16_FD):
        for g, r in enumerate(base):
            fd_labels.append(f"{cat}_{r}")
            if k < 5:
                F[:, len(fd_labels) - 1] = Yr[:, g * 5 + k]
    disc = x_rows - Z.sum(1) - F.sum(1)
    row_labels = [f"{r}_{s}" for r in regions for s in sectors]
    body = np.hstack([Z, F, disc[:, None]])
    width = body.shape[1]
    bottom = {"TAXSUB": taxr, "VALU": vabr, "OUT": x_rows}
    lines = [",".join(["", *row_labels, *fd_labels, "DISC"])]
    for lab, row in zip(row_labels, body, strict=True):
        lines.append(",".join([lab, *(f"{v:.0f}" for v in row)]))
    for name, vals in bottom.items():
        if name == drop:
            continue
        cells = [f"{v:.0f}" for v in vals] + [""] * (width - G * N)
        lines.append(",".join([name, *cells]))
    if text_cell is not None:
        i, j, text = text_cell  # 1-based line and field
        cells = lines[i - 1].split(",")
        cells[j - 1] = text
        lines[i - 1] = ",".join(cells)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"ICIO2016_{YEAR}.csv").write_text("\n".join(lines) + "\n")
    return {"regions": regions, "sectors": sectors, "Z": Z, "Y": Yr, "x": x_rows,
            "tax": taxr, "vab": vabr}


def test_icio2016_merges_cn1_cn4_and_mx1_mx3_exactly(tmp_path, t):
    split = write_icio2016(tmp_path, t)
    r = oecd_icio.read_year(tmp_path, YEAR)
    assert r["regions"] == list(KEEP)
    assert r["fd"] == ["HFCE", "NPISH", "GGFC", "GFCF", "INVNT", "DPABR"]
    np.testing.assert_array_equal(r["Z"], t["Z"])  # rows and columns of CHN and MEX
    Y = r["Y"].reshape(len(KEEP) * N, len(KEEP), 6)
    np.testing.assert_array_equal(Y[:, :, :5].reshape(len(KEEP) * N, -1), t["Y"])
    assert not Y[:, :, 5].any()
    # x is the published OUT row (2016 has no output column), summed over the splits
    np.testing.assert_array_equal(r["x"], t["x"])
    assert r["va_components"] == ["TAXSUB", "VALU"] and r["va_total"] == ["VALU"]
    np.testing.assert_array_equal(r["va_published"], np.vstack([t["tax"], t["vab"]]))
    assert r["merged_splits"]
    # the split table keeps CN1..CN4, MX1..MX3 with their own numbers
    s = oecd_icio.read_year_split(tmp_path, YEAR)
    assert s["regions"][len(KEEP):] == ["CN1", "CN2", "CN3", "CN4", "MX1", "MX2", "MX3"]
    np.testing.assert_array_equal(s["Z"], split["Z"])
    np.testing.assert_array_equal(s["va_published"], np.vstack([split["tax"], split["vab"]]))
    # the lazy cube carries the primary inputs too
    ds = open_mrio("oecd_icio", tmp_path, gross_output="published")
    assert list(ds["va_component"].values) == ["TAXSUB", "VALU"]
    np.testing.assert_array_equal(
        published_value_added(ds).sel(year=YEAR).values.reshape(-1), t["vab"])


def test_icio_missing_output_row_and_text_cell(tmp_path, t):
    write_icio2016(tmp_path / "a", t, drop="OUT")
    with pytest.raises(MRIOError, match=r"ICIO2016_2011.csv \(year 2011\): no output row "
                                        r"OUT/OUTPUT"):
        oecd_icio.read_year(tmp_path / "a", YEAR)
    # line 5 = the 4th industry row (CHN_C04), field 9 = column of CHN_C08
    write_icio2016(tmp_path / "b", t, text_cell=(5, 9, "n.a."))
    with pytest.raises(MRIOError) as err:
        oecd_icio.read_year(tmp_path / "b", YEAR)
    msg = str(err.value)
    assert "ICIO2016_2011.csv (year 2011): non-numeric cell at row 5, column 9 (I5)" in msg
    assert "'CHN_C04'" in msg and "'CHN_C08'" in msg and "'n.a.'" in msg
    assert "\n" not in msg


# ---------------------------------------------------------------------------------------------
# ADB MRIO: Legend sheet first, body at E8, 8 bottom rows
# ---------------------------------------------------------------------------------------------

ADB_BOTTOM = ("r60", "r61", "r62", "r63", "r64", "r65", "r66", "r69")


def write_adb(path: Path, t: dict, *, text: tuple[int, int, str] | None = None) -> None:
    """ADB MRIO workbook as read by ksreyes/mrio ``check()`` and Bhusal (2025): a ``Legend``
    sheet first (A2:C64 code, name, number), the table on sheet ``ADB MRIO YYYY`` with 7
    header rows and 4 label columns (numbers from E8), G·35 industry columns, G·5
    final-demand columns ``F1``-``F5``, the total column; G·35 industry rows then 8 rows:
    total intermediate use, six primary inputs (the 6th bottom row: value added at basic
    prices), total output."""
    from openpyxl import Workbook

    G = len(KEEP)
    codes = [{"CHN": "PRC"}.get(r, r) for r in KEEP]
    wb = Workbook()
    leg = wb.active
    leg.title = "Legend"
    leg.append(["Code", "Economy", "Number"])
    for k, c in enumerate(codes):
        leg.append([c, c, k + 1])
    ws = wb.create_sheet(f"ADB MRIO {YEAR}")
    ws.append(["ADB Multiregional Input-Output Table"])
    ws.append([f"{YEAR}"])
    ws.append(["(in millions of US dollars, current prices)"])
    ws.append(["", "", "", "", *[f"c{k + 1}" for _ in codes for k in range(N)],
               *[f"F{k + 1}" for _ in codes for k in range(5)], "ToT"])
    ws.append(["", "", "", "", *[f"sector {k + 1}" for _ in codes for k in range(N)],
               *[f"fd {k + 1}" for _ in codes for k in range(5)], "Total output"])
    ws.append(["", "", "", "", *[c for c in codes for _ in range(N)],
               *[c for c in codes for _ in range(5)], "ToT"])
    ws.append(["", "", "", "", *range(1, G * N + G * 5 + 2)])
    body = np.hstack([t["Z"], t["Y"], t["x"][:, None]])
    k = 0
    for c in codes:
        for s in range(N):
            ws.append([f"c{s + 1}", f"sector {s + 1}", c, k + 1, *body[k].tolist()])
            k += 1
    parts = [t["Z"].sum(0), t["tax"], np.zeros(G * N), np.zeros(G * N), np.zeros(G * N),
             t["vab"], np.zeros(G * N), t["x"]]
    for code, vals in zip(ADB_BOTTOM, parts, strict=True):
        ws.append([code, code, "", "", *vals.tolist()])
    if text is not None:
        ws.cell(row=text[0], column=text[1], value=text[2])
    wb.save(path)


def test_adb_legend_sheet_and_e8_body(tmp_path, t):
    write_adb(tmp_path / f"ADB-MRIO-{YEAR}_Mar2022.xlsx", t)
    r = adb_mrio.read_year(tmp_path, YEAR)
    assert r["regions"] == list(KEEP) and r["sectors"] == [f"c{k + 1}" for k in range(N)]
    for k in ("Z", "Y", "x"):
        np.testing.assert_array_equal(r[k], t[k], err_msg=k)
    assert r["va_components"] == list(ADB_BOTTOM[1:7]) and r["va_total"] == ["r65"]
    np.testing.assert_array_equal(r["va_published"][0], t["tax"])
    np.testing.assert_array_equal(r["va_published"][4], t["vab"])
    assert adb_mrio.va_labels(tmp_path) == (list(ADB_BOTTOM[1:7]), ["r65"])


def test_adb_text_cell_named(tmp_path, t):
    # E8 is the first number of the body (CHN c1 -> CHN c1)
    write_adb(tmp_path / f"ADB-MRIO-{YEAR}.xlsx", t, text=(9, 6, "x"))
    with pytest.raises(MRIOError, match=r"non-numeric cell at row 9, column 6 \(F9\) "
                                        r"\[row label 'c2/sector 2/PRC/2'\]: 'x'"):
        adb_mrio.read_year(tmp_path, YEAR)


# ---------------------------------------------------------------------------------------------
# WIOD 2013 publisher workbook and WIOD 2016 .xlsb
# ---------------------------------------------------------------------------------------------

WIOD13_BOTTOM = (("r60", "Total intermediate consumption"),
                 ("r61", "Taxes less subsidies on products"),
                 ("r62", "Cif/ fob adjustments on exports"),
                 ("r63", "Direct purchases abroad by residents"),
                 ("r64", "Purchases on the domestic territory by non-residents"),
                 ("r65", "Value added at basic prices"),
                 ("r66", "International Transport Margins"),
                 ("r69", "Output at basic prices"))


def write_wiot_workbook(path: Path, t: dict) -> None:
    """``wiotYY_row_apr12.xlsx`` as read by pymrio ``parse_wiod`` (0-based rows): A1 the
    title ending with the year, A3/A4 system and unit; rows 2-5 from column E: codes,
    descriptions, countries, numbers ``c1``-``c35`` and ``c37 c38 c39 c41 c42`` per country,
    the total column last; body from row 6 with columns A-D code, description, country,
    number; primary-input rows ``r60`` ... ``r69`` (number in column D)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = f"WIOT_{YEAR}"
    fd = wiod2013.WORKBOOK_FD
    ws.append([f"World Input-Output Table {YEAR}"])
    ws.append([])
    ws.append(["(industry-by-industry)", "", "", "", *[f"I{k}" for _ in KEEP for k in range(N)],
               *["" for _ in KEEP for _c in fd], "TOT"])
    ws.append(["(millions of US$)", "", "", "", *[f"ind {k}" for _ in KEEP for k in range(N)],
               *[f"fd {c}" for _ in KEEP for c in fd], "Total output"])
    ws.append(["", "", "", "", *[r for r in KEEP for _ in range(N)],
               *[r for r in KEEP for _ in fd], "TOT"])
    ws.append(["", "", "", "", *[f"c{k + 1}" for _ in KEEP for k in range(N)],
               *[c for _ in KEEP for c in fd], "c62"])
    body = np.hstack([t["Z"], t["Y"], t["x"][:, None]])
    k = 0
    for r in KEEP:
        for s in range(N):
            ws.append([f"I{s}", f"ind {s}", r, f"c{s + 1}", *body[k].tolist()])
            k += 1
    parts = {"r60": t["Z"].sum(0), "r61": t["tax"], "r65": t["vab"], "r69": t["x"]}
    for code, desc in WIOD13_BOTTOM:
        vals = parts.get(code, np.zeros(len(t["x"])))
        ws.append(["", desc, "", code, *vals.tolist()])
    wb.save(path)


def test_wiod2013_publisher_workbook_round_trip(tmp_path, t):
    write_wiot_workbook(tmp_path / "wiot11_row_apr12.xlsx", t)
    assert wiod2013.year_files(tmp_path) == {YEAR: tmp_path / "wiot11_row_apr12.xlsx"}
    r = wiod2013.read_workbook(tmp_path / "wiot11_row_apr12.xlsx")
    assert r["regions"] == list(KEEP) and r["sectors"] == [f"c{k + 1}" for k in range(N)]
    assert r["fd"] == list(wiod2013.FD_CATEGORIES)
    for k in ("Z", "Y", "x"):
        np.testing.assert_array_equal(r[k], t[k], err_msg=k)
    assert r["va_components"] == ["r61", "r62", "r63", "r64", "r65", "r66"]
    assert r["va_total"] == ["r65"]
    np.testing.assert_array_equal(r["va_published"][0], t["tax"])
    np.testing.assert_array_equal(r["va_published"][4], t["vab"])
    ds = open_mrio("wiod2013", tmp_path, gross_output="published")
    np.testing.assert_array_equal(ds["Z"].values.reshape(len(t["x"]), -1), t["Z"])
    np.testing.assert_array_equal(published_value_added(ds).values.reshape(-1), t["vab"])


def test_embedded_wiod2013_has_no_published_va():
    # the CSV conversion has no primary-input rows: the embedded cube is unchanged
    ds = open_mrio("wiod2013", data_path("wiod2013"), years=[YEAR])
    assert "va_published" not in ds and "va_component" not in ds.coords


def test_wiod2016_real_xlsb(tmp_path, t):
    """A real ``.xlsb`` (written by pyxlsbwriter, read through pandas' calamine engine) in the
    WIOD 2016 layout (module docstring of :mod:`brgvc.readers.wiod2016`)."""
    from pyxlsbwriter import XlsbWriter

    G = len(KEEP)
    sectors = [f"A{k:02d}" for k in range(N)]
    fd = list(wiod2016.FD_CODES)
    rows = [[f"World Input-Output Table {YEAR}"], ["(millions of US$)"],
            ["", "", "", "", *sectors * G, *fd * G, "GO"],
            ["", "", "", "", *[f"d{k}" for k in range(N)] * G, *fd * G, "Total output"],
            ["", "", "", "", *[r for r in KEEP for _ in sectors], *[r for r in KEEP for _ in fd],
             "TOT"],
            ["", "", "", "", *[f"c{k + 1}" for k in range(G * N + G * 5 + 1)]]]
    body = np.hstack([t["Z"], t["Y"], t["x"][:, None]])
    k = 0
    for r in KEEP:
        for s in sectors:
            rows.append([s, f"d{s}", r, f"r{k + 1}", *body[k].tolist()])
            k += 1
    zero = [0.0] * (G * N)
    for code, vals in (("II_fob", t["Z"].sum(0).tolist()), ("TXSP", t["tax"].tolist()),
                       ("EXP_adj", zero), ("PURR", zero), ("PURNR", zero),
                       ("VA", t["vab"].tolist()), ("IntTTM", zero), ("GO", t["x"].tolist())):
        rows.append([code, code, "TOT", code, *vals])
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]  # pyxlsbwriter needs equal lengths
    f = tmp_path / f"WIOT{YEAR}_Nov16_ROW.xlsb"
    with XlsbWriter(str(f)) as w:
        w.add_sheet(str(YEAR))
        w.write_sheet(rows)
    r = wiod2016.read_year(tmp_path, YEAR)
    for k in ("Z", "Y", "x"):
        np.testing.assert_array_equal(r[k], t[k], err_msg=k)
    assert r["va_components"] == ["TXSP", "EXP_adj", "PURR", "PURNR", "VA", "IntTTM"]
    assert r["va_total"] == ["VA"]
    np.testing.assert_array_equal(r["va_published"][4], t["vab"])


def test_xlsb_engine_missing_is_one_clear_line(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_calamine(name, *a, **kw):
        if name.startswith("python_calamine"):
            raise ImportError("No module named 'python_calamine'")
        return real(name, *a, **kw)

    f = tmp_path / f"WIOT{YEAR}_Nov16_ROW.xlsb"
    f.write_bytes(b"PK")
    monkeypatch.setattr(builtins, "__import__", no_calamine)
    with pytest.raises(MRIOError, match=r"WIOT2011_Nov16_ROW.xlsb \(year 2011\): reading this "
                                        r"workbook needs the package python-calamine"):
        wiod2016.read_year(tmp_path, YEAR)


# ---------------------------------------------------------------------------------------------
# Eora26 (thousand US$), EXIOBASE 3, FIGARO, GLORIA
# ---------------------------------------------------------------------------------------------


def write_eora(folder: Path, t: dict, *, bad: tuple[int, int, str] | None = None) -> None:
    """Eora26 as read by pymrio ``parse_eora26`` (tab-separated, no header, labels in
    ``labels_T/FD/VA.txt``), values in thousand US$ (worldmrio.com), with the ``ROW``
    discrepancy row and column; VA rows: 0 compensation (here the tax part), 3 surplus."""
    folder.mkdir(parents=True, exist_ok=True)
    G, GN = len(KEEP), len(KEEP) * N
    T = np.zeros((GN + 1, GN + 1))
    T[:GN, :GN] = t["Z"] * 1000
    FD = np.zeros((GN + 1, (G + 1) * 6))
    for g in range(G):
        FD[:GN, g * 6:g * 6 + 5] = t["Y"][:, g * 5:(g + 1) * 5] * 1000
    VA = np.zeros((6, GN + 1))
    VA[0, :GN] = t["tax"] * 1000
    VA[3, :GN] = t["vab"] * 1000
    for name, M in (("T", T), ("FD", FD), ("VA", VA)):
        lines = ["\t".join(f"{v:.0f}" for v in row) for row in M]
        if bad is not None and name == "T":
            i, j, text = bad
            cells = lines[i - 1].split("\t")
            cells[j - 1] = text
            lines[i - 1] = "\t".join(cells)
        (folder / f"Eora26_{YEAR}_bp_{name}.txt").write_text("\n".join(lines) + "\n")
    lt = [f"{r}\t{r}\tIndustries\tS{s}" for r in KEEP for s in range(N)] + \
        ["Rest of the World\tROW\tTotal\tTOTAL"]
    lf = [f"{r}\t{r}\tFinal Demand\tCat P.3{k}" for r in (*KEEP, "ROW") for k in range(6)]
    lv = [f"Primary Inputs\tVA{k}" for k in range(6)]
    for name, lines in (("labels_T.txt", lt), ("labels_FD.txt", lf), ("labels_VA.txt", lv)):
        (folder / name).write_text("\n".join(lines) + "\n")


def test_eora26_thousand_usd_divided_and_recorded(tmp_path, t):
    write_eora(tmp_path, t)
    r = eora26.read_year(tmp_path, YEAR)
    np.testing.assert_array_equal(r["Z"], t["Z"])
    Y = r["Y"].reshape(-1, len(KEEP), 6)[:, :, :5].reshape(len(t["x"]), -1)
    np.testing.assert_array_equal(Y, t["Y"])
    np.testing.assert_array_equal(r["va_published"][0], t["tax"])
    np.testing.assert_array_equal(r["va_published"][3], t["vab"])
    assert r["unit_factor"] == 1e-3
    ds = open_mrio("eora26", tmp_path)
    assert ds.attrs["unit"] == "million USD, current prices"
    assert ds.attrs["unit_published"] == "thousand USD, current prices"
    assert list(ds["va_component"].values) == [f"VA{k}" for k in range(6)]


def test_eora26_text_cell_named(tmp_path, t):
    write_eora(tmp_path, t, bad=(3, 7, "1,5e"))
    with pytest.raises(MRIOError, match=r"Eora26_2011_bp_T.txt \(year 2011\): non-numeric cell "
                                        r"at row 3, column 7 \(G3\): '1,5e'"):
        eora26.read_year(tmp_path, YEAR)


def _pymrio_text(cols: list[tuple[str, str]], second: str, keys, M) -> str:
    """pymrio text format (EXIOBASE 3 on Zenodo): header lines region / sector (or
    category) / index names, then ``region<TAB>sector<TAB>numbers``."""
    out = ["\t".join(["region", "", *[c[0] for c in cols]]),
           "\t".join([second, "", *[c[1] for c in cols]]),
           "\t".join(["region", "sector", *[""] * len(cols)])]
    for k, row in zip(keys, M, strict=True):
        out.append("\t".join([*k, *(f"{v:.0f}" for v in row)]))
    return "\n".join(out) + "\n"


def write_exiobase(path: Path, t: dict, *, x: bool = True, bad: str | None = None) -> None:
    """``IOT_YYYY_ixi.zip`` with ``IOT_YYYY_ixi/{Z,Y,x}.txt`` and ``factor_inputs/F.txt``
    (pymrio text format; EXIOBASE 3.8 layout on Zenodo)."""
    regs = ["CN", "DE", "JP", "MX", "US"]
    keys = [(r, f"sec {s}") for r in regs for s in range(N)]
    cats = list(exiobase3.FD_CODES)
    ycols = [(r, c) for r in regs for c in cats]
    Y7 = np.zeros((len(keys), len(ycols)))
    for g in range(len(regs)):
        Y7[:, g * 7:g * 7 + 5] = t["Y"][:, g * 5:(g + 1) * 5]
    z = _pymrio_text(keys, "sector", keys, t["Z"])
    if bad is not None:
        lines = z.splitlines()
        cells = lines[4].split("\t")
        cells[3] = bad
        lines[4] = "\t".join(cells)
        z = "\n".join(lines) + "\n"
    fi = ["Taxes less subsidies on products purchased: Total",
          "Compensation of employees; wages, salaries, & employers' social contributions: Low",
          "Operating surplus: Remaining net operating surplus", "Employment: Low-skilled"]
    Fm = np.vstack([t["tax"], t["vab"], np.zeros(len(keys)), np.ones(len(keys))])
    f_lines = ["\t".join(["region", *[k[0] for k in keys]]),
               "\t".join(["sector", *[k[1] for k in keys]]),
               "\t".join(["stressor", *[""] * len(keys)])]
    f_lines += ["\t".join([n, *(f"{v:.0f}" for v in row)]) for n, row in zip(fi, Fm, strict=True)]
    with zipfile.ZipFile(path, "w") as zf:
        base = f"IOT_{YEAR}_ixi"
        zf.writestr(f"{base}/Z.txt", z)
        zf.writestr(f"{base}/Y.txt", _pymrio_text(ycols, "category", keys, Y7))
        if x:
            zf.writestr(f"{base}/x.txt", "region\tsector\tindout\n" + "".join(
                f"{a}\t{b}\t{v:.0f}\n" for (a, b), v in zip(keys, t["x"], strict=True)))
        zf.writestr(f"{base}/factor_inputs/F.txt", "\n".join(f_lines) + "\n")


def test_exiobase_factor_inputs_and_x(tmp_path, t):
    write_exiobase(tmp_path / f"IOT_{YEAR}_ixi.zip", t)
    r = exiobase3.read_year(tmp_path, YEAR)
    for k in ("Z", "x"):
        np.testing.assert_array_equal(r[k], t[k], err_msg=k)
    assert r["va_components"][0].startswith("Taxes less subsidies")
    assert len(r["va_components"]) == 3  # employment is not a factor input
    assert r["va_total"] == r["va_components"][1:]
    np.testing.assert_array_equal(r["va_published"][:2], np.vstack([t["tax"], t["vab"]]))
    assert exiobase3.va_labels(tmp_path) == (r["va_components"], r["va_total"])


def test_exiobase_missing_x_and_text_cell(tmp_path, t):
    (tmp_path / "a").mkdir()
    write_exiobase(tmp_path / "a" / f"IOT_{YEAR}_ixi.zip", t, x=False)
    with pytest.raises(MRIOError, match=r"IOT_2011_ixi.zip: no x.txt \(gross output\)"):
        exiobase3.read_year(tmp_path / "a", YEAR)
    (tmp_path / "b").mkdir()
    write_exiobase(tmp_path / "b" / f"IOT_{YEAR}_ixi.zip", t, bad="--")
    # line 5 = the 2nd data line (after 3 header lines), field 4 = 2nd number
    with pytest.raises(MRIOError, match=r"Z.txt: non-numeric cell at row 5, column 4 \(D5\) "
                                        r"\[row label 'CN.sec 1'\]: '--'"):
        exiobase3.read_year(tmp_path / "b", YEAR)


def test_figaro_text_cell_is_an_mrio_error(tmp_path, t):
    """FIGARO matrix (Eurostat: ``rowLabels`` then ``AREA_CODE`` columns, ``W2_*`` rows)."""
    areas = ["CN", "DE", "JP", "MX", "US"]
    cols = [f"{a}_S{s}" for a in areas for s in range(N)]
    fdc = [f"{a}_{c}" for a in areas for c in figaro.FD_ORDER]
    Y = np.zeros((len(cols), len(fdc)))
    Y[:, :] = np.repeat(t["Y"].sum(1, keepdims=True), len(fdc), 1)
    df = pd.DataFrame(np.hstack([t["Z"], Y]), index=cols, columns=cols + fdc)
    va = pd.DataFrame(np.zeros((2, len(cols) + len(fdc))), index=["W2_D21X31", "W2_B2A3G"],
                      columns=cols + fdc)
    va.iloc[0, :len(cols)] = t["tax"]
    va.iloc[1, :len(cols)] = t["vab"]
    full = pd.concat([df, va]).astype(object)
    full.index.name = "rowLabels"
    full.to_csv(tmp_path / f"matrix_eu-ic-io_ind-by-ind_23ed_{YEAR}.csv")
    r = figaro.read_year(tmp_path, YEAR)
    np.testing.assert_array_equal(r["Z"], t["Z"])
    assert r["va_components"] == ["W2_D21X31", "W2_B2A3G"] and r["va_total"] == ["W2_B2A3G"]
    np.testing.assert_array_equal(r["va_published"], np.vstack([t["tax"], t["vab"]]))
    full.iloc[10, 20] = "confidential"
    full.to_csv(tmp_path / f"matrix_eu-ic-io_ind-by-ind_23ed_{YEAR}.csv")
    # data row 11 is line 12; matrix column 21 is field 22 (V)
    with pytest.raises(MRIOError, match=r"non-numeric cell at row 12, column 22 \(V12\) "
                                        r"\[row label 'CN_S10', column label 'CN_S20'\]: "
                                        r"'confidential'"):
        figaro.read_year(tmp_path, YEAR)


def test_gloria_text_cell_named(tmp_path):
    from openpyxl import Workbook

    G, n, K = 2, 2, 6
    n2 = 2 * G * n
    folder = tmp_path / f"GLORIA_MRIOs_59_{YEAR}"
    folder.mkdir()
    prefix = "20230314_120secMother_AllCountries_002"
    T = np.arange(n2 * n2, dtype=float).reshape(n2, n2)
    lines = [",".join(f"{v:.0f}" for v in row) for row in T]
    cells = lines[5].split(",")
    cells[2] = "NaN?"
    lines[5] = ",".join(cells)
    (folder / f"{prefix}_T-Results_{YEAR}_059_Markup001(full).csv").write_text(
        "\n".join(lines) + "\n")
    for kind, shape in (("Y", (n2, G * K)), ("V", (G * K, n2))):
        M = np.zeros(shape)
        (folder / f"{prefix}_{kind}-Results_{YEAR}_059_Markup001(full).csv").write_text(
            "\n".join(",".join("0" for _ in row) for row in M) + "\n")
    wb = Workbook()
    ws = wb.active
    ws.title = "Regions"
    ws.append(["Lfd_Nr", "Region_acronyms"])
    for k, c in enumerate(("DEU", "USA")):
        ws.append([k + 1, c])
    ws = wb.create_sheet("Sectors")
    ws.append(["Lfd_Nr", "Sector_names"])
    for k in range(n):
        ws.append([k + 1, f"s{k}"])
    ws = wb.create_sheet("Value added and final demand")
    ws.append(["Lfd_Nr", "Value_added_names", "Final_demand_names"])
    for k in range(K):
        ws.append([k + 1, f"va{k}", f"fd P.{k}"])
    wb.save(tmp_path / "GLORIA_ReadMe_059.xlsx")
    with pytest.raises(MRIOError, match=r"T-Results_2011_059_Markup001\(full\).csv: "
                                        r"non-numeric cell at row 6, column 3 \(C6\): 'NaN\?'"):
        gloria.read_year(tmp_path, YEAR)


def test_published_va_survives_the_cube_store(tmp_path, t):
    write_eora(tmp_path / "eora", t)
    ds = open_mrio("eora26", tmp_path / "eora", gross_output="published")
    write_cube(ds, tmp_path / "cube")
    back = open_cube(tmp_path / "cube", gross_output="published")
    np.testing.assert_array_equal(back["va_published"].values, ds["va_published"].values)
    assert [str(v) for v in back["va_component"].values] == [f"VA{k}" for k in range(6)]
    np.testing.assert_array_equal(published_value_added(back).values.reshape(-1),
                                  t["tax"] + t["vab"])
