"""Guards of issue 12: safe YAML, bounded job specs, no hangs, productive tables only."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from brgvc.core.checks import NonProductiveError, check_productive, spectral_radius
from brgvc.runner import JobSpecError, load_job, plan_job, run_job
from brgvc.runner.cluster import DistributedExecutor, load_profile, open_executor
from brgvc.runner.jobspec import MAX_YAML_NODES, load_yaml
from brgvc.runner.plan import (
    DISK_MARGIN,
    DISK_RESERVE_BYTES,
    MAX_TASKS,
    check_worker_memory,
    estimate_worker_memory,
)
from brgvc.runner.store import RunnerError

BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefg", "bcdefgh", strict=True)]
)  # 9^8 = 43 million leaves from 8 lines


def spec(**changes):
    base = {"name": "g", "data": "wiod2013", "years": [2011], "measures": ["vby"],
            "draws": {"n": 2, "block": 3}}
    base.update(changes)
    return base


# -- YAML ---------------------------------------------------------------------------------------


def test_duplicate_keys_are_refused_with_key_and_line(tmp_path):
    p = tmp_path / "dup.yaml"
    p.write_text("data: wiod2013\nyears: [2011]\nmeasures: [vby]\ndraws:\n  n: 2\n  block: 3\n"
                 "  n: 50\n")
    with pytest.raises(JobSpecError) as err:
        load_job(p)
    assert str(err.value) == f"{p}: duplicate key 'n' at line 7 (first at line 5)"
    assert err.value.line == 7
    # top-level keys too, and in cluster profiles
    with pytest.raises(JobSpecError, match=r"duplicate key 'data' at line 2 \(first at line 1\)"):
        load_yaml("data: a\ndata: b\n", "job.yaml")
    prof = tmp_path / "local.yaml"
    prof.write_text("kind: local\nn_workers: 2\nn_workers: 3\n")
    with pytest.raises(RunnerError, match=r"local.yaml: duplicate key 'n_workers' at line 3"):
        load_profile(prof)


def test_merge_keys_may_override_and_small_aliases_load():
    doc = load_yaml("base: &b {n: 1, block: 2}\ndraws:\n  <<: *b\n  n: 5\nl: &l [1, 2]\nm: *l\n")
    assert doc == {"base": {"n": 1, "block": 2}, "draws": {"n": 5, "block": 2},
                   "l": [1, 2], "m": [1, 2]}


def test_alias_bomb_is_refused_fast(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text("data: wiod2013\nmeasures: [vby]\n" + BOMB.replace("a: &a", "za: &a") + "\n")
    t0 = time.perf_counter()
    with pytest.raises(JobSpecError) as err:
        load_job(p)
    assert time.perf_counter() - t0 < 2
    assert str(err.value) == (f"{p}: the YAML document expands to more than "
                              f"{MAX_YAML_NODES:,} nodes (alias expansion bomb?); refusing to "
                              "load it")
    prof = tmp_path / "bomb_profile.yaml"
    prof.write_text("kind: local\n" + BOMB + "\n")
    with pytest.raises(RunnerError, match="alias expansion bomb"):
        load_profile(prof)
    with pytest.raises(JobSpecError, match="recursive YAML alias at line 1"):
        load_yaml("&a [*a]")


# -- bounds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("draws", "message"),
    [
        ({"n": 1e9}, r"job: draws.n: 1000000000.0 is not an integer; write a whole number "
                     r"\(e.g. 1000000000\)"),
        ({"n": 2, "block": 1e6}, r"draws.block: 1000000.0 is not an integer"),
        ({"n": 2.5}, r"draws.n: 2.5 is not an integer; write a whole number$"),
        ({"n": "1e9"}, r"draws.n: '1e9' is not of type 'integer'"),
        ({"n": 10**9}, r"draws.n: 1000000000 is greater than the maximum of 10000000"),
        ({"n": 2, "block": 0}, r"draws.block: 0 is less than the minimum of 1"),
    ],
)
def test_non_integer_and_absurd_draws_are_refused_by_the_schema(draws, message):
    with pytest.raises(JobSpecError, match=message) as err:
        load_job(spec(draws=draws), check_data=False)
    assert err.value.key in ("draws.n", "draws.block")


def test_yaml_float_counts_are_refused_from_a_file(tmp_path):
    p = tmp_path / "float.yaml"
    p.write_text("data: wiod2013\nyears: [2011]\nmeasures: [vby]\ndraws: {n: 1.0e+9}\n")
    with pytest.raises(JobSpecError, match=r"draws.n: 1000000000.0 is not an integer"):
        load_job(p)


def test_a_block_that_does_not_fit_memory_is_refused_with_the_largest_that_fits(tmp_path):
    job = load_job(spec(measures=["vby", "wwz"], draws={"n": 1_000_000, "block": 1_000_000}))
    with pytest.raises(JobSpecError) as err:
        plan_job(job, tmp_path / "out")
    msg = str(err.value)
    assert err.value.key == "draws.block"
    m = re.search(r"lower draws.block to at most ([\d,]+)$", msg)
    assert m and "more than this machine's memory of" in msg and "block 1,000,000 ×" in msg
    fits = int(m.group(1).replace(",", ""))
    # the suggested block fits, one more does not (same estimate as `brgvc plan`)
    from brgvc.runner.cluster import machine_memory
    from brgvc.runner.data import data_info
    from brgvc.runner.plan import build_layout

    info = data_info("wiod2013")
    for block, ok in ((fits, True), (fits + 1, False)):
        j = load_job(spec(measures=["vby", "wwz"], draws={"n": 1_000_000, "block": block}))
        layout, _ = build_layout(j, info)
        assert (estimate_worker_memory(j, info, layout) <= machine_memory()) is ok


def test_too_many_tasks_are_refused_before_they_are_listed(tmp_path):
    job = load_job(spec(years=[2010, 2011], draws={"n": 1_000_000, "block": 1}))
    t0 = time.perf_counter()
    with pytest.raises(JobSpecError, match=re.escape(
            f"draws.n: 2 years × 1,000,001 blocks = 2,000,002 tasks, more than {MAX_TASKS:,}; "
            "lower draws.n (1,000,000) or raise draws.block (1)")):
        plan_job(job, tmp_path / "out")
    assert time.perf_counter() - t0 < 10


def test_a_store_larger_than_the_free_disk_is_refused(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    job = load_job(spec(years=[2010, 2011], draws={"n": 999, "block": 100}))
    plan = plan_job(job, tmp_path / "a" / "b" / "out")  # plenty of room here
    need = int(plan.store_bytes * (1 + DISK_MARGIN)) + DISK_RESERVE_BYTES
    assert plan.store_bytes == 2 * 1000 * plan.layout.bytes_per_draw
    usage = namedtuple("usage", "total used free")
    seen: list[str] = []

    def tight(path):
        seen.append(str(path))
        return usage(10 * need, 9 * need, need - 1)

    monkeypatch.setattr(shutil, "disk_usage", tight)
    with pytest.raises(JobSpecError) as err:
        plan_job(job, tmp_path / "a" / "b" / "out")
    assert err.value.key == "draws.n"
    assert f"only {(need - 1) / 2**20:,.1f} MB are free on {tmp_path}" in str(err.value)
    assert "2 years × 1,000 draws" in str(err.value) and "lower draws.n (999)" in str(err.value)
    assert seen == [str(tmp_path.resolve())]  # the nearest existing folder above --out
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10 * need, 9 * need, need))
    plan_job(job, tmp_path / "a" / "b" / "out")
    # the guard can be turned off in the job
    monkeypatch.setattr(shutil, "disk_usage", tight)
    plan_job(spec(years=[2010, 2011], draws={"n": 999, "block": 100},
                  checks={"resources": False}), tmp_path / "a" / "b" / "out")


def test_worker_memory_limit_is_checked_against_the_plan(tmp_path):
    plan = plan_job(spec(draws={"n": 20, "block": 10}), tmp_path / "out")
    need = plan.memory_per_worker
    check_worker_memory(plan, need)  # fits exactly
    check_worker_memory(plan, None)  # unknown limit: nothing to check
    with pytest.raises(JobSpecError, match=r"more than the workers' memory limit of") as err:
        check_worker_memory(plan, need - 1)
    assert err.value.key == "draws.block" and "lower draws.block to at most 9" in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: local\nn_workers: -3\n", "n_workers: -3 must be an integer >= 1 or auto"),
        ("kind: local\nn_workers: 0\n", "n_workers: 0 must be an integer >= 1 or auto"),
        ("kind: local\nn_workers: 2.5\n", "n_workers: 2.5 must be an integer >= 1 or auto"),
        ("kind: local\nthreads_per_worker: 0\n", "threads_per_worker: 0 must be an integer >= 1"),
        ("kind: slurm\njobs: -1\n", "jobs: -1 must be an integer >= 1"),
        ("kind: local\nmemory_limit: lots\n",
         "memory_limit: 'lots' is not a memory size (e.g. 4GB, auto)"),
        ("kind: address\naddress: tcp://127.0.0.1:1\ntimeout: 0\n",
         "timeout: 0 must be a positive duration"),
        ("kind: address\naddress: tcp://127.0.0.1:1\nno_workers_timeout: soon\n",
         "no_workers_timeout: 'soon' is not a duration (e.g. 30, 30s, 2min)"),
    ],
)
def test_bad_profile_counts_are_refused_before_anything_starts(tmp_path, text, message):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(RunnerError) as err:
        open_executor(p)
    assert str(err.value) == f"{p}: {message}"
    assert time.perf_counter() - t0 < 5


def test_good_profiles_still_load():
    repo = Path(__file__).resolve().parents[1]
    assert load_profile(repo / "cluster" / "local.yaml")["n_workers"] == "auto"
    assert load_profile(repo / "cluster" / "slurm.yaml")["jobs"] == 4


# -- hangs --------------------------------------------------------------------------------------


@pytest.fixture
def silent_server():
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    yield f"tcp://127.0.0.1:{srv.getsockname()[1]}", conns
    stop.set()
    th.join(5)
    for c in conns:
        c.close()
    srv.close()


def test_a_silent_address_fails_within_the_timeout(silent_server, tmp_path):
    address, conns = silent_server
    prof = tmp_path / "silent.yaml"
    prof.write_text(f"kind: address\naddress: {address}\ntimeout: 1.5s\n")
    t0 = time.perf_counter()
    with pytest.raises(RunnerError) as err:
        open_executor(prof)
    elapsed = time.perf_counter() - t0
    assert 1.4 < elapsed < 6, elapsed
    assert conns, "the probe did connect"
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"no Dask scheduler answered at {address} within 1.5 s")


def test_a_closed_port_fails_fast_with_the_address():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends
    t0 = time.perf_counter()
    with pytest.raises(RunnerError, match=rf"tcp://127.0.0.1:{port}"):
        from brgvc.runner.cluster import probe_scheduler

        probe_scheduler(f"tcp://127.0.0.1:{port}", 2)
    assert time.perf_counter() - t0 < 5


def _start(args: list[str], log: Path) -> subprocess.Popen:
    bindir = Path(sys.executable).parent
    with open(log, "w") as fh:
        return subprocess.Popen([str(bindir / "dask"), *args], stdout=fh,
                                stderr=subprocess.STDOUT, cwd=log.parent)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def scheduler(tmp_path):
    """A real ``dask scheduler`` on 127.0.0.1 (stopped by its PID)."""
    import json

    sfile = tmp_path / "scheduler.json"
    proc = _start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                   "--scheduler-file", str(sfile)], tmp_path / "scheduler.log")
    try:
        deadline = time.monotonic() + 30
        while not sfile.exists() or not sfile.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("dask scheduler did not start: "
                            + (tmp_path / "scheduler.log").read_text()[-2000:])
            time.sleep(0.1)
        time.sleep(0.1)
        yield json.loads(sfile.read_text())["address"], tmp_path
    finally:
        _stop(proc)


def test_all_workers_dead_fails_the_run_after_the_grace_period(scheduler):
    from distributed import Client

    address, tmp = scheduler
    t_start = time.perf_counter()
    worker = _start(["worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                     "--host", "127.0.0.1"], tmp / "worker.log")
    client = None
    try:
        client = Client(address, timeout=20, set_as_default=False)
        client.wait_for_workers(1, timeout=30)
        ex = DistributedExecutor(client, [], no_workers_timeout=2.0)
        # a lambda is pickled by value: the worker need not import this test module
        gen = ex.run(lambda ctx, t: __import__("time").sleep(60), None, [1, 2])
        threading.Timer(1.0, os.kill, (worker.pid, signal.SIGKILL)).start()
        t0 = time.perf_counter()
        with pytest.raises(RunnerError) as err:
            list(gen)
        waited = time.perf_counter() - t0
        assert worker.wait(5) == -signal.SIGKILL
        assert 2.5 < waited < 15, waited
        assert str(err.value).startswith(
            f"no Dask worker connected to {address} for 2 s (2 of 2 tasks unfinished)")
        # run_job end to end: a scheduler with no worker at all fails the same way
        prof = tmp / "addr.yaml"
        prof.write_text(f"kind: address\naddress: {address}\ntimeout: 10s\n"
                        "no_workers_timeout: 1.5\n")
        t1 = time.perf_counter()
        with pytest.raises(RunnerError, match=r"no Dask worker connected .* for 1.5 s"):
            run_job(spec(draws={"n": 0}), cluster=prof, out=tmp / "out", progress=False)
        assert time.perf_counter() - t1 < 15
        assert time.perf_counter() - t_start < 30
    finally:
        if client is not None:
            client.close()
        _stop(worker)


# -- productivity -------------------------------------------------------------------------------


def _system(A: np.ndarray, x: np.ndarray):
    from brgvc.core.kernels import IOSystem

    n = len(x)
    Z = A * x[None, :]
    return IOSystem(Z, np.ones((n, 1)), x, x - Z.sum(0), 1, n)


def test_non_productive_table_is_refused_with_year_rho_and_column():
    rng = np.random.default_rng(3)
    A = rng.uniform(0.0, 0.4, size=(6, 6))  # column sums about 1.2: rho near 1.2
    rho = float(np.max(np.abs(np.linalg.eigvals(A))))
    assert rho > 1
    labels = [("AUS", "c1"), ("AUS", "c2"), ("BRA", "c1"), ("BRA", "c2"), ("CHN", "c1"),
              ("CHN", "c2")]
    k = int(np.argmax(A.sum(0)))
    with pytest.raises(NonProductiveError) as err:
        check_productive(_system(A, rng.uniform(1, 10, 6)), year=2003, labels=labels)
    e = err.value
    assert e.year == 2003 and e.rho == pytest.approx(rho, rel=1e-12)
    assert e.column == f"{labels[k][0]}, {labels[k][1]}"
    assert str(e).startswith(f"year 2003: A is not productive: spectral radius of A = "
                             f"{rho:.6g} >= 1")
    assert f"largest column sum {A.sum(0)[k]:.6g} at {e.column}" in str(e)
    # (regions, sectors) labels give the same name; allow=True returns instead
    res = check_productive(A, year=2003, labels=(["AUS", "BRA", "CHN"], ["c1", "c2"]),
                           allow=True)
    assert not res.productive and res.rho == pytest.approx(rho) and res.column == e.column


def test_spectral_radius_matches_numpy_and_known_values():
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    small = rng.uniform(0, 1, (8, 8)) * (rng.uniform(size=(8, 8)) < 0.5)
    assert spectral_radius(small) == pytest.approx(np.max(np.abs(np.linalg.eigvals(small))),
                                                   rel=1e-12)
    # large (ARPACK): c·P with P column-stochastic has rho = c exactly; a diagonal similarity
    # D^-1 (c·P) D keeps rho = c but pushes column sums past 1
    n = 1000
    P = rng.uniform(0, 1, (n, n)) * (rng.uniform(size=(n, n)) < 0.02)
    P[rng.integers(0, n, n), np.arange(n)] += 0.1  # no empty column
    P /= P.sum(0)
    d = rng.uniform(0.5, 2.0, n)
    for c in (0.95, 1.05):
        A = (c * P) * d[None, :] / d[:, None]
        assert A.sum(0).max() > 1.2
        assert spectral_radius(A) == pytest.approx(c, rel=1e-8)
        assert spectral_radius(sp.csr_matrix(A)) == pytest.approx(c, rel=1e-8)
    ok = check_productive(sp.csr_matrix((0.95 * P) * d[None, :] / d[:, None]), year=1)
    assert ok.productive and 0.95 - 1e-9 <= ok.bound < 1
    with pytest.raises(NonProductiveError) as err:
        check_productive(sp.csr_matrix((1.05 * P) * d[None, :] / d[:, None]), year=1)
    assert err.value.rho == pytest.approx(1.05, rel=1e-8)


def test_productive_tables_pass_without_an_eigenvalue_when_a_bound_suffices():
    rng = np.random.default_rng(1)
    A = rng.uniform(0, 0.15, (5, 5))  # column sums < 1: no eigenvalue needed
    res = check_productive(A, year=2000)
    assert res.productive and res.rho is None and res.bound == pytest.approx(
        min(A.sum(0).max(), A.sum(1).max()))
    # one column past 1 but rho < 1: the Collatz–Wielandt bound proves it
    A[:, 0] = [0.0, 0.3, 0.3, 0.3, 0.3]
    A[1, 2] = 0.9
    rho = float(np.max(np.abs(np.linalg.eigvals(A))))
    res = check_productive(A, year=2000)
    assert A.sum(0).max() == pytest.approx(1.2) and A.sum(1).max() > 1
    assert rho < 1 and res.productive and res.rho is None and rho <= res.bound < 1


@pytest.mark.parametrize(("year", "gross_output", "col_max", "column"), [
    (1995, "balanced", 1.636363636363636, "EST, c25"),  # negative value added: sum past 1
    (2008, "balanced", 2.5, "CYP, c8"),
    (2009, "balanced", 1.0, "LUX, c24"),  # zero value added: 1 - 1e-16 after rounding
    (2011, "balanced", 1.125, "LUX, c24"),
    (1998, "published", 0.9484375, "POL, c24"),  # every column sum below 1
])
def test_wiod_years_are_productive(year, gross_output, col_max, column):
    from brgvc.runner.data import data_info, open_year

    info = data_info("wiod2013")
    table = open_year("wiod2013", year, gross_output)
    res = check_productive(table, year=year, labels=(info.regions, info.sectors))
    assert res.productive and res.rho is None  # proved by a bound, no eigenvalue needed
    assert res.max_column_sum == pytest.approx(col_max, rel=1e-12) and res.column == column
    assert res.bound < 0.98


@pytest.mark.parametrize("a", [1.0, 1.0 - 1e-16, 1.0 - 1e-12])
def test_rho_of_one_within_rounding_is_refused(a):
    """A sector buying only from itself, all its output (reducible A, rho = a)."""
    A = np.array([[a, 0.0, 0.0], [0.0, 0.2, 0.1], [0.0, 0.3, 0.1]])
    with pytest.raises(NonProductiveError) as err:
        check_productive(A, year=2009, labels=["LUX, c5", "LUX, c8", "DEU, c1"])
    assert err.value.rho == pytest.approx(1.0, abs=1e-12) and err.value.column == "LUX, c5"
    A[0, 0] = 1 - 1e-6  # clearly below 1: productive
    assert check_productive(A, year=2009).productive


@pytest.fixture
def nonproductive_cube(tmp_path):
    """A 3 × 2 cube store whose Z is 4 times too large for its output (rho(A) ≈ 2.5)."""
    from brgvc.readers.store import write_cube
    from brgvc.synthetic import synthetic_mrio

    ds = synthetic_mrio(G=3, N=2, seed=1)
    bad = ds[["Z", "Y", "x_published"]].copy()
    bad["x_published"] = ds["x"]
    bad["Z"] = ds["Z"] * 4
    bad.attrs = ds.attrs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_cube(bad, tmp_path / "bad.zarr")
    Z = bad["Z"].isel(year=0).values.reshape(6, 6)
    rho = float(np.max(np.abs(np.linalg.eigvals(Z / ds["x"].isel(year=0).values.reshape(6)))))
    return tmp_path / "bad.zarr", rho


def test_run_and_decompose_refuse_a_non_productive_year_unless_allowed(nonproductive_cube,
                                                                      tmp_path):
    from brgvc.datasets import open_dataset
    from brgvc.measures.decompose import decompose

    store, rho = nonproductive_cube
    assert rho > 2
    job = {"name": "np", "data": str(store), "years": [2011], "measures": ["vby"],
           "gross_output": "published"}
    with pytest.raises(NonProductiveError, match=rf"year 2011: .* = {rho:.6g} >= 1") as err:
        run_job(job, cluster="sync", out=tmp_path / "out", progress=False)
    assert err.value.rho == pytest.approx(rho, rel=1e-10)
    assert not (tmp_path / "out" / "results.zarr").exists()  # refused before any store
    s = run_job({**job, "checks": {"allow_nonproductive": True}}, cluster="sync",
                out=tmp_path / "out2", progress=False)
    assert s.tasks_run == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = open_dataset(str(store), gross_output="published")
    with pytest.raises(NonProductiveError, match="year 2011"):
        decompose(ds, "vby", 2011)
    df = decompose(ds, "vby", 2011, allow_nonproductive=True)
    assert len(df) == 9


def test_run_refuses_tasks_larger_than_the_workers_memory_limit(tmp_path):
    """run_job asks the started cluster for its workers' limit before the first task."""
    prof = tmp_path / "small.yaml"
    prof.write_text("kind: local\nn_workers: 1\nmemory_limit: 300MB\nno_workers_timeout: 20\n")
    job = load_job(spec())
    need = plan_job(job, tmp_path / "probe").memory_per_worker
    assert need > 300e6
    with pytest.raises(JobSpecError) as err:
        run_job(job, cluster=prof, out=tmp_path / "out", progress=False)
    # the year's table alone is larger than the limit: a smaller block cannot help
    assert err.value.key == "data"
    assert str(err.value).startswith(f"data: a task needs about {need / 2**20:,.1f} MB")
    assert str(err.value).endswith(
        f"more than the workers' memory limit of {300e6 / 2**20:,.1f} MB; even one draw per "
        "task does not fit: use workers with more memory (memory_limit / memory in the "
        "cluster profile)")
    from brgvc.runner.store import read_state

    state = read_state(tmp_path / "out" / "results.zarr")
    assert state is None or not state.done.any()  # no task ran
