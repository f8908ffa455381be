"""Core-periphery, communities and roles of brgvc.network on planted structures."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime
from sklearn.metrics import normalized_mutual_info_score

from brgvc.network import (
    canonical_labels,
    continuous_coreness,
    country_roles,
    discrete_core,
    louvain,
    modularity,
    stability,
    symmetrised,
)
from brgvc.network.coreperiphery import _rho_and_grad


def planted_core(n: int = 30, n_core: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dense core block, medium core-periphery ties, sparse weak periphery, seeded noise.

    The core members are scattered over the node order so that nothing depends on them
    coming first.
    """
    rng = np.random.default_rng(seed)
    core = np.zeros(n, dtype=bool)
    core[rng.choice(n, n_core, replace=False)] = True
    level = np.where(core[:, None] & core[None, :], 10.0, 0.0)
    level = np.where(core[:, None] ^ core[None, :], 2.0, level)
    pp = ~core[:, None] & ~core[None, :]
    level = np.where(pp, 0.3 * (rng.random((n, n)) < 0.3), level)
    W = level * rng.lognormal(sigma=0.3, size=(n, n))
    np.fill_diagonal(W, 0.0)
    return W, core


def planted_blocks(sizes=(10, 10, 10), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(len(sizes)), sizes)
    W = np.where(g[:, None] == g[None, :], 5.0, 0.2) * rng.lognormal(sigma=0.5, size=(g.size,) * 2)
    np.fill_diagonal(W, 0.0)
    return W, g


def brute_force_core(a: np.ndarray) -> float:
    """Best discrete-model rho over all cores (tiny n only)."""
    n = a.shape[0]
    off = ~np.eye(n, dtype=bool)
    best = -np.inf
    for k in range(2, n - 1):
        for members in itertools.combinations(range(n), k):
            m = np.zeros(n, dtype=bool)
            m[list(members)] = True
            cc, pp = np.outer(m, m) & off, np.outer(~m, ~m) & off
            x = np.r_[a[cc], a[pp]]
            y = np.r_[np.ones(cc.sum()), np.zeros(pp.sum())]
            if x.std() > 0:
                best = max(best, np.corrcoef(x, y)[0, 1])
    return best


def rho_of(a: np.ndarray, c: np.ndarray) -> float:
    off = ~np.eye(a.shape[0], dtype=bool)
    return float(np.corrcoef(a[off], np.outer(c, c)[off])[0, 1])


# --------------------------------------------------------------------------- core-periphery


class TestContinuous:
    def test_recovers_planted_core(self):
        W, core = planted_core()
        c, rho = continuous_coreness(W)
        top = np.argsort(-c)[: core.sum()]
        assert set(top) == set(np.flatnonzero(core))
        assert c.max() == 1.0 and c.min() >= 0.0
        assert 0.8 < rho <= 1.0
        # rho is what it says: the correlation of a_ij with c_i c_j off the diagonal.
        assert rho == pytest.approx(rho_of(symmetrised(W), c), rel=1e-10)

    def test_improves_on_the_start_and_is_a_local_optimum(self):
        rng = np.random.default_rng(5)
        W = rng.lognormal(sigma=1.0, size=(20, 20))
        c, rho = continuous_coreness(W)
        a = symmetrised(W)
        # No random direction improves rho noticeably.
        for _ in range(20):
            trial = np.clip(c + 1e-3 * rng.standard_normal(c.size), 0, None)
            assert rho_of(a, trial) <= rho + 1e-9

    def test_gradient_matches_finite_differences(self):
        rng = np.random.default_rng(1)
        a = symmetrised(rng.lognormal(size=(9, 9)))
        off = ~np.eye(9, dtype=bool)
        xc = np.where(off, a - a[off].mean(), 0.0)
        xn = float(np.linalg.norm(xc))
        c = rng.random(9) + 0.1
        rho, grad = _rho_and_grad(c, xc, xn, off)
        assert rho == pytest.approx(rho_of(a, c), rel=1e-12)
        num = approx_fprime(c, lambda v: _rho_and_grad(v, xc, xn, off)[0], 1e-7)
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)

    # In the binary pattern of this graph the core and core-periphery cells are all 1, and rho
    # is largest in the flat limit c -> 1 + eps v (the additive pattern v_i + v_j), which
    # L-BFGS-B approaches without reaching; the function returns the limit itself, which is
    # exact, so the binary case is as invariant as the others.
    @pytest.mark.parametrize(
        ("transform", "atol", "rho_tol"),
        [("none", 1e-6, 1e-9), ("log1p", 1e-6, 1e-9), ("binary", 1e-9, 1e-12)],
    )
    def test_invariant_under_relabelling(self, transform, atol, rho_tol):
        W, _ = planted_core(seed=3)
        c, rho = continuous_coreness(W, transform=transform)
        perm = np.random.default_rng(9).permutation(W.shape[0])
        c_p, rho_p = continuous_coreness(W[np.ix_(perm, perm)], transform=transform)
        back = np.empty_like(c_p)
        back[perm] = c_p
        np.testing.assert_allclose(back, c, atol=atol)
        assert rho_p == pytest.approx(rho, abs=rho_tol)
        assert set(np.argsort(-back)[:6]) == set(np.argsort(-c)[:6])

    def test_scale_free(self):
        W, _ = planted_core(seed=4)
        c, rho = continuous_coreness(W)
        c9, rho9 = continuous_coreness(W * 1e9)
        np.testing.assert_allclose(c9, c, atol=1e-6)
        assert rho9 == pytest.approx(rho, abs=1e-9)

    def test_binary_flat_limit_is_the_additive_supremum(self):
        W, core = planted_core(seed=3)
        c, rho = continuous_coreness(W, transform="binary")
        a = symmetrised(W, "binary")
        n = a.shape[0]
        off = ~np.eye(n, dtype=bool)
        # The best additive fit from the normal equations of sum_{i!=j} (a_ij - m - v_i - v_j)^2,
        # solved independently of the library (dense n x n system, v summing to zero).
        r = a.sum(axis=1) - np.diag(a)
        tot = a[off].sum()
        m_count = n * (n - 1)
        # d/dv_k: 2(n-1) v_k + 2 sum_{j!=k} v_j + 2(n-1) m = 2 r_k ; with sum v = 0 -> (2n-4) v_k
        m = tot / m_count
        v = (r - (n - 1) * m) / (n - 2)
        fit = (v[:, None] + v[None, :])[off]
        rho_add = np.corrcoef(fit, a[off])[0, 1]
        assert rho == pytest.approx(rho_add, abs=1e-12)
        # It is the limit of rho along 1 + eps v and beats every finite point tried.
        gaps = [rho - rho_of(a, 1 + eps * v) for eps in (1e-4, 1e-5, 1e-6)]
        assert all(g > 0 for g in gaps)
        assert gaps[1] < gaps[0] / 5 and gaps[2] < gaps[1] / 5 and gaps[2] < 1e-7
        rng = np.random.default_rng(0)
        for _ in range(20):
            assert rho_of(a, rng.random(n) + 0.01) <= rho
        # The ranking puts the planted core first.
        assert set(np.argsort(-c)[: core.sum()]) == set(np.flatnonzero(core))

    def test_regular_graph_is_defined(self):
        W = np.ones((6, 6))
        c, rho = continuous_coreness(W)
        assert c.shape == (6,) and np.isnan(rho)


class TestDiscrete:
    def test_recovers_planted_core(self):
        W, core = planted_core()
        res = discrete_core(W)
        np.testing.assert_array_equal(res.core, core)
        a = symmetrised(W)
        assert res.core_density == pytest.approx(a[np.ix_(core, core)].sum() / 30)
        pp = ~core
        assert res.periphery_density == pytest.approx(a[np.ix_(pp, pp)].sum() / (24 * 23))
        assert res.core_density > 20 * res.periphery_density
        assert 0.9 < res.rho <= 1.0

    def test_rho_is_the_pattern_correlation(self):
        W, _ = planted_core(seed=2)
        res = discrete_core(W)
        a = symmetrised(W)
        m = res.core
        off = ~np.eye(a.shape[0], dtype=bool)
        cc, pp = np.outer(m, m) & off, np.outer(~m, ~m) & off
        x = np.r_[a[cc], a[pp]]
        y = np.r_[np.ones(cc.sum()), np.zeros(pp.sum())]
        assert res.rho == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-10)

    def test_invariant_under_relabelling(self):
        W, _ = planted_core(seed=6)
        res = discrete_core(W)
        for s in range(3):
            perm = np.random.default_rng(s).permutation(W.shape[0])
            res_p = discrete_core(W[np.ix_(perm, perm)])
            back = np.empty_like(res_p.core)
            back[perm] = res_p.core
            np.testing.assert_array_equal(back, res.core)
            assert res_p.rho == pytest.approx(res.rho, abs=1e-12)

    def test_deterministic(self):
        W, _ = planted_core(seed=7)
        a, b = discrete_core(W), discrete_core(W)
        np.testing.assert_array_equal(a.core, b.core)
        assert a.rho == b.rho

    @pytest.mark.parametrize("seed", range(6))
    def test_matches_brute_force_on_small_structured_networks(self, seed):
        W, _ = planted_core(n=9, n_core=3, seed=seed)
        assert discrete_core(W).rho == pytest.approx(brute_force_core(symmetrised(W)), abs=1e-12)

    def test_degenerate_inputs(self):
        assert discrete_core(np.ones((3, 3))).core.sum() == 0
        res = discrete_core(np.zeros((5, 5)))
        assert res.core.sum() == 0 and np.isnan(res.rho)


# ------------------------------------------------------------------------------ communities


class TestLouvain:
    def test_recovers_planted_blocks(self):
        W, g = planted_blocks()
        labels = louvain(W, seed=0)
        assert normalized_mutual_info_score(g, labels) == 1.0
        np.testing.assert_array_equal(labels, canonical_labels(g))

    def test_stable_under_relabelling_and_seeds(self):
        W, g = planted_blocks(seed=1)
        for s in range(3):
            perm = np.random.default_rng(s).permutation(g.size)
            lab = louvain(W[np.ix_(perm, perm)], seed=s)
            back = np.empty_like(lab)
            back[perm] = lab
            assert normalized_mutual_info_score(g, back) == 1.0
        res = stability(W, seeds=range(8))
        assert res.nmi == 1.0 and res.share == 1.0
        np.testing.assert_array_equal(res.labels, canonical_labels(g))

    def test_seeded_run_is_reproducible(self):
        rng = np.random.default_rng(3)
        W = rng.lognormal(size=(25, 25))
        np.testing.assert_array_equal(louvain(W, seed=4), louvain(W, seed=4))

    def test_stability_on_noise_is_below_one_but_defined(self):
        rng = np.random.default_rng(11)
        W = rng.lognormal(sigma=1.5, size=(30, 30))
        res = stability(W, seeds=range(10))
        assert 0.0 <= res.nmi <= 1.0
        assert 0.0 < res.share <= 1.0
        assert res.labels.shape == (30,)


class TestModularity:
    def test_matches_networkx(self):
        W, g = planted_blocks(seed=2)
        parts = [set(np.flatnonzero(g == k)) for k in np.unique(g)]
        und = nx.community.modularity(nx.from_numpy_array(W + W.T), parts)
        assert modularity(W, g) == pytest.approx(und, rel=1e-12)
        dig = nx.community.modularity(nx.from_numpy_array(W, create_using=nx.DiGraph), parts)
        assert modularity(W, g, directed=True) == pytest.approx(dig, rel=1e-12)
        res = nx.community.modularity(nx.from_numpy_array(W + W.T), parts, resolution=1.7)
        assert modularity(W, g, resolution=1.7) == pytest.approx(res, rel=1e-12)

    def test_by_hand(self):
        # Two disjoint reciprocal pairs: Q = 2 * (1/2 - 1/4) = 1/2 (undirected and directed).
        W = np.zeros((4, 4))
        W[0, 1] = W[1, 0] = W[2, 3] = W[3, 2] = 1.0
        assert modularity(W, [0, 0, 1, 1]) == pytest.approx(0.5)
        assert modularity(W, [0, 0, 1, 1], directed=True) == pytest.approx(0.5)
        assert modularity(W, [0, 0, 0, 0]) == pytest.approx(0.0)


# ------------------------------------------------------------------------------------ roles


def test_roles_three_separated_groups():
    rng = np.random.default_rng(0)
    centres = {"core": (100.0, 0.9), "semi-periphery": (40.0, 0.5), "periphery": (5.0, 0.1)}
    rows, truth = [], []
    for role, (s, c) in centres.items():
        for _ in range(8):
            rows.append((s * (1 + 0.05 * rng.standard_normal()), c + 0.02 * rng.standard_normal()))
            truth.append(role)
    # Shuffle so that the clusters' numbering cannot follow the row order.
    order = rng.permutation(len(rows))
    df = pd.DataFrame(
        [rows[i] for i in order],
        columns=["strength", "coreness"],
        index=[f"C{i:02d}" for i in range(len(rows))],
    )
    roles = country_roles(df, seed=0)
    assert roles.tolist() == [truth[i] for i in order]
    assert roles.index.equals(df.index) and roles.name == "role"
    # The core group is the one with the highest strength.
    assert roles[df["strength"].idxmax()] == "core"
    two = country_roles(df, n_roles=2, seed=1)
    assert set(two) == {"core", "periphery"}
    assert two[df["strength"].idxmax()] == "core"


def test_roles_validation():
    df = pd.DataFrame({"s": [1.0, 2.0, np.nan]})
    with pytest.raises(ValueError, match="NaN"):
        country_roles(df)
    with pytest.raises(ValueError, match="names"):
        country_roles(pd.DataFrame({"s": np.arange(10.0)}), n_roles=4)
