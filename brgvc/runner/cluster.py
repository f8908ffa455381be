"""Where a job runs: the synchronous scheduler, a LocalCluster, an address, or a profile YAML.

A cluster profile says *where* (never *what*)::

    kind: local            # local | address | slurm | sync
    n_workers: auto        # local: one single-threaded worker process per core
    threads_per_worker: 1
    memory_limit: auto

    kind: address
    address: tcp://10.0.0.5:8786

    kind: slurm            # or pbs; both need the optional dask-jobqueue
    jobs: 4
    cores: 8               # one single-threaded worker process per core
    memory: 32GB
    walltime: "02:00:00"
    queue: null
    account: null

Every executor yields task results as they complete (in any order: the store does not care)
and runs the reductions inside the same Dask cluster.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import dask
import yaml

from brgvc.runner.store import RunnerError

__all__ = ["Executor", "cores", "load_profile", "open_executor"]

PROFILE_KINDS = ("local", "address", "slurm", "pbs", "sync")


def cores() -> int:
    """Number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Executor:
    """Runs task functions and Dask collections somewhere.

    Attributes
    ----------
    description : str
        e.g. ``LocalCluster 2 × 1 thread``.
    """

    description = "synchronous"

    @property
    def n_workers(self) -> int:
        """Number of worker processes (1 for the synchronous scheduler)."""
        return 1

    def run(
        self, fn: Callable[..., Any], ctx: Any, tasks: Sequence[Any]
    ) -> Iterator[tuple[Any, Any, BaseException | None]]:
        """Run ``fn(ctx, task)`` for every task; yield ``(task, result, error)`` as they end."""
        for t in tasks:
            try:
                res = dask.delayed(fn, pure=False)(ctx, t).compute(scheduler="synchronous")
            except Exception as exc:
                yield t, None, exc
            else:
                yield t, res, None

    def compute(self, *objs: Any) -> tuple[Any, ...]:
        """Compute Dask collections on this executor."""
        return dask.compute(*objs, scheduler="synchronous")

    def close(self) -> None:
        """Release the cluster (if this executor started it)."""


class DistributedExecutor(Executor):
    """An executor on a ``distributed.Client``.

    Parameters
    ----------
    client : distributed.Client
    owned : list
        Objects to close on :meth:`close` (the client and a cluster this executor started).
    description : str
    """

    def __init__(self, client: Any, owned: Iterable[Any] = (), description: str = "") -> None:
        self.client = client
        self.owned = list(owned)
        self.description = description or f"distributed {client.scheduler.address}"

    @property
    def n_workers(self) -> int:
        """Number of workers currently connected."""
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))

    def run(self, fn, ctx, tasks):
        """Submit every task at once; yield them as they complete."""
        from distributed import as_completed

        if not tasks:
            return
        futures = {}
        for t in tasks:
            key = f"brgvc-task-{getattr(t, 'year', 'x')}-{getattr(t, 'block', 'x')}-" \
                  f"{uuid.uuid4().hex[:12]}"
            futures[self.client.submit(fn, ctx, t, key=key, pure=False)] = t
        try:
            for fut in as_completed(list(futures), loop=self.client.loop):
                t = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:
                    yield t, None, exc
                else:
                    yield t, res, None
                fut.release()
        finally:
            for fut in futures:
                if not fut.done():
                    fut.cancel()

    def compute(self, *objs):
        """Compute Dask collections on the cluster."""
        futs = self.client.compute(list(objs))
        return tuple(self.client.gather(futs))

    def close(self) -> None:
        """Close the client, then any cluster this executor started."""
        for obj in self.owned:
            with contextlib.suppress(Exception):
                obj.close()


def load_profile(path: str | Path) -> dict[str, Any]:
    """Read a cluster profile YAML (see module docstring) with a clear error on bad keys."""
    path = Path(path)
    try:
        prof = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RunnerError(f"{path}: cannot read cluster profile: {exc}") from None
    if not isinstance(prof, dict):
        raise RunnerError(f"{path}: a cluster profile must be a mapping")
    kind = prof.get("kind", "local")
    if kind not in PROFILE_KINDS:
        raise RunnerError(f"{path}: kind {kind!r} is not one of {PROFILE_KINDS}")
    prof["kind"] = kind
    return prof


def _auto(value: Any, default: Any) -> Any:
    return default if value in (None, "auto") else value


def _local(n_workers: int | None = None, threads_per_worker: int = 1,
           memory_limit: Any = "auto", **kwargs: Any) -> DistributedExecutor:
    from distributed import Client, LocalCluster

    n = int(_auto(n_workers, cores()))
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=int(threads_per_worker),
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit=_auto(memory_limit, "auto"),
        silence_logs=logging.ERROR,
        **kwargs,
    )
    client = Client(cluster, set_as_default=False)
    return DistributedExecutor(client, [client, cluster],
                               f"LocalCluster {n} × {threads_per_worker} thread")


def _address(address: str, timeout: str = "30s") -> DistributedExecutor:
    from distributed import Client

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except OSError as exc:
        raise RunnerError(f"cannot connect to the Dask scheduler at {address}: {exc}") from None
    return DistributedExecutor(client, [client], f"scheduler {address}")


def _jobqueue(kind: str, prof: dict[str, Any], where: str) -> DistributedExecutor:
    """A dask-jobqueue cluster (SLURM or PBS) scaled to ``jobs`` batch jobs."""
    try:
        if kind == "pbs":
            from dask_jobqueue import PBSCluster as JobQueueCluster
        else:
            from dask_jobqueue import SLURMCluster as JobQueueCluster
    except ImportError:
        raise RunnerError(
            f"{where}: {kind.upper()} profiles need the optional dask-jobqueue package "
            "(pip install 'brgvc[hpc]')"
        ) from None
    from distributed import Client

    cores_per_job = int(prof.get("cores", 1))
    kwargs = {
        "cores": cores_per_job,
        "processes": int(prof.get("processes", cores_per_job)),  # 1 thread per worker
        "memory": prof.get("memory", "4GB"),
        "walltime": prof.get("walltime", "01:00:00"),
    }
    keys = ["queue", "account", "job_extra_directives", "job_script_prologue", "interface",
            "local_directory", "log_directory", "python"]
    if kind == "pbs":
        keys.append("resource_spec")
    for key in keys:
        if prof.get(key) is not None:
            kwargs[key] = prof[key]
    cluster = JobQueueCluster(**kwargs)
    cluster.scale(jobs=int(prof.get("jobs", 1)))
    client = Client(cluster, set_as_default=False)
    return DistributedExecutor(client, [client, cluster],
                               f"{kind.upper()} {prof.get('jobs', 1)} jobs × {cores_per_job} cores")


def open_executor(cluster: Any = "local") -> Executor:
    """Start (or connect to) the cluster named by ``cluster``.

    Parameters
    ----------
    cluster : str, Path or distributed.Client
        ``"local"`` (LocalCluster: one single-threaded worker process per core, on
        127.0.0.1), ``"sync"`` (synchronous scheduler in this process), ``"tcp://host:port"``
        (an existing scheduler), the path of a cluster profile YAML, or a
        ``distributed.Client`` (used as is, not closed).

    Returns
    -------
    Executor
        Close it with :meth:`Executor.close`.
    """
    if not isinstance(cluster, str | Path):
        if hasattr(cluster, "submit") and hasattr(cluster, "scheduler_info"):
            return DistributedExecutor(cluster, [], f"client {cluster.scheduler.address}")
        raise RunnerError(
            f"cluster must be a name, address, profile path or Client, not {cluster!r}"
        )
    name = str(cluster)
    if name in ("sync", "synchronous"):
        return Executor()
    if name == "local":
        return _local()
    if "://" in name:
        return _address(name)
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise RunnerError(f"cluster profile {path} does not exist")
        prof = load_profile(path)
        kind = prof.pop("kind")
        if kind == "sync":
            return Executor()
        if kind == "local":
            return _local(**{k: prof[k] for k in ("n_workers", "threads_per_worker",
                                                  "memory_limit") if k in prof})
        if kind == "address":
            if "address" not in prof:
                raise RunnerError(f"{path}: kind 'address' needs an address")
            return _address(str(prof["address"]), str(prof.get("timeout", "30s")))
        return _jobqueue(kind, prof, str(path))
    raise RunnerError(
        f"unknown cluster {name!r}: use local, sync, a tcp:// address or a profile YAML"
    )
