"""The decision rule and size-neutral indicators of the findings on constructed tables.

Every table here is built by hand so that the answer is known: nominal flows that all grow
while the members' intensity relative to their size falls, a leader that changes in a known
year, a region with one covered member.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brgvc.studies.belt_and_road.robust import (
    CANNOT,
    decide,
    group_flows,
    leaders,
    matrix_row,
    mcse,
    region_values,
    trend_test,
)

YEARS = [2000, 2001, 2002]
NODES = ["A", "B", "C", "Rest"]


def weights(draws: int = 5, growth: float = 1.5, rest_growth: float = 3.0) -> xr.DataArray:
    """(year, draw, net_source, net_sink): members A, B, C and Rest.

    Member-to-member flows are 1 and grow by ``growth`` a year; member <-> Rest flows are 2
    and grow by ``rest_growth``; draws multiply everything by 1 +- 1 % (so the order of the
    years is the same in every draw).
    """
    base = np.array([[0, 1, 1, 2], [1, 0, 1, 2], [1, 1, 0, 2], [2, 2, 2, 0]], float)
    rng = np.random.default_rng(0)
    out = np.empty((len(YEARS), draws + 1, 4, 4))
    for t in range(len(YEARS)):
        W = base.copy()
        W[:3, :3] *= growth**t
        W[3, :] *= rest_growth**t
        W[:, 3] *= rest_growth**t
        W[3, 3] = 0
        for d in range(draws + 1):
            out[t, d] = W * (1.0 if d == 0 else 1 + 0.01 * rng.standard_normal())
    return xr.DataArray(out, dims=("year", "draw", "net_source", "net_sink"),
                        coords={"year": YEARS, "draw": np.arange(draws + 1),
                                "net_source": NODES, "net_sink": NODES})


def test_nominal_growth_with_falling_size_adjusted_intensity_is_not_supported():
    W = weights()
    # world: every flow of W plus a Rest-internal 20 that grows 1.2x: the members' share of
    # world flows grows from 12/32 (inflows 3 + 6 + ... see below) while intra share falls.
    world = W.sum(("net_source", "net_sink")) + 20.0 * xr.DataArray(
        [1.0, 1.2, 1.44], dims="year", coords={"year": YEARS})
    g = group_flows(W, ["A", "B", "C"], world)
    base = g.isel(draw=0)
    # intra flows 6, 9, 13.5 (x1.5 a year): nominal growth
    np.testing.assert_allclose(base["total_flow"].values, [6.0, 9.0, 13.5])
    # intra share 6 / (6 + 6) = 0.5, then 9 / (9 + 18) = 1/3, then 13.5 / (13.5 + 54)
    np.testing.assert_allclose(base["intra_share"].values, [0.5, 1 / 3, 13.5 / 67.5])
    # world 6 + 12 + 20 = 38, then 9 + 36 + 24 = 69; members' inflows 6 + 6 = 12, 9 + 18 = 27
    np.testing.assert_allclose(base["size_share"].values[:2], [12 / 38, 27 / 69])
    np.testing.assert_allclose(base["intensity"].values[:2], [0.5 / (12 / 38),
                                                              (1 / 3) / (27 / 69)])
    rows = []
    for ind, primary in (("intensity", True), ("total_flow", False)):
        tt = trend_test(g[ind])
        rows.append(matrix_row(1, f"{ind}", f"{ind} rises", [float(tt["p"])], [int(tt["n"])],
                               primary=primary))
    tests = pd.DataFrame(rows)
    assert tests["holds"].tolist() == [False, True]  # total flow rises in every draw
    d = decide(tests)
    assert d["verdict"] == "partly supported"
    assert d["disagree"] == ["intensity"]
    # with the nominal level left out as the rule prescribes (context only): not supported
    assert decide(tests[tests["primary"]])["verdict"] == "not supported"


def test_without_the_focal_country():
    W = weights(draws=2)
    g = group_flows(W, ["B", "C"], None).isel(draw=0)
    # B, C: intra 2 (x1.5), outgoing of B and C: 2 + 2 (to A) + 4 (to Rest, x3)
    np.testing.assert_allclose(g["intra_share"].values,
                               [2 / 8, 3 / (3 + 3 + 12), 4.5 / (4.5 + 4.5 + 36)])
    assert np.isnan(g["intensity"].values).all()


def strength_table(draws: int = 10) -> xr.DataArray:
    """Strength of A, B, C: B leads in 2000-2001, A from 2002 (the switch year)."""
    base = np.array([[5.0, 9.0, 1.0], [7.0, 9.0, 1.0], [12.0, 9.0, 1.0]])
    rng = np.random.default_rng(1)
    out = base[:, None, :] * (1 + 0.01 * rng.standard_normal((3, draws + 1, 3)))
    out[:, 0] = base
    return xr.DataArray(out, dims=("year", "draw", "node"),
                        coords={"year": YEARS, "draw": np.arange(draws + 1),
                                "node": ["A", "B", "C"]})


def test_leader_switch_is_listed():
    lead = leaders(strength_table(), "A")
    assert lead["leader"].tolist() == ["B", "B", "A"]
    assert lead["switch"].tolist() == [False, False, True]
    assert lead["p_focal_first"].tolist() == [0.0, 0.0, 1.0]
    assert lead["n_draws"].tolist() == [10, 10, 10]
    # "A is first in every year" holds in no year but the last: not supported
    t = matrix_row(2, "W1/balanced", "A first every year", lead["p_focal_first"],
                   lead["n_draws"], primary=True)
    assert t["p_min"] == 0.0 and not t["holds"]
    assert decide(pd.DataFrame([t]))["verdict"] == "not supported"


def test_region_with_too_few_members_cannot_be_tested():
    v = xr.DataArray(np.array([[3.0, 1.0, 2.0]]), dims=("draw", "partner"),
                     coords={"draw": [0], "partner": ["P1", "P2", "P3"]})
    reg, count, dropped = region_values(v, {"P1": "East", "P2": "West", "P3": "West"}, 2)
    assert count == {"East": 1, "West": 2} and dropped == ["East"]
    assert reg["region"].values.tolist() == ["West"] and reg.values.ravel().tolist() == [3.0]
    t = matrix_row(3, "def", "East is the top region", [np.nan], [0], primary=True,
                   note="East: 1 covered member(s) < 2")
    assert not t["testable"]
    assert decide(pd.DataFrame([t]))["verdict"] == CANNOT


def test_decision_rule_on_every_case():
    def row(variant, p, primary=False, note=""):
        return matrix_row(1, variant, "t", [p], [200], primary=primary, note=note)

    assert decide(pd.DataFrame([row("a", 0.95, True), row("b", 0.9)]))["verdict"] == \
        "supported"
    d = decide(pd.DataFrame([row("a", 0.95, True), row("b", 0.89)]))
    assert d["verdict"] == "partly supported" and d["disagree"] == ["b"]
    assert decide(pd.DataFrame([row("a", 0.5, True), row("b", 0.1)]))["verdict"] == \
        "not supported"
    # the primary fails, a variant holds: partly
    assert decide(pd.DataFrame([row("a", 0.5, True), row("b", 0.99)]))["verdict"] == \
        "partly supported"
    # part of the primary claim untestable: never "supported"
    d = decide(pd.DataFrame([row("a", 0.99, True), row("a", np.nan, True, "too few")]))
    assert d["verdict"] == "partly supported" and "too few" in d["reason"]
    assert decide(pd.DataFrame())["verdict"] == CANNOT


def test_mcse_and_trend_test():
    assert mcse(0.9, 200) == pytest.approx(np.sqrt(0.09 / 200))
    assert mcse(1.0, 20) == 0.0
    da = xr.DataArray(np.array([[1.0, 1.0, 1.0], [2.0, 0.5, 3.0], [3.0, 4.0, 2.0]]),
                      dims=("year", "draw"), coords={"year": YEARS, "draw": [0, 1, 2]})
    tt = trend_test(da)
    # draw 1: 1, 0.5, 4 (slope +1.5, last > first); draw 2: 1, 3, 2 (slope +0.5, last > first)
    assert float(tt["p_slope"]) == 1.0 and float(tt["p_last_first"]) == 1.0
    assert float(tt["base_slope"]) == pytest.approx(1.0)
    tt = trend_test(da * xr.DataArray([1, 1, -1], dims="draw", coords={"draw": [0, 1, 2]}))
    assert float(tt["p"]) == 0.5
