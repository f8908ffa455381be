"""Declared measures: a plain dict filled at import time, so the runner can ask by name.

Each :class:`Measure` wraps a function ``func(ys: YearSystem, **options)`` that returns an
:class:`xarray.Dataset` or :class:`xarray.DataArray` whose formula is in its numpydoc
docstring.

Examples
--------
>>> from brgvc.measures.registry import get_measure
>>> get_measure("wwz").dims
('exporter', 'sector', 'importer')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import xarray as xr

from brgvc.measures import borin_mancini, china, flows, kww, participation, wwz

__all__ = ["MEASURES", "Measure", "get_measure", "position", "register"]


@dataclass(frozen=True)
class Measure:
    """A declared measure.

    Attributes
    ----------
    name : str
        Registry key (``brgvc decompose`` METHOD and job-spec name).
    dims : tuple of str
        Dims of the result (of its main variables, at the default options).
    units : str
        ``"unit of the table"`` for value flows, ``"1"`` for ratios and shares, ``"stages"``
        for production lengths.
    reference : str
        Literature reference.
    func : callable
        ``func(ys, **options) -> xarray.Dataset | xarray.DataArray``.
    level : str
        ``"sector"`` (exporter × sector × importer or region × sector), ``"bilateral"``
        (country pairs) or ``"country"``.
    """

    name: str
    dims: tuple[str, ...]
    units: str
    reference: str
    func: Callable[..., xr.Dataset | xr.DataArray]
    level: str

    def __call__(self, ys, **options) -> xr.Dataset | xr.DataArray:
        """Compute the measure for one :class:`~brgvc.core.leontief.YearSystem`."""
        return self.func(ys, **options)

    @property
    def description(self) -> str:
        """First line of the function's docstring."""
        return (self.func.__doc__ or "").strip().splitlines()[0] if self.func.__doc__ else ""


#: All registered measures, by name.
MEASURES: dict[str, Measure] = {}


def register(measure: Measure) -> Measure:
    """Add a measure to :data:`MEASURES` (replacing one of the same name).

    Parameters
    ----------
    measure : Measure

    Returns
    -------
    Measure
        The same object.
    """
    MEASURES[measure.name] = measure
    return measure


def get_measure(name: str) -> Measure:
    """Look a measure up by name.

    Parameters
    ----------
    name : str

    Returns
    -------
    Measure

    Raises
    ------
    KeyError
        With the list of known names.
    """
    try:
        return MEASURES[name]
    except KeyError:
        raise KeyError(
            f"unknown measure {name!r}; known measures: {', '.join(sorted(MEASURES))}"
        ) from None


def position(ys) -> xr.Dataset:
    """Country position indicators in one Dataset (METHODS.md §3.6–§3.8).

    WWYZ (2017b) ``PLv``, ``PLy``, ``PLv_GVC``, ``PLy_GVC``, ``GVC_Pos``; output-weighted
    upstreamness ``U`` and final-output-weighted downstreamness ``D``; Koopman et al. (2010)
    ``koopman_participation_<iv>`` and ``koopman_position_<iv>`` for iv in kww_t3, dvx.

    Parameters
    ----------
    ys : YearSystem

    Returns
    -------
    xarray.Dataset
        Dims (region,).
    """
    pl = participation.production_length(ys, level="country")
    out = pl[["PLv", "PLy", "PLv_GVC", "PLy_GVC", "GVC_Pos"]]
    out["U"] = participation.upstreamness(ys, level="country")
    out["D"] = participation.downstreamness(ys, level="country")
    kp = participation.koopman(ys)
    for iv in kp["iv"].values:
        out[f"koopman_participation_{iv}"] = kp["participation"].sel(iv=iv, drop=True)
        out[f"koopman_position_{iv}"] = kp["position"].sel(iv=iv, drop=True)
    out.attrs = {"method": "position", "units": "stages / 1"}
    return out


_REFS = {
    "jn": "Johnson & Noguera (2012), JIE 86(2): 224-236",
    "kww": "Koopman, Wang & Wei (2014), AER 104(2): 459-494",
    "wwz": "Wang, Wei & Zhu (2013), NBER WP 19677",
    "bm": "Borin & Mancini (2019), World Bank PRWP 8804",
    "wwyz_a": "Wang, Wei, Yu & Zhu (2017a), NBER WP 23222",
    "wwyz_b": "Wang, Wei, Yu & Zhu (2017b), NBER WP 23261",
    "kpww": "Koopman, Powers, Wang & Wei (2010), NBER WP 16426",
    "timmer": "Timmer et al. (2014), JEP 28(2); Los, Timmer & de Vries (2015), JRS 55(1)",
    "ltv": "Los, Timmer & de Vries (2016), AER 106(7): 1958-1966",
    "acfh": "Antràs, Chor, Fally & Hillberry (2012), AER P&P 102(3)",
    "fally": "Fally (2012), working paper",
}
_CUR = "unit of the table"

for _m in (
    Measure("vby", ("source", "sink"), _CUR, _REFS["jn"], flows.vby, "bilateral"),
    Measure("vbe", ("source", "exporter"), _CUR, _REFS["kww"], flows.vbe, "bilateral"),
    Measure("gvc_income", ("source", "producer"), _CUR, _REFS["timmer"], flows.gvc_income,
            "bilateral"),
    Measure("vax", ("exporter", "importer"), _CUR, _REFS["jn"], flows.vax, "bilateral"),
    Measure("kww", ("exporter",), _CUR, _REFS["kww"], kww.kww, "country"),
    Measure("wwz", ("exporter", "sector", "importer"), _CUR, _REFS["wwz"], wwz.wwz, "sector"),
    Measure("bm_src", ("exporter", "sector", "importer"), _CUR, _REFS["bm"],
            borin_mancini.bm_source, "sector"),
    Measure("bm_snk", ("exporter", "sector", "importer"), _CUR, _REFS["bm"],
            borin_mancini.bm_sink, "sector"),
    Measure("participation", ("region",), "1", _REFS["wwyz_a"],
            participation.wwyz_participation, "country"),
    Measure("production_length", ("region",), "stages", _REFS["wwyz_b"],
            participation.production_length, "country"),
    Measure("position", ("region",), "stages / 1",
            f"{_REFS['wwyz_b']}; {_REFS['acfh']}; {_REFS['fally']}; {_REFS['kpww']}",
            position, "country"),
    Measure("koopman", ("iv", "region"), "1", _REFS["kpww"], participation.koopman, "country"),
    Measure("upstreamness", ("region", "sector"), "stages", _REFS["acfh"],
            participation.upstreamness, "sector"),
    Measure("downstreamness", ("region", "sector"), "stages", _REFS["fally"],
            participation.downstreamness, "sector"),
    Measure("hypothetical_extraction", ("exporter",), _CUR, _REFS["ltv"],
            participation.hypothetical_extraction, "country"),
    Measure("china_va", ("partner",), _CUR, "METHODS.md §6.1", china.value_added_obtained,
            "bilateral"),
    Measure("china_efficiency", ("partner",), "1", "METHODS.md §6.2", china.capture_efficiency,
            "bilateral"),
    Measure("final_dva_rate", ("exporter", "importer"), "1", "METHODS.md §6.2",
            china.final_dva_rate, "bilateral"),
):
    register(_m)
del _m
