"""Plan a job: its tasks, the result-store layout, sizes, memory, and what is already done."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path
from typing import Any

import brgvc
from brgvc.runner.data import DataInfo, data_info, data_provenance
from brgvc.runner.jobspec import Job, JobSpecError, load_job
from brgvc.runner.measures import network_available, network_layout, resolve_measure
from brgvc.runner.store import (
    Layout,
    RunnerError,
    StoreState,
    VarLayout,
    read_state,
    store_attrs,
)
from brgvc.runner.task import TaskContext, TaskSpec
from brgvc.storage import claim_folder

__all__ = [
    "MAX_TASKS",
    "Plan",
    "build_layout",
    "check_disk",
    "check_productive_years",
    "check_resources",
    "check_task_size",
    "check_worker_memory",
    "estimate_worker_memory",
    "plan_job",
]

STORE_NAME = "results.zarr"
#: Resident size of a worker process before any data (interpreter, numpy, dask, xarray).
WORKER_BASELINE_BYTES = 250 * 2**20


#: Modules whose code determines the stored numbers (the runner's own wiring included).
NUMERIC_SOURCES: tuple[str, ...] = (
    "schema.py", "datasets.py", "regions.py", "draws.py", "core", "measures", "network",
    "readers", "runner/task.py", "runner/data.py", "runner/measures.py",
)


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 of the source files that compute stored numbers (see ``NUMERIC_SOURCES``).

    Stored in the result store; resuming under a different fingerprint is allowed (a
    docstring edit changes it too) but warned about, because finished and new blocks would
    come from different code.
    """
    root = Path(brgvc.__file__).resolve().parent
    h = hashlib.sha256()
    for rel in NUMERIC_SOURCES:
        p = root / rel
        files = sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.exists() else []
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def build_layout(job: Job, info: DataInfo) -> tuple[Layout, dict[str, str]]:
    """Every output variable's dims, labels and shape, from the measures' declarations.

    Returns
    -------
    layout : Layout
    sources : dict
        Measure alias -> ``registry`` or ``builtin``.
    """
    grouping = None
    if job.grouping is not None:
        from brgvc.regions import load_grouping

        grouping = load_grouping(job.grouping)
    variables: list[VarLayout] = []
    sources: dict[str, str] = {}
    for m in job.measures:
        rm = resolve_measure(m)
        sources[m.alias] = rm.source
        variables += rm.layout(info.regions, info.sectors, grouping)
    if job.network is not None:
        if not network_available():
            raise JobSpecError(
                "network: brgvc.network.summary is not available in this installation; "
                "remove the network section to run the measures alone",
                "network",
                job.network,
            )
        try:
            variables += network_layout(info.regions, job.network, grouping)
        except NotImplementedError as exc:
            raise JobSpecError(f"network.weight: {exc}", "network.weight",
                               job.network.get("weight")) from None
        sources["net"] = "brgvc.network.summary"
    names = [v.name for v in variables]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise JobSpecError(f"measures: output variables {dup} clash; rename with 'as:'",
                           "measures", dup)
    return Layout(tuple(job.years), job.draws.total, job.draws.block, tuple(variables)), sources


def _mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.1f} MB"


@dataclasses.dataclass
class Plan:
    """What a run will do.

    Attributes
    ----------
    job : Job
    out : pathlib.Path
        Output folder.
    store : pathlib.Path
        The result store (``out/results.zarr``).
    info : DataInfo
    layout : Layout
    measure_sources : dict
    tasks : list of TaskSpec
        Every task of the job, in (year, block) order.
    done : set of (int, int)
        ``(year_index, block)`` of the tasks already complete in the store.
    state : {"new", "resume", "complete"}
    provenance : dict
        Checksums of the input files behind the job's years (and of the SD cube, if any).
    """

    job: Job
    out: Path
    store: Path
    info: DataInfo
    layout: Layout
    measure_sources: dict[str, str]
    tasks: list[TaskSpec]
    done: set[tuple[int, int]]
    state: str
    provenance: dict[str, str] = dataclasses.field(default_factory=dict)
    stored_code_hash: str | None = None

    @property
    def todo(self) -> list[TaskSpec]:
        """Tasks still to run."""
        return [t for t in self.tasks if (t.year_index, t.block) not in self.done]

    @property
    def bytes_in_per_task(self) -> int:
        """Bytes a task reads (one year's Z and Y, plus the SD cube's if used)."""
        k = 2 if self.job.draws.model.rse.kind == "sd" else 1
        return k * self.info.bytes_per_year

    @property
    def bytes_out_per_task(self) -> int:
        """Bytes a full block writes (uncompressed)."""
        return self.layout.bytes_per_draw * min(self.job.draws.block, self.job.draws.total)

    @property
    def memory_per_worker(self) -> int:
        """Estimated peak resident memory of a worker.

        Baseline process + two cached years + one perturbed copy + (I − A) factorised in place
        + the sampler's per-cell arrays (worst case: a dense table) + GRAS work arrays when
        used + the block's results. Measures that form the dense Leontief inverse add n² · 8
        bytes each.
        """
        return estimate_worker_memory(self.job, self.info, self.layout)

    @property
    def store_bytes(self) -> int:
        """Uncompressed size of the result variables in the store."""
        return self.layout.bytes_per_draw * self.job.draws.total * len(self.job.years)

    @property
    def table_rows(self) -> int:
        """Rows of the per-draw tidy tables (one per year, draw and cell, all variables)."""
        return self.store_bytes // 8

    def context(self) -> TaskContext:
        """The context every task receives."""
        return TaskContext(self.job, str(self.store), self.layout, self.info.regions,
                           self.info.sectors)

    def attrs(self) -> dict[str, Any]:
        """Attributes of a new result store."""
        return store_attrs(
            self.job.to_json(), self.job.hash, brgvc.__version__, self.provenance,
            self.info.attrs, self.layout, self.measure_sources, code_fingerprint(),
        )

    @property
    def code_changed(self) -> bool:
        """True when resuming a store written by other numerical code (see
        :func:`code_fingerprint`): the finished and the new blocks may then differ in their
        last bits, or more."""
        return self.stored_code_hash is not None and self.stored_code_hash != code_fingerprint()

    def __str__(self) -> str:
        job, info, lay = self.job, self.info, self.layout
        d = job.draws
        blocks = d.blocks()
        years = list(job.years)
        yr = f"{years[0]}–{years[-1]}" if years == list(range(years[0], years[-1] + 1)) else \
            ", ".join(map(str, years))
        lines = [
            f"job        {job.name}  (hash {job.hash[:12]})",
            f"data       {job.spec['data']}: {info.G} regions × {info.N} sectors "
            f"(n = {info.n}), {info.attrs.get('source', '')} {info.attrs.get('release', '')}",
            f"years      {yr} ({len(years)})",
            "measures   " + ", ".join(
                f"{m.alias} [{self.measure_sources.get(m.alias, m.name)}]" for m in job.measures
            ) + (f"; network {job.network.get('weight')}" if job.network else ""),
            f"draws      1 base + {d.n} {d.model.model} (rse {d.model.rse.to_spec()}, "
            f"tau {d.model.tau:g}, rebalance {d.model.rebalance}), seed {d.seed}",
            f"tasks      {len(self.tasks)} = {len(years)} years × {len(blocks)} "
            f"block{'s' if len(blocks) != 1 else ''} of ≤ {d.block} draws",
            f"per task   reads {_mb(self.bytes_in_per_task)}, writes ≤ "
            f"{_mb(self.bytes_out_per_task)}; est. memory per worker "
            f"{_mb(self.memory_per_worker)}",
            "variables  "
            + ", ".join(f"{v.name}({', '.join(('year', 'draw', *v.dims))})" for v in lay.variables),
            f"store      {self.store}  [{self.state}], {_mb(self.store_bytes)} uncompressed",
            f"tables     {', '.join(job.outputs.get('tables', []))} as "
            f"{', '.join(job.outputs.get('formats', []))}: {self.table_rows:,} rows of "
            "per-draw tables" if "draws" in job.outputs.get("tables", []) else
            f"tables     {', '.join(job.outputs.get('tables', []))} as "
            f"{', '.join(job.outputs.get('formats', []))}",
            "",
            f"{'year':>6} {'tasks':>5} {'draws':>9} {'done':>6}  status",
        ]
        for yi, y in enumerate(years):
            nd = sum(1 for b in range(len(blocks)) if (yi, b) in self.done)
            status = "done" if nd == len(blocks) else ("partly done" if nd else "to run")
            lines.append(f"{y:>6} {len(blocks):>5} {f'0–{d.total - 1}':>9} "
                         f"{f'{nd}/{len(blocks)}':>6}  {status}")
        lines.append("")
        lines.append(f"total: {len(self.tasks)} tasks, {len(self.done)} done, "
                     f"{len(self.todo)} to run")
        return "\n".join(lines)


def plan_job(job: Job | str | Path | dict, out: str | Path = "brgvc-results") -> Plan:
    """Plan a job against an output folder.

    Parameters
    ----------
    job : Job, path or mapping
        A loaded job, or anything :func:`~brgvc.runner.load_job` accepts.
    out : str or Path
        Output folder; the result store is ``out/results.zarr``.

    Returns
    -------
    Plan
        ``str(plan)`` is a readable table.

    Raises
    ------
    JobSpecError
        If the job is invalid (including a network section without the network module).
    RunnerError
        If the folder holds a result store of a different job or of other input data.
    brgvc.storage.ForeignFolderError
        If the folder is not empty and was not created by brgvc.
    brgvc.storage.StoreDamagedError
        If a chunk file of the store is missing or truncated (named).
    """
    if not isinstance(job, Job):
        job = load_job(job)
    out = Path(out)
    store = out / STORE_NAME
    info = data_info(job.data)
    layout, sources = build_layout(job, info)
    if job.checks.get("resources", True):
        check_task_size(job, info, layout)  # before a list of a billion tasks is built
    tasks = [
        TaskSpec(year, yi, b, s, e)
        for yi, year in enumerate(job.years)
        for b, (s, e) in enumerate(job.draws.blocks())
    ]
    provenance = data_provenance(job.data, job.years)
    if job.draws.model.rse.kind == "sd":
        sd_prov = data_provenance(str(job.draws.model.rse.path), job.years)
        provenance.update({f"sd:{k}": v for k, v in sd_prov.items()})
    claim_folder(out, create=False)  # refuse a foreign --out before anything runs
    state = read_state(store)
    done: set[tuple[int, int]] = set()
    status = "new"
    if state is not None:
        check_compatible(state, job, provenance, layout)
        done = {(t.year_index, t.block) for t in tasks
                if state.block_done(t.year_index, t.start, t.stop)}
        status = "complete" if len(done) == len(tasks) else "resume"
    stored = None if state is None else state.attrs.get("brgvc_code_hash")
    plan = Plan(job, out, store, info, layout, sources, tasks, done, status, provenance, stored)
    if job.checks.get("resources", True):
        check_disk(plan)
    return plan


def check_compatible(
    state: StoreState, job: Job, provenance: dict[str, str], layout: Layout
) -> None:
    """Refuse to resume a store written for another job, other inputs or another layout."""
    import json

    a = state.attrs
    if a.get("brgvc_job_hash") != job.hash:
        try:
            old = json.loads(a.get("brgvc_job", "{}"))
        except json.JSONDecodeError:
            old = {}
        diff = [k for k in ("data", "years", "grouping", "gross_output", "measures",
                            "network", "draws") if old.get(k) != job.spec.get(k)]
        raise RunnerError(
            f"{state.path} holds results of a different job (job {old.get('name', '?')!r}, "
            f"hash {str(a.get('brgvc_job_hash'))[:12]} vs {job.hash[:12]}; differs in: "
            f"{', '.join(diff) or 'spec'}). Use another --out, or delete the store to start over."
        )
    old_prov = json.loads(a.get("brgvc_input_checksums", "{}"))
    if old_prov != dict(provenance):
        changed = sorted(k for k in set(old_prov) | set(provenance)
                         if old_prov.get(k) != provenance.get(k))
        raise RunnerError(
            f"{state.path} was computed from other input data (checksums differ for "
            f"{', '.join(changed[:5])}); use another --out"
        )
    old_layout = json.loads(a.get("brgvc_layout", "{}"))
    if old_layout != layout.signature():
        raise RunnerError(
            f"{state.path} has another layout than this job now produces (the measures' "
            "outputs changed with the installed brgvc); use another --out"
        )
    if state.done.shape != (len(layout.years), layout.n_draws):
        raise RunnerError(f"{state.path}: done-mask shape {state.done.shape} does not match")


# ---------------------------------------------------------------------------------------------
# Resource guards: a job that cannot fit is refused before any task, naming the key to lower
# ---------------------------------------------------------------------------------------------

#: Most tasks a job may have (the scheduler holds every task; a million is already slow).
MAX_TASKS = 1_000_000
#: Free disk kept beyond the estimated store size: a share of it plus a fixed reserve.
DISK_MARGIN = 0.10
DISK_RESERVE_BYTES = 256 * 2**20


def _fixed_worker_bytes(job: Job, info: DataInfo) -> int:
    """A worker's memory before any result: process, cached years, copies, the LU."""
    table = info.bytes_per_year
    n2 = 8 * info.n * info.n
    model = job.draws.model
    k = 2 + 1 + (3 if job.draws.n else 0) + (2 if model.tau > 0 else 0)
    extra = 4 * table if model.rebalance == "gras" and job.draws.n else 0
    return WORKER_BASELINE_BYTES + k * table + n2 + extra


def estimate_worker_memory(job: Job, info: DataInfo, layout: Layout) -> int:
    """Estimated peak resident memory of a worker running one task of ``job`` (bytes).

    Baseline process + two cached years + one perturbed copy + (I − A) factorised in place
    + the sampler's per-cell arrays (worst case: a dense table) + GRAS work arrays when used
    + the block's results (``block`` × the bytes of one draw's results).
    """
    block = min(job.draws.block, job.draws.total)
    return _fixed_worker_bytes(job, info) + layout.bytes_per_draw * block


def check_task_size(job: Job, info: DataInfo, layout: Layout,
                    memory_limit: int | None = None) -> None:
    """Refuse a job with too many tasks or a task that cannot fit a worker's memory.

    Parameters
    ----------
    job : Job
    info : DataInfo
    layout : Layout
    memory_limit : int, optional
        A worker's memory limit in bytes; default: this machine's memory (a task that does
        not fit here fits no local worker; :func:`check_worker_memory` checks the real
        workers once the cluster is up).

    Raises
    ------
    JobSpecError
        ``draws.block: a task needs about 9,000.0 MB (block 1,000,000 × 0.1 MB of results
        per draw + 300.0 MB for the year's table, its copies and its LU), more than the
        worker memory limit of 8,000.0 MB; lower draws.block to at most 77,000`` (key
        ``draws.block``); or, for too many tasks, key ``draws.n``.
    """
    d = job.draws
    blocks = -(-d.total // d.block)
    n_tasks = blocks * len(job.years)
    if n_tasks > MAX_TASKS:
        raise JobSpecError(
            f"draws.n: {len(job.years)} years × {blocks:,} blocks = {n_tasks:,} tasks, more "
            f"than {MAX_TASKS:,}; lower draws.n ({d.n:,}) or raise draws.block ({d.block:,})",
            "draws.n", d.n,
        )
    if memory_limit is None:
        from brgvc.runner.cluster import machine_memory

        memory_limit = machine_memory()
    check_worker_memory_numbers(job, info, layout, memory_limit, "this machine's memory")


def check_resources(job: Job | str | Path | dict, out: str | Path | None = None) -> None:
    """The resource guards of :func:`plan_job` without a plan (for ``brgvc validate``).

    Checks the number of tasks and a task's memory against this machine; with ``out``, also
    the free disk under it (as :func:`plan_job` does). Nothing is checked when the job sets
    ``checks: {resources: false}``.

    Parameters
    ----------
    job : Job, path or mapping
    out : str or Path, optional
        The output folder the job would run into.

    Raises
    ------
    JobSpecError
        Naming the key to lower (``draws.n``, ``draws.block``) and the numbers.
    """
    if not isinstance(job, Job):
        job = load_job(job)
    if not job.checks.get("resources", True):
        return
    if out is not None:
        plan_job(job, out)  # runs every guard, the disk included
        return
    info = data_info(job.data)
    layout, _ = build_layout(job, info)
    check_task_size(job, info, layout)


def check_worker_memory_numbers(job: Job, info: DataInfo, layout: Layout, limit: int,
                                what: str) -> None:
    """Raise :class:`JobSpecError` when a task's estimated memory exceeds ``limit`` bytes."""
    need = estimate_worker_memory(job, info, layout)
    if need <= limit:
        return
    d = job.draws
    fixed = _fixed_worker_bytes(job, info)
    per_draw = max(layout.bytes_per_draw, 1)
    block = min(d.block, d.total)
    fits = (limit - fixed) // per_draw
    head = (f"a task needs about {_mb(need)} (block {block:,} × {_mb(per_draw)} of results "
            f"per draw + {_mb(fixed)} for the year's table, its copies and its LU), more than "
            f"{what} of {_mb(limit)}")
    if fits >= 1:
        raise JobSpecError(f"draws.block: {head}; lower draws.block to at most {fits:,}",
                           "draws.block", d.block)
    raise JobSpecError(
        f"data: {head}; even one draw per task does not fit: use workers with more memory "
        "(memory_limit / memory in the cluster profile)", "data", job.data,
    )


def check_worker_memory(plan: Plan, memory_limit: int | None) -> None:
    """Refuse a plan whose task does not fit the memory limit of the cluster's workers.

    Parameters
    ----------
    plan : Plan
    memory_limit : int or None
        The smallest worker memory limit in bytes (``Executor.worker_memory``); None
        (unknown or unlimited) checks nothing.

    Raises
    ------
    JobSpecError
        As :func:`check_task_size`, naming "the workers' memory limit".
    """
    if memory_limit is None or not plan.job.checks.get("resources", True) or not plan.todo:
        return
    check_worker_memory_numbers(plan.job, plan.info, plan.layout, int(memory_limit),
                                "the workers' memory limit")


def _existing_parent(path: Path) -> Path:
    p = path.resolve()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_disk(plan: Plan) -> None:
    """Refuse a plan whose result store would not fit the free disk under ``plan.out``.

    The estimate is the uncompressed size of the draws still to run (a resumed store needs
    only the rest), plus :data:`DISK_MARGIN` of it and :data:`DISK_RESERVE_BYTES`. The free
    space is that of the nearest existing folder above ``plan.out``.

    Raises
    ------
    JobSpecError
        ``draws.n: the result store needs about 120,000.0 MB (17 years × 1,000,001 draws ×
        0.1 MB, uncompressed, + margin) but only 50,000.0 MB are free on /data; lower
        draws.n or the years, or choose another --out`` (key ``draws.n``).
    """
    import shutil

    n_done = len(plan.done)
    n_tasks = max(len(plan.tasks), 1)
    todo = plan.store_bytes * (n_tasks - n_done) / n_tasks
    if todo <= 0:
        return
    need = int(todo * (1 + DISK_MARGIN)) + DISK_RESERVE_BYTES
    where = _existing_parent(plan.out)
    free = shutil.disk_usage(where).free
    if need <= free:
        return
    d = plan.job.draws
    raise JobSpecError(
        f"draws.n: the result store needs about {_mb(need)} ({len(plan.job.years)} years × "
        f"{d.total:,} draws × {_mb(plan.layout.bytes_per_draw)}, uncompressed, + margin"
        + (f", {n_done} of {n_tasks} tasks already done" if n_done else "")
        + f") but only {_mb(free)} are free on {where}; lower draws.n ({d.n:,}) or the "
        "years, or choose another --out",
        "draws.n", d.n,
    )


def check_productive_years(plan: Plan, years: list[int] | None = None) -> None:
    """Refuse years whose base table is not productive (ρ(A) >= 1), unless the job allows it.

    Reads each year's base table once (the first year's stays cached for a synchronous run)
    and calls :func:`brgvc.core.checks.check_productive`.

    Parameters
    ----------
    plan : Plan
    years : list of int, optional
        Default: the years that still have tasks to run.

    Raises
    ------
    brgvc.core.checks.NonProductiveError
        Naming the year, ρ(A) and the (region, sector) column with the largest column sum.
    """
    from brgvc.core.checks import check_productive
    from brgvc.runner.data import open_year

    job = plan.job
    if job.checks.get("allow_nonproductive", False):
        return
    if years is None:
        years = sorted({t.year for t in plan.todo})
    for year in years:
        table = open_year(job.data, year, job.gross_output)
        check_productive(table, year=year, labels=(plan.info.regions, plan.info.sectors))
