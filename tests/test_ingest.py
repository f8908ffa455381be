"""WIOD 2013 reader, cube store round trip, atomic ingest and bad input."""

from __future__ import annotations

import gzip
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brgvc.cli import main
from brgvc.datasets import data_path, open_dataset
from brgvc.readers import open_mrio
from brgvc.readers import store as store_mod
from brgvc.readers.store import IncompleteStoreWarning, open_cube, staging_path, write_cube
from brgvc.schema import MRIOBalanceWarning, MRIOError, validate

WIOD = data_path("wiod2013")


def read_direct(year: int) -> pd.DataFrame:
    return pd.read_csv(WIOD / f"wiot_{year}.csv.gz")


def test_open_dataset_is_lazy_one_chunk_per_year():
    ds = open_dataset("wiod2013", years=[1995, 2000, 2011])
    assert ds["Z"].dims == ("year", "region", "sector", "region_to", "sector_to")
    assert ds["Y"].dims == ("year", "region", "sector", "region_to", "fd")
    assert ds["Z"].chunks[0] == (1, 1, 1)
    assert ds.sizes["region"] == 41 and ds.sizes["sector"] == 35 and ds.sizes["fd"] == 5
    assert ds["region"].values[32] == "ROM" and ds["region"].values[-1] == "RoW"
    assert len(ds.attrs["provenance"]) == 3


@pytest.fixture(scope="module")
def cube_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ingest") / "cube.zarr"
    assert main(["ingest", "wiod2013", str(WIOD), "--out", str(out), "--years",
                 "1995,2011"]) == 0
    return out


def test_ingest_round_trip_equals_csv(cube_store):
    ds = open_cube(cube_store, gross_output="published")
    for year in (1995, 2011):
        df = read_direct(year)
        M = df.iloc[:, 2:].to_numpy(dtype=float)
        n = 1435
        np.testing.assert_array_equal(ds["Z"].sel(year=year).values.reshape(n, n), M[:, :n])
        np.testing.assert_array_equal(ds["Y"].sel(year=year).values.reshape(n, -1),
                                      M[:, n:n + 205])
        np.testing.assert_array_equal(ds["x"].sel(year=year).values.reshape(n), M[:, -1])


def test_reopen_identical_to_lazy_source(cube_store):
    lazy = open_dataset("wiod2013", years=[1995, 2011]).compute()
    stored = open_dataset(str(cube_store)).compute()
    xr.testing.assert_identical(lazy.drop_attrs(), stored.drop_attrs())
    assert stored.attrs["provenance"] == lazy.attrs["provenance"]
    assert stored.attrs["source"] == "WIOD" and stored.attrs["release"] == "2013"
    # Labels are variable-length strings in zarr v3 (no fixed-width unicode).
    import zarr

    g = zarr.open_group(cube_store, mode="r")
    assert g["region"].metadata.data_type.to_json(zarr_format=3) == "string"
    assert g["Z"].chunks[0] == 1


def test_ingest_is_atomic_per_year_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "cube.zarr"
    ds = open_mrio("wiod2013", WIOD, years=[1995, 1996, 1997], gross_output="published")
    calls = []
    real = store_mod._mark_done

    def crash_on_second(arr, i):
        calls.append(i)
        if len(calls) == 2:  # year 1996's data is written, its flag is not
            raise KeyboardInterrupt
        real(arr, i)

    monkeypatch.setattr(store_mod, "_mark_done", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        write_cube(ds, out)
    assert not out.exists()  # nothing at the final path
    staged = staging_path(out)
    with pytest.warns(IncompleteStoreWarning, match=r"\[1996, 1997\]"):
        partial = open_cube(staged)
    assert [int(y) for y in partial["year"].values] == [1995]
    monkeypatch.setattr(store_mod, "_mark_done", real)
    assert write_cube(ds, out) == [1996, 1997]  # only the missing years
    assert not staged.exists()
    full = open_cube(out, gross_output="published")
    ref = open_dataset("wiod2013", years=[1995, 1996, 1997], gross_output="published")
    np.testing.assert_array_equal(full["Z"].values, ref["Z"].values)
    assert write_cube(ds, out) == []


def _copy_year(tmp_path: Path, year: int = 2005) -> Path:
    folder = tmp_path / "wiod"
    folder.mkdir()
    shutil.copy(WIOD / f"wiot_{year}.csv.gz", folder)
    return folder / f"wiot_{year}.csv.gz"


def test_truncated_file_names_file_and_year(tmp_path):
    f = _copy_year(tmp_path)
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    out = tmp_path / "cube.zarr"
    with pytest.raises(MRIOError, match=r"wiot_2005\.csv\.gz \(year 2005\).*truncated"):
        write_cube(open_mrio("wiod2013", f.parent, gross_output="published"), out)
    assert not out.exists()
    with pytest.raises(MRIOError):
        open_cube(out)


def test_cli_reports_one_line_and_nonzero_exit(tmp_path, capsys):
    f = _copy_year(tmp_path)
    f.write_bytes(f.read_bytes()[:5000])
    rc = main(["ingest", "wiod2013", str(f.parent), "--out", str(tmp_path / "c.zarr")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err[-1].startswith("brgvc: error:") and "wiot_2005.csv.gz" in err[-1]


def _rewrite(f: Path, edit) -> None:
    df = pd.read_csv(f)
    df = edit(df)
    with gzip.open(f, "wt") as fh:
        df.to_csv(fh, index=False)


def test_missing_column_named(tmp_path):
    f = _copy_year(tmp_path)
    _rewrite(f, lambda df: df.drop(columns=["CHN_c7"]))
    with pytest.raises(MRIOError, match=r"year 2005.*missing \['CHN_c7'\]"):
        open_mrio("wiod2013", f.parent).compute()


def test_nan_cell_named(tmp_path):
    f = _copy_year(tmp_path)

    def blank(df):
        df["DEU_c12"] = df["DEU_c12"].astype(float)
        df.loc[35 * 6 + 3, "DEU_c12"] = np.nan  # row CHN.c4
        return df

    _rewrite(f, blank)
    with pytest.raises(MRIOError, match=r"year 2005.*row CHN\.c4, column DEU_c12"):
        open_mrio("wiod2013", f.parent).compute()


def test_non_numeric_cell_named(tmp_path):
    f = _copy_year(tmp_path)

    def garble(df):
        df["USA_GFCF"] = df["USA_GFCF"].astype(object)
        df.loc[2, "USA_GFCF"] = "12,5"
        return df

    _rewrite(f, garble)
    with pytest.raises(MRIOError, match=r"non-numeric cell at row AUS\.c3, column USA_GFCF"):
        open_mrio("wiod2013", f.parent).compute()


def test_unbalanced_rows_warned_with_cell(tmp_path):
    f = _copy_year(tmp_path)

    def unbalance(df):
        df.loc[35 * 9 + 11, "FRA_c12"] += 5_000_000  # DEU.c12 sells far more than its GO
        return df

    _rewrite(f, unbalance)
    ds = open_mrio("wiod2013", f.parent, gross_output="published").compute()
    report = validate(ds)
    rows = report.by_kind("row_balance")
    assert any(i.region == "DEU" and i.sector == "c12" and i.year == 2005 for i in rows)
    with pytest.warns(MRIOBalanceWarning, match=r"2005.*DEU\.c12"):
        write_cube(open_mrio("wiod2013", f.parent, gross_output="published"), tmp_path / "c.zarr")


def test_published_real_tables_validate_without_errors():
    ds = open_dataset("wiod2013", years=[1995, 2011], gross_output="published")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = validate(ds)
    assert report.ok, str(report.errors[:3])
    # 18 (1995) and 22 (2011) country-sectors have zero output, as the data README says.
    zero = report.by_kind("nonpositive_output")
    assert sum(i.year == 1995 for i in zero) == 18 and sum(i.year == 2011 for i in zero) == 22
    # Inventories are the only final-demand category where negatives are expected.
    info = [i for i in report.by_kind("negative_cell") if i.severity == "info"]
    assert info and all("INVEN" in i.detail for i in info)


def test_negative_intermediate_is_an_error(tmp_path):
    f = _copy_year(tmp_path)

    def negate(df):
        df.loc[0, "AUT_c1"] = -7
        return df

    _rewrite(f, negate)
    report = validate(open_mrio("wiod2013", f.parent, gross_output="published"))
    assert not report.ok
    err = report.errors[0]
    with pytest.raises(MRIOError, match="write_cube stores the database's own numbers"):
        write_cube(open_mrio("wiod2013", f.parent), tmp_path / "c.zarr")
    assert (err.year, err.region, err.sector, err.kind) == (2005, "AUS", "c1", "negative_cell")
    assert "AUT.c1" in err.detail
