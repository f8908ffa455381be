"""The ``brgvc`` command line: help, one-line errors, decompose and run end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brgvc.cli import main, parse_years
from brgvc.core import YearSystem
from brgvc.datasets import open_dataset


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "brgvc.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for cmd in ("run", "ingest", "inspect", "decompose", "validate", "plan", "submit",
                "schedule"):
        assert cmd in out


def test_parse_years():
    assert parse_years("1995-1998,2011") == [1995, 1996, 1997, 1998, 2011]
    with pytest.raises(ValueError, match="2011-1995"):
        parse_years("2011-1995")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["decompose", "kww", "--year", "1990", "--out", "x.csv"], "1990"),
        (["ingest", "wiod2013", "/nonexistent/folder", "--out", "c.zarr"], "/nonexistent"),
        (["inspect", "no_such_dataset"], "no_such_dataset"),
    ],
)
def test_errors_are_one_line_with_nonzero_exit(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("brgvc: error:") and needle in err[0]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["decompose", "nosuch", "--year", "2011", "--out", "x.csv"], "nosuch"),
        (["ingest", "nosuch", "x", "--out", "c.zarr"], "nosuch"),
    ],
)
def test_unknown_choices_are_usage_errors_listing_the_registry(argv, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert needle in last and "choose from" in last


def test_measures_listing_comes_from_the_registry(capsys):
    from brgvc.measures import list_measures

    assert main(["measures"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == [r["name"] for r in list_measures()]
    assert main(["measures", "wwz"]) == 0
    out = capsys.readouterr().out
    assert "Wang, Wei & Zhu (2013)" in out and "exporter, sector, importer" in out
    assert main(["measures", "nosuch"]) == 1


def test_decompose_kww_csv_adds_up_to_exports(tmp_path):
    out = tmp_path / "kww.csv"
    assert main(["decompose", "kww", "--year", "2011", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert {"year", "exporter", "term", "value"} <= set(df.columns)
    terms = ["DVA_FIN", "DVA_INT", "DVA_INTrex", "RDV_FIN", "RDV_INT", "DDC", "FVA_FIN",
             "FVA_INT", "FDC"]
    assert set(terms) <= set(df.term)
    totals = df[df.term.isin(terms)].groupby("exporter")["value"].sum()
    exports = df[df.term == "exports"].set_index("exporter")["value"]
    np.testing.assert_allclose(totals.loc[exports.index].values, exports.values, rtol=1e-9)
    ys = YearSystem.from_cube(open_dataset("wiod2013", years=[2011]), 2011, warn_zero=False)
    E = ys.gross_exports().sum(("sector", "importer")).to_series()
    np.testing.assert_allclose(totals.loc[E.index].values, E.values, rtol=1e-9)


def test_decompose_wwz_parquet(tmp_path):
    out = tmp_path / "wwz.parquet"
    assert main(["decompose", "wwz", "--year", "1995", "--x", "published", "--out",
                 str(out)]) == 0
    df = pd.read_parquet(out)
    assert list(df.columns) == ["year", "exporter", "sector", "importer", "term", "value"]
    assert df.term.nunique() >= 16 and set(df.year) == {1995}


def test_run_writes_result_store_and_tidy_tables(tmp_path):
    job = tmp_path / "job.yaml"
    job.write_text(
        "name: cli_test\ndata: wiod2013\nyears: [2011]\nmeasures: [vby, vbe]\n"
        "draws: {n: 0}\noutputs: {formats: [csv], tables: [draws]}\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(job), "--cluster", "sync", "--out", str(out), "--quiet"]) == 0
    assert (out / "results.zarr" / "zarr.json").exists()
    vby = pd.read_csv(out / "tables" / "vby.csv")
    ds = open_dataset("wiod2013", years=[2011])
    # u'V̂BY·1 equals world value added.
    assert vby.value.sum() == pytest.approx(float(ds.va.sum()), rel=1e-10)
    vbe = pd.read_csv(out / "tables" / "vbe.csv")
    assert set(vbe.columns) >= {"year", "source", "exporter", "value"}
    # Running again resumes: nothing left to do.
    assert main(["run", str(job), "--cluster", "sync", "--out", str(out), "--quiet"]) == 0


def test_validate_names_bad_key(tmp_path, capsys):
    job = tmp_path / "bad.yaml"
    job.write_text("name: bad\ndata: wiod2013\nyears: [2011]\nmeasures: [vby]\ndraws: {n: -3}\n")
    assert main(["validate", str(job)]) == 1
    err = capsys.readouterr().err
    assert "draws.n" in err and "-3" in err


def test_default_job_is_packaged():
    from brgvc.runner import default_job_path, load_job

    path = default_job_path()
    assert Path(path).is_file() and "brgvc" in str(path)
    job = load_job(path)
    assert job is not None


def test_formats_lists_the_readers_registry(capsys):
    from brgvc.readers import FORMATS

    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert set(FORMATS) <= names and "wiod2013" in names


def test_ingest_help_lists_the_formats():
    from brgvc.readers import FORMATS

    out = subprocess.run([sys.executable, "-m", "brgvc.cli", "ingest", "--help"],
                         capture_output=True, text=True, check=True).stdout
    flat = " ".join(out.split())
    assert all(name in flat for name in FORMATS)


def test_ingest_embedded_needs_no_path(tmp_path, capsys):
    store = tmp_path / "wiod.zarr"
    assert main(["ingest", "wiod2013", "--out", str(store), "--years", "2011"]) == 0
    a = open_dataset(str(store), years=[2011]).load()
    b = open_dataset("wiod2013", years=[2011]).load()
    for var in ("Z", "Y", "x", "va"):
        np.testing.assert_array_equal(a[var].values, b[var].values)
    # A format that is not embedded still needs its files.
    assert main(["ingest", "eora26", "--out", str(tmp_path / "e.zarr")]) == 1
    assert "PATH" in capsys.readouterr().err


def test_top_level_api_is_lazy_and_complete():
    code = ("import sys, brgvc; heavy = {'dask', 'zarr', 'networkx', 'xarray'} & set(sys.modules);"
            "assert not heavy, heavy; print(sorted(n for n in brgvc.__all__ if n != '__version__'"
            " and not callable(getattr(brgvc, n))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_eager_embedded_read_equals_the_lazy_one_without_dask():
    code = ("import sys; from brgvc.datasets import open_dataset;"
            "ds = open_dataset('wiod2013', years=[2011], lazy=False);"
            "assert 'zarr' not in sys.modules;"
            "import numpy as np; np.save(sys.argv[1], ds['Z'].values)")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "z.npy"
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                             text=True)
        assert out.returncode == 0, out.stderr
        eager = np.load(path)
    lazy = open_dataset("wiod2013", years=[2011])["Z"].values
    np.testing.assert_array_equal(eager, lazy)
