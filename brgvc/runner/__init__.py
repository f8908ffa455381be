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

From the shell: ``python -m brgvc.runner run JOB --out DIR --cluster local|sync|tcp://...``.
"""

from brgvc.runner.execute import RunSummary, run_job
from brgvc.runner.jobspec import Job, JobSpecError, default_job_path, load_job
from brgvc.runner.measures import available_measures
from brgvc.runner.plan import Plan, plan_job
from brgvc.runner.store import RunnerError

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
