"""The cube store: the canonical cube in zarr v3, one chunk per year, atomic per year.

Layout: the raw variables ``Z``, ``Y`` and ``x_published`` (the database's own output), chunked
one year per chunk, labels as variable-length UTF-8 strings, and a ``year_done`` flag per year.
A year's data is written first and its flag last, so an interrupted ingest leaves at worst a
year whose flag is still false: :func:`open_cube` never returns it, and running the ingest again
writes only the missing years. ``x`` and ``va`` are derived at open time from the requested
gross-output convention.

The store is written through :mod:`brgvc.storage` (the one zarr writer of brgvc): each year's
chunk files are recorded (sizes, SHA-256) in a manifest before its flag is set, and
:func:`open_cube` checks the sizes on every open, so a missing or truncated chunk is an error
naming the file (``brgvc.storage.verify_store(store, deep=True)`` compares the checksums).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from brgvc import storage
from brgvc.schema import MRIOError, with_gross_output

RAW_VARS = ("Z", "Y", "x_published", "va_published")
DONE = "year_done"


class IncompleteStoreWarning(UserWarning):
    """A cube store holds years whose writing did not finish; they are left out."""


#: One year of Z above this size is chunked in blocks of supplying regions.
REGION_BLOCK_BYTES = 256 * 2**20


def _encoding(ds: xr.Dataset, chunks: Mapping[str, tuple[int, ...]] | None = None) -> dict:
    from brgvc.readers.common import chunk_encoding

    n = ds.sizes["region"] * ds.sizes["sector"]
    if chunks is None and n * n * 8 > REGION_BLOCK_BYTES:
        chunks = {}  # let chunk_encoding pick region blocks for this size
    if chunks is not None:
        enc = chunk_encoding(ds, chunks or None, target_bytes=REGION_BLOCK_BYTES)
    else:
        enc = {name: {"chunks": (1, *ds[name].shape[1:])} for name in RAW_VARS if name in ds}
    enc[DONE] = {"chunks": (ds.sizes["year"],)}
    return enc


def _store_attrs(ds: xr.Dataset) -> dict:
    attrs = {}
    for k, v in ds.attrs.items():
        if k == "gross_output":
            continue
        attrs[k] = v if isinstance(v, str | int | float | bool) else json.dumps(v)
    return attrs


def _mark_done(done_arr: zarr.Array, i: int) -> None:
    done_arr[i] = True


def _check_labels(existing: xr.Dataset, ds: xr.Dataset, store: Path) -> None:
    for dim in ("year", "region", "sector", "fd"):
        a = [str(v) for v in existing[dim].values]
        b = [str(v) for v in ds[dim].values]
        if a != b:
            raise MRIOError(
                f"{store}: existing cube store has other {dim} labels "
                f"({a[:3]}… vs {b[:3]}…); write to a new store"
            )
    if existing.attrs.get("source") != ds.attrs.get("source"):
        raise MRIOError(
            f"{store}: existing cube store holds {existing.attrs.get('source')!r}, "
            f"not {ds.attrs.get('source')!r}"
        )


def staging_path(store: str | Path) -> Path:
    """The folder an unfinished ingest writes to before it is renamed to ``store``."""
    store = Path(store)
    return store.with_name(store.name + ".incomplete")


def write_cube(
    ds: xr.Dataset,
    store: str | Path,
    *,
    progress: Callable[[int, int, int], None] | None = None,
    check_balance: bool = True,
    chunks: Mapping[str, tuple[int, ...]] | None = None,
) -> list[int]:
    """Write a (lazy) cube to a zarr v3 store, one year at a time, resumably.

    A new store is built in ``STORE.incomplete`` and renamed to ``STORE`` only when every
    year is written, so a reader never finds a partial store at ``STORE``. Inside it, each
    year's data is written before its ``year_done`` flag, so running the same ingest again
    after an interruption writes only the years not yet flagged.

    Parameters
    ----------
    ds : xarray.Dataset
        Canonical cube, typically lazy from :func:`brgvc.readers.open_mrio`.
    store : str or Path
        Target folder.
    progress : callable, optional
        Called as ``progress(done, total, year)`` after each year.
    check_balance : bool
        Validate each year with the database's own output and emit one
        :class:`~brgvc.schema.MRIOBalanceWarning` per year naming the worst cells.
    chunks : mapping, optional
        Chunk shape per variable, e.g. ``{"Z": (1, b, N, G, N), "Y": (1, b, N, G, F)}`` for
        blocks of ``b`` supplying regions. Default: one chunk per year, or region blocks of at
        most 256 MiB when one year of Z is larger (EXIOBASE-size tables).

    Returns
    -------
    list of int
        The years written by this call (empty if the store was already complete).

    Raises
    ------
    MRIOError
        If the store exists with other labels, years or source, or a year cannot be read.
    brgvc.storage.StoreDamagedError
        If the existing store or its staging folder is damaged (the file is named).
    brgvc.storage.ForeignFolderError
        If ``store`` is an existing folder that is not a brgvc cube store.
    brgvc.storage.StoreLockedError
        If another ingest is writing the same store.
    """
    store = Path(store)
    if "emptied" in ds:
        raise MRIOError(
            "write_cube stores the database's own numbers: open it with "
            "gross_output='published' (the balanced convention is applied when reading)"
        )
    raw = ds[[v for v in RAW_VARS if v in ds]]
    raw.attrs = _store_attrs(ds)
    # One ingest per store at a time (the lock sits next to the store, and is removed after).
    with storage.RunLock(store.parent, "ingest", name=f".{store.name}.brgvc-lock"):
        return _write_cube(raw, store, progress, check_balance, chunks)


def _write_cube(
    raw: xr.Dataset,
    store: Path,
    progress: Callable[[int, int, int], None] | None,
    check_balance: bool,
    chunks: Mapping[str, tuple[int, ...]] | None,
) -> list[int]:
    years = [int(y) for y in raw["year"].values]
    units = [storage.Unit(f"year-{y}", f"year {y}", {"year": (i, i + 1)})
             for i, y in enumerate(years)]
    if (store / "zarr.json").exists():
        check = _verified(store)
        with xr.open_zarr(store, consolidated=False, zarr_format=3) as existing:
            _check_labels(existing, raw, store)
        if check.complete:
            return []
        work = store  # a store left by an in-place writer: finish it where it is
    else:
        if store.exists() and (not store.is_dir() or any(store.iterdir())):
            raise storage.ForeignFolderError(
                f"{store} exists and is not a brgvc cube store; brgvc writes a cube only into "
                "a new or empty folder: choose another store path")
        work = staging_path(store)
        if (work / "zarr.json").exists():
            _verified(work)
            with xr.open_zarr(work, consolidated=False, zarr_format=3) as existing:
                _check_labels(existing, raw, work)
        else:
            template = raw.copy()
            template[DONE] = ("year", np.zeros(len(years), dtype=bool))

            def _init_flags(folder: Path) -> None:
                # Written eagerly so that a reader sees "not done" from the start.
                zarr.open_array(folder / DONE, mode="r+")[:] = False

            storage.create_template(work, template, _encoding(template, chunks), kind="cube",
                                    units=units, done_var=DONE, staged=False,
                                    after=_init_flags)

    done_arr = zarr.open_array(work / DONE, mode="r+")
    done = storage.verify_store(work).done_mask((len(years),), ("year",))
    written = []
    for i, year in enumerate(years):
        if done[i]:
            continue
        one = raw.isel(year=slice(i, i + 1)).compute()
        if check_balance and "x_published" in one:
            _warn_balance(one, year)
        one = one.drop_vars([c for c in one.coords if c != "year"]).drop_vars("year")
        one.attrs = {}
        storage.forget_unit(work, units[i].name)
        storage.write_region(work, one, units[i].slices())
        storage.complete_unit(work, units[i], list(one.data_vars))
        _mark_done(done_arr, i)
        done[i] = True
        written.append(year)
        if progress is not None:
            progress(int(done.sum()), len(years), year)
    if work != store:
        os.replace(work, store)
    return written


def _verified(store: Path) -> storage.StoreCheck:
    check = storage.verify_store(store)
    if check.kind != "cube":
        raise MRIOError(f"{store} is a brgvc {check.kind} store, not a cube store")
    return check


def _warn_balance(one: xr.Dataset, year: int) -> None:
    from brgvc.schema import validate, warn_balance, with_gross_output

    report = validate(with_gross_output(one, "published"), spectral=False)
    warn_balance(report, f"{one.attrs.get('source', 'table')} {year}")


def open_cube(
    store: str | Path,
    years: Iterable[int] | None = None,
    gross_output: str = "balanced",
) -> xr.Dataset:
    """Open a cube store lazily, leaving out years whose writing did not finish.

    Parameters
    ----------
    store : str or Path
        A folder written by :func:`write_cube`.
    years : iterable of int, optional
        Years to select (default: every complete year).
    gross_output : {"balanced", "published"}
        Gross-output convention for ``x`` and ``va``.

    Returns
    -------
    xarray.Dataset
        The canonical cube with dask arrays, one chunk per year.

    Raises
    ------
    brgvc.storage.StoreDamagedError
        If a file of a complete year is missing or truncated (the file is named).
    MRIOError
        If ``store`` is not a cube store, or a requested year is not in it.
    """
    store = Path(store)
    if not (store / "zarr.json").exists():
        raise MRIOError(f"{store}: not a brgvc cube store (no zarr.json)")
    ds = xr.open_zarr(store, consolidated=False, zarr_format=3)
    # A year is done when its manifest is written and its flag set; the files of done years
    # must all be there with their recorded sizes (StoreDamagedError names the first not).
    done = _verified(store).done_mask((ds.sizes["year"],), ("year",))
    if not done.all():
        missing = [int(y) for y in ds["year"].values[~done]]
        warnings.warn(
            f"{store}: years {missing} were not completely written and are left out; "
            "run the ingest again to finish them",
            IncompleteStoreWarning,
            stacklevel=2,
        )
    ds = ds.isel(year=np.flatnonzero(done)).drop_vars(DONE)
    if years is not None:
        want = sorted({int(y) for y in years})
        have = [int(y) for y in ds["year"].values]
        missing = [y for y in want if y not in have]
        if missing:
            raise MRIOError(f"{store}: years {missing} not in the store (complete: {have})")
        ds = ds.sel(year=want)
    for k, v in list(ds.attrs.items()):
        if isinstance(v, str) and v[:1] in "{[":
            try:
                ds.attrs[k] = json.loads(v)
            except json.JSONDecodeError:
                pass
    for name in ("region", "sector", "region_to", "sector_to", "fd"):
        ds[name] = ds[name].astype(object)
    return with_gross_output(ds, gross_output)
