"""Shared test fixtures: a real Dask scheduler and workers as OS processes on 127.0.0.1.

The processes are started with ``subprocess`` (``dask scheduler`` / ``dask worker
--no-nanny``, so each worker is exactly one PID) and stopped by their own PIDs; nothing listens
beyond the loopback interface.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackCluster:
    """``dask scheduler`` plus ``n_workers`` single-threaded ``dask worker`` processes.

    Parameters
    ----------
    tmp : Path
        Folder for the scheduler file and the logs.
    n_workers : int
        Workers to start (named ``w0``, ``w1``, ...).
    """

    def __init__(self, tmp: Path, n_workers: int = 2) -> None:
        self.tmp = Path(tmp)
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: list = []
        self.sched_file = self.tmp / "scheduler.json"
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self._spawn("scheduler", [DASK, "scheduler", "--host", "127.0.0.1", "--port",
                                  str(self.port), "--no-dashboard", "--scheduler-file",
                                  str(self.sched_file)])
        deadline = time.monotonic() + 60
        while not self.sched_file.exists():
            if time.monotonic() > deadline or self.procs["scheduler"].poll() is not None:
                self.close()
                raise RuntimeError(f"dask scheduler did not start; see {self.tmp}/scheduler.log")
            time.sleep(0.05)
        for i in range(n_workers):
            self.add_worker(f"w{i}")

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.tmp / f"{name}.log", "w")
        self.logs.append(log)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                   MKL_NUM_THREADS="1")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, env=env)

    def add_worker(self, name: str) -> None:
        """Start one more worker."""
        self._spawn(name, [DASK, "worker", "--scheduler-file", str(self.sched_file), "--host",
                           "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard",
                           "--name", name, "--death-timeout", "30"])

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        """Block until ``n`` workers are registered with the scheduler."""
        from distributed import Client

        with Client(self.address, timeout="30s", set_as_default=False) as c:
            c.wait_for_workers(n, timeout=timeout)

    def pid(self, name: str) -> int:
        """PID of a process of this cluster."""
        return self.procs[name].pid

    def kill(self, name: str) -> None:
        """SIGKILL one process by its PID and reap it."""
        os.kill(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(10)

    def close(self) -> None:
        """Terminate the workers, then the scheduler, by PID (SIGKILL after 5 s); close logs."""
        workers = [p for name, p in self.procs.items() if name != "scheduler"]
        sched = [p for name, p in self.procs.items() if name == "scheduler"]
        for group in (workers, sched):
            for p in group:
                if p.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(p.pid, signal.SIGTERM)
            for p in group:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(p.pid, signal.SIGKILL)
                    p.wait(10)
        for log in self.logs:
            log.close()


@pytest.fixture
def loopback_cluster(tmp_path_factory):
    """A fresh scheduler + 2 workers on 127.0.0.1 (function scope: tests may kill workers)."""
    cluster = LoopbackCluster(tmp_path_factory.mktemp("dask"), n_workers=2)
    try:
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.close()
