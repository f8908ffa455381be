"""Find measures and network summaries by name, and put their outputs into store layout.

The measures themselves live in :mod:`brgvc.measures` (``registry.get_measure(name)`` returns a
``Measure`` whose ``.func(ys, **options)`` gives an xarray Dataset or DataArray). This module
prefers that registry whenever it can be imported and falls back to a few built-ins computed
by :class:`brgvc.core.leontief.YearSystem` itself (``vby`` and ``vbe``), so that the runner
works before and after the registry lands.

The network step is a hook: when a job has a ``network`` section, a country-level weight
matrix is taken from the year's system (W1, W2, W4 here; anything from
``brgvc.network.weights.edge_weights`` when that exists) and handed to
``brgvc.network.summary.summarise(W, labels, ...)``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from brgvc.core.kernels import IOSystem, country_sum
from brgvc.core.leontief import YearSystem

__all__ = [
    "BUILTIN_MEASURES",
    "MeasureSpec",
    "ResolvedMeasure",
    "available_measures",
    "network_available",
    "probe_system",
    "resolve_measure",
]


class UnknownMeasureError(LookupError):
    """A measure name that neither the registry nor the built-ins know."""


def _builtin_vby(ys: YearSystem, level: str = "country") -> xr.DataArray:
    """V̂BY at country (source, sink) or sector level (see :meth:`YearSystem.vby`)."""
    return ys.vby(level)


def _builtin_vbe(ys: YearSystem, level: str = "country") -> xr.DataArray:
    """V̂BÊ at country (source, exporter) or finer level (see :meth:`YearSystem.vbe`)."""
    return ys.vbe(level)


#: Measures the runner can compute without :mod:`brgvc.measures`.
BUILTIN_MEASURES: dict[str, Callable[..., xr.DataArray | xr.Dataset]] = {
    "vby": _builtin_vby,
    "vbe": _builtin_vbe,
}


def _registry():
    """Return the measures registry module, or None while it does not exist."""
    try:
        return importlib.import_module("brgvc.measures.registry")
    except ImportError:
        return None


def _registry_names(reg) -> list[str]:
    for attr in ("available_measures", "list_measures", "available", "names"):
        fn = getattr(reg, attr, None)
        if callable(fn):
            try:
                return [str(n) for n in fn()]
            except TypeError:
                continue
    for attr in ("MEASURES", "REGISTRY", "registry"):
        d = getattr(reg, attr, None)
        if isinstance(d, Mapping):
            return [str(n) for n in d]
    return []


def available_measures() -> list[str]:
    """Names of every measure the runner can compute (registry first, then built-ins)."""
    names: list[str] = []
    reg = _registry()
    if reg is not None:
        names.extend(_registry_names(reg))
    names.extend(n for n in BUILTIN_MEASURES if n not in names)
    return sorted(set(names))


@dataclasses.dataclass(frozen=True)
class MeasureSpec:
    """One entry of a job's ``measures`` list.

    Parameters
    ----------
    name : str
        Registered measure name.
    alias : str
        Name of its variable(s) in the result store (``as:`` in the spec; default the name).
    options : dict
        Keyword options for the measure function.
    """

    name: str
    alias: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_spec(cls, item: str | Mapping[str, Any]) -> MeasureSpec:
        """Build from a job-spec item: a name or a mapping with ``name`` and options."""
        if isinstance(item, str):
            return cls(item, item, {})
        d = dict(item)
        name = str(d.pop("name"))
        alias = str(d.pop("as", name))
        return cls(name, alias, d)

    def to_spec(self) -> dict[str, Any]:
        """The normalised job-spec mapping."""
        out: dict[str, Any] = {"name": self.name}
        if self.alias != self.name:
            out["as"] = self.alias
        out.update(self.options)
        return out


@dataclasses.dataclass
class ResolvedMeasure:
    """A measure bound to its function.

    Attributes
    ----------
    spec : MeasureSpec
    func : callable
        ``func(ys, **options)`` returning an xarray Dataset or DataArray.
    source : {"registry", "builtin"}
    """

    spec: MeasureSpec
    func: Callable[..., Any]
    source: str

    def compute(self, ys: YearSystem, grouping: Any = None) -> dict[str, xr.DataArray]:
        """Run the measure and name its variables for the result store.

        A DataArray becomes the variable ``alias``; a Dataset's variable ``v`` becomes
        ``alias`` if ``v == alias``, else ``alias_v``. Scalar coordinates (``year``, ``draw``)
        are dropped.
        """
        opts = dict(self.spec.options)
        if grouping is not None and "grouping" not in opts and _accepts(self.func, "grouping"):
            opts["grouping"] = grouping
        out = self.func(ys, **opts)
        return _named_vars(out, self.spec.alias)


def _accepts(func: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _named_vars(out: Any, alias: str) -> dict[str, xr.DataArray]:
    if isinstance(out, xr.DataArray):
        items = {alias: out}
    elif isinstance(out, xr.Dataset):
        items = {(v if v == alias else f"{alias}_{v}"): out[v] for v in out.data_vars}
    elif isinstance(out, Mapping):
        items = {(str(k) if str(k) == alias else f"{alias}_{k}"): xr.DataArray(v)
                 if not isinstance(v, xr.DataArray) else v for k, v in out.items()}
    else:
        items = {alias: xr.DataArray(np.asarray(out))}
    result = {}
    for name, da in items.items():
        drop = [c for c in da.coords if c not in da.dims]
        result[name] = da.drop_vars(drop)
    return result


def resolve_measure(spec: MeasureSpec) -> ResolvedMeasure:
    """Bind a measure name to its function: the registry's when it knows it, else a built-in.

    Raises
    ------
    UnknownMeasureError
        With the list of known names.
    """
    reg = _registry()
    if reg is not None and hasattr(reg, "get_measure"):
        try:
            m = reg.get_measure(spec.name)
        except (KeyError, LookupError, ValueError):
            m = None
        if m is not None:
            func = getattr(m, "func", m)
            return ResolvedMeasure(spec, func, "registry")
    if spec.name in BUILTIN_MEASURES:
        return ResolvedMeasure(spec, BUILTIN_MEASURES[spec.name], "builtin")
    raise UnknownMeasureError(
        f"unknown measure {spec.name!r}; known measures: {', '.join(available_measures())}"
    )


# ---------------------------------------------------------------------------------------------
# Probe: the shapes and labels of every output, without reading any data
# ---------------------------------------------------------------------------------------------


def probe_system(regions: list[str], sectors: list[str], year: int = 0) -> YearSystem:
    """A small, well-conditioned synthetic system with the data's labels.

    Used to learn the dims, labels and shapes of every measure's output before any task runs
    (the result-store template), without reading the data: A has column sums 0.3, Y shares the
    rest evenly across destinations.
    """
    G, N = len(regions), len(sectors)
    n = G * N
    Z = np.full((n, n), 0.3 / n)
    Yd = np.full((n, G), 0.7 / G)
    x = np.ones(n)
    va = x - Z.sum(0)
    return YearSystem(IOSystem(Z, Yd, x, va, G, N), regions, sectors, year)


# ---------------------------------------------------------------------------------------------
# Network hook
# ---------------------------------------------------------------------------------------------


def _network_module(name: str):
    try:
        return importlib.import_module(f"brgvc.network.{name}")
    except ImportError:
        return None


def network_available() -> bool:
    """True when ``brgvc.network.summary.summarise`` can be imported."""
    mod = _network_module("summary")
    return mod is not None and hasattr(mod, "summarise")


def network_weights(ys: YearSystem, weight: str) -> np.ndarray:
    """Country-level edge weights of one system (G × G, rows = origin).

    W1 = S V̂BÊ S' (source, exporter) and W2 = S V̂BY (source, sink) come from the system; W4 =
    the country aggregate of Z. ``brgvc.network.weights.edge_weights(ys, weight)`` is used
    instead whenever it exists (and is needed for W3, the WWZ terms 1–8).
    """
    mod = _network_module("weights")
    if mod is not None and hasattr(mod, "edge_weights"):
        return np.asarray(mod.edge_weights(ys, weight))
    s = ys.system
    if weight == "W1":
        return s.vbe_country()
    if weight == "W2":
        return s.vby_country()
    if weight == "W4":
        return country_sum(country_sum(s.Z, s.G, s.N, axis=0), s.G, s.N, axis=1)
    raise NotImplementedError(
        f"network weight {weight} needs brgvc.network.weights.edge_weights, not available yet"
    )


def _backbone_kwargs(threshold: Any) -> tuple[str, dict[str, Any]]:
    """Translate one ``network.thresholds`` entry into summarise's backbone keywords."""
    if threshold is None:
        return "default", {}
    if isinstance(threshold, int | float):
        return "threshold", {"backbone": "threshold", "tau": float(threshold)}
    (kind, value), = dict(threshold).items()
    if kind in ("global", "threshold"):
        return "threshold", {"backbone": "threshold", "tau": float(value)}
    if kind == "disparity":
        return "disparity", {"backbone": "disparity", "alpha": float(value)}
    if kind in ("mean", "none"):
        return kind, {"backbone": kind}
    return str(kind), {"backbone": str(kind), **({} if value in (None, True) else
                                                  {"value": value})}


def network_summary(
    ys: YearSystem, spec: Mapping[str, Any], grouping: Any = None
) -> dict[str, xr.DataArray]:
    """Run the per-(year, draw) network summary of a job's ``network`` section.

    One call of ``brgvc.network.summary.summarise`` per entry of ``thresholds`` (its backbone
    for the binary statistics: ``{disparity: alpha}``, ``{global: share}`` or a number,
    ``{mean: true}``, ``{none: true}``). With a grouping, the network is the grouping's
    members (``members=``) and regional flows use its regions (``region_of=``). Outputs are
    named ``net_<var>`` (``net_<backbone>_<var>`` with several thresholds) and their dims
    prefixed ``net_`` (``net_node``, ``net_region``, ``net_region_to``) so that they never
    clash with the measures' dims; ``metrics`` keeps only the named outputs.
    """
    mod = _network_module("summary")
    if mod is None or not hasattr(mod, "summarise"):
        raise ImportError("brgvc.network.summary.summarise is not available")
    W = network_weights(ys, spec.get("weight", "W1"))
    labels = np.array([str(r) for r in ys.regions], dtype=object)
    base_kw: dict[str, Any] = dict(spec.get("options") or {})
    node_labels = labels
    if grouping is not None and hasattr(grouping, "region_of"):
        region_of = {lab: grouping.region_of(lab) for lab in labels}
        members = np.array([region_of[lab] is not None for lab in labels])
        if members.any():
            if _accepts(mod.summarise, "members"):
                base_kw.setdefault("members", members)
                node_labels = labels[members]
            if _accepts(mod.summarise, "region_of"):
                base_kw.setdefault("region_of", {k: v for k, v in region_of.items()
                                                 if v is not None})
    thresholds = list(spec.get("thresholds") or [None])
    metrics = set(spec.get("metrics") or [])
    out: dict[str, xr.DataArray] = {}
    for th in thresholds:
        label, kw = _backbone_kwargs(th)
        kwargs = {k: v for k, v in {**base_kw, **kw}.items() if _accepts(mod.summarise, k)}
        res = mod.summarise(W, list(labels), **kwargs)
        if isinstance(res, Mapping) and hasattr(mod, "summary_to_dataset"):
            res = mod.summary_to_dataset([res], list(node_labels), [0], [0]).isel(
                year=0, draw=0, drop=True)
        prefix = "net" if len(thresholds) == 1 else f"net_{label}"
        for name, arr in _named_vars(res, prefix).items():
            var = name[len(prefix) + 1:] if name.startswith(prefix + "_") else name
            if metrics and var not in metrics:
                continue
            arr = arr.rename({d: f"net_{d}" for d in arr.dims if not str(d).startswith("net_")})
            out[name] = arr.astype(np.float64)
    return out
