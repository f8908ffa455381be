"""Job specifications: load YAML, validate against the published JSON schema, normalise.

A job says *what* to compute (data, years, measures, network, draws, outputs, findings,
schedule), never *where* (the cluster profile and the output folder are arguments of the
run). The schema is package data, ``brgvc/schemas/job.schema.json``; everything the schema
cannot express (measure names, years present in the data, cron syntax, grouping names) is
checked here, so that a bad job fails before any task runs, with the offending key path and
value in the message.

YAML is read with :func:`load_yaml`, a ``yaml.safe_load`` that also refuses duplicate keys
and alias bombs: a job cannot construct Python objects, run code, or expand into more nodes
than :data:`MAX_YAML_NODES`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from brgvc.draws import DrawModel
from brgvc.runner.measures import MeasureSpec, UnknownMeasureError, resolve_measure

__all__ = [
    "DrawSpec",
    "Job",
    "JobSpecError",
    "default_job_path",
    "job_schema",
    "load_job",
    "load_yaml",
]

#: Keys whose values change the result store (the others only change derived outputs).
RESULT_KEYS: tuple[str, ...] = (
    "data", "years", "grouping", "gross_output", "measures", "network", "draws",
)


class JobSpecError(ValueError):
    """An invalid job specification.

    Attributes
    ----------
    key : str or None
        Dotted path of the offending key (``draws.n``, ``measures[2]``), None for the whole
        document (malformed YAML).
    value : object
        The offending value.
    line : int or None
        1-based line of a YAML syntax error.
    """

    def __init__(
        self, message: str, key: str | None = None, value: Any = None, line: int | None = None
    ) -> None:
        super().__init__(message)
        self.key = key
        self.value = value
        self.line = line


def default_job_path() -> Path:
    """Path of the default job: the Belt and Road analysis on the embedded WIOD 2013 data.

    Returns
    -------
    pathlib.Path
        ``brgvc/data/jobs/belt_and_road.yaml`` inside the installed package.
    """
    return Path(str(files("brgvc").joinpath("data/jobs/belt_and_road.yaml")))


@functools.cache
def job_schema() -> dict[str, Any]:
    """The JSON schema of job specifications (``brgvc/schemas/job.schema.json``)."""
    return json.loads(files("brgvc").joinpath("schemas/job.schema.json").read_text("utf-8"))


@dataclasses.dataclass(frozen=True)
class DrawSpec:
    """The ``draws`` section of a job.

    Parameters
    ----------
    n : int
        Perturbed draws; the run has ``n + 1`` draws with draw 0 the unperturbed base.
    block : int
        Draws per task.
    seed : int
        Job seed.
    model : DrawModel
        Perturbation and rebalancing.
    """

    n: int = 0
    block: int = 10
    seed: int = 0
    model: DrawModel = dataclasses.field(default_factory=DrawModel)

    @property
    def total(self) -> int:
        """Number of draws including the base run (``n + 1``)."""
        return self.n + 1

    def blocks(self) -> list[tuple[int, int]]:
        """Draw ranges ``(start, stop)`` of the tasks of one year."""
        return [(s, min(s + self.block, self.total)) for s in range(0, self.total, self.block)]


@dataclasses.dataclass(frozen=True)
class Job:
    """A validated, normalised job.

    Attributes
    ----------
    spec : dict
        The normalised spec (defaults filled, years explicit), JSON-serialisable.
    name : str
    data : str
        An embedded dataset name or the resolved absolute path of a cube store.
    years : tuple of int
    grouping : str or None
    gross_output : {"balanced", "published"}
    measures : tuple of MeasureSpec
    network : dict or None
    draws : DrawSpec
    outputs : dict
        ``formats`` and ``tables``.
    schedule : dict or None
        ``cron``, ``timezone``, ``concurrency``.
    source : pathlib.Path or None
        The YAML file the job came from.
    findings : dict or None
        Options of the findings written after the run (``focal``, ``benchmarks``,
        ``expected_top_region``, ``gexf``); None when no findings are written. On by default
        for jobs with a network section.
    checks : dict
        ``allow_nonproductive`` (run years whose A has spectral radius >= 1) and
        ``resources`` (refuse tasks that do not fit a worker's memory or stores that do not
        fit the disk); not part of the hash.
    """

    spec: dict[str, Any]
    name: str
    data: str
    years: tuple[int, ...]
    grouping: str | None
    gross_output: str
    measures: tuple[MeasureSpec, ...]
    network: dict[str, Any] | None
    draws: DrawSpec
    outputs: dict[str, Any]
    schedule: dict[str, Any] | None
    source: Path | None = None
    findings: dict[str, Any] | None = None
    checks: dict[str, bool] = dataclasses.field(
        default_factory=lambda: {"allow_nonproductive": False, "resources": True}
    )

    @property
    def hash(self) -> str:
        """SHA-256 of the parts of the spec that determine the result store.

        ``outputs``, ``schedule``, ``name`` and ``description`` are left out: changing them
        does not change any stored number, so a store can be resumed under them.
        """
        part = {k: self.spec.get(k) for k in RESULT_KEYS}
        text = json.dumps(part, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> str:
        """The normalised spec as canonical JSON."""
        return json.dumps(self.spec, sort_keys=True, default=str)

    def to_yaml(self) -> str:
        """The normalised spec as YAML."""
        return yaml.safe_dump(self.spec, sort_keys=False)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


#: Most nodes a YAML document may expand to (aliases counted at every use): a job spec or a
#: cluster profile has a few hundred; an alias bomb ("billion laughs") has billions.
MAX_YAML_NODES = 100_000


class YAMLGuardError(yaml.YAMLError):
    """A YAML document refused by :func:`load_yaml` (duplicate key or too many nodes).

    Attributes
    ----------
    line : int or None
        1-based line of the offending key or alias.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes of ``root`` with every alias expanded, stopping past ``limit``.

    Aliases are shared nodes in the composed graph, so the expanded size is computed once per
    node (memoised by identity): linear in the document, however large the expansion.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:  # "&a [*a]": a recursive document never fits
            raise YAMLGuardError(
                f"recursive YAML alias at line {node.start_mark.line + 1}", node.start_mark.line + 1
            )
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        on_path.discard(key)
        sizes[key] = total
        return total

    return size(root)


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _GuardedLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """``yaml.SafeLoader`` refusing duplicate keys and documents that expand too far."""

    max_nodes = MAX_YAML_NODES

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            n = _expanded_size(node, self.max_nodes)
            if n > self.max_nodes:
                raise YAMLGuardError(
                    f"the YAML document expands to more than {self.max_nodes:,} nodes (alias "
                    "expansion bomb?); refusing to load it"
                )
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # keys merged in with "<<" may be overridden, as YAML says
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base constructor reports it
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise YAMLGuardError(
                        f"duplicate key {key!r} at line {line} (first at line {first})", line
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, where: str = "<yaml>", *, max_nodes: int = MAX_YAML_NODES) -> Any:
    """Parse one YAML document safely: plain data only, no duplicate keys, no alias bombs.

    Parameters
    ----------
    text : str
        The YAML text.
    where : str
        File name (or other label) that starts every error message.
    max_nodes : int
        Most nodes the document may expand to, aliases counted at every use.

    Returns
    -------
    object
        What ``yaml.safe_load`` returns.

    Raises
    ------
    JobSpecError
        ``<where>: duplicate key 'n' at line 7 (first at line 5)``, ``<where>: the YAML
        document expands to more than 100,000 nodes (alias expansion bomb?); refusing to load
        it``, or ``<where>: malformed YAML at line L, column C: <problem>``; ``line`` is set
        when known.
    """
    loader = _GuardedLoader(text)
    loader.max_nodes = int(max_nodes)
    try:
        return loader.get_single_data()
    except YAMLGuardError as exc:
        raise JobSpecError(f"{where}: {exc}", line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is not None:
            line, col = mark.line + 1, mark.column + 1
            raise JobSpecError(
                f"{where}: malformed YAML at line {line}, column {col}: {problem}", line=line
            ) from None
        raise JobSpecError(f"{where}: malformed YAML: {problem}") from None
    finally:
        loader.dispose()


def _read_yaml(text: str, where: str) -> Any:
    return load_yaml(text, where)


def _key_path(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _schema_errors(doc: Mapping[str, Any], where: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(job_schema())
    errors = list(validator.iter_errors(doc))
    if not errors:
        return
    err = jsonschema.exceptions.best_match(errors)
    key = _key_path(err.absolute_path)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        allowed = ", ".join(err.schema.get("properties", {}))
        raise JobSpecError(
            f"{where}: {key}: unknown key {', '.join(map(repr, extra))} (allowed: {allowed})",
            key=key if key != "(top level)" else (extra[0] if extra else None),
            value=extra,
        )
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        full = f"{key}.{missing}" if key != "(top level)" else missing
        raise JobSpecError(f"{where}: {full}: required key is missing", key=full)
    raise JobSpecError(f"{where}: {key}: {err.message}", key=key, value=err.instance)


#: Keys that must be written as integers: JSON Schema's "integer" accepts 1e9 (a float with no
#: fraction), which YAML reads from ``1.0e9``, and a count written so is most likely a slip.
_INTEGER_KEYS = (("draws", "n"), ("draws", "block"), ("draws", "seed"))


def _integer_keys(doc: Mapping[str, Any], where: str) -> None:
    for section, key in _INTEGER_KEYS:
        part = doc.get(section)
        if not isinstance(part, Mapping) or key not in part:
            continue
        value = part[key]
        if isinstance(value, float):
            hint = f" (e.g. {int(value)})" if value.is_integer() and abs(value) < 1e18 else ""
            raise JobSpecError(
                f"{where}: {section}.{key}: {value!r} is not an integer; write a whole "
                f"number{hint}",
                f"{section}.{key}",
                value,
            )


_YEAR_RANGE = re.compile(r"^\s*(\d{4})\s*-\s*(\d{4})\s*$")


def _parse_years(value: Any, available: list[int] | None, where: str) -> list[int]:
    if value is None or value == "all":
        if available is None:
            raise JobSpecError(f"{where}: years: 'all' needs the data to be readable", "years")
        return list(available)
    if isinstance(value, int):
        years = [value]
    elif isinstance(value, str):
        m = _YEAR_RANGE.match(value)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if a > b:
                raise JobSpecError(f"{where}: years: range {value!r} runs backwards", "years",
                                   value)
            years = list(range(a, b + 1))
        else:
            years = [int(value)]
    else:
        years = sorted(int(y) for y in value)
    if available is not None:
        outside = [y for y in years if y not in available]
        if outside:
            raise JobSpecError(
                f"{where}: years: {outside} outside the data "
                f"({available[0]}–{available[-1]}, {len(available)} years)",
                "years",
                outside,
            )
    return years


_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_NAMES = (
    {},
    {},
    {},
    {m: i + 1 for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])},
    {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
)


def check_cron(expr: str) -> None:
    """Raise :class:`ValueError` unless ``expr`` is a valid 5-field cron expression.

    Checks each field's numbers, ranges (not reversed), steps, lists and month/day names, then
    asks ``croniter`` too when it is installed.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"cron expression {expr!r} must have 5 fields, not {len(fields)}")
    for f, (lo, hi), names in zip(fields, _CRON_RANGES, _CRON_NAMES, strict=True):
        for part in f.lower().split(","):
            rng, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                raise ValueError(f"cron field {f!r}: bad step {step!r}")
            if rng == "*":
                continue
            bounds = rng.split("-")
            if len(bounds) > 2:
                raise ValueError(f"cron field {f!r}: bad range {rng!r}")
            vals = []
            for b in bounds:
                v = names.get(b, b)
                if isinstance(v, str) and not v.isdigit():
                    raise ValueError(f"cron field {f!r}: {b!r} is not a number")
                v = int(v)
                if not lo <= v <= hi:
                    raise ValueError(f"cron field {f!r}: {v} outside {lo}–{hi}")
                vals.append(v)
            if len(vals) == 2 and vals[0] > vals[1]:
                raise ValueError(f"cron field {f!r}: range {rng!r} runs backwards")
    try:
        from croniter import croniter
    except ImportError:
        return
    if not croniter.is_valid(expr):
        raise ValueError(f"invalid cron expression {expr!r}")


def _resolve_data(data: str, base_dir: Path | None, where: str, key: str = "data") -> str:
    from brgvc.datasets import EMBEDDED

    if data in EMBEDDED:
        return data
    p = Path(data).expanduser()
    candidates = [p] if p.is_absolute() else [*([base_dir / p] if base_dir else []), Path.cwd() / p]
    for c in candidates:
        if c.exists():
            return str(c.resolve())
    raise JobSpecError(
        f"{where}: {key}: {data!r} is neither an embedded dataset "
        f"({', '.join(sorted(EMBEDDED))}) nor an existing cube store",
        key,
        data,
    )


def load_job(
    path_or_dict: str | Path | Mapping[str, Any],
    *,
    check_data: bool = True,
) -> Job:
    """Load, validate and normalise a job specification.

    Parameters
    ----------
    path_or_dict : str, Path or mapping
        A YAML file, or the spec as a mapping (e.g. parsed already, or built in code).
    check_data : bool
        Open the data (lazily: labels and years only) to check the years and resolve
        ``years: all``. Without it, years must be explicit and are not checked.

    Returns
    -------
    Job

    Raises
    ------
    JobSpecError
        Naming the key path and value: malformed YAML (with its line), unknown or missing keys,
        wrong types, negative draws, unknown measures, years outside the data, an unknown
        grouping, a bad cron string, a missing data store or SD cube.

    Examples
    --------
    >>> job = load_job(default_job_path())
    >>> job.years[0], job.draws.n > 0
    (1995, True)
    """
    source: Path | None = None
    if isinstance(path_or_dict, Mapping):
        doc: Any = copy.deepcopy(dict(path_or_dict))
        where = "job"
        base_dir = None
    else:
        source = Path(path_or_dict)
        where = str(source)
        try:
            text = source.read_text("utf-8")
        except OSError as exc:
            raise JobSpecError(f"{where}: cannot read job file ({exc.strerror})") from None
        doc = _read_yaml(text, where)
        base_dir = source.resolve().parent
    if not isinstance(doc, Mapping):
        raise JobSpecError(
            f"{where}: a job spec must be a mapping of keys (data, years, measures, ...), "
            f"not {type(doc).__name__}",
            value=doc,
        )
    _integer_keys(doc, where)
    _schema_errors(doc, where)
    spec: dict[str, Any] = dict(doc)

    # data and years -----------------------------------------------------------------------
    data = str(spec["data"])
    available: list[int] | None = None
    if check_data:
        data = _resolve_data(data, base_dir, where)
        from brgvc.runner.data import data_info

        try:
            available = list(data_info(data).years)
        except Exception as exc:
            raise JobSpecError(f"{where}: data: cannot open {data!r}: {exc}", "data",
                               data) from None
    years = _parse_years(spec.get("years", "all"), available, where)
    spec["years"] = years

    # measures -------------------------------------------------------------------------------
    measures: list[MeasureSpec] = []
    aliases: dict[str, int] = {}
    for i, item in enumerate(spec["measures"]):
        m = MeasureSpec.from_spec(item)
        try:
            resolve_measure(m)
        except UnknownMeasureError as exc:
            raise JobSpecError(f"{where}: measures[{i}]: {exc}", f"measures[{i}]", m.name) from None
        if m.alias in aliases:
            raise JobSpecError(
                f"{where}: measures[{i}]: output name {m.alias!r} is already used by "
                f"measures[{aliases[m.alias]}]; give one of them another name with 'as:'",
                f"measures[{i}]",
                m.alias,
            )
        aliases[m.alias] = i
        measures.append(m)
    spec["measures"] = [m.to_spec() for m in measures]

    # grouping -------------------------------------------------------------------------------
    grouping = spec.get("grouping")
    if grouping is not None:
        from brgvc.regions import load_grouping

        try:
            load_grouping(grouping)
        except Exception as exc:
            raise JobSpecError(f"{where}: grouping: {exc}", "grouping", grouping) from None
    spec["grouping"] = grouping
    spec["gross_output"] = spec.get("gross_output", "balanced")

    # draws ----------------------------------------------------------------------------------
    d = dict(spec.get("draws") or {})
    d.setdefault("n", 0)
    d.setdefault("block", 10)
    d.setdefault("seed", 0)
    d.setdefault("model", "lognormal")
    d.setdefault("rse", 0.1)
    d.setdefault("tau", 0.0)
    d.setdefault("rebalance", "residual")
    try:
        model = DrawModel.from_spec(d)
    except ValueError as exc:
        raise JobSpecError(f"{where}: draws.rse: {exc}", "draws.rse", d["rse"]) from None
    d["rse"] = model.rse.to_spec()  # as written: the hash does not depend on where it lies
    if model.rse.kind == "sd" and check_data:
        sd_path = _resolve_data(str(model.rse.path), base_dir, where, "draws.rse.path")
        model = dataclasses.replace(model, rse=dataclasses.replace(model.rse, path=sd_path))
    d["tau"] = float(d["tau"])
    spec["draws"] = d
    draws = DrawSpec(int(d["n"]), int(d["block"]), int(d["seed"]), model)

    # network --------------------------------------------------------------------------------
    network = spec.get("network")
    if network is not None:
        network = {"weight": "W1", "rest": True, "store_weights": True, "negative": "clip",
                   **network}
        spec["network"] = network
    else:
        spec["network"] = None

    # findings (derived outputs: not part of the hash) -------------------------------------
    findings = spec.get("findings")
    if findings is None:
        findings = {} if network is not None else None
    elif findings is True:
        findings = {}
    elif findings is False:
        findings = None
    if findings is not None:
        findings = {"expected_top_region": "Southeast Asia", "gexf": True, **findings}
    # False, not None: a normalised spec written back to YAML must load with findings off
    # (None means "the default", which is on for a job with a network).
    spec["findings"] = findings if findings is not None else False

    # outputs and schedule -----------------------------------------------------------------
    # Parquet statistics over draws by default; per-draw tables and CSV are opt-in.
    outputs = {"formats": ["parquet"], "tables": ["summary"], **(spec.get("outputs") or {})}
    spec["outputs"] = outputs
    schedule = spec.get("schedule")
    if isinstance(schedule, str):
        schedule = {"cron": schedule}
    if schedule is not None:
        schedule = {"timezone": "UTC", "concurrency": "forbid", **schedule}
        try:
            check_cron(schedule["cron"])
        except ValueError as exc:
            raise JobSpecError(f"{where}: schedule: {exc}", "schedule", schedule["cron"]) from None
    spec["schedule"] = schedule

    checks = {"allow_nonproductive": False, "resources": True, **(spec.get("checks") or {})}
    spec["checks"] = checks

    name = str(spec.get("name") or (source.stem if source else "job"))
    spec["name"] = name
    spec["data"] = str(doc["data"])
    return Job(
        spec=spec,
        name=name,
        data=data,
        years=tuple(years),
        grouping=grouping,
        gross_output=spec["gross_output"],
        measures=tuple(measures),
        network=network,
        draws=draws,
        outputs=outputs,
        schedule=schedule,
        source=source,
        findings=findings,
        checks=checks,
    )
