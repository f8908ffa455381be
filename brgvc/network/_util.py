"""Private helpers shared by the network kernels: input checks and the off-diagonal view."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence

import numpy as np
from threadpoolctl import ThreadpoolController

__all__ = ["as_weights", "check_labels", "offdiag_mask", "single_threaded_blas"]


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
