"""Core IO algebra: the published leather numbers and exact identities on every WIOD year."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg as sla
import xarray as xr

from brgvc.core import IOSystem, YearSystem, ZeroOutputWarning, block_columns
from brgvc.datasets import open_dataset
from brgvc.schema import MRIOError, make_cube

from . import leather

WIOD_YEARS = list(range(1995, 2012))


@pytest.fixture(scope="module")
def leather_system() -> YearSystem:
    return YearSystem.from_cube(leather.cube())


def test_leather_vbe_published(leather_system):
    # decompr's leontief() test values (docs/methods.md §9).
    M = leather_system.vbe("full")
    cell = M.sel(source="ARG", source_sector="Agriculture", exporter="ARG", sector="Agriculture")
    assert float(cell) == pytest.approx(28.52278143, rel=1e-9)
    cell = M.sel(source="DEU", source_sector="Transport Equipment", exporter="DEU",
                 sector="Transport Equipment")
    assert float(cell) == pytest.approx(34.74381924, rel=1e-9)


def test_leather_vbx_published(leather_system):
    s = leather_system.system
    M = s.vbe_full(post=s.x)
    assert M[0, 0] == pytest.approx(66.75361799, rel=1e-9)
    assert M[8, 8] == pytest.approx(96.78316785, rel=1e-9)


def test_leather_country_vby_and_vbe(leather_system):
    F = leather_system.vby("country")
    expected = [[44.867912, 18.493099, 28.238989], [24.661291, 68.358556, 52.680153],
                [38.970798, 57.748345, 127.480858]]
    np.testing.assert_allclose(F.values, expected, rtol=1e-6)
    assert list(F.source.values) == leather.REGIONS
    Mc = leather_system.vbe("country")
    np.testing.assert_allclose(
        Mc.values,
        [[53.689956, 8.186849, 13.447898], [4.238859, 92.461753, 22.861519],
         [6.371185, 12.951397, 111.290583]],
        rtol=1e-6,
    )
    # Foreign content (off-diagonal column sums) and DVX (off-diagonal row sums).
    off = Mc.values - np.diag(np.diag(Mc.values))
    np.testing.assert_allclose(off.sum(0), [10.610044, 21.138247, 36.309417], rtol=1e-6)
    np.testing.assert_allclose(off.sum(1), [21.634747, 27.100378, 19.322582], rtol=1e-6)


def test_leather_levels_agree(leather_system):
    full = leather_system.vbe("full")
    np.testing.assert_allclose(
        leather_system.vbe("source_sector").values, full.sum("sector").values, rtol=1e-13
    )
    np.testing.assert_allclose(
        leather_system.vbe("export_sector").values, full.sum("source_sector").values,
        rtol=1e-13,
    )
    np.testing.assert_allclose(
        leather_system.vby("sector").sum("source_sector").values,
        leather_system.vby("country").values, rtol=1e-13,
    )
    E = leather_system.gross_exports().sum(("sector", "importer"))
    np.testing.assert_allclose(E.values, [64.3, 113.6, 147.6], rtol=1e-12)


def test_dense_inverse_only_on_request(leather_system, monkeypatch):
    called = []
    monkeypatch.setattr(IOSystem, "leontief_inverse",
                        lambda self: called.append(1) or np.eye(self.n))
    s = YearSystem.from_cube(leather.cube())
    s.vby("country"), s.vby("sector"), s.vbe("country"), s.vbe("source_sector")
    s.vbe("export_sector"), s.local_inverses(), s.gross_exports()
    assert s.system.diagonal_blocks.shape == (3, 3, 3)
    assert called == []


@pytest.fixture(scope="module")
def wiod2011() -> xr.Dataset:
    return open_dataset("wiod2013", years=[2011]).compute()


def test_blocks_equal_dense_inverse(wiod2011):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroOutputWarning)
        ys = YearSystem.from_cube(wiod2011, 2011)
    s = ys.system
    G, N = s.G, s.N
    B = s.leontief_inverse()
    assert not s.pivoted
    idx = np.arange(G)
    B4 = B.reshape(G, N, G, N)
    np.testing.assert_allclose(s.diagonal_blocks, B4[idx, :, idx, :], rtol=0, atol=1e-13)
    # Local inverses and B = L + L A^F B (docs/methods.md §2):
    # B^{st} = L^{ss} Σ_{r≠s} A^{sr} B^{rt}.
    L = s.local_inverses
    A = s.Z * s.xinv[None, :]
    AF = A.reshape(G, N, G, N).copy()
    AF[idx, :, idx, :] = 0.0
    AFB = (AF.reshape(G * N, G * N) @ B).reshape(G, N, G * N)
    rebuilt = np.einsum("sij,sjk->sik", L, AFB).reshape(G * N, G * N)
    rebuilt.reshape(G, N, G, N)[idx, :, idx, :] += L
    np.testing.assert_allclose(rebuilt, B, rtol=0, atol=1e-12)
    # v B = u' on columns with positive output.
    pos = s.x > 0
    np.testing.assert_allclose((s.v @ B)[pos], 1.0, rtol=0, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("year", WIOD_YEARS)
def test_wiod_identities(year):
    ds = open_dataset("wiod2013", years=[year]).compute()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ys = YearSystem.from_cube(ds, year)
    # Division by zero output is never attempted, so numpy raises no RuntimeWarning.
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    zero = [w for w in caught if issubclass(w.category, ZeroOutputWarning)]
    s = ys.system
    assert len(zero) == 1 and len(s.zero_output) >= 18
    pos = s.x > 0
    va = ds["va"].sel(year=year).values.reshape(-1)
    F = ys.vby("country")
    # u'V̂BY·1 equals world value added (emptied sectors have none).
    assert np.all(va[~pos] == 0.0)
    world_va = va.sum()
    assert abs(float(F.sum()) - world_va) / world_va < 1e-10
    # Each column of V̂B sums to one.
    colsum = s.vb_country.sum(0)
    assert np.max(np.abs(colsum[pos] - 1.0)) < 1e-10
    assert np.all(colsum[~pos] == 0.0)
    # V̂BÊ column sums equal gross exports, by country-sector and by country.
    Es = s.exports.sum(1)
    assert np.all(Es[~pos] == 0.0)
    Ms = ys.vbe("export_sector").sum("source").values.reshape(-1)
    np.testing.assert_allclose(Ms, Es, rtol=1e-10, atol=1e-8)
    M = ys.vbe("country")
    np.testing.assert_allclose(M.sum("source").values, Es.reshape(s.G, s.N).sum(1), rtol=1e-10)


def test_wiod_2011_lux_negative_output_reported(wiod2011):
    raw = open_dataset("wiod2013", years=[2011], gross_output="published").compute()
    x0 = (raw["Z"].sum(("region_to", "sector_to")) + raw["Y"].sum(("region_to", "fd")))
    neg = x0.sel(year=2011).where(x0.sel(year=2011) < 0, drop=True).stack(cs=("region", "sector"))
    labels = [f"{r}.{s}" for r, s in neg.cs.values]
    assert sorted(labels) == ["LUX.c5", "LUX.c8"]
    np.testing.assert_array_equal(neg.values, [-1.0, -1.0])
    # The balanced convention empties them (and every other sector with no sales) and says so.
    emptied = wiod2011["emptied"].sel(year=2011)
    assert bool(emptied.sel(region="LUX", sector="c5")) and bool(emptied.sel(region="LUX",
                                                                             sector="c8"))
    assert float(wiod2011["x"].sel(year=2011, region="LUX", sector="c5")) == 0.0
    with pytest.warns(ZeroOutputWarning, match=r"LUX\.c5.*LUX\.c8"):
        ys = YearSystem.from_cube(wiod2011, 2011)
    assert {"LUX.c5", "LUX.c8"} <= set(ys.zero_output)
    assert int(emptied.sum()) == len(ys.zero_output)
    # Their v is zero, so they contribute no value-added flows.
    F = ys.vby("sector").sel(source="LUX", source_sector=["c5", "c8"])
    assert float(np.abs(F).sum()) == 0.0


def test_singular_system_names_year_and_sector():
    Z = np.array([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    Y = np.zeros((4, 2))
    x = np.array([1.0, 1.0, 2.0, 2.0])  # country A's block is (I - A) = [[1,-1],[-1,1]]
    ds = make_cube(Z[None], Y[None], x[None], years=[2003], regions=["AAA", "BBB"],
                   sectors=["s1", "s2"], fd=["f"], gross_output="published")
    with pytest.raises(MRIOError, match=r"year 2003.*AAA\.s"):
        YearSystem.from_cube(ds, 2003)


def _public_da(ys: YearSystem, values, dims, **extra) -> xr.DataArray:
    """What ``YearSystem._da`` returned before it cached indexes (the public construction)."""
    coords = {}
    for d in dims:
        if d in ("source", "sink", "exporter", "importer", "region", "region_to"):
            coords[d] = ys.regions
        elif d in ("sector", "source_sector", "sector_to"):
            coords[d] = ys.sectors
    coords.update(extra)
    return xr.DataArray(values, dims=dims, coords=coords).assign_coords(year=ys.year)


def _assert_same(a, b) -> None:
    xr.testing.assert_identical(a, b)
    assert list(a.coords) == list(b.coords)
    assert list(a.variables if isinstance(a, xr.Dataset) else a.coords) == list(
        b.variables if isinstance(b, xr.Dataset) else b.coords)
    assert list(a.xindexes) == list(b.xindexes) and list(a.sizes) == list(b.sizes)
    for c in a.coords:
        assert a[c].dtype == b[c].dtype
        assert type(a.xindexes.get(c)) is type(b.xindexes.get(c))


def test_labelled_results_equal_public_construction(leather_system):
    ys = leather_system
    G, N = ys.system.G, ys.system.N
    rng = np.random.default_rng(0)
    cases = [
        (("source", "sink"), (G, G), {}),
        (("source", "source_sector", "sink"), (G, N, G), {}),
        (("exporter", "sector", "importer"), (G, N, G), {}),
        (("region", "sector", "sector_to"), (G, N, N), {}),
        (("exporter",), (G,), {}),
        (("source", "producer"), (G, G), {"producer": ys.regions}),
        (("producer", "sector"), (G, N), {"producer": ys.regions}),
        (("iv", "region"), (2, G), {"iv": ["a", "b"]}),  # public route
        (("k", "source"), (4, G), {}),  # a dim without labels
    ]
    for dims, shape, extra in cases:
        values = rng.random(shape)
        fast, public = ys._da(values, dims, **extra), _public_da(ys, values, dims, **extra)
        _assert_same(fast, public)
        assert fast.values is values or np.shares_memory(fast.values, values)
    # Results do not share mutable state: attrs of one coordinate stay its own.
    a = ys._da(rng.random((G, G)), ("source", "sink"))
    a["source"].attrs["note"] = "x"
    assert "note" not in ys._da(rng.random((G, G)), ("source", "sink"))["source"].attrs
    # A wrong shape still raises as the public constructor does.
    with pytest.raises(ValueError):
        ys._da(rng.random((G + 1, G)), ("source", "sink"))
    # Datasets: same variables in the same order as xr.Dataset(dict of DataArrays).
    data = {"a": ys._da(rng.random(G), ("exporter",)),
            "b": ys._da(rng.random((G, N, G)), ("exporter", "sector", "importer"))}
    attrs = {"method": "m", "terms": ["a", "b"]}
    _assert_same(ys._dataset(data, attrs), xr.Dataset(data, attrs=attrs))
    _assert_same(ys._dataset(data), xr.Dataset(data))
    # Relabelling the system is seen at once.
    ys2 = YearSystem(ys.system, [f"R{i}" for i in range(G)], ys.sectors, ys.year)
    assert list(ys2._da(rng.random(G), ("exporter",)).exporter.values) == list(ys2.regions)


def test_solve_from_matches_solve(wiod2011):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroOutputWarning)
        s = YearSystem.from_cube(wiod2011, 2011).system
    G, N, n = s.G, s.N, s.n
    rng = np.random.default_rng(1)
    # Mixed: dense columns (first row 0), then block columns in country order.
    dense = rng.random((n, 3))
    blocks = block_columns(rng.random(n), G, N)
    rhs = np.concatenate([dense, blocks], axis=1)
    first = np.concatenate([np.zeros(3, dtype=int), np.arange(G) * N])
    for trans, ref in ((False, s.solve(rhs)), (True, s.solve_t(rhs))):
        got = s.solve_from(rhs, first, trans=trans)
        np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13 * np.abs(ref).max())
    with pytest.raises(ValueError, match="nondecreasing"):
        s.solve_from(rhs, first[::-1])


def test_solve_from_and_blocks_with_pivoting():
    # A 2 × 2 system whose LU must swap rows: every shortcut falls back to the plain routes.
    Z = np.array([[0.0, 3.0], [2.0, 0.0]])
    x = np.array([1.0, 1.0])
    s = IOSystem(Z, np.zeros((2, 2)), x, x, 2, 1)
    assert s.pivoted
    B = np.linalg.inv(np.eye(2) - Z)
    rhs = np.eye(2)
    np.testing.assert_allclose(s.solve_from(rhs, [0, 1]), B, rtol=1e-14)
    np.testing.assert_allclose(s.solve_from(rhs, [0, 1], trans=True), B.T, rtol=1e-14)
    np.testing.assert_allclose(s.diagonal_blocks[:, 0, 0], np.diag(B), rtol=1e-14)


def test_lu_property_factors_i_minus_a(wiod2011):
    # The system factorises (I − A)'; .lu still gives LU factors of I − A (scipy format).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroOutputWarning)
        s = YearSystem.from_cube(wiod2011, 2011).system
    lu, piv = s.lu
    np.testing.assert_array_equal(piv, np.arange(s.n))
    L = np.tril(lu, -1) + np.eye(s.n)
    U = np.triu(lu)
    M = s.leontief_matrix()
    np.testing.assert_allclose(L @ U, M, rtol=0, atol=1e-14)
    b = np.random.default_rng(2).random((s.n, 3))
    np.testing.assert_allclose(sla.lu_solve(s.lu, b), s.solve(b), rtol=1e-12)
    np.testing.assert_allclose(sla.lu_solve(s.lu, b, trans=1), s.solve_t(b), rtol=1e-12)


def test_transposed_lu_with_row_swaps_falls_back():
    # WIOD 2008: the LU of (I − A)' swaps a row, the LU of (I − A) does not: the system then
    # factorises I − A (accurate entry by entry for an M-matrix) and every shortcut applies.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroOutputWarning)
        s = YearSystem.from_cube(open_dataset("wiod2013", years=[2008]), 2008).system
    assert not s._of_t and not s.pivoted
    G, N = s.G, s.N
    B = s.leontief_inverse().reshape(G, N, G, N)
    idx = np.arange(G)
    np.testing.assert_allclose(s.diagonal_blocks, B[idx, :, idx, :], rtol=0, atol=1e-13)
    rhs = block_columns(s.v, G, N)
    for trans in (False, True):
        ref = s.solve_t(rhs) if trans else s.solve(rhs)
        np.testing.assert_allclose(s.solve_from(rhs, idx * N, trans=trans), ref, rtol=1e-13,
                                   atol=1e-13 * np.abs(ref).max())
    assert s.lu is s._factors()


def test_blas_views_match_numpy():
    # brgvc.core._blas runs GEMM/TRSM on strided views (no copies) through SciPy's BLAS.
    from brgvc.core import _blas

    rng = np.random.default_rng(3)
    F = np.asfortranarray(rng.random((60, 60)))
    C = np.ascontiguousarray(rng.random((60, 60)))
    for Cb in (F, C):
        for Ab in (F, C):
            for m, k, n in ((10, 7, 5), (1, 3, 4), (5, 1, 1), (20, 9, 1)):
                out = Cb.copy(order="K")
                A, B = Ab[3:3 + m, 5:5 + k], Ab[7:7 + k, 2:2 + n].T.T
                ref = 0.5 * out[11:11 + m, 13:13 + n] - 2.0 * (A @ B)
                _blas.gemm(out[11:11 + m, 13:13 + n], A, B, alpha=-2.0, beta=0.5)
                np.testing.assert_allclose(out[11:11 + m, 13:13 + n], ref, rtol=1e-13)
                untouched = np.ones(out.shape, dtype=bool)
                untouched[11:11 + m, 13:13 + n] = False
                np.testing.assert_array_equal(out[untouched], Cb[untouched])
        for lower in (True, False):
            for trans in (False, True):
                for unit in (False, True):
                    src = Cb.copy(order="K")
                    src[10:30, 20:40] += 20 * np.eye(20)
                    A = src[10:30, 20:40]
                    T = np.tril(A) if lower else np.triu(A)
                    if unit:
                        T = T - np.diag(np.diag(T)) + np.eye(20)
                    X = np.asfortranarray(rng.random((40, 40)))
                    ref = np.linalg.solve(T.T if trans else T, X[5:25, 7:19])
                    _blas.trsm(A, X[5:25, 7:19], lower=lower, trans=trans, unit=unit)
                    np.testing.assert_allclose(X[5:25, 7:19], ref, rtol=1e-12)


def test_blas_fallback_without_scipy_capsules(monkeypatch):
    # Without SciPy's cython_blas pointers the same calls go through numpy / f2py.
    from brgvc.core import _blas

    monkeypatch.setattr(_blas, "_DGEMM", None)
    monkeypatch.setattr(_blas, "_DTRSM", None)
    rng = np.random.default_rng(4)
    A, B = rng.random((6, 4)), rng.random((4, 5))
    C = np.full((6, 5), np.nan)  # beta = 0: C must not be read
    _blas.gemm(C, A, B, beta=0.0)
    np.testing.assert_allclose(C, A @ B, rtol=1e-14)
    T = np.triu(rng.random((6, 6))) + 6 * np.eye(6)
    X = np.asfortranarray(rng.random((6, 3)))
    ref = np.linalg.solve(T.T, X)
    _blas.trsm(T, X, lower=False, trans=True)
    np.testing.assert_allclose(X, ref, rtol=1e-12)
