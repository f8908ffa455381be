"""Shared building blocks of the decompositions, on stacked (country-major) arrays.

Every measure kernel takes an :class:`~brgvc.core.kernels.IOSystem` and reads the products it
needs from :func:`blocks`, a per-system cache (a ``WeakKeyDictionary``, so nothing outlives
the system and :mod:`brgvc.core` is not changed). Shapes use G countries and N sectors; a
``(G, N, G)`` array ``M3[r, :, s]`` is block r of column s of an n × G matrix, and a
``(G, G, N)`` "pair" array ``P[s, r, :]`` is indexed by exporter s and importer r.

Notation (docs/methods.md §2): ``ydom`` stacks Y^{ss} (final demand of s for its own products),
``yf`` stacks Y^{s*} − Y^{ss} (final-goods exports), ``yt`` = Y·1 (final output).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.linalg as sla

from brgvc.core.kernels import IOSystem

__all__ = ["Blocks", "blocks", "pair_mask"]

_CACHE: weakref.WeakKeyDictionary[IOSystem, dict[str, Any]] = weakref.WeakKeyDictionary()


def pair_mask(G: int) -> np.ndarray:
    """Boolean (G, G) mask that is False on the diagonal (s = r pairs)."""
    return ~np.eye(G, dtype=bool)


class Blocks:
    """Lazily computed, cached products of one system that several measures share.

    Parameters
    ----------
    system : IOSystem

    Notes
    -----
    Nothing here forms the dense Leontief inverse B. Products with B come from the system's
    LU (``solve``/``solve_t`` with O(G) block-structured right-hand sides); the diagonal
    blocks B^{rr} come from :attr:`IOSystem.diagonal_blocks`.
    """

    def __init__(self, system: IOSystem) -> None:
        # A weak reference: the cache maps system -> Blocks weakly, so Blocks must not keep
        # the system alive.
        self._system = weakref.ref(system)
        self.G, self.N, self.n = system.G, system.N, system.n
        self._memo: dict[str, Any] = {}

    @property
    def s(self) -> IOSystem:
        """The system these blocks belong to."""
        system = self._system()
        if system is None:  # pragma: no cover - the cache drops Blocks with their system
            raise ReferenceError("the IOSystem of these blocks no longer exists")
        return system

    def _get(self, key: str, fn: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = fn()
        return self._memo[key]

    # -- final demand -------------------------------------------------------------------------

    @property
    def yd3(self) -> np.ndarray:
        """Final demand Y^{tu} as (G, N, G): ``yd3[t, :, u]``."""
        return self.s.Yd.reshape(self.G, self.N, self.G)

    @property
    def ydom(self) -> np.ndarray:
        """Y^{ss} for every s, shape (G, N)."""
        idx = np.arange(self.G)
        return self._get("ydom", lambda: np.ascontiguousarray(self.yd3[idx, :, idx]))

    @property
    def yt(self) -> np.ndarray:
        """Final output Y·1, shape (G, N)."""
        return self._get("yt", lambda: self.s.Yd.sum(1).reshape(self.G, self.N))

    @property
    def yf(self) -> np.ndarray:
        """Final-goods exports Y^{s*}·1 − Y^{ss}, shape (G, N)."""
        return self._get("yf", lambda: self.yt - self.ydom)

    @property
    def y_pair(self) -> np.ndarray:
        """Y^{sr} as a pair array (G_s, G_r, N)."""
        return self._get("y_pair", lambda: np.ascontiguousarray(self.yd3.transpose(0, 2, 1)))

    @property
    def e_pair(self) -> np.ndarray:
        """Gross exports E^{sr} as a pair array (G_s, G_r, N); zero for r = s."""
        return self._get(
            "e_pair",
            lambda: np.ascontiguousarray(
                self.s.exports.reshape(self.G, self.N, self.G).transpose(0, 2, 1)
            ),
        )

    @property
    def e_total(self) -> np.ndarray:
        """Gross exports E^{s*} of each country-sector, shape (G, N)."""
        return self._get("e_total", lambda: self.s.exports.sum(1).reshape(self.G, self.N))

    # -- Leontief products ----------------------------------------------------------------------

    @property
    def x_model(self) -> np.ndarray:
        """Model output B·Y·1 (equals x for a balanced table), shape (G, N)."""
        return self._get("x_model", lambda: self.s.by.sum(1).reshape(self.G, self.N))

    @property
    def vb3(self) -> np.ndarray:
        """V^t B^{ts} as (G_t, G_s, N): t's value added per unit of output of s."""
        return self.s.vb_country.reshape(self.G, self.G, self.N)

    @property
    def vbss(self) -> np.ndarray:
        """V^s B^{ss}, shape (G, N)."""
        idx = np.arange(self.G)
        return self._get("vbss", lambda: np.ascontiguousarray(self.vb3[idx, idx]))

    @property
    def vb_total(self) -> np.ndarray:
        """Σ_t V^t B^{ts} (= 1 for sectors with positive output), shape (G, N)."""
        return self._get("vb_total", lambda: self.vb3.sum(0))

    @property
    def fv(self) -> np.ndarray:
        """Foreign value added per unit of output, Σ_{t≠s} V^t B^{ts}, shape (G, N)."""
        return self._get("fv", lambda: self.vb_total - self.vbss)

    @property
    def by3(self) -> np.ndarray:
        """B·Yd as (G, N, G): ``by3[r, :, u]`` = Σ_t B^{rt} Y^{tu}."""
        return self.s.by.reshape(self.G, self.N, self.G)

    def _solve_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """B·Ydiag and B·Yf-blocks in one solve.

        The block columns (column s zero outside block s) are interleaved so that their first
        nonzero rows are nondecreasing, for :meth:`IOSystem.solve_from`. (B·Yd is not fused in:
        its values would then depend on which measure asked first, in the last bits.)
        """
        G, N, n = self.G, self.N, self.n
        rhs = np.zeros((G, N, G, 2))
        idx = np.arange(G)
        rhs[idx, :, idx, 0] = self.ydom
        rhs[idx, :, idx, 1] = self.yf
        out = self.s.solve_from(rhs.reshape(n, 2 * G), np.repeat(idx * N, 2))
        out = out.reshape(G, N, G, 2)
        return out[..., 0], out[..., 1]

    @property
    def b_ydom(self) -> np.ndarray:
        """B^{rs} Y^{ss} as (G_r, N, G_s); one solve with 2G columns, shared with :attr:`b_yf`."""
        return self._get("b_ydiag", self._solve_blocks)[0]

    @property
    def b_yf(self) -> np.ndarray:
        """B^{rs} (Y^{s*}1 − Y^{ss}) as (G_r, N, G_s)."""
        return self._get("b_ydiag", self._solve_blocks)[1]

    @property
    def local(self) -> np.ndarray:
        """Local inverses L^{ss}, (G, N, N)."""
        return self.s.local_inverses

    @property
    def bdiag(self) -> np.ndarray:
        """Diagonal blocks B^{rr}, (G, N, N)."""
        return self.s.diagonal_blocks

    @property
    def v3(self) -> np.ndarray:
        """V^s, shape (G, N)."""
        return self.s.v.reshape(self.G, self.N)

    @property
    def vl(self) -> np.ndarray:
        """V^s L^{ss}, shape (G, N): G small transposed solves, not from the local inverses."""
        return self._get("vl", lambda: self.s.local_solve(self.v3[..., None], trans=True)[..., 0])

    def _ly_le(self) -> np.ndarray:
        return self.s.local_solve(np.stack([self.ydom, self.e_total], axis=-1))

    @property
    def ly(self) -> np.ndarray:
        """L^{rr} Y^{rr}, shape (G, N) (solved together with :attr:`le`, never from the
        local inverses, so that it does not depend on which measure asked first)."""
        return self._get("ly_le", self._ly_le)[..., 0]

    @property
    def le(self) -> np.ndarray:
        """L^{rr} E^{r*}, shape (G, N)."""
        return self._get("ly_le", self._ly_le)[..., 1]

    def lmul(self, w: np.ndarray) -> np.ndarray:
        """Block-diagonal product L w for w of shape (G, N) or (G, N, k)."""
        if w.ndim == 2:
            return np.einsum("sij,sj->si", self.local, w)
        return np.matmul(self.local, w)

    def bdmul(self, w: np.ndarray) -> np.ndarray:
        """Block-diagonal product diag(B^{rr}) w for w of shape (G, N) or (G, N, k)."""
        if w.ndim == 2:
            return np.einsum("sij,sj->si", self.bdiag, w)
        return np.matmul(self.bdiag, w)

    @property
    def bd_y(self) -> np.ndarray:
        """B^{rr} Y^{rt} as (G_r, N, G_t)."""
        return self._get("bd_y", lambda: np.matmul(self.bdiag, self.yd3))

    # -- A without the dense A ----------------------------------------------------------------

    def a_pair_dot(self, w: np.ndarray) -> np.ndarray:
        """A^{sr} w for every pair, without forming A.

        A^{sr} w = Z^{sr} (x̂^r)^{-1} w; ``Z`` viewed as (G_s, G_r, N, N) blocks is a strided
        view whose blocks BLAS reads in place, so no n × n temporary is made.

        Parameters
        ----------
        w : ndarray
            ``(G_r, N, k)`` (a vector per importer r) or ``(G_s, G_r, N, k)`` (per pair).

        Returns
        -------
        ndarray (G_s, G_r, N, k)
        """
        G, N = self.G, self.N
        z_pairs = self.s.Z.reshape(G, N, G, N).transpose(0, 2, 1, 3)
        if w.ndim == 3:
            w = w[None]
        return np.matmul(z_pairs, w * self.s.xinv.reshape(1, G, N, 1))

    def a_pair_dot_k(self, w: np.ndarray, overwrite: bool = False,
                     exporters: slice | None = None) -> np.ndarray:
        """A^{sr} w_k^{sr} for every pair and k, vector-index-major.

        As :meth:`a_pair_dot` for ``w`` of shape ``(k, G_s, G_r, N)``, returning
        ``(G_s, G_r, k, N)``: the k vectors of a pair are the rows of a k × N matrix times
        (Z^{sr})' (x̂^r)⁻¹, so that building the vectors and reading the products runs over
        contiguous N-vectors (about twice as fast as the (…, N, k) layout for WWZ).
        ``overwrite`` lets it scale ``w`` in place; ``exporters`` (a slice of s) restricts
        the pairs to those exporters, ``w`` then having that many rows on its axis 1.
        """
        G, N = self.G, self.N
        scale = self.s.xinv.reshape(1, 1, G, N)
        if overwrite:
            w *= scale
        else:
            w = w * scale
        z_pairs = self.s.Z.reshape(G, N, G, N).transpose(0, 2, 3, 1)  # [s, r, j, i]
        if exporters is not None:
            z_pairs = z_pairs[exporters]
        return np.matmul(w.transpose(1, 2, 0, 3), z_pairs)

    def a_diag(self) -> np.ndarray:
        """Domestic blocks A^{ss}, (G, N, N)."""

        def build() -> np.ndarray:
            G, N = self.G, self.N
            idx = np.arange(G)
            return self.s.Z.reshape(G, N, G, N)[idx, :, idx, :] * self.s.xinv.reshape(G, 1, N)

        return self._get("a_diag", build)

    def af_dot(self, *ws: np.ndarray) -> list[np.ndarray]:
        """A^F w = (A − A^D) w (foreign blocks only) for each w of shape (G, N).

        All vectors go through one product with Z (Z is read once).
        """
        G, N = self.G, self.N
        W = np.stack([w.reshape(G, N) for w in ws], axis=-1)  # (G, N, k)
        AW = _z_dot(self.s.Z, W.reshape(G * N, -1) * self.s.xinv[:, None])
        AW = AW.reshape(G, N, -1) - np.matmul(self.a_diag(), W)
        return [AW[..., k] for k in range(len(ws))]

    def af_tdot(self, *us: np.ndarray) -> list[np.ndarray]:
        """Row vectors u A^F (foreign blocks only) for each u of shape (G, N)."""
        G, N = self.G, self.N
        U = np.stack([u.reshape(G, N) for u in us], axis=-1)  # (G, N, k)
        UA = _z_dot(self.s.Z.T, U.reshape(G * N, -1)) * self.s.xinv[:, None]
        UA = UA.reshape(G, N, -1) - np.matmul(np.swapaxes(self.a_diag(), 1, 2), U)
        return [UA[..., k] for k in range(len(us))]


def _z_dot(Z: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Z @ W for an n × n Z (or its transpose) and a few columns W.

    One matrix-vector product per column (BLAS's GEMM is inefficient for 2-4 columns: at
    n = 1435, Z @ W with 2 columns takes twice as long as two matrix-vector products), with
    SciPy's BLAS like the solves around it (see :mod:`brgvc.core._blas`); Z is used in place
    when it, or its transpose, is C-contiguous.
    """
    if W.shape[1] > 4:
        return Z @ W
    if Z.flags.c_contiguous:
        a, trans = Z.T, 1  # Fortran-ordered Z'; op = transpose gives Z
    elif Z.flags.f_contiguous:
        a, trans = Z, 0
    else:
        return Z @ W
    out = np.empty((Z.shape[0], W.shape[1]))
    for k in range(W.shape[1]):
        out[:, k] = sla.blas.dgemv(1.0, a, np.ascontiguousarray(W[:, k]), trans=trans)
    return out


def blocks(system: IOSystem) -> Blocks:
    """The (cached) :class:`Blocks` of a system."""
    b = _CACHE.get(system)
    if b is None:
        b = Blocks(system)
        _CACHE[system] = b
    return b
