"""Scheduled sweeps: cron validation, next firing times, and the local schedule runner.

No test waits for the wall clock: ``run_schedule`` runs on a simulated clock (``now=`` a
datetime) or on a fake clock whose ``sleep`` advances it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("croniter")

from brgvc.deploy.schedule import (
    ScheduledRun,
    ScheduleResult,
    job_schedule,
    next_fire_times,
    run_schedule,
    stamp,
    validate_cron,
)

UTC = dt.UTC
START = dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("cron", "start", "expected"), [
    ("0 3 * * 1", START, [_utc(2026, 12, 7, 3), _utc(2026, 12, 14, 3), _utc(2026, 12, 21, 3)]),
    ("*/15 * * * *", _utc(2026, 11, 30, 12, 7),
     [_utc(2026, 11, 30, 12, 15), _utc(2026, 11, 30, 12, 30), _utc(2026, 11, 30, 12, 45)]),
    ("0 0 1 * *", START, [_utc(2026, 12, 1), _utc(2027, 1, 1), _utc(2027, 2, 1)]),
    ("30 2 * * mon-fri", _utc(2026, 12, 4, 12),  # from a Friday noon
     [_utc(2026, 12, 7, 2, 30), _utc(2026, 12, 8, 2, 30), _utc(2026, 12, 9, 2, 30)]),
    ("0 3 * * 7", START, [_utc(2026, 12, 6, 3), _utc(2026, 12, 13, 3), _utc(2026, 12, 20, 3)]),
    ("0 12 29 2 *", START, [_utc(2028, 2, 29, 12), _utc(2032, 2, 29, 12), _utc(2036, 2, 29, 12)]),
    ("0 3 * * 1", _utc(2026, 12, 7, 3), [_utc(2026, 12, 14, 3), _utc(2026, 12, 21, 3),
                                         _utc(2026, 12, 28, 3)]),  # strictly after start
])
def test_next_fire_times_from_a_fixed_date(cron, start, expected):
    assert next_fire_times(cron, start, 3) == expected


def test_next_fire_times_in_a_time_zone_and_from_a_naive_start():
    berlin = next_fire_times("0 3 * * 1", START, 2, timezone="Europe/Berlin")
    assert [t.astimezone(UTC) for t in berlin] == [_utc(2026, 12, 7, 2), _utc(2026, 12, 14, 2)]
    assert str(berlin[0].tzinfo) == "Europe/Berlin"
    assert next_fire_times("0 3 * * 1", START.replace(tzinfo=None), 1) == [_utc(2026, 12, 7, 3)]
    assert next_fire_times("0 3 * * 1", START, 0) == []


@pytest.mark.parametrize(("cron", "message"), [
    ("61 * * * *", r"invalid cron expression '61 \* \* \* \*': minute: 61 is outside 0-59"),
    ("* * *", "needs 5 fields .* found 3"),
    ("0 3 * * 1 2027", "needs 5 fields .* found 6"),
    ("*/0 * * * *", "minute: step '0' must be a positive number"),
    ("0 24 * * *", "hour: 24 is outside 0-23"),
    ("0 0 32 * *", "day of month: 32 is outside 1-31"),
    ("0 0 * 13 *", "month: 13 is outside 1-12"),
    ("0 0 * * funday", "day of week: 'funday' is not a number or one of sun"),
    ("5-1 * * * *", "minute: range '5-1' runs backwards"),
    ("0 3 * * 1-", "day of week: '1-' is not a number"),
    ("", "needs 5 fields"),
])
def test_invalid_cron_strings_are_refused_with_a_clear_error(cron, message):
    from croniter import croniter

    with pytest.raises(ValueError, match=message):
        validate_cron(cron)
    with pytest.raises(ValueError):
        next_fire_times(cron, START, 1)
    if len(cron.split()) == 5 and cron != "5-1 * * * *":
        # croniter agrees (it would wrap '5-1' around; Kubernetes' cron parser refuses it,
        # so brgvc does too: one schedule must mean the same in both runners)
        assert not croniter.is_valid(cron)


@pytest.mark.parametrize("cron", ["0 3 * * 1", "*/5 * * * *", "0 0 1,15 * *", "0 2 * jan-mar sun",
                                  "15 3-9/2 * * *", "0 0 * * 0,7"])
def test_valid_cron_strings_pass(cron):
    validate_cron(cron)


def test_job_schedule_forms(tmp_path):
    assert job_schedule({"data": "x"}) is None
    assert job_schedule({"schedule": "0 3 * * 1"}) == {
        "cron": "0 3 * * 1", "timezone": "UTC", "concurrency": "forbid"}
    f = tmp_path / "job.yaml"
    f.write_text("schedule: {cron: '0 3 * * 1', timezone: Asia/Shanghai, concurrency: allow}\n")
    assert job_schedule(f) == {"cron": "0 3 * * 1", "timezone": "Asia/Shanghai",
                               "concurrency": "allow"}
    with pytest.raises(ValueError, match="unknown time zone"):
        job_schedule({"schedule": {"cron": "0 3 * * 1", "timezone": "Mars/Olympus"}})
    with pytest.raises(ValueError, match="concurrency"):
        job_schedule({"schedule": {"cron": "0 3 * * 1", "concurrency": "sometimes"}})
    with pytest.raises(ValueError, match="minute: 61"):
        job_schedule({"schedule": "61 * * * *"})


# ---------------------------------------------------------------------------------------------
# run_schedule
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def sched_job(tmp_path: Path) -> Path:
    p = tmp_path / "weekly.yaml"
    p.write_text("name: weekly\ndata: wiod2013\nyears: [2011]\nmeasures: [vby]\n"
                 "outputs: {formats: [csv], tables: [summary]}\nschedule: '0 3 * * 1'\n")
    return p


class FakeClock:
    """A clock that moves only when slept on or told to."""

    def __init__(self, t: dt.datetime) -> None:
        self.t = t
        self.slept: list[float] = []

    def now(self) -> dt.datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += dt.timedelta(seconds=seconds)

    def advance(self, **kw: float) -> None:
        self.t += dt.timedelta(**kw)


def _recorder(clock: FakeClock | None = None, duration: dt.timedelta | None = None,
              fail: set[int] = frozenset()):
    calls: list[tuple[Any, Any, Path]] = []

    def run(job: Any, cluster: Any, out: Path) -> str:
        calls.append((job, cluster, out))
        out.mkdir(parents=True, exist_ok=True)
        if clock is not None and duration is not None:
            clock.t += duration
        if len(calls) in fail:
            raise RuntimeError("worker lost")
        (out / "run.json").write_text("{}")
        return f"summary {len(calls)}"

    return run, calls


def test_run_schedule_runs_twice_into_two_dated_stores(sched_job, tmp_path):
    run, calls = _recorder()
    t0 = time.perf_counter()
    runs = run_schedule(sched_job, tmp_path / "out", cluster="tcp://127.0.0.1:1", max_runs=2,
                        now=START, run=run)
    assert time.perf_counter() - t0 < 5  # simulated clock: no real waiting
    assert [r.fire_time for r in runs] == [_utc(2026, 12, 7, 3), _utc(2026, 12, 14, 3)]
    assert [c[2] for c in calls] == [tmp_path / "out" / "2026-12-07T0300",
                                     tmp_path / "out" / "2026-12-14T0300"]
    assert all(c[1] == "tcp://127.0.0.1:1" for c in calls)
    assert all(isinstance(r, ScheduledRun) and r.ok and not r.resumed for r in runs)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["2026-12-07T0300",
                                                                    "2026-12-14T0300"]


def test_run_schedule_sleeps_on_its_clock_until_each_firing(sched_job, tmp_path):
    clock = FakeClock(START)
    run, _ = _recorder()
    runs = run_schedule(sched_job, tmp_path / "out", max_runs=1, now=clock.now,
                        sleep=clock.sleep, run=run)
    assert runs[0].started == _utc(2026, 12, 7, 3)
    assert max(clock.slept) <= 60 and sum(clock.slept) == pytest.approx(6 * 86400 + 15 * 3600)


def test_runs_never_overlap_and_missed_firings_are_skipped(sched_job, tmp_path, caplog):
    clock = FakeClock(START)
    run, _ = _recorder(clock, duration=dt.timedelta(days=8))  # overruns the next firing
    with caplog.at_level(logging.WARNING, logger="brgvc.deploy.schedule"):
        runs = run_schedule(sched_job, tmp_path / "out", max_runs=2, now=clock.now,
                            sleep=clock.sleep, run=run)
    assert [r.fire_time for r in runs] == [_utc(2026, 12, 7, 3), _utc(2026, 12, 21, 3)]
    assert runs[1].started >= runs[0].finished
    assert "skipped 1 firing" in caplog.text


def test_an_interrupted_run_is_resumed_into_its_dated_store(sched_job, tmp_path):
    out = tmp_path / "out"
    (out / "2026-11-30T0300" / "results.zarr").mkdir(parents=True)  # no run.json: interrupted
    run, _ = _recorder()
    runs = run_schedule(sched_job, out, max_runs=2, now=START, run=run)
    assert [(r.fire_time, r.resumed) for r in runs] == [(_utc(2026, 11, 30, 3), True),
                                                        (_utc(2026, 12, 7, 3), False)]
    # a finished store of the last firing is left alone
    run2, _ = _recorder()
    runs = run_schedule(sched_job, out, max_runs=1, now=START, run=run2)
    assert runs[0].fire_time == _utc(2026, 12, 7, 3)


def test_a_failed_run_is_recorded_and_the_schedule_goes_on(sched_job, tmp_path):
    run, _ = _recorder(fail={1})
    runs = run_schedule(sched_job, tmp_path / "out", max_runs=2, now=START, run=run)
    assert [r.ok for r in runs] == [False, True]
    assert runs[0].error == "RuntimeError: worker lost"
    assert runs[1].result == "summary 2"


def test_run_schedule_needs_a_schedule(tmp_path):
    job = tmp_path / "plain.yaml"
    job.write_text("data: wiod2013\nyears: [2011]\nmeasures: [vby]\n")
    with pytest.raises(ValueError, match="no 'schedule'"):
        run_schedule(job, tmp_path / "out", max_runs=1, now=START, run=lambda *a: None)


def test_stamp_is_utc():
    berlin = next_fire_times("0 3 * * 1", START, 1, timezone="Europe/Berlin")[0]
    assert stamp(berlin) == "2026-12-07T0200"


def test_run_schedule_with_the_real_runner(sched_job, tmp_path):
    """Two real runs (synchronous scheduler, one WIOD year) into two dated result stores."""
    out = tmp_path / "out"
    runs = run_schedule(sched_job, out, cluster="sync", max_runs=2, now=START)
    assert [r.ok for r in runs] == [True, True], [r.error for r in runs]
    for r, name in zip(runs, ["2026-12-07T0300", "2026-12-14T0300"], strict=True):
        assert r.out == out / name
        assert (r.out / "results.zarr").is_dir() and (r.out / "run.json").is_file()
        assert r.result.tasks_run == r.result.tasks_total == 1
    # Interrupted after its store was written: the next start resumes into it (nothing to redo).
    (out / "2026-12-14T0300" / "run.json").unlink()
    again = run_schedule(sched_job, out, cluster="sync", max_runs=1,
                         now=_utc(2026, 12, 14, 9))
    assert again[0].resumed and again[0].ok and again[0].out == out / "2026-12-14T0300"
    assert again[0].result.tasks_skipped == 1 and again[0].result.tasks_run == 0


# ---------------------------------------------------------------------------------------------
# exit code and concurrency policies
# ---------------------------------------------------------------------------------------------


def test_failed_runs_give_exit_code_1_and_a_summary(sched_job, tmp_path):
    run, _ = _recorder(fail={2})
    runs = run_schedule(sched_job, tmp_path / "out", max_runs=3, now=START, run=run)
    assert isinstance(runs, ScheduleResult) and len(runs) == 3
    assert runs.failures == [runs[1]] and not runs.ok and runs.exit_code == 1
    assert runs.summary().splitlines() == [
        f"2026-12-07T0300  ok        {tmp_path / 'out' / '2026-12-07T0300'}",
        f"2026-12-14T0300  failed    {tmp_path / 'out' / '2026-12-14T0300'}  "
        "RuntimeError: worker lost",
        f"2026-12-21T0300  ok        {tmp_path / 'out' / '2026-12-21T0300'}",
        "3 runs: 2 ok, 1 failed, 0 cancelled, 0 firings skipped (concurrency forbid)",
    ]
    ok_run, _ = _recorder()
    good = run_schedule(sched_job, tmp_path / "out2", max_runs=2, now=START, run=ok_run)
    assert good.ok and good.exit_code == 0


def test_forbid_records_the_skipped_firings(sched_job, tmp_path):
    clock = FakeClock(START)
    run, _ = _recorder(clock, duration=dt.timedelta(days=15))
    runs = run_schedule(sched_job, tmp_path / "out", max_runs=2, now=clock.now,
                        sleep=clock.sleep, run=run)
    assert runs.skipped == [_utc(2026, 12, 14, 3), _utc(2026, 12, 21, 3),  # both overran
                            _utc(2027, 1, 4, 3), _utc(2027, 1, 11, 3)]
    assert [r.fire_time for r in runs] == [_utc(2026, 12, 7, 3), _utc(2026, 12, 28, 3)]


def _waiting_run(wait_s: float):
    """A run for 2026-12-07 that waits for the run of the next firing to start."""
    second_started = threading.Event()
    seen: dict[str, bool] = {}

    def run(job: Any, cluster: Any, out: Path) -> str:
        out.mkdir(parents=True, exist_ok=True)
        if out.name == "2026-12-07T0300":
            seen["overlap"] = second_started.wait(wait_s)
        else:
            second_started.set()
        (out / "run.json").write_text("{}")
        return out.name

    return run, seen


def test_allow_runs_overlapping_firings_at_once(sched_job, tmp_path):
    run, seen = _waiting_run(20)
    t0 = time.perf_counter()
    runs = run_schedule(sched_job, tmp_path / "out", max_runs=2, now=START, run=run,
                        concurrency="allow")
    assert seen["overlap"] is True  # the first run was still going when the second began
    assert time.perf_counter() - t0 < 15
    assert [(r.fire_time, r.ok, r.result) for r in runs] == [
        (_utc(2026, 12, 7, 3), True, "2026-12-07T0300"),
        (_utc(2026, 12, 14, 3), True, "2026-12-14T0300")]
    assert runs[0].finished >= runs[1].started and runs.exit_code == 0 and not runs.skipped
    # the same runs under forbid never overlap: the first one waits in vain
    run, seen = _waiting_run(0.3)
    runs = run_schedule(sched_job, tmp_path / "out2", max_runs=2, now=START, run=run)
    assert seen["overlap"] is False and [r.ok for r in runs] == [True, True]


def test_allow_comes_from_the_job_and_records_failures(tmp_path):
    job = tmp_path / "allow.yaml"
    job.write_text("data: wiod2013\nyears: [2011]\nmeasures: [vby]\n"
                   "schedule: {cron: '0 3 * * 1', concurrency: allow}\n")
    run, calls = _recorder(fail={1})
    runs = run_schedule(job, tmp_path / "out", max_runs=2, now=START, run=run)
    assert runs.concurrency == "allow" and len(calls) == 2
    assert [r.ok for r in runs] == [False, True] and runs.exit_code == 1


def _replaceable_run(job: Any, cluster: Any, out: Path) -> str:
    """Run for the 'replace' tests (module level: it runs in a spawned process)."""
    out.mkdir(parents=True, exist_ok=True)
    if out.name == "2026-12-07T0300":
        child = subprocess.Popen(["sleep", "120"])  # e.g. a LocalCluster's worker
        (out / "pids").write_text(f"{os.getpid()} {child.pid}")
        time.sleep(120)
    (out / "run.json").write_text("{}")
    return f"done {out.name}"


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie waiting for its reaper is gone too
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def test_replace_terminates_the_running_run_and_its_children(sched_job, tmp_path):
    clock = FakeClock(START)
    pids = tmp_path / "out" / "2026-12-07T0300" / "pids"

    def sleep(seconds: float) -> None:
        if clock.t >= _utc(2026, 12, 7, 3):  # let the first run get going (a real process)
            deadline = time.monotonic() + 30
            while not pids.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        clock.sleep(seconds)

    t0 = time.perf_counter()
    runs = run_schedule(sched_job, tmp_path / "out", max_runs=2, now=clock.now, sleep=sleep,
                        run=_replaceable_run, concurrency="replace")
    assert time.perf_counter() - t0 < 40
    run_pid, child_pid = map(int, pids.read_text().split())
    assert [(r.cancelled, r.ok) for r in runs] == [(True, False), (False, True)]
    assert runs[0].error == "cancelled: replaced by the run for 2026-12-14T03:00:00+00:00"
    assert runs[1].result == "done 2026-12-14T0300"
    assert not (pids.parent / "run.json").exists()  # left unfinished, to resume
    assert _gone(run_pid) and _gone(child_pid)
    assert runs.cancelled == [runs[0]] and runs.failures == [] and runs.exit_code == 0


def test_allow_and_replace_with_the_real_runner(sched_job, tmp_path):
    """Two real runs at once in threads; then a real run replaced in its process."""
    out = tmp_path / "allow"
    runs = run_schedule(sched_job, out, cluster="sync", max_runs=2, now=START,
                        concurrency="allow")
    assert [r.ok for r in runs] == [True, True], [r.error for r in runs]
    assert [r.result.tasks_run for r in runs] == [1, 1] and runs.exit_code == 0
    assert all((r.out / "run.json").is_file() for r in runs)

    out = tmp_path / "replace"
    runs = run_schedule(sched_job, out, cluster="sync", max_runs=2, now=START,
                        concurrency="replace")
    assert [r.cancelled for r in runs] == [True, False] and runs[1].ok, runs.summary()
    assert runs[1].result.tasks_run == 1  # the RunSummary came back from the process
    assert (out / "2026-12-14T0300" / "run.json").is_file()
    assert not (out / "2026-12-07T0300" / "run.json").exists()
    assert runs.exit_code == 0


def test_a_real_failed_run_gives_exit_code_1(sched_job, tmp_path):
    out = tmp_path / "out"
    (out / "2026-12-07T0300").mkdir(parents=True)
    (out / "2026-12-07T0300" / "notes.txt").write_text("not brgvc's")  # a foreign folder
    runs = run_schedule(sched_job, out, cluster="sync", max_runs=2, now=START)
    assert [r.ok for r in runs] == [False, True]
    assert runs[0].error.startswith("ForeignFolderError") and runs.exit_code == 1
    assert not (out / "2026-12-07T0300" / "run.json").exists()

