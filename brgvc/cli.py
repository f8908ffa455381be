"""The ``brgvc`` command line. It holds no logic: every command calls the library.

Exit status 0 on success; on error one line ``brgvc: error: ...`` on stderr and status 1
(2 for a usage error).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

__all__ = ["main", "parse_years"]


def parse_years(text: str | None) -> list[int] | None:
    """Parse ``1995-2011``, ``1995,2000,2011`` or a mix into a sorted list of years.

    Raises
    ------
    ValueError
        For anything else, quoting the text.
    """
    if text is None:
        return None
    years: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                a, b = (int(p) for p in part.split("-", 1))
                if b < a:
                    raise ValueError
                years.update(range(a, b + 1))
            elif part:
                years.add(int(part))
    except ValueError:
        raise ValueError(f"--years {text!r}: expected e.g. 1995-2011 or 1995,2000,2011") from None
    if not years:
        raise ValueError(f"--years {text!r}: no year given")
    return sorted(years)


def _progress(done: int, total: int, year: int) -> None:
    print(f"  [{done}/{total}] year {year} written", file=sys.stderr, flush=True)


def _format_names() -> list[str]:
    """Names of the registered database formats (the readers' registry)."""
    from brgvc.readers import FORMATS

    return sorted(FORMATS)


def cmd_formats(args: argparse.Namespace) -> int:
    from brgvc.readers import FORMATS

    for name in sorted(FORMATS):
        attrs = FORMATS[name].attrs
        unit = attrs.get("unit", "")
        published = attrs.get("unit_published")
        unit_text = f"{unit} (published in {published})" if published and published != unit \
            else unit
        print(f"{name:<16} {attrs.get('source', '')}; {unit_text}")
    from brgvc.datasets import EMBEDDED

    for name in sorted(EMBEDDED):
        print(f"{name:<16} embedded in the package: `brgvc ingest {name} --out STORE` "
              "needs no path")
    return 0


def _decompose_methods() -> list[str]:
    from brgvc.measures.decompose import DECOMPOSE_METHODS

    return list(DECOMPOSE_METHODS)


def cmd_measures(args: argparse.Namespace) -> int:
    from brgvc.measures import list_measures

    rows = list_measures()
    if args.name:
        rows = [r for r in rows if r["name"] == args.name]
        if not rows:
            known = ", ".join(r["name"] for r in list_measures())
            raise ValueError(f"unknown measure {args.name!r}; known: {known}")
    for r in rows:
        if args.name:
            print(f"{r['name']}: {r['description']}")
            print(f"  dims: {', '.join(r['dims'])}   units: {r['units']}   level: {r['level']}")
            print(f"  options: {r['options'] or '-'}   needs: {', '.join(r['needs']) or '-'}")
            for ref in r["references"]:
                print(f"  reference: {ref}")
        else:
            print(f"{r['name']:<20} ({', '.join(r['dims'])}) [{r['units']}] {r['description']}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from brgvc.readers.store import write_cube

    years = parse_years(args.years)
    t0 = time.perf_counter()
    if args.path is None:
        from brgvc.datasets import EMBEDDED, open_dataset

        if args.format not in EMBEDDED:
            raise ValueError(f"ingest {args.format}: give the PATH of the database's files "
                             f"(only {', '.join(sorted(EMBEDDED))} is embedded)")
        ds = open_dataset(args.format, years=years, gross_output="published")
        args.path = f"the embedded {args.format} data"
    else:
        from brgvc.readers import open_mrio

        ds = open_mrio(args.format, args.path, years=years, gross_output="published")
    n = ds.sizes["year"]
    print(
        f"ingesting {args.format} from {args.path}: {n} years, {ds.sizes['region']} regions × "
        f"{ds.sizes['sector']} sectors -> {args.out}",
        file=sys.stderr,
    )
    written = write_cube(ds, args.out, progress=_progress)
    skipped = n - len(written)
    print(
        f"done in {time.perf_counter() - t0:.1f} s: {len(written)} years written"
        + (f", {skipped} already complete" if skipped else "")
    )
    return 0


def _download_names() -> list[str]:
    from brgvc.readers.download import downloadable_formats

    # The formats that cannot be fetched are accepted too, so that the library says why.
    return sorted(set(downloadable_formats()) | {"eora26", "adb_mrio", "wiod2013"})


def cmd_download(args: argparse.Namespace) -> int:
    from brgvc.readers.download import download, downloadable_formats

    if args.list:
        for name, text in sorted(downloadable_formats().items()):
            print(f"{name:<16} {text}")
        return 0
    if args.format is None or args.dest is None:
        raise ValueError("download: give FORMAT and --dest DIR (or --list)")
    paths = download(args.format, args.years, args.dest, mirror=args.mirror,
                     progress=not args.no_progress, force=args.force)
    for path in paths:
        print(path)
    print(f"{len(paths)} files ready: brgvc ingest {args.format} {args.dest} --out STORE",
          file=sys.stderr)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from brgvc.datasets import open_dataset
    from brgvc.schema import validate

    ds = open_dataset(args.data, years=parse_years(args.years), gross_output=args.x)
    report = validate(ds)
    shown = [i for i in report.issues if args.all or i.severity != "info"]
    for issue in shown[: args.limit]:
        print(issue)
    if len(shown) > args.limit:
        print(f"... {len(shown) - args.limit} more (use --limit)")
    print(f"{len(report.errors)} errors, {len(report.issues) - len(report.errors)} other findings")
    return 0 if report.ok else 1


def cmd_decompose(args: argparse.Namespace) -> int:
    from brgvc.datasets import open_dataset
    from brgvc.measures.decompose import decompose, write_tidy

    ds = open_dataset(args.data, years=[args.year], gross_output=args.x, lazy=False)
    df = decompose(ds, args.method, args.year, allow_nonproductive=args.allow_nonproductive)
    out = write_tidy(df, args.out)
    print(f"{args.method} {args.year}: {len(df)} rows -> {out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import json

    from brgvc.runner import default_job_path, load_job, run_job

    job = load_job(args.job or default_job_path())
    if job.findings is not None:
        # The runner knows nothing of studies: a job with findings is the Belt and Road study
        # (main run, its gross-output variant, then the findings).
        from brgvc.studies.belt_and_road import run_study

        study = run_study(job, args.out, cluster=args.cluster, progress=not args.quiet)
        summary = study.main
        if study.findings is not None:
            summary.findings = study.findings.paths
        timing = ", ".join(f"{k} {v:.1f} s" for k, v in study.timings.items())
        print(f"study {job.name}: {timing}; findings in {summary.out / 'findings.md'}",
              file=sys.stderr)
    else:
        summary = run_job(job, cluster=args.cluster, out=args.out, progress=not args.quiet)
    if args.json:
        print(json.dumps(summary.to_dict()))
    elif args.quiet:  # with progress on, run_job has already printed the summary
        print(summary)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from brgvc.runner import load_job
    from brgvc.runner.plan import check_resources

    job = load_job(args.job)
    check_resources(job)
    print(f"{args.job}: valid job {job.name!r} (hash {job.hash[:12]}): {len(job.years)} years, "
          f"{job.draws.n} draws")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from brgvc.runner import load_job, plan_job

    job = load_job(args.job)
    if job.findings is not None:
        # `brgvc run` runs a job with findings as the study job (with what the findings read).
        from brgvc.studies.belt_and_road import study_job

        job = load_job(study_job(job))
    print(plan_job(job, args.out))
    return 0


def cmd_findings(args: argparse.Namespace) -> int:
    from brgvc.studies.belt_and_road import findings_text

    print(findings_text(args.results, allow_partial=args.allow_partial))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from brgvc.studies.belt_and_road import write_report

    print(f"report: {write_report(args.results, args.out, allow_partial=args.allow_partial)}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from brgvc.storage import verify_store

    check = verify_store(args.path, deep=args.deep, repair=args.repair)
    print(check)
    if not args.allow_partial:
        check.require_complete("years" if check.kind == "cube" else "tasks")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from brgvc.deploy.kubernetes import submit

    print(submit(args.job, args.k8s, dry_run=args.dry_run))
    return 0


def cmd_k8s(args: argparse.Namespace) -> int:
    from brgvc.deploy.kubernetes import main as k8s_main

    # Everything after ``k8s`` belongs to the deploy layer's own parser (options included).
    return int(k8s_main(list(args.k8s_args)) or 0)


def cmd_schedule(args: argparse.Namespace) -> int:
    if args.k8s:
        from brgvc.deploy.kubernetes import submit_schedule

        print(submit_schedule(args.job, args.k8s, dry_run=args.dry_run))
        return 0
    from brgvc.deploy.schedule import run_schedule

    start = None
    if args.start:
        import datetime as dt

        start = dt.datetime.fromisoformat(args.start)
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
    from brgvc.runner import load_job

    run = None
    if load_job(args.job).findings is not None:
        # Each firing of a job with findings is the whole study, as with `brgvc run`.
        from brgvc.studies.belt_and_road.study import scheduled_run as run
    runs = run_schedule(args.job, args.out, cluster=args.cluster, max_runs=args.max_runs,
                        now=start, concurrency=args.concurrency, run=run)
    print(runs.summary())
    if runs.failures:
        print(f"brgvc: error: {len(runs.failures)} of {len(runs)} scheduled runs failed",
              file=sys.stderr)
    return runs.exit_code


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser of the ``brgvc`` command.

    Parameters
    ----------
    command : str, optional
        The subcommand about to run. The choices of its arguments (database formats,
        measure names) are read from the registries; other subcommands are built without
        importing them, so that a command starts without loading the whole library.
    """
    from brgvc import __version__

    def choices(name: str, source) -> list[str] | None:
        return source() if command == name else None

    p = argparse.ArgumentParser(
        prog="brgvc",
        description="Global value chain analysis of MRIO tables at scale "
        "(value-added decompositions, value-flow networks, bootstrap sensitivity on Dask).",
    )
    p.add_argument("--version", action="version", version=f"brgvc {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("run", help="run a job (default: the Belt-and-Road job on embedded WIOD)")
    s.add_argument("job", nargs="?", help="job spec YAML (default: the built-in B&R job)")
    s.add_argument("--cluster", default="local",
                   help="local (default), sync, tcp://HOST:PORT or a cluster profile YAML")
    s.add_argument("--out", default="brgvc-results", help="output folder (default %(default)s)")
    s.add_argument("--quiet", "--no-progress", action="store_true", help="no progress output")
    s.add_argument("--json", action="store_true", help="print the run summary as JSON")
    s.set_defaults(func=cmd_run)

    formats = choices("ingest", _format_names)
    s = sub.add_parser("ingest", help="convert a database's files into a zarr cube store")
    s.add_argument("format", choices=formats, metavar="FORMAT",
                   help="database format" + (f": {', '.join(formats)}" if formats else
                                             " (`brgvc formats` lists them)"))
    s.add_argument("path", nargs="?",
                   help="folder (or file) as the publisher distributes it; omit for the "
                   "embedded wiod2013")
    s.add_argument("--out", required=True, help="cube store folder to write")
    s.add_argument("--years", help="e.g. 1995-2011 or 1995,2000 (default: all)")
    s.set_defaults(func=cmd_ingest)

    fetchable = choices("download", _download_names)
    s = sub.add_parser("download", help="fetch an openly published database (resumable, "
                       "checksummed) into a folder that `brgvc ingest` reads")
    s.add_argument("format", nargs="?", choices=fetchable, metavar="FORMAT",
                   help=", ".join(fetchable) if fetchable else "database format")
    s.add_argument("--years", help="e.g. 2010-2014 or 2010,2015 (default: all offered)")
    s.add_argument("--dest", help="download folder")
    s.add_argument("--mirror", help="another host serving the same paths "
                   "(or env BRGVC_DOWNLOAD_MIRROR)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--force", action="store_true", help="download again even if verified")
    s.add_argument("--list", action="store_true", help="list the downloadable databases")
    s.set_defaults(func=cmd_download)

    s = sub.add_parser("formats", help="list the database formats brgvc reads")
    s.set_defaults(func=cmd_formats)

    s = sub.add_parser("inspect", help="validate a dataset: balance, signs, zero output, A")
    s.add_argument("data", nargs="?", default="wiod2013", help="embedded name or cube store")
    s.add_argument("--years", help="e.g. 2011 or 1995-2011 (default: all)")
    s.add_argument("--x", choices=("balanced", "published"), default="balanced",
                   help="gross-output convention (default %(default)s)")
    s.add_argument("--limit", type=int, default=50, help="findings to print")
    s.add_argument("--all", action="store_true", help="also print informational findings")
    s.set_defaults(func=cmd_inspect)

    methods = choices("decompose", _decompose_methods)
    s = sub.add_parser("decompose", help="one decomposition for one year, as a tidy table")
    s.add_argument("method", choices=methods, metavar="METHOD",
                   help=", ".join(methods) if methods else "a decomposition (see --help)")
    s.add_argument("--data", default="wiod2013", help="embedded name or cube store")
    s.add_argument("--year", type=int, required=True)
    s.add_argument("--x", choices=("balanced", "published"), default="balanced")
    s.add_argument("--allow-nonproductive", action="store_true",
                   help="compute even if the year's A has spectral radius >= 1")
    s.add_argument("--out", required=True,
                   help=".parquet, .csv or .csv.gz (no suffix: .parquet, the table_format option)")
    s.set_defaults(func=cmd_decompose)

    s = sub.add_parser("measures", help="list the measures a job can request (dims, units, "
                       "references)")
    s.add_argument("name", nargs="?", help="one measure, in full")
    s.set_defaults(func=cmd_measures)

    s = sub.add_parser("validate", help="check a job spec without running it")
    s.add_argument("job")
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser("plan", help="show the tasks, sizes and what is already done")
    s.add_argument("job")
    s.add_argument("--out", default="brgvc-results")
    s.set_defaults(func=cmd_plan)

    s = sub.add_parser("findings", help="the four Belt-and-Road findings of a finished run, "
                       "with bootstrap intervals (also written to RESULTS/findings/)")
    s.add_argument("results", nargs="?", default="brgvc-results", help="a run's output folder")
    s.add_argument("--allow-partial", action="store_true",
                   help="read a run whose tasks are not all done")
    s.set_defaults(func=cmd_findings)

    s = sub.add_parser("report", help="a self-contained HTML report of a finished run")
    s.add_argument("results", nargs="?", default="brgvc-results", help="a run's output folder")
    s.add_argument("--out", help="HTML file (default RESULTS/report.html)")
    s.add_argument("--allow-partial", action="store_true",
                   help="report on a run whose tasks are not all done")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("verify", help="check a cube store, result store or run folder: every "
                       "chunk present with its size (--deep: checksums)")
    s.add_argument("path", help="cube store, results.zarr or a run's output folder")
    s.add_argument("--deep", action="store_true", help="also compare SHA-256 checksums")
    s.add_argument("--repair", action="store_true",
                   help="mark damaged tasks/years so that the next run or ingest redoes them")
    s.add_argument("--allow-partial", action="store_true",
                   help="succeed on an intact store whose tasks are not all done")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("submit", help="run a job on Kubernetes as a DaskJob")
    s.add_argument("job")
    s.add_argument("--k8s", required=True, metavar="PROFILE",
                   help="Kubernetes profile YAML (see cluster/k8s/profile.yaml)")
    s.add_argument("--dry-run", action="store_true", help="print the manifests only")
    s.set_defaults(func=cmd_submit)

    s = sub.add_parser("k8s", help="Kubernetes manifests: render, create-run, examples "
                       "(`brgvc k8s --help`)", add_help=False)
    s.add_argument("k8s_args", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_k8s)

    s = sub.add_parser("schedule", help="run a job on its cron schedule (locally or as a "
                       "Kubernetes CronJob with --k8s)")
    s.add_argument("job")
    s.add_argument("--k8s", metavar="PROFILE", help="render/install a Kubernetes CronJob")
    s.add_argument("--dry-run", action="store_true", help="with --k8s: print the manifests")
    s.add_argument("--out", default="brgvc-sweeps",
                   help="local runs: folder of dated result stores (default %(default)s)")
    s.add_argument("--cluster", default="local", help="local runs: where to run each sweep")
    s.add_argument("--max-runs", type=int, help="local runs: stop after this many runs")
    s.add_argument("--concurrency", choices=("forbid", "allow", "replace"),
                   help="local runs: overlapping firings (default: the job's, else forbid)")
    s.add_argument("--start", metavar="ISO_TIME",
                   help="local runs: catch up from this time (UTC unless given) with a "
                   "simulated clock instead of waiting for the real one")
    s.set_defaults(func=cmd_schedule)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``brgvc`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    if command == "k8s":
        # argparse's REMAINDER drops a leading option such as --help: hand over the rest as is.
        args = argparse.Namespace(func=cmd_k8s, k8s_args=argv[argv.index("k8s") + 1:])
    else:
        args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("brgvc: interrupted (run the same command again to resume)", file=sys.stderr)
        return 130
    except (ValueError, OSError, ArithmeticError, KeyError, ImportError, RuntimeError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"brgvc: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
