"""Job specs: the schema, the default and example jobs, and bad specs named by key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from brgvc.runner import JobSpecError, default_job_path, load_job, plan_job, run_job
from brgvc.runner.jobspec import check_cron, job_schema

REPO = Path(__file__).resolve().parents[1]


def spec(**changes):
    base = {"name": "t", "data": "wiod2013", "years": [2010, 2011], "measures": ["vby"],
            "draws": {"n": 2, "block": 3, "seed": 1}}
    base.update(changes)
    return base


def test_schema_is_valid_json_schema_and_package_data():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(job_schema())
    assert job_schema()["title"] == "brgvc job specification"


def test_default_job_is_package_data_and_symlinked_from_jobs():
    p = default_job_path()
    assert p.exists() and p.name == "belt_and_road.yaml"
    link = REPO / "jobs" / "belt_and_road.yaml"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert link.resolve() == p.resolve()
    job = load_job(p)
    assert job.years == tuple(range(1995, 2012))
    assert job.draws.n == 200 and job.grouping == "belt_and_road"
    assert {m.name for m in job.measures} >= {"vby", "vbe"}


@pytest.mark.parametrize("name", ["belt_and_road.yaml", "quick.yaml", "sweep_flat_rse.yaml"])
def test_example_jobs_load(name):
    job = load_job(REPO / "jobs" / name)
    assert job.measures and job.years


def test_years_forms_and_normalisation():
    assert load_job(spec(years="1995-1997")).years == (1995, 1996, 1997)
    assert load_job(spec(years=2003)).years == (2003,)
    assert load_job(spec(years="all")).years == tuple(range(1995, 2012))
    job = load_job(spec(years=[2011, 2010]))
    assert job.years == (2010, 2011) and job.spec["years"] == [2010, 2011]


def test_hash_covers_results_not_outputs_or_schedule():
    a = load_job(spec())
    b = load_job(spec(outputs={"formats": ["parquet"]}, schedule="0 3 * * 1", name="other"))
    c = load_job(spec(draws={"n": 2, "block": 3, "seed": 2}))
    assert a.hash == b.hash
    assert a.hash != c.hash
    assert json.loads(a.to_json())["draws"]["rse"] == {"kind": "flat", "value": 0.1}


def test_measure_options_and_aliases():
    job = load_job(spec(measures=["vby", {"name": "vby", "as": "vby_sector", "level": "sector"}]))
    assert [m.alias for m in job.measures] == ["vby", "vby_sector"]
    assert job.measures[1].options == {"level": "sector"}


def check_error(doc_or_path, key, *fragments):
    with pytest.raises(JobSpecError) as ei:
        load_job(doc_or_path)
    err = ei.value
    assert err.key == key, str(err)
    for f in fragments:
        assert f in str(err), str(err)
    return err


def test_unknown_measure_is_named():
    err = check_error(spec(measures=["vby", "vbx"]), "measures[1]", "vbx", "known measures")
    assert err.value == "vbx"


def test_years_outside_the_data_are_named():
    check_error(spec(years=[2010, 2015]), "years", "2015", "outside the data")
    check_error(spec(years="1990-1996"), "years", "1990")


def test_negative_draws_are_named():
    check_error(spec(draws={"n": -3}), "draws.n", "-3", "minimum")
    check_error(spec(draws={"n": 3, "block": 0}), "draws.block")


def test_unknown_keys_and_types_are_named():
    check_error(spec(draws={"n": 3, "blok": 2}), "draws", "blok")
    check_error(spec(colour="red"), "colour", "colour")
    check_error(spec(gross_output="gross"), "gross_output", "gross")
    check_error(spec(draws={"n": 1, "rse": {"kind": "flat"}}), "draws.rse")
    check_error(spec(draws={"n": 1, "model": "cauchy"}), "draws.model", "cauchy")
    check_error({"data": "wiod2013"}, "measures", "required")


def test_bad_data_grouping_and_schedule_are_named(tmp_path):
    check_error(spec(data="no_such_store.zarr"), "data", "neither an embedded dataset")
    check_error(spec(grouping="no_such_grouping"), "grouping")
    check_error(spec(schedule="61 * * * *"), "schedule", "61")
    check_error(spec(draws={"n": 1, "rse": {"kind": "sd", "path": str(tmp_path / "x")}}),
                "draws.rse.path")


def test_malformed_yaml_gives_the_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("data: wiod2013\nmeasures: [vby\ndraws:\n  n: 3\n")
    with pytest.raises(JobSpecError) as ei:
        load_job(p)
    assert ei.value.line is not None and ei.value.line >= 2
    assert "line" in str(ei.value) and "bad.yaml" in str(ei.value)
    p.write_text("- just\n- a list\n")
    with pytest.raises(JobSpecError, match="mapping"):
        load_job(p)


def test_yaml_cannot_execute_code(tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text("data: !!python/object/apply:os.system ['echo pwned']\nmeasures: [vby]\n")
    with pytest.raises(JobSpecError, match="malformed YAML"):
        load_job(p)


def test_relative_data_paths_resolve_against_the_job_file(tmp_path):
    (tmp_path / "cube.zarr").mkdir()
    p = tmp_path / "job.yaml"
    p.write_text(yaml.safe_dump({"data": "cube.zarr", "years": [2000], "measures": ["vby"]}))
    job = load_job(p, check_data=False)
    assert job.data == "cube.zarr"
    with pytest.raises(JobSpecError) as ei:
        load_job(p)  # an empty folder is no cube store: the data key is named
    assert ei.value.key == "data"


def test_cron_checker():
    check_cron("0 3 * * 1")
    check_cron("*/15 0-6 1,15 jan-mar mon")
    for bad in ("0 3 * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "5-1 * * * *"):
        with pytest.raises(ValueError):
            check_cron(bad)


def test_bad_spec_fails_before_any_task_runs(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(JobSpecError) as ei:
        run_job(spec(measures=["nope"]), cluster="sync", out=out, progress=False)
    assert ei.value.key == "measures[0]"
    with pytest.raises(JobSpecError):
        plan_job(spec(draws={"n": -1}), out)
    assert not out.exists()


def test_checks_section_defaults_and_stays_out_of_the_hash():
    a = load_job(spec())
    b = load_job(spec(checks={"allow_nonproductive": True, "resources": False}))
    assert a.checks == {"allow_nonproductive": False, "resources": True}
    assert b.checks == {"allow_nonproductive": True, "resources": False}
    assert a.hash == b.hash  # the guards change whether a job runs, never its numbers
    assert json.loads(b.to_json())["checks"]["allow_nonproductive"] is True
    check_error(spec(checks={"allow_nonproductive": "yes"}), "checks.allow_nonproductive",
                "'yes' is not of type 'boolean'")
    check_error(spec(checks={"rho": 2}), "checks", "unknown key 'rho'")


def test_integer_counts_and_bounds_are_named():
    check_error(spec(draws={"n": 2.0}), "draws.n", "2.0 is not an integer", "(e.g. 2)")
    check_error(spec(draws={"n": 2, "seed": 1.5}), "draws.seed", "1.5 is not an integer")
    check_error(spec(draws={"n": 10_000_001}), "draws.n", "greater than the maximum")
    check_error(spec(draws={"n": 2, "block": 1_000_001}), "draws.block",
                "greater than the maximum")
    assert load_job(spec(draws={"n": 10_000_000, "block": 1_000_000}),
                    check_data=False).draws.n == 10_000_000  # the schema's bounds are inclusive


def test_check_resources_for_validate(tmp_path):
    from brgvc.runner.plan import check_resources

    check_resources(spec())  # the usual job passes
    check_resources(spec(), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # checking never creates the folder
    with pytest.raises(JobSpecError) as ei:
        check_resources(spec(measures=["wwz"], draws={"n": 1_000_000, "block": 1_000_000}))
    assert ei.value.key == "draws.block"
    check_resources(spec(measures=["wwz"], draws={"n": 1_000_000, "block": 1_000_000},
                         checks={"resources": False}))


def test_normalised_spec_round_trips_findings_off(tmp_path):
    import yaml

    spec = yaml.safe_load(default_job_path().read_text())
    spec["findings"] = False
    job = load_job(spec)
    assert job.findings is None
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job.spec))
    again = load_job(path)
    assert again.findings is None and again.hash == job.hash
    on = load_job(yaml.safe_load(default_job_path().read_text()))
    assert on.findings is not None
    path.write_text(yaml.safe_dump(on.spec))
    assert load_job(path).findings == on.findings
