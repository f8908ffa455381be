"""Exact identities of every decomposition on every WIOD 2013 year (balanced gross output).

Sectors with x <= 0 (about 20 per year, e.g. c35 "private households" in many countries;
LUX c5/c8 in 2011 had x = va = −1 under the first balanced convention) have a zero column of A
and v = 0, so the model gives them no value added: v·B = u' fails exactly in their columns.
What holds, and is tested:

* decomposition terms add up to gross exports for every exporting sector with x > 0; for a
  sector with x <= 0 every term is 0 (its exports, if the table books any, are not
  decomposed);
* value-added identities hold for the *model* value added v # x, which equals the table's va
  wherever x > 0 (and is 0 where x <= 0);
* PLv = U wherever v # x != 0 and PLy = D wherever x > 0.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from brgvc.core import YearSystem
from brgvc.datasets import open_dataset
from brgvc.measures import (
    BM_TERMS,
    KWW_TERMS,
    WWZ_TERMS,
    bm_terms,
    downstreamness_vector,
    gvc_income_sector,
    hypothetical_extraction_dva,
    kww_terms,
    participation_terms,
    production_length_terms,
    upstreamness_vector,
    wwz,
    wwz_terms,
    wwz_to_kww,
)

pytestmark = pytest.mark.slow

WIOD_YEARS = list(range(1995, 2012))
RTOL = 1e-9


@pytest.fixture(scope="module", params=WIOD_YEARS)
def ys(request) -> YearSystem:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ZeroOutputWarning: documented above
        ds = open_dataset("wiod2013", years=[request.param], gross_output="balanced")
        return YearSystem.from_cube(ds, request.param)


def _positive(ys) -> np.ndarray:
    s = ys.system
    return (s.x > 0).reshape(s.G, s.N)


def assert_sum_to(total, target, rtol=RTOL):
    """|total − target| <= rtol · max(|target|, floor), floor = 1e-6 · mean |target|."""
    floor = 1e-6 * np.abs(target).mean()
    err = np.abs(total - target)
    bound = rtol * np.maximum(np.abs(target), floor)
    assert (err <= bound).all(), f"max error {err.max():.3g}, worst ratio {(err / bound).max():.3g}"


@pytest.fixture(scope="module")
def wwz_cube(ys):
    return wwz_terms(ys.system)


def test_wwz_terms_sum_to_gross_exports(ys, wwz_cube):
    s = ys.system
    E = s.exports.reshape(s.G, s.N, s.G)
    pos = _positive(ys)
    total = wwz_cube.sum(0)
    assert_sum_to(total[pos], E[pos])
    # No value is attributed to exports of sectors without output.
    assert np.all(wwz_cube[:, ~pos, :] == 0)
    assert wwz_cube.shape == (len(WWZ_TERMS), s.G, s.N, s.G)


def test_kww_equals_mapped_wwz(ys, wwz_cube):
    k = kww_terms(ys.system)
    mapped = wwz_to_kww(wwz(ys, level="country"))
    for i, name in enumerate(KWW_TERMS):
        assert_sum_to(mapped[name].values, k[i])
    assert_sum_to(k.sum(0), ys.system.exports.sum(1).reshape(ys.system.G, -1).sum(1))


@pytest.mark.parametrize("approach", ["source", "sink"])
def test_bm_terms_sum_to_exports_and_match_kww(ys, approach):
    s = ys.system
    t = bm_terms(s, approach)
    assert t.shape == (len(BM_TERMS), s.G, s.N, s.G)
    E = s.exports.reshape(s.G, s.N, s.G)
    pos = _positive(ys)
    assert_sum_to(t.sum(0)[pos], E[pos])
    k = kww_terms(s)
    tot = t.sum((2, 3))
    assert_sum_to(tot[0] + tot[1], k[0:3].sum(0))  # VAX = DAVAX + REX = T1..T3
    assert_sum_to(tot[0] + tot[1] + tot[2], k[0:5].sum(0))  # DVA = T1..T5
    assert_sum_to(tot[2], k[3:5].sum(0))  # REF = T4 + T5


def test_bm_source_and_sink_agree_on_exporter_totals(ys):
    s = ys.system
    src = bm_terms(s, "source").sum((2, 3))
    snk = bm_terms(s, "sink").sum((2, 3))
    assert_sum_to(snk[4], src[4])  # FVA: each unit counted once in either convention
    assert_sum_to(snk[3] + snk[5], src[3] + src[5])  # DDC + FDC


def test_participation_rows_add_to_value_added(ys):
    s = ys.system
    p = participation_terms(s)
    total = p["V_D"] + p["V_RT"] + p["V_GVC_S"] + p["V_GVC_C"]
    pos = _positive(ys)
    va = s.va.reshape(s.G, s.N)
    assert_sum_to(total[pos], va[pos])
    assert np.all(total[~pos] == 0)
    np.testing.assert_allclose(p["va"][pos], va[pos], rtol=1e-12)
    cols = p["Y_D"] + p["Y_RT"] + p["Y_GVC_S"] + p["Y_GVC_C"]
    assert_sum_to(cols[pos], p["final_output"][pos])


def test_production_lengths(ys):
    s = ys.system
    t = production_length_terms(s)
    # Σ PLv·va = Σ PLy·Yt (both are u'V̂BBŶ1)
    lhs, rhs = t["Xv"].sum(), t["Xy"].sum()
    assert lhs == pytest.approx(rhs, rel=RTOL)
    # PLv = U and PLy = D
    va = t["va"].ravel()
    ok = va != 0
    PLv = t["Xv"].ravel()[ok] / va[ok]
    np.testing.assert_allclose(PLv, upstreamness_vector(s)[ok], rtol=RTOL)
    yt = t["final_output"].ravel()
    ok = (yt != 0) & (s.x > 0)
    PLy = t["Xy"].ravel()[ok] / yt[ok]
    np.testing.assert_allclose(PLy, downstreamness_vector(s)[ok], rtol=RTOL)
    # the three GVC segments add up to GVC production
    for side in ("v", "y"):
        seg = t[f"seg_dom_{side}"] + t[f"seg_cross_{side}"] + t[f"seg_for_{side}"]
        np.testing.assert_allclose(seg, t[f"Xv_GVC_{side}"], rtol=1e-8,
                                   atol=1e-10 * np.abs(t[f"Xv_GVC_{side}"]).max())


def test_gvc_income_column_sums_equal_final_output(ys):
    s = ys.system
    P = gvc_income_sector(s)  # (source, producer, sector)
    yt = s.Yd.sum(1).reshape(s.G, s.N)
    pos = _positive(ys)
    assert_sum_to(P.sum(0)[pos], yt[pos])


def test_hypothetical_extraction_equals_kww_dva(ys):
    s = ys.system
    he = hypothetical_extraction_dva(s)
    assert_sum_to(he, kww_terms(s)[0:5].sum(0))
