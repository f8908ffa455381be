"""Aggregation of cubes with groupings and concordances: totals and identities preserved."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import dask
import numpy as np
import pytest

from brgvc.aggregate import (
    AggregationWarning,
    Concordance,
    aggregate,
    available_concordances,
    load_concordance,
)
from brgvc.datasets import open_dataset
from brgvc.readers import open_mrio
from brgvc.schema import MRIOError

_spec = importlib.util.spec_from_file_location(
    "make_fixtures", Path(__file__).parent / "fixtures" / "make_fixtures.py"
)
mf = sys.modules.setdefault("make_fixtures", importlib.util.module_from_spec(_spec))
if not hasattr(mf, "make"):
    _spec.loader.exec_module(mf)


@pytest.fixture(scope="module")
def wiod():
    return open_dataset("wiod2013", years=[1995, 2011])


def quiet(*args, **kw):
    kw.setdefault("warn", False)
    return aggregate(*args, **kw)


def test_builtin_concordances():
    assert {"wiod35_to_isic3", "wiod35_to_isic3_groups", "eora26_to_isic3_groups",
            "wiod35_to_eora26"} <= set(available_concordances())
    c = load_concordance("wiod35_to_eora26")
    assert len(c.targets) == 26 and len(c.mapping) == 35
    assert "Fishing" in c.targets and "Fishing" not in c.mapping.values()
    g1 = load_concordance("wiod35_to_isic3_groups")
    g2 = load_concordance("eora26_to_isic3_groups")
    assert set(g1.targets) == set(g2.targets)


def test_totals_and_identities_preserved(wiod):
    small = quiet(wiod, regions="belt_and_road", sectors="wiod35_to_isic3_groups",
                  database="wiod2013")
    assert small.sizes["region"] == 9 and small.sizes["sector"] == 23
    assert dask.is_dask_collection(small["Z"])
    small, full = small.compute(), wiod.compute()
    for v in ("Z", "Y", "x", "va", "x_published"):
        for y in (1995, 2011):
            np.testing.assert_allclose(float(small[v].sel(year=y).sum()),
                                       float(full[v].sel(year=y).sum()), rtol=1e-14)
    rows = small["Z"].sum(("region_to", "sector_to")) + small["Y"].sum(("region_to", "fd"))
    np.testing.assert_allclose(rows.values, small["x"].values, rtol=1e-12, atol=1e-6)
    cols = small["Z"].sum(("region", "sector")).rename(region_to="region", sector_to="sector")
    np.testing.assert_allclose((cols + small["va"]).values, small["x"].values, rtol=1e-12,
                               atol=1e-6)
    # China alone is unchanged in its own domestic block's total
    chn = full["Z"].sel(year=2011, region="CHN", region_to="CHN").sum()
    assert float(small["Z"].sel(year=2011, region="China", region_to="China").sum()) == \
        pytest.approx(float(chn))


def test_warns_that_decompositions_come_first(wiod):
    with pytest.warns(AggregationWarning, match="before the Leontief inverse"):
        aggregate(wiod, sectors="wiod35_to_isic3_groups")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        aggregate(wiod, sectors="wiod35_to_isic3_groups", warn=False)


def test_mapping_and_unmapped_codes(wiod):
    codes = [str(r) for r in wiod["region"].values]
    two = {c: ("EU" if c in ("DEU", "FRA", "ITA") else "World") for c in codes}
    out = quiet(wiod, regions=two).compute()
    assert [str(r) for r in out["region"].values] == ["World", "EU"]
    with pytest.raises(MRIOError, match="does not map 1 region"):
        quiet(wiod, regions={c: "X" for c in codes[1:]})
    with pytest.raises(MRIOError, match="not found"):
        quiet(wiod, sectors="no_such_concordance")


def test_targets_without_source_are_zero(wiod):
    eora = quiet(wiod.sel(year=[2011]), sectors="wiod35_to_eora26").compute()
    assert eora.sizes["sector"] == 26
    assert float(np.abs(eora["Z"].sel(sector="Fishing")).sum()) == 0.0
    assert float(eora["x"].sum()) == pytest.approx(float(wiod["x"].sel(year=2011).sum()))


def test_concordance_file_errors(tmp_path):
    bad = tmp_path / "c.csv"
    bad.write_text("from_code,to_code\na,X\na,Y\n")
    with pytest.raises(MRIOError, match="line 3"):
        load_concordance(bad)
    bad.write_text("code,target\na,X\n")
    with pytest.raises(MRIOError, match="from_code,to_code"):
        load_concordance(bad)
    ok = Concordance.from_mapping({"a": "X", "b": "X"}, targets=["X", "Z"])
    assert ok.targets == ("X", "Z")


def test_eora26_and_wiod35_meet_in_isic_groups(tmp_path):
    """The Eora26 fixture (WIOD summed into Eora's sectors) and WIOD itself, each aggregated
    to the common ISIC groups, are the same table: the bridge Eora26 <-> WIOD35 <-> ISIC."""
    exp = mf.make("eora26", tmp_path, years=(2011,))
    eora = open_mrio("eora26", tmp_path, gross_output="published")
    wiod = open_dataset("wiod2013", years=[2011], gross_output="published")
    a = quiet(eora, sectors="eora26_to_isic3_groups").compute()
    b = quiet(wiod, sectors="wiod35_to_isic3_groups").compute()
    assert [str(s) for s in a["sector"].values] == [str(s) for s in b["sector"].values]
    np.testing.assert_array_equal(a["Z"].values, b["Z"].values)
    np.testing.assert_array_equal(a["Y"].sum("fd").values, b["Y"].sum("fd").values)
    np.testing.assert_array_equal(a["x"].values, b["x"].values)
    assert exp[2011]["regions"][-1] == "RoW"
