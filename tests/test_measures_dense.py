"""Textbook oracles: every decomposition written term by term with the dense B, loops over
country pairs and explicit hypothetical extractions, compared with the no-inverse kernels.

The oracle functions (``dense_*``) are imported by the other measure tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from brgvc.core import IOSystem, YearSystem
from brgvc.measures import (
    bm_terms,
    hypothetical_extraction_dva,
    kww_terms,
    participation_terms,
    production_length_terms,
    upstreamness_vector,
    wwz_terms,
)

from . import leather


class Dense:
    """Dense objects of a small system (B, L, A blocks, ...), from scratch."""

    def __init__(self, s: IOSystem) -> None:
        G, N, n = s.G, s.N, s.n
        self.G, self.N, self.n = G, N, n
        xinv = np.where(s.x > 0, 1.0 / np.where(s.x > 0, s.x, 1.0), 0.0)
        self.A = s.Z * xinv[None, :]
        self.B = np.linalg.inv(np.eye(n) - self.A)
        self.v = s.va * xinv
        self.Y = s.Yd
        self.x = s.x
        self.L = np.zeros((n, n))
        self.AD = np.zeros((n, n))
        for c in range(G):
            b = slice(c * N, (c + 1) * N)
            self.AD[b, b] = self.A[b, b]
            self.L[b, b] = np.linalg.inv(np.eye(N) - self.A[b, b])
        self.AF = self.A - self.AD
        # exports E^{sr} = Z^{sr} 1 + Y^{sr}
        self.E = np.zeros((n, G))
        for s_ in range(G):
            for r in range(G):
                if r != s_:
                    self.E[self.b(s_), r] = s.Z[self.b(s_), self.b(r)].sum(1) + s.Yd[self.b(s_), r]

    def b(self, c: int) -> slice:
        return slice(c * self.N, (c + 1) * self.N)

    def blk(self, M, a, c):
        return M[self.b(a), self.b(c)]

    def Yb(self, t, u):
        return self.Y[self.b(t), u]

    def Vt(self, t):
        return self.v[self.b(t)]

    def Estar(self, r):
        return self.E[self.b(r)].sum(1)


def dense_wwz(s: IOSystem) -> np.ndarray:
    """The 16 WWZ terms of docs/methods.md §3.2, literally."""
    d = Dense(s)
    G, N = d.G, d.N
    B, L, A = d.B, d.L, d.A
    out = np.zeros((16, G, N, G))
    for s_ in range(G):
        VsB = d.Vt(s_) @ d.blk(B, s_, s_)
        VsL = d.Vt(s_) @ d.blk(L, s_, s_)
        for r in range(G):
            if r == s_:
                continue
            Asr = d.blk(A, s_, r)
            Brr = d.blk(B, r, r)
            third = [t for t in range(G) if t not in (s_, r)]
            Ysr = d.Yb(s_, r)
            w = {}
            w[2] = Brr @ d.Yb(r, r)
            w[3] = sum(d.blk(B, r, t) @ d.Yb(t, t) for t in third)
            w[4] = Brr @ sum(d.Yb(r, t) for t in third)
            w[5] = sum(
                d.blk(B, r, t) @ sum(d.Yb(t, u) for u in range(G) if u not in (s_, t))
                for t in third
            )
            w[6] = Brr @ d.Yb(r, s_)
            w[7] = sum(d.blk(B, r, t) @ d.Yb(t, s_) for t in third)
            w[8] = d.blk(B, r, s_) @ d.Yb(s_, s_)
            w[9] = d.blk(B, r, s_) @ sum(d.Yb(s_, t) for t in range(G) if t != s_)
            out[0, s_, :, r] = VsB * Ysr
            for k in range(2, 10):
                out[k - 1, s_, :, r] = VsL * (Asr @ w[k])
            out[9, s_, :, r] = (VsB - VsL) * (Asr @ d.x[d.b(r)])
            VrB = d.Vt(r) @ d.blk(B, r, s_)
            LY = d.blk(L, r, r) @ d.Yb(r, r)
            LE = d.blk(L, r, r) @ d.Estar(r)
            ova = sum(d.Vt(t) @ d.blk(B, t, s_) for t in third)
            for k, pre in ((10, VrB), (13, ova)):
                out[k, s_, :, r] = pre * Ysr
                out[k + 1, s_, :, r] = pre * (Asr @ LY)
                out[k + 2, s_, :, r] = pre * (Asr @ LE)
    return out


def dense_kww(s: IOSystem) -> np.ndarray:
    """KWW T1..T9 of docs/methods.md §3.1, literally."""
    d = Dense(s)
    G = d.G
    B, L, A = d.B, d.L, d.A
    t = np.zeros((9, G))
    for s_ in range(G):
        Vs = d.Vt(s_)
        others = [r for r in range(G) if r != s_]
        Lss = d.blk(L, s_, s_)
        t[0, s_] = Vs @ d.blk(B, s_, s_) @ sum(d.Yb(s_, r) for r in others)
        t[1, s_] = Vs @ sum(d.blk(B, s_, r) @ d.Yb(r, r) for r in others)
        t[2, s_] = Vs @ sum(
            d.blk(B, s_, r) @ d.Yb(r, u) for r in others for u in range(G) if u not in (s_, r)
        )
        t[3, s_] = Vs @ sum(d.blk(B, s_, r) @ d.Yb(r, s_) for r in others)
        t[4, s_] = Vs @ sum(d.blk(B, s_, r) @ d.blk(A, r, s_) @ Lss @ d.Yb(s_, s_) for r in others)
        t[5, s_] = Vs @ sum(d.blk(B, s_, r) @ d.blk(A, r, s_) @ Lss @ d.Estar(s_) for r in others)
        fv = sum(d.Vt(u) @ d.blk(B, u, s_) for u in others)
        t[6, s_] = fv @ sum(d.Yb(s_, r) for r in others)
        t[7, s_] = fv @ sum(d.blk(A, s_, r) @ d.blk(L, r, r) @ d.Yb(r, r) for r in others)
        t[8, s_] = fv @ sum(d.blk(A, s_, r) @ d.blk(L, r, r) @ d.Estar(r) for r in others)
    return t


def extracted(d: Dense, c: int):
    """B_(c) and Y_(c): the world in which country c never exports (A^{cr} = Y^{cr} = 0)."""
    G, N = d.G, d.N
    A = d.A.copy()
    Y = d.Y.copy()
    for r in range(G):
        if r != c:
            A[d.b(c), d.b(r)] = 0.0
            Y[d.b(c), r] = 0.0
    return np.linalg.inv(np.eye(G * N) - A), Y


def dense_bm(s: IOSystem, approach: str) -> np.ndarray:
    """Borin–Mancini terms by brute-force extraction (no closed-form shortcut)."""
    d = Dense(s)
    G, N = d.G, d.N
    B, L, A = d.B, d.L, d.A
    out = np.zeros((6, G, N, G))
    for s_ in range(G):
        Bx, Yx = extracted(d, s_)
        Xx = Bx @ Yx.sum(1)  # output when s never exports again
        Wx = Bx @ Yx[:, s_]  # ... of which absorbed in s
        VsB = d.Vt(s_) @ d.blk(B, s_, s_)
        VsL = d.Vt(s_) @ d.blk(L, s_, s_)
        fv = sum(d.Vt(t) @ d.blk(B, t, s_) for t in range(G) if t != s_)
        # paths from t to s without earlier s exports: B_(s)^{ts}
        fvk = sum(d.Vt(t) @ d.blk(Bx, t, s_) for t in range(G) if t != s_)
        for r in range(G):
            if r == s_:
                continue
            Asr = d.blk(A, s_, r)
            E = d.E[d.b(s_), r]
            Ysr = d.Yb(s_, r)
            LY = d.blk(L, r, r) @ d.Yb(r, r)
            if approach == "source":
                pre = VsL
                absorbed_home = Asr @ (B @ d.Y[:, s_])[d.b(r)]
                xr_ = Asr @ (B @ d.Y.sum(1))[d.b(r)]
                out[4, s_, :, r] = fvk * E
            else:
                pre = VsB
                absorbed_home = Asr @ Wx[d.b(r)]
                xr_ = Asr @ Xx[d.b(r)]
                out[4, s_, :, r] = fv * (Ysr + xr_)
            out[0, s_, :, r] = pre * (Ysr + Asr @ LY)
            out[2, s_, :, r] = pre * absorbed_home
            out[1, s_, :, r] = pre * (xr_ - absorbed_home - Asr @ LY)
            dva = out[0:3, s_, :, r].sum(0)
            out[3, s_, :, r] = VsB * E - dva
            out[5, s_, :, r] = fv * E - out[4, s_, :, r]
    return out


def random_system(G=4, N=3, seed=0, empty=None) -> IOSystem:
    """A productive random MRIO; ``empty`` = stacked index of a sector with no output."""
    rng = np.random.default_rng(seed)
    n = G * N
    Z = rng.uniform(0.0, 1.0, (n, n)) * rng.uniform(0, 1, (n, n)) ** 3
    Yd = rng.uniform(0.5, 3.0, (n, G))
    if empty is not None:
        Z[empty, :] = 0.0
        Z[:, empty] = 0.0
        Yd[empty, :] = 0.0
    x = Z.sum(1) + Yd.sum(1)
    va = x - Z.sum(0)
    assert (va[x > 0] > 0).all()
    return IOSystem(Z, Yd, x, va, G, N)


SYSTEMS = {
    "leather": lambda: YearSystem.from_cube(leather.cube()).system,
    "random": lambda: random_system(4, 3, 1),
    "random_empty": lambda: random_system(5, 2, 2, empty=3),
}


@pytest.fixture(params=sorted(SYSTEMS))
def system(request) -> IOSystem:
    return SYSTEMS[request.param]()


def test_wwz_matches_dense_oracle(system):
    got = wwz_terms(system)
    ref = dense_wwz(system)
    np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-12 * np.abs(ref).max())


def test_kww_matches_dense_oracle(system):
    np.testing.assert_allclose(kww_terms(system), dense_kww(system), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("approach", ["source", "sink"])
def test_bm_matches_brute_force_extraction(system, approach):
    got = bm_terms(system, approach)
    ref = dense_bm(system, approach)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-11 * np.abs(ref).max())


def test_participation_matches_dense_matrices(system):
    d = Dense(system)
    V, yt = np.diag(d.v), d.Y.sum(1)
    G, N = d.G, d.N
    ydom = np.concatenate([d.Yb(c, c) for c in range(G)])
    yf = yt - ydom
    L, B, AF = d.L, d.B, d.AF
    parts = {
        "D": V @ L @ np.diag(ydom),
        "RT": V @ L @ np.diag(yf),
        "GVC_S": V @ L @ AF @ L @ np.diag(ydom),
        "GVC_C": V @ L @ AF @ (B @ np.diag(yt) - L @ np.diag(ydom)),
    }
    total = sum(parts.values())
    np.testing.assert_allclose(total, V @ B @ np.diag(yt), atol=1e-12 * np.abs(total).max())
    got = participation_terms(system)
    for k, M in parts.items():
        np.testing.assert_allclose(got[f"V_{k}"].ravel(), M.sum(1), atol=1e-12 * np.abs(M).max())
        np.testing.assert_allclose(got[f"Y_{k}"].ravel(), M.sum(0), atol=1e-12 * np.abs(M).max())
    assert got["va"].shape == (G, N)


def test_production_length_matches_dense_matrices(system):
    d = Dense(system)
    V, Yh = np.diag(d.v), np.diag(d.Y.sum(1))
    L, B, AF, AD = d.L, d.B, d.AF, d.AD
    mats = {
        "Xv": V @ B @ B @ Yh,
        "V_GVC": V @ L @ AF @ B @ Yh,
        "Xv_GVC": V @ L @ L @ AF @ B @ Yh + V @ L @ AF @ B @ B @ Yh,
        "seg_dom": V @ L @ L @ AF @ B @ Yh,
        "seg_cross": V @ B @ AF @ B @ Yh,
        "seg_for": V @ L @ AF @ B @ AD @ B @ Yh,
    }
    got = production_length_terms(system)
    tol = 1e-12 * np.abs(mats["Xv"]).max()
    np.testing.assert_allclose(got["Xv"].ravel(), mats["Xv"].sum(1), atol=tol)
    np.testing.assert_allclose(got["Xy"].ravel(), mats["Xv"].sum(0), atol=tol)
    for k in ("V_GVC", "Xv_GVC", "seg_dom", "seg_cross", "seg_for"):
        np.testing.assert_allclose(got[f"{k}_v"].ravel(), mats[k].sum(1), atol=tol)
        np.testing.assert_allclose(got[f"{k}_y"].ravel(), mats[k].sum(0), atol=tol)
    # The three segments add up to the GVC production.
    seg = mats["seg_dom"] + mats["seg_cross"] + mats["seg_for"]
    np.testing.assert_allclose(seg, mats["Xv_GVC"], atol=tol)


def test_upstreamness_is_ghosh(system):
    # U = (I − Δ)^{-1} 1 with Δ = X̂^{-1} Z, solved independently.
    x = system.x
    pos = x > 0
    delta = np.zeros_like(system.Z)
    delta[pos] = system.Z[pos] / x[pos, None]
    U = np.linalg.solve(np.eye(system.n) - delta, np.ones(system.n))
    np.testing.assert_allclose(upstreamness_vector(system), U, rtol=1e-12)


def test_hypothetical_extraction_solve_equals_closed_form_and_kww_dva(system):
    closed = hypothetical_extraction_dva(system)
    solved = hypothetical_extraction_dva(system, method="solve")
    np.testing.assert_allclose(solved, closed, rtol=1e-11)
    np.testing.assert_allclose(closed, dense_kww(system)[0:5].sum(0), rtol=1e-11)
    part = hypothetical_extraction_dva(system, method="solve", countries=[1])
    assert np.isnan(part[0]) and part[1] == pytest.approx(closed[1], rel=1e-11)
