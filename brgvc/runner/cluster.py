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

Nothing waits forever: connecting to an address gives up after ``timeout`` (default 30 s),
also when something there accepts the connection but never answers; and a run fails once no
worker has been connected for ``no_workers_timeout`` seconds (default 60; for SLURM/PBS only
after a first worker was seen, since batch jobs may queue for hours)::

    kind: address
    address: tcp://10.0.0.5:8786
    timeout: 30s
    no_workers_timeout: 120
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import dask

from brgvc.runner.jobspec import JobSpecError, load_yaml
from brgvc.runner.store import RunnerError

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_NO_WORKERS_TIMEOUT",
    "Executor",
    "cores",
    "load_profile",
    "machine_memory",
    "open_executor",
    "probe_scheduler",
]

PROFILE_KINDS = ("local", "address", "slurm", "pbs", "sync")
#: Seconds to wait for a scheduler at an address to answer.
DEFAULT_CONNECT_TIMEOUT = 30.0
#: Seconds a run may go without any connected worker before it fails.
DEFAULT_NO_WORKERS_TIMEOUT = 60.0
#: How often a running job checks that some worker is still connected (seconds).
WATCH_INTERVAL = 1.0
#: How often a running job looks for finished tasks (seconds).
POLL_INTERVAL = 0.02


def machine_memory() -> int:
    """Memory this process may use in bytes (cgroup limits included, as Dask sees it)."""
    try:
        from distributed.system import MEMORY_LIMIT

        return int(MEMORY_LIMIT)
    except ImportError:  # pragma: no cover - distributed is a dependency
        import psutil

        return int(psutil.virtual_memory().total)


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

    @property
    def worker_memory(self) -> int | None:
        """Smallest memory limit of a worker in bytes (None: unknown or unlimited)."""
        return machine_memory()

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
    no_workers_timeout : float
        Fail a run after this many seconds without any connected worker.
    wait_for_first_worker : bool
        Start that clock only once a worker was seen (batch-queue clusters, whose workers
        may take hours to start).
    """

    def __init__(self, client: Any, owned: Iterable[Any] = (), description: str = "",
                 no_workers_timeout: float = DEFAULT_NO_WORKERS_TIMEOUT,
                 wait_for_first_worker: bool = False) -> None:
        self.client = client
        self.owned = list(owned)
        self.description = description or f"distributed {client.scheduler.address}"
        self.no_workers_timeout = float(no_workers_timeout)
        self.wait_for_first_worker = wait_for_first_worker

    def _count_workers(self) -> int:
        info = self.client.scheduler_info(n_workers=1)
        return int(info.get("n_workers", len(info.get("workers", {}))))

    @property
    def n_workers(self) -> int:
        """Number of workers currently connected."""
        return max(1, self._count_workers())

    @property
    def worker_memory(self) -> int | None:
        """Smallest ``memory_limit`` of the connected workers (None: none set or no worker)."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        limits = [int(w.get("memory_limit") or 0) for w in workers.values()]
        limits = [m for m in limits if m > 0]
        return min(limits) if limits else None

    def _wait(self, futures: list[Any]) -> Iterator[Any]:
        """Yield futures as they finish; raise RunnerError when the cluster has no worker
        for ``no_workers_timeout`` seconds (distributed would wait for one forever)."""
        from distributed import as_completed

        ac = as_completed(futures, loop=self.client.loop)
        seen_worker = not self.wait_for_first_worker
        since: float | None = None
        last_look = time.monotonic()
        left = len(futures)
        while not ac.is_empty():
            if ac.has_ready():
                for fut in ac.next_batch(block=False):
                    left -= 1
                    yield fut
                since = None
                continue
            time.sleep(POLL_INTERVAL)
            now = time.monotonic()
            if now - last_look < WATCH_INTERVAL:
                continue
            last_look = now
            if self._count_workers():
                seen_worker, since = True, None
                continue
            if not seen_worker:
                continue
            since = now if since is None else since
            if now - since >= self.no_workers_timeout:
                raise RunnerError(
                    f"no Dask worker connected to {self.client.scheduler.address} for "
                    f"{self.no_workers_timeout:g} s ({left} of {len(futures)} tasks "
                    "unfinished): the workers died or never started; finished tasks are kept, "
                    "run again to resume (no_workers_timeout in the cluster profile sets the "
                    "wait)"
                )

    def run(self, fn, ctx, tasks):
        """Submit every task at once; yield them as they complete."""
        if not tasks:
            return
        futures = {}
        for t in tasks:
            key = f"brgvc-task-{getattr(t, 'year', 'x')}-{getattr(t, 'block', 'x')}-" \
                  f"{uuid.uuid4().hex[:12]}"
            futures[self.client.submit(fn, ctx, t, key=key, pure=False)] = t
        try:
            for fut in self._wait(list(futures)):
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
        try:
            for _ in self._wait(list(futs)):
                pass
        except RunnerError:
            self.client.cancel(futs)
            raise
        return tuple(self.client.gather(futs))

    def close(self) -> None:
        """Close the client, then any cluster this executor started."""
        for obj in self.owned:
            with contextlib.suppress(Exception):
                obj.close()


def _positive_int(prof: dict[str, Any], key: str, where: str, auto: bool = False) -> None:
    if key not in prof or (auto and prof[key] in (None, "auto")):
        return
    v = prof[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        allowed = "an integer >= 1" + (" or auto" if auto else "")
        raise RunnerError(f"{where}: {key}: {v!r} must be {allowed}")


def _seconds(value: Any, key: str, where: str) -> float:
    """Seconds from a number or a Dask time string (``30s``, ``2 minutes``); must be > 0."""
    from dask.utils import parse_timedelta

    try:
        sec = float(parse_timedelta(value, default="seconds"))
    except (TypeError, ValueError, KeyError):
        raise RunnerError(f"{where}: {key}: {value!r} is not a duration (e.g. 30, 30s, 2min)"
                          ) from None
    if not sec > 0:
        raise RunnerError(f"{where}: {key}: {value!r} must be a positive duration")
    return sec


def load_profile(path: str | Path) -> dict[str, Any]:
    """Read a cluster profile YAML (see module docstring) with a clear error on bad keys.

    Raises
    ------
    RunnerError
        For malformed YAML (duplicate keys and alias bombs included), an unknown ``kind``,
        counts that are not integers >= 1 (``n_workers: -3``, ``threads_per_worker``,
        ``jobs``, ``cores``, ``processes``), a bad ``memory_limit``/``memory`` size or a bad
        ``timeout``/``no_workers_timeout`` duration; the message starts with the file name.
    """
    path = Path(path)
    where = str(path)
    try:
        prof = load_yaml(path.read_text("utf-8"), where) or {}
    except OSError as exc:
        raise RunnerError(f"{path}: cannot read cluster profile: {exc}") from None
    except JobSpecError as exc:
        raise RunnerError(f"cannot read cluster profile {exc}") from None
    if not isinstance(prof, dict):
        raise RunnerError(f"{path}: a cluster profile must be a mapping")
    kind = prof.get("kind", "local")
    if kind not in PROFILE_KINDS:
        raise RunnerError(f"{path}: kind {kind!r} is not one of {PROFILE_KINDS}")
    prof["kind"] = kind
    _positive_int(prof, "n_workers", where, auto=True)
    for key in ("threads_per_worker", "jobs", "cores", "processes"):
        _positive_int(prof, key, where)
    from dask.utils import parse_bytes

    for key in ("memory_limit", "memory"):
        v = prof.get(key)
        if v is None or v == "auto":
            continue
        try:
            ok = (not isinstance(v, bool)) and parse_bytes(v) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise RunnerError(f"{path}: {key}: {v!r} is not a memory size (e.g. 4GB, auto)")
    for key in ("timeout", "no_workers_timeout"):
        if key in prof:
            prof[key] = _seconds(prof[key], key, where)
    return prof


def _auto(value: Any, default: Any) -> Any:
    return default if value in (None, "auto") else value


def _local(n_workers: int | None = None, threads_per_worker: int = 1,
           memory_limit: Any = "auto",
           no_workers_timeout: float = DEFAULT_NO_WORKERS_TIMEOUT,
           **kwargs: Any) -> DistributedExecutor:
    from distributed import Client, LocalCluster

    n = int(_auto(n_workers, cores()))
    if n < 1 or int(threads_per_worker) < 1:
        raise RunnerError(f"LocalCluster needs n_workers >= 1 and threads_per_worker >= 1, "
                          f"not {n} and {threads_per_worker}")
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
                               f"LocalCluster {n} × {threads_per_worker} thread",
                               no_workers_timeout=no_workers_timeout)


def probe_scheduler(address: str, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> dict[str, Any]:
    """Ask the Dask scheduler at ``address`` for its identity, giving up after ``timeout`` s.

    ``distributed.Client(address, timeout=...)`` waits forever for a server that accepts the
    connection but never answers (a wrong port, a proxy, a stuck process); this probe bounds
    the whole exchange (connect, handshake, one request) so that such an address fails fast.

    Parameters
    ----------
    address : str
        ``tcp://host:port`` (or any scheme distributed knows).
    timeout : float
        Seconds for the whole exchange.

    Returns
    -------
    dict
        The scheduler's identity (``type``, ``id``, ``workers``, ...).

    Raises
    ------
    RunnerError
        ``no Dask scheduler answered at ADDRESS within T s (...)`` in one line.
    """
    from distributed.comm import connect

    async def ask() -> Any:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(ask(), timeout)

    try:
        # A thread of its own: asyncio.run refuses to start inside a running event loop
        # (a notebook), and the exchange must not touch the caller's loop anyway.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            reply = pool.submit(asyncio.run, bounded()).result()
    except TimeoutError:
        raise RunnerError(
            f"no Dask scheduler answered at {address} within {timeout:g} s (the address "
            "accepts connections but does not speak the Dask protocol, or is too slow; "
            "check the address and port, or raise timeout in the cluster profile)"
        ) from None
    except (OSError, ValueError, TypeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RunnerError(f"cannot connect to the Dask scheduler at {address}: {msg}") from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise RunnerError(f"{address} answered, but not as a Dask scheduler ({reply!r:.80})")
    return reply


def _address(address: str, timeout: Any = DEFAULT_CONNECT_TIMEOUT,
             no_workers_timeout: float = DEFAULT_NO_WORKERS_TIMEOUT) -> DistributedExecutor:
    from distributed import Client

    sec = _seconds(timeout, "timeout", address)
    probe_scheduler(address, sec)
    try:
        client = Client(address, timeout=sec, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise RunnerError(f"cannot connect to the Dask scheduler at {address}: {exc}") from None
    return DistributedExecutor(client, [client], f"scheduler {address}",
                               no_workers_timeout=no_workers_timeout)


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
                               f"{kind.upper()} {prof.get('jobs', 1)} jobs × {cores_per_job} cores",
                               no_workers_timeout=float(prof.get("no_workers_timeout",
                                                                 DEFAULT_NO_WORKERS_TIMEOUT)),
                               wait_for_first_worker=True)


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
                                                  "memory_limit", "no_workers_timeout")
                             if k in prof})
        if kind == "address":
            if "address" not in prof:
                raise RunnerError(f"{path}: kind 'address' needs an address")
            return _address(str(prof["address"]), prof.get("timeout", DEFAULT_CONNECT_TIMEOUT),
                            prof.get("no_workers_timeout", DEFAULT_NO_WORKERS_TIMEOUT))
        return _jobqueue(kind, prof, str(path))
    raise RunnerError(
        f"unknown cluster {name!r}: use local, sync, a tcp:// address or a profile YAML"
    )
