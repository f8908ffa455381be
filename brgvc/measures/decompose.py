"""Tidy tables of measures, for ``brgvc decompose`` and tabular outputs.

:func:`to_tidy` turns a measure's Dataset or DataArray into one long DataFrame with one value
column; :func:`decompose` computes a registered measure for one year of a cube and returns
that table.
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from brgvc.measures.registry import get_measure
from brgvc.schema import YEAR

__all__ = ["DECOMPOSE_METHODS", "decompose", "to_tidy", "write_tidy"]

#: METHOD names of ``brgvc decompose`` (any other registered measure name works as well).
DECOMPOSE_METHODS: tuple[str, ...] = (
    "wwz", "kww", "bm_src", "bm_snk", "participation", "position", "vby", "vbe", "gvc_income",
)  # fmt: skip

def _frame(da: xr.DataArray, term: str) -> pd.DataFrame:
    dims = list(da.dims)
    if dims:
        df = da.to_series().rename("value").reset_index()
    else:
        df = pd.DataFrame({"value": [float(da.values)]})
    if YEAR in da.coords and YEAR not in df.columns:
        df.insert(0, YEAR, int(da[YEAR].values))
    df["term"] = term
    return df


def to_tidy(obj: xr.Dataset | xr.DataArray, method: str | None = None) -> pd.DataFrame:
    """Long ("tidy") table of a measure: one row per cell, one ``value`` column.

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
        A measure's result. Each data variable becomes a ``term``; a DataArray's term is its
        name (or ``method``).
    method : str, optional
        Stored in ``DataFrame.attrs["method"]``.

    Returns
    -------
    pandas.DataFrame
        Columns ``year``, then the result's dims in their own order (``exporter``,
        ``sector``, ``importer`` for trade decompositions; ``source``/``sink``,
        ``source``/``exporter``, ``region``, ``partner``... for the others, so that no dim is
        mislabelled), then ``term`` and ``value``. Dims that a
        variable lacks are left empty (NaN) in its rows. Rows with exporter = importer
        (structural zeros of bilateral trade measures) are left out.
    """
    if isinstance(obj, xr.DataArray):
        parts = [_frame(obj, str(obj.name or method or "value"))]
    else:
        parts = [_frame(obj[name], str(name)) for name in obj.data_vars]
    df = pd.concat(parts, ignore_index=True, sort=False) if parts else pd.DataFrame()
    dims = [c for c in df.columns if c not in (YEAR, "term", "value")]  # first-seen order
    cols = ([YEAR] if YEAR in df.columns else []) + dims + ["term", "value"]
    df = df[cols]
    if "exporter" in df.columns and "importer" in df.columns:
        # exports to oneself are not trade: every bilateral term is structurally 0 there
        df = df[df["exporter"] != df["importer"]].reset_index(drop=True)
    df.attrs["method"] = method or (obj.attrs.get("method") if hasattr(obj, "attrs") else None)
    return df


def decompose(ds: xr.Dataset, method: str, year: int | None = None, *,
              allow_nonproductive: bool = False, **opts) -> pd.DataFrame:
    """Compute a measure for one year of a canonical cube and return it as a tidy table.

    Parameters
    ----------
    ds : xarray.Dataset
        Canonical cube (e.g. ``brgvc.datasets.open_dataset("wiod2013", years=[2011])``).
    method : str
        One of :data:`DECOMPOSE_METHODS` (``wwz``, ``kww``, ``bm_src``, ``bm_snk``,
        ``participation``, ``position``, ``vby``, ``vbe``, ``gvc_income``) or any other
        registered measure name.
    year : int, optional
        Needed when the cube holds several years.
    allow_nonproductive : bool
        Compute even when the year's A has spectral radius >= 1 (refused by default).
    **opts
        Options of the measure's function (e.g. ``level="bilateral"`` for ``wwz``).

    Returns
    -------
    pandas.DataFrame
        See :func:`to_tidy`.

    Raises
    ------
    KeyError
        For an unknown method (the message lists the known ones).
    brgvc.core.checks.NonProductiveError
        When ρ(A) >= 1 and ``allow_nonproductive`` is False (names the year, ρ and the
        column with the largest column sum).
    """
    from brgvc.core.checks import check_productive
    from brgvc.core.leontief import YearSystem

    measure = get_measure(method)
    ys = YearSystem.from_cube(ds, year)
    check_productive(ys, year=ys.year, allow=allow_nonproductive)
    return to_tidy(measure(ys, **opts), method)


def write_tidy(df: pd.DataFrame, path) -> str:
    """Write a tidy table: Parquet or CSV by the file's suffix, else the ``table_format`` option.

    Parquet is the fast default (WIOD WWZ, ~1 M rows: about 8x faster to write than CSV).

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`to_tidy` / :func:`decompose`.
    path : str or path-like
        ``.parquet``, ``.csv`` or ``.csv.gz``; any other name gets the ``table_format``
        option's suffix appended (:func:`brgvc.options.set_options`).

    Returns
    -------
    str
        The path written.
    """
    from pathlib import Path

    from brgvc.options import get_options

    out = Path(path)
    name = out.name
    if name.endswith(".parquet"):
        fmt = "parquet"
    elif name.endswith((".csv", ".csv.gz")):
        fmt = "csv"
    else:
        fmt = get_options()["table_format"]
        out = out.with_name(f"{name}.{fmt}")
    if fmt == "parquet":
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, index=False)
    return str(out)
