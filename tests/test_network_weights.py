"""Edge weights W1-W4 (docs/methods.md §5.2), the Rest node, ranks, negative-weight policy."""

from __future__ import annotations

import numpy as np
import pytest

from brgvc.core.kernels import IOSystem
from brgvc.core.leontief import YearSystem
from brgvc.network import (
    BACKBONE_VARS,
    NODE_VARS,
    SCALAR_VARS,
    backbone_stats,
    clip_negative,
    edge_weights,
    edge_weights_da,
    intra_group_share,
    member_mask,
    ranks,
    restrict,
    summarise,
)
from brgvc.regions import load_grouping
from tests import leather

# docs/methods.md §9: country-level V̂BÊ (M_c) and V̂BY of the leather table.
LEATHER_MC = np.array([
    [53.689956, 8.186849, 13.447898],
    [4.238859, 92.461753, 22.861519],
    [6.371185, 12.951397, 111.290583],
])
LEATHER_VBY = np.array([
    [44.867912, 18.493099, 28.238989],
    [24.661291, 68.358556, 52.680153],
    [38.970798, 57.748345, 127.480858],
])
# KWW T1..T5 (DVA) per exporter, docs/methods.md §9: the row sums of W3.
LEATHER_DVA = {
    "ARG": [19.349405, 18.971193, 8.411491, 5.259501, 0.825972],
    "TUR": [43.394614, 26.206777, 7.740053, 10.475795, 2.007578],
    "DEU": [78.731008, 15.239670, 2.748464, 5.689669, 4.433592],
}


@pytest.fixture(scope="module")
def ys() -> YearSystem:
    x = leather.Z.sum(1) + leather.Y.sum(1)
    np.testing.assert_allclose(x, leather.X, atol=1e-12)
    va = x - leather.Z.sum(0)
    s = IOSystem(leather.Z, leather.Y, x, va, 3, 3)
    return YearSystem(s, leather.REGIONS, leather.SECTORS, 2000)


def offdiag(M: np.ndarray) -> np.ndarray:
    out = np.array(M, dtype=float)
    np.fill_diagonal(out, 0.0)
    return out


class TestLeatherWeights:
    def test_w1_is_mc(self, ys):
        np.testing.assert_allclose(edge_weights(ys, "W1"), offdiag(LEATHER_MC), atol=2e-6)
        np.testing.assert_allclose(edge_weights(ys, "W1", diagonal=True), LEATHER_MC, atol=2e-6)

    def test_w2_is_vby(self, ys):
        np.testing.assert_allclose(edge_weights(ys, "W2"), offdiag(LEATHER_VBY), atol=2e-6)

    def test_w3_rows_are_kww_dva(self, ys):
        W3 = edge_weights(ys, "W3")
        assert np.all(np.diag(W3) == 0)
        for k, code in enumerate(leather.REGIONS):
            assert W3[k].sum() == pytest.approx(sum(LEATHER_DVA[code]), abs=5e-6)
        # and it is the china_va measure's default a_j (WWZ terms 1-8) for any focal country
        from brgvc.measures.china import value_added_obtained

        a = value_added_obtained(ys, focal="TUR", grouping=None)["a"]
        np.testing.assert_allclose(a.values, W3[1, [0, 2]], rtol=1e-12)

    def test_w4_is_country_sums_of_z(self, ys):
        Z = leather.Z.reshape(3, 3, 3, 3).sum(axis=(1, 3))
        np.testing.assert_allclose(edge_weights(ys, "W4", diagonal=True), Z, rtol=1e-12)
        np.testing.assert_allclose(edge_weights(ys, "W4"), offdiag(Z), rtol=1e-12)
        assert edge_weights(ys, "W4")[0, 1] == pytest.approx(3.2 + 4.3 + 0.4 + 0.1 + 3.2 + 1.6
                                                            + 0.0 + 0.1 + 0.3)

    def test_labelled_variant(self, ys):
        da = edge_weights_da(ys, "W1")
        assert da.dims == ("source", "sink")
        assert list(da["source"].values) == leather.REGIONS == list(da["sink"].values)
        assert int(da["year"]) == 2000 and da.attrs["weight"] == "W1"
        assert da.sel(source="ARG", sink="DEU").item() == pytest.approx(13.447898, abs=2e-6)

    def test_unknown_weight(self, ys):
        with pytest.raises(ValueError, match="W5"):
            edge_weights(ys, "W5")

    def test_network_on_w2_reproduces_the_published_strengths(self, ys):
        res = summarise(edge_weights(ys, "W2"), leather.REGIONS)
        np.testing.assert_allclose(res["out_strength"], [46.732088, 77.341444, 96.719142],
                                   rtol=1e-6)
        assert res["S2"] == pytest.approx(1.156628, rel=1e-6) and res["first"] == 2
        assert res["strength_rank"].tolist() == [3, 2, 1]


class TestRestrict:
    W = np.array([
        [0.0, 2.0, 3.0, 5.0],
        [1.0, 0.0, 1.0, 2.0],
        [4.0, 4.0, 0.0, 4.0],
        [9.0, 9.0, 9.0, 0.0],
    ])

    def test_rest_node_sums_non_members_and_keeps_the_share(self):
        members = np.array([True, True, False, False])
        sub, labels, is_member = restrict(self.W, list("ABCD"), members)
        assert labels == ["A", "B", "Rest"] and is_member.tolist() == [True, True, False]
        np.testing.assert_allclose(sub, [[0, 2, 8], [1, 0, 3], [13, 13, 0]])
        assert intra_group_share(sub, is_member) == pytest.approx(
            intra_group_share(self.W, members)) == pytest.approx(3 / 14)
        # summarise on the restricted matrix = summarise on the full one
        full = summarise(self.W, list("ABCD"), members=members, communities=False)
        part = summarise(sub, labels, members=is_member, communities=False)
        for key in ("total_flow", "intra_share", "S2", "density_weighted"):
            assert part[key] == pytest.approx(full[key])
        np.testing.assert_allclose(part["strength"], full["strength"])

    def test_without_rest_and_all_members(self):
        sub, labels, is_member = restrict(self.W, list("ABCD"), np.array([1, 0, 1, 0], bool),
                                          rest=None)
        assert labels == ["A", "C"] and is_member.all()
        np.testing.assert_allclose(sub, [[0, 3], [4, 0]])
        sub, labels, _ = restrict(self.W, list("ABCD"), np.ones(4, bool))
        assert labels == list("ABCD")

    def test_member_mask_matches_database_codes(self):
        mask, regs = member_mask(["ROM", "CHN", "USA", "RoW", "IDN"], load_grouping())
        assert mask.tolist() == [True, True, False, False, True]
        assert regs == ["Central & Eastern Europe", "China", None, None, "Southeast Asia"]


class TestNegativePolicy:
    W = np.array([
        [0.0, 5.0, -0.5, 1.0],
        [2.0, -9.0, 3.0, 1.0],
        [-0.25, 4.0, 0.0, 2.0],
        [1.0, 1.0, 1.0, 0.0],
    ])

    def test_clip_helper(self):
        a, n, mass = clip_negative(self.W)
        assert n == 2 and mass == pytest.approx(0.75)  # the -9 on the diagonal is no edge
        assert a.min() == 0 and a[1, 1] == 0 and a[0, 2] == 0
        with pytest.raises(ValueError, match="2 negative"):
            clip_negative(self.W, "raise")
        with pytest.raises(ValueError, match="negative must be"):
            clip_negative(self.W, "ignore")
        bad = self.W.copy()
        bad[0, 1] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            clip_negative(bad)

    def test_summarise_clips_and_reports(self):
        labels = list("ABCD")
        res = summarise(self.W, labels, communities=False)
        assert res["n_negative_edges"] == 2 and res["negative_mass"] == pytest.approx(0.75)
        clean = summarise(clip_negative(self.W)[0], labels, communities=False)
        assert clean["n_negative_edges"] == 0 and clean["negative_mass"] == 0.0
        for key in set(SCALAR_VARS) - {"intra_share", "n_negative_edges", "negative_mass"}:
            np.testing.assert_equal(res[key], clean[key])
        for key in NODE_VARS:
            np.testing.assert_array_equal(res[key], clean[key])

    def test_summarise_raise_policy(self):
        with pytest.raises(ValueError, match="negative"):
            summarise(self.W, list("ABCD"), negative="raise")

    def test_negative_mass_counts_the_rest_node_too(self):
        members = np.array([True, True, True, False])
        res = summarise(self.W, list("ABCD"), members=members, communities=False)
        assert res["n_negative_edges"] == 2
        assert len(res["strength"]) == 3


def test_ranks_and_backbone_stats():
    assert ranks(np.array([3.0, 7.0, 7.0, np.nan, 1.0])).tolist() == [3, 1, 2, 5, 4]
    rng = np.random.default_rng(3)
    W = rng.lognormal(size=(9, 9))
    labels = [f"N{i}" for i in range(9)]
    members = np.array([True] * 8 + [False])
    for bb in ("disparity", "threshold", "mean", "none"):
        full = summarise(W, labels, members=members, backbone=bb, tau=0.01, communities=False)
        part = backbone_stats(W, labels, members=members, backbone=bb, tau=0.01)
        assert set(part) == set(BACKBONE_VARS)
        for key in BACKBONE_VARS:
            np.testing.assert_array_equal(part[key], full[key])
    res = summarise(W, labels)
    assert res["strength_rank"][res["first"]] == 1
    assert sorted(res["coreness_rank"].tolist()) == list(range(1, 10))
    assert res["pagerank_rank"][int(np.argmax(res["pagerank"]))] == 1
