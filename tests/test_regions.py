"""Tests of brgvc.regions: country table, aliases, groupings, membership and aggregation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brgvc import regions
from brgvc.regions import (
    Grouping,
    aggregate,
    capital_lonlat,
    country_name,
    load_countries,
    load_grouping,
    membership,
    to_iso3,
)

DATA = regions._DATA

WIOD_BRI = {
    "CHN", "RUS", "IND", "IDN", "TUR", "POL", "CZE", "SVK",
    "HUN", "SVN", "ROU", "BGR", "EST", "LVA", "LTU",
}  # fmt: skip

BRI_COUNTS = {
    "China": 1,
    "East Asia": 1,
    "Southeast Asia": 11,
    "South Asia": 8,
    "Central Asia": 5,
    "West Asia & North Africa": 16,
    "Central & Eastern Europe": 16,
    "CIS": 7,
}


@pytest.fixture(scope="module")
def wiod_codes() -> list[str]:
    return pd.read_csv(DATA / "wiod2013" / "countries.csv", keep_default_na=False)["code"].tolist()


@pytest.fixture(scope="module")
def bri() -> Grouping:
    return load_grouping("belt_and_road")


# -- country table ---------------------------------------------------------------------------


def test_countries_table_shape_and_codes():
    df = load_countries()
    assert df.index.name == "iso3"
    assert list(df.columns) == ["name", "capital", "lon", "lat"]
    assert df.index.is_unique
    assert len(df) >= 250
    iso_like = [c for c in df.index if c.isalpha() and c.isupper() and len(c) == 3]
    assert len(iso_like) >= 249
    for code in ("RoW", "SUD", "SDS", "USR", "ANT", "ROW"):
        assert code in df.index
    assert df.loc["SUD", "capital"] == "Khartoum"
    assert df.loc["SDS", "capital"] == "Juba"
    assert df.loc["USR", "capital"] == "Moscow"
    assert df.loc["ANT", "capital"] == "Willemstad"
    assert df.loc["RoW", "capital"] == ""
    assert np.isnan(df.loc["RoW", "lon"]) and np.isnan(df.loc["RoW", "lat"])


def test_countries_coordinates_in_range():
    df = load_countries()
    has = df["lon"].notna()
    assert (df["lon"].notna() == df["lat"].notna()).all()
    assert df.loc[has, "lon"].between(-180, 180).all()
    assert df.loc[has, "lat"].between(-90, 90).all()
    # a row with coordinates has a capital and vice versa
    assert ((df["capital"] != "") == has).all()


def test_load_countries_returns_a_copy():
    df = load_countries()
    df.loc["CHN", "name"] = "changed"
    assert load_countries().loc["CHN", "name"] == "China"


def test_every_bri_and_wiod_country_has_finite_coordinates(bri, wiod_codes):
    df = load_countries()
    for code in [*bri.members, *to_iso3(wiod_codes, "wiod2013")]:
        assert code in df.index, code
        if code == "RoW":
            continue
        lon, lat = capital_lonlat(code)
        assert math.isfinite(lon) and math.isfinite(lat), code


def test_beijing_and_other_capitals():
    lon, lat = capital_lonlat("CHN")
    assert lon == pytest.approx(116.4, abs=0.1)
    assert lat == pytest.approx(39.9, abs=0.1)
    lon, lat = capital_lonlat("ROM", database="wiod2013")  # Bucharest
    assert lon == pytest.approx(26.1, abs=0.2) and lat == pytest.approx(44.4, abs=0.2)
    lon, lat = capital_lonlat("USA")  # Washington, D.C. (quoted field in the CSV)
    assert lon == pytest.approx(-77.0, abs=0.2) and lat == pytest.approx(38.9, abs=0.2)
    assert load_countries().loc["USA", "capital"] == "Washington, D.C."
    assert all(math.isnan(v) for v in capital_lonlat("RoW"))


def test_country_name():
    assert country_name("ROM", database="wiod2013") == "Romania"
    assert country_name("ROU") == "Romania"
    assert country_name("CHN") == "China"
    assert country_name("RoW") == "Rest of the World"
    with pytest.raises(KeyError, match="QQQ"):
        country_name("QQQ")


# -- aliases -----------------------------------------------------------------------------------


def test_to_iso3_aliases():
    assert to_iso3(["ROM"], "wiod2013") == ["ROU"]
    assert to_iso3("ROM", "WIOD2013") == ["ROU"]
    # unambiguous aliases apply without naming the database
    assert to_iso3(["ROM", "CN1"]) == ["ROU", "CHN"]
    assert to_iso3(["CN1", "CN2", "MX1", "MX2", "ROW"], "oecd_icio") == [
        "CHN", "CHN", "MEX", "MEX", "RoW",
    ]  # fmt: skip
    assert to_iso3(["WA", "WE", "WF", "WL", "WM", "GB", "GR"], "exiobase3") == [
        "RoW", "RoW", "RoW", "RoW", "RoW", "GBR", "GRC",
    ]  # fmt: skip


def test_to_iso3_pass_through():
    # valid ISO codes, RoW and Eora's own codes are kept; unknown labels are kept unchanged
    assert to_iso3(["CHN", "RoW", "SUD", "USR", "ANT", "A"], "wiod2013") == [
        "CHN", "RoW", "SUD", "USR", "ANT", "A",
    ]  # fmt: skip
    # Eora's ROW is a discrepancy row, not the rest of the world
    assert to_iso3(["ROW"], "eora26") == ["ROW"]
    assert to_iso3(["ROW"]) == ["ROW"]


def test_aliases_file_targets_exist():
    aliases = pd.read_csv(DATA / "aliases.csv", keep_default_na=False)
    assert list(aliases.columns) == ["database", "code", "iso3"]
    assert not aliases.duplicated(["database", "code"]).any()
    assert (aliases["code"] != aliases["iso3"]).all()
    assert set(aliases["iso3"]) <= set(load_countries().index)
    assert ((aliases.database == "wiod2013") & (aliases.code == "ROM")).any()


# -- groupings ---------------------------------------------------------------------------------


def test_belt_and_road_grouping(bri):
    assert bri.name == "belt_and_road"
    assert len(bri.members) == 65
    assert bri.regions == tuple(BRI_COUNTS)
    assert {r: len(bri.members_of(r)) for r in bri.regions} == BRI_COUNTS
    assert bri.region_zh["China"] == "中国"
    assert bri.region_zh["West Asia & North Africa"] == "西亚北非"
    assert bri.region_zh["CIS"] == "独联体"
    assert set(bri.region_zh) == set(BRI_COUNTS)
    assert bri.region_of("CHN") == "China"
    assert bri.region_of("TLS") == "Southeast Asia"
    assert bri.region_of("GEO") == "CIS"
    assert bri.region_of("USA") is None
    assert bri.members_of("Central Asia") == ["KAZ", "UZB", "TKM", "KGZ", "TJK"]
    with pytest.raises(KeyError):
        bri.members_of("Atlantis")
    # all members are ISO codes of the country table
    assert set(bri.members) <= set(load_countries().index)


def test_official65_grouping(bri):
    off = load_grouping("belt_and_road_official65")
    assert "TLS" not in off.members
    assert off.region_of("GRC") == "West Asia & North Africa"
    assert off.region_of("CYP") == "West Asia & North Africa"
    assert off.region_of("EGY") == "West Asia & North Africa"
    assert len(off.members_of("Southeast Asia")) == 10
    assert len(off.members_of("West Asia & North Africa")) == 18
    assert off.regions == bri.regions
    assert len(off.members) == 66  # China + the official 65


def test_available_groupings():
    assert {"belt_and_road", "belt_and_road_official65"} <= set(regions.available_groupings())


def test_wiod2013_coverage(bri, wiod_codes):
    cov = bri.covered(wiod_codes, database="wiod2013")
    assert set(cov["present"]) == WIOD_BRI
    assert len(cov["present"]) == 15
    assert len(cov["missing"]) == 50
    assert set(cov["present"]).isdisjoint(cov["missing"])
    assert cov["codes"]["ROU"] == ["ROM"]
    assert cov["by_region"]["China"] == ["CHN"]
    assert cov["by_region"]["Central Asia"] == []
    assert cov["missing_by_region"]["East Asia"] == ["MNG"]
    # present follows grouping order
    order = list(bri.members)
    assert cov["present"] == sorted(cov["present"], key=order.index)


def test_coverage_of_split_countries(bri):
    cov = bri.covered(["CN1", "CN2", "MX1", "RUS", "ROW"], database="oecd_icio")
    assert cov["present"] == ["CHN", "RUS"]
    assert cov["codes"]["CHN"] == ["CN1", "CN2"]


def test_user_grouping_file(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "\ufeff# my grouping\niso3,region,extra\nCHN,Core,x\n\nJPN,Core,y\nUSA,Far,z\n",
        encoding="utf-8",
    )
    g = load_grouping(path)
    assert g.name == "mine"
    assert g.regions == ("Core", "Far")
    assert g.members_of("Core") == ["CHN", "JPN"]
    assert g.region_zh == {}
    assert load_grouping(str(path)).members == g.members


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("iso3,regio\nCHN,China\n", r"line 1: missing column"),
        ("code,region\nCHN,China\n", r"missing column"),
        ("iso3,region\nCHN,China\nRUS,CIS\nCHN,Other\n", r"line 4: duplicate iso3 'CHN'.*line 2"),
        ("iso3,region\nCHN,\n", r"line 2: empty region"),
        ("iso3,region\n,China\n", r"line 2: empty iso3"),
        ("iso3,region,region_zh\nCHN,A,甲\nRUS,A,乙\n", r"line 3: region 'A'"),
        ("iso3,region\n", r"no members"),
        ("", r"empty grouping file"),
    ],
)
def test_malformed_grouping_raises(tmp_path, content, match):
    path = tmp_path / "bad_grouping.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=match) as info:
        load_grouping(path)
    assert "bad_grouping.csv" in str(info.value)


def test_unknown_grouping_name_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="belt_and_road"):
        load_grouping("no_such_grouping")
    with pytest.raises(FileNotFoundError):
        load_grouping(tmp_path / "absent.csv")


# -- membership and aggregation ---------------------------------------------------------------


def test_membership_matrix(bri):
    codes = ["CHN", "ROM", "USA", "RoW", "SVK"]
    m = membership(codes, bri, database="wiod2013")
    assert m.dims == ("region", "group")
    assert m.region.dtype == object and m.group.dtype == object
    assert list(m.region.values) == codes
    assert list(m.group.values) == [*bri.regions, "Other"]
    assert m.dtype == np.float64
    np.testing.assert_array_equal(m.sum("group").values, np.ones(len(codes)))
    assert m.sel(region="CHN", group="China") == 1
    assert m.sel(region="ROM", group="Central & Eastern Europe") == 1
    assert m.sel(region="USA", group="Other") == 1
    assert m.sel(region="RoW", group="Other") == 1

    dropped = membership(codes, bri, database="wiod2013", other=None)
    assert list(dropped.group.values) == list(bri.regions)
    assert dropped.sel(region="USA").sum() == 0
    assert dropped.sel(region="RoW").sum() == 0

    with pytest.raises(ValueError, match="duplicate"):
        membership(["CHN", "CHN"], bri)
    with pytest.raises(ValueError, match="China"):
        membership(["CHN"], bri, other="China")


def _bilateral() -> xr.DataArray:
    codes = ["CHN", "ROM", "USA", "RoW", "RUS"]
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 10, size=(2, len(codes), len(codes)))
    return xr.DataArray(
        values,
        dims=("year", "region", "region_to"),
        coords={"year": [2000, 2001], "region": codes, "region_to": codes},
        name="vax",
        attrs={"unit": "USD million"},
    )


def test_aggregate_preserves_total_and_collects_other(bri):
    da = _bilateral()
    out = aggregate(da, bri, "region", database="wiod2013")
    assert out.dims == ("year", "region", "region_to")
    assert list(out.region.values) == [*bri.regions, "Other"]
    assert out.region.dtype == object
    assert out.name == "vax" and out.attrs["unit"] == "USD million"
    xr.testing.assert_allclose(out.sum("region"), da.sum("region"))
    np.testing.assert_allclose(
        out.sel(region="Other").values, da.sel(region=["USA", "RoW"]).sum("region").values
    )
    np.testing.assert_allclose(out.sel(region="CIS").values, da.sel(region="RUS").values)
    np.testing.assert_allclose(
        out.sel(region="Central & Eastern Europe").values, da.sel(region="ROM").values
    )
    np.testing.assert_allclose(out.sel(region="Central Asia").values, 0.0)


def test_aggregate_new_dim_both_sides_and_drop(bri):
    da = _bilateral()
    both = aggregate(
        aggregate(da, bri, "region", database="wiod2013", new_dim="src"),
        bri,
        "region_to",
        database="wiod2013",
        new_dim="dst",
    )
    assert both.dims == ("year", "src", "dst")
    np.testing.assert_allclose(both.sum(["src", "dst"]).values, da.sum(["region", "region_to"]))
    np.testing.assert_allclose(
        both.sel(src="China", dst="Other").values,
        da.sel(region="CHN", region_to=["USA", "RoW"]).sum("region_to").values,
    )

    # non-members dropped, and a NaN in a dropped row does not leak into the groups
    da2 = da.copy()
    da2.loc[{"region": "USA"}] = np.nan
    kept = aggregate(da2, bri, "region", database="wiod2013", other=None)
    assert list(kept.region.values) == list(bri.regions)
    assert np.isfinite(kept.values).all()
    np.testing.assert_allclose(
        kept.sum("region").values, da.sel(region=["CHN", "ROM", "RUS"]).sum("region").values
    )


def test_aggregate_dask_stays_lazy(bri):
    da = _bilateral().chunk({"year": 1})
    out = aggregate(da, bri, "region_to", database="wiod2013")
    assert out.chunks is not None
    xr.testing.assert_allclose(out.sum("region_to").compute(), da.sum("region_to").compute())


def test_aggregate_errors(bri):
    da = _bilateral()
    with pytest.raises(ValueError, match="exporter"):
        aggregate(da, bri, "exporter")
    with pytest.raises(ValueError, match="already"):
        aggregate(da, bri, "region", new_dim="region_to")
    with pytest.raises(ValueError, match="labels"):
        aggregate(xr.DataArray(np.ones(3), dims="region"), bri, "region")
