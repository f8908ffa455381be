"""Bootstrap draws of an MRIO table: seeded perturbation models, rebalancing (docs/methods.md §7).

A draw multiplies every *nonzero* cell of ``Z`` and ``Y`` by a random factor (zeros stay zero,
so the sparsity pattern and zero-output sectors are kept), then rebalances the table so that
the accounting identities hold again:

* **lognormal** (default, mean-preserving, sign-preserving): ``z* = z · exp(σ ξ − σ²/2)`` with
  ``σ² = ln(1 + rse²)`` and ``ξ ~ N(0, 1)``, so that ``E[z*] = z`` and ``sd(z*) = rse · z``;
* **truncnormal**: ``z* ~ N(z, (rse · z)²)`` conditioned on ``z* > 0`` (Lenzen et al. 2010),
  drawn by inversion from one uniform per cell; its mean exceeds ``z`` by a negligible
  ``rse · z · φ(1/rse) / Φ(1/rse)`` (3e-7 · z at rse = 0.2);
* inventories (the final-demand categories of :data:`brgvc.schema.INVENTORY_CATEGORIES`) and
  any other negative cell get a plain normal draw ``z* = z + rse · |z| · ξ``.

The relative standard error ``rse`` of a cell is a flat scenario (5/10/20 %), a size-dependent
``clip(a · (|z| / z_ref)^(-b), lo, hi)``, or ``sd / |z|`` from a user-supplied SD cube (Eora ships
one). An optional correlated shock multiplies the country-pair block (s, r) by
``exp(η_s + η_r − c_sr)``, ``η ~ N(0, τ²)``, with ``c_sr = τ² (1 + [s = r])`` so that the shock
is mean-preserving too (Rodrigues et al. 2018: errors are correlated).

Rebalancing: **residual** (default) sets ``x* = Z*1 + Y*1`` and ``va* = x* − 1'Z*`` (for tables
read with the published gross output, the published discrepancy ``x − Z1 − Y1`` is carried over
unchanged), so every identity holds exactly; draws with ``va* < 0`` are counted and flagged,
never silently fixed. **gras** scales ``[Z* Y*]`` to the base table's margins by generalised
RAS (Junius & Oosterhaven 2003; Lenzen, Wood & Gallego 2007), which keeps ``x``, ``va`` and
GDP fixed.

Randomness is keyed by position, never global: :func:`draw_rng` gives the generator of
``(seed, year, draw)`` from ``SeedSequence(seed, spawn_key=(year, draw))``, so a draw's values do
not depend on which other draws, years or workers exist. Within a draw the stream is consumed
in a fixed order: the G country shocks, then one number per nonzero cell of ``Z`` (row-major),
then one per nonzero cell of ``Y``. Draw 0 is the unperturbed base table by convention (the
runner never perturbs it). With zero variance (rse = 0 and τ = 0) every factor is exactly 1,
and a draw equals the base table bit for bit.

This module is numpy-only apart from :func:`summarise` (an xarray reduction over the draw
dimension, lazy on dask inputs). It imports from :mod:`brgvc.schema` only.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import scipy.special as sps
import xarray as xr

from brgvc.schema import (
    FD,
    INVENTORY_CATEGORIES,
    REGION,
    SECTOR,
    balance,
    stacked_final,
    stacked_square,
    stacked_vector,
)

__all__ = [
    "MODELS",
    "REBALANCE_METHODS",
    "RSE",
    "DrawModel",
    "Sampler",
    "Table",
    "draw_rng",
    "gras",
    "interval_stats",
    "lognormal_factor",
    "normal_values",
    "rebalance_residual",
    "size_rse",
    "summarise",
    "truncnormal_values",
]

MODELS: tuple[str, ...] = ("lognormal", "truncnormal")
REBALANCE_METHODS: tuple[str, ...] = ("residual", "gras")
RSE_KINDS: tuple[str, ...] = ("flat", "size", "sd")


# ---------------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------------


def draw_rng(seed: int, year: int, draw: int) -> np.random.Generator:
    """Return the random generator of one (year, draw).

    Parameters
    ----------
    seed : int
        The job's seed (non-negative).
    year : int
        Calendar year (not its position in the job, so that selecting other years changes
        nothing).
    draw : int
        Draw number (1, 2, ...; 0 is the unperturbed base by convention).

    Returns
    -------
    numpy.random.Generator
        PCG64 seeded with ``SeedSequence(seed, spawn_key=(year, draw))``.
    """
    seq = np.random.SeedSequence(int(seed), spawn_key=(int(year), int(draw)))
    return np.random.default_rng(seq)


# ---------------------------------------------------------------------------------------------
# Scenarios of the relative standard error
# ---------------------------------------------------------------------------------------------


def size_rse(
    values: np.ndarray, a: float, b: float, lo: float, hi: float, z_ref: float = 1.0
) -> np.ndarray:
    """Size-dependent relative standard error ``clip(a · (|z| / z_ref)^(-b), lo, hi)``.

    Small cells are less certain than large ones (b > 0). Zero cells get ``hi`` (they are never
    perturbed anyway).

    Parameters
    ----------
    values : ndarray
        Cell values ``z``.
    a, b : float
        Level and elasticity.
    lo, hi : float
        Bounds of the RSE.
    z_ref : float
        Reference cell size (in the table's unit) at which the RSE is ``a``.

    Returns
    -------
    ndarray
        The RSE of every cell, same shape as ``values``.
    """
    z = np.abs(np.asarray(values, dtype=np.float64)) / float(z_ref)
    with np.errstate(divide="ignore", over="ignore"):
        r = float(a) * np.power(z, -float(b), where=z > 0, out=np.full_like(z, np.inf))
    return np.clip(r, float(lo), float(hi))


@dataclasses.dataclass(frozen=True)
class RSE:
    """A scenario for the relative standard error (SD / |value|) of each cell.

    Parameters
    ----------
    kind : {"flat", "size", "sd"}
        ``flat``: the same ``value`` everywhere; ``size``: :func:`size_rse` with ``a``, ``b``,
        ``lo``, ``hi``, ``z_ref``; ``sd``: ``sd / |z|`` from the SD cube at ``path`` (a cube
        store or embedded name whose ``Z`` and ``Y`` hold standard deviations).
    value : float
        Flat RSE, e.g. 0.05, 0.1 or 0.2.
    a, b, lo, hi, z_ref : float
        Parameters of the size-dependent scenario.
    path : str, optional
        The SD cube of the ``sd`` scenario.
    """

    kind: Literal["flat", "size", "sd"] = "flat"
    value: float = 0.1
    a: float = 0.1
    b: float = 0.0
    lo: float = 0.0
    hi: float = 1.0
    z_ref: float = 1.0
    path: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in RSE_KINDS:
            raise ValueError(f"rse kind {self.kind!r} is not one of {RSE_KINDS}")
        if self.kind == "sd" and not self.path:
            raise ValueError("rse kind 'sd' needs the path of an SD cube")
        for name in ("value", "a", "lo", "hi"):
            if getattr(self, name) < 0:
                raise ValueError(f"rse {name} must be >= 0, not {getattr(self, name)}")
        if self.lo > self.hi:
            raise ValueError(f"rse lo ({self.lo}) > hi ({self.hi})")
        if self.z_ref <= 0:
            raise ValueError(f"rse z_ref must be > 0, not {self.z_ref}")

    @classmethod
    def from_spec(cls, spec: float | Mapping[str, Any]) -> RSE:
        """Build from a job-spec value: a number (flat) or a mapping with ``kind``."""
        if isinstance(spec, int | float) and not isinstance(spec, bool):
            return cls("flat", value=float(spec))
        spec = dict(spec)
        kind = spec.pop("kind", "flat")
        return cls(kind, **{k: (str(v) if k == "path" else float(v)) for k, v in spec.items()})

    def to_spec(self) -> dict[str, Any]:
        """The scenario as a job-spec mapping (only the fields its kind uses)."""
        if self.kind == "flat":
            return {"kind": "flat", "value": self.value}
        if self.kind == "size":
            return {"kind": "size", "a": self.a, "b": self.b, "lo": self.lo, "hi": self.hi,
                    "z_ref": self.z_ref}
        return {"kind": "sd", "path": self.path}

    @property
    def is_zero(self) -> bool:
        """True when the scenario perturbs nothing (flat 0 or size with hi = 0)."""
        return (self.kind == "flat" and self.value == 0.0) or (
            self.kind == "size" and (self.hi == 0.0 or self.a == 0.0)
        )

    def relative(self, values: np.ndarray, sd: np.ndarray | None = None) -> np.ndarray:
        """Return the RSE of each cell.

        Parameters
        ----------
        values : ndarray
            Cell values.
        sd : ndarray, optional
            Standard deviations of the same cells (``sd`` scenario only).
        """
        values = np.asarray(values, dtype=np.float64)
        if self.kind == "flat":
            return np.full(values.shape, float(self.value))
        if self.kind == "size":
            return size_rse(values, self.a, self.b, self.lo, self.hi, self.z_ref)
        if sd is None:
            raise ValueError("the 'sd' scenario needs the SD cube's values")
        sd = np.nan_to_num(np.abs(np.asarray(sd, dtype=np.float64)), nan=0.0)
        out = np.zeros(values.shape)
        np.divide(sd, np.abs(values), out=out, where=values != 0)
        return out


@dataclasses.dataclass(frozen=True)
class DrawModel:
    """How a draw perturbs and rebalances a table.

    Parameters
    ----------
    model : {"lognormal", "truncnormal"}
        Distribution of the positive cells (see module docstring).
    rse : RSE
        Relative standard errors.
    tau : float
        SD of the correlated country shocks η (0: independent cells only).
    rebalance : {"residual", "gras"}
        Rebalancing after perturbation.
    gras_tol : float
        GRAS stops when every row and column margin is within this relative tolerance.
    gras_maxiter : int
        GRAS iteration limit (a :class:`RuntimeError` names the worst margin beyond it).
    """

    model: Literal["lognormal", "truncnormal"] = "lognormal"
    rse: RSE = dataclasses.field(default_factory=RSE)
    tau: float = 0.0
    rebalance: Literal["residual", "gras"] = "residual"
    gras_tol: float = 1e-10
    gras_maxiter: int = 2000

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"draw model {self.model!r} is not one of {MODELS}")
        if self.rebalance not in REBALANCE_METHODS:
            raise ValueError(f"rebalance {self.rebalance!r} is not one of {REBALANCE_METHODS}")
        if self.tau < 0:
            raise ValueError(f"tau must be >= 0, not {self.tau}")

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> DrawModel:
        """Build from the ``draws`` mapping of a job spec (ignores n, block and seed)."""
        return cls(
            model=spec.get("model", "lognormal"),
            rse=RSE.from_spec(spec.get("rse", 0.1)),
            tau=float(spec.get("tau", 0.0)),
            rebalance=spec.get("rebalance", "residual"),
        )


# ---------------------------------------------------------------------------------------------
# Element kernels
# ---------------------------------------------------------------------------------------------


def lognormal_factor(rse: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """Mean-preserving lognormal factor ``exp(σ ξ − σ²/2)`` with ``σ² = ln(1 + rse²)``.

    ``E[factor] = 1`` and ``sd(factor) = rse``; rse = 0 gives exactly 1.
    """
    s2 = np.log1p(np.square(rse))
    return np.exp(np.sqrt(s2) * xi - 0.5 * s2)


def truncnormal_values(mu: np.ndarray, sd: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw ``N(mu, sd²)`` conditioned on being positive, by inversion (``mu > 0``).

    Parameters
    ----------
    mu, sd : ndarray
        Means (positive) and standard deviations; ``sd = 0`` returns ``mu`` exactly.
    u : ndarray
        Uniforms in (0, 1].

    Notes
    -----
    With ``Z = (X − mu)/sd`` truncated below at ``−mu/sd``, ``−Z`` is a normal truncated above
    at ``mu/sd``, so ``X = mu − sd · Φ⁻¹(u · Φ(mu/sd))``: stable for large ``mu/sd``.
    """
    mu = np.asarray(mu, dtype=np.float64)
    sd = np.asarray(sd, dtype=np.float64)
    out = mu.copy()
    pos = sd > 0
    m, s = mu[pos], sd[pos]
    out[pos] = m - s * sps.ndtri(u[pos] * sps.ndtr(m / s))
    return out


def normal_values(mu: np.ndarray, sd: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """Plain normal draw ``mu + sd · ξ`` (inventories, negative cells)."""
    return mu + sd * xi


def _correlated_log_shock(eta: np.ndarray, tau: float, s: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Log of the block shock ``η_s + η_r − τ²(1 + [s = r])`` for cells in blocks (s, r)."""
    return tau * (eta[s] + eta[r]) - tau * tau * (1.0 + (s == r))


# ---------------------------------------------------------------------------------------------
# Tables and rebalancing
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Table:
    """One year's (or one draw's) table on stacked, country-major arrays.

    Parameters
    ----------
    Z : ndarray (n, n)
        Intermediate flows.
    Y : ndarray (n, G·F)
        Final demand by destination country and category (country-major).
    x : ndarray (n,)
        Gross output.
    va : ndarray (n,)
        Value added.
    G, N, F : int
        Countries, sectors and final-demand categories.
    inventory : ndarray of bool (F,)
        Categories drawn with a plain normal (changes in inventories).
    discrepancy : ndarray (n,), optional
        ``x − Z1 − Y1`` of the base table (published gross output), carried over by residual
        rebalancing; None for balanced tables.
    """

    Z: np.ndarray
    Y: np.ndarray
    x: np.ndarray
    va: np.ndarray
    G: int
    N: int
    F: int
    inventory: np.ndarray
    discrepancy: np.ndarray | None = None

    @classmethod
    def from_cube(cls, ds: xr.Dataset, gross_output: str | None = None) -> Table:
        """Build from one (computed) year of a canonical cube.

        Parameters
        ----------
        ds : xarray.Dataset
            One year of a cube (no ``year`` dimension, or a length-1 one).
        gross_output : {"balanced", "published"}, optional
            Default: ``ds.attrs["gross_output"]`` (else balanced). For ``balanced``, ``x`` and
            ``va`` are recomputed here with :func:`rebalance_residual`, the same code as a
            draw's, so that a zero-variance draw equals the base bit for bit.
        """
        if "year" in ds.dims:
            ds = ds.isel(year=0)
        gross_output = gross_output or ds.attrs.get("gross_output", "balanced")
        Z = np.ascontiguousarray(stacked_square(ds["Z"]))
        Y = np.ascontiguousarray(stacked_final(ds["Y"]))
        G, N, F = ds.sizes[REGION], ds.sizes[SECTOR], ds.sizes[FD]
        inventory = np.array([str(f) in INVENTORY_CATEGORIES for f in ds[FD].values], dtype=bool)
        if gross_output == "balanced":
            x, va = rebalance_residual(Z, Y)
            disc = None
        else:
            x = stacked_vector(ds["x"])
            va = stacked_vector(ds["va"])
            disc = x - (Z.sum(1) + Y.sum(1))
        return cls(Z, Y, x, va, G, N, F, inventory, disc)

    @property
    def n(self) -> int:
        """Number of country-sectors G·N."""
        return self.G * self.N

    @property
    def Yd(self) -> np.ndarray:
        """Final demand by destination country (n × G), summed over categories."""
        return self.Y.reshape(self.n, self.G, self.F).sum(-1)

    def negative_va(self) -> int:
        """Number of country-sectors with positive output and negative value added."""
        return int(np.count_nonzero((self.va < 0) & (self.x > 0)))

    def replace(self, **changes: Any) -> Table:
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)


def rebalance_residual(
    Z: np.ndarray, Y: np.ndarray, discrepancy: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Residual rebalancing: ``x = Z1 + Y1 (+ discrepancy)`` and ``va = x − 1'Z``.

    Parameters
    ----------
    Z : ndarray (n, n)
    Y : ndarray (n, m)
        Final demand (any column layout).
    discrepancy : ndarray (n,), optional
        Added to ``x`` (the base table's published ``x − Z1 − Y1``).

    Returns
    -------
    x, va : ndarray (n,)
    """
    return balance(Z, Y, discrepancy)  # the one balancing (brgvc.schema.balance)


def gras(
    M: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    *,
    tol: float = 1e-10,
    maxiter: int = 2000,
) -> tuple[np.ndarray, int]:
    """Generalised RAS: scale ``M`` (entries of any sign) to row sums ``u`` and column sums ``v``.

    Finds ``r, s > 0`` such that ``X = r̂ P ŝ − r̂⁻¹ N ŝ⁻¹`` has the target margins, where
    ``M = P − N`` splits the positive and negative entries (Junius & Oosterhaven 2003, in the
    corrected form of Lenzen, Wood & Gallego 2007). Each half-step solves, per column (row),
    ``p k − n / k = target`` for the positive root ``k = (t + sqrt(t² + 4 p n)) / (2 p)``.
    The iteration works on sparse copies of P and N and never forms X until it has converged
    (the margins follow from the same matrix-vector products).

    Parameters
    ----------
    M : ndarray (n, m)
        Matrix to scale (zeros stay zero).
    u : ndarray (n,)
        Target row sums.
    v : ndarray (m,)
        Target column sums (``u.sum() == v.sum()`` up to rounding).
    tol : float
        Stop when every margin is within ``tol · max(|target|, 1)`` (relative).
    maxiter : int
        Iteration limit.

    Returns
    -------
    X : ndarray (n, m)
        The scaled matrix (``M`` itself, unchanged, if it already meets the margins).
    iterations : int

    Raises
    ------
    RuntimeError
        If the margins are not met after ``maxiter`` iterations (naming the worst one).
    """
    import scipy.sparse as sparse

    M = np.asarray(M, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    su = np.maximum(np.abs(u), 1.0)
    sv = np.maximum(np.abs(v), 1.0)

    def _err(rows: np.ndarray, cols: np.ndarray) -> tuple[float, str]:
        er = np.abs(rows - u) / su
        ec = np.abs(cols - v) / sv
        i, j = int(np.argmax(er)), int(np.argmax(ec))
        if er[i] >= ec[j]:
            return float(er[i]), f"row {i}"
        return float(ec[j]), f"column {j}"

    if _err(M.sum(1), M.sum(0))[0] <= tol:
        return M, 0
    ri, ci = np.nonzero(M)
    val = M[ri, ci]
    pos = val > 0
    shape = M.shape
    P = sparse.csr_array((val[pos], (ri[pos], ci[pos])), shape=shape)
    Pt = P.T.tocsr()
    has_neg = not pos.all()
    if has_neg:
        Nn = sparse.csr_array((-val[~pos], (ri[~pos], ci[~pos])), shape=shape)
        Nt = Nn.T.tocsr()

    def _inv(k: np.ndarray) -> np.ndarray:
        # 1/k, with 0 where k = 0 (a margin of 0 empties its positive entries).
        out = np.zeros_like(k)
        np.divide(1.0, k, out=out, where=k > 0)
        return out

    def _root(p: np.ndarray, q: np.ndarray, target: np.ndarray) -> np.ndarray:
        # Solve p·k − q/k = target for k > 0; rows/columns without entries keep k = 1.
        k = np.ones_like(p)
        ok = p > 0
        k[ok] = (target[ok] + np.sqrt(target[ok] ** 2 + 4.0 * p[ok] * q[ok])) / (2.0 * p[ok])
        only_neg = ~ok & (q > 0) & (target < 0)
        k[only_neg] = -q[only_neg] / target[only_neg]
        return k

    zero_c, zero_r = np.zeros(shape[1]), np.zeros(shape[0])
    r = np.ones(shape[0])
    pc = Pt @ r
    qc = Nt @ _inv(r) if has_neg else zero_c
    err, where = float("inf"), ""
    for it in range(1, maxiter + 1):
        s = _root(pc, qc, v)
        pr = P @ s
        qr = Nn @ _inv(s) if has_neg else zero_r
        r = _root(pr, qr, u)
        pc = Pt @ r
        qc = Nt @ _inv(r) if has_neg else zero_c
        err, where = _err(r * pr - _inv(r) * qr, s * pc - _inv(s) * qc)
        if err <= tol:
            X = np.zeros(shape)
            X[ri[pos], ci[pos]] = r[ri[pos]] * val[pos] * s[ci[pos]]
            if has_neg:
                X[ri[~pos], ci[~pos]] = val[~pos] * _inv(r)[ri[~pos]] * _inv(s)[ci[~pos]]
            return X, it
    raise RuntimeError(
        f"GRAS did not converge in {maxiter} iterations: {where} is off by a relative {err:.3g}"
    )


# ---------------------------------------------------------------------------------------------
# The sampler
# ---------------------------------------------------------------------------------------------


class Sampler:
    """Draws perturbed, rebalanced tables from one base table.

    Everything that does not change between draws (positions of the nonzero cells, their
    RSEs and σ, the country of each cell) is computed once here, so a draw costs one normal (or
    uniform) number per nonzero cell, an ``exp`` and the rebalancing.

    Parameters
    ----------
    base : Table
        The unperturbed table.
    model : DrawModel
        Perturbation and rebalancing.
    sd : tuple of ndarray, optional
        ``(sd_Z, sd_Y)`` shaped like ``base.Z`` and ``base.Y``, for the ``sd`` scenario.

    Examples
    --------
    >>> t = Sampler(base, DrawModel()).draw(draw_rng(seed, 2011, 1))  # doctest: +SKIP
    """

    def __init__(
        self,
        base: Table,
        model: DrawModel,
        sd: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.base = base
        self.model = model
        n, G, N, F = base.n, base.G, base.N, base.F
        if model.rse.kind == "sd" and sd is None:
            raise ValueError("the 'sd' RSE scenario needs the SD cube's (sd_Z, sd_Y)")
        # Z: every nonzero cell, row-major.
        self.iz = np.flatnonzero(base.Z)
        z = base.Z.ravel()[self.iz]
        rz = model.rse.relative(z, None if sd is None else np.ravel(sd[0])[self.iz])
        # Y: nonzero cells; inventory categories and negative cells take a plain normal.
        self.iy = np.flatnonzero(base.Y)
        y = base.Y.ravel()[self.iy]
        ry = model.rse.relative(y, None if sd is None else np.ravel(sd[1])[self.iy])
        cat = self.iy % (G * F) % F
        self.y_normal = base.inventory[cat] | (y < 0)
        self._z, self._y = z, y
        self._rz, self._ry = rz, ry
        # Per-cell constants of the positive cells' model, computed once for all draws.
        self._zpar = self._params(z, rz)
        pos = ~self.y_normal
        self._ypar = self._params(y[pos], ry[pos])
        # Countries of each cell, for correlated block shocks.
        self.z_rows, self.z_cols = self.iz // n // N, self.iz % n // N
        self.y_rows, self.y_cols = self.iy // (G * F) // N, self.iy % (G * F) // F

    @property
    def nnz(self) -> int:
        """Number of perturbed cells (nonzero cells of Z and Y)."""
        return len(self.iz) + len(self.iy)

    def _params(self, mu: np.ndarray, rse: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per-cell constants: (σ, σ²/2) for lognormal, (sd, Φ(mu/sd), sd > 0) for truncnormal.

        The draws then apply exactly the operations of :func:`lognormal_factor` and
        :func:`truncnormal_values`, so the values are the same bits.
        """
        if self.model.model == "lognormal":
            s2 = np.log1p(np.square(rse))
            return np.sqrt(s2), 0.5 * s2
        sd = rse * mu
        ok = sd > 0
        p = np.zeros_like(mu)
        p[ok] = sps.ndtr(mu[ok] / sd[ok])
        return sd, p, ok

    def _positive(self, mu: np.ndarray, par: tuple[np.ndarray, ...],
                  rng: np.random.Generator) -> np.ndarray:
        if self.model.model == "lognormal":
            sig, half = par
            return mu * np.exp(sig * rng.standard_normal(mu.shape[0]) - half)
        return self._trunc(mu, par, 1.0 - rng.random(mu.shape[0]))  # u in (0, 1]

    @staticmethod
    def _trunc(mu: np.ndarray, par: tuple[np.ndarray, ...], u: np.ndarray) -> np.ndarray:
        sd, p, ok = par
        out = mu.copy()
        out[ok] = mu[ok] - sd[ok] * sps.ndtri(u[ok] * p[ok])
        return out

    def perturb(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Perturb the nonzero cells of Z and Y (no rebalancing).

        Parameters
        ----------
        rng : numpy.random.Generator
            The draw's generator (:func:`draw_rng`).

        Returns
        -------
        Z, Y : ndarray
            New arrays; zero cells stay exactly zero.
        """
        base, tau = self.base, self.model.tau
        eta = rng.standard_normal(base.G)  # always drawn: the stream layout does not depend on τ
        Zs = base.Z.copy()
        Zs.ravel()[self.iz] = self._positive(self._z, self._zpar, rng)
        Ys = base.Y.copy()
        yv = np.empty_like(self._y)
        pos = ~self.y_normal
        # One number per Y cell in cell order, whatever its model, keeps the stream fixed.
        if self.model.model == "lognormal":
            xi = rng.standard_normal(self._y.shape[0])
            sig, half = self._ypar
            yv[pos] = self._y[pos] * np.exp(sig * xi[pos] - half)
        else:
            u = 1.0 - rng.random(self._y.shape[0])  # in (0, 1]
            # Normal scores for the normal cells from the same uniforms (u = 1 clipped).
            xi = sps.ndtri(np.minimum(u, 1.0 - np.finfo(float).eps))
            yv[pos] = self._trunc(self._y[pos], self._ypar, u[pos])
        neg = self.y_normal
        yv[neg] = normal_values(self._y[neg], self._ry[neg] * np.abs(self._y[neg]), xi[neg])
        Ys.ravel()[self.iy] = yv
        if tau > 0:
            Zs.ravel()[self.iz] *= np.exp(_correlated_log_shock(eta, tau, self.z_rows, self.z_cols))
            Ys.ravel()[self.iy] *= np.exp(_correlated_log_shock(eta, tau, self.y_rows, self.y_cols))
        return Zs, Ys

    def rebalance(self, Z: np.ndarray, Y: np.ndarray) -> Table:
        """Rebalance perturbed ``Z`` and ``Y`` into a :class:`Table` (see module docstring)."""
        base = self.base
        if self.model.rebalance == "residual":
            x, va = rebalance_residual(Z, Y, base.discrepancy)
            return base.replace(Z=Z, Y=Y, x=x, va=va)
        n = base.n
        M = np.concatenate([Z, Y], axis=1)
        u = base.Z.sum(1) + base.Y.sum(1)
        v = np.concatenate([base.Z.sum(0), base.Y.sum(0)])
        X, _ = gras(M, u, v, tol=self.model.gras_tol, maxiter=self.model.gras_maxiter)
        return base.replace(Z=np.ascontiguousarray(X[:, :n]), Y=np.ascontiguousarray(X[:, n:]))

    def draw(self, rng: np.random.Generator) -> Table:
        """Perturb and rebalance: one bootstrap table."""
        return self.rebalance(*self.perturb(rng))


# ---------------------------------------------------------------------------------------------
# Reductions over draws
# ---------------------------------------------------------------------------------------------

STATS: tuple[str, ...] = ("base", "mean", "sd", "cv", "q025", "q975", "p_above_base")


def _summary_kernel(v: np.ndarray, quantiles: tuple[float, float]) -> np.ndarray:
    """Statistics over the last axis of ``v`` (index 0: the base run), stacked on a new last axis.

    NaN draws (failed factorisations) are left out of every statistic.
    """
    import warnings

    b = v[..., 0]
    d = v[..., 1:]
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        count = np.sum(~np.isnan(d), axis=-1)
        mean = np.nanmean(d, axis=-1)
        # Two-pass SD (no cancellation of a one-pass sum of squares).
        ss = np.nansum(np.square(d - mean[..., None]), axis=-1)
        sd = np.where(count > 1, np.sqrt(ss / np.maximum(count - 1, 1)), np.nan)
        cv = np.where(mean != 0, sd / np.abs(mean), np.nan)
        # nanquantile loops over cells in Python; without NaN, quantile gives the same
        # order statistics and interpolation, vectorised.
        nan = np.isnan(d).any()
        q = (np.nanquantile if nan else np.quantile)(d, list(quantiles), axis=-1)
        above = np.where(count > 0, np.sum(d > b[..., None], axis=-1) / np.maximum(count, 1),
                         np.nan)
    return np.stack([b, mean, sd, cv, q[0], q[1], above], axis=-1)


def summarise(
    ds: xr.Dataset | xr.DataArray,
    dim: str = "draw",
    *,
    base: int = 0,
    quantiles: Sequence[float] = (0.025, 0.975),
) -> xr.Dataset | xr.DataArray:
    """Summary statistics over bootstrap draws, lazy on dask inputs.

    One numpy kernel per chunk computes every statistic, so the Dask graph has one task per
    (variable, chunk) whatever the number of statistics.

    Parameters
    ----------
    ds : xarray.Dataset or DataArray
        Values with a ``dim`` dimension whose label ``base`` is the unperturbed run and the
        others are draws.
    dim : str
        The draw dimension.
    base : int
        Label of the base run along ``dim``.
    quantiles : sequence of float
        Two quantiles, by default the 2.5 and 97.5 percentiles.

    Returns
    -------
    Same type as ``ds``
        ``dim`` replaced by a last dimension ``stat``: ``base``, ``mean``, ``sd`` (ddof = 1),
        ``cv`` (sd / |mean|, NaN where the mean is 0), ``q025``, ``q975`` and ``p_above_base``
        (share of draws above the base value), computed over the draws other than ``base``,
        leaving out NaN draws.
    """
    labels = list(ds[dim].values)
    order = [labels.index(base)] + [i for i, lab in enumerate(labels) if lab != base]
    ordered = ds.isel({dim: order})
    if getattr(ordered, "chunks", None):
        ordered = ordered.chunk({dim: -1})
    qs = (float(quantiles[0]), float(quantiles[1]))
    names = ["base", "mean", "sd", "cv", f"q{round(qs[0] * 1000):03d}",
             f"q{round(qs[1] * 1000):03d}", "p_above_base"]
    out = xr.apply_ufunc(
        _summary_kernel,
        ordered,
        kwargs={"quantiles": qs},
        input_core_dims=[[dim]],
        output_core_dims=[["stat"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"stat": len(names)}},
        keep_attrs=False,
    )
    return out.assign_coords(stat=np.array(names, dtype=object))


#: The statistics the reports show (``summarise`` without ``p_above_base``).
INTERVAL_STATS: tuple[str, ...] = ("base", "mean", "sd", "cv", "q025", "q975")


def interval_stats(da: xr.DataArray, dim: str = "draw") -> xr.DataArray:
    """:data:`INTERVAL_STATS` of ``da`` over ``dim``, computed; NaN beyond the base run alone.

    Parameters
    ----------
    da : xarray.DataArray
        Values with a ``dim`` dimension, label 0 the base run.
    dim : str
        The draw dimension.

    Returns
    -------
    xarray.DataArray
        ``dim`` replaced by a last ``stat`` dimension.
    """
    if da.sizes[dim] < 2:
        # Base run only: there is nothing to summarise over (summarise needs one draw).
        base = da.isel({dim: 0}, drop=True).astype(np.float64)
        parts = [base] + [xr.full_like(base, np.nan)] * (len(INTERVAL_STATS) - 1)
        stat = xr.DataArray(np.array(INTERVAL_STATS, dtype=object), dims="stat")
        return xr.concat(parts, dim=stat).transpose(..., "stat").load()
    with warnings.catch_warnings():
        # All-NaN cells (a measure undefined in every draw) are expected.
        warnings.simplefilter("ignore", RuntimeWarning)
        out = summarise(da.astype(np.float64), dim).compute()
    return out.sel(stat=list(INTERVAL_STATS))
