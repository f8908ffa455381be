"""Borgatti-Everett core-periphery models (Borgatti & Everett 2000, Social Networks 21: 375-395).

Both models work on the symmetrised matrix ``a = (W + W') / 2`` (optionally ``log1p`` of it,
or its binary pattern), over the off-diagonal cells only:

* the *continuous* model finds coreness ``c`` maximising ``rho = corr_{i != j}(a_ij, c_i c_j)``;
* the *discrete* model finds a core set maximising the correlation of ``a`` with the ideal
  pattern (1 inside the core block, 0 inside the periphery block).

Everything here is deterministic and, up to exact ties, independent of the node order.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from scipy.optimize import minimize

from ._util import as_weights, offdiag_mask

__all__ = ["CoreResult", "continuous_coreness", "discrete_core", "symmetrised"]

Transform = Literal["none", "log1p", "binary"]


def symmetrised(W: np.ndarray, transform: Transform = "none") -> np.ndarray:
    """The matrix the core-periphery models fit: ``a = (W + W') / 2``, transformed.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights; the diagonal is ignored.
    transform : {"none", "log1p", "binary"}, optional
        "log1p" damps the heavy right tail of MRIO flows, which otherwise lets the one or two
        largest bilateral flows decide the fit; "binary" uses ``a > 0`` (UCINET on a
        dichotomised network).

    Returns
    -------
    numpy.ndarray
        (n, n) symmetric matrix with a zero diagonal.
    """
    a = as_weights(W)
    a = 0.5 * (a + a.T)
    if transform == "none":
        return a
    if transform == "log1p":
        return np.log1p(a)
    if transform == "binary":
        return (a > 0).astype(np.float64)
    raise ValueError(f"transform must be 'none', 'log1p' or 'binary', got {transform!r}")


def _rho_and_grad(
    c: np.ndarray, xc: np.ndarray, xnorm: float, off: np.ndarray
) -> tuple[float, np.ndarray]:
    """Correlation over i != j of (a_ij, c_i c_j) and its gradient in c.

    ``xc`` is ``a`` centred over the off-diagonal cells with a zero diagonal, so
    ``cov ~ c' xc c`` needs no centring of ``c_i c_j`` (the centred ``xc`` sums to zero).
    The spread of ``y_ij = c_i c_j`` is summed from the centred cells rather than from
    power sums of ``c``: L-BFGS-B may drift to a large scale of ``c`` (rho ignores it), where
    ``(sum c^2)^2 - sum c^4 - ...`` would cancel catastrophically.
    """
    xcc = xc @ c
    num = float(c @ xcc)
    y = np.outer(c, c)
    ybar = y[off].mean()
    yc = np.where(off, y - ybar, 0.0)
    var = float(np.sum(yc * yc))
    if var <= 0 or xnorm == 0:
        return 0.0, np.zeros_like(c)
    sd = np.sqrt(var)
    rho = num / (xnorm * sd)
    dnum = 2.0 * xcc
    # d/dc_k sum (y_ij - ybar)^2 = 4 sum_{j != k} (y_kj - ybar) c_j; the ybar term drops out
    # because the centred cells sum to zero.
    dvar = 4.0 * (yc @ c)
    grad = (dnum / sd - num * dvar / (2.0 * var * sd)) / xnorm
    return float(rho), grad


def _additive_limit(a: np.ndarray, off: np.ndarray) -> tuple[np.ndarray, float]:
    """The best additive pattern: ``v`` maximising ``corr over i != j of (a_ij, v_i + v_j)``.

    It is the least-squares fit of the off-diagonal cells on an intercept and the node
    indicators (each cell loads on both its nodes), and the correlation it attains is the
    limit of ``rho(1 + eps v)`` as ``eps -> 0``: a supremum that no finite ``c`` reaches.
    """
    n = a.shape[0]
    i, j = np.nonzero(off)
    design = np.zeros((i.size, n + 1))
    rows = np.arange(i.size)
    design[rows, i] += 1.0
    design[rows, j] += 1.0
    design[:, n] = 1.0
    y = a[i, j]
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    v = coef[:n]
    fit = design[:, :n] @ v
    if np.ptp(fit) == 0 or np.ptp(y) == 0:
        return v, float("nan")
    return v, float(np.corrcoef(fit, y)[0, 1])


def _rank_one_start(a: np.ndarray, seed: int) -> np.ndarray:
    """Least-squares rank-1 fit of the off-diagonal of ``a`` (UCINET's starting solution).

    Starts from the leading eigenvector and iterates ``c_i <- sum_{j != i} a_ij c_j /
    sum_{j != i} c_j^2``. The Jacobi step can oscillate by a factor between two scales, so
    every step is averaged geometrically with the previous one (that halves the
    oscillating mode and keeps ``c >= 0``).
    """
    n = a.shape[0]
    _, vecs = np.linalg.eigh(a)
    c = np.abs(vecs[:, -1])
    if np.ptp(c) <= 1e-12 * max(c.max(), 1e-300):
        # A regular graph starts every node equal; rho is then flat (0/0) in the starting
        # point, so break the tie with a tiny seeded jitter. Only this case uses the seed.
        rng = np.random.default_rng(seed)
        c = np.full(n, 1.0) + 1e-3 * rng.random(n)
    c = c / c.max() if c.max() > 0 else np.ones(n)
    # The start only has to be close for L-BFGS-B; on heavy-tailed weights the averaged
    # Jacobi step needs hundreds of steps for the last digits, which would cost more than the
    # refinement itself, so stop after 50.
    for _ in range(50):
        s2 = c @ c - c * c
        new = np.where(s2 > 0, (a @ c) / np.where(s2 > 0, s2, 1.0), 0.0)
        new = np.sqrt(np.clip(new, 0.0, None) * c)
        if new.max() <= 0:
            break
        done = bool(np.all(np.abs(new - c) <= 1e-8 * np.abs(c) + 1e-14))
        c = new
        if done:
            break
    return c / c.max() if c.max() > 0 else np.ones(n)


def continuous_coreness(
    W: np.ndarray, transform: Transform = "none", seed: int = 0
) -> tuple[np.ndarray, float]:
    """Continuous core-periphery model: coreness of every node and the fit ``rho``.

    Maximises ``rho = corr over i != j of (a_ij, c_i c_j)`` over ``c >= 0``, with ``a`` from
    :func:`symmetrised`. The start is the rank-1 least-squares fit of ``a`` (from its leading
    eigenvector); the refinement is L-BFGS-B on ``-rho`` with the analytic gradient.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights.
    transform : {"none", "log1p", "binary"}, optional
        Transform of ``a`` before fitting, see :func:`symmetrised`.
    seed : int, optional
        Only used to break the exact tie of a regular graph's starting vector; the result is
        otherwise independent of it.

    Returns
    -------
    coreness : numpy.ndarray
        (n,) coreness scaled to a maximum of 1.
    rho : float
        The attained correlation; NaN when it is undefined (``n < 3``, constant ``a``).

    Notes
    -----
    ``rho`` ignores the scale of ``c``, and near a constant vector ``c = 1 + eps v`` it tends
    to ``corr(a_ij, v_i + v_j)``, an additive pattern. When that fits better than any
    product pattern (e.g. a binarised network whose core-periphery cells are as full as the
    core), the supremum lies in the limit ``eps -> 0``: ``rho`` is then that limit (the
    multiple correlation of the best additive fit) and the returned coreness is
    ``1 + 1e-6 v / max|v|`` scaled to a maximum of 1, nearly flat: the ranking is
    meaningful, the levels are not. Prefer ``transform="none"`` or ``"log1p"`` on valued
    flows.
    """
    a = symmetrised(W, transform)
    n = a.shape[0]
    if n < 3:
        return np.ones(n), float("nan")
    off = offdiag_mask(n)
    x = a[off]
    xc = np.where(off, a - x.mean(), 0.0)
    xnorm = float(np.linalg.norm(xc))
    c0 = _rank_one_start(a, seed)
    if xnorm == 0:
        return c0, float("nan")

    def fun(c: np.ndarray) -> tuple[float, np.ndarray]:
        rho, grad = _rho_and_grad(c, xc, xnorm, off)
        return -rho, -grad

    res = minimize(
        fun,
        c0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * n,
        options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10},
    )
    c = res.x
    rho0, _ = _rho_and_grad(c0, xc, xnorm, off)
    rho, _ = _rho_and_grad(c, xc, xnorm, off)
    # L-BFGS-B accepts only descent steps, so this triggers only if its line search fails.
    if not rho >= rho0:
        c, rho = c0, rho0
    # When the supremum is the flat limit, L-BFGS-B creeps towards it and stops wherever its
    # tolerances bite, so rho's last digits would depend on rounding (node order). Return the
    # limit itself: its value is exact and its ranking (v) is a least-squares solution.
    v, rho_add = _additive_limit(a, off)
    if rho_add > rho:
        span = float(np.abs(v).max())
        return (1.0 + 1e-6 * v / span) / (1.0 + 1e-6), rho_add
    cmax = c.max()
    if cmax <= 0:
        return c0, float(rho0)
    return c / cmax, float(rho)


class CoreResult(NamedTuple):
    """Result of :func:`discrete_core`.

    Attributes
    ----------
    core : numpy.ndarray
        Boolean (n,) mask of the core members.
    rho : float
        Correlation of ``a`` with the ideal pattern over the core-core and
        periphery-periphery cells.
    core_density : float
        Mean of ``a`` over the core-core off-diagonal cells.
    periphery_density : float
        Mean of ``a`` over the periphery-periphery off-diagonal cells.
    """

    core: np.ndarray
    rho: float
    core_density: float
    periphery_density: float


def _pattern_corr(
    s1: np.ndarray, q1: np.ndarray, n1: np.ndarray, s0: np.ndarray, q0: np.ndarray, n0: np.ndarray
) -> np.ndarray:
    """Point-biserial correlation of cell values with the 1/0 pattern, from block sums.

    ``s``, ``q`` and ``n`` are the sum, sum of squares and count of the core-core (1) and
    periphery-periphery (0) cells. Undefined configurations (an empty block, constant
    values) get ``-inf`` so that a search never selects them.
    """
    N = n1 + n0
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (s1 + s0) / N
        var = (q1 + q0) / N - mean * mean
        r = (s1 / n1 - s0 / n0) * np.sqrt(n1 * n0) / (N * np.sqrt(var))
    ok = (n1 > 0) & (n0 > 0) & (var > 1e-300) & np.isfinite(r)
    return np.where(ok, r, -np.inf)


def _scalar_corr(s1: float, q1: float, s0: float, q0: float, k: int, n: int) -> float:
    """:func:`_pattern_corr` for one core of size ``k`` among ``n`` nodes."""
    r = _pattern_corr(
        np.array([s1]),
        np.array([q1]),
        np.array([k * (k - 1.0)]),
        np.array([s0]),
        np.array([q0]),
        np.array([(n - k) * (n - k - 1.0)]),
    )
    return float(r[0])


def _block_sums(a: np.ndarray, b: np.ndarray, core: np.ndarray) -> tuple[float, ...]:
    """Sums of ``a`` and ``b = a**2`` over the core-core and periphery-periphery cells."""
    mf = core.astype(np.float64)
    pf = 1.0 - mf
    return float(mf @ a @ mf), float(mf @ b @ mf), float(pf @ a @ pf), float(pf @ b @ pf)


def _best_prefix(a: np.ndarray, b: np.ndarray, order: np.ndarray) -> np.ndarray | None:
    """Best core among the prefixes ``order[:k]``, k = 2 .. n - 2, or None if none is defined.

    The block sums of all prefixes come from 2-D cumulative sums of the reordered matrices,
    so every cut point is scored in O(n^2) in total.
    """
    n = a.shape[0]
    k = np.arange(2, n - 1)

    def top_and_tail(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cs = m[np.ix_(order, order)].cumsum(axis=0).cumsum(axis=1)
        top = cs[k - 1, k - 1]
        # m[k:, k:] = total - 2 * m[:k, :] + m[:k, :k], by symmetry of m.
        return top, cs[-1, -1] - 2.0 * cs[k - 1, -1] + top

    s1, s0 = top_and_tail(a)
    q1, q0 = top_and_tail(b)
    kf = k.astype(np.float64)
    r = _pattern_corr(s1, q1, kf * (kf - 1), s0, q0, (n - kf) * (n - kf - 1))
    if not np.isfinite(r).any():
        return None
    core = np.zeros(n, dtype=bool)
    core[order[: int(np.argmax(r)) + 2]] = True
    return core


def _climb(a: np.ndarray, b: np.ndarray, core: np.ndarray) -> tuple[np.ndarray, float]:
    """Steepest-ascent local search over add, remove and swap moves from ``core``.

    Every candidate is scored in O(1) from the current block sums and each node's ties into
    the core (``a @ core``), so one round costs O(n^2) for all n flips and k (n - k) swaps.
    """
    n = a.shape[0]
    core = core.copy()
    S1, Q1, S0, Q0 = _block_sums(a, b, core)
    current = _scalar_corr(S1, Q1, S0, Q0, int(core.sum()), n)
    row_a, row_b = a.sum(axis=1), b.sum(axis=1)
    # Each accepted move raises rho strictly, so the climb ends; the cap is only a backstop.
    for _ in range(4 * n * n):
        mf = core.astype(np.float64)
        ra, rb = a @ mf, b @ mf  # each node's ties into the core
        pa, pb = row_a - ra, row_b - rb  # ... and into the periphery
        kc = int(core.sum())

        # Flip of node v: a core node leaves (sign -1) or a periphery node joins (+1).
        sign = np.where(core, -1.0, 1.0)
        k1 = kc + sign
        f_s1 = S1 + sign * 2.0 * ra
        f_q1 = Q1 + sign * 2.0 * rb
        f_s0 = S0 - sign * 2.0 * pa
        f_q0 = Q0 - sign * 2.0 * pb
        flip = _pattern_corr(f_s1, f_q1, k1 * (k1 - 1), f_s0, f_q0, (n - k1) * (n - k1 - 1))

        # Swap: core node v (rows) leaves while periphery node u (columns) joins. The core
        # loses v's ties to the core and gains u's ties to the core other than to v; the
        # periphery mirrors it.
        cv, pu = np.flatnonzero(core), np.flatnonzero(~core)
        auv, buv = a[np.ix_(cv, pu)], b[np.ix_(cv, pu)]
        w_s1 = S1 - 2.0 * ra[cv][:, None] + 2.0 * (ra[pu][None, :] - auv)
        w_q1 = Q1 - 2.0 * rb[cv][:, None] + 2.0 * (rb[pu][None, :] - buv)
        w_s0 = S0 - 2.0 * pa[pu][None, :] + 2.0 * (pa[cv][:, None] - auv)
        w_q0 = Q0 - 2.0 * pb[pu][None, :] + 2.0 * (pb[cv][:, None] - buv)
        n1 = np.full(w_s1.shape, kc * (kc - 1.0))
        n0 = np.full(w_s1.shape, (n - kc) * (n - kc - 1.0))
        swap = _pattern_corr(w_s1, w_q1, n1, w_s0, w_q0, n0)

        best_flip = int(np.argmax(flip))
        gain_flip = float(flip[best_flip])
        best_swap = int(np.argmax(swap)) if swap.size else -1
        gain_swap = float(swap.flat[best_swap]) if swap.size else -np.inf
        # Demand a real improvement so that rounding noise cannot make the climb cycle.
        if max(gain_flip, gain_swap) <= current + 1e-12 * max(1.0, abs(current)):
            break
        if gain_flip >= gain_swap:
            core[best_flip] = not core[best_flip]
            S1, Q1, S0, Q0 = f_s1[best_flip], f_q1[best_flip], f_s0[best_flip], f_q0[best_flip]
            current = gain_flip
        else:
            iv, iu = np.unravel_index(best_swap, swap.shape)
            core[cv[iv]] = False
            core[pu[iu]] = True
            S1, Q1, S0, Q0 = w_s1[iv, iu], w_q1[iv, iu], w_s0[iv, iu], w_q0[iv, iu]
            current = gain_swap
    # Rescore from scratch so the incremental updates leave no rounding in the result.
    S1, Q1, S0, Q0 = _block_sums(a, b, core)
    return core, _scalar_corr(S1, Q1, S0, Q0, int(core.sum()), n)


def discrete_core(
    W: np.ndarray,
    transform: Transform = "none",
    coreness: np.ndarray | None = None,
    seed: int = 0,
) -> CoreResult:
    """Discrete core-periphery model: the core set maximising the pattern correlation.

    The ideal pattern is ``delta_ij = 1`` when both ``i`` and ``j`` are in the core and
    ``delta_ij = 0`` when both are in the periphery. **Core-periphery cells are treated as
    missing** (Borgatti & Everett's "no constraint on the off-diagonal blocks" variant): they
    enter neither the correlation nor the densities, so the fit asks only that the core be
    denser than the periphery, not how the two connect. The diagonal is always excluded.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights.
    transform : {"none", "log1p", "binary"}, optional
        Transform of ``a = (W + W') / 2``, see :func:`symmetrised`.
    coreness : numpy.ndarray, optional
        Ranking used to seed the search; default :func:`continuous_coreness` of the same
        matrix (pass it when already computed).
    seed : int, optional
        Passed to :func:`continuous_coreness` when ``coreness`` is not given.

    Returns
    -------
    CoreResult
        Core mask, ``rho``, core density and periphery density (on the transformed ``a``).
        With fewer than four nodes (no two-by-two split) or a constant ``a`` the core is
        empty and the rest NaN.

    Notes
    -----
    The search is deterministic. It first tries every cut point ``k = 2 .. n - 2`` of the
    coreness ranking (core = the top ``k``), then climbs by the best single move among
    adding one node, removing one node and swapping a core node with a periphery node,
    until no move raises ``rho``. The same is repeated from the ranking by strength in
    ``a`` (the two rankings disagree when the core-periphery ties are weak, which this
    model ignores), and the better of the two local optima is returned. Like any local
    search it can miss the global optimum on unstructured networks.
    """
    a = symmetrised(W, transform)
    n = a.shape[0]
    nan = float("nan")
    empty = CoreResult(np.zeros(n, dtype=bool), nan, nan, nan)
    if n < 4 or a.max() <= 0:
        return empty
    if coreness is None:
        coreness, _ = continuous_coreness(W, transform=transform, seed=seed)
    coreness = np.asarray(coreness, dtype=np.float64)
    if coreness.shape != (n,):
        raise ValueError(f"coreness must have shape ({n},), got {coreness.shape}")
    # rho is scale free; working on a / max keeps the sums of squares far from overflow and
    # the variance (mean of squares minus squared mean) from cancelling at USD magnitudes.
    scale = a.max()
    a = a / scale
    b = a * a

    best: tuple[np.ndarray, float] | None = None
    for ranking in (coreness, a.sum(axis=1)):
        start = _best_prefix(a, b, np.argsort(-ranking, kind="stable"))
        if start is None:
            continue
        core, rho = _climb(a, b, start)
        if best is None or rho > best[1] + 1e-12:
            best = (core, rho)
    if best is None or not np.isfinite(best[1]):
        return empty
    core, rho = best
    S1, _, S0, _ = _block_sums(a, b, core)
    kc = int(core.sum())
    n1, n0 = kc * (kc - 1.0), (n - kc) * (n - kc - 1.0)
    return CoreResult(core, rho, float(scale * S1 / n1), float(scale * S0 / n0))
