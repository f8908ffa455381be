"""Opt-in tier: a brgvc job on a real single-node SLURM through dask-jobqueue.

Set ``BRGVC_SLURM_TIER=1``. ``cluster/tier/slurm.sh`` installs SLURM 22.05 and MUNGE from
Debian's archive (apt, root) and runs munged, slurmctld and slurmd for one node on 127.0.0.1
with a private configuration, key and state folder; the test submits the job's Dask workers
as real SLURM batch jobs (``kind: slurm`` profile, as cluster/slurm.yaml), checks the results
and that the queue is empty afterwards, then stops the daemons by their own PIDs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("BRGVC_SLURM_TIER") != "1",
        reason="opt-in SLURM tier: set BRGVC_SLURM_TIER=1 (installs Debian's slurm + munge)",
    ),
    pytest.mark.timeout(900),
]

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "cluster" / "tier" / "slurm.sh"


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("dask_jobqueue")
    state = tmp_path_factory.mktemp("slurm")
    subprocess.run([str(SCRIPT), "install"], check=True, timeout=600)
    mp = pytest.MonkeyPatch()
    try:
        subprocess.run([str(SCRIPT), "start", str(state)], check=True, timeout=120)
        mp.setenv("SLURM_CONF", str(state / "slurm.conf"))
        yield state
    finally:
        mp.undo()
        subprocess.run([str(SCRIPT), "stop", str(state)], check=False, timeout=60)


def _squeue(state: Path) -> list[str]:
    res = subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True,
                         env={**os.environ, "SLURM_CONF": str(state / "slurm.conf")},
                         check=True)
    return res.stdout.split("\n")[:-1]


def test_a_brgvc_job_runs_on_slurm_workers(slurm, tmp_path):
    from brgvc.runner import run_job

    assert shutil.which("sbatch")
    job = tmp_path / "tiny.yaml"
    job.write_text("name: slurm_tiny\ndata: wiod2013\nyears: [2010, 2011]\nmeasures: [vby]\n"
                   "draws: {n: 3, block: 2, seed: 7}\n"
                   "outputs: {formats: [csv], tables: [summary]}\n")
    profile = tmp_path / "slurm.yaml"
    profile.write_text(yaml.safe_dump({
        "kind": "slurm", "jobs": 2, "cores": 1, "memory": "2GB", "walltime": "00:15:00",
        "interface": "lo",  # scheduler and workers on 127.0.0.1 only
        "python": sys.executable,
        "local_directory": str(tmp_path / "dask"),
        "log_directory": str(tmp_path / "logs"),
    }))
    summary = run_job(job, cluster=profile, out=tmp_path / "out", progress=False)
    assert "SLURM" in summary.cluster
    assert summary.tasks_run == summary.tasks_total == 4  # 2 years x 2 blocks
    assert summary.draws_failed == 0
    assert (tmp_path / "out" / "results.zarr").is_dir()
    logs = list((tmp_path / "logs").glob("*.err")) + list((tmp_path / "logs").glob("*.out"))
    assert logs, "the workers ran as SLURM batch jobs (their logs are written by slurmd)"
    # the cluster was closed: its batch jobs leave the queue
    import time

    t0 = time.monotonic()
    while _squeue(slurm) and time.monotonic() - t0 < 60:
        time.sleep(1)
    assert _squeue(slurm) == []
