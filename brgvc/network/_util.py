"""Private helpers shared by the network kernels: input checks and the off-diagonal view."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence

import numpy as np
from threadpoolctl import ThreadpoolController

__all__ = [
    "NEGATIVE_POLICIES",
    "as_weights",
    "check_labels",
    "clip_negative",
    "offdiag_mask",
    "single_threaded_blas",
]

#: What :func:`clip_negative` (and ``summarise(negative=...)``) may do with negative
#: off-diagonal weights.
NEGATIVE_POLICIES = ("clip", "raise")


@functools.cache
def _controller() -> ThreadpoolController:
    # Built on first use, after numpy and scipy have loaded their own OpenBLAS copies, and
    # kept: scanning the loaded libraries costs ~0.3 ms, the limit itself ~7 us.
    return ThreadpoolController()


def single_threaded_blas() -> contextlib.AbstractContextManager[object]:
    """Context manager that limits BLAS to one thread.

    At n <= 100 the matrices of the network kernels are far too small to gain from BLAS
    threads, and when another process holds the other cores OpenBLAS's spinning threads
    made one :func:`~brgvc.network.summary.summarise` call 10x slower (measured: 26 ms ->
    215 ms at n = 65 on 2 cores). Parallelism belongs to the (year, draw) level instead.

    Returns
    -------
    contextlib.AbstractContextManager
        The threadpoolctl limit; the previous limits return on exit.
    """
    return _controller().limit(limits=1, user_api="blas")


def as_weights(W: np.ndarray, *, name: str = "W") -> np.ndarray:
    """Return a float64 copy of a square weight matrix with a zero diagonal.

    Parameters
    ----------
    W : numpy.ndarray
        Square (n, n) array of non-negative flows, ``W[i, j]`` from source ``i`` to sink ``j``.
    name : str, optional
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        A new (n, n) float64 array; the input is never modified.

    Raises
    ------
    ValueError
        If ``W`` is not square and 2-D, holds NaN or infinity, or has a negative off-diagonal
        entry (a negative flow has no meaning as an edge weight, and silently clipping it
        would hide an upstream data problem such as negative value added in Eora).
    """
    a = np.array(W, dtype=np.float64, copy=True)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be a square 2-D matrix, got shape {a.shape}")
    # The diagonal is domestic value, not a network edge; zero it before any check so that a
    # NaN or negative there (e.g. a negative domestic term) does not reject a valid network.
    np.fill_diagonal(a, 0.0)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds NaN or infinite off-diagonal weights")
    if np.any(a < 0):
        raise ValueError(f"{name} holds negative off-diagonal weights; flows must be >= 0")
    return a


def clip_negative(
    W: np.ndarray, policy: str = "clip", *, name: str = "W"
) -> tuple[np.ndarray, int, float]:
    """Apply the negative-weight policy to a square weight matrix.

    Value-added flows are negative only where value added is: Eora's base tables and many
    bootstrap draws of any table (a perturbed, rebalanced table can have sectors whose
    inputs cost more than their output) give slightly negative entries of W1 = S V̂BÊ S'.
    A negative flow has no meaning as an edge weight, but refusing the whole matrix would
    lose every metric of that draw and bias the bootstrap towards well-behaved draws. The
    policy "clip" (the network layer's default, for the base run and the draws alike, so
    that both are treated the same) therefore sets negative off-diagonal weights to 0 and
    reports how many there were and how much mass was removed, so that a reader can judge
    whether the clipping matters; the findings list every affected (year, draw). (In the
    default WIOD job, 5 of the 340 drawn networks have negative W1 edges, all in the row of
    Estonia, whose drawn value added turned negative; the largest clipped mass is about 9 %
    of that draw's flow.)

    Parameters
    ----------
    W : numpy.ndarray
        Square (n, n) weights; the diagonal is ignored (set to 0 in the result).
    policy : {"clip", "raise"}, optional
        ``"clip"``: negative off-diagonal weights become 0; ``"raise"``: raise ValueError
        on any negative off-diagonal weight (the strict check of :func:`as_weights`).
    name : str, optional
        Name used in error messages.

    Returns
    -------
    weights : numpy.ndarray
        A new non-negative (n, n) float64 array with a zero diagonal.
    n_negative : int
        Number of negative off-diagonal entries that were clipped.
    negative_mass : float
        Sum of their absolute values (in the unit of ``W``).

    Raises
    ------
    ValueError
        For an unknown policy, a non-square matrix, NaN or infinite off-diagonal weights, or
        (policy "raise") a negative off-diagonal weight.
    """
    if policy not in NEGATIVE_POLICIES:
        raise ValueError(f"negative must be one of {NEGATIVE_POLICIES}, not {policy!r}")
    a = np.array(W, dtype=np.float64, copy=True)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be a square 2-D matrix, got shape {a.shape}")
    np.fill_diagonal(a, 0.0)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds NaN or infinite off-diagonal weights")
    neg = a < 0
    n_neg = int(np.count_nonzero(neg))
    if n_neg and policy == "raise":
        raise ValueError(
            f"{name} holds {n_neg} negative off-diagonal weights; flows must be >= 0 "
            "(use negative='clip' to set them to 0 and report them)"
        )
    mass = float(-a[neg].sum()) if n_neg else 0.0
    a[neg] = 0.0
    return a, n_neg, mass


def offdiag_mask(n: int) -> np.ndarray:
    """Boolean (n, n) mask that is True off the diagonal.

    Parameters
    ----------
    n : int
        Number of nodes.

    Returns
    -------
    numpy.ndarray
        ``~eye(n, dtype=bool)``.
    """
    return ~np.eye(n, dtype=bool)


def check_labels(labels: Sequence[object], n: int) -> list[str]:
    """Return node labels as a list of ``str`` after checking their number and uniqueness.

    Parameters
    ----------
    labels : sequence
        One label per node.
    n : int
        Expected number of nodes.

    Returns
    -------
    list of str
        The labels converted to strings.

    Raises
    ------
    ValueError
        If the count differs from ``n`` or a label repeats.
    """
    out = [str(x) for x in labels]
    if len(out) != n:
        raise ValueError(f"expected {n} labels, got {len(out)}")
    if len(set(out)) != n:
        raise ValueError("node labels must be unique")
    return out
