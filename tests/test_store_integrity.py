"""Stores that prove they are complete: manifests, checks on every open, locks, foreign folders.

Real stores throughout: the result store of a small WIOD job (two years, three draw-blocks
each) run on the synchronous scheduler, and a two-year WIOD cube store. Damage is done to the
files on disk the way a user or a full disk would (deleting, truncating, flipping a byte), and
every command that opens the store must refuse, naming the file.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from brgvc import storage
from brgvc.cli import main
from brgvc.datasets import data_path
from brgvc.readers import open_mrio
from brgvc.readers.store import open_cube, write_cube
from brgvc.runner import plan_job, run_job
from brgvc.runner import task as task_mod
from brgvc.runner.tables import write_tables
from brgvc.storage import (
    ForeignFolderError,
    IncompleteStoreError,
    StaleLockWarning,
    StoreDamagedError,
    StoreLockedError,
    verify_store,
)
from brgvc.studies.belt_and_road import findings, write_findings

JOB = {
    "name": "integrity",
    "data": "wiod2013",
    "years": [2010, 2011],
    "measures": ["vby", {"name": "vbe", "level": "country"}],
    "draws": {"n": 4, "block": 2, "seed": 1, "rse": 0.1},
    "outputs": {"formats": ["csv"], "tables": ["draws"]},
}
N_TASKS = 6  # 2 years x blocks (0, 2), (2, 4), (4, 5)
WIOD = data_path("wiod2013")


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """The job run once, uninterrupted."""
    out = tmp_path_factory.mktemp("finished")
    s = run_job(JOB, cluster="sync", out=out, progress=False)
    assert (s.tasks_run, s.tasks_skipped) == (N_TASKS, 0)
    return out


@pytest.fixture
def copy(finished, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    return out


def data_chunks(store: Path, var: str) -> list[Path]:
    return sorted(p for p in (store / var / "c").rglob("*") if p.is_file())


def openers(out: Path) -> dict[str, object]:
    """Every way a user opens a finished result store, as callables."""
    return {
        "plan": lambda: plan_job(JOB, out),
        "resume run": lambda: run_job(JOB, cluster="sync", out=out, progress=False),
        "findings": lambda: findings(out),
        "write_findings (report)": lambda: write_findings(out),
        "tables": lambda: write_tables(out / "tables2", out / "results.zarr", None),
        "verify": lambda: verify_store(out / "results.zarr"),
    }


# -- a fresh store ------------------------------------------------------------------------------


def test_fresh_store_is_complete_and_every_file_is_listed(finished):
    store = finished / "results.zarr"
    check = verify_store(store, deep=True)
    assert check.kind == "results" and check.complete
    assert len(check.units) == N_TASKS and len(check.done) == N_TASKS
    listed = set(json.loads((store / storage.MANIFEST).read_text())["files"])
    for unit in (store / storage.UNITS_DIR).glob("*.json"):
        listed |= set(json.loads(unit.read_text())["files"])
    on_disk = {p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()}
    # Every file but brgvc's manifests and the done flags' chunks is covered by a checksum.
    assert {k for k in on_disk if not k.startswith((storage.META_DIR, "done/c/"))} == listed
    assert check.files == len(listed)
    assert check.nbytes == sum((store / k).stat().st_size for k in listed)
    assert not (finished / storage.LOCK_NAME).exists()  # released after the run


# -- damage -------------------------------------------------------------------------------------


def test_two_deleted_chunks_are_named_by_every_opener(copy, capsys):
    store = copy / "results.zarr"
    gone = [data_chunks(store, "vby")[0], data_chunks(store, "vbe")[-1]]
    for p in gone:
        p.unlink()
    names = [str(p) for p in gone]
    for what, call in openers(copy).items():
        with pytest.raises(StoreDamagedError) as err:
            call()
        msg = str(err.value)
        assert "\n" not in msg, what
        assert any(n in msg for n in names), (what, msg)
        assert "missing" in msg, what
    # The same through the command line: exit 1 and one line naming the file.
    for argv in (["plan", "--out", str(copy)], ["findings", str(copy)],
                 ["report", str(copy)], ["verify", str(copy)],
                 ["run", "--out", str(copy), "--cluster", "sync"]):
        if argv[0] in ("plan", "run"):
            job = copy.parent / "job.json"
            job.write_text(json.dumps(JOB))
            argv.insert(1, str(job))
        assert main(argv) == 1, argv
        err_lines = capsys.readouterr().err.strip().splitlines()
        assert len(err_lines) == 1 and any(n in err_lines[0] for n in names), (argv, err_lines)
    # Nothing was recomputed behind the user's back: the files are still missing.
    assert not any(p.exists() for p in gone)


def test_damaged_summary_store_is_named(copy):
    summary = copy / "summary.zarr"
    assert verify_store(summary, deep=True).kind == "summary"
    victim = data_chunks(summary, "vby")[0]
    victim.write_bytes(victim.read_bytes()[:-3])
    for call in (lambda: findings(copy),
                 lambda: write_tables(copy / "t", copy / "results.zarr", summary,
                                      tables=["summary"])):
        with pytest.raises(StoreDamagedError, match=f"variable 'vby', chunk file {victim} has"):
            call()


def test_truncated_chunk_is_named(copy):
    store = copy / "results.zarr"
    victim = data_chunks(store, "vbe")[2]
    size = victim.stat().st_size
    with open(victim, "r+b") as f:
        f.truncate(size // 2)
    for what, call in openers(copy).items():
        with pytest.raises(StoreDamagedError, match=f"{victim}.*has {size // 2} bytes, "
                           f"{size} were written") as err:
            call()
        assert err.value.file == victim and err.value.variable == "vbe", what


def test_flipped_byte_is_caught_by_deep_verify(copy):
    store = copy / "results.zarr"
    victim = data_chunks(store, "vby")[1]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    assert verify_store(store).complete  # same size: the cheap check cannot see it
    with pytest.raises(StoreDamagedError, match="SHA-256") as err:
        verify_store(store, deep=True)
    assert err.value.file == victim and err.value.problem == "checksum"
    # The command line: `verify` passes on sizes, `verify --deep` names the file.
    assert main(["verify", str(store)]) == 0
    assert main(["verify", str(store), "--deep"]) == 1


def test_deleted_manifest_or_done_flag_means_the_task_is_redone(copy, finished):
    store = copy / "results.zarr"
    (store / storage.UNITS_DIR / "y0001-d000002-000004.json").unlink()
    (store / "done" / "c" / "0" / "0").unlink()  # year 2010, draws 0-1
    check = verify_store(store)
    assert check.missing == ["y0000-d000000-000002", "y0001-d000002-000004"]
    with pytest.raises(IncompleteStoreError, match=r"2 of 6 tasks are not done \(year 2010, "
                       r"draws 0-1, year 2011, draws 2-3\)"):
        findings(copy)
    s = run_job(JOB, cluster="sync", out=copy, progress=False)
    assert (s.tasks_run, s.tasks_skipped) == (2, N_TASKS - 2)
    assert tree_bytes(store) == tree_bytes(finished / "results.zarr")


def test_repair_recomputes_exactly_the_damaged_tasks(copy, finished):
    store = copy / "results.zarr"
    victims = [data_chunks(store, "vby")[0], data_chunks(store, "vbe")[-1]]
    victims[0].unlink()
    victims[1].write_bytes(victims[1].read_bytes()[:-1] + b"x")  # same size, altered
    with pytest.warns(storage.DamageRepairedWarning) as rec:
        check = verify_store(copy, deep=True, repair=True)  # the output folder is accepted
    assert [str(w.message).split()[:2] for w in rec] == [[str(victims[0]), "missing:"],
                                                       [str(victims[1]), "checksum:"]]
    assert check.missing == ["y0000-d000000-000002", "y0001-d000004-000005"]
    assert verify_store(store, deep=True).missing == check.missing  # nothing left to repair
    s = run_job(JOB, cluster="sync", out=copy, progress=False)
    assert (s.tasks_run, s.tasks_skipped) == (2, N_TASKS - 2)
    assert tree_bytes(store) == tree_bytes(finished / "results.zarr")


# -- interrupted runs ---------------------------------------------------------------------------


def test_killed_run_refused_by_findings_and_tables(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    real = task_mod.compute_draws

    def die_in_2011(ctx, task):
        if task.year_index == 1:
            raise MemoryError("worker killed")
        return real(ctx, task)

    monkeypatch.setattr(task_mod, "compute_draws", die_in_2011)
    with pytest.raises(RuntimeError, match="3 of 6 tasks failed"):
        run_job(JOB, cluster="sync", out=out, progress=False)
    msg = r"3 of 6 tasks are not done \(year 2011, draws 0-1, year 2011, draws 2-3, year 2011"
    for call in (lambda: findings(out), lambda: write_findings(out),
                 lambda: write_tables(out / "t", out / "results.zarr", None)):
        with pytest.raises(IncompleteStoreError, match=msg):
            call()
    assert main(["findings", str(out)]) == 1
    assert "3 of 6 tasks are not done" in capsys.readouterr().err
    assert main(["verify", str(out)]) == 1
    assert "3 of 6 tasks are not done" in capsys.readouterr().err
    assert main(["verify", str(out), "--allow-partial"]) == 0
    assert main(["findings", str(out), "--allow-partial"]) == 0
    # A caller that wants the finished part gets it: 2010 answered, 2011 all NaN.
    part = findings(out, allow_partial=True)
    assert len(part["intensity"]) == 0 or part["intensity"]["year"].nunique() >= 1
    paths = write_tables(out / "t", out / "results.zarr", None, allow_partial=True)
    vby = next(p for p in paths if p.name == "vby.csv")
    import pandas as pd

    frame = pd.read_csv(vby)
    assert frame.loc[frame["year"] == 2010, "value"].notna().all()
    assert frame.loc[frame["year"] == 2011, "value"].isna().all()


def test_partly_written_block_is_recomputed_to_identical_bytes(finished, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = task_mod.write_block
    victim = (1, 2)  # year 2011, draws 2-3

    def half_write(path, yi, start, stop, values):
        if (yi, start) == victim:
            # The first draw is written (wrong numbers, as if from a half-finished buffer),
            # then the worker dies before the second draw, the manifest and the done flag.
            part = {k: (d, np.asarray(v)[:, :1] * 2 + 1) for k, (d, v) in values.items()}
            real(path, yi, start, start + 1, part)
            raise MemoryError("worker killed mid-write")
        real(path, yi, start, stop, values)

    monkeypatch.setattr(task_mod, "write_block", half_write)
    with pytest.raises(RuntimeError, match="1 of 6 tasks failed"):
        run_job(JOB, cluster="sync", out=out, progress=False)
    store = out / "results.zarr"
    check = verify_store(store)
    assert check.missing == ["y0001-d000002-000004"]
    assert tree_bytes(store) != tree_bytes(finished / "results.zarr")
    monkeypatch.setattr(task_mod, "write_block", real)
    s = run_job(JOB, cluster="sync", out=out, progress=False)
    assert (s.tasks_run, s.tasks_skipped) == (1, N_TASKS - 1)  # exactly that block
    assert tree_bytes(store) == tree_bytes(finished / "results.zarr")
    verify_store(store, deep=True).require_complete()


# -- folders and locks --------------------------------------------------------------------------


def test_foreign_folder_is_refused_and_left_untouched(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("three years of work")
    (out / "results.zarr").mkdir()
    (out / "results.zarr" / "notes.txt").write_text("not a store")
    (out / "summary.zarr").mkdir()
    before = tree_bytes(out)
    with pytest.raises(ForeignFolderError, match=f"{out} is not empty .*thesis.tex"):
        run_job(JOB, cluster="sync", out=out, progress=False)
    with pytest.raises(ForeignFolderError, match="not created by brgvc"):
        plan_job(JOB, out)
    assert tree_bytes(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["results.zarr", "summary.zarr",
                                                      "thesis.tex"]
    # A cube store path that is someone's folder is refused too, before anything is read.
    ds = open_mrio("wiod2013", WIOD, years=[1995], gross_output="published")
    with pytest.raises(ForeignFolderError, match="not a brgvc cube store"):
        write_cube(ds, out / "results.zarr")
    assert tree_bytes(out) == before


def test_second_run_into_a_locked_folder_fails_naming_the_holder(copy, tmp_path):
    code = ("import sys, time; from brgvc.storage import RunLock; "
            "RunLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(copy)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = tree_bytes(copy / "results.zarr")
        with pytest.raises(StoreLockedError) as err:
            run_job(JOB, cluster="sync", out=copy, progress=False)
        msg = str(err.value)
        assert f"pid {holder.pid} on {socket.gethostname()}" in msg and "\n" not in msg
        assert tree_bytes(copy / "results.zarr") == before
        # A new folder too: the second run never gets as far as creating the store.
        fresh = tmp_path / "fresh"
        holder2 = subprocess.Popen([sys.executable, "-c", code, str(fresh)],
                                   stdout=subprocess.PIPE, text=True)
        try:
            assert holder2.stdout.readline().strip() == "locked"
            with pytest.raises(StoreLockedError, match=f"pid {holder2.pid}"):
                run_job(JOB, cluster="sync", out=fresh, progress=False)
            assert not (fresh / "results.zarr").exists()
        finally:
            holder2.kill()
            holder2.wait()
    finally:
        holder.kill()
        holder.wait()


def test_stale_lock_of_a_dead_process_is_taken_over(copy):
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 60
    while storage._pid_alive(zombie.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(zombie.pid, 0)  # exited but not reaped (a zombie): kill(pid, 0) alone says alive
    dead = zombie
    lock = copy / storage.LOCK_NAME
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                "started": "2026-01-01T00:00:00+00:00"}))
    with pytest.warns(StaleLockWarning, match=f"pid {dead.pid}"):
        s = run_job(JOB, cluster="sync", out=copy, progress=False)
    assert s.tasks_run == 0
    assert not lock.exists()
    zombie.wait()
    # A lock held from another host is never broken.
    lock.write_text(json.dumps({"pid": os.getpid() + 10**6, "host": "node-7.cluster",
                                "started": "2026-01-01T00:00:00+00:00"}))
    with pytest.raises(StoreLockedError, match=r"on node-7\.cluster"):
        run_job(JOB, cluster="sync", out=copy, progress=False)
    assert lock.exists()


# -- the cube store -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cube(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cube") / "cube.zarr"
    ds = open_mrio("wiod2013", WIOD, years=[1995, 1996], gross_output="published")
    assert write_cube(ds, path, check_balance=False) == [1995, 1996]
    return path


def test_cube_store_damage_is_named_on_open(cube, tmp_path):
    check = verify_store(cube, deep=True)
    assert check.kind == "cube" and check.done == ["year-1995", "year-1996"]
    store = tmp_path / "cube.zarr"
    shutil.copytree(cube, store)
    z = data_chunks(store, "Z")
    y = data_chunks(store, "Y")
    assert len(z) == 2 and len(y) == 2  # one chunk per year
    z[1].unlink()
    with pytest.raises(StoreDamagedError, match=f"variable 'Z', chunk file {z[1]} is missing"):
        open_cube(store)
    shutil.rmtree(store)
    shutil.copytree(cube, store)
    with open(y[0], "r+b") as f:
        f.truncate(10)
    with pytest.raises(StoreDamagedError, match=f"{y[0]} has 10 bytes"):
        open_cube(store, years=[1996])  # the whole store is checked, not only the years read
    # Writing to it again does not paper over the damage either.
    ds = open_mrio("wiod2013", WIOD, years=[1995, 1996], gross_output="published")
    with pytest.raises(StoreDamagedError, match=f"{y[0]}"):
        write_cube(ds, store, check_balance=False)
    # Repaired: the damaged year is written again, in place, to the same bytes.
    with pytest.warns(storage.DamageRepairedWarning, match="year 1995 will be recomputed"):
        assert verify_store(store, repair=True).missing == ["year-1995"]
    assert write_cube(ds, store, check_balance=False) == [1995]
    assert tree_bytes(store) == tree_bytes(cube)


def test_two_ingests_into_one_store_are_refused(tmp_path):
    ds = open_mrio("wiod2013", WIOD, years=[1995], gross_output="published")
    target = tmp_path / "cube.zarr"
    with storage.RunLock(tmp_path, "ingest", name=".cube.zarr.brgvc-lock"):
        with pytest.raises(StoreLockedError, match=f"another brgvc ingest \\(pid {os.getpid()}"):
            write_cube(ds, target, check_balance=False)
    assert not target.exists() and not (tmp_path / "cube.zarr.incomplete").exists()
    assert write_cube(ds, target, check_balance=False) == [1995]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.zarr"]  # lock removed


def test_a_whole_store_replaces_only_brgvc_stores(tmp_path):
    import xarray as xr

    ds = xr.Dataset({"v": (("year",), np.arange(3.0))}, attrs={"brgvc_job_hash": "abc"})
    path = tmp_path / "summary.zarr"
    storage.write_dataset(ds, path)
    assert verify_store(path, deep=True).kind == "summary"
    storage.write_dataset(ds * 2, path)  # brgvc's own: replaced and sealed again
    assert xr.open_zarr(path, consolidated=False)["v"].values.tolist() == [0.0, 2.0, 4.0]
    verify_store(path, deep=True)
    foreign = tmp_path / "photos.zarr"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"\xff\xd8 not ours")
    with pytest.raises(ForeignFolderError, match="was not written by brgvc"):
        storage.write_dataset(ds, foreign)
    assert [p.name for p in foreign.iterdir()] == ["holiday.jpg"]
