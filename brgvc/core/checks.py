"""Guards on a year's technical coefficients before anything is computed from them.

:func:`check_productive` refuses a table whose coefficient matrix A has spectral radius
ρ(A) >= 1. (I − A) is then no nonsingular M-matrix: its inverse, when it exists, has negative
entries, and value added "embodied" in output can exceed output. The LU of (I − A) usually
still succeeds, so without this check such a year runs silently and yields meaningless
measures.

For A >= 0 every column sum and every row sum bounds ρ(A) from above, so a table whose
column sums are all below 1 (the usual case: positive value added everywhere) passes at the
cost of one pass over A. Otherwise a few power steps give the Collatz–Wielandt upper bound
max_j (v'A)_j / v_j (any v > 0), which proves ρ(A) < 1 for tables with a few columns summing
past 1 (WIOD has them: negative value added). Only when that fails, or A has negative
entries, is ρ(A) computed: ARPACK (``scipy.sparse.linalg.eigs``, one eigenvalue of largest
modulus) on a large A, LAPACK's full eigenvalues on a small one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["NonProductiveError", "ProductivityCheck", "check_productive", "spectral_radius"]

#: Below this size ρ(A) comes from all eigenvalues (exact and fast enough); above, from ARPACK.
DENSE_EIGVALS_MAX_N = 600
#: ρ(A) must stay this far below 1: a column of zero value added sums to 1 up to rounding
#: (WIOD 2009 has one at 1 − 1e-16), and rounding must not decide between "productive" and not.
MARGIN = 1e-9


class NonProductiveError(ValueError):
    """A year's A has spectral radius >= 1.

    Attributes
    ----------
    year : int or None
    rho : float
        The spectral radius of A.
    column : str
        Label of the column (``region, sector``) with the largest column sum.
    column_sum : float
        That column sum.
    """

    def __init__(self, message: str, year: int | None, rho: float, column: str,
                 column_sum: float) -> None:
        super().__init__(message)
        self.year = year
        self.rho = rho
        self.column = column
        self.column_sum = column_sum


@dataclasses.dataclass(frozen=True)
class ProductivityCheck:
    """Outcome of :func:`check_productive` for a productive (or allowed) year.

    Attributes
    ----------
    year : int or None
    productive : bool
        ρ(A) < 1 − :data:`MARGIN`.
    max_column_sum : float
        Largest column sum of A.
    column : str
        Label of that column.
    rho : float or None
        ρ(A) when it had to be computed; None when an upper bound (column sums, row sums or
        the Collatz–Wielandt bound) proved ρ(A) < 1.
    bound : float
        That upper bound of ρ(A) when ``rho`` is None, else ``rho``.
    """

    year: int | None
    productive: bool
    max_column_sum: float
    column: str
    rho: float | None
    bound: float


def _coefficients(obj: Any) -> Any:
    """A (dense ndarray or scipy sparse) from a matrix, an IOSystem/Table or a YearSystem."""
    if hasattr(obj, "system") and hasattr(obj.system, "Z"):
        obj = obj.system
    if hasattr(obj, "Z") and (hasattr(obj, "xinv") or hasattr(obj, "x")):
        Z = np.asarray(obj.Z, dtype=np.float64)
        if hasattr(obj, "xinv"):
            xinv = np.asarray(obj.xinv, dtype=np.float64)
        else:
            x = np.asarray(obj.x, dtype=np.float64).reshape(-1)
            xinv = np.zeros_like(x)
            # zero or negative output: a zero column of A, as IOSystem builds it
            np.divide(1.0, x, out=xinv, where=x > 0)
        return Z * xinv[None, :]
    try:
        import scipy.sparse as sp

        if sp.issparse(obj):
            return obj.tocsr().astype(np.float64)
    except ImportError:  # pragma: no cover - scipy is a dependency
        pass
    A = np.asarray(obj, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, not of shape {A.shape}")
    return A


def spectral_radius(A: Any, *, tol: float = 1e-10) -> float:
    """ρ(A) = max |λ| of a square dense or sparse matrix.

    Parameters
    ----------
    A : ndarray or scipy.sparse matrix (n, n)
    tol : float
        Relative tolerance of ARPACK (large matrices).

    Returns
    -------
    float

    Notes
    -----
    For n <= :data:`DENSE_EIGVALS_MAX_N` all eigenvalues are computed (``numpy.linalg.eigvals``);
    above, ARPACK computes the eigenvalue of largest modulus, with the full eigenvalues as a
    fallback when it does not converge.
    """
    import scipy.sparse as sp

    n = A.shape[0]
    if n == 0:
        return 0.0
    dense_ok = n <= DENSE_EIGVALS_MAX_N
    if not dense_ok:
        from scipy.sparse.linalg import ArpackNoConvergence, eigs

        try:
            vals = eigs(A, k=1, which="LM", tol=tol, maxiter=max(1000, 10 * n),
                        return_eigenvectors=False)
            return float(np.max(np.abs(vals)))
        except ArpackNoConvergence:
            pass  # e.g. several eigenvalues of equal modulus: fall back to all of them
    M = A.toarray() if sp.issparse(A) else np.asarray(A)
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def _collatz_wielandt_bound(A: Any, iterations: int = 60) -> float:
    """An upper bound of ρ(A) for A >= 0: min over a few power steps of max_j (v'A)_j / v_j.

    For any v > 0, ρ(A) <= max_j (v'A)_j / v_j (Collatz–Wielandt); power steps v <- A'v make
    the bound tighten towards ρ(A). A small shift keeps v > 0 when A has zero columns. Stops
    as soon as the bound is below 1 (all that the check needs).
    """
    AT = A.T
    v = np.ones(A.shape[0])
    best = np.inf
    for _ in range(iterations):
        w = np.asarray(AT @ v).reshape(-1)
        best = min(best, float(np.max(w / v)))
        if best < 1.0 - MARGIN:
            break
        top = float(w.max())
        if not top > 0:
            return 0.0  # A'v = 0 for v > 0: A = 0
        v = w / top + 1e-9
    return best


def _label(labels: Any, k: int, n: int) -> str:
    if labels is None:
        return f"column {k}"
    if hasattr(labels, "label") and callable(labels.label):
        return str(labels.label(k)).replace(".", ", ", 1)
    if (isinstance(labels, tuple) and len(labels) == 2 and not isinstance(labels[0], str)
            and len(labels[0]) * len(labels[1]) == n):
        regions, sectors = labels
        N = len(sectors)
        return f"{regions[k // N]}, {sectors[k % N]}"
    try:
        item = labels[k]
    except (IndexError, KeyError, TypeError):
        return f"column {k}"
    if isinstance(item, tuple | list):
        return ", ".join(map(str, item))
    return str(item)


def check_productive(
    A_or_system: Any,
    *,
    year: int | None = None,
    labels: Sequence[Any] | tuple[Sequence[str], Sequence[str]] | None = None,
    allow: bool = False,
) -> ProductivityCheck:
    """Refuse technical coefficients whose spectral radius is 1 or more (within :data:`MARGIN`).

    Parameters
    ----------
    A_or_system : ndarray, scipy.sparse matrix, IOSystem, Table or YearSystem
        The coefficient matrix A itself, or an object with ``Z`` and ``x`` (or ``xinv``),
        from which A = Z·diag(1/x) is formed (zero output: a zero column).
    year : int, optional
        Named in the message.
    labels : sequence or (regions, sectors), optional
        Labels of the stacked columns: one per column (a string or a ``(region, sector)``
        pair), or the ``(regions, sectors)`` pair of a country-major stacking. A YearSystem
        brings its own labels.
    allow : bool
        Return the check instead of raising when ρ(A) >= 1 (``productive`` is then False).

    Returns
    -------
    ProductivityCheck

    Raises
    ------
    NonProductiveError
        ``year 2011: A is not productive: spectral radius of A = 1.25 >= 1, so (I − A) is
        not an M-matrix (the Leontief inverse has negative entries); largest column sum 1.6
        at CHN, c17; fix the table or allow it (job spec checks: {allow_nonproductive:
        true}; decompose(..., allow_nonproductive=True))``.

    Examples
    --------
    >>> import numpy as np
    >>> check_productive(np.array([[0.2, 0.3], [0.1, 0.4]]), year=2000).productive
    True
    """
    if labels is None and hasattr(A_or_system, "label") and hasattr(A_or_system, "system"):
        labels = A_or_system
    A = _coefficients(A_or_system)
    n = A.shape[0]
    if n == 0:
        return ProductivityCheck(year, True, 0.0, "", None, 0.0)
    col = np.asarray(A.sum(axis=0)).reshape(-1)
    row = np.asarray(A.sum(axis=1)).reshape(-1)
    k = int(np.argmax(col))
    column = _label(labels, k, n)
    if hasattr(A, "nnz"):  # sparse: only the stored entries can be negative
        nonneg = A.nnz == 0 or float(A.data.min()) >= 0
    else:
        nonneg = float(A.min()) >= 0
    bound = float(min(col.max(), row.max()))
    if nonneg and np.isfinite(bound) and bound < 1.0 - MARGIN:
        return ProductivityCheck(year, True, float(col[k]), column, None, bound)
    if nonneg and np.isfinite(bound):
        cw = _collatz_wielandt_bound(A)
        if cw < 1.0 - MARGIN:
            return ProductivityCheck(year, True, float(col[k]), column, None, cw)
    if not np.all(np.isfinite(col)):
        bad = int(np.flatnonzero(~np.isfinite(col))[0])
        raise ValueError(f"year {year}: A has non-finite coefficients in column "
                         f"{_label(labels, bad, n)}")
    rho = spectral_radius(A)
    if rho < 1.0 - MARGIN:
        return ProductivityCheck(year, True, float(col[k]), column, rho, rho)
    if allow:
        return ProductivityCheck(year, False, float(col[k]), column, rho, rho)
    where = f"year {year}" if year is not None else "table"
    raise NonProductiveError(
        f"{where}: A is not productive: spectral radius of A = {rho:.6g} >= 1, so (I − A) is "
        "not an M-matrix (the Leontief inverse has negative entries); largest column sum "
        f"{col[k]:.6g} at {column}; fix the table or allow it (job spec checks: "
        "{allow_nonproductive: true}; decompose(..., allow_nonproductive=True))",
        year, rho, column, float(col[k]),
    )
