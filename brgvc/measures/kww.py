"""Koopman, Wang & Wei (2014) nine-term decomposition of gross exports (docs/methods.md §3.1).

Country totals only: KWW is exact at the exporter level; use WWZ (:mod:`brgvc.measures.wwz`)
for bilateral and sector detail. The kernel needs the rows V^t B (one transposed solve), the
local inverses and products of the blocks A^{rs} with 2G vectors: no diagonal blocks of B and
no dense inverse.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brgvc.core.kernels import IOSystem
from brgvc.measures._common import blocks

__all__ = ["KWW_GROUPS", "KWW_TERMS", "WWZ_TO_KWW", "kww", "kww_terms", "wwz_to_kww"]

#: The nine terms T1..T9.
KWW_TERMS: tuple[str, ...] = (
    "DVA_FIN",
    "DVA_INT",
    "DVA_INTrex",
    "RDV_FIN",
    "RDV_INT",
    "DDC",
    "FVA_FIN",
    "FVA_INT",
    "FDC",
)

#: Groupings: VAX = T1..T3, DVA = T1..T5, VS = T7..T9, PDC = T6 + T9.
KWW_GROUPS: dict[str, tuple[str, ...]] = {
    "VAX": KWW_TERMS[0:3],
    "DVA": KWW_TERMS[0:5],
    "VS": KWW_TERMS[6:9],
    "PDC": ("DDC", "FDC"),
}

#: Exact mapping of WWZ terms to KWW terms after summing over importers and sectors
#: (decompr ``wwz2kww``; docs/methods.md §3.2).
WWZ_TO_KWW: dict[str, tuple[str, ...]] = {
    "DVA_FIN": ("DVA_FIN",),
    "DVA_INT": ("DVA_INT", "DVA_INTrexI1"),
    "DVA_INTrex": ("DVA_INTrexF", "DVA_INTrexI2"),
    "RDV_FIN": ("RDV_FIN", "RDV_FIN2"),
    "RDV_INT": ("RDV_INT",),
    "DDC": ("DDC_FIN", "DDC_INT"),
    "FVA_FIN": ("MVA_FIN", "OVA_FIN"),
    "FVA_INT": ("MVA_INT", "OVA_INT"),
    "FDC": ("MDC", "ODC"),
}


def kww_terms(system: IOSystem) -> np.ndarray:
    r"""KWW's nine terms for every exporter.

    For exporter s (r, t ≠ s), each term a scalar summed over sectors::

        T1 DVA_FIN    = V^s B^{ss} Σ_r Y^{sr}
        T2 DVA_INT    = V^s Σ_r B^{sr} Y^{rr}
        T3 DVA_INTrex = V^s Σ_r Σ_{t≠s,r} B^{sr} Y^{rt}
        T4 RDV_FIN    = V^s Σ_r B^{sr} Y^{rs}
        T5 RDV_INT    = V^s Σ_r B^{sr} A^{rs} L^{ss} Y^{ss}
        T6 DDC        = V^s Σ_r B^{sr} A^{rs} L^{ss} E^{s*}
        T7 FVA_FIN    = Σ_{t≠s} V^t B^{ts} Σ_r Y^{sr}
        T8 FVA_INT    = Σ_{t≠s} V^t B^{ts} Σ_r A^{sr} L^{rr} Y^{rr}
        T9 FDC        = Σ_{t≠s} V^t B^{ts} Σ_r A^{sr} L^{rr} E^{r*}

    The terms add up to u'E^{s*}.

    Parameters
    ----------
    system : IOSystem

    Returns
    -------
    ndarray, shape (9, G)

    References
    ----------
    Koopman, R., Wang, Z. and Wei, S.-J. (2014), "Tracing value-added and double counting in
    gross exports", American Economic Review 104(2): 459-494 (Fig. 1 and eq. 36).
    """
    b = blocks(system)
    G = b.G
    off = ~np.eye(G, dtype=bool)
    vb3 = b.vb3  # (t, s, N): V^t B^{ts}
    # V^s B^{sr} · Y^{ru} for u = r, u = s and summed over u: O(G² N), not the (G, G, G) array
    diag_r = np.einsum("srj,rj->sr", vb3, b.ydom)  # V^s B^{sr} Y^{rr}
    to_s = np.einsum("srj,rjs->sr", vb3, b.yd3)  # V^s B^{sr} Y^{rs}
    row = np.einsum("srj,rj->sr", vb3, b.yt)  # V^s B^{sr} Y^{r*}1
    t = np.zeros((9, G))
    t[0] = np.einsum("sj,sj->s", b.vbss, b.yf)
    t[1] = np.where(off, diag_r, 0.0).sum(1)
    t[2] = np.where(off, row - diag_r - to_s, 0.0).sum(1)
    t[3] = np.where(off, to_s, 0.0).sum(1)
    # Σ_{r≠s} V^s B^{sr} A^{rs} = V^s (B A)^{ss} − V^s B^{ss} A^{ss} = V^s B^{ss} − V^s −
    # V^s B^{ss} A^{ss}, since B A = B − I: no product with the off-diagonal blocks of A.
    vba = b.vbss - b.v3 - np.einsum("si,sij->sj", b.vbss, b.a_diag())
    t[4] = np.einsum("sj,sj->s", vba, b.ly)  # · L^{ss} Y^{ss}
    t[5] = np.einsum("sj,sj->s", vba, b.le)  # · L^{ss} E^{s*}
    # Σ_{r≠s} A^{sr} L^{rr} w^r: one product with Z for both w (A^F w = A w − A^{ss} w^s)
    afly, afle = b.af_dot(b.ly, b.le)
    fv = b.fv
    t[6] = np.einsum("sj,sj->s", fv, b.yf)
    t[7] = np.einsum("sj,sj->s", fv, afly)
    t[8] = np.einsum("sj,sj->s", fv, afle)
    return t


def kww(ys, *, groupings: bool = True) -> xr.Dataset:
    """KWW nine-term decomposition of each country's gross exports (see :func:`kww_terms`).

    Parameters
    ----------
    ys : YearSystem
    groupings : bool
        Add VAX (T1..T3), DVA (T1..T5), VS (T7..T9) and PDC (T6 + T9).

    Returns
    -------
    xarray.Dataset
        Variables DVA_FIN ... FDC (T1..T9) and ``exports`` (u'E^{s*}), dims (exporter,).
    """
    s = ys.system
    t = kww_terms(s)
    arrays = {name: t[k] for k, name in enumerate(KWW_TERMS)}
    arrays["exports"] = s.exports.reshape(s.G, s.N, s.G).sum((1, 2))
    if groupings:
        for g, names in KWW_GROUPS.items():
            total = 0
            for n in names[1:]:
                total = total + arrays[n]
            arrays[g] = total + arrays[names[0]]
    attrs = {
        "method": "kww",
        "terms": list(KWW_TERMS),
        "units": "unit of the table",
        "references": "Koopman, Wang & Wei (2014), AER 104(2): 459-494",
    }
    return ys._dataset({k: ys._da(a, ("exporter",)) for k, a in arrays.items()}, attrs)


def wwz_to_kww(ds: xr.Dataset) -> xr.Dataset:
    """Map WWZ terms to KWW terms (exact at the exporter level; decompr ``wwz2kww``).

    DVA_FIN = 1; DVA_INT = 2 + 3; DVA_INTrex = 4 + 5; RDV_FIN = 6 + 7; RDV_INT = 8;
    DDC = 9 + 10; FVA_FIN = 11 + 14; FVA_INT = 12 + 15; FDC = 13 + 16, each summed over
    importers and sectors.

    Parameters
    ----------
    ds : xarray.Dataset
        WWZ terms (output of :func:`brgvc.measures.wwz.wwz`) at any level.

    Returns
    -------
    xarray.Dataset
        KWW terms, dims (exporter,).
    """
    extra = [d for d in ("sector", "importer") if d in ds.dims]
    out = {}
    for k, names in WWZ_TO_KWW.items():
        total = ds[names[0]]
        for n in names[1:]:
            total = total + ds[n]
        out[k] = total.sum(extra) if extra else total
    res = xr.Dataset(out)
    res.attrs.update(method="kww", terms=list(KWW_TERMS), mapped_from="wwz")
    return res
