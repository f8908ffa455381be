"""Every ``brgvc`` subcommand end to end, through ``brgvc.cli.main``, on a small real job.

One study job (WIOD 2010-2011, three draws, W1 and W2 networks, findings) is run once with the
synchronous scheduler; the other commands then read its output folder, and their numbers are
checked against the stores they come from.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from brgvc.cli import main

JOB = {
    "name": "e2e",
    "data": "wiod2013",
    "years": [2010, 2011],
    "grouping": "belt_and_road",
    "measures": ["vby", "kww", "china_va", "china_efficiency", "final_dva_rate"],
    "network": {"weight": ["W1", "W2"], "thresholds": [{"disparity": 0.05}]},
    "findings": {"min_members": 2},
    "draws": {"n": 3, "block": 4, "seed": 7, "rse": 0.1, "tau": 0.05},
    "schedule": "0 3 * * 1",
}


@pytest.fixture(scope="module")
def job_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("e2e") / "job.yaml"
    path.write_text(yaml.safe_dump(JOB, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def run(job_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("e2e-out") / "results"
    assert main(["run", str(job_file), "--cluster", "sync", "--out", str(out), "--quiet"]) == 0
    return out


def test_run_writes_the_study_and_a_rerun_is_a_no_op(run, job_file, capsys):
    assert (run / "results.zarr").is_dir() and (run / "summary.zarr").is_dir()
    assert (run / "findings.md").is_file()
    assert (run / "variants" / "published" / "results.zarr").is_dir()
    findings_mtime = (run / "findings.md").stat().st_mtime_ns
    capsys.readouterr()
    t0 = time.perf_counter()
    assert main(["run", str(job_file), "--cluster", "sync", "--out", str(run), "--json"]) == 0
    seconds = time.perf_counter() - t0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["tasks_run"] == 0
    assert (run / "findings.md").stat().st_mtime_ns == findings_mtime
    assert seconds < 30  # generous on a loaded CI machine; the benchmark measures the real cost


def test_findings_command_prints_the_verdicts_of_the_store(run, capsys):
    assert main(["findings", str(run)]) == 0
    out = capsys.readouterr().out
    verdicts = pd.read_csv(run / "findings" / "verdicts.csv")
    for verdict in verdicts["verdict"]:
        assert verdict in out
    assert "How to read" in out and "Robustness" in out


def test_report_is_written_from_the_same_tables(run, capsys):
    assert main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    verdicts = pd.read_csv(run / "findings" / "verdicts.csv")
    assert all(v in html for v in verdicts["verdict"])


def test_plan_and_validate_see_a_finished_run(run, job_file, capsys):
    assert main(["validate", str(job_file)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["plan", str(job_file), "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"total: 2 tasks, 2 done, 0 to run", out), out


def test_inspect_reports_the_zero_output_sectors(capsys):
    assert main(["inspect", "wiod2013", "--years", "2011"]) == 0
    out = capsys.readouterr().out
    assert "errors" in out


def test_decompose_vby_adds_up_to_world_value_added(tmp_path, capsys):
    from brgvc.datasets import open_dataset

    out = tmp_path / "vby.parquet"
    assert main(["decompose", "vby", "--year", "2011", "--out", str(out)]) == 0
    df = pd.read_parquet(out)
    va = float(open_dataset("wiod2013", years=[2011])["va"].sum())
    assert df["value"].sum() == pytest.approx(va, rel=1e-10)


def test_tables_equal_the_summary_store(run):
    summary = xr.open_zarr(run / "summary.zarr")
    table = pd.read_parquet(run / "tables" / "vby_summary.parquet")
    row = table[(table["stat"] == "mean") & (table["year"] == 2011)
                & (table["source"] == "CHN") & (table["sink"] == "USA")]
    want = float(summary["vby"].sel(year=2011, stat="mean", source="CHN", sink="USA").values)
    assert float(row["value"].iloc[0]) == want


def test_submit_and_k8s_render_the_same_locked_down_manifests(job_file, capsys):
    profile = Path(__file__).parents[1] / "cluster" / "k8s" / "profile.yaml"
    assert main(["submit", str(job_file), "--k8s", str(profile), "--dry-run"]) == 0
    submitted = capsys.readouterr().out
    assert main(["k8s", "render", str(job_file), str(profile)]) == 0
    rendered = capsys.readouterr().out
    for text in (submitted, rendered):
        kinds = [d["kind"] for d in yaml.safe_load_all(text) if d]
        assert "DaskJob" in kinds and "NetworkPolicy" in kinds
    assert main(["schedule", str(job_file), "--k8s", str(profile), "--dry-run"]) == 0
    kinds = [d["kind"] for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert "CronJob" in kinds


def test_local_schedule_catches_up_and_exits_nonzero_on_failure(job_file, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    spec = dict(JOB, years=[2011], measures=["vby"], draws={"n": 1, "block": 2, "seed": 1})
    spec.pop("network")
    spec.pop("findings")
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert main(["schedule", str(good), "--out", str(tmp_path / "sweeps"), "--cluster", "sync",
                 "--max-runs", "1", "--start", "2026-11-30T00:00"]) == 0
    (folder,) = (tmp_path / "sweeps").iterdir()
    assert folder.name.startswith("2026-11-30T0300")
    vby = xr.open_zarr(folder / "results.zarr")["vby"]
    assert np.isfinite(vby.values).all()
    # A run that fails (its data vanished) makes the schedule's exit status non-zero.
    bad.write_text(yaml.safe_dump(dict(spec, data=str(tmp_path / "gone.zarr")),
                                  sort_keys=False))
    capsys.readouterr()
    rc = main(["schedule", str(bad), "--out", str(tmp_path / "bad-sweeps"), "--cluster", "sync",
               "--max-runs", "1", "--start", "2026-11-30T00:00"])
    assert rc != 0


def test_decompose_refuses_a_non_productive_table_unless_allowed(tmp_path, capsys):
    from brgvc.readers.store import write_cube
    from brgvc.schema import with_gross_output
    from brgvc.synthetic import synthetic_mrio

    ds = with_gross_output(synthetic_mrio(4, 3, seed=1).drop_vars("emptied", errors="ignore"),
                           "published")
    # Publish a third of the true output: A = Z / x then has columns summing far above 1.
    ds["x_published"] = ds["x_published"] / 3
    store = tmp_path / "bad.zarr"
    write_cube(ds, store, check_balance=False)
    argv = ["decompose", "vby", "--data", str(store), "--year", "2011", "--x", "published",
            "--out", str(tmp_path / "vby.csv")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2011" in err[0] and "spectral radius" in err[0]
    assert main([*argv, "--allow-nonproductive"]) == 0
    assert (tmp_path / "vby.csv").is_file()


def test_study_on_a_local_cluster_finds_the_study_measure(tmp_path):
    """Worker processes resolve the study's br_capture by name (entry points), not by import."""
    spec = dict(JOB, name="e2e_local", measures=["vby"], network={"weight": ["W1"]},
                draws={"n": 1, "block": 2, "seed": 7})
    spec.pop("schedule")
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "out"
    assert main(["run", str(job), "--cluster", "local", "--out", str(out), "--quiet"]) == 0
    capture = xr.open_zarr(out / "results.zarr")["br_capture_world_flow"]
    assert np.isfinite(capture.values).all() and (capture.values > 0).all()
    assert (out / "findings.md").is_file()


def test_a_scheduled_findings_job_runs_the_whole_study(tmp_path):
    spec = dict(JOB, name="e2e_sched", years=[2010, 2011], measures=["vby"],
                network={"weight": ["W1"]}, draws={"n": 1, "block": 2, "seed": 3})
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert main(["schedule", str(job), "--out", str(tmp_path / "sweeps"), "--cluster", "sync",
                 "--max-runs", "1", "--start", "2026-11-30T00:00"]) == 0
    (folder,) = (tmp_path / "sweeps").iterdir()
    assert (folder / "findings.md").is_file()
    assert (folder / "variants" / "published" / "results.zarr").is_dir()
