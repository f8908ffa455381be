"""Run a job: template, tasks on a cluster (resumable), reductions from the store, tables.

Wiring only: a study's findings (``brgvc.studies``) are written by the caller (the CLI) from
the finished output folder; see :attr:`RunSummary.findings_options`.

A re-run of a finished job is a no-op: the record ``outputs.json`` (job hash, outputs spec, code
fingerprint, files) says when the summary store and the tables are current, and then neither
the cluster, the reductions nor the tables are touched.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import xarray as xr

from brgvc.runner.jobspec import Job, load_job
from brgvc.runner.store import (
    FLAG_VARS,
    ZARR_KW,
    RunnerError,
    clean_partial_writes,
    create_store,
    read_state,
)
from brgvc.storage import RunLock, claim_folder, seal_store

if TYPE_CHECKING:  # the cluster, planning and task modules load only when something runs
    from brgvc.runner.cluster import Executor
    from brgvc.runner.plan import Plan
    from brgvc.runner.task import TaskResult

__all__ = ["ResumeWarning", "RunSummary", "run_job"]

SUMMARY_NAME = "summary.zarr"


RECORD_NAME = "outputs.json"
#: Tables written when a job's ``outputs`` does not say: Parquet statistics over draws (the
#: per-draw tables, one row per (year, draw, cell), are opt-in: ``tables: [draws, ...]``).
DEFAULT_OUTPUTS: dict[str, list[str]] = {"formats": ["parquet"], "tables": ["summary"]}
#: Bumped when the tables' content or naming changes, so older tables count as stale.
TABLES_VERSION = 2


@functools.cache
def _derived_code() -> str:
    """SHA-256 of the code that derives the summary store and the tables from the store.

    The result store itself is guarded by the done-mask (and by the resume warning when the
    numerical code changed); the derived outputs only depend on the store and this code.
    """
    import brgvc

    root = Path(brgvc.__file__).resolve().parent
    h = hashlib.sha256()
    for rel in ("draws.py", "runner/execute.py", "runner/tables.py"):
        h.update(rel.encode())
        h.update((root / rel).read_bytes())
    return h.hexdigest()


def _record(job: Job, out: Path, tables: list[Path], summary: Path | None,
            counts: dict[str, int]) -> dict[str, Any]:
    """What makes a finished run's derived outputs current (see :func:`_current_outputs`)."""
    files = [str(Path(p).relative_to(out)) for p in tables]
    return {
        "job_hash": job.hash,
        "outputs": job.outputs,
        "tables_version": TABLES_VERSION,
        "code": _derived_code(),
        "summary": None if summary is None else str(Path(summary).relative_to(out)),
        "files": sorted(files),
        "counts": counts,
    }


def _write_record(out: Path, record: dict[str, Any]) -> None:
    tmp = out / f".{RECORD_NAME}.tmp"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
    tmp.replace(out / RECORD_NAME)


def _current_outputs(job: Job, out: Path) -> dict[str, Any] | None:
    """The record of ``out`` if the store is complete and every derived output is current.

    Current means: the record names this job (hash), these outputs and the same reduction and
    table code, every file it lists exists, and the store's done-mask is all true.
    """
    from brgvc.runner.plan import STORE_NAME

    try:
        rec = json.loads((out / RECORD_NAME).read_text())
    except (OSError, ValueError):
        return None
    want = {"job_hash": job.hash, "tables_version": TABLES_VERSION, "code": _derived_code()}
    if any(rec.get(k) != v for k, v in want.items()):
        return None
    if json.dumps(rec.get("outputs"), sort_keys=True, default=str) != json.dumps(
            job.outputs, sort_keys=True, default=str):
        return None
    paths = [out / f for f in rec.get("files", [])]
    if rec.get("summary"):
        paths.append(out / rec["summary"] / "zarr.json")
    if not all(p.exists() for p in paths):
        return None
    try:
        state = read_state(out / STORE_NAME)
    except Exception:  # a damaged or foreign store: the full path reports it properly
        return None
    if state is None or state.attrs.get("brgvc_job_hash") != job.hash or not state.done.all():
        return None
    return rec


def _current_summary(job: Job, out: Path, rec: dict[str, Any], seconds: float) -> RunSummary:
    from brgvc.runner.plan import STORE_NAME

    n_tasks = len(job.years) * len(job.draws.blocks())
    counts = rec.get("counts", {})
    return RunSummary(
        job=job.name, job_hash=job.hash, store=out / STORE_NAME, out=out,
        tasks_total=n_tasks, tasks_run=0, tasks_skipped=n_tasks, wall_seconds=seconds,
        task_seconds=0.0, timings={"check": seconds}, n_workers=0, cluster="none",
        tables=[out / f for f in rec.get("files", [])],
        draws_negative_va=int(counts.get("negative_va", 0)),
        draws_failed=int(counts.get("failed", 0)),
        draws_network_failed=int(counts.get("network_failed", 0)),
        findings_options=job.findings, current=True,
    )


def _flag_counts(store: Path) -> dict[str, int]:
    """(year, draw) pairs with negative value added, a singular system, a refused network."""
    flags = xr.open_zarr(store, consolidated=False, zarr_format=3)
    try:
        return {
            "negative_va": int(np.count_nonzero(flags["n_negative_va"].values > 0)),
            "failed": int(np.count_nonzero(flags["failed"].values)),
            "network_failed": int(np.count_nonzero(flags["network_failed"].values)),
        }
    finally:
        flags.close()


class ResumeWarning(UserWarning):
    """A store is resumed under numerical code that differs from the code that started it."""


@dataclasses.dataclass
class RunSummary:
    """What :func:`run_job` did.

    Attributes
    ----------
    job : str
        Job name.
    job_hash : str
    store : pathlib.Path
        The result store.
    out : pathlib.Path
        Output folder (store, summary store, tables).
    tasks_total, tasks_run, tasks_skipped : int
        ``tasks_skipped`` were already done in the store (resume).
    wall_seconds : float
        Whole call, cluster start-up included.
    task_seconds : float
        Sum of the run tasks' own wall times (the compute, as the workers saw it).
    timings : dict
        Seconds per phase: ``plan``, ``cluster``, ``tasks``, ``reduce``, ``tables``.
    n_workers : int
    cluster : str
    tables : list of pathlib.Path
    draws_negative_va : int
        (year, draw) pairs whose rebalanced table has some negative value added.
    draws_failed : int
        (year, draw) pairs whose (I − A) was singular (results NaN).
    draws_network_failed : int
        (year, draw) pairs whose network summary refused the weights (``net_*`` NaN).
    findings : list of pathlib.Path
        Files of a study's findings; empty from :func:`run_job` (the caller that writes the
        findings, e.g. the CLI, may fill it in).
    findings_options : dict or None
        The job's ``findings`` section (None: the job asks for none): what the caller hands
        to the study, e.g. ``write_findings(summary.out, summary.findings_options)``.
    current : bool
        True when the outputs were already current (nothing was run, reduced or written).
    results : list of TaskResult
        Per-task timings of this call.
    """

    job: str
    job_hash: str
    store: Path
    out: Path
    tasks_total: int
    tasks_run: int
    tasks_skipped: int
    wall_seconds: float
    task_seconds: float
    timings: dict[str, float]
    n_workers: int
    cluster: str
    tables: list[Path]
    draws_negative_va: int = 0
    draws_failed: int = 0
    draws_network_failed: int = 0
    findings: list[Path] = dataclasses.field(default_factory=list)
    findings_options: dict[str, Any] | None = None
    current: bool = False
    results: list[TaskResult] = dataclasses.field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (without per-task results)."""
        d = {k: v for k, v in dataclasses.asdict(self).items() if k != "results"}
        d["store"], d["out"] = str(self.store), str(self.out)
        d["tables"] = [str(p) for p in self.tables]
        d["findings"] = [str(p) for p in self.findings]
        return d

    def __str__(self) -> str:
        t = self.timings
        return (
            f"{self.job}: {self.tasks_total} tasks, {self.tasks_run} run, "
            f"{self.tasks_skipped} skipped (already done)"
            + (", outputs current" if self.current else "")
            + f" in {self.wall_seconds:.1f} s "
            f"on {self.cluster} [tasks {t.get('tasks', 0):.1f} s, reduce "
            f"{t.get('reduce', 0):.1f} s, tables {t.get('tables', 0):.1f} s"
            + (f", findings {t['findings']:.1f} s" if "findings" in t else "") + "]; "
            f"draws with negative value added: {self.draws_negative_va}, failed: "
            f"{self.draws_failed}"
            + (f", network refused: {self.draws_network_failed}"
               if self.draws_network_failed else "")
            + f"\nresults: {self.store}"
            + (f"\nfindings: {self.out / 'findings.md'}" if self.findings else "")
        )


class _Progress:
    """A one-line text progress report on stderr."""

    def __init__(self, total: int, skipped: int, stream: TextIO | None, label: str) -> None:
        self.total, self.skipped, self.stream, self.label = total, skipped, stream, label
        self.done = skipped
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())

    def update(self, n: int = 1, final: bool = False) -> None:
        self.done += n
        if self.stream is None:
            return
        now = time.perf_counter()
        if not (final or self.tty or now - self.last >= 2.0 or self.done == self.total):
            return
        self.last = now
        el = now - self.t0
        ran = self.done - self.skipped
        todo = self.total - self.done
        eta = f", eta {el / ran * todo:.0f} s" if ran and todo else ""
        width = 24
        fill = int(width * self.done / max(self.total, 1))
        line = (f"{self.label} [{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} "
                f"tasks ({self.skipped} skipped), {el:.0f} s{eta}")
        end = "\r" if self.tty and not final else "\n"
        print(line, end=end, file=self.stream, flush=True)


def _reduce(plan: Plan, executor: Executor) -> Path | None:
    """Statistics over draws from the result store into ``summary.zarr`` (sealed)."""
    if plan.job.draws.n < 1:
        return None
    path = reduce_store(plan.store, plan.out / SUMMARY_NAME, plan.job)
    seal_store(path, "summary")  # its files are then checked on every open, as the results'
    return path


def _summary_attrs(job: Job) -> dict[str, Any]:
    return {
        "title": "brgvc summary over bootstrap draws (draw 0, the base run, left out)",
        "brgvc_job_hash": job.hash,
        "first_year": int(job.years[0]),
        "last_year": int(job.years[-1]),
        "p_rise": "share of draws in which the value of the last year exceeds the first year's",
        "p1": "<var>_rank_p1: share of draws in which the node ranks first",
    }


def _share(flags: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean over the last axis of 0/1 ``flags`` where ``valid`` (NaN where none is)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(flags & valid, axis=-1) / np.sum(valid, axis=-1)


def reduce_store(store: Path, path: Path, job: Job) -> Path:
    """Statistics over draws of a finished result store, written to ``path`` in one go.

    For every variable and year, :func:`brgvc.draws.summarise` over all draws (base, mean,
    sd, cv, 2.5/97.5 percentiles, P(draw > base)); P(rank 1) of each node for the
    ``*_rank`` variables and P(last year > first year) per cell, over the draws 1.. that are
    not NaN. The store is read one (variable, year) at a time (memory: one year of one
    variable and the summary, which is 7 / draws of the store); the numbers equal those of
    the Dask graph :func:`reduction_graph` bit for bit, without its per-task overhead.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from brgvc.draws import summarise

    src = xr.open_zarr(store, consolidated=False, zarr_format=3, chunks=None)
    try:
        names = [str(v) for v in src.data_vars if v not in FLAG_VARS]
        ny = src.sizes["year"]
        stats: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        encoding: dict[str, dict[str, Any]] = {}
        for name in names:
            var = src[name]
            dims = var.dims[2:]
            parts = []
            first = last = None
            for yi in range(ny):
                one = var.isel(year=[yi]).load()
                parts.append(summarise(one, "draw").transpose("year", "stat", *dims))
                if yi == 0:
                    first = one.values[0]
                if yi == ny - 1:
                    last = one.values[0]
            data = np.concatenate([p.values for p in parts], axis=0)
            stats[name] = (("year", "stat", *dims), data)
            encoding[name] = {"chunks": (1, *data.shape[1:])}
            if name.endswith("_rank"):
                d = src[name].values[:, 1:]  # (year, draws, ...), base run left out
                d = np.moveaxis(d, 1, -1)
                extra[f"{name}_p1"] = (("year", *dims), _share(d == 1, ~np.isnan(d)))
                encoding[f"{name}_p1"] = {"chunks": (1, *d.shape[1:-1])}
            if ny > 1:
                f, la = np.moveaxis(first[1:], 0, -1), np.moveaxis(last[1:], 0, -1)
                extra[f"{name}_p_rise"] = (dims, _share(la > f, ~np.isnan(f) & ~np.isnan(la)))
                encoding[f"{name}_p_rise"] = {"chunks": tuple(la.shape[:-1])}
        coords = {c: (src[c].dims, np.asarray(src[c].values).astype(object)
                      if src[c].dtype.kind in "OUT" else src[c].values)
                  for c in src.coords if c != "draw"}
        coords["stat"] = ("stat", np.asarray(parts[0]["stat"].values).astype(object)) \
            if names else ("stat", np.array([], dtype=object))
    finally:
        src.close()
    ds = xr.Dataset({**stats, **extra}, coords=coords, attrs=_summary_attrs(job))
    ds.to_zarr(path, mode="w", encoding=encoding, **ZARR_KW)
    return path


def reduction_graph(plan: Plan) -> tuple[Any, xr.Dataset, Path]:
    """The lazy reduction of a finished result store into ``summary.zarr``.

    Everything is one Dask graph (read, statistics, probabilities, write), computed by the
    caller on the cluster: per variable and year, one kernel computes base, mean, sd, cv,
    2.5/97.5 percentiles and P(draw > base) over all draws; P(rise) from the first to the
    last year, and P(rank 1) for each node of every ``*_rank`` variable, are element-wise
    comparisons averaged over draws. No data passes through the client.

    Returns
    -------
    delayed : dask.delayed.Delayed
        The ``to_zarr(compute=False)`` write of the summary store.
    ds : xarray.Dataset
        The opened result store (close it after computing).
    path : pathlib.Path
        Where the summary store is written.
    """
    path = plan.out / SUMMARY_NAME
    # One chunk per year with every draw: one reduction task per (variable, year).
    ds = xr.open_zarr(plan.store, consolidated=False, zarr_format=3,
                      chunks={"year": 1, "draw": -1})
    names = [v for v in ds.data_vars if v not in FLAG_VARS]
    res = ds[names]
    from brgvc.draws import summarise

    stats = summarise(res, "draw")
    stats = stats.transpose("year", "stat", ...)
    parts = [stats]
    # P(rank 1) of every node for the network's rank variables (e.g. P(China is first)).
    ranked = [v for v in names if v.endswith("_rank")]
    if ranked:
        draws = res[ranked].isel(draw=slice(1, None))
        top = (draws == 1).where(draws.notnull()).mean("draw")
        parts.append(top.rename({v: f"{v}_p1" for v in ranked}))
    if res.sizes["year"] > 1:
        first, last = res.isel(year=0, drop=True), res.isel(year=-1, drop=True)
        # NaN (failed) draws count in neither the numerator nor the denominator.
        rise = (last > first).where(last.notnull() & first.notnull())
        rise = rise.isel(draw=slice(1, None)).mean("draw")
        rise = rise.rename({v: f"{v}_p_rise" for v in names})
        parts.append(rise)
    out = xr.merge(parts, compat="override", join="override")
    out.attrs = {
        "title": "brgvc summary over bootstrap draws (draw 0, the base run, left out)",
        "brgvc_job_hash": plan.job.hash,
        "first_year": int(plan.job.years[0]),
        "last_year": int(plan.job.years[-1]),
        "p_rise": "share of draws in which the value of the last year exceeds the first year's",
        "p1": "<var>_rank_p1: share of draws in which the node ranks first",
    }
    for name in out.data_vars:
        out[name].encoding = {}
    for c in out.coords:
        if out[c].dtype.kind == "T":
            out[c] = out[c].astype(object)
    delayed = out.to_zarr(path, mode="w", compute=False, **ZARR_KW)
    return delayed, ds, path


def run_job(
    job: Job | str | Path | dict,
    *,
    cluster: Any = "local",
    out: str | Path = "brgvc-results",
    progress: bool | TextIO = True,
) -> RunSummary:
    """Run a job, resuming whatever an earlier run of the same job left in ``out``.

    Parameters
    ----------
    job : Job, path or mapping
        A loaded job or anything :func:`~brgvc.runner.load_job` accepts.
    cluster : str, Path or distributed.Client
        ``"local"`` (LocalCluster, one single-threaded worker per core), ``"sync"``
        (synchronous scheduler, in this process), ``"tcp://host:port"``, a cluster profile
        YAML (``cluster/local.yaml``, ``cluster/slurm.yaml``) or a ``distributed.Client``.
    out : str or Path
        Output folder: ``results.zarr`` (per-draw results), ``summary.zarr`` (statistics over
        draws), ``tables/`` (Parquet summaries by default; per-draw and CSV tables on
        request), ``run.json`` (this summary) and ``outputs.json`` (the record that makes a
        re-run of the finished job a no-op). A study's findings are not written here: the
        caller hands ``summary.findings_options`` to the study.
    progress : bool or file
        Print a progress line to stderr (or to the given stream).

    Returns
    -------
    RunSummary

    Raises
    ------
    JobSpecError
        Invalid job (before anything runs).
    RunnerError
        A store of another job in ``out``, or tasks that failed (the store keeps the finished
        ones; run again to resume).
    brgvc.storage.StoreLockedError
        Another run holds ``out`` (one line naming its pid, host and start time).
    brgvc.storage.ForeignFolderError
        ``out`` is a non-empty folder that brgvc did not create (nothing is written).
    brgvc.storage.StoreDamagedError
        A chunk file of the existing store is missing or truncated (named).
    """
    if not isinstance(job, Job):
        job = load_job(job)
    # brgvc writes only into a folder it created (or found empty), one run at a time.
    with RunLock(claim_folder(out), "run"):
        return _run_locked(job, cluster, out, progress)


def _run_locked(job: Job, cluster: Any, out: str | Path, progress: bool | TextIO) -> RunSummary:
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    stream = (sys.stderr if progress is True else progress) if progress else None
    current = _current_outputs(job, Path(out))
    if current is not None:
        summary = _current_summary(job, Path(out), current, time.perf_counter() - t0)
        (Path(out) / "run.json").write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
        if stream is not None:
            print(str(summary), file=stream, flush=True)
        return summary
    # Whatever runs from here on may change the store: the record of current outputs goes.
    (Path(out) / RECORD_NAME).unlink(missing_ok=True)
    from brgvc.runner.cluster import open_executor
    from brgvc.runner.plan import check_productive_years, check_worker_memory, plan_job
    from brgvc.runner.tables import parquet_available, write_tables
    from brgvc.runner.task import run_task

    plan = plan_job(job, out)
    check_productive_years(plan)  # rho(A) >= 1 refused before the store is created
    if plan.state == "new":
        create_store(plan.store, plan.layout, plan.attrs())
    else:
        clean_partial_writes(plan.store)
        if plan.code_changed and plan.todo:
            msg = (f"{plan.store} was started with other brgvc code (the numerical modules "
                   "changed since); the blocks run now may differ from the finished ones")
            warnings.warn(msg, ResumeWarning, stacklevel=2)
    todo = plan.todo
    timings["plan"] = time.perf_counter() - t0

    results: list[TaskResult] = []
    errors: list[tuple[Any, BaseException]] = []
    tc = time.perf_counter()
    executor = open_executor(cluster)
    try:
        timings["cluster"] = time.perf_counter() - tc
        check_worker_memory(plan, executor.worker_memory)
        n_workers = executor.n_workers
        bar = _Progress(len(plan.tasks), len(plan.done), stream, f"brgvc {job.name}")
        if stream is not None:
            print(f"brgvc {job.name}: {len(todo)} of {len(plan.tasks)} tasks to run on "
                  f"{executor.description} -> {plan.store}", file=stream, flush=True)
        tt = time.perf_counter()
        ctx = plan.context()
        for task, res, err in executor.run(run_task, ctx, todo):
            if err is not None:
                errors.append((task, err))
            else:
                results.append(res)
            bar.update()
        timings["tasks"] = time.perf_counter() - tt
        if stream is not None and bar.tty:
            bar.update(0, final=True)
        if errors:
            task, err = errors[0]
            raise RunnerError(
                f"{len(errors)} of {len(todo)} tasks failed; first: {task.label}: "
                f"{type(err).__name__}: {err}. Finished tasks are kept in {plan.store}; "
                "run again to resume."
            ) from err
        state = read_state(plan.store)
        if state is None or not state.done.all():
            raise RunnerError(f"{plan.store}: some draws are not marked done after the run")
        tr = time.perf_counter()
        summary_path = _reduce(plan, executor)
        timings["reduce"] = time.perf_counter() - tr
    finally:
        executor.close()

    tt = time.perf_counter()
    formats = list(job.outputs.get("formats", DEFAULT_OUTPUTS["formats"]))
    if formats == DEFAULT_OUTPUTS["formats"] and not parquet_available():
        formats = ["csv"]  # pyarrow is optional: the default falls back to CSV without it
    tables = write_tables(
        plan.out / "tables", plan.store, summary_path,
        formats=formats,
        tables=job.outputs.get("tables", DEFAULT_OUTPUTS["tables"]),
    )
    timings["tables"] = time.perf_counter() - tt
    counts = _flag_counts(plan.store)
    summary = RunSummary(
        job=job.name,
        job_hash=job.hash,
        store=plan.store,
        out=plan.out,
        tasks_total=len(plan.tasks),
        tasks_run=len(results),
        tasks_skipped=len(plan.done),
        wall_seconds=time.perf_counter() - t0,
        task_seconds=float(sum(r.seconds for r in results)),
        timings=timings,
        n_workers=n_workers,
        cluster=executor.description,
        tables=tables,
        draws_negative_va=counts["negative_va"],
        draws_failed=counts["failed"],
        draws_network_failed=counts["network_failed"],
        findings_options=job.findings,
        results=results,
    )
    _write_record(plan.out, _record(job, plan.out, tables, summary_path, counts))
    (plan.out / "run.json").write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
    if stream is not None:
        print(str(summary), file=stream, flush=True)
    return summary
