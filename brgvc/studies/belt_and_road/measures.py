"""Study-only measures of the Belt and Road findings (registered as ``br_capture``).

One measure, :func:`capture_inputs`, stores per (year, draw) what the robust findings need and
the generic measures do not keep:

* the numerators and denominators of the four capture-efficiency rates of docs/methods.md §6.2
  (e1, e2, e3, e3_int) for the focal country **and every benchmark exporter** to every
  importer, so that group rates over the same markets are exact ratios of sums (the generic
  ``china_efficiency`` keeps them for the focal country only);
* the within-sector final-goods DVA rate ``vbss = V^s B^{ss}`` (exporter, sector) and the
  final exports ``Y^{sr}_i`` of those exporters to the grouping's members (exporter, sector,
  importer), for e3 at a common sector mix;
* for each edge weight, the world total of the off-diagonal flows (negative flows set to 0,
  as the network sees them) and the flows from or to the table's rest-of-world region: the
  size denominators of the size-neutral intensity and the RoW share.

Importing this module registers the measure (the runner resolves it by name; a distributed
worker unpickles the function by reference and imports this module itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from brgvc.measures.registry import Measure, register

__all__ = ["MEASURE", "ROW_LABELS", "capture_inputs"]

#: Registry name of the measure.
MEASURE = "br_capture"

#: Labels that databases give their rest-of-world region.
ROW_LABELS: tuple[str, ...] = ("RoW", "ROW", "ROW_", "WLD")

_RATES = ("e1", "e2", "e3", "e3_int")


def capture_inputs(
    ys,
    *,
    focal: str = "CHN",
    benchmarks: Sequence[str] | None = None,
    weights: Sequence[str] = ("W1", "W2", "W3", "W4"),
    grouping: Any = "belt_and_road",
    database: str | None = None,
) -> xr.Dataset:
    r"""Inputs of the robust findings 1 (size), 3 and 4 for one (year, draw).

    For exporter s and importer r (E_int^{sr} = u'A^{sr}X^r, P_c = S V̂BŶt S',
    Yt^r = Y^{r*}1)::

        e3:     num = DVA_FIN^{sr} = Σ_i (V^s B^{ss})_i Y^{sr}_i   den = u'Y^{sr}
        e3_int: num = WWZ terms 2..8 (s -> r)                        den = E_int^{sr}
        e1:     num = P_c[s, r]                                      den = u'Yt^r
        e2:     num = P_c[s, r]                                      den = E_int^{sr}

    Parameters
    ----------
    ys : YearSystem
    focal : str
        ISO3 code of the focal country.
    benchmarks : sequence of str, optional
        Benchmark exporters (default :data:`brgvc.measures.china.DEFAULT_BENCHMARKS`); those
        absent from the table are skipped.
    weights : sequence of str
        Edge weights whose world totals are stored (W1-W4 of :mod:`brgvc.network.weights`).
    grouping : str, Grouping or None
        Grouping (name or object) whose members are the importers of ``final_sector``.
    database : str, optional
        Database whose code aliases apply.

    Returns
    -------
    xarray.Dataset
        ``num``, ``den`` (br_rate, br_exporter, br_importer); ``vbss`` (br_exporter,
        br_sector); ``gdp`` (br_importer: each country's value added, the size of a
        partner); ``final_sector`` (br_exporter, br_sector, br_member: the grouping's
        members); ``world_flow`` and ``row_flow`` (br_weight). Dims carry a ``br_`` prefix
        because the result store shares one coordinate per dim name across measures.
    """
    from brgvc.measures._common import blocks
    from brgvc.measures.china import DEFAULT_BENCHMARKS
    from brgvc.measures.flows import gvc_income_country
    from brgvc.measures.wwz import wwz_terms
    from brgvc.network.weights import edge_weights
    from brgvc.regions import load_grouping, to_iso3

    s = ys.system
    G, N = s.G, s.N
    labels = [str(r) for r in ys.regions]
    codes = to_iso3(labels, database)

    def index(code: str) -> int | None:
        for k, (lab, c) in enumerate(zip(labels, codes, strict=True)):
            if code in (lab, c):
                return k
        return None

    f = index(focal)
    if f is None:
        raise KeyError(f"br_capture: focal country {focal!r} is not a region of the table")
    exp = [f] + [k for k in (index(b) for b in (benchmarks or DEFAULT_BENCHMARKS))
                 if k is not None and k != f]
    b = blocks(s)
    y = b.y_pair.sum(2)  # u'Y^{sr}
    e_int = s.exports.reshape(G, N, G).sum(1) - y
    P = gvc_income_country(s)
    yt = b.yt.sum(1)
    T = wwz_terms(s)  # shared with china_va / china_efficiency / W3 through the system
    dva_fin = np.einsum("sj,srj->sr", b.vbss, b.y_pair)
    num = np.stack([P, P, dva_fin, T[1:8].sum(axis=(0, 2))])[:, exp]
    den = np.stack([np.broadcast_to(yt, (G, G)), e_int, y, e_int])[:, exp]
    num[:, np.arange(len(exp)), exp] = 0.0  # no domestic "exports"
    den[:, np.arange(len(exp)), exp] = 0.0
    if grouping is not None:
        grp = grouping if hasattr(grouping, "region_of") else load_grouping(grouping)
        members = [k for k, c in enumerate(codes) if grp.region_of(c) is not None]
    else:
        members = list(range(G))
    fin = b.y_pair[exp][:, members].transpose(0, 2, 1)  # (exporter, sector, importer)
    world, row = [], []
    row_idx = [k for k, lab in enumerate(labels) if lab in ROW_LABELS]
    for w in weights:
        W = np.asarray(edge_weights(ys, w), dtype=np.float64).copy()
        np.fill_diagonal(W, 0.0)
        W = np.where(W > 0, W, 0.0)
        world.append(W.sum())
        if row_idx:
            mask = np.zeros(G, dtype=bool)
            mask[row_idx] = True
            row.append(W[mask].sum() + W[:, mask].sum() - W[np.ix_(mask, mask)].sum())
        else:
            row.append(np.nan)
    lab = np.array(labels, dtype=object)
    ex = lab[exp]
    sectors = np.array([str(x) for x in ys.sectors], dtype=object)
    coords = {"br_rate": np.array(_RATES, dtype=object), "br_exporter": ex, "br_importer": lab}
    out = xr.Dataset({
        "num": xr.DataArray(num, dims=("br_rate", "br_exporter", "br_importer"), coords=coords),
        "den": xr.DataArray(den, dims=("br_rate", "br_exporter", "br_importer"), coords=coords),
        "vbss": xr.DataArray(b.vbss[exp], dims=("br_exporter", "br_sector"),
                             coords={"br_exporter": ex, "br_sector": sectors}),
        "final_sector": xr.DataArray(
            fin, dims=("br_exporter", "br_sector", "br_member"),
            coords={"br_exporter": ex, "br_sector": sectors, "br_member": lab[members]}),
        "gdp": xr.DataArray(np.asarray(s.va, dtype=np.float64).reshape(G, N).sum(1),
                            dims=("br_importer",), coords={"br_importer": lab}),
        "world_flow": xr.DataArray(np.array(world), dims=("br_weight",),
                                   coords={"br_weight": np.array(list(weights), dtype=object)}),
        "row_flow": xr.DataArray(np.array(row), dims=("br_weight",),
                                 coords={"br_weight": np.array(list(weights), dtype=object)}),
    })
    out.attrs.update(method=MEASURE, focal=labels[f], units="unit of the table (rates: 1)",
                     references="docs/methods.md §5.1, §6.2")
    return out


register(Measure(MEASURE, ("br_rate", "br_exporter", "br_importer"), "unit of the table",
                 "docs/methods.md §5.1, §6.2", capture_inputs, "bilateral"))
