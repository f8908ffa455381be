"""Runner benchmark: per-draw cost vs one LU, and wall time / efficiency on 1 and 2 workers.

Usage::

    .venv/bin/python benchmarks/runner.py            # default job + 17 years × 200 draws sweep
    .venv/bin/python benchmarks/runner.py --quick    # sweep of 17 years × 20 draws
    .venv/bin/python benchmarks/runner.py --skip-sweep --workers 1 2

Printed, all measured in this run:

1. per-draw cost against one LU of (I − A) of the same year, single-threaded BLAS, minimum of
   repeats: the whole draw (perturb, rebalance, build I − A, LU, measures) for the default
   job's measures plus its network step, and for VBY + VBE + KWW; target ≤ 1.3 × LU for those
   (the default job also runs the WWZ-based China measures, about 3 LUs each; the network
   step alone is timed against the LU by ``benchmarks/network.py``);
2. scheduler overhead per task (no-op tasks on the LocalCluster);
3. for the default job and the sweep (VBY + KWW, + network summaries when
   ``brgvc.network.summary`` exists), on LocalClusters of 1 and 2 single-threaded workers:
   wall time of the whole call and of the task phase, the sum of the tasks' own times, the
   overhead per task ((workers × task wall − Σ task) / tasks) and the efficiency
   Σ task / (workers × task wall); target ≥ 0.8 on 2 workers;
4. the default job on a few years and draws: reduce + tables share of the run (target ≤ 10 %),
   output sizes, and the re-run of the finished job with and without its outputs record, in
   process and through ``brgvc run`` (target ≤ 5 s end to end).

Other processes on the machine inflate every figure; the share of CPU they used during the run
is printed from /proc/loadavg (load above the workers' count means contention).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

warnings.simplefilter("ignore")


def loadavg() -> float:
    """1-minute load average of the machine."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def tmin(fn, repeat: int = 7) -> float:
    """Minimum wall time of ``fn()`` over ``repeat`` calls."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def per_draw_cost(
    years: list[int], measure_sets: dict[str, list[str]], repeat: int,
    networks: dict[str, tuple[dict, object]] | None = None,
) -> None:
    """Print the per-draw cost of each measure set relative to one LU, per year.

    ``networks`` maps a measure-set name to ``(network spec, grouping)`` whose network step
    is part of that set's draw.
    """
    import scipy.linalg as sla
    from threadpoolctl import threadpool_limits

    from brgvc.core.kernels import IOSystem
    from brgvc.core.leontief import YearSystem
    from brgvc.draws import RSE, DrawModel, Sampler, draw_rng
    from brgvc.runner.data import data_info, open_year
    from brgvc.runner.measures import (
        MeasureSpec,
        network_arrays,
        network_layout,
        network_setup,
        resolve_measure,
    )

    info = data_info("wiod2013")
    print(f"\n## 1. per-draw cost vs one LU (n = {info.n}, BLAS 1 thread, min of {repeat})")
    head = f"{'year':>6} {'LU ms':>7} {'perturb+rebalance':>18}"
    for name in measure_sets:
        head += f" {name + ' draw':>22}"
    print(head)
    ratios: dict[str, list[float]] = {k: [] for k in measure_sets}
    compute: dict[str, list[float]] = {}
    with threadpool_limits(1, "blas"):
        for year in years:
            base = open_year("wiod2013", year)
            sampler = Sampler(base, DrawModel(rse=RSE("flat", 0.1)))
            M = IOSystem(base.Z, base.Yd, base.x, base.va, base.G, base.N).leontief_matrix()
            lu = tmin(lambda M=M: sla.lu_factor(M, check_finite=False), repeat)
            rng = draw_rng(1, year, 1)
            pr = tmin(lambda s=sampler, r=rng: s.draw(r), repeat)
            row = f"{year:>6} {lu * 1e3:>7.1f} {pr / lu:>17.2f}x"
            for name, measures in measure_sets.items():
                ms = [resolve_measure(MeasureSpec(m, m, {})) for m in measures]
                net = (networks or {}).get(name)
                grouping = None if net is None else net[1]
                dims = {v.name: v.dims for m in ms
                        for v in m.layout(info.regions, info.sectors, grouping)}
                setup = None if net is None else network_setup(info.regions, net[0], grouping)
                if net is not None:
                    dims.update({v.name: v.dims for v in network_layout(
                        info.regions, net[0], grouping)})

                def draw_measures(t, ms=ms, y=year, setup=setup, g=grouping, dims=dims):
                    # As in runner.task.compute_draws: build, factorise, measures (numpy).
                    sy = IOSystem(t.Z, t.Yd, t.x, t.va, t.G, t.N)
                    sy.factorise()
                    ys = YearSystem(sy, info.regions, info.sectors, y)
                    for m in ms:
                        m.arrays(ys, g, dims)
                    if setup is not None:
                        for w in setup.weights:
                            network_arrays(ys, setup, w)

                def one_draw(s=sampler, r=rng, f=draw_measures):
                    f(s.draw(r))

                drawn = sampler.draw(rng)

                def compute_only(t=drawn, f=draw_measures):
                    f(t)

                lu = min(lu, tmin(lambda M=M: sla.lu_factor(M, check_finite=False), repeat))
                d = tmin(one_draw, repeat)
                c = tmin(compute_only, repeat)
                ratios[name].append(d / lu)
                compute.setdefault(name, []).append(c / lu)
                row += f" {d * 1e3:>9.1f} ms = {d / lu:>5.2f}x ({c / lu:.2f}x w/o perturb)"
            print(row)
    for name, r in ratios.items():
        print(f"median per-draw cost, {name}: {statistics.median(r):.2f} x LU "
              f"({statistics.median(compute[name]):.2f} x LU without the perturbation; "
              "target <= 1.3 for vby+vbe+kww)")


def scheduler_overhead(n_workers: int, n_tasks: int = 400) -> float:
    """Seconds of scheduler overhead per no-op task on a LocalCluster."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        client.gather(client.map(abs, range(-20, 0)))  # warm up
        t = time.perf_counter()
        client.gather(client.map(abs, range(-n_tasks, 0), pure=False))
        return (time.perf_counter() - t) / n_tasks * n_workers


def run_on(job, n_workers: int, tmp: Path, label: str) -> dict:
    """Run ``job`` on a LocalCluster of ``n_workers`` (a cluster profile) into a fresh folder."""
    from brgvc.runner import run_job

    prof = tmp / f"local{n_workers}.yaml"
    prof.write_text(f"kind: local\nn_workers: {n_workers}\nthreads_per_worker: 1\n")
    out = tmp / f"{label}-{n_workers}"
    shutil.rmtree(out, ignore_errors=True)
    l0 = loadavg()
    s = run_job(job, cluster=str(prof), out=out, progress=False)
    t_tasks = s.timings["tasks"]
    res = {
        "label": label,
        "workers": n_workers,
        "tasks": s.tasks_run,
        "wall": s.wall_seconds,
        "task_wall": t_tasks,
        "sum_task": s.task_seconds,
        "overhead_per_task": (n_workers * t_tasks - s.task_seconds) / max(s.tasks_run, 1),
        "efficiency": s.task_seconds / (n_workers * t_tasks),
        "reduce": s.timings.get("reduce", 0.0),
        "tables": s.timings.get("tables", 0.0),
        "cluster": s.timings.get("cluster", 0.0),
        "draws": sum(len(r.draw_seconds) for r in s.results),
        "draw_s": float(np.median([x for r in s.results for x in r.draw_seconds])),
        "load": (l0 + loadavg()) / 2,
    }
    shutil.rmtree(out, ignore_errors=True)
    return res


def print_runs(rows: list[dict]) -> None:
    """Print the table of runs."""
    print(f"{'job':<16} {'workers':>7} {'tasks':>5} {'draws':>6} {'wall s':>7} {'tasks s':>8} "
          f"{'Σtask s':>8} {'ovh/task ms':>11} {'eff.':>5} {'draw ms':>8} {'reduce s':>8} "
          f"{'tables s':>8} {'load':>5}")
    for r in rows:
        print(f"{r['label']:<16} {r['workers']:>7} {r['tasks']:>5} {r['draws']:>6} "
              f"{r['wall']:>7.1f} {r['task_wall']:>8.1f} {r['sum_task']:>8.1f} "
              f"{r['overhead_per_task'] * 1e3:>11.0f} {r['efficiency']:>5.2f} "
              f"{r['draw_s'] * 1e3:>8.1f} {r['reduce']:>8.1f} {r['tables']:>8.1f} "
              f"{r['load']:>5.1f}")
    by = {}
    for r in rows:
        by.setdefault(r["label"], {})[r["workers"]] = r
    for label, d in by.items():
        if 1 in d and 2 in d:
            print(f"{label}: speed-up 1 -> 2 workers on the task phase "
                  f"{d[1]['task_wall'] / d[2]['task_wall']:.2f}x; efficiency on 2 workers "
                  f"{d[2]['efficiency']:.2f} (target >= 0.8)")


def _du(path: Path) -> int:
    """Bytes of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def outputs_and_rerun(default, tmp: Path, years: str, n: int) -> None:
    """Section 4: the default job's outputs, reduce + tables share, and the re-run time.

    The default job (its measures, network, draw model and outputs) on fewer years and draws,
    on the synchronous scheduler. Paired in the same run: the re-run of the finished job with
    its outputs record (the no-op path) and without it (reductions and tables redone, as before
    the record existed), in this process and as ``python -m brgvc.runner run`` (imports
    included).
    """
    import subprocess

    import yaml

    from brgvc.runner import load_job, run_job

    spec = dict(default.spec)
    spec.update(years=years, draws={**spec["draws"], "n": n, "block": n + 1},
                name=f"{default.name}_bench", findings=False)
    spec.pop("schedule", None)
    job = load_job(spec)
    out = tmp / "outputs"
    shutil.rmtree(out, ignore_errors=True)
    l0 = loadavg()
    s = run_job(job, cluster="sync", out=out, progress=False)
    t = s.timings
    share = (t.get("reduce", 0) + t.get("tables", 0)) / s.wall_seconds
    sizes = {k: _du(out / k) for k in ("results.zarr", "summary.zarr", "tables")}
    n_files = sum(1 for p in (out / "tables").rglob("*") if p.is_file())
    print(f"\n## 4. outputs of the default job on {years}, {n} draws (sync scheduler, "
          f"formats {job.outputs['formats']}, tables {job.outputs['tables']})")
    print(f"run: wall {s.wall_seconds:.1f} s, tasks {t.get('tasks', 0):.1f} s, reduce "
          f"{t.get('reduce', 0):.2f} s, tables {t.get('tables', 0):.2f} s -> reduce + tables "
          f"= {share:.1%} of the run (target <= 10 %)")
    print("sizes: " + ", ".join(f"{k} {v / 2**20:.1f} MB" for k, v in sizes.items())
          + f" ({n_files} table files); total {sum(sizes.values()) / 2**20:.1f} MB "
          f"(target <= 30 MB for the full default job; per-draw results grow with years x draws, "
          f"the tables do not)")
    spec_file = tmp / "bench_job.yaml"
    spec_file.write_text(yaml.safe_dump(job.spec))
    rows = []
    for label, keep_record in (("re-run, outputs current (record)", True),
                               ("re-run without the record (old path)", False)):
        if not keep_record:
            (out / "outputs.json").unlink(missing_ok=True)
        t0 = time.perf_counter()
        r = run_job(job, cluster="sync", out=out, progress=False)
        inproc = time.perf_counter() - t0
        if not keep_record:
            (out / "outputs.json").unlink(missing_ok=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "brgvc.cli", "run", str(spec_file), "--out",
                        str(out), "--cluster", "sync", "--no-progress"], check=True,
                       capture_output=True)
        rows.append((label, inproc, time.perf_counter() - t0, r.tasks_run))
    print(f"{'':<38} {'in process s':>12} {'CLI process s':>13} {'tasks run':>9}")
    for label, a, b, k in rows:
        print(f"{label:<38} {a:>12.2f} {b:>13.2f} {k:>9}")
    print(f"re-run of a finished job: {rows[0][2]:.2f} s end to end (target <= 5 s); "
          f"load {l0:.1f} -> {loadavg():.1f}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="sweep with 20 draws instead of 200")
    p.add_argument("--skip-sweep", action="store_true")
    p.add_argument("--skip-default", action="store_true")
    p.add_argument("--skip-draw-cost", action="store_true")
    p.add_argument("--skip-overhead", action="store_true")
    p.add_argument("--skip-outputs", action="store_true")
    p.add_argument("--outputs-years", default="2009-2011",
                   help="years of the default job in section 4")
    p.add_argument("--outputs-draws", type=int, default=20)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)

    from brgvc.runner import default_job_path, load_job
    from brgvc.runner.measures import network_available

    default = load_job(default_job_path())
    print(f"# brgvc runner benchmark  (cores: {os.cpu_count()}, load at start {loadavg():.1f})")
    if not args.skip_draw_cost:
        from brgvc.regions import load_grouping

        label = "default (" + "+".join(m.alias for m in default.measures) + \
            ("+network" if default.network else "") + ")"
        grouping = load_grouping(default.grouping) if default.grouping else None
        per_draw_cost(
            [1995, 2003, 2011],
            {label: [m.name for m in default.measures], "vby+vbe+kww": ["vby", "vbe", "kww"]},
            args.repeat,
            {label: (default.network, grouping)} if default.network else None,
        )
    if not args.skip_overhead:
        print("\n## 2. scheduler overhead per no-op task (LocalCluster, 400 tasks)")
        for w in args.workers:
            print(f"{w} worker(s): {scheduler_overhead(w) * 1e3:.2f} ms per task")

    rows = []
    with tempfile.TemporaryDirectory(prefix="brgvc-bench-") as d:
        tmp = Path(d)
        if not args.skip_outputs:
            outputs_and_rerun(default, tmp, args.outputs_years, args.outputs_draws)
        if not args.skip_default:
            print(f"\n## 3a. default job ({default.name}): {len(default.years)} years × "
                  f"{default.draws.total} draws, block {default.draws.block}")
            for w in args.workers:
                rows.append(run_on(default, w, tmp, "default"))
        if not args.skip_sweep:
            n = 20 if args.quick else 200
            spec = {
                "name": "sweep", "data": "wiod2013", "years": "1995-2011",
                "measures": ["vby", "kww"],
                "draws": {"n": n, "block": 20 if n >= 100 else 10, "seed": 7, "rse": 0.1},
                "outputs": {"formats": ["parquet"], "tables": ["summary"]},
            }
            if network_available():
                spec["grouping"] = "belt_and_road"
                spec["network"] = {"weight": "W1", "options": {"communities": False}}
            sweep = load_job(spec)
            print(f"\n## 3b. sweep: 17 years × {n + 1} draws of VBY + KWW"
                  + (" + network summaries (W1)" if sweep.network else ""))
            for w in args.workers:
                rows.append(run_on(sweep, w, tmp, "sweep"))
    if rows:
        print()
        print_runs(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
