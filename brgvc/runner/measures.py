"""Find measures and network summaries by name, and put their outputs into store layout.

The measures themselves live in :mod:`brgvc.measures` (``registry.get_measure(name)`` returns a
``Measure`` whose ``.func(ys, **options)`` gives an xarray Dataset or DataArray). This module
prefers that registry whenever it can be imported and falls back to a few built-ins computed
by :class:`brgvc.core.leontief.YearSystem` itself (``vby`` and ``vbe``), so that the runner
works before and after the registry lands.

The network step: when a job has a ``network`` section, the country-level weight matrix
``brgvc.network.weights.edge_weights(ys, weight)`` (W1-W4, on the full table) is restricted to
the grouping's members plus one "Rest" node and handed to
``brgvc.network.summary.summarise(W, labels, members=..., region_of=...)`` inside the task of
each (year, draw); the outputs land in the result store as ``net_*`` variables.
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
    """Country-level edge weights of one system (G × G, rows = origin, zero diagonal).

    ``brgvc.network.weights.edge_weights(ys, weight)``: W1 = S V̂BÊ S', W2 = S V̂BY, W3 = WWZ
    terms 1–8, W4 = country sums of Z, always on the full table.
    """
    mod = _network_module("weights")
    if mod is not None and hasattr(mod, "edge_weights"):
        return np.asarray(mod.edge_weights(ys, weight))
    s = ys.system
    if weight == "W1":
        W = s.vbe_country()
    elif weight == "W2":
        W = s.vby_country()
    elif weight == "W4":
        W = country_sum(country_sum(s.Z, s.G, s.N, axis=0), s.G, s.N, axis=1)
    else:
        raise NotImplementedError(
            f"network weight {weight} needs brgvc.network.weights.edge_weights, not available"
        )
    W = np.array(W, dtype=np.float64)
    np.fill_diagonal(W, 0.0)
    return W


def _backbone_kwargs(threshold: Any) -> tuple[str, dict[str, Any]]:
    """Translate one ``network.thresholds`` entry into summarise's backbone keywords."""
    if threshold is None:
        return "default", {}
    if isinstance(threshold, int | float):
        return "global", {"backbone": "threshold", "tau": float(threshold)}
    (kind, value), = dict(threshold).items()
    if kind in ("global", "threshold"):
        return "global", {"backbone": "threshold", "tau": float(value)}
    if kind == "disparity":
        return "disparity", {"backbone": "disparity", "alpha": float(value)}
    if kind in ("mean", "none"):
        return kind, {"backbone": kind}
    return str(kind), {"backbone": str(kind), **({} if value in (None, True) else
                                                  {"value": value})}


#: Options of a job's ``network`` section that the runner consumes itself (the rest of
#: ``options`` goes to ``summarise``).
NETWORK_DEFAULTS: dict[str, Any] = {"rest": True, "store_weights": True, "negative": "clip"}


def network_summary(
    ys: YearSystem, spec: Mapping[str, Any], grouping: Any = None
) -> dict[str, xr.DataArray]:
    """Run the per-(year, draw) network summary of a job's ``network`` section.

    The weight matrix ``spec["weight"]`` (W1 by default) is computed on the full table. With
    a grouping, the network's nodes are the grouping's members (matched by ISO3 code, so
    WIOD's ``ROM`` is Romania) plus, unless ``rest: false``, one node ``Rest`` summing every
    non-member, used only by the intra-group share (:func:`brgvc.network.weights.restrict`).

    ``brgvc.network.summary.summarise`` runs once, with the backbone of the first entry of
    ``thresholds`` (``{disparity: alpha}``, ``{global: share}`` or a number, ``{mean:
    true}``, ``{none: true}``); each further threshold adds only the backbone-dependent
    outputs (:data:`~brgvc.network.summary.BACKBONE_VARS`), as ``net_<backbone>_<var>``.

    Returns
    -------
    dict
        ``net_<var>`` for every scalar (dims ()) and per-node output (dims ``(node,)``, the
        members), ``net_regional`` (dims ``(net_region, net_region_to)``) with a grouping,
        and, unless ``store_weights: false``, ``net_weight`` (dims ``(net_source,
        net_sink)``: members and ``Rest``; the edge table and Gephi files are derived from
        it). ``metrics`` keeps only the named outputs (``weight`` included).
    """
    mod = _network_module("summary")
    if mod is None or not hasattr(mod, "summarise"):
        raise ImportError("brgvc.network.summary.summarise is not available")
    from brgvc.network import clip_negative
    from brgvc.network.weights import REST, member_mask, restrict

    opts = {**NETWORK_DEFAULTS, **{k: spec[k] for k in NETWORK_DEFAULTS if k in spec}}
    W = network_weights(ys, spec.get("weight", "W1"))
    labels = [str(r) for r in ys.regions]
    base_kw: dict[str, Any] = dict(spec.get("options") or {})
    base_kw.setdefault("negative", opts["negative"])
    region_of: dict[str, str] | None = None
    if grouping is not None and hasattr(grouping, "region_of"):
        mask, regs = member_mask(labels, grouping)
        if mask.any():
            W, labels, is_member = restrict(W, labels, mask, rest=REST if opts["rest"] else None)
            region_of = {lab: r for lab, r, keep in zip(
                [str(x) for x in ys.regions], regs, mask, strict=True) if keep}
            if not is_member.all():
                base_kw.setdefault("members", is_member)
            base_kw.setdefault("region_of", region_of)
            base_kw.setdefault("regions", [r for r in grouping.regions
                                           if r in set(region_of.values())])
    members = base_kw.get("members")
    node_labels = labels if members is None else [
        lab for lab, keep in zip(labels, members, strict=True) if keep]
    thresholds = list(spec.get("thresholds") or [None])
    metrics = set(spec.get("metrics") or [])
    out: dict[str, xr.DataArray] = {}

    def keep(var: str) -> bool:
        return not metrics or var in metrics

    def put(name: str, value: Any, dims: tuple[str, ...], coords: dict[str, Any]) -> None:
        out[name] = xr.DataArray(np.asarray(value, dtype=np.float64), dims=dims,
                                 coords=coords)

    node_coord = {"node": np.array(node_labels, dtype=object)}
    for k, th in enumerate(thresholds):
        label, kw = _backbone_kwargs(th)
        kwargs = {key: v for key, v in {**base_kw, **kw}.items()
                  if _accepts(mod.summarise, key)}
        if k == 0:
            res = mod.summarise(W, labels, **kwargs)
            prefix = "net"
        else:
            bb_kw = {key: v for key, v in kwargs.items()
                     if key in ("members", "backbone", "alpha", "tau", "negative")}
            res = mod.backbone_stats(W, labels, **bb_kw)
            prefix = f"net_{label}"
        for var, value in res.items():
            if var == "regions" or not keep(var):
                continue
            arr = np.asarray(value)
            if var == "regional":
                reg = np.array([str(r) for r in res["regions"]], dtype=object)
                put(f"{prefix}_{var}", arr, ("net_region", "net_region_to"),
                    {"net_region": reg, "net_region_to": reg.copy()})
            elif arr.ndim == 0:
                put(f"{prefix}_{var}", arr, (), {})
            else:
                put(f"{prefix}_{var}", arr, ("node",), node_coord)
    if opts["store_weights"] and keep("weight"):
        # Stored as the network saw them: after the negative-weight policy, so that the
        # members' block sums to net_total_flow exactly.
        seen, _, _ = clip_negative(W, base_kw["negative"])
        lab = np.array(labels, dtype=object)
        put("net_weight", seen, ("net_source", "net_sink"),
            {"net_source": lab, "net_sink": lab.copy()})
    return out
