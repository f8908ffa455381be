"""brgvc.options: validated package options, global or for a ``with`` block."""

from __future__ import annotations

import pytest

from brgvc.options import OPTION_DOCS, blas_limits, get_options, set_options


def test_defaults_documented_and_read_only():
    opts = get_options()
    assert set(opts) == set(OPTION_DOCS)
    assert opts["table_format"] == "parquet" and opts["wwz_cache"] is True
    with pytest.raises(TypeError):
        opts["wwz_cache"] = False  # type: ignore[index]


def test_context_manager_restores_and_global_set():
    with set_options(table_format="csv", blas_threads=1):
        assert get_options()["table_format"] == "csv"
        assert get_options()["blas_threads"] == 1
    assert get_options()["table_format"] == "parquet"
    assert get_options()["blas_threads"] is None
    set_options(progress=False)
    try:
        assert get_options()["progress"] is False
    finally:
        set_options(progress=True)


@pytest.mark.parametrize(("kw", "match"), [
    ({"tabel_format": "csv"}, "unknown brgvc option 'tabel_format'"),
    ({"table_format": "xlsx"}, r"table_format='xlsx': expected 'parquet' or 'csv'"),
    ({"blas_threads": 0}, "blas_threads=0: expected a positive int or None"),
    ({"wwz_cache": "yes"}, "wwz_cache='yes'"),
])
def test_invalid_options_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        set_options(**kw)
    assert get_options()["table_format"] == "parquet"


def test_blas_limits():
    from threadpoolctl import threadpool_info

    with blas_limits(1):
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    with blas_limits():  # no option set: no limit, nothing imported needed
        pass


def test_write_tidy_by_suffix_and_option(tmp_path):
    import pandas as pd

    from brgvc.measures.decompose import write_tidy

    df = pd.DataFrame({"year": [2000, 2000], "exporter": ["ARG", "TUR"], "term": ["a", "a"],
                       "value": [1.5, -2.25]})
    assert write_tidy(df, tmp_path / "t.csv").endswith("t.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv"), df, check_dtype=False)
    assert write_tidy(df, tmp_path / "u").endswith("u.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "u.parquet"), df, check_dtype=False)
    with set_options(table_format="csv"):
        assert write_tidy(df, tmp_path / "v").endswith("v.csv")
