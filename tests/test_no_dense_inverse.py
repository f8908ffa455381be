"""No measure forms the dense Leontief inverse unless it declares ``dense_b``; WWZ maps to KWW.

The first test replaces every way of forming B = (I - A)^-1 densely (numpy and scipy
inverses, ``IOSystem.leontief_inverse``, and a triangular solve with n or more right-hand
sides, which is an inverse in disguise) by a trap, then runs every registered measure at its
default options on a 6-region synthetic table. A measure that needs B must say so in its
declaration. The second test checks the exact WWZ -> KWW mapping on one real WIOD year in the
fast suite (the all-years version is marked slow).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from brgvc.core import YearSystem
from brgvc.core.kernels import IOSystem
from brgvc.datasets import open_dataset
from brgvc.measures import KWW_TERMS, get_measure, kww_terms, list_measures, wwz, wwz_to_kww
from brgvc.synthetic import synthetic_mrio


class DenseInverse(AssertionError):
    """Raised by the traps."""


@pytest.fixture
def trapped(monkeypatch):
    def trap(*args, **kwargs):
        raise DenseInverse("a dense inverse was formed")

    monkeypatch.setattr(np.linalg, "inv", trap)
    monkeypatch.setattr(scipy.linalg, "inv", trap)
    monkeypatch.setattr(IOSystem, "leontief_inverse", trap)
    for name in ("solve", "solve_t", "solve_from"):
        original = getattr(IOSystem, name)

        def guarded(self, rhs, *args, _original=original, **kwargs):
            rhs = np.asarray(rhs)
            if rhs.ndim == 2 and rhs.shape[1] >= self.n:
                raise DenseInverse(f"a solve with {rhs.shape[1]} right-hand sides (n = {self.n})")
            return _original(self, rhs, *args, **kwargs)

        monkeypatch.setattr(IOSystem, name, guarded)


@pytest.fixture(scope="module")
def cube():
    return synthetic_mrio(6, 5, seed=3).compute()


def _fresh(ds) -> YearSystem:
    """The table factorised anew (no cached B or WWZ from another test)."""
    return YearSystem.from_cube(ds, int(ds["year"].values[0]), warn_zero=False)


@pytest.mark.parametrize("name", [r["name"] for r in list_measures()])
def test_no_measure_forms_a_dense_inverse_unless_declared(name, cube, trapped):
    m = get_measure(name)
    ys = _fresh(cube)
    if "dense_b" in m.requirements():
        pytest.skip(f"{name} declares dense_b")
    try:
        out = m(ys)
    except DenseInverse as exc:
        pytest.fail(f"{name} formed a dense inverse without declaring dense_b: {exc}")
    assert out is not None


def test_the_trap_catches_a_dense_inverse(cube, trapped):
    ys = _fresh(cube)
    with pytest.raises(DenseInverse):
        ys.system.solve(np.eye(ys.system.n))
    with pytest.raises(DenseInverse):
        np.linalg.inv(np.eye(3))


def test_wwz_maps_exactly_to_kww_on_wiod_2011():
    ys = YearSystem.from_cube(open_dataset("wiod2013", years=[2011]), 2011, warn_zero=False)
    k = kww_terms(ys.system)
    mapped = wwz_to_kww(wwz(ys, level="country"))
    for i, term in enumerate(KWW_TERMS):
        got = np.asarray(mapped[term].values, dtype=float).reshape(-1)
        want = np.asarray(k[i], dtype=float).reshape(got.shape)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6, err_msg=term)
