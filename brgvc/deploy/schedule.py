"""Scheduled sweeps: a job's ``schedule`` (cron) run locally, each run into a dated store.

A job may carry ``schedule: "0 3 * * 1"`` or ``schedule: {cron: "0 3 * * 1", timezone:
Europe/Berlin, concurrency: forbid}``. The same string drives two runners:

* on Kubernetes, :func:`brgvc.deploy.kubernetes.render_cronjob` (a CronJob creating DaskJobs);
* here, :func:`run_schedule`: a croniter loop that sleeps until the next firing, runs the job
  (``brgvc.runner.run_job``) into a dated result store ``out_root/YYYY-MM-DDTHHMM/`` (the
  firing time in UTC) and waits for the next one. A store left unfinished by an interrupted
  run (no ``run.json``) is resumed first.

``concurrency`` says what happens when a firing comes while the previous run still goes, as
for a Kubernetes CronJob:

* ``forbid`` (default): runs never overlap; a run goes in the foreground and the firings that
  pass meanwhile are skipped (logged and listed in :attr:`ScheduleResult.skipped`);
* ``allow``: each run goes in a thread of its own, so runs overlap;
* ``replace``: each run goes in a process of its own (its own process group, so a
  LocalCluster it started goes with it); a new firing terminates the running one (recorded as
  cancelled, its dated store left to resume) and starts the new run.

:func:`run_schedule` returns a :class:`ScheduleResult` whose :attr:`~ScheduleResult.exit_code`
is 1 when any run failed (a cancelled run is no failure), for ``brgvc schedule`` to exit with.

croniter (the ``schedule`` extra) computes the firing times; :func:`validate_cron` works without
it and says which field is wrong.

Examples
--------
>>> import datetime as dt
>>> [t.isoformat() for t in next_fire_times("0 3 * * 1",
...     dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC), 2)]     # doctest: +SKIP
['2026-12-07T03:00:00+00:00', '2026-12-14T03:00:00+00:00']
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import multiprocessing
import os
import signal
import threading
import time
import zoneinfo
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from brgvc.runner.jobspec import load_yaml

__all__ = [
    "ScheduleResult",
    "ScheduledRun",
    "job_schedule",
    "next_fire_times",
    "run_schedule",
    "stamp",
    "validate_cron",
]

log = logging.getLogger(__name__)

#: Folder name of a run: its firing time in UTC (sortable, unambiguous across DST changes).
STAMP_FORMAT = "%Y-%m-%dT%H%M"
#: File the runner writes when a run finished (absent: interrupted, resume into the store).
DONE_FILE = "run.json"
#: Longest single sleep, so that a changed clock (suspend, NTP step) is noticed.
MAX_SLEEP = 60.0
#: Longest single sleep while runs go in the background, so that their end is noticed soon.
POLL_SLEEP = 5.0
#: Seconds a replaced run's process group gets after SIGTERM before SIGKILL.
TERMINATE_GRACE = 10.0

_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(
        ["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}),
)


def validate_cron(cron: str) -> None:
    """Check a standard 5-field cron expression.

    Accepted per field: ``*``, numbers, ranges ``a-b``, steps ``*/n`` and ``a-b/n``, lists
    ``a,b``, and month/day names (``jan``, ``mon``). Day of week 0 and 7 are Sunday.

    Parameters
    ----------
    cron : str
        E.g. ``"0 3 * * 1"`` (03:00 every Monday).

    Raises
    ------
    ValueError
        Naming the field and the problem, e.g. ``invalid cron expression '61 * * * *':
        minute: 61 is outside 0-59``.
    """
    if not isinstance(cron, str):
        raise ValueError(f"a cron expression must be a string, not {type(cron).__name__}")
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(
            f"invalid cron expression {cron!r}: it needs 5 fields (minute hour day-of-month "
            f"month day-of-week), found {len(fields)}"
        )
    for text, (name, lo, hi, names) in zip(fields, _FIELDS, strict=True):
        for part in text.lower().split(","):
            problem = _field_problem(part, lo, hi, names)
            if problem:
                raise ValueError(f"invalid cron expression {cron!r}: {name}: {problem}")
    try:
        from croniter import croniter
    except ImportError:
        return
    if not croniter.is_valid(cron):  # the authority when installed
        raise ValueError(f"invalid cron expression {cron!r}")


def _field_problem(part: str, lo: int, hi: int, names: Mapping[str, int]) -> str | None:
    rng, slash, step = part.partition("/")
    if slash and (not step.isdigit() or int(step) == 0):
        return f"step {step!r} must be a positive number"
    if rng == "*":
        return None
    bounds = rng.split("-")
    if len(bounds) > 2 or "" in bounds:
        return f"{part!r} is not a number, name, range or step"
    vals = []
    for b in bounds:
        v = names.get(b, b)
        if isinstance(v, str):
            if not v.isdigit():
                return f"{b!r} is not a number" + (f" or one of {', '.join(names)}" if names
                                                   else "")
            v = int(v)
        if not lo <= v <= hi:
            return f"{v} is outside {lo}-{hi}"
        vals.append(v)
    if len(vals) == 2 and vals[0] > vals[1]:
        return f"range {rng!r} runs backwards"
    return None


def _croniter() -> Any:
    try:
        from croniter import croniter
    except ImportError:
        raise ImportError(
            "scheduled runs need croniter: pip install 'brgvc[schedule]'"
        ) from None
    return croniter


def _aware(t: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return t.replace(tzinfo=tz) if t.tzinfo is None else t


def next_fire_times(cron: str, start: dt.datetime, n: int, *, timezone: str = "UTC"
                    ) -> list[dt.datetime]:
    """The next ``n`` firing times of ``cron`` strictly after ``start``.

    Parameters
    ----------
    cron : str
        5-field cron expression.
    start : datetime.datetime
        Starting instant; a naive value is taken in ``timezone``.
    n : int
        How many.
    timezone : str
        IANA zone the expression is read in (``"UTC"``, ``"Europe/Berlin"``).

    Returns
    -------
    list of datetime.datetime
        Aware datetimes in ``timezone``, increasing.

    Examples
    --------
    >>> import datetime as dt
    >>> next_fire_times("0 3 * * 1", dt.datetime(2026, 11, 30, 12), 3)   # doctest: +SKIP
    [datetime(2026, 12, 7, 3, 0, tzinfo=UTC), datetime(2026, 12, 14, 3, ...), ...]
    """
    validate_cron(cron)
    if n < 0:
        raise ValueError(f"n must be >= 0, not {n}")
    tz = zoneinfo.ZoneInfo(timezone)
    it = _croniter()(cron, _aware(start, tz).astimezone(tz))
    return [it.get_next(dt.datetime) for _ in range(n)]


def _prev_fire_time(cron: str, start: dt.datetime, timezone: str) -> dt.datetime:
    tz = zoneinfo.ZoneInfo(timezone)
    return _croniter()(cron, _aware(start, tz).astimezone(tz)).get_prev(dt.datetime)


def job_schedule(job: Any) -> dict[str, str] | None:
    """A job's schedule as ``{cron, timezone, concurrency}`` (None when it has none).

    Parameters
    ----------
    job : brgvc.runner.Job, mapping, str or Path
        A loaded job, a parsed spec, or a job YAML file (read with
        :func:`brgvc.runner.jobspec.load_yaml`: no duplicate keys, no alias bombs).

    Returns
    -------
    dict or None
        ``{"cron", "timezone", "concurrency"}`` with defaults ``UTC`` and ``forbid``.

    Raises
    ------
    ValueError
        For an invalid cron string, time zone or concurrency policy.
    """
    if hasattr(job, "schedule") and not isinstance(job, Mapping):
        sched = job.schedule
    else:
        doc = job if isinstance(job, Mapping) else load_yaml(Path(job).read_text("utf-8"),
                                                            str(job))
        sched = (doc or {}).get("schedule")
    if sched is None:
        return None
    if isinstance(sched, str):
        sched = {"cron": sched}
    if not isinstance(sched, Mapping) or "cron" not in sched:
        raise ValueError("schedule must be a cron string or a mapping with a 'cron' key")
    out = {"cron": str(sched["cron"]), "timezone": str(sched.get("timezone") or "UTC"),
           "concurrency": str(sched.get("concurrency") or "forbid")}
    validate_cron(out["cron"])
    try:
        zoneinfo.ZoneInfo(out["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"schedule.timezone: unknown time zone {out['timezone']!r}") from None
    if out["concurrency"] not in ("forbid", "allow", "replace"):
        raise ValueError(f"schedule.concurrency: {out['concurrency']!r} is not one of "
                         "forbid, allow, replace")
    return out


def stamp(fire: dt.datetime) -> str:
    """Result folder name of a firing.

    Parameters
    ----------
    fire : datetime.datetime
        An aware firing time (any zone).

    Returns
    -------
    str
        ``YYYY-MM-DDTHHMM`` in UTC, e.g. ``2026-12-07T0300``.
    """
    return fire.astimezone(dt.UTC).strftime(STAMP_FORMAT)


@dataclasses.dataclass
class ScheduledRun:
    """One run of a schedule.

    Attributes
    ----------
    fire_time : datetime.datetime
        The firing it belongs to.
    out : pathlib.Path
        Its dated result store folder.
    resumed : bool
        The folder existed already (an interrupted run resumed).
    ok : bool
        The run finished without error.
    result : object
        What the run function returned (a ``RunSummary`` for ``run_job``).
    error : str or None
        ``Type: message`` of a failed run, or why it was cancelled.
    started, finished : datetime.datetime
    cancelled : bool
        Terminated by a later firing under ``concurrency: replace`` (not a failure).
    """

    fire_time: dt.datetime
    out: Path
    resumed: bool
    ok: bool
    result: Any = None
    error: str | None = None
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    cancelled: bool = False

    @property
    def failed(self) -> bool:
        """The run ended with an error (a cancelled or still running run has not failed)."""
        return not self.ok and not self.cancelled and self.finished is not None


class ScheduleResult(list):
    """The runs of :func:`run_schedule` (a list of :class:`ScheduledRun`, in start order).

    Attributes
    ----------
    skipped : list of datetime.datetime
        Firings skipped under ``concurrency: forbid`` because a run was still going.
    concurrency : str
        The policy the schedule ran under.
    """

    def __init__(self, runs: Any = (), concurrency: str = "forbid") -> None:
        super().__init__(runs)
        self.skipped: list[dt.datetime] = []
        self.concurrency = concurrency

    @property
    def failures(self) -> list[ScheduledRun]:
        """Runs that ended with an error."""
        return [r for r in self if r.failed]

    @property
    def cancelled(self) -> list[ScheduledRun]:
        """Runs terminated by a newer firing (``concurrency: replace``)."""
        return [r for r in self if r.cancelled]

    @property
    def ok(self) -> bool:
        """No run failed."""
        return not self.failures

    @property
    def exit_code(self) -> int:
        """0 when no run failed, else 1 (for ``brgvc schedule``)."""
        return 0 if self.ok else 1

    def summary(self) -> str:
        """One line per run (stamp, status, folder, error) and a line of totals."""
        lines = []
        for r in self:
            status = "ok" if r.ok else "cancelled" if r.cancelled else "failed"
            lines.append(f"{stamp(r.fire_time)}  {status:<9} {r.out}"
                         + (" (resumed)" if r.resumed else "")
                         + (f"  {r.error}" if r.error else ""))
        lines.append(f"{len(self)} runs: {sum(r.ok for r in self)} ok, {len(self.failures)} "
                     f"failed, {len(self.cancelled)} cancelled, {len(self.skipped)} firings "
                     f"skipped (concurrency {self.concurrency})")
        return "\n".join(lines)


class _SimulatedClock:
    """A clock that only moves when slept on (``now=`` a datetime): runs fire at once."""

    def __init__(self, start: dt.datetime) -> None:
        self.t = _aware(start, dt.UTC)

    def now(self) -> dt.datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += dt.timedelta(seconds=max(seconds, 0.0))


def _default_run(job: Any, cluster: Any, out: Path) -> Any:
    from brgvc.runner import run_job

    return run_job(job, cluster=cluster, out=out, progress=False)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class _ThreadRun:
    """A run in a thread (``concurrency: allow``): overlaps, cannot be cancelled."""

    def __init__(self, run: Callable[[Any, Any, Path], Any], job: Any, cluster: Any,
                 out: Path) -> None:
        self.outcome: tuple[bool, Any] | None = None

        def target() -> None:
            try:
                self.outcome = (True, run(job, cluster, out))
            except Exception as exc:
                self.outcome = (False, _error_text(exc))

        self.thread = threading.Thread(target=target, name=f"brgvc-schedule-{out.name}",
                                       daemon=True)
        self.thread.start()

    def done(self) -> bool:
        return not self.thread.is_alive()

    def wait(self, seconds: float) -> None:
        self.thread.join(seconds)

    def outcome_now(self) -> tuple[bool, Any]:
        self.thread.join()
        return self.outcome or (False, "RuntimeError: the run thread ended without a result")

    def cancel(self) -> None:  # pragma: no cover - threads are never replaced
        raise RuntimeError("a run in a thread cannot be cancelled")


def _child(conn: Any, run: Callable[[Any, Any, Path], Any], job: Any, cluster: Any,
           out: Path) -> None:
    """Body of a run process: its own process group, so that cancelling it ends its cluster."""
    os.setsid()
    try:
        result = run(job, cluster, out)
    except Exception as exc:
        conn.send((False, _error_text(exc)))
        return
    try:
        conn.send((True, result))
    except Exception:  # an unpicklable result: its text is better than nothing
        conn.send((True, repr(result)))


class _ProcessRun:
    """A run in a process of its own (``concurrency: replace``): can be terminated."""

    def __init__(self, run: Callable[[Any, Any, Path], Any], job: Any, cluster: Any,
                 out: Path) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self.conn, child_conn = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_child, args=(child_conn, run, job, cluster, out),
                                name=f"brgvc-schedule-{out.name}")
        self.proc.start()
        child_conn.close()
        self.outcome: tuple[bool, Any] | None = None

    def _receive(self) -> None:
        if self.outcome is None and self.conn.poll():
            try:
                self.outcome = self.conn.recv()
            except (EOFError, OSError):
                pass

    def done(self) -> bool:
        self._receive()
        return self.outcome is not None or not self.proc.is_alive()

    def wait(self, seconds: float) -> None:
        self.conn.poll(seconds)
        self._receive()

    def outcome_now(self) -> tuple[bool, Any]:
        self._receive()
        self.proc.join()
        self._receive()
        if self.outcome is None:
            return False, (f"RuntimeError: the run process {self.proc.pid} ended with exit "
                           f"code {self.proc.exitcode} and no result")
        return self.outcome

    def cancel(self) -> None:
        """SIGTERM to the run's process group, SIGKILL after :data:`TERMINATE_GRACE` s."""
        pid = self.proc.pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not self.proc.is_alive():
                break
            try:
                if pid is None:
                    break
                if os.getpgid(pid) == pid:  # the child's own group (after its setsid)
                    os.killpg(pid, sig)
                else:  # before its setsid: the process alone
                    os.kill(pid, sig)
            except ProcessLookupError:
                break
            self.proc.join(TERMINATE_GRACE if sig == signal.SIGTERM else None)
        self.conn.close()


def run_schedule(
    job_path: str | Path,
    out_root: str | Path,
    cluster: Any = "local",
    max_runs: int | None = None,
    now: dt.datetime | Callable[[], dt.datetime] | None = None,
    *,
    sleep: Callable[[float], None] | None = None,
    run: Callable[[Any, Any, Path], Any] | None = None,
    concurrency: str | None = None,
) -> ScheduleResult:
    """Run a job on its cron schedule, each run into a dated result store.

    Parameters
    ----------
    job_path : str or Path
        Job spec YAML with a ``schedule``.
    out_root : str or Path
        Each run writes ``out_root/<YYYY-MM-DDTHHMM>/`` (UTC firing time); an existing folder
        is resumed into (the runner skips finished tasks).
    cluster : str, Path or distributed.Client
        Where each run computes (as ``brgvc run --cluster``).
    max_runs : int, optional
        Stop after this many runs were started (and wait for them); default: run forever.
    now : datetime or callable, optional
        None: the real clock. A datetime: a simulated clock starting there that jumps to each
        firing instead of sleeping (for tests and catching up). A callable: a clock returning
        aware datetimes, used with ``sleep``.
    sleep : callable, optional
        ``sleep(seconds)``; default ``time.sleep`` (or the simulated clock's).
    run : callable, optional
        ``run(job, cluster, out)``; default ``brgvc.runner.run_job``. Under ``replace`` it
        runs in a spawned process, so it must be picklable (a module-level function).
    concurrency : {"forbid", "allow", "replace"}, optional
        Overrides the job's ``schedule.concurrency`` (see the module docstring).

    Returns
    -------
    ScheduleResult
        The runs in start order (a list of :class:`ScheduledRun`), with ``failures``,
        ``cancelled``, ``skipped`` and ``exit_code`` (1 when any run failed). A failed run
        is logged and recorded; the schedule goes on.

    Raises
    ------
    ValueError
        When the job has no schedule or an invalid one, or ``concurrency`` is unknown.
    """
    job_path = Path(job_path)
    out_root = Path(out_root)
    sched = job_schedule(job_path)
    if sched is None:
        raise ValueError(f"{job_path}: the job has no 'schedule' (a cron string) to run on")
    cron, tzname = sched["cron"], sched["timezone"]
    policy = concurrency or sched["concurrency"]
    if policy not in ("forbid", "allow", "replace"):
        raise ValueError(f"concurrency: {policy!r} is not one of forbid, allow, replace")
    if isinstance(now, dt.datetime):
        sim = _SimulatedClock(now)
        clock, sleep = sim.now, sleep or sim.sleep
    else:
        clock = now or (lambda: dt.datetime.now(dt.UTC))
        sleep = sleep or time.sleep
    job: Any = job_path
    if run is None:
        run = _default_run
        from brgvc.runner import load_job

        job = load_job(job_path)  # invalid jobs fail now, not at the first firing
    runs = ScheduleResult(concurrency=policy)
    running: list[tuple[ScheduledRun, _ThreadRun | _ProcessRun]] = []

    def finish(rec: ScheduledRun, ok: bool, value: Any) -> None:
        rec.finished = clock()
        if ok:
            rec.ok, rec.result = True, value
        else:
            rec.error = str(value)
            log.error("schedule %s: run for %s failed: %s", cron, rec.fire_time.isoformat(),
                      rec.error)

    def reap() -> None:
        for item in list(running):
            rec, handle = item
            if handle.done():
                running.remove(item)
                finish(rec, *handle.outcome_now())

    # An interrupted run of the latest past firing is resumed before waiting for the next.
    last = _prev_fire_time(cron, clock(), tzname)
    pending = last if (out_root / stamp(last)).is_dir() and not (
        out_root / stamp(last) / DONE_FILE).exists() else None
    after = clock()
    try:
        while max_runs is None or len(runs) < max_runs:
            if pending is None:
                fire = next_fire_times(cron, after, 1, timezone=tzname)[0]
                while (wait := (fire - clock()).total_seconds()) > 0:
                    sleep(min(wait, POLL_SLEEP if running else MAX_SLEEP))
                    reap()
            else:
                fire, pending = pending, None
            reap()
            if policy == "replace":
                for rec, handle in running:
                    handle.cancel()
                    rec.cancelled, rec.finished = True, clock()
                    rec.error = f"cancelled: replaced by the run for {fire.isoformat()}"
                    log.warning("schedule %s: run for %s %s", cron, rec.fire_time.isoformat(),
                                rec.error)
                running.clear()
            out = out_root / stamp(fire)
            resumed = out.exists()
            started = clock()
            log.info("schedule %s: run for %s into %s%s", cron, fire.isoformat(), out,
                     " (resuming)" if resumed else "")
            rec = ScheduledRun(fire, out, resumed, ok=False, started=started)
            runs.append(rec)
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # recorded as the run's failure; the schedule goes on
                finish(rec, False, _error_text(exc))
                after = fire
                continue
            if policy == "forbid":
                try:
                    value, ok = run(job, cluster, out), True
                except Exception as exc:  # a failed run must not end the schedule
                    value, ok = _error_text(exc), False
                finish(rec, ok, value)
                # One run at a time: firings that passed while this one ran are skipped.
                missed = [t for t in next_fire_times(cron, fire, 1000, timezone=tzname)
                          if t <= rec.finished] if rec.finished > fire else []
                if missed:
                    runs.skipped.extend(missed)
                    log.warning("schedule %s: skipped %d firing(s) during the run (%s ... %s)",
                                cron, len(missed), missed[0].isoformat(),
                                missed[-1].isoformat())
                after = max(fire, rec.finished)
            else:
                handle = (_ThreadRun if policy == "allow" else _ProcessRun)(run, job, cluster,
                                                                              out)
                running.append((rec, handle))
                after = fire
        while running:  # the last runs: wait for them in real time
            running[0][1].wait(0.2)
            reap()
    finally:
        for rec, handle in running:  # interrupted (Ctrl-C): leave no run process behind
            if isinstance(handle, _ProcessRun):
                handle.cancel()
                rec.cancelled, rec.finished = True, clock()
                rec.error = "cancelled: the schedule was interrupted"
    return runs
