"""Participation and position in global value chains (docs/methods.md §3.4–§3.8).

* :func:`wwyz_participation` — Wang, Wei, Yu & Zhu (2017a) forward and backward participation
  from the split of V̂BŶ into V_D, V_RT, V_GVC_S, V_GVC_C (§3.5);
* :func:`production_length` — WWYZ (2017b) production lengths PLv, PLy, their GVC parts and
  GVC_Pos (§3.6);
* :func:`koopman_position` — Koopman, Powers, Wang & Wei (2010) participation and position (§3.7);
* :func:`upstreamness` / :func:`downstreamness` — Antràs et al. (2012) U and Fally (2012) D (§3.8);
* :func:`hypothetical_extraction` — Los, Timmer & de Vries (2016) DVA in exports (§3.4).

Every kernel works with a handful of single-vector solves (the LU is shared): no dense B.

**Value added of sectors without output.** Where x_i <= 0 the column of A and v_i are zero
(:class:`~brgvc.core.kernels.IOSystem`), so the model assigns no value added to the sector.
The row identities therefore hold for the *model value added* ``v # x`` (returned as ``va``),
which equals the table's va except in such sectors (in WIOD 2011 with the older balanced
convention, LUX c5 and c8 had x = va = −1; the current convention empties them, and then the
two coincide exactly).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import xarray as xr

from brgvc.core.kernels import IOSystem
from brgvc.measures._common import blocks
from brgvc.measures.flows import _nz
from brgvc.measures.kww import kww_terms

__all__ = [
    "downstreamness",
    "downstreamness_vector",
    "gvc_position",
    "hypothetical_extraction",
    "hypothetical_extraction_dva",
    "koopman",
    "koopman_position",
    "participation_terms",
    "production_length",
    "production_length_terms",
    "upstreamness",
    "upstreamness_vector",
    "wwyz_participation",
]

PARTICIPATION_TERMS: tuple[str, ...] = ("D", "RT", "GVC_S", "GVC_C")


def participation_terms(system: IOSystem) -> dict[str, np.ndarray]:
    r"""Row and column sums of the four parts of V̂BŶ (Wang, Wei, Yu & Zhu 2017a).

    With Ŷ = diag(Y·1), Ŷ^D = diag(Y^{ss} stacked), Ŷ^F = diag(Y^{s*}1 − Y^{ss}), A^F the
    off-diagonal blocks of A and L = blockdiag(L^{ss})::

        V̂BŶ = V̂LŶ^D + V̂LŶ^F + V̂LA^F LŶ^D + V̂LA^F (BŶ − LŶ^D)
               V_D     V_RT     V_GVC_S        V_GVC_C          (row sums: by VA origin)
               Y_D     Y_RT     Y_GVC_S        Y_GVC_C          (column sums: by final producer)

    Row sums: V_D = v # (L y_D), V_RT = v # (L y_F), V_GVC_S = v # (L A^F L y_D),
    V_GVC_C = v # (L A^F (x − L y_D)) with x = B·Y·1. Column sums: Y_D = (vL) # y_D,
    Y_RT = (vL) # y_F, Y_GVC_S = (vLA^F L) # y_D, Y_GVC_C = (vLA^F B) # Yt − Y_GVC_S.

    Parameters
    ----------
    system : IOSystem

    Returns
    -------
    dict of str to ndarray (G, N)
        ``V_D``, ``V_RT``, ``V_GVC_S``, ``V_GVC_C``, ``Y_D``, ``Y_RT``, ``Y_GVC_S``,
        ``Y_GVC_C``, ``va`` (model value added v # x) and ``final_output`` (Y·1).
    """
    b = blocks(system)
    v = b.v3
    x = b.x_model
    ly, lyf = b.ly, b.lmul(b.yf)
    af_ly, af_rest = b.af_dot(ly, x - ly)
    out = {
        "V_D": v * ly,
        "V_RT": v * lyf,
        "V_GVC_S": v * b.lmul(af_ly),
        "V_GVC_C": v * b.lmul(af_rest),
    }
    vl = b.vl
    (u,) = b.af_tdot(vl)  # v L A^F
    ul = np.einsum("si,sij->sj", u, b.local)  # v L A^F L
    ub = system.solve_t(u.ravel()).reshape(b.G, b.N)  # v L A^F B
    out["Y_D"] = vl * b.ydom
    out["Y_RT"] = vl * b.yf
    out["Y_GVC_S"] = ul * b.ydom
    out["Y_GVC_C"] = ub * b.yt - out["Y_GVC_S"]
    out["va"] = v * x
    out["final_output"] = b.yt
    return out


def _country(ys, arrays: dict[str, np.ndarray], level: str, dim: str = "region") -> xr.Dataset:
    dims = (dim, "sector") if level == "sector" else (dim,)
    data = {}
    for k, a in arrays.items():
        data[k] = ys._da(a if level == "sector" else a.sum(1), dims)
    return xr.Dataset(data)


def wwyz_participation(ys, *, level: str = "country") -> xr.Dataset:
    """Wang–Wei–Yu–Zhu (2017a) GVC participation (see :func:`participation_terms`).

    GVCPt_f = (V_GVC_S + V_GVC_C) / va (forward) and GVCPt_b = (Y_GVC_S + Y_GVC_C) / Yt
    (backward); at country level numerators and denominators are summed over sectors first.

    Parameters
    ----------
    ys : YearSystem
    level : {"country", "sector"}
        Dims (region,) or (region, sector). Forward terms are indexed by the sector of
        value-added origin, backward terms by the final-producing sector.

    Returns
    -------
    xarray.Dataset
        The eight row/column sums, ``va``, ``final_output``, ``V_GVC``, ``Y_GVC``,
        ``GVCPt_f`` and ``GVCPt_b``.

    References
    ----------
    Wang, Z., Wei, S.-J., Yu, X. and Zhu, K. (2017), "Measures of participation in global
    value chains and global business cycles", NBER Working Paper 23222.
    """
    if level not in ("country", "sector"):
        raise ValueError(f"level must be 'country' or 'sector', not {level!r}")
    t = participation_terms(ys.system)
    t["V_GVC"] = t["V_GVC_S"] + t["V_GVC_C"]
    t["Y_GVC"] = t["Y_GVC_S"] + t["Y_GVC_C"]
    ds = _country(ys, t, level)
    ds["GVCPt_f"] = ds["V_GVC"] / ds["va"].where(ds["va"] != 0)
    ds["GVCPt_b"] = ds["Y_GVC"] / ds["final_output"].where(ds["final_output"] != 0)
    ds.attrs.update(method="participation", references="Wang, Wei, Yu & Zhu (2017a), NBER WP 23222")
    return ds


def production_length_terms(system: IOSystem) -> dict[str, np.ndarray]:
    r"""Numerators and denominators of the WWYZ (2017b) production lengths.

    Row sums (by value-added origin) and column sums (by final producer) of::

        V̂BBŶ                         (all production stages),
        V_GVC  = V̂ L A^F B Ŷ          (GVC value added),
        Xv_GVC = V̂ L L A^F B Ŷ + V̂ L A^F B B Ŷ    (GVC production: domestic segment
                 V̂LLA^FBŶ, border crossings V̂BA^FBŶ, foreign segment V̂LA^FBA^DBŶ).

    Parameters
    ----------
    system : IOSystem

    Returns
    -------
    dict of str to ndarray (G, N)
        ``Xv`` (row sums of V̂BBŶ), ``Xy`` (column sums), ``V_GVC_v``/``V_GVC_y`` and
        ``Xv_GVC_v``/``Xv_GVC_y`` (row/column sums), the three segments of the GVC production
        by row (``seg_dom_v``, ``seg_cross_v``, ``seg_for_v``) and by column (``..._y``),
        ``va`` (v # x) and ``final_output``.
    """
    b = blocks(system)
    G, N = b.G, b.N
    v, x, yt = b.v3, b.x_model, b.yt

    def solve(*ws):
        out = system.solve(np.stack([w.ravel() for w in ws], axis=1))
        return [out[:, k].reshape(G, N) for k in range(len(ws))]

    def solve_t(*ws):
        out = system.solve_t(np.stack([w.ravel() for w in ws], axis=1))
        return [out[:, k].reshape(G, N) for k in range(len(ws))]

    ad = b.a_diag()
    # rows (three solves in one call): B x = B B Y 1, B A^F x, B A^D x
    (afx,) = b.af_dot(x)
    adx = np.einsum("sij,sj->si", ad, x)
    bx, bafx, badx = solve(x, afx, adx)
    lafx = b.lmul(afx)  # L A^F x = rows of V_GVC / v
    llafx = b.lmul(lafx)  # domestic segment
    afbx, afbadx = b.af_dot(bx, badx)
    lafbx = b.lmul(afbx)  # L A^F B x
    lafbadx = b.lmul(afbadx)  # foreign segment L A^F B A^D x
    # columns: v B, v L A^F B, v L L A^F B; then v B B, v L A^F B B, v B A^F B, v L A^F B A^D B
    vl = b.vl
    vll = np.einsum("si,sij->sj", vl, b.local)
    vb, vlafb, vllafb = solve_t(v, *b.af_tdot(vl, vll))
    vlafbad = np.einsum("si,sij->sj", vlafb, ad)
    vbb, vlafbb, vbafb, vlafbadb = solve_t(vb, vlafb, *b.af_tdot(vb), vlafbad)
    return {
        "Xv": v * bx,
        "Xy": vbb * yt,
        "V_GVC_v": v * lafx,
        "V_GVC_y": vlafb * yt,
        "Xv_GVC_v": v * (llafx + lafbx),
        "Xv_GVC_y": (vllafb + vlafbb) * yt,
        "seg_dom_v": v * llafx,
        "seg_cross_v": v * bafx,
        "seg_for_v": v * lafbadx,
        "seg_dom_y": vllafb * yt,
        "seg_cross_y": vbafb * yt,
        "seg_for_y": vlafbadb * yt,
        "va": v * x,
        "final_output": yt,
    }


def production_length(ys, *, level: str = "country") -> xr.Dataset:
    r"""WWYZ (2017b) production lengths and GVC position (docs/methods.md §3.6).

    PLv = rowsum(V̂BBŶ) / va (= Antràs upstreamness U = (Bx)_i / x_i where v_i ≠ 0);
    PLy = colsum(V̂BBŶ) / Yt (= Fally downstreamness D = (u'B)_j where v·B = u');
    PLv_GVC = rowsum(Xv_GVC) / rowsum(V_GVC); PLy_GVC = colsum(Xv_GVC) / colsum(V_GVC);
    GVC_Pos = PLv_GVC / PLy_GVC (above 1: relatively upstream). At country level the
    numerators and denominators are summed over the country's sectors before dividing.
    The two lengths satisfy Σ_i PLv_i va_i = Σ_j PLy_j Yt_j (= u'V̂BBŶ1).

    Parameters
    ----------
    ys : YearSystem
    level : {"country", "sector"}

    Returns
    -------
    xarray.Dataset
        ``PLv``, ``PLy``, ``PLv_GVC``, ``PLy_GVC``, ``GVC_Pos`` and the underlying sums
        (see :func:`production_length_terms`); dims (region,) or (region, sector).

    References
    ----------
    Wang, Z., Wei, S.-J., Yu, X. and Zhu, K. (2017), "Characterizing global value chains:
    production length and upstreamness", NBER Working Paper 23261.
    """
    if level not in ("country", "sector"):
        raise ValueError(f"level must be 'country' or 'sector', not {level!r}")
    ds = _country(ys, production_length_terms(ys.system), level)

    def ratio(a, b):
        return ds[a] / ds[b].where(ds[b] != 0)

    ds["PLv"] = ratio("Xv", "va")
    ds["PLy"] = ratio("Xy", "final_output")
    ds["PLv_GVC"] = ratio("Xv_GVC_v", "V_GVC_v")
    ds["PLy_GVC"] = ratio("Xv_GVC_y", "V_GVC_y")
    ds["GVC_Pos"] = ds["PLv_GVC"] / ds["PLy_GVC"]
    ds.attrs.update(method="production_length",
                    references="Wang, Wei, Yu & Zhu (2017b), NBER WP 23261")
    return ds


def gvc_position(ys, *, level: str = "country") -> xr.DataArray:
    """GVC_Pos = PLv_GVC / PLy_GVC (see :func:`production_length`)."""
    return production_length(ys, level=level)["GVC_Pos"].rename("GVC_Pos")


def koopman_position(system: IOSystem, iv: str = "kww_t3") -> dict[str, np.ndarray]:
    r"""Koopman, Powers, Wang & Wei (2010) GVC participation and position, by country.

    ::

        participation_s = IV_s / E_s + FV_s / E_s
        position_s      = ln(1 + IV_s / E_s) − ln(1 + FV_s / E_s)

    with FV = KWW T7 + T8 + T9, E = u'E^{s*}, and IV either KWW T3 (``iv="kww_t3"``,
    indirect value-added exports) or DVX_s, the off-diagonal row sum of M_c = S V̂BÊ S'
    (``iv="dvx"``, the TiVA-style variant).

    Parameters
    ----------
    system : IOSystem
    iv : {"kww_t3", "dvx"}

    Returns
    -------
    dict of str to ndarray (G,)
        ``IV``, ``FV``, ``exports``, ``participation``, ``position``.
    """
    t = kww_terms(system)
    G, N = system.G, system.N
    E = system.exports.reshape(G, N, G).sum((1, 2))
    if iv == "kww_t3":
        IV = t[2]
    elif iv == "dvx":
        M = system.vbe_country()
        IV = M.sum(1) - np.diagonal(M)
    else:
        raise ValueError(f"iv must be 'kww_t3' or 'dvx', not {iv!r}")
    FV = t[6:9].sum(0)
    e = _nz(E)
    return {
        "IV": IV,
        "FV": FV,
        "exports": E,
        "participation": IV / e + FV / e,
        "position": np.log1p(IV / e) - np.log1p(FV / e),
    }


def koopman(ys, *, iv: str | tuple[str, ...] = ("kww_t3", "dvx")) -> xr.Dataset:
    """Koopman et al. (2010) participation and position (see :func:`koopman_position`).

    Parameters
    ----------
    ys : YearSystem
    iv : str or tuple of str
        IV variant(s): ``"kww_t3"`` and/or ``"dvx"``.

    Returns
    -------
    xarray.Dataset
        ``participation``, ``position``, ``IV``, ``FV``, ``exports``, dims (iv, region)
        (``FV`` and ``exports`` do not depend on the variant).

    References
    ----------
    Koopman, R., Powers, W., Wang, Z. and Wei, S.-J. (2010), "Give credit where credit is
    due: tracing value added in global production chains", NBER Working Paper 16426.
    """
    variants = (iv,) if isinstance(iv, str) else tuple(iv)
    parts = [koopman_position(ys.system, v) for v in variants]
    data = {}
    for k in ("participation", "position", "IV"):
        data[k] = ys._da(np.stack([p[k] for p in parts]), ("iv", "region"), iv=list(variants))
    data["FV"] = ys._da(parts[0]["FV"], ("region",))
    data["exports"] = ys._da(parts[0]["exports"], ("region",))
    ds = xr.Dataset(data)
    ds.attrs.update(method="koopman",
                    references="Koopman, Powers, Wang & Wei (2010), NBER WP 16426")
    return ds


def upstreamness_vector(system: IOSystem) -> np.ndarray:
    """Antràs et al. (2012) upstreamness U = X̂^{-1} B X 1 (Ghosh form (I − Δ)^{-1}1).

    Where x_i = 0 the sector sells nothing and U_i = 1 (the Ghosh row is empty).

    Returns
    -------
    ndarray (n,)
    """
    bx = system.solve(system.x)
    return np.where(system.x != 0, bx / np.where(system.x != 0, system.x, 1.0), 1.0)


def downstreamness_vector(system: IOSystem) -> np.ndarray:
    """Fally (2012) downstreamness D = u'B (column sums of B), shape (n,)."""
    return system.solve_t(np.ones(system.n))


def upstreamness(ys, *, level: str = "sector") -> xr.DataArray:
    r"""Upstreamness U (Antràs, Chor, Fally & Hillberry 2012).

    U = (I − Δ)^{-1} 1 with Δ_ij = z_ij / x_i, i.e. U = X̂^{-1} B X 1. The country value is
    the output-weighted mean Σ_i x_i U_i / Σ_i x_i (Miller & Temurshoev 2017).

    Parameters
    ----------
    ys : YearSystem
    level : {"sector", "country"}

    Returns
    -------
    xarray.DataArray
        Dims (region, sector) or (region,).

    References
    ----------
    Antràs, P., Chor, D., Fally, T. and Hillberry, R. (2012), "Measuring the upstreamness of
    production and trade flows", AER Papers & Proceedings 102(3): 412-416.
    """
    s = ys.system
    U = upstreamness_vector(s).reshape(s.G, s.N)
    if level == "sector":
        return ys._da(U, ("region", "sector")).rename("U")
    if level == "country":
        x = s.x.reshape(s.G, s.N)
        return ys._da((x * U).sum(1) / _nz(x.sum(1)), ("region",)).rename("U")
    raise ValueError(f"level must be 'sector' or 'country', not {level!r}")


def downstreamness(ys, *, level: str = "sector") -> xr.DataArray:
    r"""Downstreamness D = u'B (Fally 2012): the number of production stages embodied.

    The country value is the final-output-weighted mean Σ_j Yt_j D_j / Σ_j Yt_j.

    Parameters
    ----------
    ys : YearSystem
    level : {"sector", "country"}

    Returns
    -------
    xarray.DataArray
        Dims (region, sector) or (region,).

    References
    ----------
    Fally, T. (2012), "Production staging: measurement and facts", working paper.
    """
    s = ys.system
    D = downstreamness_vector(s).reshape(s.G, s.N)
    if level == "sector":
        return ys._da(D, ("region", "sector")).rename("D")
    if level == "country":
        yt = blocks(s).yt
        return ys._da((yt * D).sum(1) / _nz(yt.sum(1)), ("region",)).rename("D")
    raise ValueError(f"level must be 'sector' or 'country', not {level!r}")


def hypothetical_extraction_dva(
    system: IOSystem, method: str = "closed", countries=None
) -> np.ndarray:
    r"""Domestic value added in exports by hypothetical extraction (Los, Timmer & de Vries 2016).

    DVA_s = V^s (X^s − X^{s*}), where X^* solves the model with s's exports removed
    (A^{sr} = 0 and Y^{sr} = 0 for r ≠ s) and X = B·Y·1.

    Parameters
    ----------
    system : IOSystem
    method : {"closed", "solve"}
        ``"closed"``: with s's export blocks removed, the rows of s only contain A^{ss}, so
        X^{s*} = L^{ss} Y^{ss} exactly and DVA_s = V^s x^s − V^s L^{ss} Y^{ss} (cheap).
        ``"solve"``: factorise each extracted world (I − A*) and solve it (one LU per country;
        a brute-force cross-check).
    countries : sequence of int, optional
        Country indices for ``"solve"`` (default: all).

    Returns
    -------
    ndarray (G,)
        NaN for countries not computed.
    """
    b = blocks(system)
    G, N = b.G, b.N
    x = b.x_model
    if method == "closed":
        return (b.v3 * (x - b.ly)).sum(1)
    if method != "solve":
        raise ValueError(f"method must be 'closed' or 'solve', not {method!r}")
    out = np.full(G, np.nan)
    M0 = system.leontief_matrix()
    for s in range(G) if countries is None else countries:
        M = M0.copy(order="F")
        rows = slice(s * N, (s + 1) * N)
        keep = np.zeros(system.n, dtype=bool)
        keep[rows] = True
        M[rows, :] = np.where(keep[None, :], M[rows, :], 0.0)  # A^{sr} = 0, r ≠ s
        Ys = system.Yd.sum(1).copy()
        Ys[rows] = system.Yd[rows, s]  # Y^{sr} = 0, r ≠ s
        xs = sla.lu_solve(sla.lu_factor(M, overwrite_a=True, check_finite=False), Ys,
                          check_finite=False)
        out[s] = b.v3[s] @ (x[s] - xs[rows])
    return out


def hypothetical_extraction(ys, *, method: str = "closed") -> xr.DataArray:
    """Hypothetical-extraction DVA in exports (see :func:`hypothetical_extraction_dva`).

    Parameters
    ----------
    ys : YearSystem
    method : {"closed", "solve"}

    Returns
    -------
    xarray.DataArray
        Dims (exporter,); equals KWW's DVA (T1..T5).

    References
    ----------
    Los, B., Timmer, M. P. and de Vries, G. J. (2016), "Tracing value-added and double
    counting in gross exports: comment", American Economic Review 106(7): 1958-1966.
    """
    d = hypothetical_extraction_dva(ys.system, method)
    return ys._da(d, ("exporter",)).rename("DVA_HE")
