"""Value-added flow matrices (docs/methods.md §2 and §3.9).

* :func:`vby` — F = V̂BY, value added by origin and absorbing country;
* :func:`vbe` — M = V̂BÊ, value added by origin embodied in gross exports (decompr ``leontief``);
* :func:`gvc_income` — P = V̂BŶt, value added by origin in final products by where they were
  completed (Timmer et al. 2014);
* :func:`vax` — Johnson & Noguera (2012) value-added exports and VAX ratios.

All of them need only the rows V^t B (one transposed solve with G right-hand sides) or B·Y.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from brgvc.core.kernels import IOSystem, country_sum
from brgvc.measures._common import blocks

__all__ = [
    "gvc_income",
    "gvc_income_country",
    "gvc_income_sector",
    "vax",
    "vax_country",
    "vbe",
    "vby",
]


def vby(ys, *, level: str = "country") -> xr.DataArray:
    """Value-added flow (final absorption) matrix F = V̂BY.

    ``F[(s,i), r]`` is the value added of sector i of s absorbed by final demand in r;
    at country level F_c = S V̂BY.

    Parameters
    ----------
    ys : YearSystem
    level : {"country", "sector"}
        ``"country"``: dims (source, sink); ``"sector"``: dims (source, source_sector, sink).

    Returns
    -------
    xarray.DataArray
    """
    out = ys.vby(level).rename("vby")
    out.attrs.update(units="unit of the table", references="Johnson & Noguera (2012)")
    return out


def vbe(ys, *, level: str = "country") -> xr.DataArray:
    """Value-added origin of gross exports M = V̂BÊ (decompr ``leontief``).

    ``M_c[t, s]`` = S V̂BÊ S' is country t's value added embodied in country s's gross
    exports: the diagonal is domestic content (DVA + DDC), off-diagonal column sums are the
    foreign content (FVA + FDC, Hummels et al. VS) and off-diagonal row sums are DVX (VS1).

    Parameters
    ----------
    ys : YearSystem
    level : {"country", "source_sector", "export_sector", "full"}
        See :meth:`brgvc.core.leontief.YearSystem.vbe`; ``"full"`` forms the dense B.

    Returns
    -------
    xarray.DataArray
    """
    out = ys.vbe(level).rename("vbe")
    out.attrs.update(units="unit of the table", references="Koopman, Wang & Wei (2014)")
    return out


def gvc_income_sector(system: IOSystem) -> np.ndarray:
    """S V̂BŶt: value added of country t in final products completed by (s, j).

    Returns
    -------
    ndarray, shape (G_t, G_s, N)
    """
    b = blocks(system)
    return b.vb3 * b.yt[None]


def gvc_income_country(system: IOSystem) -> np.ndarray:
    """P_c = S V̂BŶt S' (G × G): ``P_c[t, s]`` is t's value added in s's final output."""
    return gvc_income_sector(system).sum(2)


def gvc_income(ys, *, level: str = "country") -> xr.Dataset:
    r"""Final-product ("GVC income") decomposition P = V̂ B Ŷt (docs/methods.md §3.9).

    ``P[(t,i), (s,j)]`` is the value added of (t, i) in final products completed by (s, j);
    column sums are the final output of (s, j). At country level P_c = S P S', and the
    foreign value-added share of s's final output is ``1 − P_c[s,s] / Σ_t P_c[t,s]``.

    Parameters
    ----------
    ys : YearSystem
    level : {"country", "sector", "full"}
        ``"country"``: P_c, dims (source, producer); ``"sector"``: S P, dims (source,
        producer, sector); ``"full"``: P, dims (source, source_sector, producer, sector) —
        forms the dense B.

    Returns
    -------
    xarray.Dataset
        ``P`` and ``final_output`` (Ŷt summed to the producer level) and, at country level,
        ``fva_share`` (dims (producer,)).

    References
    ----------
    Timmer, M. P., Erumban, A. A., Los, B., Stehrer, R. and de Vries, G. J. (2014), "Slicing
    up global value chains", Journal of Economic Perspectives 28(2): 99-118.
    """
    s = ys.system
    b = blocks(s)
    G, N = s.G, s.N
    if level == "country":
        P = gvc_income_country(s)
        P_da = ys._da(P, ("source", "producer"), producer=ys.regions)
        fo = ys._da(b.yt.sum(1), ("producer",), producer=ys.regions)
        share = ys._da(1.0 - np.diagonal(P) / _nz(P.sum(0)), ("producer",),
                       producer=ys.regions)
        out = xr.Dataset({"P": P_da, "final_output": fo, "fva_share": share})
    elif level == "sector":
        P_da = ys._da(gvc_income_sector(s), ("source", "producer", "sector"),
                       producer=ys.regions)
        fo = ys._da(b.yt, ("producer", "sector"), producer=ys.regions)
        out = xr.Dataset({"P": P_da, "final_output": fo})
    elif level == "full":
        P = s.v[:, None] * s.leontief_inverse() * b.yt.ravel()[None, :]
        P_da = ys._da(P.reshape(G, N, G, N), ("source", "source_sector", "producer", "sector"),
                       producer=ys.regions)
        fo = ys._da(b.yt, ("producer", "sector"), producer=ys.regions)
        out = xr.Dataset({"P": P_da, "final_output": fo})
    else:
        raise ValueError(f"level must be 'country', 'sector' or 'full', not {level!r}")
    out.attrs.update(method="gvc_income", units="unit of the table",
                     references="Timmer et al. (2014); Los, Timmer & de Vries (2015)")
    return out


def _nz(a: np.ndarray) -> np.ndarray:
    """a with zeros replaced by NaN (for ratios that are undefined on empty denominators)."""
    a = np.asarray(a, dtype=float)
    return np.where(a != 0, a, np.nan)


def vax_country(system: IOSystem) -> tuple[np.ndarray, np.ndarray]:
    """Johnson–Noguera VAX_{sr} (G × G, zero diagonal) and gross exports E_{sr} (G × G)."""
    F = system.vby_country()
    np.fill_diagonal(F, 0.0)
    E = country_sum(system.exports.reshape(system.n, system.G), system.G, system.N, axis=0)
    return F, E


def vax(ys) -> xr.Dataset:
    r"""Johnson & Noguera (2012) value-added exports and VAX ratios.

    VAX_{sr} = F_c[s, r] = (S V̂BY)[s, r] for r ≠ s: s's value added absorbed by final demand
    in r. VAX_s = Σ_{r≠s} VAX_{sr}; the VAX ratio is VAX_s / u'E^{s*} (bilateral:
    VAX_{sr} / u'E^{sr}).

    Parameters
    ----------
    ys : YearSystem

    Returns
    -------
    xarray.Dataset
        ``vax`` and ``exports`` (exporter, importer); ``vax_total``, ``exports_total`` and
        ``vax_ratio`` (exporter,); ``vax_ratio_bilateral`` (exporter, importer).

    References
    ----------
    Johnson, R. C. and Noguera, G. (2012), "Accounting for intermediates: production sharing
    and trade in value added", Journal of International Economics 86(2): 224-236.
    """
    F, E = vax_country(ys.system)
    dims = ("exporter", "importer")
    out = xr.Dataset(
        {
            "vax": ys._da(F, dims),
            "exports": ys._da(E, dims),
            "vax_total": ys._da(F.sum(1), ("exporter",)),
            "exports_total": ys._da(E.sum(1), ("exporter",)),
            "vax_ratio": ys._da(F.sum(1) / _nz(E.sum(1)), ("exporter",)),
            "vax_ratio_bilateral": ys._da(F / _nz(E), dims),
        }
    )
    out.attrs.update(method="vax", references="Johnson & Noguera (2012), JIE 86(2)")
    return out
