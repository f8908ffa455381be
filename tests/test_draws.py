"""Bootstrap draws: perturbation models, seeds, rebalancing identities, reductions."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from brgvc.core.kernels import IOSystem
from brgvc.draws import (
    RSE,
    DrawModel,
    Sampler,
    Table,
    draw_rng,
    gras,
    lognormal_factor,
    size_rse,
    summarise,
    truncnormal_values,
)


def synthetic_table(G: int = 4, N: int = 3, F: int = 2, seed: int = 0,
                    inventories: bool = True) -> Table:
    """A small productive table with some zero cells and, optionally, negative inventories."""
    rng = np.random.default_rng(seed)
    n = G * N
    Z = rng.uniform(0, 10, (n, n)) * (rng.uniform(size=(n, n)) > 0.3)
    Y = rng.uniform(5, 30, (n, G * F)) * (rng.uniform(size=(n, G * F)) > 0.2)
    inv = np.zeros(F, dtype=bool)
    if inventories:
        inv[-1] = True
        Y.reshape(n, G, F)[:, :, -1] = rng.normal(0, 2, (n, G))
    x = Z.sum(1) + Y.sum(1)
    va = x - Z.sum(0)
    return Table(Z, Y, x, va, G, N, F, inv)


def vby_total(t: Table) -> float:
    s = IOSystem(t.Z, t.Yd, t.x, t.va, t.G, t.N)
    return float(s.vby_country().sum())


# -- seeds ------------------------------------------------------------------------------------


def test_draw_rng_keyed_by_seed_year_draw():
    a = draw_rng(7, 2011, 3).standard_normal(5)
    assert np.array_equal(a, draw_rng(7, 2011, 3).standard_normal(5))
    for other in (draw_rng(8, 2011, 3), draw_rng(7, 2010, 3), draw_rng(7, 2011, 4)):
        assert not np.array_equal(a, other.standard_normal(5))


@pytest.mark.parametrize("model", ["lognormal", "truncnormal"])
def test_a_draw_alone_reproduces_itself(model):
    base = synthetic_table()
    m = DrawModel(model=model, rse=RSE("flat", 0.2), tau=0.1)
    s1 = Sampler(base, m)
    in_sequence = [s1.draw(draw_rng(3, 2000, d)) for d in (1, 2, 3)]
    alone = Sampler(base, m).draw(draw_rng(3, 2000, 2))
    assert np.array_equal(in_sequence[1].Z, alone.Z)
    assert np.array_equal(in_sequence[1].Y, alone.Y)
    assert not np.array_equal(in_sequence[0].Z, in_sequence[1].Z)


# -- zero variance ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["lognormal", "truncnormal"])
@pytest.mark.parametrize("rebalance", ["residual", "gras"])
def test_zero_variance_draw_is_the_base_bit_for_bit(model, rebalance):
    base = synthetic_table()
    t = Sampler(base, DrawModel(model=model, rse=RSE("flat", 0.0), tau=0.0,
                                rebalance=rebalance)).draw(draw_rng(1, 1999, 5))
    for name in ("Z", "Y", "x", "va"):
        assert np.array_equal(getattr(t, name), getattr(base, name)), name


# -- perturbation models ----------------------------------------------------------------------


def test_lognormal_factor_mean_and_sd():
    rng = np.random.default_rng(0)
    R, rse = 200_000, 0.2
    f = lognormal_factor(np.full(R, rse), rng.standard_normal(R))
    se = rse / np.sqrt(R)
    assert abs(f.mean() - 1.0) < 5 * se
    assert abs(f.std() - rse) < 0.01 * rse * 5
    assert (f > 0).all()
    assert np.array_equal(lognormal_factor(np.zeros(3), np.ones(3)), np.ones(3))


def test_truncnormal_is_positive_with_the_right_moments():
    rng = np.random.default_rng(1)
    R = 200_000
    mu = np.full(R, 10.0)
    v = truncnormal_values(mu, 0.2 * mu, 1.0 - rng.random(R))
    assert (v >= 0).all()
    assert abs(v.mean() - 10.0) < 5 * 2.0 / np.sqrt(R)
    assert abs(v.std() - 2.0) < 0.05
    # heavy truncation still gives positive values and the conditional mean
    w = truncnormal_values(np.full(R, 1.0), np.full(R, 1.0), 1.0 - rng.random(R))
    assert (w >= 0).all()
    assert abs(w.mean() - 1.2876) < 0.01  # E[X | X > 0], X ~ N(1, 1)


def test_zeros_stay_zero_and_signs_follow_the_model():
    base = synthetic_table()
    t = Sampler(base, DrawModel(rse=RSE("flat", 0.3))).draw(draw_rng(0, 1, 1))
    assert np.array_equal(t.Z == 0, base.Z == 0)
    assert np.array_equal(t.Y == 0, base.Y == 0)
    assert (t.Z >= 0).all()
    inv = t.Y.reshape(base.n, base.G, base.F)[:, :, -1]
    assert (inv < 0).any()  # inventories keep a plain normal draw
    rest = t.Y.reshape(base.n, base.G, base.F)[:, :, :-1]
    assert (rest >= 0).all()


def test_perturbation_preserves_means_law_of_large_numbers():
    """Mean of Z*, Y* over R draws is within 5 standard errors of Z, Y (every cell)."""
    base = synthetic_table(G=3, N=2)
    rse = 0.1
    s = Sampler(base, DrawModel(rse=RSE("flat", rse), tau=0.05))
    R = 4000
    zs = np.zeros_like(base.Z)
    ys = np.zeros_like(base.Y)
    for d in range(1, R + 1):
        Z, Y = s.perturb(draw_rng(11, 2000, d))
        zs += Z
        ys += Y
    # lognormal cell sd = rse; the shock adds sqrt(exp(2 tau^2) - 1) ~ 0.07 (0.1 on the diagonal)
    sd = np.sqrt((1 + rse**2) * np.exp(4 * 0.05**2) - 1)
    tol = 5 * sd * np.abs(base.Z) / np.sqrt(R) + 1e-12
    assert (np.abs(zs / R - base.Z) <= tol).all()
    toly = 5 * sd * np.abs(base.Y) / np.sqrt(R) + 1e-12
    assert (np.abs(ys / R - base.Y) <= toly).all()


def test_size_dependent_and_sd_scenarios():
    z = np.array([0.0, 0.01, 1.0, 100.0, 1e6])
    r = size_rse(z, a=0.1, b=0.5, lo=0.01, hi=0.5, z_ref=1.0)
    assert r[2] == pytest.approx(0.1)
    assert r[1] == 0.5 and r[0] == 0.5  # clipped at hi
    assert r[4] == 0.01  # clipped at lo
    assert r[3] == pytest.approx(0.01)
    sd_rse = RSE("sd", path="sd.zarr").relative(np.array([0.0, 2.0, -4.0]), np.array([1, 1, 1]))
    assert np.array_equal(sd_rse, [0.0, 0.5, 0.25])
    base = synthetic_table(inventories=False)
    sd = (0.1 * base.Z, 0.1 * base.Y)
    a = Sampler(base, DrawModel(rse=RSE("sd", path="x")), sd=sd).draw(draw_rng(0, 1, 1))
    b = Sampler(base, DrawModel(rse=RSE("flat", 0.1))).draw(draw_rng(0, 1, 1))
    assert np.allclose(a.Z, b.Z, rtol=1e-14) and np.allclose(a.Y, b.Y, rtol=1e-14)


def test_bad_draw_models_are_refused():
    with pytest.raises(ValueError, match="model"):
        DrawModel(model="uniform")
    with pytest.raises(ValueError, match="rebalance"):
        DrawModel(rebalance="ras")
    with pytest.raises(ValueError, match="path"):
        RSE("sd")
    with pytest.raises(ValueError, match=">= 0"):
        RSE("flat", value=-0.1)


# -- rebalancing ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["lognormal", "truncnormal"])
def test_residual_rebalancing_keeps_every_identity(model):
    base = synthetic_table()
    t = Sampler(base, DrawModel(model=model, rse=RSE("flat", 0.2), tau=0.1)).draw(
        draw_rng(5, 2005, 1))
    assert np.array_equal(t.x, t.Z.sum(1) + t.Y.sum(1))
    assert np.array_equal(t.va, t.x - t.Z.sum(0))
    # VBY sums to GDP (total value added) for the perturbed system
    assert vby_total(t) == pytest.approx(t.va.sum(), rel=1e-12)


def test_residual_rebalancing_carries_a_published_discrepancy():
    base = synthetic_table()
    disc = np.linspace(-1, 1, base.n)
    pub = base.replace(x=base.x + disc, va=base.va + disc, discrepancy=disc)
    t = Sampler(pub, DrawModel(rse=RSE("flat", 0.1))).draw(draw_rng(0, 1, 1))
    assert np.allclose(t.x - t.Z.sum(1) - t.Y.sum(1), disc, atol=1e-12)
    z = Sampler(pub, DrawModel(rse=RSE("flat", 0.0))).draw(draw_rng(0, 1, 1))
    assert np.array_equal(z.x, pub.x)


def test_gras_hits_the_base_margins_with_negative_entries():
    base = synthetic_table()
    t = Sampler(base, DrawModel(rse=RSE("flat", 0.2), rebalance="gras")).draw(
        draw_rng(2, 2002, 1))
    assert not np.array_equal(t.Z, base.Z)
    u = base.Z.sum(1) + base.Y.sum(1)
    assert np.allclose(t.Z.sum(1) + t.Y.sum(1), u, rtol=1e-9)
    assert np.allclose(t.Z.sum(0), base.Z.sum(0), rtol=1e-9)
    assert np.allclose(t.Y.sum(0), base.Y.sum(0), rtol=1e-9, atol=1e-9)
    assert np.array_equal(t.x, base.x) and np.array_equal(t.va, base.va)
    assert np.array_equal(np.sign(t.Z), np.sign(base.Z))
    assert vby_total(t) == pytest.approx(base.va.sum(), rel=1e-9)


def test_gras_on_a_known_case():
    M = np.array([[1.0, 2.0], [3.0, -1.0]])
    X, it = gras(M, np.array([4.0, 1.0]), np.array([5.0, 0.0]), tol=1e-13)
    assert it > 0
    assert np.allclose(X.sum(1), [4, 1]) and np.allclose(X.sum(0), [5, 0])
    assert X[1, 1] < 0 and (X[:, 0] > 0).all()
    with pytest.raises(RuntimeError, match="did not converge"):
        gras(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 2.0]), np.array([2.0, 1.0]),
             maxiter=20)


def test_table_from_cube_balanced_base_matches_the_cube(wiod_2011):
    t = Table.from_cube(wiod_2011)
    assert np.allclose(t.x, wiod_2011["x"].values.reshape(-1), rtol=1e-13)
    assert np.allclose(t.va, wiod_2011["va"].values.reshape(-1), rtol=1e-12, atol=1e-6)
    assert t.inventory.tolist() == [f == "INVEN" for f in wiod_2011["fd"].values]


@pytest.fixture(scope="module")
def wiod_2011():
    import warnings

    from brgvc.datasets import open_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return open_dataset("wiod2013", years=[2011]).isel(year=0).compute()


def test_mean_over_many_draws_converges_to_the_base_measure(wiod_2011):
    """Law of large numbers on a measure: mean VBY over 60 draws (rse 2 %) vs the base.

    Tolerance, for every cell above 0.1 % of GDP: 5 standard errors of the draw mean plus
    0.5 % of the base value (the nonlinearity bias of V B Y is second order, O(rse^2)).
    """
    from threadpoolctl import threadpool_limits

    base = Table.from_cube(wiod_2011)
    s = Sampler(base, DrawModel(rse=RSE("flat", 0.02)))
    vals = []
    with threadpool_limits(1, "blas"):
        ref = IOSystem(base.Z, base.Yd, base.x, base.va, base.G, base.N).vby_country()
        for d in range(1, 61):
            t = s.draw(draw_rng(99, 2011, d))
            vals.append(IOSystem(t.Z, t.Yd, t.x, t.va, t.G, t.N).vby_country())
    vals = np.array(vals)
    mean, se = vals.mean(0), vals.std(0, ddof=1) / np.sqrt(len(vals))
    big = ref > 1e-3 * ref.sum()
    assert big.sum() > 40
    assert (np.abs(mean - ref)[big] <= 5 * se[big] + 5e-3 * ref[big]).all()
    # ... and the draws do vary
    assert (vals.std(0)[big] > 0).all()


# -- reductions -------------------------------------------------------------------------------


def test_summarise_statistics_match_numpy():
    rng = np.random.default_rng(0)
    v = rng.normal(10, 1, (2, 51, 3))
    da = xr.DataArray(v, dims=("year", "draw", "c"), coords={"draw": np.arange(51)})
    s = summarise(da.chunk({"draw": 10}), "draw").compute()
    d = v[:, 1:]
    assert list(s["stat"].values) == ["base", "mean", "sd", "cv", "q025", "q975",
                                      "p_above_base"]
    assert np.allclose(s.sel(stat="base"), v[:, 0])
    assert np.allclose(s.sel(stat="mean"), d.mean(1))
    assert np.allclose(s.sel(stat="sd"), d.std(1, ddof=1))
    assert np.allclose(s.sel(stat="cv"), d.std(1, ddof=1) / np.abs(d.mean(1)))
    assert np.allclose(s.sel(stat="q025"), np.quantile(d, 0.025, axis=1))
    assert np.allclose(s.sel(stat="q975"), np.quantile(d, 0.975, axis=1))
    assert np.allclose(s.sel(stat="p_above_base"), (d > v[:, :1]).mean(1))


@pytest.mark.parametrize("model", ["lognormal", "truncnormal"])
def test_sampler_applies_the_public_kernels(model):
    """The sampler's precomputed fast path gives the bits of the documented formulas."""
    base = synthetic_table(inventories=False)
    rse = 0.15
    z = Sampler(base, DrawModel(model=model, rse=RSE("flat", rse))).draw(draw_rng(4, 2004, 2))
    rng = draw_rng(4, 2004, 2)
    rng.standard_normal(base.G)  # the country shocks come first in the stream
    iz = np.flatnonzero(base.Z)
    mu = base.Z.ravel()[iz]
    if model == "lognormal":
        expect = mu * lognormal_factor(np.full(mu.shape, rse), rng.standard_normal(mu.shape[0]))
    else:
        expect = truncnormal_values(mu, rse * mu, 1.0 - rng.random(mu.shape[0]))
    assert np.array_equal(z.Z.ravel()[iz], expect)


def _country_total_cvs(base, model, n_draws, seed=20190701, year=2011):
    """CVs over draws of each country's gross exports and foreign VA in its final demand."""
    from brgvc.core.kernels import country_sum

    sampler = Sampler(base, model)
    ex, fva = [], []
    for d in range(1, n_draws + 1):
        t = sampler.draw(draw_rng(seed, year, d))
        s = IOSystem(t.Z, t.Yd, t.x, t.va, t.G, t.N)
        ex.append(country_sum(s.exports.sum(1), t.G, t.N))
        vby = s.vby_country()
        fva.append(vby.sum(0) - np.diag(vby))
    cv = [np.std(v, axis=0, ddof=1) / np.mean(v, axis=0) for v in (np.array(ex), np.array(fva))]
    return np.concatenate(cv)


def test_default_draw_model_is_calibrated_to_the_literature(wiod_2011):
    """Rodrigues et al. (2018): country totals are uncertain by 2-16 % across MRIO databases.

    The default job's draw model must put the CVs of WIOD country totals in that range, which
    independent cell errors alone cannot do (they average out in the sums).
    """
    from brgvc.runner import default_job_path, load_job

    spec = load_job(default_job_path()).spec["draws"]
    assert spec["n"] >= 200
    base = Table.from_cube(wiod_2011, gross_output="balanced")
    cv = _country_total_cvs(base, DrawModel.from_spec(spec), 30)
    assert cv.min() > 0.02 and cv.max() < 0.16
    assert 0.03 < np.median(cv) < 0.10
    independent = _country_total_cvs(base, DrawModel(rse=RSE("flat", value=0.1)), 30)
    assert np.median(independent) < 0.02
