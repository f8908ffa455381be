"""Backbones and indicators of brgvc.network against hand-computed values and networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from brgvc.network import (
    average_path_length,
    betweenness,
    closeness,
    clustering,
    degree,
    density,
    disparity_filter,
    disparity_pvalues,
    distance_matrix,
    eigenvector,
    global_threshold,
    intra_group_share,
    mean_dichotomise,
    pagerank,
    primacy,
    regional_matrix,
    strength,
    top_k,
    total_flow,
)

# Country VBY of the decompr "leather" table (docs/methods.md §9), rows = source ARG, TUR, DEU,
# columns = absorbing country. The network uses its off-diagonal part.
LEATHER_VBY = np.array(
    [
        [44.867912, 18.493099, 28.238989],
        [24.661291, 68.358556, 52.680153],
        [38.970798, 57.748345, 127.480858],
    ]
)


def star(n: int) -> np.ndarray:
    """Bidirected star: node 0 linked both ways to every leaf with weight 1."""
    W = np.zeros((n, n))
    W[0, 1:] = 1.0
    W[1:, 0] = 1.0
    return W


def ring(n: int) -> np.ndarray:
    """Directed ring i -> i + 1 (mod n) with weight 1."""
    W = np.zeros((n, n))
    W[np.arange(n), (np.arange(n) + 1) % n] = 1.0
    return W


def random_network(n: int, p: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.lognormal(size=(n, n)) * (rng.random((n, n)) < p)
    np.fill_diagonal(W, 0.0)
    return W


def nx_digraph(W: np.ndarray) -> nx.DiGraph:
    G = nx.from_numpy_array(W, create_using=nx.DiGraph)
    for _, _, d in G.edges(data=True):
        d["distance"] = 1.0 / d["weight"]
    return G


def as_vector(values: dict, n: int) -> np.ndarray:
    return np.array([values[i] for i in range(n)])


# ----------------------------------------------------------------------- leather oracle


class TestLeather:
    """docs/methods.md §9 "network on VBY off-diagonal"; the off-diagonal row sums of the VBY
    matrix are the published out-strengths, so the VBY matrix is used directly."""

    def test_strength(self):
        s_out, s_in, s_tot = strength(LEATHER_VBY)
        np.testing.assert_allclose(s_out, [46.732088, 77.341444, 96.719142], rtol=1e-6)
        np.testing.assert_allclose(s_in, [63.632088, 76.241444, 80.919142], rtol=1e-6)
        np.testing.assert_allclose(s_tot, s_out + s_in)

    def test_pagerank(self):
        # Published to six decimals: half a unit in the last place is 1.8e-6 relative at
        # 0.274332, so compare to the rounding of the print rather than to rtol=1e-6.
        pr = pagerank(LEATHER_VBY, d=0.85)
        np.testing.assert_allclose(pr, [0.274332, 0.338678, 0.386990], rtol=0, atol=5e-7)
        np.testing.assert_array_equal(np.round(pr, 6), [0.274332, 0.338678, 0.386990])

    def test_primacy(self):
        p = primacy(strength(LEATHER_VBY)[2])
        assert p["first"] == 2  # DEU
        assert p["S2"] == pytest.approx(1.156628, rel=1e-6)
        assert np.isnan(p["S4"]) and np.isnan(p["S11"])  # only three nodes

    def test_vby_from_the_raw_table(self):
        # The matrix really is S diag(v) B Y of the leather table, so the network numbers
        # below chain back to the published Z, Y and X.
        from tests.leather import X, Y, Z

        A = Z / X
        v = (X - Z.sum(axis=0)) / X
        B = np.linalg.inv(np.eye(9) - A)
        S = np.kron(np.eye(3), np.ones((1, 3)))
        vby = S @ np.diag(v) @ B @ Y
        np.testing.assert_allclose(vby, LEATHER_VBY, rtol=1e-7)
        np.testing.assert_allclose(pagerank(vby), pagerank(LEATHER_VBY), rtol=1e-7)

    def test_total_flow_and_density(self):
        off = LEATHER_VBY.sum() - np.trace(LEATHER_VBY)
        assert total_flow(LEATHER_VBY) == pytest.approx(off, rel=1e-14)
        binary, weighted = density(LEATHER_VBY)
        assert binary == 1.0
        assert weighted == pytest.approx(off / 6, rel=1e-14)


# -------------------------------------------------------------------------- simple graphs


class TestStar:
    n = 6

    def test_betweenness_centre_is_one(self):
        bc = betweenness(star(self.n))
        assert bc[0] == pytest.approx(1.0, abs=1e-14)
        np.testing.assert_allclose(bc[1:], 0.0, atol=1e-14)

    def test_pagerank_centre_on_top(self):
        pr = pagerank(star(self.n))
        assert np.argmax(pr) == 0
        assert pr.sum() == pytest.approx(1.0)
        # By hand: x0 = (1-d)/n + d * sum_leaves x_l, x_l = (1-d)/n + d x0 / (n-1).
        d, n = 0.85, self.n
        x_leaf = ((1 - d) / n + d * (1 - d) / n / (n - 1) * 1) / (1 - d * d)
        x0 = (1 - d) / n + d * (n - 1) * x_leaf
        np.testing.assert_allclose(pr, [x0] + [x_leaf] * (n - 1), rtol=1e-12)

    def test_primacy_by_hand(self):
        # Centre strength 2 (n-1) = 10, leaves 2: S2 = 10 / 2 = 5, S4 = 10 / 6.
        p = primacy(strength(star(self.n))[2])
        assert p == {"S2": 5.0, "S4": pytest.approx(10 / 6), "S11": p["S11"], "first": 0}
        assert np.isnan(p["S11"])

    def test_closeness_and_path_length(self):
        W = star(self.n)
        # Centre is one hop from everyone; a leaf reaches 1 node at 1 and 4 at 2.
        np.testing.assert_allclose(closeness(W, "out", harmonic=False), [1.0] + [5 / 9] * 5)
        harm_leaf = (1 + 4 * 0.5) / 5
        np.testing.assert_allclose(closeness(W, "in"), [1.0] + [harm_leaf] * 5)
        # 10 pairs at distance 1 and 20 at distance 2 among 30 ordered pairs.
        assert average_path_length(W) == pytest.approx(50 / 30)
        assert average_path_length(W, harmonic=True) == pytest.approx(30 / (10 + 20 * 0.5))

    def test_clustering_zero_without_triangles(self):
        c, avg = clustering(star(self.n))
        np.testing.assert_array_equal(c, 0.0)
        assert avg == 0.0


class TestRing:
    n = 5

    def test_pagerank_uniform(self):
        np.testing.assert_allclose(pagerank(ring(self.n)), 1 / self.n, rtol=1e-12)

    def test_clustering_zero(self):
        c, avg = clustering(ring(self.n))
        np.testing.assert_array_equal(c, 0.0)
        assert avg == 0.0

    def test_betweenness_known(self):
        # Each node lies on the unique paths of the pairs (s, t) that pass it: sum over path
        # lengths L = 2..n-1 of (L - 1) = (n-1)(n-2)/2 per node, normalised by (n-1)(n-2).
        np.testing.assert_allclose(betweenness(ring(self.n)), 0.5, rtol=1e-14)
        np.testing.assert_allclose(betweenness(ring(self.n), normalized=False), 6.0)

    def test_distances(self):
        D = distance_matrix(ring(self.n))
        assert D[0, 4] == 4.0 and D[4, 0] == 1.0 and D[2, 1] == 4.0
        assert average_path_length(ring(self.n)) == pytest.approx(2.5)


class TestComplete:
    n = 7

    def W(self) -> np.ndarray:
        W = np.full((self.n, self.n), 3.0)
        np.fill_diagonal(W, 99.0)  # ignored
        return W

    def test_density_and_all_equal(self):
        W = self.W()
        assert density(W) == (1.0, 3.0)
        for vec in (
            pagerank(W),
            eigenvector(W),
            betweenness(W),
            closeness(W),
            clustering(W)[0],
            strength(W)[2],
        ):
            np.testing.assert_allclose(vec, vec[0], rtol=1e-12)
        np.testing.assert_allclose(pagerank(W), 1 / self.n)
        np.testing.assert_allclose(betweenness(W), 0.0, atol=1e-15)
        np.testing.assert_allclose(clustering(W)[0], 1.0)
        np.testing.assert_allclose(eigenvector(W), 1 / np.sqrt(self.n))
        assert average_path_length(W) == pytest.approx(1 / 3)

    def test_primacy_ties(self):
        p = primacy(strength(self.W())[2])
        assert p["S2"] == 1.0 and p["S4"] == pytest.approx(1 / 3) and p["first"] == 0


def test_primacy_by_hand():
    v = np.array([3.0, 30.0, 10.0, 5.0, 4.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    p = primacy(v)
    assert p["first"] == 1
    assert p["S2"] == pytest.approx(3.0)
    assert p["S4"] == pytest.approx(30 / (10 + 5 + 4))
    assert p["S11"] == pytest.approx(60 / (10 + 5 + 4 + 3 + 2 + 2 + 1 + 1 + 1 + 1))
    assert np.isnan(primacy(v[:10])["S11"])


# ------------------------------------------------------------------------- against networkx


@pytest.mark.parametrize(("n", "p", "seed"), [(12, 0.3, 1), (20, 0.2, 2), (25, 1.0, 3)])
class TestAgainstNetworkx:
    def test_betweenness(self, n, p, seed):
        W = random_network(n, p, seed)
        G = nx_digraph(W)
        ref = as_vector(nx.betweenness_centrality(G, weight="distance"), n)
        np.testing.assert_allclose(betweenness(W), ref, atol=1e-12)
        ref_hops = as_vector(nx.betweenness_centrality(G), n)
        np.testing.assert_allclose(betweenness(W, weighted=False), ref_hops, atol=1e-12)

    def test_closeness(self, n, p, seed):
        W = random_network(n, p, seed)
        G = nx_digraph(W)
        # networkx's closeness of u uses the distances *to* u.
        ref_in = as_vector(nx.harmonic_centrality(G, distance="distance"), n) / (n - 1)
        np.testing.assert_allclose(closeness(W, "in"), ref_in, rtol=1e-12)
        ref_out = as_vector(nx.harmonic_centrality(G.reverse(), distance="distance"), n)
        np.testing.assert_allclose(closeness(W, "out"), ref_out / (n - 1), rtol=1e-12)
        classic = closeness(W, "in", harmonic=False)
        ref = as_vector(nx.closeness_centrality(G, distance="distance"), n)
        ok = np.isfinite(classic)
        np.testing.assert_allclose(classic[ok], ref[ok], rtol=1e-12)

    def test_clustering(self, n, p, seed):
        W = random_network(n, p, seed)
        ref = as_vector(nx.clustering(nx_digraph(W), weight="weight"), n)
        c, avg = clustering(W)
        np.testing.assert_allclose(c, ref, atol=1e-14)
        assert avg == pytest.approx(ref.mean(), abs=1e-14)

    def test_pagerank(self, n, p, seed):
        W = random_network(n, p, seed)
        ref = as_vector(nx.pagerank(nx_digraph(W), tol=1e-15, max_iter=10_000), n)
        np.testing.assert_allclose(pagerank(W), ref, rtol=1e-9)
        ref_src = as_vector(nx.pagerank(nx_digraph(W.T), tol=1e-15, max_iter=10_000), n)
        np.testing.assert_allclose(pagerank(W, transpose=True), ref_src, rtol=1e-9)

    def test_eigenvector(self, n, p, seed):
        W = random_network(n, p, seed)
        G = nx.from_numpy_array(W + W.T)
        if not nx.is_connected(G):
            pytest.skip("Perron vector not unique on a disconnected graph")
        ref = as_vector(nx.eigenvector_centrality_numpy(G, weight="weight"), n)
        np.testing.assert_allclose(eigenvector(W), ref, rtol=1e-9)

    def test_average_path_length(self, n, p, seed):
        W = random_network(n, p, seed)
        G = nx_digraph(W)
        lengths = dict(nx.all_pairs_dijkstra_path_length(G, weight="distance"))
        d = [lengths[i][j] for i in range(n) for j in lengths[i] if j != i]
        assert average_path_length(W) == pytest.approx(np.mean(d), rel=1e-12)
        harm = n * (n - 1) / np.sum(1 / np.array(d))
        assert average_path_length(W, harmonic=True) == pytest.approx(harm, rel=1e-12)


def test_betweenness_usd_scale_ties():
    # Distances of ~1e-9 (flows in USD) must still resolve ties by relative tolerance: a
    # 4-cycle has two equal shortest paths between opposite corners.
    W = np.zeros((4, 4))
    for i in range(4):
        W[i, (i + 1) % 4] = W[(i + 1) % 4, i] = 1e9
    np.testing.assert_allclose(betweenness(W), betweenness(W / 1e9), rtol=1e-12)
    np.testing.assert_allclose(betweenness(W, normalized=False), 1.0)


def test_pagerank_dangling_matches_networkx():
    W = np.array([[0, 1, 2, 0], [0, 0, 3, 0], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=float)
    ref = as_vector(nx.pagerank(nx_digraph(W), tol=1e-15, max_iter=10_000), 4)
    np.testing.assert_allclose(pagerank(W), ref, rtol=1e-9)


# ------------------------------------------------------------------------------- backbones


def a_in_at(W: np.ndarray, i: int, j: int) -> float:
    return float(disparity_pvalues(W)[1][i, j])


class TestBackbone:
    # Hand example: node 0 sends 8, 1, 1 to nodes 1, 2, 3 (k = 3, s = 10).
    W = np.array(
        [
            [0.0, 8.0, 1.0, 1.0],
            [2.0, 0.0, 0.0, 0.0],
            [1.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 4.0, 0.0],
        ]
    )

    def test_disparity_alphas_by_hand(self):
        a_out, a_in = disparity_pvalues(self.W)
        # Out-side of 0: p = 0.8 -> (0.2)^2 = 0.04; p = 0.1 -> 0.9^2 = 0.81.
        assert a_out[0, 1] == pytest.approx(0.04)
        assert a_out[0, 2] == pytest.approx(0.81)
        # Node 2 sends 1, 1 (k = 2): (1 - 0.5)^1 = 0.5. Nodes 1 and 3 have one out-edge: 0.
        assert a_out[2, 0] == pytest.approx(0.5)
        assert a_out[1, 0] == 0.0 and a_out[3, 2] == 0.0
        # In-side of node 2 receives 1 (from 0) and 4 (from 3): k = 2, s = 5.
        assert a_in[0, 2] == pytest.approx(0.8)
        assert a_in[3, 2] == pytest.approx(0.2)
        # Node 0 receives 2 and 1 (k = 2, s = 3): (1 - 2/3) = 1/3 and 2/3.
        assert a_in[1, 0] == pytest.approx(1 / 3)
        assert a_in[2, 0] == pytest.approx(2 / 3)
        # No edge -> 1.
        assert a_out[1, 2] == 1.0 and a_in[1, 2] == 1.0

    def test_disparity_filter(self):
        kept = disparity_filter(self.W, alpha=0.05) > 0
        expected = np.zeros((4, 4), dtype=bool)
        expected[0, 1] = True  # 0.04 < 0.05 from the out-side of 0
        expected[1, 0] = True  # degree-1 out-side of 1
        expected[3, 2] = True  # degree-1 out-side of 3
        expected[0, 3] = True  # degree-1 in-side of 3 (its only supplier is 0)
        np.testing.assert_array_equal(kept, expected)
        # At alpha = 0.6 the 0.5 (out of 2) and 1/3 (into 0) edges enter as well.
        kept = disparity_filter(self.W, alpha=0.6) > 0
        assert kept[2, 0] and kept[2, 1] and kept[1, 0] and kept[0, 3]
        # 0 -> 2 is 0.81 from the out-side and 0.8 from the in-side: never kept.
        assert not kept[0, 2]
        assert a_in_at(self.W, 0, 1) == pytest.approx(1 / 9)

    def test_global_threshold(self):
        total = self.W.sum()  # 18
        kept = global_threshold(self.W, tau=2 / total)
        np.testing.assert_array_equal(kept > 0, self.W >= 2)
        assert kept[0, 1] == 8.0
        # Percentile of the 8 positive weights [1,1,1,1,1,2,4,8]: 75th -> 2.5 (linear).
        kept = global_threshold(self.W, percentile=75)
        np.testing.assert_array_equal(np.sort(kept[kept > 0]), [4.0, 8.0])
        with pytest.raises(ValueError):
            global_threshold(self.W)
        with pytest.raises(ValueError):
            global_threshold(self.W, tau=0.1, percentile=5)

    def test_mean_dichotomise(self):
        # Mean over the 12 off-diagonal cells = 18 / 12 = 1.5.
        kept = mean_dichotomise(self.W)
        np.testing.assert_array_equal(kept > 0, self.W > 1.5)

    def test_top_k(self):
        np.testing.assert_array_equal(
            np.argwhere(top_k(self.W, 1) > 0), [[0, 1], [1, 0], [2, 0], [3, 2]]
        )
        kept = top_k(self.W, 2)
        assert (kept > 0).sum(axis=1).tolist() == [2, 1, 2, 1]
        assert kept[0, 2] == 1.0 and kept[0, 3] == 0.0  # tie broken towards lower index

    def test_degree_and_density_of_backbone(self):
        bb = disparity_filter(self.W)
        k_out, k_in = degree(bb)
        assert k_out.tolist() == [2, 1, 0, 1] and k_in.tolist() == [1, 1, 1, 1]
        assert density(bb)[0] == pytest.approx(4 / 12)

    def test_shape_and_diagonal(self):
        W = self.W.copy()
        W[1, 1] = 50.0
        for out in (disparity_filter(W), top_k(W, 3), mean_dichotomise(W)):
            assert out.shape == W.shape and np.all(np.diag(out) == 0)


def test_rejects_negative_and_nonsquare():
    with pytest.raises(ValueError, match="negative"):
        strength(np.array([[0.0, -1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="square"):
        strength(np.ones((2, 3)))
    # A negative *diagonal* is not a network edge and is accepted.
    assert total_flow(np.array([[-5.0, 1.0], [2.0, 0.0]])) == 3.0


def test_intra_group_share_by_hand():
    W = np.array(
        [
            [0.0, 2.0, 3.0, 5.0],
            [1.0, 0.0, 1.0, 2.0],
            [4.0, 4.0, 0.0, 4.0],
            [9.0, 9.0, 9.0, 0.0],
        ]
    )
    members = np.array([True, True, False, False])
    # Inside: 2 + 1 = 3; outgoing from members: 10 + 4 = 14.
    assert intra_group_share(W, members) == pytest.approx(3 / 14)


def test_regional_matrix():
    W = np.arange(16, dtype=float).reshape(4, 4)
    labels = ["CHN", "VNM", "DEU", "POL"]
    R, regions = regional_matrix(W, labels, {"CHN": "EA", "VNM": "EA", "DEU": "EU", "POL": "EU"})
    assert regions == ["EA", "EU"]
    # EA -> EA excludes the diagonal: W[0,1] + W[1,0] = 1 + 4.
    np.testing.assert_allclose(R, [[5.0, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 11 + 14]])
    assert R.sum() == pytest.approx(total_flow(W))
    R2, regions2 = regional_matrix(W, labels, dict(zip(labels, "ABAB", strict=True)), ["B", "A"])
    assert regions2 == ["B", "A"] and R2[1, 1] == W[0, 2] + W[2, 0]
    with pytest.raises(KeyError):
        regional_matrix(W, labels, {"CHN": "EA"})
