"""Tidy tables (CSV, Parquet) derived from the result and summary stores, never recomputed.

One file per variable, one value column::

    tables/vby.csv           year, draw, source, sink, value        (tables: draws)
    tables/vby_summary.csv   year, stat, source, sink, value        (tables: summary)
    tables/vby_p_rise.csv    source, sink, value                    (tables: summary)
    tables/net_strength_rank_p1.csv   year, node, value             (tables: summary)
    tables/flags.csv         year, draw, n_negative_va, failed, network_failed

Large variables are written a year at a time (memory stays at one year's results), small ones
in one piece, into a temporary file that is renamed into place when complete.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from brgvc.runner.store import (
    FAILED,
    FLAG_VARS,
    NEG_VA,
    NET_FAILED,
    RunnerError,
    verify_results,
)
from brgvc.storage import verify_store

__all__ = ["parquet_available", "write_tables"]


def parquet_available() -> bool:
    """True when pyarrow is installed."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def _tidy(arr: xr.DataArray) -> pd.DataFrame:
    """A DataArray as a long frame: one column per dim (its labels), then ``value``.

    Rows in C order of the dims, as ``to_dataframe().reset_index()`` gives them, built from
    numpy directly (no MultiIndex).
    """
    values = np.asarray(arr.values)
    if arr.ndim == 0:
        return pd.DataFrame({"value": [values.item()]})
    shape = values.shape
    cols: dict[str, np.ndarray] = {}
    for i, d in enumerate(arr.dims):
        lab = np.asarray(arr[d].values) if d in arr.coords else np.arange(shape[i])
        if lab.dtype.kind in "UOT":
            lab = lab.astype(object)
        inner = int(np.prod(shape[i + 1:], dtype=np.int64))
        outer = int(np.prod(shape[:i], dtype=np.int64))
        cols[str(d)] = np.tile(np.repeat(lab, inner), outer)
    cols["value"] = values.reshape(-1)
    return pd.DataFrame(cols)


class _Sink:
    """Writes frames to CSV and/or Parquet files, atomically on close."""

    def __init__(self, base: Path, formats: Sequence[str]) -> None:
        self.paths = {f: base.with_suffix(f".{f}") for f in formats}
        self.tmp = {f: p.with_name(f".{p.name}.tmp") for f, p in self.paths.items()}
        self._pq = None
        self._first = True

    def write(self, df: pd.DataFrame) -> None:
        if "csv" in self.tmp:
            df.to_csv(self.tmp["csv"], mode="w" if self._first else "a",
                      header=self._first, index=False)
        if "parquet" in self.tmp:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.tmp["parquet"], table.schema)
            self._pq.write_table(table)
        self._first = False

    def close(self) -> list[Path]:
        if self._pq is not None:
            self._pq.close()
        out = []
        for f, tmp in self.tmp.items():
            if tmp.exists():
                os.replace(tmp, self.paths[f])
                out.append(self.paths[f])
        return out


#: Variables up to this size are converted in one piece; larger ones a year at a time.
PIECE_BYTES = 64 * 2**20


def _pieces(arr: xr.DataArray) -> Iterator[xr.DataArray]:
    """The variable in memory-bounded pieces along ``year`` (one piece if it is small)."""
    if "year" not in arr.dims or arr.nbytes <= PIECE_BYTES:
        yield arr.load()
        return
    for i in range(arr.sizes["year"]):
        yield arr.isel(year=[i]).load()


def write_tables(
    folder: Path,
    results: Path,
    summary: Path | None,
    *,
    formats: Sequence[str] = ("csv",),
    tables: Sequence[str] = ("draws", "summary"),
    allow_partial: bool = False,
) -> list[Path]:
    """Write the tidy tables of a finished run.

    Parameters
    ----------
    folder : Path
        Where to write (created).
    results : Path
        The result store.
    summary : Path, optional
        The summary store (statistics over draws), if any.
    formats : sequence of {"csv", "parquet"}
    tables : sequence of {"draws", "summary"}
    allow_partial : bool
        Write the tables of a run whose tasks are not all done (their draws are NaN);
        default: refuse with :class:`~brgvc.storage.IncompleteStoreError`.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    brgvc.storage.StoreDamagedError
        If a chunk file of the result store is missing or truncated (named).
    """
    formats = list(formats)
    if "parquet" in formats and not parquet_available():
        raise RunnerError("outputs.formats asks for parquet, which needs pyarrow "
                          "(pip install pyarrow)")
    verify_results(Path(results), allow_partial=allow_partial)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    # chunks=None: lazy zarr arrays read directly, without a Dask graph per variable.
    ds = xr.open_zarr(results, consolidated=False, zarr_format=3, chunks=None)
    try:
        names = [v for v in ds.data_vars if v not in FLAG_VARS]
        if "draws" in tables:
            for name in names:
                sink = _Sink(folder / name, formats)
                for part in _pieces(ds[name]):
                    sink.write(_tidy(part))
                written += sink.close()
        flags = ds[[NEG_VA, FAILED, NET_FAILED]].load()
        sink = _Sink(folder / "flags", formats)
        frame = flags.to_dataframe().reset_index()
        for col in (FAILED, NET_FAILED):
            frame[col] = frame[col].astype(bool)
        sink.write(frame)
        written += sink.close()
    finally:
        ds.close()
    if summary is not None and "summary" in tables and Path(summary).exists():
        verify_store(summary)
        sm = xr.open_zarr(summary, consolidated=False, zarr_format=3, chunks=None)
        try:
            for name in sm.data_vars:
                derived = name.endswith(("_p_rise", "_p1"))
                sink = _Sink(folder / (name if derived else f"{name}_summary"), formats)
                for part in _pieces(sm[name]):
                    sink.write(_tidy(part))
                written += sink.close()
        finally:
            sm.close()
    return written
