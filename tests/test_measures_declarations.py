"""Measure declarations (docs/methods.md, "Measure declarations"): every declared output, dim,
label and unit is what the function really returns, on the leather table and on WIOD labels."""

from __future__ import annotations

import pytest
import xarray as xr

from brgvc.core import YearSystem
from brgvc.measures import MEASURES, get_measure
from brgvc.measures.registry import NEEDS, Measure, Output, list_measures, probe_system

from . import leather

GROUPING = {"TUR": "West", "DEU": "Europe"}

#: (measure, options) pairs: every level / variant the declarations describe.
CASES = [
    ("vby", {}), ("vby", {"level": "sector"}),
    ("vbe", {}), ("vbe", {"level": "source_sector"}), ("vbe", {"level": "export_sector"}),
    ("vbe", {"level": "full"}),
    ("gvc_income", {}), ("gvc_income", {"level": "sector"}), ("gvc_income", {"level": "full"}),
    ("vax", {}), ("kww", {}), ("kww", {"groupings": False}),
    ("wwz", {}), ("wwz", {"level": "bilateral", "groupings": True}), ("wwz", {"level": "country"}),
    ("bm_src", {}), ("bm_src", {"level": "bilateral"}), ("bm_snk", {"level": "country"}),
    ("participation", {}), ("participation", {"level": "sector"}),
    ("production_length", {}), ("production_length", {"level": "sector"}),
    ("position", {}), ("koopman", {}), ("koopman", {"iv": "dvx"}),
    ("upstreamness", {}), ("upstreamness", {"level": "country"}),
    ("downstreamness", {}), ("downstreamness", {"level": "country"}),
    ("hypothetical_extraction", {}),
    ("china_va", {"focal": "ARG", "grouping": GROUPING}),
    ("china_va", {"focal": "TUR", "grouping": None, "measure": "vax"}),
    ("china_efficiency", {"focal": "ARG", "benchmarks": ("DEU", "TUR", "USA"),
                          "grouping": GROUPING}),
    ("china_efficiency", {"focal": "DEU", "benchmarks": ("DEU", "ARG"), "grouping": None}),
    ("final_dva_rate", {}),
]  # fmt: skip

LABELS = {"region": list(leather.REGIONS), "sector": list(leather.SECTORS)}


@pytest.fixture(scope="module")
def ys() -> YearSystem:
    return YearSystem.from_cube(leather.cube())


def _arrays(out) -> dict[str, xr.DataArray]:
    if isinstance(out, xr.DataArray):
        return {str(out.name): out}
    return {str(k): v for k, v in out.data_vars.items()}


def test_cases_cover_every_measure():
    # Measures registered by other packages through the entry points (the study's
    # br_capture) are tested where they are defined.
    own = {n for n, m in MEASURES.items() if m.func.__module__.startswith("brgvc.measures")}
    assert {name for name, _ in CASES} == own


@pytest.mark.parametrize(("name", "options"), CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(CASES)])
def test_template_is_what_the_measure_returns(ys, name, options):
    m = get_measure(name)
    out = m(ys, **options)
    arrays = _arrays(out)
    template = m.template(LABELS, **options)
    assert list(template) == list(arrays)
    labels = m.dim_labels(LABELS, **options)
    for var, da in arrays.items():
        dims, shape = template[var]
        assert dims == da.dims, var
        assert shape == da.shape, var
        for d in dims:
            assert [str(v) for v in da[d].values] == labels[d], (var, d)
        assert da.attrs["units"] == m.variables(**options)[var].units
    assert out.attrs["method"] == name
    assert out.attrs["references"] == m.reference
    assert m.requirements(**options) <= set(NEEDS)


def test_template_at_wiod_size_without_computing():
    m = get_measure("wwz")
    regions = [f"R{k:02d}" for k in range(41)]
    t = m.template({"region": regions, "sector": [f"c{k}" for k in range(35)]})
    assert t["DVA_FIN"] == (("exporter", "sector", "importer"), (41, 35, 41))
    assert len(t) == 17
    ce = get_measure("china_efficiency").dim_labels(
        {"region": ["CHN", "USA", "ROM", "DEU"], "sector": ["c1"]}, database="wiod2013",
        grouping="belt_and_road")
    assert ce["partner"] == ["USA", "ROM", "DEU"]
    assert ce["benchmark"] == ["USA", "DEU"]
    assert "Central and Eastern Europe" in ce["group"] or len(ce["group"]) >= 1


def test_units_and_needs_declared():
    assert get_measure("wwz").requirements() == {"wwz"}
    assert get_measure("vbe").requirements() == set()
    assert get_measure("vbe").requirements(level="full") == {"dense_b"}
    assert get_measure("china_va").requirements(measure="vax") == set()
    vax = get_measure("vax").variables()
    assert vax["vax"].units == "unit of the table" and vax["vax_ratio"].units == "1"
    assert get_measure("production_length").variables()["PLv"].units == "stages"


def test_unknown_option_is_a_clear_error(ys):
    with pytest.raises(TypeError, match=r"measure 'wwz' has no option 'levl'.*level"):
        get_measure("wwz")(ys, levl="sector")
    with pytest.raises(ValueError, match="level must be one of"):
        get_measure("wwz").template(LABELS, level="nope")


def test_undeclared_measure_is_probed(ys):
    def dva_share(ys):
        """DVA share of gross exports (KWW)."""
        k = get_measure("kww")(ys)
        return (k["DVA"] / k["exports"]).rename("dva_share")

    m = Measure("x", ("exporter",), "1", "KWW 2014", dva_share, "country")
    assert m.template(LABELS) == {"dva_share": (("exporter",), (3,))}
    assert m.variables() == {}
    assert m(ys).attrs["units"] == "1"
    probe = probe_system(["a", "b"], ["s"])
    assert probe.system.x.tolist() == [1.0, 1.0]


def test_list_measures_rows():
    rows = list_measures()
    assert [r["name"] for r in rows] == sorted(MEASURES)
    wwz = next(r for r in rows if r["name"] == "wwz")
    assert wwz["options"] == {"level": "sector", "groupings": False}
    assert wwz["needs"] == ("wwz",)
    assert wwz["references"] == ("Wang, Wei & Zhu (2013), NBER WP 19677",)
    assert isinstance(Output(("a",), "1"), Output)


def test_wwz_terms_computed_once_per_system_and_shared(ys, monkeypatch):
    import sys

    import numpy as np

    from brgvc.core import IOSystem
    from brgvc.network.weights import edge_weights
    from brgvc.options import set_options

    mod = sys.modules["brgvc.measures.wwz"]
    calls = []
    compute = mod._wwz_terms
    monkeypatch.setattr(mod, "_wwz_terms", lambda s: (calls.append(s), compute(s))[1])
    s0 = ys.system
    s = IOSystem(s0.Z, s0.Yd, s0.x, s0.va, s0.G, s0.N)
    ys2 = YearSystem(s, ys.regions, ys.sectors, ys.year)
    opts = {"focal": "ARG", "grouping": None}
    va = get_measure("china_va")(ys2, **opts)
    eff = get_measure("china_efficiency")(ys2, **opts)
    w3 = edge_weights(ys2, "W3")
    terms = get_measure("wwz")(ys2)
    assert len(calls) == 1
    assert not mod.wwz_terms(s).flags.writeable
    # Identical numbers without the cache (every call computes anew, writable).
    with set_options(wwz_cache=False):
        fresh = mod.wwz_terms(s)
        assert fresh.flags.writeable and len(calls) == 2
        xr.testing.assert_identical(get_measure("china_va")(ys2, **opts), va)
        xr.testing.assert_identical(get_measure("china_efficiency")(ys2, **opts), eff)
        np.testing.assert_array_equal(edge_weights(ys2, "W3"), w3)
        xr.testing.assert_identical(get_measure("wwz")(ys2), terms)
    # leather: W3 row sums = KWW DVA (T1..T5) per exporter, docs/methods.md §9
    np.testing.assert_allclose(w3.sum(1), terms[list(terms.attrs["terms"][:8])].to_array()
                               .sum(("variable", "sector", "importer")), rtol=1e-12)


def test_docs_methods_contains_the_generated_declarations():
    from pathlib import Path

    from brgvc.measures.registry import methods_table_markdown

    text = (Path(__file__).resolve().parents[1] / "docs" / "methods.md").read_text("utf-8")
    begin, end = "<!-- BEGIN GENERATED MEASURES -->\n", "<!-- END GENERATED MEASURES -->"
    generated = text[text.index(begin) + len(begin):text.index(end)]
    assert generated == methods_table_markdown(), (
        "docs/methods.md is out of date: rerun brgvc.measures.registry.write_methods_table()")
    for name in MEASURES:
        assert f"| `{name}` |" in generated
