"""Readers of other MRIO databases: each round-trips real WIOD 2013 numbers written in its
publisher's layout (tests/fixtures/make_fixtures.py) exactly, through ``read_year`` and through
the lazy ``open_mrio`` cube, and rejects files of the wrong layout with a clear MRIOError."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import dask
import numpy as np
import pytest

from brgvc.readers import (
    FORMATS,
    adb_mrio,
    common,
    eora26,
    exiobase3,
    figaro,
    gloria,
    oecd_icio,
    open_mrio,
    wiod2016,
)
from brgvc.schema import MRIOError

_spec = importlib.util.spec_from_file_location(
    "make_fixtures", Path(__file__).parent / "fixtures" / "make_fixtures.py"
)
mf = sys.modules.setdefault("make_fixtures", importlib.util.module_from_spec(_spec))
if not hasattr(mf, "make"):
    _spec.loader.exec_module(mf)


@pytest.fixture(scope="session")
def made(tmp_path_factory):
    """Write a format's fixture once per session: ``made(fmt, **kw) -> (folder, expected)``."""
    cache: dict = {}

    def get(fmt: str, **kw):
        key = (fmt, tuple(sorted(kw.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(fmt)
            cache[key] = (out, mf.make(fmt, out, **kw))
        return cache[key]

    return get


def assert_same(r: dict, e: dict) -> None:
    """Exact equality of a reader's output and the expected WIOD numbers and labels."""
    for k in ("regions", "sectors", "fd"):
        assert r[k] == e[k], k
    for k in ("Z", "Y", "x"):
        assert r[k].shape == e[k].shape, k
        np.testing.assert_array_equal(r[k], e[k], err_msg=k)


def cube_arrays(ds, year: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    one = ds.sel(year=year)
    G, N, F = ds.sizes["region"], ds.sizes["sector"], ds.sizes["fd"]
    Z = one["Z"].values.reshape(G * N, G * N)
    Y = one["Y"].values.reshape(G * N, G * F)
    return Z, Y, one["x_published"].values.reshape(-1)


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


def test_every_format_is_registered():
    for name in ("eora26", "oecd_icio", "oecd_icio_split", "wiod2016", "adb_mrio", "exiobase3",
                 "exiobase3_ixi", "exiobase3_pxp", "figaro", "gloria"):
        assert name in FORMATS


def test_eora26_round_trip_full_table_and_zip(made):
    folder, exp = made("eora26", years=(2011, 1995), zipped=(1995,))
    assert sorted(eora26.list_years(folder)) == [1995, 2011]
    assert eora26.labels(folder) == (exp[2011]["regions"], exp[2011]["sectors"],
                                     exp[2011]["fd"])
    for y in (2011, 1995):
        r = eora26.read_year(folder, y)
        assert_same(r, exp[y])
        assert len(r["regions"]) == 41 and len(r["sectors"]) == 26
        np.testing.assert_array_equal(r["va_published"], exp[y]["va_published"])
        assert set(r["sha256"]) == {k for k in r["sha256"]} and len(r["sha256"]) == 3


def test_eora26_reports_dropped_discrepancy(made):
    folder, exp = made("eora26", years=(2011, 1995), zipped=(1995,))
    for y in (2011, 1995):
        assert eora26.read_year(folder, y)["dropped"] == exp["dropped"][y]


def test_eora26_balanced_x_leaves_out_discrepancy(made):
    folder, exp = made("eora26", years=(2011, 1995), zipped=(1995,))
    ds = open_mrio("eora26", folder, years=[2011]).compute()
    e = exp[2011]
    np.testing.assert_allclose(ds["x"].values.reshape(-1), e["Z"].sum(1) + e["Y"].sum(1),
                               rtol=1e-13)
    np.testing.assert_array_equal(ds["x_published"].values.reshape(-1), e["x"])


@pytest.mark.parametrize("edition", ["2016", "2018", "2021", "2023"])
def test_oecd_icio_round_trip_merges_cn_mx_splits(made, edition):
    folder, exp = made("oecd_icio", years=(2011,))
    r = oecd_icio.read_year(folder / edition, 2011)
    assert_same(r, exp[edition][2011]["merged"])
    assert r["edition"] == edition
    assert r["merged_splits"]
    assert "CHN" in r["regions"] and "CN1" not in r["regions"]


@pytest.mark.parametrize("edition", ["2016", "2023"])
def test_oecd_icio_keeps_splits_on_request(made, edition):
    folder, exp = made("oecd_icio", years=(2011,))
    split = oecd_icio.read_year(folder / edition, 2011, keep_splits=True)
    assert_same(split, exp[edition][2011]["split"])
    assert {"CN1", "CN2", "MX1", "MX2"} <= set(split["regions"])
    assert oecd_icio.labels_split(folder / edition)[0] == split["regions"]
    # summing the splits again gives the merged table
    target = [oecd_icio.split_parent(r) for r in split["regions"]]
    Z, Y, _x, _regs = common.merge_regions(split["Z"], split["Y"], split["x"], split["regions"],
                                         len(split["sectors"]), len(split["fd"]), target)
    merged = exp[edition][2011]["merged"]
    np.testing.assert_array_equal(Z, merged["Z"])
    np.testing.assert_array_equal(Y, merged["Y"])


def test_oecd_icio_reports_tax_and_value_added_rows(made):
    folder, _ = made("oecd_icio", years=(2011,))
    dropped = oecd_icio.read_year(folder / "2023", 2011)["dropped"]
    assert {"row TLS", "row VA", "row OUT"} <= set(dropped)
    dropped = oecd_icio.read_year(folder / "2018", 2011)["dropped"]
    assert "row CN1_TAXSUB" in dropped and "row VALU" in dropped
    assert "column DISC" in oecd_icio.read_year(folder / "2016", 2011)["dropped"]


def test_wiod2016_round_trip_full_csv(made):
    folder, exp = made("wiod2016", years=(2011,), xlsx_years=())
    r = wiod2016.read_year(folder / "csv", 2011)
    assert_same(r, exp["csv"][2011])
    assert len(r["regions"]) == 41 and r["regions"][-1] == "RoW" and "ROU" in r["regions"]
    assert r["dropped"]["row VA TOT"] == pytest.approx(float((r["x"] - r["Z"].sum(0)).sum()))


def test_wiod2016_and_adb_round_trip_xlsx(made):
    pytest.importorskip("openpyxl")
    folder, exp = made("wiod2016", years=(), xlsx_years=(1995,))
    assert_same(wiod2016.read_year(folder / "xlsx", 1995), exp["xlsx"][1995])
    folder, exp = made("adb_mrio", years=(2011,))
    r = adb_mrio.read_year(folder, 2011)
    assert_same(r, exp[2011])
    assert r["regions"][0] == "CHN"  # ADB's PRC


@pytest.mark.parametrize("system", ["ixi", "pxp"])
def test_exiobase3_round_trip(made, system):
    folder, exp = made("exiobase3", years=(2011,))
    r = exiobase3.read_year(folder / system, 2011)
    assert_same(r, exp[2011])
    assert r["system"] == system and not r["from_coefficients"]
    assert_same(exiobase3.read_year(folder / "both", 2011, system), exp[2011])


def test_exiobase3_from_coefficients(made):
    folder, exp = made("exiobase3", years=(2011,))
    r = exiobase3.read_year(folder / "coefficients", 2011)
    assert r["from_coefficients"]
    np.testing.assert_allclose(r["Z"], exp[2011]["Z"], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(r["Y"], exp[2011]["Y"])


def test_exiobase3_refuses_ambiguous_systems(made):
    folder, _ = made("exiobase3", years=(2011,))
    with pytest.raises(MRIOError, match="both ixi and pxp"):
        exiobase3.list_years(folder / "both")


@pytest.mark.parametrize("form", ["matrix", "flat"])
def test_figaro_round_trip(made, form):
    folder, exp = made("figaro", years=(2011,))
    r = figaro.read_year(folder / form, 2011)
    assert_same(r, exp[2011])
    assert r["form"] == form
    assert r["dropped"]["row W2_B2A3G"] > 0


def test_gloria_round_trip_streams_row_blocks(made, monkeypatch):
    pytest.importorskip("openpyxl")
    folder, exp = made("gloria", years=(2011,))
    whole = gloria.read_year(folder, 2011)
    assert_same(whole, exp[2011])
    assert whole["diagonal_supply"]
    np.testing.assert_array_equal(whole["va_published"], exp[2011]["va_published"])
    monkeypatch.setattr(gloria, "ROW_BLOCK", 37)
    assert_same(gloria.read_year(folder, 2011), exp[2011])


OPEN_CASES = [
    ("eora26", "eora26", {"years": (2011, 1995), "zipped": (1995,)}, "", lambda e: e),
    ("oecd_icio", "oecd_icio", {"years": (2011,)}, "2021", lambda e: e["2021"]),
    ("oecd_icio_split", "oecd_icio", {"years": (2011,)}, "2018",
     lambda e: {y: v["split"] for y, v in e["2018"].items()}),
    ("wiod2016", "wiod2016", {"years": (2011,), "xlsx_years": ()}, "csv", lambda e: e["csv"]),
    ("exiobase3_pxp", "exiobase3", {"years": (2011,)}, "both", lambda e: e),
    ("figaro", "figaro", {"years": (2011,)}, "flat", lambda e: e),
]


@pytest.mark.parametrize(("fmt", "maker", "kw", "sub", "pick"), OPEN_CASES,
                         ids=[c[0] for c in OPEN_CASES])
def test_open_mrio_lazy_round_trip(made, fmt, maker, kw, sub, pick):
    folder, exp = made(maker, **kw)
    exp = pick(exp)
    if fmt == "oecd_icio":
        exp = {y: v["merged"] for y, v in exp.items()}
    years = sorted(y for y in exp if isinstance(y, int))
    ds = open_mrio(fmt, folder / sub if sub else folder, gross_output="published")
    assert dask.is_dask_collection(ds["Z"])
    assert [int(y) for y in ds["year"].values] == years
    assert ds.attrs["format"] == fmt and ds.attrs["provenance"]
    for y in years:
        Z, Y, x = cube_arrays(ds, y)
        e = exp[y]
        assert [str(v) for v in ds["region"].values] == e["regions"]
        assert [str(v) for v in ds["fd"].values] == e["fd"]
        np.testing.assert_array_equal(Z, e["Z"])
        np.testing.assert_array_equal(Y, e["Y"])
        np.testing.assert_array_equal(x, e["x"])


@pytest.mark.filterwarnings("ignore::brgvc.schema.MRIOBalanceWarning")
def test_cli_ingest_eora26(made, tmp_path):
    cli = pytest.importorskip("brgvc.cli")
    from brgvc.readers.store import open_cube

    folder, exp = made("eora26", years=(2011, 1995), zipped=(1995,))
    store = tmp_path / "eora.zarr"
    assert cli.main(["ingest", "eora26", str(folder), "--out", str(store), "--years",
                     "2011"]) == 0
    ds = open_cube(store, gross_output="published")
    Z, Y, _x = cube_arrays(ds, 2011)
    np.testing.assert_array_equal(Z, exp[2011]["Z"])
    np.testing.assert_array_equal(Y, exp[2011]["Y"])


# --------------------------------------------------------------------------------------------
# Wrong layouts: clear errors naming file, year and what was expected
# --------------------------------------------------------------------------------------------


def test_missing_files_name_the_expected_pattern(tmp_path):
    for mod, pattern in ((eora26, "Eora26_YYYY_bp_T.txt"), (oecd_icio, "ICIO2021_YYYY"),
                         (wiod2016, "WIOT{YYYY}_Nov16_ROW"), (adb_mrio, "ADB-MRIO"),
                         (exiobase3, "IOT_YYYY"), (figaro, "eu-ic-io"),
                         (gloria, "T-Results")):
        with pytest.raises(MRIOError, match=pattern.replace("{", r"\{").replace("}", r"\}")):
            mod.list_years(tmp_path)


def test_eora26_truncated_matrix(made, tmp_path):
    folder, _ = made("eora26", years=(2011, 1995), zipped=(1995,))
    bad = tmp_path / "eora"
    bad.mkdir()
    for f in folder.iterdir():
        if f.suffix == ".txt":
            (bad / f.name).write_bytes(f.read_bytes())
    lines = (bad / "Eora26_2011_bp_T.txt").read_text().splitlines()
    (bad / "Eora26_2011_bp_T.txt").write_text("\n".join(lines[:-5]) + "\n")
    with pytest.raises(MRIOError, match=r"Eora26_2011_bp_T.txt \(year 2011\).*expected 1067 rows"):
        eora26.read_year(bad, 2011)
    (bad / "labels_T.txt").write_text("only\tone\n")
    with pytest.raises(MRIOError, match=r"labels_T\.txt"):
        eora26.read_year(bad, 2011)


def test_oecd_icio_wrong_layout_and_missing_cell(made, tmp_path):
    (tmp_path / "ICIO2021_2011.csv").write_text("a,b,c\nx,1,2\ny,3,4\n")
    with pytest.raises(MRIOError, match=r"not an OECD ICIO table.*expected columns"):
        oecd_icio.read_year(tmp_path, 2011)
    folder, _ = made("oecd_icio", years=(2011,))
    text = (folder / "2021" / "ICIO2021_2011.csv").read_text().splitlines()
    cells = text[3].split(",")
    cells[5] = ""
    text[3] = ",".join(cells)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ICIO2021_2011.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(MRIOError, match=r"ICIO2021_2011.csv \(year 2011\): empty cell at "
                                         r"row 4, column 6 \(F4\)"):
        oecd_icio.read_year(bad, 2011)


def test_wiod2016_wrong_layout(tmp_path):
    (tmp_path / "WIOT2011_Nov16_ROW.csv").write_text(
        "a,b,c,d,e,f\nA01,Crop,AUS,r1,1,2\nA02,Forest,AUS,r2,3,4\n")
    with pytest.raises(MRIOError, match="header rows above the body"):
        wiod2016.read_year(tmp_path, 2011)


def test_exiobase3_wrong_header(tmp_path):
    with zipfile.ZipFile(tmp_path / "IOT_2011_ixi.zip", "w") as zf:
        zf.writestr("IOT_2011_ixi/Z.txt", "foo\tbar\n1\t2\n")
        zf.writestr("IOT_2011_ixi/Y.txt", "region\t\tAT\ncategory\t\tx\n")
    with pytest.raises(MRIOError, match="expected header lines starting 'region' and 'sector'"):
        exiobase3.read_year(tmp_path, 2011)


def test_figaro_flat_missing_column(tmp_path):
    (tmp_path / "flatfile_eu-ic-io_ind-by-ind_23ed_2011.csv").write_text(
        "refArea,rowIi,counterpartArea,colIi\nAT,A01,AT,A01\n")
    with pytest.raises(MRIOError, match=r"missing columns \['obsValue'\]"):
        figaro.read_year(tmp_path, 2011)


def test_gloria_wrong_width(made, tmp_path):
    pytest.importorskip("openpyxl")
    folder, _ = made("gloria", years=(2011,))
    bad = tmp_path / "g"
    src = next(folder.glob("GLORIA_MRIOs_*"))
    (bad / src.name).mkdir(parents=True)
    for f in src.iterdir():
        data = f.read_text()
        if "_T-Results_" in f.name:
            data = "\n".join(line.rsplit(",", 1)[0] for line in data.splitlines()) + "\n"
        (bad / src.name / f.name).write_text(data)
    (bad / "GLORIA_ReadMe_059.xlsx").write_bytes(next(folder.glob("*.xlsx")).read_bytes())
    with pytest.raises(MRIOError, match="expected 490 columns"):
        gloria.read_year(bad, 2011)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def test_iso3_keeps_colliding_rest_of_world_codes():
    assert common.iso3_regions(["AT", "WA", "WE", "CN"], "exiobase3") == ["AUT", "WA", "WE",
                                                                           "CHN"]
    assert common.iso3_regions(["AT", "WM"], "exiobase3") == ["AUT", "RoW"]
    assert common.iso3_regions(["PRC", "ROW"], None, adb_mrio.ADB_CODES) == ["CHN", "RoW"]


def test_fd_code():
    assert common.fd_code("Changes in inventories P.52") == "P.52"
    assert common.fd_code("Household final consumption P.3h") == "P.3h"
    assert common.fd_code("HFCE") == "HFCE"


def test_region_block_chunks_and_store_round_trip(tmp_path):
    xr = pytest.importorskip("xarray")
    from brgvc.synthetic import synthetic_mrio

    c = common.region_block_chunks(49, 163, 7)
    assert c["Z"][1] * 163 * 49 * 163 * 8 <= 256 * 2**20 < (c["Z"][1] + 1) * 163 * 49 * 163 * 8
    assert common.region_block_chunks(41, 35, 5)["Z"] == (1, 41, 35, 41, 35)
    ds = synthetic_mrio(12, 30, seed=2)
    raw = ds[["Z", "Y", "x_published"]]
    enc = common.chunk_encoding(raw, target_bytes=12 * 30 * 30 * 8 * 4)
    assert enc["Z"]["chunks"] == (1, 4, 30, 12, 30)
    raw.to_zarr(tmp_path / "c.zarr", encoding=enc, zarr_format=3, consolidated=False)
    back = xr.open_zarr(tmp_path / "c.zarr", consolidated=False, zarr_format=3)
    assert back["Z"].data.chunksize == (1, 4, 30, 12, 30)
    np.testing.assert_array_equal(back["Z"].values, raw["Z"].values)
