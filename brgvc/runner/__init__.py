"""Batch runs of brgvc jobs on Dask: job specs, plans, resumable result stores, tables.

A job (YAML, validated against ``brgvc/schemas/job.schema.json``) says *what* to compute; the
cluster argument says *where*. A run is a set of (year, draw-block) tasks: each opens its year
itself, draws its perturbed tables (draw 0 is the base run), factorises each once, computes the
requested measures and writes its own region of a zarr v3 result store, marking itself done
last. Re-running the same job resumes; reductions over draws and tidy tables are derived from
the store afterwards.

Examples
--------
>>> from brgvc.runner import default_job_path, load_job, plan_job, run_job
>>> job = load_job(default_job_path())
>>> print(plan_job(job, "brgvc-results"))          # doctest: +SKIP
>>> summary = run_job(job, cluster="local", out="brgvc-results")   # doctest: +SKIP

From the shell: ``brgvc run JOB --out DIR --cluster local|sync|tcp://...``.
"""

import importlib
from typing import Any

#: Public name -> module: loaded on first use, so that ``brgvc.runner`` (and the CLI that
#: imports it) does not pull in Dask, zarr and the measures before they are needed.
_EXPORTS = {
    "RunSummary": "execute", "run_job": "execute",
    "Job": "jobspec", "JobSpecError": "jobspec", "default_job_path": "jobspec",
    "load_job": "jobspec", "available_measures": "measures", "Plan": "plan",
    "plan_job": "plan", "RunnerError": "store",
}


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'brgvc.runner' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"brgvc.runner.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "Job",
    "JobSpecError",
    "Plan",
    "RunSummary",
    "RunnerError",
    "available_measures",
    "default_job_path",
    "load_job",
    "plan_job",
    "run_job",
]
