"""The runner end to end on 3 WIOD years: identical stores on every scheduler, worker kills,
client kills and resume, plans, tables, and draws seen through the result store.

Every process binds to 127.0.0.1 only; the module runs in well under 3 minutes on 2 cores.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
import zarr
from threadpoolctl import threadpool_limits

from brgvc.runner import RunnerError, load_job, plan_job, run_job
from brgvc.runner.cluster import open_executor
from brgvc.runner.measures import network_available
from brgvc.runner.task import TaskSpec, compute_draws

pytestmark = pytest.mark.slow

#: 3 years × 12 draws (base + 11) in blocks of 3: 12 tasks of ~0.3-0.6 s.
JOB = {
    "name": "runner_test",
    "data": "wiod2013",
    "years": [2009, 2010, 2011],
    "measures": ["vby", "vbe", "kww"],
    "draws": {"n": 11, "block": 3, "seed": 20240611, "rse": 0.05},
    "outputs": {"formats": ["csv", "parquet"], "tables": ["draws", "summary"]},
}
N_TASKS = 12


def assert_same_files(a: Path, b: Path) -> None:
    """Two folders hold the same files with the same bytes."""
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert fa == fb, f"different files: {set(fa) ^ set(fb)}"
    for rel in fa:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), f"{rel} differs"


def assert_same_results(a: Path, b: Path) -> None:
    """Result stores, summary stores and tables of two output folders are byte-identical."""
    assert_same_files(a / "results.zarr", b / "results.zarr")
    assert_same_files(a / "summary.zarr", b / "summary.zarr")
    assert_same_files(a / "tables", b / "tables")


def done_count(out: Path) -> int:
    try:
        return int(np.asarray(zarr.open_array(out / "results.zarr" / "done", mode="r")[...]).sum())
    except Exception:
        return 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The job run once, uninterrupted, on the synchronous scheduler."""
    out = tmp_path_factory.mktemp("ref")
    s = run_job(JOB, cluster="sync", out=out, progress=False)
    assert (s.tasks_run, s.tasks_skipped) == (N_TASKS, 0)
    return out


# -- one run, looked at closely ---------------------------------------------------------------


def test_sync_run_store_layout_and_values(reference):
    ds = xr.open_zarr(reference / "results.zarr", consolidated=False).load()
    assert ds.sizes["year"] == 3 and ds.sizes["draw"] == 12
    assert bool(ds["done"].all())
    assert ds["vby"].dims == ("year", "draw", "source", "sink")
    assert ds["source"].values[0] == "AUS"
    assert ds.vby.encoding["chunks"] == (1, 3, 41, 41)
    assert {v for v in ds.data_vars if v.startswith("kww_")}
    attrs = ds.attrs
    assert json.loads(attrs["brgvc_job"])["draws"]["n"] == 11
    assert attrs["brgvc_job_hash"] == load_job(JOB).hash
    assert set(json.loads(attrs["brgvc_input_checksums"])) == {
        "wiot_2009.csv.gz", "wiot_2010.csv.gz", "wiot_2011.csv.gz"}
    assert attrs["brgvc_version"]

    # draw 0 is the base run: the library's own result for that year
    import warnings

    from brgvc.core.leontief import YearSystem
    from brgvc.datasets import open_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ys = YearSystem.from_cube(open_dataset("wiod2013", years=[2010]), 2010)
    base = ds["vby"].sel(year=2010, draw=0).values
    np.testing.assert_allclose(base, ys.vby().values, rtol=1e-12, atol=1e-6)
    assert base.sum() == pytest.approx(ys.system.va.sum(), rel=1e-12)  # VBY sums to GDP
    # draws differ from the base but stay close (rse 5 %)
    d = ds["vby"].sel(year=2010).values
    assert not np.array_equal(d[1], d[0])
    assert np.abs(d[1:].sum((1, 2)) / d[0].sum() - 1).max() < 0.05


def test_tables_derived_from_the_store(reference):
    t = reference / "tables"
    df = pd.read_csv(t / "vby.csv")
    assert list(df.columns) == ["year", "draw", "source", "sink", "value"]
    assert len(df) == 3 * 12 * 41 * 41
    pq = pd.read_parquet(t / "vby.parquet")
    assert np.array_equal(pq["value"].to_numpy(), df["value"].to_numpy())
    ds = xr.open_zarr(reference / "results.zarr", consolidated=False).load()
    row = df[(df.year == 2011) & (df.draw == 4) & (df.source == "CHN") & (df.sink == "USA")]
    assert row["value"].item() == ds["vby"].sel(year=2011, draw=4, source="CHN",
                                                 sink="USA").item()
    sm = pd.read_csv(t / "vby_summary.csv")
    assert list(sm.columns) == ["year", "stat", "source", "sink", "value"]
    assert set(sm["stat"]) == {"base", "mean", "sd", "cv", "q025", "q975", "p_above_base"}
    m = sm[(sm.year == 2011) & (sm.stat == "mean") & (sm.source == "CHN") & (sm.sink == "USA")]
    expect = ds["vby"].sel(year=2011, source="CHN", sink="USA").isel(draw=slice(1, None)).mean()
    assert m["value"].item() == pytest.approx(float(expect), rel=1e-12)
    rise = pd.read_csv(t / "vby_p_rise.csv")
    assert list(rise.columns) == ["source", "sink", "value"]
    assert rise["value"].between(0, 1).all()
    flags = pd.read_csv(t / "flags.csv")
    assert list(flags.columns) == ["year", "draw", "n_negative_va", "failed", "network_failed"]


def test_plan_table_and_resume_state(reference, tmp_path):
    plan = plan_job(JOB, tmp_path / "fresh")
    text = str(plan)
    assert plan.state == "new" and len(plan.todo) == N_TASKS
    for frag in ("tasks      12 = 3 years × 4 blocks", "reads", "est. memory per worker",
                 "2009", "to run", "total: 12 tasks, 0 done, 12 to run"):
        assert frag in text, text
    done = plan_job(JOB, reference)
    assert done.state == "complete" and not done.todo
    assert "total: 12 tasks, 12 done, 0 to run" in str(done)
    again = run_job(JOB, cluster="sync", out=reference, progress=False)
    assert (again.tasks_run, again.tasks_skipped) == (0, N_TASKS)


def test_another_job_on_the_same_store_is_refused(reference):
    other = {**JOB, "draws": {**JOB["draws"], "seed": 1}}
    with pytest.raises(RunnerError, match=r"different job.*draws"):
        plan_job(other, reference)
    with pytest.raises(RunnerError, match="different job"):
        run_job(other, cluster="sync", out=reference, progress=False)
    # outputs do not define the results: a store is resumed under new output settings
    assert plan_job({**JOB, "outputs": {"formats": ["csv"]}}, reference).state == "complete"


def test_a_draw_rerun_alone_reproduces_its_values(reference):
    plan = plan_job(JOB, reference)
    ctx = plan.context()
    with threadpool_limits(1, "blas"):
        values, res = compute_draws(ctx, TaskSpec(2011, 2, 99, 7, 8))
    ds = xr.open_zarr(reference / "results.zarr", consolidated=False).load()
    for name in ("vby", "vbe", "kww_DVA_FIN"):
        assert np.array_equal(values[name][1][0, 0], ds[name].sel(year=2011, draw=7).values)
    assert res.draw_seconds and res.n_negative_va[0] == int(
        ds["n_negative_va"].sel(year=2011, draw=7))


def test_zero_variance_draws_equal_the_base(tmp_path):
    job = {**JOB, "years": [2011], "measures": ["vby", "kww"],
           "draws": {"n": 3, "block": 4, "rse": 0.0, "tau": 0.0}}
    run_job(job, cluster="sync", out=tmp_path, progress=False)
    ds = xr.open_zarr(tmp_path / "results.zarr", consolidated=False).load()
    for name in ("vby", "kww_DVA_FIN", "kww_FDC"):
        v = ds[name].isel(year=0).values
        for d in range(1, 4):
            assert np.array_equal(v[d], v[0]), (name, d)
    sm = xr.open_zarr(tmp_path / "summary.zarr", consolidated=False).load()
    # the mean of identical values may be off by an ulp, hence a relative SD of ~1e-16
    rel = sm["vby"].sel(stat="sd") / abs(sm["vby"].sel(stat="base"))
    assert float(rel.max()) < 1e-14
    assert float(sm["vby"].sel(stat="p_above_base").max()) == 0.0


# -- same results on every scheduler ----------------------------------------------------------


def test_local_cluster_gives_identical_stores_and_binds_loopback(reference, tmp_path):
    ex = open_executor("local")
    try:
        info = ex.client.scheduler_info(n_workers=-1)
        assert ex.client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert len(info["workers"]) >= 1
        assert all(a.startswith("tcp://127.0.0.1:") for a in info["workers"])
        s = run_job(JOB, cluster=ex.client, out=tmp_path, progress=False)
    finally:
        ex.close()
    assert s.tasks_run == N_TASKS and s.n_workers == len(info["workers"])
    assert len({r.worker for r in s.results}) == len(info["workers"])  # really in parallel
    assert_same_results(reference, tmp_path)


def test_real_scheduler_and_workers_give_identical_stores(reference, loopback_cluster, tmp_path):
    s = run_job(JOB, cluster=loopback_cluster.address, out=tmp_path, progress=False)
    assert s.tasks_run == N_TASKS and s.n_workers == 2
    pids = {r.worker.rsplit(":", 1)[1] for r in s.results}
    assert pids == {str(loopback_cluster.pid("w0")), str(loopback_cluster.pid("w1"))}
    assert_same_results(reference, tmp_path)


def test_worker_killed_mid_run_gives_identical_results(reference, loopback_cluster, tmp_path):
    killed: dict[str, int] = {}

    def killer() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            n = done_count(tmp_path)
            if n >= 3:  # at least one block done, most still to come
                loopback_cluster.kill("w0")
                killed["done_draws"] = n
                return
            time.sleep(0.02)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    s = run_job(JOB, cluster=loopback_cluster.address, out=tmp_path, progress=False)
    th.join(10)
    assert "done_draws" in killed, "the worker was never killed"
    assert killed["done_draws"] < 3 * 12, "the kill came after the run had finished"
    assert loopback_cluster.procs["w0"].poll() is not None
    assert s.tasks_run == N_TASKS
    assert_same_results(reference, tmp_path)


def test_client_killed_then_resumed_finishes_only_missing_tasks(reference, tmp_path):
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump(JOB, sort_keys=False))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "brgvc.cli", "run", str(job_file), "--out", str(out),
           "--cluster", "local", "--no-progress", "--json"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while done_count(out) < 6 and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert p.poll() is None, p.communicate()
        # SIGKILL the client's process group: the client and the workers it started.
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(30)
    finally:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(30)
    time.sleep(0.5)
    done_at_kill = done_count(out)
    assert 6 <= done_at_kill < 3 * 12
    blocks_done = int(np.asarray(zarr.open_array(out / "results.zarr" / "done")[...])
                      .reshape(3, 4, 3).all(-1).sum())
    assert not (out / "summary.zarr").exists()

    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["tasks_skipped"] == blocks_done
    assert summary["tasks_run"] == N_TASKS - blocks_done
    assert_same_results(reference, out)


# -- network hook -----------------------------------------------------------------------------


@pytest.mark.skipif(not network_available(), reason="brgvc.network.summary not available")
def test_network_summaries_per_draw(tmp_path):
    job = {"name": "net", "data": "wiod2013", "years": [2011], "grouping": "belt_and_road",
           "measures": ["vbe"],
           "network": {"weight": "W1", "thresholds": [{"disparity": 0.05}],
                       "options": {"communities": False}},
           "draws": {"n": 1, "block": 2, "seed": 3}}
    run_job(job, cluster="sync", out=tmp_path, progress=False)
    ds = xr.open_zarr(tmp_path / "results.zarr", consolidated=False)
    net = [v for v in ds.data_vars if v.startswith("net_")]
    assert "net_total_flow" in net and "net_strength" in net
    assert ds["net_strength"].dims[:2] == ("year", "draw")
    assert ds["net_strength"].dims == ("year", "draw", "weight", "node")
    assert [str(w) for w in ds["weight"].values] == ["W1"]
    assert "CHN" in [str(x) for x in ds["node"].values]
    assert "ROM" in [str(x) for x in ds["node"].values]  # matched by ISO3 (ROU)
    # negative weights are clipped and reported, never refused: every draw has metrics
    assert not ds["network_failed"].values.any()
    assert np.isfinite(ds["net_total_flow"].values).all()
    assert np.isfinite(ds["net_negative_mass"].values).all()


# -- options through the runner ---------------------------------------------------------------


def test_gras_draws_keep_gdp_and_sd_cube_scenario(tmp_path):
    """GRAS rebalancing keeps GDP (VBY total) fixed; an SD cube of 10 % equals flat 10 %."""
    import warnings

    from brgvc.datasets import open_dataset
    from brgvc.readers.store import write_cube

    one = {"name": "opts", "data": "wiod2013", "years": [2011], "measures": ["vby"],
           "draws": {"n": 2, "block": 3, "seed": 5, "rse": 0.1, "rebalance": "gras"}}
    run_job(one, cluster="sync", out=tmp_path / "gras", progress=False)
    v = xr.open_zarr(tmp_path / "gras" / "results.zarr", consolidated=False)["vby"].load()
    tot = v.isel(year=0).sum(("source", "sink")).values
    assert not np.array_equal(v.isel(year=0, draw=1).values, v.isel(year=0, draw=0).values)
    np.testing.assert_allclose(tot[1:], tot[0], rtol=1e-8)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = open_dataset("wiod2013", years=[2011]).compute()
    sd = ds[["Z", "Y", "x_published"]].copy()
    sd["Z"] = 0.1 * abs(ds["Z"])
    sd["Y"] = 0.1 * abs(ds["Y"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an SD cube does not balance, and need not
        write_cube(sd, tmp_path / "sd.zarr")
    flat = {**one, "draws": {"n": 1, "block": 2, "seed": 5, "rse": 0.1}}
    cube = {**one, "draws": {"n": 1, "block": 2, "seed": 5,
                             "rse": {"kind": "sd", "path": str(tmp_path / "sd.zarr")}}}
    run_job(flat, cluster="sync", out=tmp_path / "flat", progress=False)
    s = run_job(cube, cluster="sync", out=tmp_path / "sd", progress=False)
    a = xr.open_zarr(tmp_path / "flat" / "results.zarr", consolidated=False)["vby"].values
    b = xr.open_zarr(tmp_path / "sd" / "results.zarr", consolidated=False)["vby"].values
    np.testing.assert_allclose(b, a, rtol=1e-10)
    attrs = zarr.open_group(s.store, mode="r").attrs
    assert any(k.startswith("sd:") for k in json.loads(attrs["brgvc_input_checksums"]))


def test_cluster_profiles_and_their_errors(tmp_path, monkeypatch):
    from brgvc.runner.cluster import Executor, load_profile

    repo = Path(__file__).resolve().parents[1]
    assert load_profile(repo / "cluster" / "local.yaml")["kind"] == "local"
    slurm = load_profile(repo / "cluster" / "slurm.yaml")
    assert slurm["kind"] == "slurm" and slurm["cores"] >= 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: k8s\n")
    with pytest.raises(RunnerError, match="kind 'k8s'"):
        open_executor(bad)
    with pytest.raises(RunnerError, match="unknown cluster"):
        open_executor("nowhere")
    with pytest.raises(RunnerError, match="does not exist"):
        open_executor(tmp_path / "missing.yaml")
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)  # as if not installed
    with pytest.raises(RunnerError, match="dask-jobqueue"):
        open_executor(repo / "cluster" / "slurm.yaml")
    sync = tmp_path / "sync.yaml"
    sync.write_text("kind: sync\n")
    ex = open_executor(sync)
    assert type(ex) is Executor and ex.n_workers == 1


def test_cli_validate_plan_and_a_bad_job(tmp_path, capsys):
    from brgvc.cli import main

    repo = Path(__file__).resolve().parents[1]
    assert main(["validate", str(repo / "jobs" / "quick.yaml")]) == 0
    assert "valid job 'quick'" in capsys.readouterr().out
    assert main(["plan", str(repo / "jobs" / "quick.yaml"), "--out", str(tmp_path)]) == 0
    assert "total: 2 tasks, 0 done, 2 to run" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: wiod2013\nmeasures: [nope]\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "o"), "--cluster", "sync"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "measures[0]" in err[0]
    assert not (tmp_path / "o").exists()


def test_tidy_tables_of_scalars_and_labels():
    from brgvc.runner.tables import _tidy

    assert _tidy(xr.DataArray(1.5)).to_dict("list") == {"value": [1.5]}
    da = xr.DataArray([[1.0, 2.0]], dims=("year", "c"),
                      coords={"year": [2000], "c": np.array(["a", "b"], dtype=object)})
    assert _tidy(da).to_dict("list") == {"year": [2000, 2000], "c": ["a", "b"],
                                         "value": [1.0, 2.0]}


def test_resume_under_other_code_warns(tmp_path):
    from brgvc.runner.execute import ResumeWarning

    job = {"name": "code", "data": "wiod2013", "years": [2011], "measures": ["vby"],
           "draws": {"n": 3, "block": 2, "seed": 1}}
    run_job(job, cluster="sync", out=tmp_path, progress=False)
    g = zarr.open_group(tmp_path / "results.zarr", mode="r+")
    assert len(g.attrs["brgvc_code_hash"]) == 64
    g["done"][0, 2:4] = False  # one block to redo
    g.attrs["brgvc_code_hash"] = "0" * 64  # as if written by other code
    with pytest.warns(ResumeWarning, match="other brgvc code"):
        s = run_job(job, cluster="sync", out=tmp_path, progress=False)
    assert (s.tasks_run, s.tasks_skipped) == (1, 1)


# -- outputs: Parquet by default, current outputs are not redone --------------------------------


def test_default_outputs_and_rerun_of_a_finished_job(tmp_path):
    """Without an outputs section: Parquet statistics over draws and flags, no per-draw
    tables; running the finished job again runs no task, opens no cluster and rewrites no
    table, and a change of outputs (per-draw CSV asked for) writes only the tables."""
    job = {"name": "small", "data": "wiod2013", "years": [2010, 2011], "measures": ["vby"],
           "draws": {"n": 2, "block": 3, "seed": 5, "rse": 0.05}}
    out = tmp_path / "o"
    s = run_job(job, cluster="sync", out=out, progress=False)
    assert s.tasks_run == 2 and not s.current
    names = sorted(p.name for p in (out / "tables").iterdir())
    assert names == ["flags.parquet", "vby_p_rise.parquet", "vby_summary.parquet"]
    sm = pd.read_parquet(out / "tables" / "vby_summary.parquet")
    ds = xr.open_zarr(out / "results.zarr", consolidated=False).load()
    m = sm[(sm.year == 2011) & (sm.stat == "mean") & (sm.source == "CHN") & (sm.sink == "USA")]
    assert m["value"].item() == pytest.approx(
        float(ds["vby"].sel(year=2011, source="CHN", sink="USA").isel(draw=slice(1, None))
              .mean()), rel=1e-12)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "tables").iterdir()}
    summary_mtime = (out / "summary.zarr" / "zarr.json").stat().st_mtime_ns

    t0 = time.perf_counter()
    again = run_job(job, cluster="local", out=out, progress=False)  # no cluster is started
    assert time.perf_counter() - t0 < 5.0
    assert again.current and again.tasks_run == 0 and again.cluster == "none"
    assert again.draws_negative_va == s.draws_negative_va
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "tables").iterdir()}
    assert after == before
    assert (out / "summary.zarr" / "zarr.json").stat().st_mtime_ns == summary_mtime

    # Other outputs of the same job: the store is reused, the tables are rewritten.
    more = {**job, "outputs": {"formats": ["csv"], "tables": ["draws", "summary"]}}
    third = run_job(more, cluster="sync", out=out, progress=False)
    assert not third.current and third.tasks_run == 0
    df = pd.read_csv(out / "tables" / "vby.csv")
    assert len(df) == 2 * 3 * 41 * 41
    assert run_job(more, cluster="sync", out=out, progress=False).current
    # A deleted table makes the outputs stale again.
    (out / "tables" / "vby.csv").unlink()
    assert not run_job(more, cluster="sync", out=out, progress=False).current
    assert (out / "tables" / "vby.csv").exists()


def test_quick_job_identical_on_sync_and_local_cluster(tmp_path):
    """jobs/quick.yaml gives byte-identical result and summary stores and tables on the
    synchronous scheduler and on a LocalCluster of 2 single-threaded workers."""
    quick = Path(__file__).resolve().parents[1] / "jobs" / "quick.yaml"
    a, b = tmp_path / "sync", tmp_path / "local"
    run_job(quick, cluster="sync", out=a, progress=False)
    with threadpool_limits(limits=1):
        run_job(quick, cluster="local", out=b, progress=False)
    assert_same_results(a, b)
    ds = xr.open_zarr(a / "results.zarr", consolidated=False)
    assert ds["vbe"].dims == ("year", "draw", "source", "exporter") and ds.sizes["draw"] == 5
    assert (ds["vby"].isel(draw=0) != ds["vby"].isel(draw=1)).any()
