"""Numpy kernels of the input-output algebra, on stacked (country-major) GN-indexed arrays.

Nothing here reads files, draws random numbers or knows about labels: the xarray layer in
:mod:`brgvc.core.leontief` wraps these kernels. Notation follows docs/methods.md §2: G countries,
N sectors, n = GN; ``Z`` (n × n), ``Yd`` (n × G, final demand by destination), ``x`` and
``va`` (n).

The central object is :class:`IOSystem`: it factorises (I − A) once (LU, partial pivoting) and
answers every product with the Leontief inverse B by triangular solves, so that a measure that
needs B applied to O(G) vectors costs O(n² G) after the O(n³) factorisation. The dense inverse
is formed only by :meth:`IOSystem.leontief_inverse`.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.linalg as sla

from brgvc.core import _blas

__all__ = [
    "IOSystem",
    "SingularSystemError",
    "block_columns",
    "country_sum",
    "exports_by_partner",
]


class SingularSystemError(ArithmeticError):
    """(I − A) is singular or has no non-negative inverse.

    Attributes
    ----------
    index : int or None
        Stacked country-sector index of the zero pivot, when known.
    """

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


def block_columns(vec: np.ndarray, G: int, N: int) -> np.ndarray:
    """Spread a length-GN vector into an n × G matrix: column s holds block s, zeros elsewhere.

    This is ``diag(vec) S'`` with S the G × GN country aggregation matrix.
    """
    out = np.zeros((G, N, G), dtype=np.result_type(vec, np.float64))
    idx = np.arange(G)
    out[idx, :, idx] = np.asarray(vec).reshape(G, N)
    return out.reshape(G * N, G)


def country_sum(M: np.ndarray, G: int, N: int, axis: int = 0) -> np.ndarray:
    """Sum a stacked axis of length GN over sectors (S M for axis 0, M S' for axis 1)."""
    M = np.asarray(M)
    shape = list(M.shape)
    shape[axis : axis + 1] = [G, N]
    if M.ndim == 2 and M.dtype == np.float64:
        # einsum sums the N sectors with SIMD; ndarray.sum over a short inner axis is ~4x slower
        return np.einsum("gjk->gk" if axis == 0 else "igj->ig", M.reshape(shape))
    return M.reshape(shape).sum(axis=axis + 1)


def exports_by_partner(Z: np.ndarray, Yd: np.ndarray, G: int, N: int) -> np.ndarray:
    """Gross exports E^{sr} = Z^{sr}1 + Y^{sr} of each country-sector to each partner.

    Parameters
    ----------
    Z : ndarray (n, n)
    Yd : ndarray (n, G)
        Final demand by destination country.
    G, N : int

    Returns
    -------
    ndarray (n, G)
        Column r holds exports to r; the own-country block (r = s) is zero.
    """
    E = country_sum(Z, G, N, axis=1) + Yd
    E = E.reshape(G, N, G)
    idx = np.arange(G)
    E[idx, :, idx] = 0.0
    return E.reshape(G * N, G)


#: Rows per panel of the blocked forward substitution in :meth:`IOSystem.solve_from`.
_PANEL = 128


def _forward_from(lu: np.ndarray, X: np.ndarray, first: np.ndarray, upper: bool) -> None:
    """Forward substitution with the unit lower factor L (or with U', ``upper``), in place.

    Column j of X is zero above row ``first[j]`` (``first`` nondecreasing); it stays zero
    there, so each panel of rows only involves the columns that have started: the work is
    that of the trailing triangle of every column (a column starting at row f costs
    (n − f)² instead of n²). Right-looking: a small triangular solve on the panel, then one
    product updates the rows below it; both on views of the factors, through SciPy's BLAS
    (:mod:`brgvc.core._blas`).
    """
    n = lu.shape[0]
    p0 = int(first[0])
    while p0 < n:
        p1 = min(n, p0 + _PANEL)
        c1 = int(np.searchsorted(first, p1, side="left"))  # columns started before p1
        Xp = X[p0:p1, :c1]
        _blas.trsm(lu[p0:p1, p0:p1], Xp, lower=not upper, trans=upper, unit=not upper)
        if p1 < n:
            T = lu[p0:p1, p1:].T if upper else lu[p1:, p0:p1]
            _blas.gemm(X[p1:, :c1], T, Xp, alpha=-1.0, beta=1.0)
        p0 = p1


def _factors_of_transpose(lut: np.ndarray) -> np.ndarray:
    """LAPACK-style LU factors of M from those of M' = L' U' computed without row swaps.

    M = U'' L'' = (U'' D⁻¹)(D L'') with D = diag(U'): L = U'' D⁻¹ is unit lower triangular
    and U = D L'' upper triangular. Returns them packed in one Fortran-ordered array.
    """
    d = np.diagonal(lut).copy()
    T = np.array(lut.T, order="F")
    out = np.tril(T, -1)
    out /= d[None, :]
    out += np.triu(T, 1) * d[:, None]
    out.flat[:: len(d) + 1] = d
    return np.asfortranarray(out)


def _inverse_diagonal_blocks(lu: np.ndarray, G: int, N: int) -> np.ndarray:
    """Diagonal N × N blocks of M⁻¹ from LU factors of M without row swaps (see
    :attr:`IOSystem.diagonal_blocks`)."""
    n = G * N
    W = np.array(lu, order="F", copy=True)
    # L⁻¹ in the strict lower triangle (unit diagonal implied), then U⁻¹ in the upper one.
    W, info = sla.lapack.dtrtri(W, lower=1, unitdiag=1, overwrite_c=1)
    if not info:
        W, info = sla.lapack.dtrtri(W, lower=0, unitdiag=0, overwrite_c=1)
    if info:
        raise SingularSystemError(f"triangular inverse failed (info {info})")
    idx = np.arange(G)
    D = W.T.reshape(G, N, G, N)[idx, :, idx, :].transpose(0, 2, 1)  # D[r] = W^{rr}
    uinv = np.triu(D)
    linv = np.tril(D, -1)
    linv[:, np.arange(N), np.arange(N)] = 1.0
    out = np.empty((N, N, G), order="F")  # block r in out[:, :, r], Fortran-ordered
    for r in range(G):
        a, b = r * N, (r + 1) * N
        # (U⁻¹)^{rr} (L⁻¹)^{rr} + (U⁻¹)^{r,>r} (L⁻¹)^{>r,r}, all through SciPy's BLAS
        _blas.gemm(out[:, :, r], uinv[r], linv[r], beta=0.0)
        if b < n:
            _blas.gemm(out[:, :, r], W[a:b, b:], W[b:, a:b])
    return np.ascontiguousarray(out.transpose(2, 0, 1))


class IOSystem:
    """One year's (or one draw's) input-output system with a single LU of (I − A).

    Parameters
    ----------
    Z : ndarray (n, n)
        Intermediate flows.
    Yd : ndarray (n, G)
        Final demand by destination country.
    x : ndarray (n,)
        Gross output. Where ``x <= 0`` the column of A and v are set to zero (reported in
        :attr:`zero_output`), never divided by.
    va : ndarray (n,)
        Value added.
    G, N : int
        Countries and sectors (n = G·N).

    Notes
    -----
    A is never stored: A·w = Z·(w / x), and (I − A) is built once for the factorisation.

    LAPACK sees a C-ordered (I − A) as its transpose, so :meth:`factorise` factorises
    (I − A)' = L' U' in place (building a Fortran-ordered I − A from the C-ordered Z would
    cost a transposing copy, ~10 % of the LU): B·w and B'·w are the transposed and plain
    solves with those factors. The factors of (I − A) itself (:attr:`lu`) are derived from
    them when asked for. Only if partial pivoting swaps rows of (I − A)' is I − A factorised
    as before.
    """

    def __init__(
        self,
        Z: np.ndarray,
        Yd: np.ndarray,
        x: np.ndarray,
        va: np.ndarray,
        G: int,
        N: int,
    ) -> None:
        n = G * N
        self.G, self.N, self.n = G, N, n
        self.Z = np.asarray(Z, dtype=np.float64)
        self.Yd = np.asarray(Yd, dtype=np.float64)
        self.x = np.asarray(x, dtype=np.float64).reshape(n)
        self.va = np.asarray(va, dtype=np.float64).reshape(n)
        if self.Z.shape != (n, n) or self.Yd.shape != (n, G):
            raise ValueError(
                f"shapes Z {self.Z.shape}, Yd {self.Yd.shape} do not match G={G}, N={N}"
            )
        positive = self.x > 0
        self.zero_output = np.flatnonzero(~positive)
        self.xinv = np.zeros(n)
        np.divide(1.0, self.x, out=self.xinv, where=positive)
        self.v = self.va * self.xinv
        # The factors in use: of (I − A)' (``_of_t``) or, if that LU swapped rows, of I − A.
        self._fac: tuple[np.ndarray, np.ndarray] | None = None
        self._of_t = True
        self._pivoted = False  # whether the factors in use swapped rows
        self._lu: tuple[np.ndarray, np.ndarray] | None = None  # LU of (I − A), on request

    # -- factorisation ------------------------------------------------------------------------

    def leontief_matrix(self) -> np.ndarray:
        """Return I − A as a new Fortran-ordered array (LAPACK factorises it in place)."""
        M = np.multiply(self.Z, -self.xinv[None, :], order="F")
        M.flat[:: self.n + 1] += 1.0
        return M

    def _leontief_matrix_t(self) -> np.ndarray:
        """(I − A)' as a Fortran-ordered array: the C-ordered I − A, viewed transposed."""
        M = np.multiply(self.Z, -self.xinv[None, :])
        M.flat[:: self.n + 1] += 1.0
        return M.T

    @property
    def lu(self) -> tuple[np.ndarray, np.ndarray]:
        """The LU factors of (I − A) (``scipy.linalg.lu_factor`` format), computed on first use.

        When the system factorised (I − A)' without row swaps, these are derived from that in
        O(n²) (the factors of (I − A) without row swaps).
        """
        if self._lu is None:
            fac = self._factors()
            if self._of_t:
                self._lu = (_factors_of_transpose(fac[0]),
                            np.arange(self.n, dtype=fac[1].dtype))
            else:
                self._lu = fac
        return self._lu

    def _factors(self) -> tuple[np.ndarray, np.ndarray]:
        """The factors in use (of (I − A)' if ``_of_t``, else of I − A), on first use."""
        if self._fac is None:
            self.factorise()
        assert self._fac is not None
        return self._fac

    def _checked_lu(self, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lu, piv = sla.lu_factor(M, overwrite_a=True, check_finite=False)
        d = np.abs(np.diagonal(lu))
        if not np.all(np.isfinite(d)) or d.min() <= np.finfo(float).eps * self.n:
            k = int(np.argmin(np.where(np.isfinite(d), d, -1.0)))
            raise SingularSystemError(
                f"(I − A) is singular: pivot {k} is {d[k]:.3g}", index=k
            )
        return lu, piv

    def factorise(self) -> None:
        """Factorise (I − A) once; raise :class:`SingularSystemError` on a zero pivot.

        LAPACK factorises (I − A)' in place (see the class notes). If partial pivoting swaps
        rows there (I − A not row diagonally dominant; WIOD 2008 has one such row), I − A
        itself is factorised instead (one more LU): for an M-matrix, elimination without row
        swaps is accurate entry by entry, the swapped factors of the transpose are not (1e-11
        relative errors seen in B·Y).
        """
        lu, piv = self._checked_lu(self._leontief_matrix_t())
        self._of_t = True
        if np.any(piv != np.arange(self.n)):
            del lu
            lu, piv = self._checked_lu(self.leontief_matrix())
            self._of_t = False
        self._fac = (lu, piv)
        self._pivoted = bool(np.any(piv != np.arange(self.n)))
        self._lu = None

    @property
    def pivoted(self) -> bool:
        """True if partial pivoting swapped rows (then diagonal-block shortcuts do not apply)."""
        self._factors()
        return self._pivoted

    # -- products with B = (I − A)^-1 ----------------------------------------------------------

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Return B · rhs (one triangular solve pair per column)."""
        return sla.lu_solve(self._factors(), rhs, trans=int(self._of_t), check_finite=False)

    def solve_t(self, rhs: np.ndarray) -> np.ndarray:
        """Return B' · rhs, i.e. the rows rhs' B transposed."""
        return sla.lu_solve(self._factors(), rhs, trans=int(not self._of_t),
                            check_finite=False)

    def solve_from(self, rhs: np.ndarray, first: np.ndarray, trans: bool = False) -> np.ndarray:
        """Return B · rhs (B' · rhs with ``trans``) for a right-hand side with leading zeros.

        Column j of ``rhs`` must be zero above row ``first[j]``, with ``first`` nondecreasing
        (e.g. :func:`block_columns`: column s starts at row s·N). The forward substitution
        then skips those rows: for G block columns it costs about a third of a full one, so
        the whole solve about two thirds of :meth:`solve`'s. (With I − A = L U, B·rhs solves
        with L first, B'·rhs with U'; with (I − A)' = L' U', the other way round.) Falls back
        to :meth:`solve` / :meth:`solve_t` when the LU swapped rows.

        Parameters
        ----------
        rhs : ndarray (n, k)
        first : ndarray of int (k,)
            Row of the first possible nonzero of each column, nondecreasing.
        trans : bool

        Returns
        -------
        ndarray (n, k), Fortran-ordered
        """
        first = np.asarray(first, dtype=np.intp)
        rhs = np.asarray(rhs, dtype=np.float64)
        if rhs.ndim != 2 or first.shape != (rhs.shape[1],):
            raise ValueError("rhs must be n × k with one first row per column")
        if np.any(np.diff(first) < 0):
            raise ValueError("first must be nondecreasing")
        lu = self._factors()[0]
        if self._pivoted or not len(first):
            return self.solve_t(rhs) if trans else self.solve(rhs)
        X = np.array(rhs, order="F", copy=True)
        upper = bool(trans) != self._of_t  # forward substitution with U' (else with L)
        _forward_from(lu, X, first, upper=upper)
        if upper:  # then L' w = y
            X, info = sla.lapack.dtrtrs(lu, X, lower=1, trans=1, unitdiag=1, overwrite_b=1)
        else:  # then U z = y
            X, info = sla.lapack.dtrtrs(lu, X, lower=0, trans=0, unitdiag=0, overwrite_b=1)
        if info:
            raise SingularSystemError(f"triangular solve failed (info {info})")
        return X

    def a_dot(self, w: np.ndarray) -> np.ndarray:
        """Return A · w without forming A."""
        w = np.asarray(w)
        scale = self.xinv if w.ndim == 1 else self.xinv[:, None]
        return self.Z @ (w * scale)

    def leontief_inverse(self) -> np.ndarray:
        """Return the dense B = (I − A)^-1 (n × n). Costs about three LUs: only on request."""
        return self.solve(np.eye(self.n, order="F"))

    # -- cached building blocks -------------------------------------------------------------

    @functools.cached_property
    def vb_country(self) -> np.ndarray:
        """G × n matrix whose row t is V^t B (value added of country t per unit of output).

        One transposed solve with G right-hand sides; column t of the right-hand side is
        zero above block t, which :meth:`solve_from` skips.
        """
        first = np.arange(self.G) * self.N
        return self.solve_from(block_columns(self.v, self.G, self.N), first, trans=True).T

    @functools.cached_property
    def by(self) -> np.ndarray:
        """B · Yd (n × G): output needed for each destination's final demand."""
        return self.solve(self.Yd)

    @functools.cached_property
    def exports(self) -> np.ndarray:
        """Gross exports by partner, E^{sr} (n × G), own-country block zero."""
        return exports_by_partner(self.Z, self.Yd, self.G, self.N)

    def _domestic_blocks(self) -> np.ndarray:
        """I − A^{ss} for every country, shape (G, N, N)."""
        G, N = self.G, self.N
        idx = np.arange(G)
        Zb = self.Z.reshape(G, N, G, N)[idx, :, idx, :]  # (G, N, N): Z^{ss}
        Ad = Zb * self.xinv.reshape(G, 1, N)
        return np.eye(N)[None, :, :] - Ad

    def _local_solve(self, M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        try:
            return np.linalg.solve(M, rhs)
        except np.linalg.LinAlgError as exc:
            dets = np.abs(np.linalg.det(M))
            s = int(np.argmin(dets))
            raise SingularSystemError(
                f"domestic block (I − A^ss) of country {s} is singular", index=s * self.N
            ) from exc

    @functools.cached_property
    def local_inverses(self) -> np.ndarray:
        """L^{ss} = (I − A^{ss})^-1 for every country, shape (G, N, N).

        G small N × N solves; a country whose domestic block is singular raises
        :class:`SingularSystemError` naming it.
        """
        M = self._domestic_blocks()
        return self._local_solve(M, np.broadcast_to(np.eye(self.N), M.shape))

    def local_solve(self, W: np.ndarray, trans: bool = False) -> np.ndarray:
        """L^{ss} W^s (or (L^{ss})' W^s) for every country without the local inverses.

        Parameters
        ----------
        W : ndarray (G, N, k)
        trans : bool

        Returns
        -------
        ndarray (G, N, k)
            G small LU solves (cheaper than forming :attr:`local_inverses` when only a few
            vectors are needed). Raises :class:`SingularSystemError` like the inverses.
        """
        M = self._domestic_blocks()
        return self._local_solve(np.swapaxes(M, 1, 2) if trans else M, W)

    @functools.cached_property
    def diagonal_blocks(self) -> np.ndarray:
        """B^{rr} for every country, shape (G, N, N), without forming B.

        With an LU without row interchanges, M = L U (guaranteed for (I − A) when A is
        non-negative with column sums < 1, which makes it column diagonally dominant),
        M⁻¹ = U⁻¹ L⁻¹ with both factors triangular, so

            (M⁻¹)^{rr} = Σ_{k ≥ r} (U⁻¹)^{rk} (L⁻¹)^{kr}

        (block row r of U⁻¹ and block column r of L⁻¹ vanish before block r). Both triangular
        inverses are formed in place in one copy of the LU factors (LAPACK ``trtri``, n³/3
        flops each: about one LU in all, at BLAS-3 speed), then each block is a product
        N × (n − rN) by (n − rN) × N. Applied to the factors of (I − A)', this gives the
        blocks of B' (transposed back). With row swaps, the blocks of the dense inverse.
        Peak memory: the factors and one copy.

        Measured against trailing triangular solves on views of the factors (groups of
        ~n/10 columns, no copies): 1.12 vs 1.22x LU at n = 1435, 1.08 vs 1.22x at 2340,
        0.86 vs 1.20x at 4940 (2 threads, quiet machine). The trailing solves need no n × n
        copy and suffer much less when another process competes for the cores (OpenBLAS's
        parallel trtri synchronises often), but are slower on a quiet machine.
        """
        G, N = self.G, self.N
        lu = self._factors()[0]
        if not self._pivoted:
            blocks = _inverse_diagonal_blocks(lu, G, N)
            return np.ascontiguousarray(blocks.transpose(0, 2, 1)) if self._of_t else blocks
        B = self.leontief_inverse().reshape(G, N, G, N)
        idx = np.arange(G)
        return np.ascontiguousarray(B[idx, :, idx, :])

    # -- value-added flows (docs/methods.md §2) -----------------------------------------------

    def vby_sector(self) -> np.ndarray:
        """V̂BY (n × G): value added of (s, i) absorbed by final demand in each country."""
        return self.v[:, None] * self.by

    def vby_country(self) -> np.ndarray:
        """S V̂BY (G × G): Johnson–Noguera value-added flows, source × absorbing country."""
        out = np.empty((self.G, self.G))
        _blas.gemm(out, self.vb_country, self.Yd, beta=0.0)  # SciPy's BLAS (see _blas)
        return out

    def vbe_export_sector(self) -> np.ndarray:
        """S V̂BÊ (G × n): value added of country t in the gross exports of (s, j)."""
        return self.vb_country * self.exports.sum(1)[None, :]

    def vbe_source_sector(self) -> np.ndarray:
        """V̂BÊS' (n × G): value added of (t, i) in the gross exports of country s."""
        E_blocks = block_columns(self.exports.sum(1), self.G, self.N)
        return self.v[:, None] * self.solve_from(E_blocks, np.arange(self.G) * self.N)

    def vbe_country(self) -> np.ndarray:
        """S V̂BÊ S' (G × G): value added of country t embodied in country s's gross exports."""
        return country_sum(self.vbe_export_sector(), self.G, self.N, axis=1)

    def vbe_full(self, post: np.ndarray | None = None) -> np.ndarray:
        """V̂ B diag(post) (n × n), by default post = E; forms B (only on request)."""
        post = self.exports.sum(1) if post is None else post
        return self.v[:, None] * self.leontief_inverse() * post[None, :]
