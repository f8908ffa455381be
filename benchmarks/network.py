"""Network benchmark: the per-(year, draw) network step against one LU, and the reduction.

Usage::

    .venv/bin/python benchmarks/network.py                 # everything (~2-3 min on 2 cores)
    .venv/bin/python benchmarks/network.py --skip-reduction --repeat 5

Printed, all measured in this run (BLAS single-threaded, as inside the runner's tasks; minimum
of ``--repeat`` calls):

1. per WIOD year: one LU of (I − A) (n = 1435), the W1 weights (S V̂BÊ S' on the full table),
   and the runner's whole network step (W1, restriction to the 15 covered B&R economies + Rest,
   ``summarise`` with Louvain, a second threshold, the clipped weights for the store), with
   the ratio network step / LU; target < 1;
2. ``summarise`` on synthetic MRIO-like networks of 15, 40 and 65 nodes (+ Rest), with and
   without Louvain, against the LU of WIOD (n = 1435) and of an Eora-sized synthetic system
   (n = 4914, 189 countries: the table that has 65 B&R nodes);
3. the reduction over draws (``runner.execute.reduction_graph``) of a result store laid out
   like the default job's network section for 17 years × (1 + ``--draws``) draws, filled with
   random values: the size of its Dask graph and its wall time on the synchronous scheduler and
   on a LocalCluster of 2 single-threaded workers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

warnings.simplefilter("ignore")


def tmin(fn, repeat: int) -> float:
    """Minimum wall time of ``fn()`` over ``repeat`` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def mrio_like(n: int, seed: int) -> np.ndarray:
    """Heavy-tailed dense flows in USD magnitudes, like a country value-added network."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(sigma=1.5, size=n)
    W = np.outer(size, size) * rng.lognormal(sigma=1.0, size=(n, n)) * 1e6
    np.fill_diagonal(W, 0.0)
    return W


def lu_time(n: int, repeat: int, seed: int = 0) -> float:
    """LU of a productive synthetic (I − A) of size n."""
    import scipy.linalg as sla

    rng = np.random.default_rng(seed)
    A = rng.random((n, n))
    A *= 0.6 / A.sum(0)
    M = np.asfortranarray(np.eye(n) - A)
    return tmin(lambda: sla.lu_factor(M, check_finite=False), repeat)


def network_step(years: list[int], repeat: int) -> None:
    import scipy.linalg as sla

    from brgvc.core.kernels import IOSystem
    from brgvc.core.leontief import YearSystem
    from brgvc.network.weights import edge_weights
    from brgvc.regions import load_grouping
    from brgvc.runner import default_job_path, load_job
    from brgvc.runner.data import data_info, open_year
    from brgvc.runner.measures import network_summary

    job = load_job(default_job_path())
    grouping = load_grouping(job.grouping)
    info = data_info("wiod2013")
    print(f"\n## 1. network step per (year, draw) vs one LU (WIOD n = {info.n}; "
          f"network {job.network['weight']}, thresholds {job.network.get('thresholds')})")
    print(f"{'year':>6} {'LU ms':>7} {'W1 ms':>7} {'step ms':>8} {'step / LU':>10}")
    ratios = []
    for year in years:
        t = open_year("wiod2013", year)
        s = IOSystem(t.Z, t.Yd, t.x, t.va, t.G, t.N)
        M = s.leontief_matrix()
        lu = tmin(lambda M=M: sla.lu_factor(M, check_finite=False), repeat)

        def fresh(t=t, year=year):
            # The solves behind W1 are cached on a system: each timed call gets a new,
            # factorised one, and the time of that set-up is subtracted.
            s2 = IOSystem(t.Z, t.Yd, t.x, t.va, t.G, t.N)
            s2.factorise()
            return YearSystem(s2, info.regions, info.sectors, year)

        setup = tmin(fresh, repeat)
        w1 = max(tmin(lambda: edge_weights(fresh(), "W1"), repeat) - setup, 0.0)
        step = max(tmin(lambda: network_summary(fresh(), job.network, grouping), repeat)
                   - setup, 0.0)
        ratios.append(step / lu)
        print(f"{year:>6} {lu * 1e3:>7.1f} {w1 * 1e3:>7.2f} {step * 1e3:>8.2f} "
              f"{step / lu:>9.2f}x")
    print(f"median network step / LU: {np.median(ratios):.2f} (target < 1); the step includes "
          "W1 (one solve with G right-hand sides)")


def summarise_sizes(repeat: int) -> None:
    from brgvc.network import summarise

    print("\n## 2. summarise() on synthetic networks (+ Rest node) vs one LU")
    lu_w = lu_time(1435, repeat)
    lu_e = lu_time(4914, max(2, repeat // 3))
    print(f"LU n = 1435 (WIOD): {lu_w * 1e3:.1f} ms; LU n = 4914 (Eora26): {lu_e * 1e3:.0f} ms")
    print(f"{'nodes':>6} {'louvain':>8} {'ms':>8} {'/ LU 1435':>10} {'/ LU 4914':>10}")
    for n in (15, 40, 65):
        W = mrio_like(n + 1, seed=n)
        labels = [f"C{i:02d}" for i in range(n)] + ["Rest"]
        members = np.array([True] * n + [False])
        for comm in (True, False):
            t = tmin(lambda W=W, c=comm, lab=labels, m=members:
                     summarise(W, lab, members=m, communities=c), repeat)
            print(f"{n:>6} {comm!s:>8} {t * 1e3:>8.2f} {t / lu_w:>9.2f}x {t / lu_e:>9.3f}x")


def reduction(n_draws: int) -> None:
    from distributed import Client, LocalCluster

    from brgvc.runner import load_job, plan_job
    from brgvc.runner.cluster import open_executor
    from brgvc.runner.execute import reduction_graph
    from brgvc.runner.store import create_store, mark_done, write_block

    spec = {
        "name": "reduce_bench", "data": "wiod2013", "years": "1995-2011",
        "grouping": "belt_and_road", "measures": ["china_va"],
        "network": {"weight": "W1", "thresholds": [{"disparity": 0.05}, {"global": 0.001}]},
        "draws": {"n": n_draws, "block": n_draws + 1, "seed": 1},
        "findings": False,
    }
    job = load_job(spec)
    with tempfile.TemporaryDirectory(prefix="brgvc-reduce-") as d:
        plan = plan_job(job, Path(d))
        create_store(plan.store, plan.layout, plan.attrs())
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        nd = n_draws + 1
        for yi in range(len(job.years)):
            values = {v.name: (("year", "draw", *v.dims),
                               rng.random((1, nd, *v.shape)) * (3 if v.name.endswith("_rank")
                                                                else 1))
                      for v in plan.layout.variables}
            for name in values:
                if name.endswith("_rank"):
                    values[name] = (values[name][0], np.ceil(values[name][1]))
            write_block(plan.store, yi, 0, nd, values)
            mark_done(plan.store, yi, 0, nd)
        n_vars = len(plan.layout.variables)
        mb = plan.store_bytes / 2**20
        print(f"\n## 3. reduction over draws: 17 years × {nd} draws, {n_vars} variables "
              f"({mb:.0f} MB; store filled in {time.perf_counter() - t0:.1f} s)")
        delayed, ds, _ = reduction_graph(plan)
        print(f"Dask graph of the reduction: {len(delayed.__dask_graph__())} tasks "
              "(read, statistics, P(rise), P(rank 1), write: nothing on the client)")
        ds.close()
        for label in ("sync", "local2"):
            if label == "sync":
                ex = open_executor("sync")
            else:
                cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
                client = Client(cluster, set_as_default=False)
                ex = open_executor(client)
            try:
                shutil.rmtree(plan.out / "summary.zarr", ignore_errors=True)
                delayed, ds, _ = reduction_graph(plan)
                t = time.perf_counter()
                ex.compute(delayed)
                print(f"reduction on {label}: {time.perf_counter() - t:.1f} s")
                ds.close()
            finally:
                ex.close()
                if label != "sync":
                    client.close()
                    cluster.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("--skip-step", action="store_true")
    p.add_argument("--skip-sizes", action="store_true")
    p.add_argument("--skip-reduction", action="store_true")
    args = p.parse_args(argv)
    from threadpoolctl import threadpool_limits

    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    print(f"# brgvc network benchmark (cores: {os.cpu_count()}, load at start {load})")
    with threadpool_limits(1, "blas"):
        if not args.skip_step:
            network_step([1995, 2003, 2011], args.repeat)
        if not args.skip_sizes:
            summarise_sizes(args.repeat)
    if not args.skip_reduction:
        reduction(args.draws)
    return 0


if __name__ == "__main__":
    sys.exit(main())
