"""The measure registry, tidy tables, ``decompose`` and the focal-country (China) measures."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brgvc.core import YearSystem
from brgvc.datasets import open_dataset
from brgvc.measures import (
    DECOMPOSE_METHODS,
    MEASURES,
    WWZ_TERMS,
    Measure,
    capture_efficiency,
    decompose,
    get_measure,
    register,
    to_tidy,
    value_added_obtained,
    vby,
    wwz,
    wwz_groupings,
)
from brgvc.measures.registry import MEASURES as REGISTRY

from . import leather


@pytest.fixture(scope="module")
def ys() -> YearSystem:
    return YearSystem.from_cube(leather.cube())


@pytest.fixture(scope="module")
def wiod2011() -> YearSystem:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return YearSystem.from_cube(open_dataset("wiod2013", years=[2011]), 2011)


def _options(name: str) -> dict:
    if name == "china_va":
        return {"focal": "ARG", "grouping": {"TUR": "West", "DEU": "Europe"}}
    if name == "china_efficiency":
        return {"focal": "ARG", "benchmarks": ("DEU", "TUR", "USA"), "grouping": None}
    return {}


def test_registry_is_a_plain_dict_of_measures():
    assert MEASURES is REGISTRY
    assert set(DECOMPOSE_METHODS) <= set(MEASURES)
    for name, m in MEASURES.items():
        assert isinstance(m, Measure)
        assert m.name == name
        assert m.units and m.reference and m.level in ("sector", "bilateral", "country")
        assert m.func.__doc__, name
        assert m.description


def test_get_measure_unknown_lists_known_names():
    with pytest.raises(KeyError, match=r"unknown measure 'nope'.*wwz"):
        get_measure("nope")


def test_register_custom_measure(ys):
    def dva_share(ys):
        """DVA share of gross exports (KWW)."""
        k = get_measure("kww")(ys)
        return (k["DVA"] / k["exports"]).rename("dva_share")

    m = register(Measure("test_dva_share", ("exporter",), "1", "KWW 2014", dva_share, "country"))
    try:
        out = get_measure("test_dva_share")(ys)
        assert out.dims == ("exporter",)
        assert float(out.sel(exporter="ARG")) == pytest.approx(52.817562 / 64.3, rel=1e-6)
        assert m.description == "DVA share of gross exports (KWW)."
    finally:
        MEASURES.pop("test_dva_share")


@pytest.mark.parametrize("name", sorted(MEASURES))
def test_every_measure_runs_with_declared_dims_and_tidies(ys, name):
    m = get_measure(name)
    out = m(ys, **_options(name))
    assert isinstance(out, (xr.Dataset, xr.DataArray))
    arrays = [out] if isinstance(out, xr.DataArray) else list(out.data_vars.values())
    assert any(set(m.dims) <= set(a.dims) for a in arrays), (name, [a.dims for a in arrays])
    df = to_tidy(out, name)
    assert list(df.columns[-2:]) == ["term", "value"]
    assert df.columns[0] == "year" and (df["year"] == 2000).all()
    self_pairs = sum(a.size // a.sizes["exporter"] for a in arrays
                     if {"exporter", "importer"} <= set(a.dims))
    assert len(df) == sum(a.size for a in arrays) - self_pairs


def test_to_tidy_wwz_columns_and_sums(ys):
    df = to_tidy(wwz(ys), "wwz")
    assert list(df.columns) == ["year", "exporter", "sector", "importer", "term", "value"]
    assert df.attrs["method"] == "wwz"
    terms = df[df.term.isin(WWZ_TERMS)]
    by_cell = terms.groupby(["exporter", "sector", "importer"])["value"].sum()
    exports = df[df.term == "exports"].set_index(["exporter", "sector", "importer"])["value"]
    pd.testing.assert_series_equal(by_cell.sort_index(), exports.sort_index(), check_names=False,
                                   rtol=1e-12)


def test_to_tidy_dataarray_keeps_its_own_dims(ys):
    df = to_tidy(vby(ys), "vby")
    assert list(df.columns) == ["year", "source", "sink", "term", "value"]
    assert set(df.term) == {"vby"}
    assert df.value.sum() == pytest.approx(leather.Y.sum(), rel=1e-12)  # world GDP


@pytest.mark.parametrize("method", DECOMPOSE_METHODS)
def test_decompose_leather(method):
    df = decompose(leather.cube(), method, 2000)
    assert len(df) > 0 and df["value"].notna().any()
    assert df.attrs["method"] == method
    if method in ("wwz", "bm_src", "bm_snk"):
        assert list(df.columns[:4]) == ["year", "exporter", "sector", "importer"]


def test_decompose_options_and_errors():
    df = decompose(leather.cube(), "wwz", level="bilateral")
    assert "sector" not in df.columns
    with pytest.raises(KeyError, match="known measures"):
        decompose(leather.cube(), "wwzz")


def test_wwz_levels_and_groupings(ys):
    sec = wwz(ys, groupings=True)
    bil = wwz(ys, level="bilateral")
    cty = wwz(ys, level="country")
    np.testing.assert_allclose(sec["DVA_FIN"].sum("sector"), bil["DVA_FIN"])
    np.testing.assert_allclose(bil["exports"].sum("importer"), cty["exports"])
    g = wwz_groupings(sec)
    np.testing.assert_allclose(g["FIN"], ys.system.Yd.reshape(3, 3, 3) * (1 - np.eye(3))[:, None],
                               atol=1e-12)
    total = g["DVA"] + g["DDC"] + g["FVA"] + g["FDC"]
    np.testing.assert_allclose(total, sec["exports"], atol=1e-12)
    with pytest.raises(ValueError, match="level"):
        wwz(ys, level="nope")


# -- focal country (docs/methods.md §6) ------------------------------------------------------------


def test_value_added_obtained_leather(ys):
    grouping = {"TUR": "West Asia", "DEU": "Europe"}
    a = value_added_obtained(ys, focal="ARG", grouping=grouping)
    w = wwz(ys, level="bilateral").sel(exporter="ARG")
    dva = sum(w[t] for t in WWZ_TERMS[:8])
    np.testing.assert_allclose(a["a"].values, dva.sel(importer=["TUR", "DEU"]).values)
    assert float(a["share"].sum()) == pytest.approx(1.0)
    assert list(a["group"].values) == ["West Asia", "Europe"]
    np.testing.assert_allclose(a["a_group"].values, a["a"].values)
    # alternatives
    mc = value_added_obtained(ys, focal="ARG", measure="mc", grouping=None)
    np.testing.assert_allclose(mc["a"].values, [8.186849, 13.447898], rtol=1e-6)
    vx = value_added_obtained(ys, focal="ARG", measure="vax", grouping=None)
    np.testing.assert_allclose(vx["a"].values, [18.493099, 28.238989], rtol=1e-6)
    gi = value_added_obtained(ys, focal="ARG", measure="gvc_income", grouping=None)
    np.testing.assert_allclose(gi["a"].values, [9.305325, 23.336860], rtol=1e-6)
    with pytest.raises(ValueError, match="measure"):
        value_added_obtained(ys, focal="ARG", measure="nope")
    with pytest.raises(KeyError, match="CHN"):
        value_added_obtained(ys)


def test_capture_efficiency_leather(ys):
    ce = capture_efficiency(ys, focal="ARG", benchmarks=("DEU", "TUR", "USA", "ARG"),
                            grouping=None)
    assert list(ce["benchmark"].values) == ["DEU", "TUR"]  # USA absent, ARG is the focal
    w = wwz(ys, level="bilateral").sel(exporter="ARG", importer=["TUR", "DEU"])
    fin = w["DVA_FIN"] + w["MVA_FIN"] + w["OVA_FIN"]
    np.testing.assert_allclose(ce["e3"].values, (w["DVA_FIN"] / fin).values)
    inter = w["exports"] - fin
    np.testing.assert_allclose(ce["e3_int"].values,
                               (sum(w[t] for t in WWZ_TERMS[1:8]) / inter).values)
    P = [9.305325, 23.336860]
    np.testing.assert_allclose(ce["e1"].values, np.divide(P, [126.5, 263.5]), rtol=1e-6)
    np.testing.assert_allclose(ce["e2"].values, P / inter.values, rtol=1e-6)
    # benchmark DEU into TUR, and a benchmark is undefined in its own market
    assert np.isnan(float(ce["e3_bench"].sel(benchmark="DEU", partner="DEU")))
    e3_deu_tur = float(ce["e3_bench"].sel(benchmark="DEU", partner="TUR"))
    assert float(ce["e3_ratio"].sel(benchmark="DEU", partner="TUR")) == pytest.approx(
        float(ce["e3"].sel(partner="TUR")) / e3_deu_tur)


@pytest.mark.slow
def test_china_measures_on_wiod(wiod2011):
    a = value_added_obtained(wiod2011)  # CHN, WWZ terms 1-8, Belt-and-Road regions
    assert a.attrs["focal"] == "CHN"
    assert "CHN" not in list(a["partner"].values)
    assert float(a["share_group"].sum()) == pytest.approx(1.0)
    assert float(a["a_group"].sum()) == pytest.approx(float(a["a"].sum()))
    assert "Other" in list(a["group"].values)
    # ROM (WIOD's code for Romania) is found through the ISO3 aliases
    assert float(a["a"].sel(partner="ROM")) > 0
    ce = capture_efficiency(wiod2011)
    assert list(ce["benchmark"].values) == ["USA", "JPN", "DEU", "KOR", "RUS", "IND"]
    e3 = ce["e3"].values
    assert np.all((e3 > 0.5) & (e3 < 1.0))
    for k in ("e1", "e2", "e3", "e3_int"):
        assert f"{k}_group" in ce
    w = wwz(wiod2011, level="bilateral").sel(exporter="CHN").drop_sel(importer="CHN")
    fin = w["DVA_FIN"] + w["MVA_FIN"] + w["OVA_FIN"]
    np.testing.assert_allclose(e3, (1 - (w["MVA_FIN"] + w["OVA_FIN"]) / fin).values, rtol=1e-9)


@pytest.mark.slow
def test_decompose_wiod_wwz_tidy(wiod2011):
    ds = open_dataset("wiod2013", years=[2011])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = decompose(ds, "wwz", 2011)
    G, N = 41, 35
    assert len(df) == (len(WWZ_TERMS) + 1) * G * N * (G - 1)
    assert not (df.exporter == df.importer).any()
    assert set(df.year) == {2011}


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda ys: wwz(ys, level="x"), "level"),
        (lambda ys: get_measure("bm_src")(ys, level="x"), "level"),
        (lambda ys: get_measure("participation")(ys, level="x"), "level"),
        (lambda ys: get_measure("production_length")(ys, level="x"), "level"),
        (lambda ys: get_measure("gvc_income")(ys, level="x"), "level"),
        (lambda ys: get_measure("upstreamness")(ys, level="x"), "level"),
        (lambda ys: get_measure("downstreamness")(ys, level="x"), "level"),
        (lambda ys: get_measure("koopman")(ys, iv="x"), "iv"),
        (lambda ys: get_measure("hypothetical_extraction")(ys, method="x"), "method"),
    ],
)
def test_bad_options_raise(ys, call, match):
    with pytest.raises(ValueError, match=match):
        call(ys)


def test_bm_terms_bad_approach(ys):
    from brgvc.measures import bm_terms

    with pytest.raises(ValueError, match="approach"):
        bm_terms(ys.system, "middle")


@pytest.mark.slow
def test_hypothetical_extraction_by_solving_on_wiod(wiod2011):
    from brgvc.measures import hypothetical_extraction_dva, kww_terms

    s = wiod2011.system
    idx = [list(wiod2011.regions).index(c) for c in ("CHN", "LUX", "RoW")]
    solved = hypothetical_extraction_dva(s, method="solve", countries=idx)[idx]
    np.testing.assert_allclose(solved, kww_terms(s)[0:5].sum(0)[idx], rtol=1e-9)


def test_measures_of_other_modules_are_found_through_entry_points():
    """A fresh process (a Dask worker) finds the study's measure by name alone."""
    import subprocess
    import sys

    code = ("import sys; from brgvc.measures.registry import get_measure;"
            "assert 'brgvc.studies.belt_and_road.measures' not in sys.modules;"
            "m = get_measure('br_capture'); print(m.func.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "brgvc.studies.belt_and_road.measures"
