"""A focal country's (by default China's) participation measures (docs/methods.md §6).

* :func:`value_added_obtained` — the value added the focal country obtains by partner j
  (§6.1), by country and by grouping region, as levels and shares;
* :func:`capture_efficiency` — efficiency of capturing value added from final products
  (§6.2: e1, e2, e3, the intermediate-exports rate and benchmark exporters);
* :func:`final_dva_rate` — e3 for every exporter and importer.

The seed paper's exact formulas are unknown [I]; every variant of docs/methods.md §6 is available
and labelled. Countries are matched by ISO3 code through :func:`brgvc.regions.to_iso3`, so a
database's own spelling (WIOD ``ROM``) works.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from brgvc.measures._common import blocks
from brgvc.measures.flows import _nz, gvc_income_country
from brgvc.measures.wwz import WWZ_TERMS, wwz_terms
from brgvc.regions import Grouping, load_grouping, membership, to_iso3
from brgvc.schema import label_coord

__all__ = [
    "DEFAULT_BENCHMARKS",
    "capture_efficiency",
    "declared_coords",
    "final_dva_rate",
    "value_added_obtained",
]

#: Benchmark exporters of docs/methods.md §6.2 (only those present in the data are used).
DEFAULT_BENCHMARKS: tuple[str, ...] = ("USA", "JPN", "DEU", "KOR", "RUS", "IND")

_VA_MEASURES = ("wwz", "mc", "vax", "gvc_income")


def _iso3(ys, database: str | None) -> list[str]:
    return to_iso3([str(r) for r in ys.regions], database)


def _index(ys, code: str, database: str | None) -> int:
    codes = _iso3(ys, database)
    labels = [str(r) for r in ys.regions]
    if code in labels:
        return labels.index(code)
    if code in codes:
        return codes.index(code)
    raise KeyError(f"country {code!r} is not a region of the table: {labels}")


def _membership(ys, grouping, database: str | None, other: str | None) -> xr.DataArray:
    """0/1 matrix (region, group) for a grouping name/path/object or a {code: group} mapping."""
    if isinstance(grouping, Mapping):
        grouping = Grouping("custom", {str(k): str(v) for k, v in grouping.items()})
    elif not isinstance(grouping, Grouping):
        grouping = load_grouping(grouping)
    return membership([str(r) for r in ys.regions], grouping, database=database, other=other)


def _by_group(da: xr.DataArray, memb: xr.DataArray, dim: str = "partner") -> xr.DataArray:
    """Sum ``da`` over ``dim`` into the groups of ``memb`` that have a member in ``dim``.

    NaN values count as 0 (as xarray's skipna sum would). In numpy with one label lookup:
    this runs once per draw and measure, where xarray's alignment cost more than the sums.
    """
    (gdim,) = [d for d in memb.dims if d != "region"]
    row = {str(r): i for i, r in enumerate(memb["region"].values)}
    m = memb.values[[row[str(p)] for p in da[dim].values]]
    present = m.sum(axis=0) > 0
    others = [d for d in da.dims if d != dim]
    values = np.nan_to_num(da.transpose(*others, dim).values, nan=0.0)
    out = values @ m[:, present]
    coords = {k: v for k, v in da.coords.items() if dim not in v.dims}
    coords[gdim] = memb[gdim].values[present]
    return xr.DataArray(out, dims=(*others, gdim), coords=coords)


class _Labels:
    """Stand-in for a YearSystem where only the region labels are read."""

    def __init__(self, regions) -> None:
        self.regions = [str(r) for r in regions]


def declared_coords(labels: Mapping[str, Sequence[str]], options: Mapping) -> dict[str, list]:
    """Labels of the ``partner``, ``group`` and ``benchmark`` dims, without computing.

    For :func:`value_added_obtained` and :func:`capture_efficiency` with the full options
    ``options`` on a table whose regions are ``labels["region"]``: the partners are every
    region but the focal one; the groups those of the grouping with at least one partner;
    the benchmarks those present in the table, in the given order, without the focal one.
    """
    ys = _Labels(labels["region"])
    database, other = options.get("database"), options.get("other")
    f = _index(ys, options["focal"], database)
    partners = [r for j, r in enumerate(ys.regions) if j != f]
    out: dict[str, list] = {"partner": partners}
    if options.get("grouping") is not None:
        memb = _membership(ys, options["grouping"], database, other)
        present = memb.sel(region=partners).sum("region") > 0
        out["group"] = [str(g) for g in memb[memb.dims[1]].values[present.values]]
    codes = _iso3(ys, database)
    bench = []
    for code in options.get("benchmarks") or ():
        if code in codes or code in ys.regions:
            k = _index(ys, code, database)
            if k != f:
                bench.append(ys.regions[k])
    out["benchmark"] = bench
    return out


def value_added_obtained(
    ys,
    *,
    focal: str = "CHN",
    measure: str = "wwz",
    grouping: str | Mapping | None = "belt_and_road",
    database: str | None = None,
    other: str | None = "Other",
) -> xr.Dataset:
    r"""Value added a_j that the focal country obtains from partner j (docs/methods.md §6.1).

    ``measure`` selects the definition (f the focal country, j ≠ f):

    * ``"wwz"`` (default): a_j = Σ_i WWZ terms 1–8 for f → j, the domestic value added f earns
      by exporting to j (DVA_FIN + DVA_INT + DVA_INTrexI1 + DVA_INTrexF + DVA_INTrexI2 +
      RDV_FIN + RDV_FIN2 + RDV_INT);
    * ``"mc"``: a_j = M_c[f, j] = (S V̂BÊ S')[f, j], f's value added in j's gross exports;
    * ``"vax"``: a_j = VAX_{fj} = (S V̂BY)[f, j], f's value added absorbed by j's final demand;
    * ``"gvc_income"``: a_j = P_c[f, j] = (S V̂BŶt S')[f, j], f's value added in final products
      completed in j.

    Shares are a_j / Σ_{j≠f} a_j; grouping-region levels sum a_j over the region's members
    (shares likewise).

    Parameters
    ----------
    ys : YearSystem
    focal : str
        ISO3 code (or the table's own label) of the focal country.
    measure : {"wwz", "mc", "vax", "gvc_income"}
    grouping : str, mapping or None
        A grouping name or CSV path for :func:`brgvc.regions.load_grouping`, a mapping
        {ISO3 code: region}, or None for no regional aggregation.
    database : str, optional
        Database whose code aliases apply (see :func:`brgvc.regions.to_iso3`).
    other : str or None
        Region collecting partners outside the grouping; None drops them from regional sums.

    Returns
    -------
    xarray.Dataset
        ``a`` and ``share`` (partner,), and with a grouping ``a_group`` and ``share_group``
        (group,); attrs name the focal country and the measure.
    """
    s = ys.system
    f = _index(ys, focal, database)
    G = s.G
    if measure == "wwz":
        a = wwz_terms(s)[:8, f].sum((0, 1))
    elif measure == "mc":
        a = s.vbe_country()[f]
    elif measure == "vax":
        a = s.vby_country()[f]
    elif measure == "gvc_income":
        a = gvc_income_country(s)[f]
    else:
        raise ValueError(f"measure must be one of {_VA_MEASURES}, not {measure!r}")
    partners = [j for j in range(G) if j != f]
    a = np.asarray(a)[partners]
    coords = {"partner": label_coord(str(ys.regions[j]) for j in partners)}
    a_da = xr.DataArray(a, dims=("partner",), coords=coords).assign_coords(year=ys.year)
    out = xr.Dataset({"a": a_da, "share": a_da / a.sum()})
    if grouping is not None:
        memb = _membership(ys, grouping, database, other)
        ag = _by_group(a_da, memb)
        out["a_group"] = ag
        out["share_group"] = ag / a.sum()
    out.attrs.update(
        method="china_va", focal=str(ys.regions[f]), measure=measure,
        units="unit of the table (shares: 1)",
        references="docs/methods.md §6.1; Wang, Wei & Zhu (2013)",
    )
    return out


def final_dva_rate(ys) -> xr.Dataset:
    r"""e3: domestic value-added rate of final-goods exports, for every exporter and importer.

    e3_{sr} = DVA_FIN_{sr} / u'Y^{sr} = Σ_i (V^s B^{ss})_i Y^{sr}_i / Σ_i Y^{sr}_i
    (= 1 − (MVA_FIN + OVA_FIN) / u'Y^{sr}); the exporter total divides the sums over r ≠ s.

    Parameters
    ----------
    ys : YearSystem

    Returns
    -------
    xarray.Dataset
        ``e3`` (exporter, importer; NaN on the diagonal and for empty flows), ``e3_total``
        (exporter,), ``DVA_FIN`` and ``final_exports`` (exporter, importer).
    """
    s = ys.system
    b = blocks(s)
    G = s.G
    num = np.einsum("sj,srj->sr", b.vbss, b.y_pair)
    den = b.y_pair.sum(2)
    np.fill_diagonal(num, 0.0)
    np.fill_diagonal(den, 0.0)
    dims = ("exporter", "importer")
    e3 = num / _nz(den)
    e3[np.arange(G), np.arange(G)] = np.nan
    out = xr.Dataset(
        {
            "e3": ys._da(e3, dims),
            "e3_total": ys._da(num.sum(1) / _nz(den.sum(1)), ("exporter",)),
            "DVA_FIN": ys._da(num, dims),
            "final_exports": ys._da(den, dims),
        }
    )
    out.attrs.update(method="final_dva_rate", units="1", references="docs/methods.md §6.2")
    return out


def capture_efficiency(
    ys,
    *,
    focal: str = "CHN",
    benchmarks: Sequence[str] = DEFAULT_BENCHMARKS,
    grouping: str | Mapping | None = "belt_and_road",
    database: str | None = None,
    other: str | None = "Other",
) -> xr.Dataset:
    r"""Efficiency of capturing value added from partners' final products (docs/methods.md §6.2).

    For the focal country f and partner j ≠ f (E^{fj}_int = u'A^{fj}X^j, intermediate exports;
    Yt^j = Y^{j*}1, final output completed in j)::

        e3_j     = DVA_FIN_{f→j} / u'Y^{fj}                  (default)
        e3int_j  = (WWZ terms 2..8)_{f→j} / E^{fj}_int         (intermediate-exports rate)
        e1_j     = P_c[f, j] / u'Yt^j
        e2_j     = P_c[f, j] / E^{fj}_int
        ratio_bj = e3_j / e3_{b,j}  for each benchmark exporter b ≠ j present in the data

    Group values divide the numerators and denominators summed over the group's partners.

    Parameters
    ----------
    ys : YearSystem
    focal : str
    benchmarks : sequence of str
        Benchmark exporters (ISO3); those absent from the table, and the focal country, are
        skipped.
    grouping, database, other
        As in :func:`value_added_obtained`.

    Returns
    -------
    xarray.Dataset
        ``e1``, ``e2``, ``e3``, ``e3_int`` (partner,); ``e3_bench`` and ``e3_ratio``
        (benchmark, partner); ``e3_total`` (scalar: over all partners); with a grouping also
        ``e1_group``, ``e2_group``, ``e3_group``, ``e3_int_group`` (group,).
    """
    s = ys.system
    f = _index(ys, focal, database)
    G = s.G
    T = wwz_terms(s)[:, f].sum(1)  # (16, G_r)
    y = blocks(s).y_pair[f].sum(1)  # u'Y^{fj}
    e_int = s.exports.reshape(G, s.N, G)[f].sum(0) - y  # u'A^{fj}X^j
    P = gvc_income_country(s)
    yt = blocks(s).yt.sum(1)
    num = {
        "e3": T[WWZ_TERMS.index("DVA_FIN")],
        "e3_int": T[1:8].sum(0),
        "e1": P[f],
        "e2": P[f],
    }
    den = {"e3": y, "e3_int": e_int, "e1": yt, "e2": e_int}
    partners = [j for j in range(G) if j != f]
    labels = [str(ys.regions[j]) for j in partners]
    coords = {"partner": label_coord(labels)}

    def da(a, dims=("partner",), **c):
        return xr.DataArray(a, dims=dims, coords={**coords, **c}).assign_coords(year=ys.year)

    out = xr.Dataset(
        {k: da(num[k][partners] / _nz(den[k][partners])) for k in ("e1", "e2", "e3", "e3_int")}
    )
    out["e3_total"] = xr.DataArray(num["e3"][partners].sum() / _nz(y[partners].sum()))
    codes = _iso3(ys, database)
    bench = []
    for code in benchmarks:
        if code in codes or code in [str(r) for r in ys.regions]:
            k = _index(ys, code, database)
            if k != f:
                bench.append(k)
    if bench:
        e3all = final_dva_rate(ys)["e3"].values
        eb = e3all[bench][:, partners]
        bl = [str(ys.regions[k]) for k in bench]
        out["e3_bench"] = da(eb, ("benchmark", "partner"), benchmark=label_coord(bl))
        out["e3_ratio"] = (out["e3"] / out["e3_bench"]).transpose("benchmark", "partner")
    if grouping is not None:
        memb = _membership(ys, grouping, database, other)
        for k in ("e1", "e2", "e3", "e3_int"):
            n_g = _by_group(da(num[k][partners]), memb)
            d_g = _by_group(da(den[k][partners]), memb)
            out[f"{k}_group"] = n_g / d_g.where(d_g != 0)
    out.attrs.update(
        method="china_efficiency", focal=str(ys.regions[f]), units="1",
        references="docs/methods.md §6.2",
    )
    return out
