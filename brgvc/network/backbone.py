"""Thresholds and backbones of a dense value-flow network (docs/methods.md §5.3).

Every MRIO value-flow network is (almost) complete, so binary statistics such as density,
degree or hop distances only mean something after a cut. Each function here takes an (n, n)
weight matrix ``W`` (``W[i, j]`` flows from source ``i`` to sink ``j``; the diagonal is
ignored) and returns a matrix of the same shape holding the kept weights and zeros elsewhere,
so that weighted and binary statistics can be computed on the same object.
"""

from __future__ import annotations

import numpy as np

from ._util import as_weights, offdiag_mask

__all__ = [
    "disparity_filter",
    "disparity_pvalues",
    "global_threshold",
    "mean_dichotomise",
    "top_k",
]


def global_threshold(
    W: np.ndarray, tau: float | None = None, percentile: float | None = None
) -> np.ndarray:
    """Keep the edges above one global cut.

    Exactly one of ``tau`` and ``percentile`` must be given.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights; the diagonal is ignored.
    tau : float, optional
        Relative cut: keep ``w_ij >= tau * sum_{i != j} w_ij`` (e.g. ``tau=0.001`` for 0.1 %).
    percentile : float, optional
        Percentile in [0, 100] of the *positive* off-diagonal weights; keep the weights at or
        above it (numpy's default linear interpolation).

    Returns
    -------
    numpy.ndarray
        (n, n) weights with the removed edges and the diagonal set to zero.

    Raises
    ------
    ValueError
        If neither or both cuts are given, or a cut is out of range.
    """
    if (tau is None) == (percentile is None):
        raise ValueError("give exactly one of tau and percentile")
    a = as_weights(W)
    if tau is not None:
        if tau < 0:
            raise ValueError(f"tau must be >= 0, got {tau}")
        cut = tau * a.sum()
    else:
        if not 0 <= percentile <= 100:
            raise ValueError(f"percentile must lie in [0, 100], got {percentile}")
        positive = a[a > 0]
        if positive.size == 0:
            return a
        cut = np.percentile(positive, percentile)
    # Zero weights are never edges, even when the cut is zero.
    return np.where((a >= cut) & (a > 0), a, 0.0)


def mean_dichotomise(W: np.ndarray) -> np.ndarray:
    """Keep the edges whose weight is strictly above the mean off-diagonal weight.

    This is UCINET's habit of dichotomising a valued network at its mean. The mean is taken
    over all n(n-1) off-diagonal cells, zeros included.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights; the diagonal is ignored.

    Returns
    -------
    numpy.ndarray
        (n, n) weights of the kept edges, zeros elsewhere. ``result > 0`` is the binary graph.
    """
    a = as_weights(W)
    n = a.shape[0]
    if n < 2:
        return a
    mean = a.sum() / (n * (n - 1))
    return np.where(a > mean, a, 0.0)


def disparity_pvalues(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disparity-filter significance of every edge, seen from its source and from its sink.

    Serrano, Boguñá & Vespignani (2009): under the null that a node's strength is spread
    uniformly at random over its ``k`` edges, the probability that one edge carries a share
    ``p`` or more is ``alpha = (1 - p) ** (k - 1)``.

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights; the diagonal is ignored.

    Returns
    -------
    alpha_out : numpy.ndarray
        (n, n); ``alpha_out[i, j] = (1 - w_ij / s_i^out) ** (k_i^out - 1)``.
    alpha_in : numpy.ndarray
        (n, n); ``alpha_in[i, j] = (1 - w_ij / s_j^in) ** (k_j^in - 1)``.

    Notes
    -----
    Cells without an edge get ``alpha = 1`` (never significant). A node with a single edge on
    that side gets ``alpha = 0`` for it: the null model is undefined for ``k = 1`` and the
    usual convention (and docs/methods.md) keeps such edges, since dropping them would disconnect
    the node.
    """
    a = as_weights(W)
    edge = a > 0
    k_out = edge.sum(axis=1)
    k_in = edge.sum(axis=0)
    s_out = a.sum(axis=1)
    s_in = a.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_out = np.where(edge, a / s_out[:, None], 0.0)
        p_in = np.where(edge, a / s_in[None, :], 0.0)
    alpha_out = np.where(edge, (1.0 - p_out) ** (k_out[:, None] - 1), 1.0)
    alpha_in = np.where(edge, (1.0 - p_in) ** (k_in[None, :] - 1), 1.0)
    alpha_out[edge & (k_out[:, None] == 1)] = 0.0
    alpha_in[edge & (k_in[None, :] == 1)] = 0.0
    return alpha_out, alpha_in


def disparity_filter(W: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Disparity-filter backbone (Serrano, Boguñá & Vespignani 2009, PNAS 106(16)).

    An edge i -> j is kept when it is significant at level ``alpha`` from the out-side of
    ``i`` *or* from the in-side of ``j`` (see :func:`disparity_pvalues`).

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights; the diagonal is ignored.
    alpha : float, optional
        Significance level, default 0.05. Smaller values keep fewer edges.

    Returns
    -------
    numpy.ndarray
        (n, n) weights of the kept edges, zeros elsewhere.
    """
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    a = as_weights(W)
    alpha_out, alpha_in = disparity_pvalues(a)
    keep = (a > 0) & ((alpha_out < alpha) | (alpha_in < alpha))
    return np.where(keep, a, 0.0)


def top_k(W: np.ndarray, k: int = 1) -> np.ndarray:
    """Keep the ``k`` largest outgoing edges of every node (Nystuen-Dacey dominant flows).

    Parameters
    ----------
    W : numpy.ndarray
        (n, n) non-negative weights; the diagonal is ignored.
    k : int, optional
        Number of outgoing edges kept per node, default 1. Zero weights are never kept, so a
        node with fewer than ``k`` positive out-edges keeps all of them.

    Returns
    -------
    numpy.ndarray
        (n, n) weights of the kept edges, zeros elsewhere.

    Notes
    -----
    Ties are broken towards the lower sink index so the result is deterministic.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    a = as_weights(W)
    n = a.shape[0]
    if k == 0 or n < 2:
        return np.zeros_like(a)
    # The diagonal must never win a slot, even in an all-zero row, so rank it last.
    ranked = np.where(offdiag_mask(n), a, -np.inf)
    order = np.argsort(-ranked, axis=1, kind="stable")[:, : min(k, n - 1)]
    keep = np.zeros_like(a, dtype=bool)
    np.put_along_axis(keep, order, True, axis=1)
    return np.where(keep & (a > 0), a, 0.0)
