"""``python -m brgvc.runner {run,plan,validate} [JOB] [--out DIR] [--cluster WHERE]``.

Exit status 0 on success, 2 for an invalid job, 1 for any other error (one-line reason on
stderr). Without JOB, the default Belt and Road job on the embedded WIOD data runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from brgvc.runner import JobSpecError, RunnerError, default_job_path, load_job, plan_job, run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    p = argparse.ArgumentParser(prog="python -m brgvc.runner", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, help_ in (("run", "run (or resume) a job"), ("plan", "show a job's tasks and state"),
                        ("validate", "check a job spec")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("job", nargs="?", default=None, help="job YAML (default: belt_and_road)")
        if name in ("run", "plan"):
            s.add_argument("--out", default="brgvc-results", help="output folder")
        if name == "run":
            s.add_argument("--cluster", default="local",
                           help="local | sync | tcp://host:port | cluster profile YAML")
            s.add_argument("--no-progress", action="store_true", help="no progress line")
            s.add_argument("--json", action="store_true", help="print the run summary as JSON")
    args = p.parse_args(argv)
    path = args.job or default_job_path()
    try:
        job = load_job(path)
        if args.cmd == "validate":
            print(f"{path}: valid job {job.name!r} (hash {job.hash[:12]}): {len(job.years)} years,"
                  f" {job.draws.n} draws, measures {', '.join(m.alias for m in job.measures)}")
        elif args.cmd == "plan":
            print(plan_job(job, args.out))
        else:
            summary = run_job(job, cluster=args.cluster, out=args.out,
                              progress=not args.no_progress)
            if args.json:
                print(json.dumps(summary.to_dict()))
            elif args.no_progress:
                print(summary)
    except JobSpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (RunnerError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
