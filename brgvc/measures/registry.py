"""Declared measures: each registered :class:`Measure` says once what it computes.

A declaration names the function ``func(ys: YearSystem, **options)``, its options (with the
defaults of the function's keyword-only parameters), the output variables with their dims and
units, the literature references, and what the computation needs (the WWZ terms, the dense
Leontief inverse). From the declaration come

* the attrs of every result (:meth:`Measure.__call__` stamps ``method``, ``units`` and
  ``references`` on the result and ``units`` on each variable: callers never set them),
* the layout of a result store (:meth:`Measure.template`: variable -> (dims, shape) for given
  labels, without computing anything),
* the listing of ``brgvc measures`` (:func:`list_measures`) and the generated table of
  docs/methods.md (:func:`methods_table_markdown`).

Dims are named as in ARCHITECTURE.md (``source``, ``sink``, ``exporter``, ``importer``,
``region``, ``sector``, ``source_sector``, ``producer``, ``partner``, ...); ``year`` and
``draw`` are added by the runner.

Examples
--------
>>> from brgvc.measures.registry import get_measure
>>> get_measure("wwz").dims
('exporter', 'sector', 'importer')
>>> get_measure("wwz").template({"region": ["A", "B"], "sector": ["x", "y", "z"]})["DVA_FIN"]
(('exporter', 'sector', 'importer'), (2, 3, 2))
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from brgvc.measures import borin_mancini, china, flows, kww, participation, wwz

__all__ = [
    "MEASURES",
    "Measure",
    "Output",
    "get_measure",
    "list_measures",
    "methods_table_markdown",
    "position",
    "probe_system",
    "register",
    "write_methods_table",
]

#: Dims labelled by the table's regions, and by its sectors (the cube's ``region`` and
#: ``sector`` labels); any other dim gets its labels from the measure's declaration.
REGION_DIMS: frozenset[str] = frozenset(
    ("source", "sink", "exporter", "importer", "region", "region_to", "producer")
)
SECTOR_DIMS: frozenset[str] = frozenset(("sector", "source_sector", "sector_to"))

#: What a computation may need beyond the LU: the 16 WWZ terms of the system (computed once
#: per system and shared, see :func:`brgvc.measures.wwz.wwz_terms`), or the dense inverse B.
NEEDS: tuple[str, ...] = ("wwz", "dense_b")


@dataclass(frozen=True)
class Output:
    """One declared output variable of a measure.

    Attributes
    ----------
    dims : tuple of str
        Dims of the variable (without ``year`` and ``draw``).
    units : str
        ``"unit of the table"`` (value flows, in the table's currency, e.g. USD million for
        WIOD), ``"1"`` (ratios and shares) or ``"stages"`` (production lengths).
    """

    dims: tuple[str, ...]
    units: str


OutputsFn = Callable[[Mapping[str, Any]], Mapping[str, Output]]
CoordsFn = Callable[[Mapping[str, Sequence[str]], Mapping[str, Any]], Mapping[str, Sequence[str]]]


@dataclass(frozen=True)
class Measure:
    """A declared measure.

    The first six fields are positional (``Measure(name, dims, units, reference, func,
    level)`` declares a measure whose outputs are found by running it); the others are
    keywords.

    Attributes
    ----------
    name : str
        Registry key (``brgvc decompose`` METHOD and job-spec name).
    dims : tuple of str
        Dims of the main variables at the default options.
    units : str
        Units of the main variables (``"unit of the table"``, ``"1"`` or ``"stages"``).
    reference : str
        Literature references, ``"; "``-separated.
    func : callable
        ``func(ys, **options) -> xarray.Dataset | xarray.DataArray``.
    level : str
        ``"sector"`` (exporter × sector × importer or region × sector), ``"bilateral"``
        (country pairs) or ``"country"``.
    outputs : callable, optional
        ``outputs(options) -> {variable: Output}`` for the full options (defaults filled
        in). None: the outputs are learnt by running the measure on a small synthetic
        system (:func:`probe_system`).
    coords : callable, optional
        ``coords(labels, options) -> {dim: labels}`` for dims that are neither region nor
        sector dims (``partner``, ``group``, ``iv`` ...).
    needs : frozenset or callable, optional
        Subset of :data:`NEEDS`, or ``needs(options) -> frozenset``.
    summary : str, optional
        One-line description (default: the first line of the function's docstring).
    """

    name: str
    dims: tuple[str, ...]
    units: str
    reference: str
    func: Callable[..., xr.Dataset | xr.DataArray]
    level: str
    outputs: OutputsFn | None = field(default=None, compare=False)
    coords: CoordsFn | None = field(default=None, compare=False)
    needs: frozenset[str] | Callable[[Mapping[str, Any]], frozenset[str]] = field(
        default=frozenset(), compare=False
    )
    summary: str = ""

    # -- declaration ------------------------------------------------------------------------

    @property
    def description(self) -> str:
        """One-line description: :attr:`summary`, else the first line of the docstring."""
        if self.summary:
            return self.summary
        doc = (self.func.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @property
    def references(self) -> tuple[str, ...]:
        """The references, one per item."""
        return tuple(r.strip() for r in self.reference.split(";") if r.strip())

    @property
    def options(self) -> dict[str, Any]:
        """Options of the measure and their defaults (the function's keyword parameters)."""
        params = list(inspect.signature(self.func).parameters.values())[1:]
        return {
            p.name: (None if p.default is p.empty else p.default)
            for p in params
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        }

    def bind(self, **options: Any) -> dict[str, Any]:
        """The full options: defaults updated with ``options``.

        Raises
        ------
        TypeError
            For an option the measure does not have (the message lists those it has).
        """
        known = self.options
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise TypeError(
                f"measure {self.name!r} has no option {', '.join(map(repr, unknown))}; "
                f"its options: {', '.join(known) or 'none'}"
            )
        return {**known, **options}

    def requirements(self, **options: Any) -> frozenset[str]:
        """What computing the measure with these options needs (subset of :data:`NEEDS`)."""
        needs = self.needs
        if callable(needs):
            return frozenset(needs(self.bind(**options)))
        return frozenset(needs)

    def variables(self, **options: Any) -> dict[str, Output]:
        """Declared output variables ``{name: Output}`` for these options (None if undeclared)."""
        if self.outputs is None:
            return {}
        return dict(self.outputs(self.bind(**options)))

    def dim_labels(
        self, labels: Mapping[str, Sequence[str]], **options: Any
    ) -> dict[str, list[str]]:
        """Labels of every dim of the outputs, for a table with these labels.

        Parameters
        ----------
        labels : mapping
            ``{"region": [...], "sector": [...]}`` (the cube's labels).
        **options
            The measure's options.

        Returns
        -------
        dict
            ``{dim: labels}`` for every dim of :meth:`template`.
        """
        regions = [str(r) for r in labels["region"]]
        sectors = [str(s) for s in labels["sector"]]
        opts = self.bind(**options)
        if self.outputs is None:
            out = probe_system(regions, sectors)
            found = self(out, **options)
            arrays = [found] if isinstance(found, xr.DataArray) else list(found.data_vars.values())
            dims = {d for a in arrays for d in a.dims}
            extra = {d: [str(v) for v in (found[d].values if d in found.coords else [])]
                     for d in dims if d not in REGION_DIMS and d not in SECTOR_DIMS}
        else:
            dims = {d for o in self.outputs(opts).values() for d in o.dims}
            extra = dict(self.coords(labels, opts)) if self.coords is not None else {}
        result: dict[str, list[str]] = {}
        for d in sorted(dims):
            if d in REGION_DIMS:
                result[d] = regions
            elif d in SECTOR_DIMS:
                result[d] = sectors
            elif d in extra:
                result[d] = [str(v) for v in extra[d]]
            else:
                raise KeyError(f"measure {self.name!r}: no labels declared for dim {d!r}")
        return result

    def template(
        self, labels: Mapping[str, Sequence[str]], **options: Any
    ) -> dict[str, tuple[tuple[str, ...], tuple[int, ...]]]:
        """Layout of the outputs for a table with these labels, without computing them.

        Parameters
        ----------
        labels : mapping
            ``{"region": [...], "sector": [...]}``.
        **options
            The measure's options.

        Returns
        -------
        dict
            ``{variable: (dims, shape)}`` in the order of the result's variables (the
            runner adds ``year`` and ``draw``; :meth:`dim_labels` gives the labels).
        """
        dl = self.dim_labels(labels, **options)
        if self.outputs is None:
            ys = probe_system([str(r) for r in labels["region"]],
                              [str(s) for s in labels["sector"]])
            found = self(ys, **options)
            arrays = ({str(found.name or self.name): found} if isinstance(found, xr.DataArray)
                      else dict(found.data_vars))
            decl = {k: Output(tuple(a.dims), self.units) for k, a in arrays.items()}
        else:
            decl = self.variables(**options)
        return {k: (o.dims, tuple(len(dl[d]) for d in o.dims)) for k, o in decl.items()}

    # -- computing ------------------------------------------------------------------------

    def __call__(self, ys, **options) -> xr.Dataset | xr.DataArray:
        """Compute the measure for one :class:`~brgvc.core.leontief.YearSystem`.

        Unknown options raise :class:`TypeError`; the result carries the declared attrs
        (``method``, ``units``, ``references``; ``units`` per variable).
        """
        if options:
            self.bind(**options)
        return self.stamp(self.func(ys, **options), options)

    def stamp(self, out: xr.Dataset | xr.DataArray, options: Mapping[str, Any] | None = None
              ) -> xr.Dataset | xr.DataArray:
        """Set the declared attrs on a result of :attr:`func` (in place; returns it)."""
        out.attrs["method"] = self.name
        out.attrs["units"] = self.units
        out.attrs["references"] = self.reference
        if self.outputs is None:
            return out
        decl = self.outputs(self.bind(**(options or {})))
        if isinstance(out, xr.DataArray):
            o = decl.get(str(out.name))
            if o is not None:
                out.attrs["units"] = o.units
        else:
            for name, var in out.variables.items():
                o = decl.get(str(name))
                if o is not None:
                    var.attrs["units"] = o.units
        return out


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
    if name not in MEASURES:
        _load_plugins()
    try:
        return MEASURES[name]
    except KeyError:
        raise KeyError(
            f"unknown measure {name!r}; known measures: {', '.join(sorted(MEASURES))}"
        ) from None


#: Entry-point group of modules that register measures when imported (studies, other packages).
PLUGIN_GROUP = "brgvc.measures"


def _load_plugins() -> None:
    """Import every module of the :data:`PLUGIN_GROUP` entry points (once each).

    A Dask worker resolves a job's measures by name in a fresh process: measures defined
    outside :mod:`brgvc.measures` (e.g. the Belt and Road study's ``br_capture``) register
    themselves on import, and the entry points say which modules to import.
    """
    from importlib.metadata import entry_points

    for ep in entry_points(group=PLUGIN_GROUP):
        if ep.name not in MEASURES:
            ep.load()


def list_measures() -> list[dict[str, Any]]:
    """One row per registered measure, sorted by name (the listing of ``brgvc measures``).

    Returns
    -------
    list of dict
        Keys ``name``, ``dims`` (tuple), ``units``, ``level``, ``description``,
        ``options`` (dict of defaults), ``needs`` (sorted tuple, at the default options) and
        ``references`` (tuple).
    """
    _load_plugins()
    rows = []
    for name in sorted(MEASURES):
        m = MEASURES[name]
        rows.append({
            "name": name,
            "dims": tuple(m.dims),
            "units": m.units,
            "level": m.level,
            "description": m.description,
            "options": m.options,
            "needs": tuple(sorted(m.requirements())),
            "references": m.references,
        })
    return rows


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|")


def methods_table_markdown() -> str:
    """The generated section of docs/methods.md: every measure's declaration as Markdown.

    Returns
    -------
    str
        A Markdown table (name, dims, units, options, needs, references) followed by each
        measure's variables at the default options. Deterministic, so that a test can check
        that docs/methods.md contains the current text.
    """
    lines = [
        "| measure | dims | units | options (defaults) | needs | references |",
        "|---|---|---|---|---|---|",
    ]
    rows = list_measures()
    for r in rows:
        opts = ", ".join(f"`{k}={v!r}`" for k, v in r["options"].items()) or "–"
        lines.append(
            f"| `{r['name']}` | ({', '.join(r['dims'])}) | {_md(r['units'])} | {_md(opts)} | "
            f"{', '.join(r['needs']) or '–'} | {_md('; '.join(r['references']))} |"
        )
    lines.append("")
    lines.append("Variables at the default options (dims; units):")
    lines.append("")
    for r in rows:
        m = MEASURES[r["name"]]
        groups: dict[tuple[tuple[str, ...], str], list[str]] = {}
        for var, o in m.variables().items():
            groups.setdefault((o.dims, o.units), []).append(var)
        parts = [f"{', '.join(f'`{v}`' for v in vs)} ({', '.join(d) or 'scalar'}; {_md(u)})"
                 for (d, u), vs in groups.items()]
        lines.append(f"- `{r['name']}`: {m.description} " + "; ".join(parts))
    return "\n".join(lines) + "\n"


def write_methods_table(path: str | None = None) -> bool:
    """Replace the generated section of docs/methods.md with :func:`methods_table_markdown`.

    Parameters
    ----------
    path : str, optional
        The file (default: ``docs/methods.md`` of the source checkout).

    Returns
    -------
    bool
        True if the file changed.
    """
    from pathlib import Path

    p = Path(path) if path else Path(__file__).resolve().parents[2] / "docs" / "methods.md"
    text = p.read_text("utf-8")
    begin, end = "<!-- BEGIN GENERATED MEASURES -->\n", "<!-- END GENERATED MEASURES -->"
    i, j = text.index(begin) + len(begin), text.index(end)
    new = text[:i] + methods_table_markdown() + text[j:]
    if new != text:
        p.write_text(new, "utf-8")
    return new != text


def probe_system(regions: Sequence[str], sectors: Sequence[str], year: int = 0):
    """A small, well-conditioned synthetic system with the given labels.

    Used to learn the outputs of a measure declared without ``outputs``: A has column sums
    0.3 and Y shares the rest evenly across destinations.

    Returns
    -------
    YearSystem
    """
    from brgvc.core.kernels import IOSystem
    from brgvc.core.leontief import YearSystem

    G, N = len(regions), len(sectors)
    n = G * N
    Z = np.full((n, n), 0.3 / n)
    Yd = np.full((n, G), 0.7 / G)
    x = np.ones(n)
    return YearSystem(IOSystem(Z, Yd, x, x - Z.sum(0), G, N), list(regions), list(sectors), year)


def position(ys) -> xr.Dataset:
    """Country position indicators in one Dataset (docs/methods.md §3.6–§3.8).

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
_ONE = "1"
_STAGES = "stages"

# -- output declarations ------------------------------------------------------------------


def _vars(names: Sequence[str], dims: tuple[str, ...], units: str = _CUR) -> dict[str, Output]:
    return {str(n): Output(dims, units) for n in names}


def _level(level: str, table: Mapping[str, tuple[str, ...]], what: str) -> tuple[str, ...]:
    if level not in table:
        raise ValueError(f"{what}: level must be one of {tuple(table)}, not {level!r}")
    return table[level]


_TRADE_LEVELS = {
    "sector": ("exporter", "sector", "importer"),
    "bilateral": ("exporter", "importer"),
    "country": ("exporter",),
}


def _out_vby(o):
    return _vars(["vby"], _level(o["level"], {"country": ("source", "sink"),
                                              "sector": ("source", "source_sector", "sink")},
                                 "vby"))


def _out_vbe(o):
    return _vars(["vbe"], _level(o["level"], {
        "country": ("source", "exporter"),
        "source_sector": ("source", "source_sector", "exporter"),
        "export_sector": ("source", "exporter", "sector"),
        "full": ("source", "source_sector", "exporter", "sector"),
    }, "vbe"))


def _out_gvc_income(o):
    p = _level(o["level"], {"country": ("source", "producer"),
                            "sector": ("source", "producer", "sector"),
                            "full": ("source", "source_sector", "producer", "sector")},
               "gvc_income")
    if o["level"] == "country":
        return {"P": Output(p, _CUR), "final_output": Output(("producer",), _CUR),
                "fva_share": Output(("producer",), _ONE)}
    return {"P": Output(p, _CUR), "final_output": Output(("producer", "sector"), _CUR)}


def _out_vax(o):
    pair, one = ("exporter", "importer"), ("exporter",)
    return {"vax": Output(pair, _CUR), "exports": Output(pair, _CUR),
            "vax_total": Output(one, _CUR), "exports_total": Output(one, _CUR),
            "vax_ratio": Output(one, _ONE), "vax_ratio_bilateral": Output(pair, _ONE)}


def _out_kww(o):
    names = [*kww.KWW_TERMS, "exports", *(kww.KWW_GROUPS if o["groupings"] else ())]
    return _vars(names, ("exporter",))


def _out_wwz(o):
    names = [*wwz.WWZ_TERMS, "exports", *(wwz.WWZ_GROUPS if o["groupings"] else ())]
    return _vars(names, _level(o["level"], _TRADE_LEVELS, "wwz"))


def _out_bm(o):
    names = [*borin_mancini.BM_TERMS, "exports", *borin_mancini.BM_AGGREGATES]
    return _vars(names, _level(o["level"], _TRADE_LEVELS, "bm"))


def _country_or_sector(level: str, what: str) -> tuple[str, ...]:
    return _level(level, {"country": ("region",), "sector": ("region", "sector")}, what)


_PARTICIPATION_FLOWS = ("V_D", "V_RT", "V_GVC_S", "V_GVC_C", "Y_D", "Y_RT", "Y_GVC_S",
                        "Y_GVC_C", "va", "final_output", "V_GVC", "Y_GVC")
_LENGTH_FLOWS = ("Xv", "Xy", "V_GVC_v", "V_GVC_y", "Xv_GVC_v", "Xv_GVC_y", "seg_dom_v",
                 "seg_cross_v", "seg_for_v", "seg_dom_y", "seg_cross_y", "seg_for_y", "va",
                 "final_output")
_LENGTHS = ("PLv", "PLy", "PLv_GVC", "PLy_GVC", "GVC_Pos")


def _out_participation(o):
    d = _country_or_sector(o["level"], "participation")
    return {**_vars(_PARTICIPATION_FLOWS, d), **_vars(("GVCPt_f", "GVCPt_b"), d, _ONE)}


def _out_production_length(o):
    d = _country_or_sector(o["level"], "production_length")
    return {**_vars(_LENGTH_FLOWS, d), **_vars(_LENGTHS[:4], d, _STAGES),
            "GVC_Pos": Output(d, _ONE)}


def _ivs(o) -> tuple[str, ...]:
    iv = o["iv"]
    return (iv,) if isinstance(iv, str) else tuple(iv)


def _out_position(o):
    r = ("region",)
    out = {**_vars(_LENGTHS[:4], r, _STAGES), "GVC_Pos": Output(r, _ONE),
           "U": Output(r, _STAGES), "D": Output(r, _STAGES)}
    for iv in ("kww_t3", "dvx"):
        out[f"koopman_participation_{iv}"] = Output(r, _ONE)
        out[f"koopman_position_{iv}"] = Output(r, _ONE)
    return out


def _out_koopman(o):
    d = ("iv", "region")
    return {"participation": Output(d, _ONE), "position": Output(d, _ONE),
            "IV": Output(d, _CUR), "FV": Output(("region",), _CUR),
            "exports": Output(("region",), _CUR)}


def _out_upstreamness(o):
    return _vars(["U"], _country_or_sector(o["level"], "upstreamness"), _STAGES)


def _out_downstreamness(o):
    return _vars(["D"], _country_or_sector(o["level"], "downstreamness"), _STAGES)


def _out_china_va(o):
    out = {"a": Output(("partner",), _CUR), "share": Output(("partner",), _ONE)}
    if o["grouping"] is not None:
        out.update(a_group=Output(("group",), _CUR), share_group=Output(("group",), _ONE))
    return out


def _out_china_efficiency(o):
    out = {k: Output(("partner",), _ONE) for k in ("e1", "e2", "e3", "e3_int")}
    out["e3_total"] = Output((), _ONE)
    out["e3_bench"] = Output(("benchmark", "partner"), _ONE)
    out["e3_ratio"] = Output(("benchmark", "partner"), _ONE)
    if o["grouping"] is not None:
        out.update({f"{k}_group": Output(("group",), _ONE)
                    for k in ("e1", "e2", "e3", "e3_int")})
    return out


def _out_final_dva_rate(o):
    pair = ("exporter", "importer")
    return {"e3": Output(pair, _ONE), "e3_total": Output(("exporter",), _ONE),
            "DVA_FIN": Output(pair, _CUR), "final_exports": Output(pair, _CUR)}


def _coords_koopman(labels, o):
    return {"iv": list(_ivs(o))}


for _m in (
    Measure("vby", ("source", "sink"), _CUR, _REFS["jn"], flows.vby, "bilateral",
            outputs=_out_vby),
    Measure("vbe", ("source", "exporter"), _CUR, _REFS["kww"], flows.vbe, "bilateral",
            outputs=_out_vbe,
            needs=lambda o: frozenset({"dense_b"} if o["level"] == "full" else ())),
    Measure("gvc_income", ("source", "producer"), _CUR, _REFS["timmer"], flows.gvc_income,
            "bilateral", outputs=_out_gvc_income,
            needs=lambda o: frozenset({"dense_b"} if o["level"] == "full" else ())),
    Measure("vax", ("exporter", "importer"), _CUR, _REFS["jn"], flows.vax, "bilateral",
            outputs=_out_vax),
    Measure("kww", ("exporter",), _CUR, _REFS["kww"], kww.kww, "country", outputs=_out_kww),
    Measure("wwz", ("exporter", "sector", "importer"), _CUR, _REFS["wwz"], wwz.wwz, "sector",
            outputs=_out_wwz, needs=frozenset({"wwz"})),
    Measure("bm_src", ("exporter", "sector", "importer"), _CUR, _REFS["bm"],
            borin_mancini.bm_source, "sector", outputs=_out_bm),
    Measure("bm_snk", ("exporter", "sector", "importer"), _CUR, _REFS["bm"],
            borin_mancini.bm_sink, "sector", outputs=_out_bm),
    Measure("participation", ("region",), _ONE, _REFS["wwyz_a"],
            participation.wwyz_participation, "country", outputs=_out_participation),
    Measure("production_length", ("region",), _STAGES, _REFS["wwyz_b"],
            participation.production_length, "country", outputs=_out_production_length),
    Measure("position", ("region",), "stages / 1",
            f"{_REFS['wwyz_b']}; {_REFS['acfh']}; {_REFS['fally']}; {_REFS['kpww']}",
            position, "country", outputs=_out_position),
    Measure("koopman", ("iv", "region"), _ONE, _REFS["kpww"], participation.koopman, "country",
            outputs=_out_koopman, coords=_coords_koopman),
    Measure("upstreamness", ("region", "sector"), _STAGES, _REFS["acfh"],
            participation.upstreamness, "sector", outputs=_out_upstreamness),
    Measure("downstreamness", ("region", "sector"), _STAGES, _REFS["fally"],
            participation.downstreamness, "sector", outputs=_out_downstreamness),
    Measure("hypothetical_extraction", ("exporter",), _CUR, _REFS["ltv"],
            participation.hypothetical_extraction, "country",
            outputs=lambda o: _vars(["DVA_HE"], ("exporter",))),
    Measure("china_va", ("partner",), _CUR, f"docs/methods.md §6.1; {_REFS['wwz']}",
            china.value_added_obtained, "bilateral", outputs=_out_china_va,
            coords=china.declared_coords,
            needs=lambda o: frozenset({"wwz"} if o["measure"] == "wwz" else ())),
    Measure("china_efficiency", ("partner",), _ONE, f"docs/methods.md §6.2; {_REFS['wwz']}",
            china.capture_efficiency, "bilateral", outputs=_out_china_efficiency,
            coords=china.declared_coords, needs=frozenset({"wwz"})),
    Measure("final_dva_rate", ("exporter", "importer"), _ONE,
            f"docs/methods.md §6.2; {_REFS['wwz']}", china.final_dva_rate, "bilateral",
            outputs=_out_final_dva_rate),
):
    register(_m)
del _m
