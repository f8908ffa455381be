"""HPC profiles (``cluster/slurm.yaml``, ``cluster/pbs.yaml``) render valid dask-jobqueue jobs.

Offline: the batch scripts are rendered by dask-jobqueue's job classes (no scheduler, no
batch system). The real SLURM tier is tests/test_slurm_tier.py (``BRGVC_SLURM_TIER=1``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("dask_jobqueue")

ROOT = Path(__file__).resolve().parents[1]

#: Profile keys that are dask-jobqueue job arguments (the rest: kind, jobs).
JOB_KEYS = ("cores", "memory", "walltime", "queue", "account", "interface",
            "job_extra_directives", "job_script_prologue", "local_directory", "log_directory",
            "python", "resource_spec")


def _job_kwargs(prof: dict[str, Any]) -> dict[str, Any]:
    kwargs = {k: prof[k] for k in JOB_KEYS if prof.get(k) is not None}
    kwargs["processes"] = int(prof.get("processes", prof["cores"]))  # 1 thread per worker
    return kwargs


def _worker_command(script: str) -> list[str]:
    lines = [ln for ln in script.splitlines() if ln and not ln.startswith("#")]
    return shlex.split(lines[-1])


@pytest.mark.parametrize("name", ["slurm.yaml", "pbs.yaml"])
def test_hpc_profile_renders_a_job_script_with_single_threaded_workers(name):
    path = ROOT / "cluster" / name
    if not path.exists():
        pytest.skip(f"{path} not in this checkout")
    prof = yaml.safe_load(path.read_text())
    if prof.get("interface"):
        prof["interface"] = None  # the named interface exists only on the cluster
    kind = prof["kind"]
    assert kind in ("slurm", "pbs")
    allowed = {"kind", "jobs", "processes", *JOB_KEYS}
    assert set(prof) <= allowed, set(prof) - allowed
    if kind == "slurm":
        from dask_jobqueue.slurm import SLURMJob as Job
    else:
        from dask_jobqueue.pbs import PBSJob as Job
    job = Job(scheduler="tcp://127.0.0.1:8786", name="brgvc-0", **_job_kwargs(prof))
    script = job.job_script()
    argv = _worker_command(script)
    # dask-jobqueue starts workers as a module, not through the removed dask-worker script
    assert argv[1:3] == ["-m", "distributed.cli.dask_worker"], argv
    assert "dask-worker" not in argv and "dask-scheduler" not in argv
    assert argv[argv.index("--nthreads") + 1] == "1"
    assert argv[argv.index("--nworkers") + 1] == str(prof["cores"])
    prefix = "#SBATCH" if kind == "slurm" else "#PBS"
    assert re.search(rf"^{prefix} .*(walltime|-t)[ =]?{prof['walltime']}", script, re.M) or \
        prof["walltime"] in script
    if kind == "pbs":
        assert f"ncpus={prof['cores']}" in script


@pytest.mark.parametrize(("name", "cls"), [("slurm.yaml", "SLURMCluster"),
                                           ("pbs.yaml", "PBSCluster")])
def test_runner_starts_the_matching_jobqueue_cluster(name, cls, monkeypatch):
    """``--cluster cluster/pbs.yaml`` reaches PBSCluster with the profile's arguments."""
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    from brgvc.runner.cluster import open_executor

    seen = {}

    class Stop(Exception):
        pass

    def fake(**kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(dask_jobqueue, cls, fake)
    with pytest.raises(Stop):
        open_executor(str(ROOT / "cluster" / name))
    assert seen["cores"] == 8 and seen["processes"] == 8 and seen["memory"] == "32GB"
    assert seen["walltime"] == "02:00:00"
