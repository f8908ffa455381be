"""GEMM and TRSM on strided matrix views, through SciPy's BLAS, without copies.

Why: numpy and SciPy each load their own OpenBLAS, each with its own thread pool. After a
multithreaded call, OpenBLAS worker threads keep spinning for a while; when the *other*
library then starts a multithreaded call, the two pools fight for the cores (on 2 cores a
loop alternating ``scipy.linalg.blas.dtrsm`` and ``numpy.matmul`` ran 60x slower than on one
thread). The LU and the triangular solves must use SciPy's LAPACK, so the blocked kernels of
:mod:`brgvc.core.kernels` do their matrix products with SciPy's BLAS too. SciPy's Python
wrappers (``scipy.linalg.blas.dgemm``) copy any argument that is not contiguous, which a
panel of a factor never is; the functions here call the same BLAS through the function
pointers that ``scipy.linalg.cython_blas`` exports, passing the leading dimension of the
view. They fall back to numpy (and copies) if that interface is unavailable.

Only float64 2-D views with one unit stride (a Fortran- or C-ordered block of a larger
array) take the direct route; anything else is handled by the fallback.
"""

from __future__ import annotations

import ctypes

import numpy as np
import scipy.linalg as sla

__all__ = ["gemm", "trsm"]

_ITEM = 8  # float64


def _load(name: str):
    """A ctypes function for ``scipy.linalg.cython_blas.<name>`` (all arguments pointers)."""
    from scipy.linalg import cython_blas

    capsule = cython_blas.__pyx_capi__[name]
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    ptr = api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule))
    nargs = {"dgemm": 13, "dtrsm": 11}[name]
    # ctypes releases the GIL during the call.
    return ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * nargs))(ptr)


try:
    _DGEMM = _load("dgemm")
    _DTRSM = _load("dtrsm")
except Exception:  # pragma: no cover - any SciPy without the capsules: numpy fallback
    _DGEMM = _DTRSM = None


def _layout(V: np.ndarray) -> tuple[int, int, bool] | None:
    """(address, leading dimension, transposed) of a 2-D float64 view, or None.

    ``transposed`` is True for a C-ordered block: BLAS then sees its transpose.
    """
    if V.dtype != np.float64 or V.ndim != 2:
        return None
    m, n = V.shape
    s0, s1 = V.strides
    if s0 == _ITEM and s1 % _ITEM == 0 and (s1 // _ITEM >= max(1, m) or n == 1):
        return V.ctypes.data, max(s1 // _ITEM, 1, m), False
    if s1 == _ITEM and s0 % _ITEM == 0 and (s0 // _ITEM >= max(1, n) or m == 1):
        return V.ctypes.data, max(s0 // _ITEM, 1, n), True
    return None


_ref = ctypes.byref


def gemm(C: np.ndarray, A: np.ndarray, B: np.ndarray, alpha: float = 1.0,
         beta: float = 1.0) -> None:
    """C ← alpha·A·B + beta·C in place (C a writable view)."""
    m, n = C.shape
    k = A.shape[1]
    if A.shape != (m, k) or B.shape != (k, n):
        raise ValueError(f"gemm shapes {C.shape} = {A.shape} @ {B.shape}")
    if m == 0 or n == 0:
        return
    lc, la, lb = _layout(C), _layout(A), _layout(B)
    if _DGEMM is None or lc is None or la is None or lb is None or not C.flags.writeable:
        if beta == 0.0:  # as BLAS: C is not read (it may hold garbage)
            C[...] = alpha * (A @ B)
        else:
            C *= beta
            C += alpha * (A @ B)
        return
    if lc[2]:  # C-ordered C: compute C' = alpha·B'·A' + beta·C'
        A, B, la, lb, m, n = B.T, A.T, lb, la, n, m
        la, lb = (la[0], la[1], not la[2]), (lb[0], lb[1], not lb[2])
    if k == 0:
        if beta == 0.0:
            C[...] = 0.0
        else:
            C *= beta
        return
    ta = ctypes.c_char(b"T" if la[2] else b"N")
    tb = ctypes.c_char(b"T" if lb[2] else b"N")
    args = [ctypes.c_int(m), ctypes.c_int(n), ctypes.c_int(k), ctypes.c_double(alpha),
            ctypes.c_int(la[1]), ctypes.c_int(lb[1]), ctypes.c_double(beta),
            ctypes.c_int(lc[1])]
    _DGEMM(_ref(ta), _ref(tb), _ref(args[0]), _ref(args[1]), _ref(args[2]), _ref(args[3]),
           la[0], _ref(args[4]), lb[0], _ref(args[5]), _ref(args[6]), lc[0], _ref(args[7]))


def trsm(A: np.ndarray, B: np.ndarray, *, lower: bool, trans: bool = False,
         unit: bool = False) -> None:
    """B ← op(A)⁻¹·B in place, A triangular (its other triangle is not read), B a view.

    ``lower`` and ``unit`` describe A as stored; ``trans`` solves with A'.
    """
    m, n = B.shape
    if A.shape != (m, m):
        raise ValueError(f"trsm shapes {A.shape}, {B.shape}")
    if m == 0 or n == 0:
        return
    la, lb = _layout(A), _layout(B)
    if _DTRSM is None or la is None or lb is None or lb[2] or not B.flags.writeable:
        B[...] = sla.blas.dtrsm(1.0, A, B, lower=int(lower), trans_a=int(trans),
                                diag=int(unit))
        return
    if la[2]:  # C-ordered A: BLAS sees A', the other triangle, transposed
        lower, trans = not lower, not trans
    side = ctypes.c_char(b"L")
    uplo = ctypes.c_char(b"L" if lower else b"U")
    ta = ctypes.c_char(b"T" if trans else b"N")
    diag = ctypes.c_char(b"U" if unit else b"N")
    args = [ctypes.c_int(m), ctypes.c_int(n), ctypes.c_double(1.0), ctypes.c_int(la[1]),
            ctypes.c_int(lb[1])]
    _DTRSM(_ref(side), _ref(uplo), _ref(ta), _ref(diag), _ref(args[0]), _ref(args[1]),
           _ref(args[2]), la[0], _ref(args[3]), lb[0], _ref(args[4]))
