"""The per-task function: one year, one block of draws, written into the result store.

It only wires library functions together::

    open_year -> Sampler.draw (draws 1..) -> IOSystem / YearSystem -> factorise
              -> measures (and network summaries) -> write_block -> mark_done

Inside a task, dask runs on the synchronous scheduler (never back on the cluster) and BLAS
runs single-threaded, whatever the cluster: the workers × threads
layout then matches the cores, and LAPACK's results do not depend on the thread count (a
2-thread OpenBLAS LU differs from a 1-thread one in the last bits), so stores are
bit-identical across the synchronous scheduler, LocalCluster and remote workers.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from typing import Any

import dask
import numpy as np
from threadpoolctl import threadpool_limits

from brgvc.core.kernels import IOSystem, SingularSystemError
from brgvc.core.leontief import YearSystem
from brgvc.draws import Sampler, draw_rng
from brgvc.runner.data import open_sd, open_year
from brgvc.runner.jobspec import Job
from brgvc.runner.measures import network_arrays, network_setup, resolve_measure
from brgvc.runner.store import (
    FAILED,
    NEG_VA,
    NET_FAILED,
    Layout,
    RunnerError,
    mark_done,
    write_block,
)

__all__ = ["BLAS_THREADS", "TaskContext", "TaskResult", "TaskSpec", "run_task"]

#: BLAS (and OpenMP) threads inside a task (fixed: results must not depend on the cluster).
BLAS_THREADS = 1


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One (year, draw-block) task.

    Attributes
    ----------
    year : int
    year_index : int
        Position of the year in the store.
    block : int
        Block number within the year.
    start, stop : int
        Draws ``start .. stop − 1`` (draw 0 is the base run).
    """

    year: int
    year_index: int
    block: int
    start: int
    stop: int

    @property
    def n(self) -> int:
        """Number of draws in the block."""
        return self.stop - self.start

    @property
    def label(self) -> str:
        """Short label, e.g. ``2011/b0 (draws 0-6)``."""
        return f"{self.year}/b{self.block} (draws {self.start}-{self.stop - 1})"


@dataclasses.dataclass(frozen=True)
class TaskContext:
    """Everything a task needs besides its :class:`TaskSpec` (small: no arrays).

    Attributes
    ----------
    job : Job
    store : str
        Path of the result store.
    layout : Layout
    regions, sectors : tuple of str
    """

    job: Job
    store: str
    layout: Layout
    regions: tuple[str, ...]
    sectors: tuple[str, ...]


@dataclasses.dataclass
class TaskResult:
    """What a finished task reports back (timings and flags; the numbers are in the store).

    Attributes
    ----------
    task : TaskSpec
    seconds : float
        Wall time inside the task function.
    read_seconds : float
        Time to open the year (0 when the worker had it cached).
    draw_seconds : list of float
        Time of each draw: perturb, rebalance, factorise, measures.
    write_seconds : float
    n_negative_va : list of int
    failed : list of bool
    worker : str
        ``host:pid`` of the process that ran it.
    """

    task: TaskSpec
    seconds: float
    read_seconds: float
    draw_seconds: list[float]
    write_seconds: float
    n_negative_va: list[int]
    failed: list[bool]
    worker: str


def _grouping(job: Job) -> Any:
    if job.grouping is None:
        return None
    from brgvc.regions import load_grouping

    return load_grouping(job.grouping)


def _put(block: np.ndarray, k: int, arr: np.ndarray, name: str) -> None:
    """Store one draw's array into its block, refusing a shape other than the layout's."""
    if arr.shape != block.shape[2:]:
        raise RunnerError(f"{name}: shape {arr.shape} differs from the layout {block.shape[2:]}")
    block[0, k] = arr


def compute_draws(ctx: TaskContext, task: TaskSpec) -> tuple[dict[str, Any], TaskResult]:
    """Compute a block's results without writing them.

    Returns
    -------
    values : dict
        Variable name -> (dims, array shaped (1, n, ...)), ready for
        :func:`~brgvc.runner.store.write_block`.
    result : TaskResult
        Timings and flags (``write_seconds`` still 0).
    """
    t0 = time.perf_counter()
    job, layout = ctx.job, ctx.layout
    base = open_year(job.data, task.year, job.gross_output)
    model = job.draws.model
    sd = open_sd(model.rse.path, task.year) if model.rse.kind == "sd" else None
    t_read = time.perf_counter() - t0
    measures = [resolve_measure(m) for m in job.measures]
    grouping = _grouping(job)
    net = None if job.network is None else network_setup(ctx.regions, job.network, grouping)
    sampler: Sampler | None = None
    dims = {v.name: v.dims for v in layout.variables}

    # The block's results as plain arrays, labelled once when the block is written.
    out = {v.name: np.full((1, task.n, *v.shape), np.nan) for v in layout.variables}
    neg = np.zeros((1, task.n), dtype=np.int32)
    failed = np.zeros((1, task.n), dtype=bool)
    net_failed = np.zeros((1, task.n), dtype=bool)
    draw_seconds = []
    for k, d in enumerate(range(task.start, task.stop)):
        td = time.perf_counter()
        if d == 0:
            table = base
        else:
            if sampler is None:
                sampler = Sampler(base, model, sd)
            table = sampler.draw(draw_rng(job.draws.seed, task.year, d))
        neg[0, k] = table.negative_va()
        system = IOSystem(table.Z, table.Yd, table.x, table.va, table.G, table.N)
        ys = YearSystem(system, ctx.regions, ctx.sectors, task.year)
        try:
            system.factorise()
        except SingularSystemError:
            failed[0, k] = True  # results stay NaN; the draw is flagged in the store
            draw_seconds.append(time.perf_counter() - td)
            continue
        for m in measures:
            for name, arr in m.arrays(ys, grouping, dims).items():
                _put(out[name], k, arr, name)
        if net is not None:
            # Every weight from the same factorised system (the solves are cached on it).
            for i, weight in enumerate(net.weights):
                try:
                    arrays = network_arrays(ys, net, weight)
                except ValueError:
                    # The network layer refused this weight matrix (NaN flows, or negative
                    # ones under the "raise" policy; the default clips and counts them): its
                    # net_* stay NaN and the draw is flagged.
                    net_failed[0, k] = True
                    continue
                for name, arr in arrays.items():
                    _put(out[name][:, :, i], k, arr, name)
        draw_seconds.append(time.perf_counter() - td)

    values: dict[str, Any] = {
        v.name: (("year", "draw", *v.dims), out[v.name]) for v in layout.variables
    }
    values[NEG_VA] = (("year", "draw"), neg)
    values[FAILED] = (("year", "draw"), failed)
    values[NET_FAILED] = (("year", "draw"), net_failed)
    result = TaskResult(
        task=task,
        seconds=time.perf_counter() - t0,
        read_seconds=t_read,
        draw_seconds=draw_seconds,
        write_seconds=0.0,
        n_negative_va=[int(v) for v in neg[0]],
        failed=[bool(v) for v in failed[0]],
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )
    return values, result


def run_task(ctx: TaskContext, task: TaskSpec) -> TaskResult:
    """Run one (year, draw-block) task and write its region of the result store.

    Idempotent: running it twice (a retry after a worker died, a resumed job) writes the same
    bytes. The done flags are written last.

    Parameters
    ----------
    ctx : TaskContext
    task : TaskSpec

    Returns
    -------
    TaskResult
    """
    t0 = time.perf_counter()
    # Inside a worker, dask's default scheduler is the cluster itself: the lazy read of the
    # year would be submitted back to it (and wait behind the other tasks). A task computes
    # everything it needs in its own thread, with single-threaded BLAS.
    with dask.config.set(scheduler="synchronous"), threadpool_limits(limits=BLAS_THREADS):
        values, result = compute_draws(ctx, task)
    tw = time.perf_counter()
    write_block(ctx.store, task.year_index, task.start, task.stop, values)
    mark_done(ctx.store, task.year_index, task.start, task.stop)
    result.write_seconds = time.perf_counter() - tw
    result.seconds = time.perf_counter() - t0
    return result
