"""Wang, Wei & Zhu (2013): bilateral sector exports in 16 terms (docs/methods.md §3.2).

The kernel :func:`wwz_terms` never forms the dense Leontief inverse. It needs (docs/methods.md §8,
"WWZ without the full inverse"):

* the rows V^t B of every country t (one transposed solve with G right-hand sides),
* B applied to block-structured right-hand sides: B·Yd (by destination), B·Ydiag (column s
  holds Y^{ss} in block s) and B·Yf-blocks (column s holds Y^{s*}1 − Y^{ss} in block s),
* the local inverses L^{ss} and the diagonal blocks B^{rr},

after which every term is a batched product over (exporter, importer) pairs of N-vectors and
N × N blocks. For s ≠ r, writing t, u for third countries, the vectors w^{sr} that A^{sr}
multiplies are obtained from full sums minus the excluded countries, e.g.

    Σ_{t≠s,r} B^{rt} Y^{tt} = (B y_dom)^r − B^{rr} Y^{rr} − B^{rs} Y^{ss}
    Σ_{t≠s,r} B^{rt} Σ_{u≠s,t} Y^{tu}
        = x^r − B^{rr}Y^{r*}1 − B^{rs}Y^{s*}1 − (term 3's w) − (term 7's w)

with x = B·Y·1.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brgvc.core.kernels import IOSystem
from brgvc.measures._common import blocks
from brgvc.options import get_options

__all__ = [
    "DECOMPR_ORDER",
    "WWZ_GROUPS",
    "WWZ_TERMS",
    "wwz",
    "wwz_groupings",
    "wwz_terms",
]

#: The 16 terms in the order of docs/methods.md §3.2 (Wang, Wei & Zhu 2013, eq. 37).
WWZ_TERMS: tuple[str, ...] = (
    "DVA_FIN",
    "DVA_INT",
    "DVA_INTrexI1",
    "DVA_INTrexF",
    "DVA_INTrexI2",
    "RDV_FIN",
    "RDV_FIN2",
    "RDV_INT",
    "DDC_FIN",
    "DDC_INT",
    "MVA_FIN",
    "MVA_INT",
    "MDC",
    "OVA_FIN",
    "OVA_INT",
    "ODC",
)

#: The column order of R decompr's ``wwz`` output (never match terms by position).
DECOMPR_ORDER: tuple[str, ...] = (
    "DVA_FIN", "DVA_INT", "DVA_INTrexI1", "DVA_INTrexF", "DVA_INTrexI2", "RDV_INT",
    "RDV_FIN", "RDV_FIN2", "OVA_FIN", "MVA_FIN", "OVA_INT", "MVA_INT", "DDC_FIN",
    "DDC_INT", "ODC", "MDC",
)  # fmt: skip

#: Standard groupings of the terms (docs/methods.md §3.2).
WWZ_GROUPS: dict[str, tuple[str, ...]] = {
    "VAX_G": WWZ_TERMS[0:5],
    "RDV": ("RDV_FIN", "RDV_FIN2", "RDV_INT"),
    "DVA": WWZ_TERMS[0:8],
    "DDC": ("DDC_FIN", "DDC_INT"),
    "FVA": ("MVA_FIN", "MVA_INT", "OVA_FIN", "OVA_INT"),
    "FDC": ("MDC", "ODC"),
    "FIN": ("DVA_FIN", "MVA_FIN", "OVA_FIN"),
}


def wwz_terms(system: IOSystem) -> np.ndarray:
    r"""The 16 WWZ terms for every exporter, sector and importer, computed once per system.

    With the ``wwz_cache`` option (default on, :func:`brgvc.options.set_options`), the terms
    of a system are kept with its other shared products (:func:`brgvc.measures._common.blocks`,
    released with the system) and returned read-only, so that ``wwz``, ``china_va``,
    ``china_efficiency`` and the W3 network weight of one (year, draw) pay for them once.
    Without it, every call computes them anew (a writable array).

    For exporter s, importer r ≠ s and third countries t, u (every term an N-vector over the
    exporting sectors; ``#`` is the element-wise product)::

         1 DVA_FIN      (V^s B^{ss})' # Y^{sr}
         2 DVA_INT      (V^s L^{ss})' # (A^{sr} B^{rr} Y^{rr})
         3 DVA_INTrexI1 (V^s L^{ss})' # (A^{sr} Σ_{t≠s,r} B^{rt} Y^{tt})
         4 DVA_INTrexF  (V^s L^{ss})' # (A^{sr} B^{rr} Σ_{t≠s,r} Y^{rt})
         5 DVA_INTrexI2 (V^s L^{ss})' # (A^{sr} Σ_{t≠s,r} B^{rt} Σ_{u≠s,t} Y^{tu})
         6 RDV_FIN      (V^s L^{ss})' # (A^{sr} B^{rr} Y^{rs})
         7 RDV_FIN2     (V^s L^{ss})' # (A^{sr} Σ_{t≠s,r} B^{rt} Y^{ts})
         8 RDV_INT      (V^s L^{ss})' # (A^{sr} B^{rs} Y^{ss})
         9 DDC_FIN      (V^s L^{ss})' # (A^{sr} B^{rs} Σ_{t≠s} Y^{st})
        10 DDC_INT      (V^s B^{ss} − V^s L^{ss})' # (A^{sr} X^r)
        11 MVA_FIN      (V^r B^{rs})' # Y^{sr}
        12 MVA_INT      (V^r B^{rs})' # (A^{sr} L^{rr} Y^{rr})
        13 MDC          (V^r B^{rs})' # (A^{sr} L^{rr} E^{r*})
        14 OVA_FIN      (Σ_{t≠s,r} V^t B^{ts})' # Y^{sr}
        15 OVA_INT      (Σ_{t≠s,r} V^t B^{ts})' # (A^{sr} L^{rr} Y^{rr})
        16 ODC          (Σ_{t≠s,r} V^t B^{ts})' # (A^{sr} L^{rr} E^{r*})

    Term 3 uses Y^{tt} (absorbed in the third country t), as decompr's code and published
    numbers do; term 5 includes u = r. The terms add up to E^{sr} = A^{sr}X^r + Y^{sr} for
    every sector with positive output (where v·B = u' holds).

    Parameters
    ----------
    system : IOSystem

    Returns
    -------
    ndarray, shape (16, G, N, G)
        ``out[k, s, i, r]``: term k of exports of sector i of s to r (zero for r = s). A
        transposed view of a (16, G, G, N) array (no copy is made).

    Notes
    -----
    Cost: the LU, one transposed and two direct solves with O(G) right-hand sides, the
    diagonal blocks B^{rr} (about one more LU) and batched N × N products over the G² pairs.
    Peak memory: the LU factors (one n × n), the temporaries of the diagonal blocks (less than
    one more) and O(16 G² N) for the terms; A is never formed (its blocks are read from Z).

    References
    ----------
    Wang, Z., Wei, S.-J. and Zhu, K. (2013), "Quantifying international production sharing at
    the bilateral and sector levels", NBER Working Paper 19677. Quast, B. and Kummritz, V.
    (2015), decompr: Global value chain decomposition in R (function ``wwz``).
    """
    if not get_options()["wwz_cache"]:
        return _wwz_terms(system)
    return blocks(system)._get("wwz_terms", lambda: _readonly(_wwz_terms(system)))


def _readonly(a: np.ndarray) -> np.ndarray:
    # Shared between measures: a caller writing into it would change the others' results.
    a.flags.writeable = False
    return a


def _wwz_terms(system: IOSystem) -> np.ndarray:
    """The computation of :func:`wwz_terms` (see there), uncached."""
    b = blocks(system)
    G, N = b.G, b.N
    vb3, vbss, vl = b.vb3, b.vbss, b.vl
    y = b.y_pair  # Y^{sr}, (s, r, N)

    # Quantities of block r (importer), as (G_r, N):
    bd_y = b.bd_y  # B^{rr} Y^{rt}, (r, N, t)
    idx = np.arange(G)
    cd = bd_y[idx, :, idx]  # B^{rr} Y^{rr}
    crow = bd_y.sum(2)  # B^{rr} Y^{r*} 1
    x_r = b.x_model  # x^r = Σ_t B^{rt} Y^{t*} 1
    b_ydom = b.b_ydom  # B^{rs} Y^{ss}, (r, N, s)
    bydom = b_ydom.sum(2)  # (B y_dom)^r
    # Quantities of pair (s, r), as (G_s, G_r, N):
    by_rs = b.by3.transpose(2, 0, 1)  # Σ_t B^{rt} Y^{ts}
    bydiag_rs = b_ydom.transpose(2, 0, 1)  # B^{rs} Y^{ss}
    byf_rs = b.b_yf.transpose(2, 0, 1)  # B^{rs} Σ_{t≠s} Y^{st}
    c_rs = bd_y.transpose(2, 0, 1)  # B^{rr} Y^{rs}

    vb_rs = vb3.transpose(1, 0, 2)  # V^r B^{rs} at [s, r]
    ova = b.vb_total[:, None, :] - vbss[:, None, :] - vb_rs  # Σ_{t≠s,r} V^t B^{ts}
    x3 = system.x.reshape(G, N)

    out = np.empty((16, G, G, N))
    # By groups of exporters, so that the temporaries (11 vectors per pair and their products
    # with A^{sr}) stay small: ~16 MB each, cache-friendly, instead of 2 × 11 G²N doubles.
    step = max(1, min(G, (1 << 21) // (11 * G * N)))
    for s0 in range(0, G, step):
        e = slice(s0, min(G, s0 + step))
        m = e.stop - s0
        # The 11 vectors that A^{sr} multiplies, one (m, G_r, N) array each (w[k] for terms
        # 2..9, then X^r for 10, L^{rr} Y^{rr} for 12 and 15, L^{rr} E^{r*} for 13 and 16).
        w = np.empty((11, m, G, N))
        w[0] = cd[None]  # 2
        np.subtract((bydom - cd)[None], bydiag_rs[e], out=w[1])  # 3
        np.subtract((crow - cd)[None], c_rs[e], out=w[2])  # 4
        w[4] = c_rs[e]  # 6
        np.subtract(by_rs[e], c_rs[e], out=w[5])  # 7
        w[5] -= bydiag_rs[e]
        w[6] = bydiag_rs[e]  # 8
        w[7] = byf_rs[e]  # 9
        np.subtract((x_r - crow)[None], bydiag_rs[e], out=w[3])  # 5
        w[3] -= byf_rs[e]
        w[3] -= w[1]
        w[3] -= w[5]
        w[8] = x3[None]  # X^r for 10
        w[9] = b.ly[None]  # L^{rr} Y^{rr} for 12, 15
        w[10] = b.le[None]  # L^{rr} E^{r*} for 13, 16
        aw = b.a_pair_dot_k(w, overwrite=True, exporters=e)  # A^{sr} w, (m, r, 11, N)
        del w
        o = out[:, e]
        np.multiply(vbss[e, None, :], y[e], out=o[0])
        for k in range(8):
            np.multiply(vl[e, None, :], aw[:, :, k], out=o[k + 1])
        np.multiply((vbss - vl)[e, None, :], aw[:, :, 8], out=o[9])
        for k, pre in ((10, vb_rs[e]), (13, ova[e])):
            np.multiply(pre, y[e], out=o[k])
            np.multiply(pre, aw[:, :, 9], out=o[k + 1])
            np.multiply(pre, aw[:, :, 10], out=o[k + 2])
    out[:, idx, idx, :] = 0.0
    return out.transpose(0, 1, 3, 2)


def _sum_terms(ds: xr.Dataset, names) -> xr.DataArray:
    total = ds[names[0]].copy()
    for name in names[1:]:
        total = total + ds[name]
    return total


def wwz_groupings(ds: xr.Dataset) -> xr.Dataset:
    """Standard groupings of WWZ terms (docs/methods.md §3.2).

    ``VAX_G`` = 1..5 (domestic value added absorbed abroad), ``RDV`` = 6..8 (returning
    domestic value added), ``DVA`` = 1..8, ``DDC`` = 9 + 10, ``FVA`` = 11 + 12 + 14 + 15,
    ``FDC`` = 13 + 16 and ``FIN`` = 1 + 11 + 14 (= final-goods exports Y^{sr}).

    Parameters
    ----------
    ds : xarray.Dataset
        Output of :func:`wwz` (one variable per term).

    Returns
    -------
    xarray.Dataset
        One variable per grouping, same dims as the terms.
    """
    return xr.Dataset({g: _sum_terms(ds, names) for g, names in WWZ_GROUPS.items()})


def wwz(ys, *, level: str = "sector", groupings: bool = False) -> xr.Dataset:
    """WWZ 16-term decomposition of gross exports, labelled (see :func:`wwz_terms`).

    Parameters
    ----------
    ys : YearSystem
    level : {"sector", "bilateral", "country"}
        ``"sector"``: dims (exporter, sector, importer); ``"bilateral"``: summed over
        sectors, dims (exporter, importer); ``"country"``: summed over sectors and importers,
        dims (exporter,).
    groupings : bool
        Also return the groupings of :func:`wwz_groupings`.

    Returns
    -------
    xarray.Dataset
        One variable per term (in the order of :data:`WWZ_TERMS`), plus ``exports``
        (E^{sr}; the 16 terms add up to it) and, optionally, the groupings.
    """
    s = ys.system
    terms = wwz_terms(s)
    dims = ("exporter", "sector", "importer")
    data = {name: ys._da(terms[k], dims) for k, name in enumerate(WWZ_TERMS)}
    data["exports"] = ys._da(s.exports.reshape(s.G, s.N, s.G), dims)
    out = xr.Dataset(data)
    if groupings:
        for name, da in wwz_groupings(out).data_vars.items():
            out[name] = da
    out = _reduce(out, level)
    out.attrs.update(
        method="wwz",
        terms=list(WWZ_TERMS),
        units="unit of the table",
        references="Wang, Wei & Zhu (2013), NBER WP 19677",
    )
    return out


def _reduce(ds: xr.Dataset, level: str) -> xr.Dataset:
    """Sum a (exporter, sector, importer) Dataset to the requested level."""
    if level == "sector":
        return ds
    if level == "bilateral":
        return ds.sum("sector", keep_attrs=True)
    if level == "country":
        return ds.sum(("sector", "importer"), keep_attrs=True)
    raise ValueError(f"level must be 'sector', 'bilateral' or 'country', not {level!r}")


