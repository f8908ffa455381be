r"""Borin & Mancini (2019) decomposition of bilateral exports, exporting-country perspective.

Two accounting conventions (docs/methods.md §3.3):

* **source-based** — an item of value added is counted the *first* time it leaves the country
  whose exports are decomposed;
* **sink-based** — it is counted the *last* time it leaves that country before final
  absorption.

In both, gross exports E^{sr} (per exporting sector) split into

    E^{sr} = DVA + DDC + FVA + FDC,       DVA = DAVAX + REX + REF,

where DAVAX is domestic value added absorbed directly by the importer, REX value added
re-exported by the importer to third countries (and absorbed there), REF value added that is
reflected back and absorbed at home, DDC domestic double counting, FVA foreign value added
and FDC foreign double counting. Summed over importers, both conventions give the same
exporter totals of DVA (= KWW T1..T5), VAX = DAVAX + REX (= KWW T1..T3), REF (= T4 + T5) and
FVA, because every unit of value added that leaves s at least once has exactly one first and
one last exit.

**Derivation of the formulas used (no dense inverse).** Let A_(s) be A with the export blocks
of s removed (A^{sr} = 0 for r ≠ s) and Y_(s) likewise (Y^{sr} = 0), B_(s) = (I − A_(s))^{-1}
("s never exports again"). Splitting every path of B at its first export by s gives, for
r, t ≠ s,

    B_(s)^{rt} = B^{rt} − B^{rs} (B^{ss})^{-1} B^{st},   B_(s)^{ts} = B^{ts} (B^{ss})^{-1} L^{ss},

so the output of r in the world where s never exports again is

    X_(s)^r = Σ_t B_(s)^{rt} Y_(s)^{t*} 1 = x^r − B^{rs} (B^{ss})^{-1} (x^s − L^{ss} Y^{ss}),

and the part of it absorbed by s is

    W_(s)^r = Σ_t B_(s)^{rt} Y_(s)^{ts}
            = (BY)^{r,s} − B^{rs} (B^{ss})^{-1} ((BY)^{s,s} − L^{ss} Y^{ss}).

Both need B applied to one vector per country s (one solve with 2G right-hand sides), besides
the diagonal blocks B^{ss} and local inverses L^{ss}. For s = r the formula gives
X_(s)^s = L^{ss} Y^{ss}, the hypothetical-extraction output of Los, Timmer & de Vries (2016).

Source-based terms (``#``: element-wise product over the exporting sectors)::

    DVA   = (V^s L^{ss})' # E^{sr}
    DAVAX = (V^s L^{ss})' # (Y^{sr} + A^{sr} L^{rr} Y^{rr})
    REF   = (V^s L^{ss})' # (A^{sr} Σ_t B^{rt} Y^{ts})
    REX   = (V^s L^{ss})' # (A^{sr} (x^r − Σ_t B^{rt} Y^{ts} − L^{rr} Y^{rr}))
    DDC   = (V^s B^{ss} − V^s L^{ss})' # E^{sr}
    FVA   = (Σ_{t≠s} V^t B^{ts} (B^{ss})^{-1} L^{ss})' # E^{sr}
    FDC   = (Σ_{t≠s} V^t B^{ts})' # E^{sr} − FVA

Sink-based terms::

    DVA   = (V^s B^{ss})' # (Y^{sr} + A^{sr} X_(s)^r)
    DAVAX = (V^s B^{ss})' # (Y^{sr} + A^{sr} L^{rr} Y^{rr})
    REF   = (V^s B^{ss})' # (A^{sr} W_(s)^r)
    REX   = (V^s B^{ss})' # (A^{sr} (X_(s)^r − W_(s)^r − L^{rr} Y^{rr}))
    DDC   = (V^s B^{ss})' # E^{sr} − DVA
    FVA   = (Σ_{t≠s} V^t B^{ts})' # (Y^{sr} + A^{sr} X_(s)^r)
    FDC   = (Σ_{t≠s} V^t B^{ts})' # E^{sr} − FVA

GVC-related trade (both conventions): ``GVC = E − DAVAX``, split into forward
``GVC_f = REX + REF`` (domestic value added crossing more than one border) and backward
``GVC_b = DDC + FVA + FDC`` (exports that embody imported inputs or own value added that came
back). [I] The split of GVC trade follows the spirit of Borin & Mancini (2019, §5) but is a
simplification: their finer split into pure-backward, pure-forward and two-sided trade is not
implemented. The sink-based DAVAX counts V^s B^{ss} (value added that may have crossed the
border before), as any sink-based DVA term does.

References
----------
Borin, A. and Mancini, M. (2019), "Measuring what matters in global value chains and
value-added trade", World Bank Policy Research Working Paper 8804. Belotti, F., Borin, A. and
Mancini, M. (2021), "icio: Economic analysis with intercountry input-output tables", Stata
Journal 21(3): 708-755.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brgvc.core.kernels import IOSystem
from brgvc.measures._common import blocks
from brgvc.measures.wwz import _reduce

__all__ = [
    "BM_AGGREGATES",
    "BM_TERMS",
    "bm_sink",
    "bm_source",
    "bm_terms",
    "extraction_output",
]

#: The additive terms (they sum to gross exports).
BM_TERMS: tuple[str, ...] = ("DAVAX", "REX", "REF", "DDC", "FVA", "FDC")
#: Aggregates returned with the terms.
BM_AGGREGATES: tuple[str, ...] = ("DVA", "VAX", "FC", "GVC", "GVC_f", "GVC_b")


def extraction_output(system: IOSystem) -> tuple[np.ndarray, np.ndarray]:
    """Output of r, and the part of it absorbed by s, when s stops exporting (see module doc).

    Returns
    -------
    x_ext : ndarray (G_s, G_r, N)
        X_(s)^r = x^r − B^{rs} (B^{ss})^{-1} (x^s − L^{ss} Y^{ss}).
    w_ext : ndarray (G_s, G_r, N)
        W_(s)^r = (BY)^{r,s} − B^{rs} (B^{ss})^{-1} ((BY)^{s,s} − L^{ss} Y^{ss}).
    """
    b = blocks(system)
    G, N = b.G, b.N

    def build():
        idx = np.arange(G)
        by_ss = b.by3[idx, :, idx]  # (BY)^{s,s}
        rhs = np.stack([b.x_model - b.ly, by_ss - b.ly], axis=-1)  # (G, N, 2)
        g = np.linalg.solve(b.bdiag, rhs)  # (B^{ss})^{-1} ·, (G, N, 2)
        # Column (s, k) holds g^s_k in block s: zero above block s, for solve_from.
        cols = np.zeros((G, N, G, 2))
        cols[idx, :, idx, :] = g
        bg = system.solve_from(cols.reshape(G * N, 2 * G), np.repeat(idx * N, 2))
        bg = bg.reshape(G, N, G, 2)  # [r, :, s, k] = B^{rs} g^s_k
        x_ext = b.x_model[None] - bg[..., 0].transpose(2, 0, 1)
        w_ext = b.by3.transpose(2, 0, 1) - bg[..., 1].transpose(2, 0, 1)
        return x_ext, w_ext

    return b._get("extraction_output", build)


def bm_terms(system: IOSystem, approach: str = "source") -> np.ndarray:
    """Borin–Mancini terms DAVAX, REX, REF, DDC, FVA, FDC (formulas in the module docstring).

    Parameters
    ----------
    system : IOSystem
    approach : {"source", "sink"}

    Returns
    -------
    ndarray, shape (6, G, N, G)
        ``out[k, s, i, r]`` in the order of :data:`BM_TERMS`; zero for r = s. They add up to
        E^{sr} for every sector with positive output. A transposed view (no copy).
    """
    b = blocks(system)
    G, N = b.G, b.N
    idx = np.arange(G)
    y, e = b.y_pair, b.e_pair
    ly = b.ly
    by_rs = b.by3.transpose(2, 0, 1)  # Σ_t B^{rt} Y^{ts} at [s, r]
    fc = b.fv[:, None, :] * e
    out = np.empty((6, G, G, N))
    if approach == "source":
        w = np.empty((3, G, G, N))
        w[0] = ly[None]
        w[1] = by_rs
        w[2] = b.x_model[None]
        aw = b.a_pair_dot_k(w, overwrite=True)  # (s, r, 3, N)
        vl = b.vl[:, None, :]
        out[0] = vl * (y + aw[:, :, 0])
        out[2] = vl * aw[:, :, 1]
        out[1] = vl * (aw[:, :, 2] - aw[:, :, 0] - aw[:, :, 1])
        out[3] = (b.vbss - b.vl)[:, None, :] * e
        # Σ_{t≠s} V^t B^{ts} (B^{ss})^{-1} L^{ss}: solve (B^{ss})' z = (fv^s)' then z' L^{ss}
        z = np.linalg.solve(np.swapaxes(b.bdiag, 1, 2), b.fv[..., None])[..., 0]
        fvk = np.einsum("sj,sjk->sk", z, b.local)
        out[4] = fvk[:, None, :] * e
        out[5] = fc - out[4]
    elif approach == "sink":
        x_ext, w_ext = extraction_output(system)
        w = np.empty((3, G, G, N))
        w[0] = ly[None]
        w[1] = w_ext
        w[2] = x_ext
        aw = b.a_pair_dot_k(w, overwrite=True)  # (s, r, 3, N)
        vbss = b.vbss[:, None, :]
        reach = y + aw[:, :, 2]  # Y^{sr} + A^{sr} X_(s)^r
        out[0] = vbss * (y + aw[:, :, 0])
        out[2] = vbss * aw[:, :, 1]
        out[1] = vbss * (aw[:, :, 2] - aw[:, :, 1] - aw[:, :, 0])
        out[3] = vbss * e - vbss * reach
        out[4] = b.fv[:, None, :] * reach
        out[5] = fc - out[4]
    else:
        raise ValueError(f"approach must be 'source' or 'sink', not {approach!r}")
    out[:, idx, idx, :] = 0.0
    return out.transpose(0, 1, 3, 2)


def _bm(ys, approach: str, level: str) -> xr.Dataset:
    s = ys.system
    t = bm_terms(s, approach)
    dims = ("exporter", "sector", "importer")
    d = {name: ys._da(t[k], dims) for k, name in enumerate(BM_TERMS)}
    ds = xr.Dataset(d)
    ds["exports"] = ys._da(s.exports.reshape(s.G, s.N, s.G), dims)
    ds["DVA"] = ds["DAVAX"] + ds["REX"] + ds["REF"]
    ds["VAX"] = ds["DAVAX"] + ds["REX"]
    ds["FC"] = ds["FVA"] + ds["FDC"]
    ds["GVC"] = ds["exports"] - ds["DAVAX"]
    ds["GVC_f"] = ds["REX"] + ds["REF"]
    ds["GVC_b"] = ds["DDC"] + ds["FVA"] + ds["FDC"]
    ds = _reduce(ds, level)
    ds.attrs.update(
        method=f"bm_{'src' if approach == 'source' else 'snk'}",
        approach=approach,
        terms=list(BM_TERMS),
        units="unit of the table",
        references="Borin & Mancini (2019), World Bank PRWP 8804",
    )
    return ds


def bm_source(ys, *, level: str = "sector") -> xr.Dataset:
    """Source-based Borin–Mancini decomposition of bilateral exports (module docstring).

    Parameters
    ----------
    ys : YearSystem
    level : {"sector", "bilateral", "country"}
        Dims (exporter, sector, importer), (exporter, importer) or (exporter,).

    Returns
    -------
    xarray.Dataset
        Terms DAVAX, REX, REF, DDC, FVA, FDC (they add up to ``exports``) and aggregates
        DVA, VAX, FC, GVC, GVC_f, GVC_b.
    """
    return _bm(ys, "source", level)


def bm_sink(ys, *, level: str = "sector") -> xr.Dataset:
    """Sink-based Borin–Mancini decomposition of bilateral exports (module docstring).

    Parameters
    ----------
    ys : YearSystem
    level : {"sector", "bilateral", "country"}

    Returns
    -------
    xarray.Dataset
        As :func:`bm_source`.
    """
    return _bm(ys, "sink", level)
