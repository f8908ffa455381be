"""Synthetic MRIO: reproducible, balanced, productive, and size-preserving when splitting."""

from __future__ import annotations

import numpy as np
import pytest

from brgvc.schema import stacked_final, stacked_square, stacked_vector, validate
from brgvc.synthetic import base_table, synthetic_arrays, synthetic_mrio


def test_reproducible_from_seed():
    a = synthetic_arrays(45, 40, seed=7)
    b = synthetic_arrays(45, 40, seed=7)
    c = synthetic_arrays(45, 40, seed=8)
    for k in ("Z", "Y", "x"):
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["Z"], c["Z"])
    assert a["regions"] == b["regions"] and a["sectors"] == b["sectors"]


@pytest.mark.parametrize(("G", "N"), [(41, 35), (12, 20), (44, 48), (3, 4)])
def test_identities_and_productive(G, N):
    ds = synthetic_mrio(G, N, seed=1)
    assert (ds.sizes["region"], ds.sizes["sector"]) == (G, N)
    one = ds.isel(year=0)
    Z, Y = stacked_square(one["Z"]), stacked_final(one["Y"])
    x, va = stacked_vector(one["x"]), stacked_vector(one["va"])
    np.testing.assert_allclose(Z.sum(1) + Y.sum(1), x, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(Z.sum(0) + va, x, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(x, stacked_vector(one["x_published"]), rtol=1e-12, atol=1e-9)
    pos = x > 0
    assert (va[pos] >= -1e-9 * x[pos]).all()
    A = np.zeros_like(Z)
    A[:, pos] = Z[:, pos] / x[pos]
    assert A.sum(0).max() < 0.95
    if G * N <= 600:
        assert np.max(np.abs(np.linalg.eigvals(A))) < 1.0
    assert validate(ds, spectral=False).ok


def test_splitting_preserves_totals():
    """Children sum to their parents: summing sub-sectors and replicas gives the base."""
    Z0, F0, x0, regions0, sectors0 = base_table(2011)
    G, N = 45, 40
    d = synthetic_arrays(G, N, seed=3)
    parent = d["parent"]
    n0, K = len(x0), 5

    def up_rows(M):
        out = np.zeros((n0, *M.shape[1:]))
        np.add.at(out, parent, M)
        return out

    np.testing.assert_allclose(up_rows(d["x"]), x0, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(up_rows(up_rows(d["Z"]).T).T, Z0, rtol=1e-10, atol=1e-6)
    reg_parent = parent.reshape(G, N)[:, 0] // len(sectors0)
    Yr = up_rows(d["Y"]).reshape(n0, G, K)
    back = np.zeros((n0, len(regions0), K))
    np.add.at(back, (slice(None), reg_parent), Yr)
    np.testing.assert_allclose(back.reshape(n0, -1), F0, rtol=1e-10, atol=1e-6)
    assert float(d["Z"].sum()) == pytest.approx(float(Z0.sum()), rel=1e-13)


def test_shrinking_keeps_largest_economies():
    d = synthetic_arrays(8, 10, seed=0)
    assert d["regions"][-1] == "RoW" and "CHN" in d["regions"] and "USA" in d["regions"]
    x0 = base_table(2011)[2]
    assert d["x"].sum() == pytest.approx(x0.sum(), rel=1e-13)
