"""Bind a job's measures and network section to the library; nothing is recomputed here.

Measures come from :mod:`brgvc.measures.registry` (``get_measure(name)`` returns a declared
``Measure`` whose ``func(ys, **options)`` gives an xarray Dataset or DataArray), edge weights
from :func:`brgvc.network.weights.edge_weights` (W1-W4 on the full table) and the network
indicators from :func:`brgvc.network.summary.summarise`.

Each item has two faces:

* a labelled one (:meth:`ResolvedMeasure.compute`, :func:`network_summary`), run once per job
  on a synthetic probe system to learn every output's dims, labels and shape (the store
  template) -- and by anyone who wants labelled results of one system;
* a numpy one (:meth:`ResolvedMeasure.arrays`, :func:`network_arrays`), run per draw inside
  the tasks: plain arrays in the layout's dim order, labelled once per (year, draw-block) when
  the block is written.

A job's ``network.weight`` may be one weight or a list (``[W1, W2, W3, W4]``): each is computed
from the same factorised system of the draw, and every ``net_*`` variable carries a ``weight``
dim (first after ``draw``; length 1 for a single weight).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from brgvc.core.kernels import IOSystem
from brgvc.core.leontief import YearSystem
from brgvc.measures.registry import MEASURES, get_measure

if TYPE_CHECKING:
    from brgvc.runner.store import VarLayout

__all__ = [
    "MeasureSpec",
    "NetworkSetup",
    "ResolvedMeasure",
    "UnknownMeasureError",
    "available_measures",
    "network_arrays",
    "network_available",
    "network_layout",
    "network_setup",
    "network_summary",
    "network_weights",
    "probe_system",
    "resolve_measure",
]

#: Name of the dim that every ``net_*`` variable carries (the job's edge weights).
WEIGHT_DIM = "weight"


class UnknownMeasureError(LookupError):
    """A measure name that the registry does not know."""


def available_measures() -> list[str]:
    """Names of every registered measure (:data:`brgvc.measures.registry.MEASURES`)."""
    return sorted(MEASURES)


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


@functools.cache
def _accepts(func: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


@dataclasses.dataclass
class ResolvedMeasure:
    """A job's measure bound to its registered function.

    Attributes
    ----------
    spec : MeasureSpec
    func : callable
        ``func(ys, **options)`` returning an xarray Dataset or DataArray.
    source : str
        ``"registry"`` (stored in the result store's attrs).
    """

    spec: MeasureSpec
    func: Callable[..., Any]
    source: str = "registry"

    def _call(self, ys: YearSystem, grouping: Any) -> Any:
        opts = dict(self.spec.options)
        if grouping is not None and "grouping" not in opts and _accepts(self.func, "grouping"):
            opts["grouping"] = grouping
        return self.func(ys, **opts)

    def compute(self, ys: YearSystem, grouping: Any = None) -> dict[str, xr.DataArray]:
        """Run the measure and name its variables for the result store (labelled).

        A DataArray becomes the variable ``alias``; a Dataset's variable ``v`` becomes
        ``alias`` if ``v == alias``, else ``alias_v``. Scalar coordinates (``year``, ``draw``)
        are dropped.
        """
        return {name: da.drop_vars([c for c in da.coords if c not in da.dims])
                for name, da in _named_vars(self._call(ys, grouping), self.spec.alias)}

    def arrays(
        self, ys: YearSystem, grouping: Any, dims: Mapping[str, tuple[str, ...]]
    ) -> dict[str, np.ndarray]:
        """Run the measure and return plain arrays in the given dim order (per draw).

        Parameters
        ----------
        ys : YearSystem
        grouping : Grouping or None
        dims : mapping
            Variable name -> its dims in the store (from the layout learnt on the probe).

        Returns
        -------
        dict
            Variable name -> float64 array; labels are not checked here (they are the data's
            and were laid out once, from the same labels, before any task ran).
        """
        out = {}
        for name, da in _named_vars(self._call(ys, grouping), self.spec.alias):
            order = dims[name]
            if da.dims != order:
                da = da.transpose(*order)
            out[name] = np.asarray(da.data, dtype=np.float64)
        return out


    def layout(
        self, regions: Sequence[str], sectors: Sequence[str], grouping: Any = None
    ) -> list[VarLayout]:
        """The store layout of this measure's variables, from its declaration (no compute).

        Names follow :meth:`compute`: a measure with one declared variable (it returns a
        DataArray) is stored as ``alias``; otherwise variable ``v`` as ``alias_v`` (``alias``
        if ``v == alias``).
        """
        from brgvc.runner.store import VarLayout

        m = get_measure(self.spec.name)
        opts = dict(self.spec.options)
        if grouping is not None and "grouping" not in opts and "grouping" in m.options:
            opts["grouping"] = grouping
        labels = {"region": [str(r) for r in regions], "sector": [str(s) for s in sectors]}
        tmpl = m.template(labels, **opts)
        dim_labels = m.dim_labels(labels, **opts)
        alias, single = self.spec.alias, len(tmpl) == 1
        out = []
        for var, (dims, shape) in tmpl.items():
            name = alias if single or var == alias else f"{alias}_{var}"
            out.append(VarLayout(name, tuple(dims), tuple(shape),
                                 {d: tuple(dim_labels[d]) for d in dims}))
        return out


def _named_vars(out: Any, alias: str) -> list[tuple[str, xr.DataArray]]:
    if isinstance(out, xr.DataArray):
        return [(alias, out)]
    if isinstance(out, xr.Dataset):
        return [((str(v) if v == alias else f"{alias}_{v}"), out[v]) for v in out.data_vars]
    raise TypeError(f"measure {alias!r} returned {type(out).__name__}, not an xarray object")


def resolve_measure(spec: MeasureSpec) -> ResolvedMeasure:
    """Bind a measure name to its registered function.

    Raises
    ------
    UnknownMeasureError
        With the list of known names.
    """
    try:
        m = get_measure(spec.name)
    except KeyError as exc:
        raise UnknownMeasureError(str(exc.args[0])) from None
    return ResolvedMeasure(spec, m.func)


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
# Network
# ---------------------------------------------------------------------------------------------


def network_available() -> bool:
    """True: the network layer ships with brgvc (kept for callers that still ask)."""
    return True


def network_weights(ys: YearSystem, weight: str) -> np.ndarray:
    """Country-level edge weights of one system (G × G, rows = origin, zero diagonal).

    :func:`brgvc.network.weights.edge_weights`: W1 = S V̂BÊ S', W2 = S V̂BY, W3 = WWZ terms 1-8,
    W4 = country sums of Z, always on the full table.
    """
    from brgvc.network.weights import edge_weights

    return np.asarray(edge_weights(ys, weight))


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


def weight_names(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The job's edge weights as a tuple (``weight: W1`` -> ``("W1",)``)."""
    w = spec.get("weight", "W1")
    return (str(w),) if isinstance(w, str) else tuple(str(x) for x in w)


@dataclasses.dataclass(frozen=True)
class NetworkSetup:
    """A job's network section prepared once per task (everything but the draw's weights).

    Attributes
    ----------
    weights : tuple of str
        The edge weights (``W1`` ...), in the order of the ``weight`` dim.
    regions_all : tuple of str
        The table's regions (rows of the full weight matrix).
    mask : ndarray of bool or None
        Members among the table's regions (None: no grouping, or no member).
    rest : str or None
        Label of the node summing the non-members.
    labels : tuple of str
        Nodes of the weight matrix handed to ``summarise`` (members, then ``rest``).
    nodes : tuple of str
        The network's nodes (the ``node`` dim): members only.
    regions : tuple of str or None
        Grouping regions of ``net_regional`` (None without a grouping).
    first : dict
        Keywords of ``summarise`` (first threshold).
    further : tuple of (str, dict)
        Prefix and ``backbone_stats`` keywords of each further threshold.
    metrics : frozenset of str
        Outputs kept (empty: all).
    store_weights : bool
    negative : str
        Negative-weight policy.
    """

    weights: tuple[str, ...]
    regions_all: tuple[str, ...]
    mask: np.ndarray | None
    rest: str | None
    labels: tuple[str, ...]
    nodes: tuple[str, ...]
    regions: tuple[str, ...] | None
    first: Mapping[str, Any]
    further: tuple[tuple[str, Mapping[str, Any]], ...]
    metrics: frozenset[str]
    store_weights: bool
    negative: str

    def keep(self, var: str) -> bool:
        """True when the job keeps the output ``var``."""
        return not self.metrics or var in self.metrics


def network_setup(
    regions: Sequence[str], spec: Mapping[str, Any], grouping: Any = None
) -> NetworkSetup:
    """Prepare a job's ``network`` section for a table with these region labels.

    With a grouping, the network's nodes are the grouping's members (matched by ISO3 code, so
    WIOD's ``ROM`` is Romania) plus, unless ``rest: false``, one node ``Rest`` summing every
    non-member, used only by the intra-group share (:func:`brgvc.network.weights.restrict`).
    ``summarise`` runs with the backbone of the first entry of ``thresholds`` (``{disparity:
    alpha}``, ``{global: share}`` or a number, ``{mean: true}``, ``{none: true}``); each
    further threshold adds only the backbone-dependent outputs
    (:data:`~brgvc.network.summary.BACKBONE_VARS`), as ``net_<backbone>_<var>``.
    """
    from brgvc.network.summary import summarise
    from brgvc.network.weights import REST, member_mask, restrict

    opts = {**NETWORK_DEFAULTS, **{k: spec[k] for k in NETWORK_DEFAULTS if k in spec}}
    labels = [str(r) for r in regions]
    base_kw: dict[str, Any] = dict(spec.get("options") or {})
    base_kw.setdefault("negative", opts["negative"])
    mask = None
    rest = REST if opts["rest"] else None
    if grouping is not None and hasattr(grouping, "region_of"):
        m, regs = member_mask(labels, grouping)
        if m.any():
            mask = m
            # Only the labels and the member flags of the restricted matrix are needed here.
            _, sub, is_member = restrict(np.zeros((len(labels),) * 2), labels, m, rest=rest)
            region_of = {lab: r for lab, r, keep in zip(labels, regs, m, strict=True) if keep}
            if not is_member.all():
                base_kw.setdefault("members", is_member)
            base_kw.setdefault("region_of", region_of)
            base_kw.setdefault("regions", [r for r in grouping.regions
                                           if r in set(region_of.values())])
            labels = [str(x) for x in sub]
    members = base_kw.get("members")
    nodes = labels if members is None else [
        lab for lab, keep in zip(labels, members, strict=True) if keep]
    thresholds = list(spec.get("thresholds") or [None])
    first: dict[str, Any] = {}
    further = []
    for k, th in enumerate(thresholds):
        label, kw = _backbone_kwargs(th)
        kwargs = {key: v for key, v in {**base_kw, **kw}.items() if _accepts(summarise, key)}
        if k == 0:
            first = kwargs
        else:
            further.append((f"net_{label}", {key: v for key, v in kwargs.items() if key in (
                "members", "backbone", "alpha", "tau", "negative")}))
    regions_ = base_kw.get("regions")
    return NetworkSetup(
        weights=weight_names(spec), regions_all=tuple(str(r) for r in regions), mask=mask,
        rest=rest, labels=tuple(labels),
        nodes=tuple(nodes), regions=None if regions_ is None else tuple(map(str, regions_)),
        first=first, further=tuple(further), metrics=frozenset(spec.get("metrics") or []),
        store_weights=bool(opts["store_weights"]), negative=str(base_kw["negative"]),
    )


def _network_dims(var: str, ndim: int) -> tuple[str, ...]:
    if var == "net_weight":
        return ("net_source", "net_sink")
    if var.endswith("_regional"):
        return ("net_region", "net_region_to")
    return () if ndim == 0 else ("node",)


def network_arrays(ys: YearSystem, setup: NetworkSetup, weight: str) -> dict[str, np.ndarray]:
    """The network outputs of one system for one edge weight, as plain arrays.

    Returns
    -------
    dict
        ``net_<var>`` -> array: scalars (shape ()), per-node outputs ((nodes,)),
        ``net_regional`` ((regions, regions)) with a grouping, and unless ``store_weights:
        false`` ``net_weight`` ((labels, labels): members and ``Rest``, after the
        negative-weight policy, so that the members' block sums to ``net_total_flow``).

    Raises
    ------
    ValueError
        When the network layer refuses the weights (NaN, or negative under ``raise``).
    """
    return _network_from_weights(network_weights(ys, weight), setup)


def _network_from_weights(W: np.ndarray, setup: NetworkSetup) -> dict[str, np.ndarray]:
    from brgvc.network import clip_negative
    from brgvc.network.summary import backbone_stats, summarise
    from brgvc.network.weights import restrict

    if setup.mask is not None:
        W, _, _ = restrict(W, list(setup.regions_all), setup.mask, rest=setup.rest)
    labels = list(setup.labels)
    out: dict[str, np.ndarray] = {}
    parts = [("net", summarise(W, labels, **setup.first))]
    parts += [(prefix, backbone_stats(W, labels, **kw)) for prefix, kw in setup.further]
    for prefix, res in parts:
        for var, value in res.items():
            if var == "regions" or not setup.keep(var):
                continue
            out[f"{prefix}_{var}"] = np.asarray(value, dtype=np.float64)
    if setup.store_weights and setup.keep("weight"):
        seen, _, _ = clip_negative(W, setup.negative)
        out["net_weight"] = np.asarray(seen, dtype=np.float64)
    return out


def _network_coords(setup: NetworkSetup, dims: tuple[str, ...]) -> dict[str, np.ndarray]:
    lab = {"node": setup.nodes, "net_source": setup.labels, "net_sink": setup.labels,
           "net_region": setup.regions, "net_region_to": setup.regions}
    return {d: np.array(list(lab[d]), dtype=object) for d in dims if lab.get(d) is not None}


def network_summary(
    ys: YearSystem, spec: Mapping[str, Any], grouping: Any = None
) -> dict[str, xr.DataArray]:
    """The per-(year, draw) network summary of a job's ``network`` section, labelled.

    Every weight of ``spec["weight"]`` (one name or a list; W1 by default) is computed on the
    full table of ``ys`` (factorised once) and summarised (see :func:`network_setup`).

    Returns
    -------
    dict
        ``net_<var>`` -> DataArray with dims ``(weight, ...)``: scalars, per-node outputs
        (``node``: the members), ``net_regional`` (``net_region, net_region_to``) with a
        grouping, and, unless ``store_weights: false``, ``net_weight`` (``net_source,
        net_sink``: members and ``Rest``). ``metrics`` keeps only the named outputs.

    Raises
    ------
    ValueError
        When the network layer refuses one weight matrix.
    """
    setup = network_setup([str(r) for r in ys.regions], spec, grouping)
    per_weight = [network_arrays(ys, setup, w) for w in setup.weights]
    out = {}
    for name, first in per_weight[0].items():
        dims = _network_dims(name, first.ndim)
        coords = {WEIGHT_DIM: np.array(setup.weights, dtype=object),
                  **_network_coords(setup, dims)}
        out[name] = xr.DataArray(np.stack([p[name] for p in per_weight]),
                                 dims=(WEIGHT_DIM, *dims), coords=coords)
    return out


def network_layout(
    regions: Sequence[str], spec: Mapping[str, Any], grouping: Any = None
) -> list[VarLayout]:
    """The store layout of a job's ``net_*`` variables, without any table.

    The network indicators run once on a synthetic weight matrix over the table's regions
    (only the names and shapes of the outputs are kept), so the layout does not depend on data.
    """
    from brgvc.runner.store import VarLayout

    setup = network_setup(regions, spec, grouping)
    G = len(setup.regions_all)
    W = np.ones((G, G)) + np.arange(G * G, dtype=np.float64).reshape(G, G) / (G * G)
    np.fill_diagonal(W, 0.0)
    out = []
    for name, arr in _network_from_weights(W, setup).items():
        dims = _network_dims(name, arr.ndim)
        coords = {WEIGHT_DIM: setup.weights,
                  **{d: tuple(v) for d, v in _network_coords(setup, dims).items()}}
        out.append(VarLayout(name, (WEIGHT_DIM, *dims), (len(setup.weights), *arr.shape),
                             coords))
    return out
