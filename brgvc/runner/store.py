"""The result store: a zarr v3 template laid out before any task runs, region writes, done-mask.

Layout of ``<out>/results.zarr``:

* one variable per measure output, dims ``(year, draw, *measure dims)``, float64, NaN where not
  yet computed, chunked ``(1, block, *whole measure dims)`` so that each (year, draw-block)
  task writes exactly its own chunks and no two tasks touch the same file;
* ``n_negative_va`` (int32), ``failed`` and ``network_failed`` (bool), dims ``(year, draw)``:
  draws whose rebalanced table has negative value added (count of sectors), draws whose
  (I − A) could not be factorised (their results stay NaN), and draws whose network summary
  refused the weight matrix (NaN weights, or negative flows under the ``negative: raise``
  policy; the default policy clips them and reports ``net_n_negative_edges`` and
  ``net_negative_mass`` instead; ``net_*`` NaN);
* ``done`` (bool, ``(year, draw)``, same chunks): written by a task *after* its results, so a
  true flag means the block is complete;
* attrs: the normalised job spec (JSON), its hash, the brgvc version, the input checksums (the
  cube's provenance), the data's attributes and the measure sources.

The store is written through :mod:`brgvc.storage` (the one zarr writer): the template and each
task's chunk files are listed with their sizes and SHA-256 in manifests under ``_brgvc/``, so
every open (:func:`read_state`, :func:`verify_results`) detects a missing or truncated chunk,
and ``verify_store(path, deep=True)`` an altered one. A block counts as done when its manifest
is written and its ``done`` flags are set.

Labels are object-dtype strings (stored as zarr ``VariableLengthUTF8``), metadata is not
consolidated, and nothing time-dependent is stored, so two runs of the same job give
byte-identical stores whatever the cluster, task order or interruptions.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from brgvc import storage
from brgvc.storage import StoreCheck, StoreError

__all__ = [
    "DONE",
    "FAILED",
    "NEG_VA",
    "NET_FAILED",
    "Layout",
    "RunnerError",
    "StoreState",
    "VarLayout",
    "clean_partial_writes",
    "create_store",
    "mark_done",
    "read_state",
    "units",
    "verify_results",
    "write_block",
]

DONE = "done"
NEG_VA = "n_negative_va"
FAILED = "failed"
NET_FAILED = "network_failed"
FLAG_VARS = (DONE, NEG_VA, FAILED, NET_FAILED)
ZARR_KW: dict[str, Any] = {"zarr_format": 3, "consolidated": False}


class RunnerError(RuntimeError):
    """A run cannot start or finish (store conflict, failed tasks, missing cluster support)."""


def _labels(values: Sequence[Any]) -> np.ndarray:
    vals = list(values)
    if vals and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in vals):
        return np.asarray(vals, dtype=np.int64)
    return np.array([str(v) for v in vals], dtype=object)


@dataclasses.dataclass(frozen=True)
class VarLayout:
    """One result variable: its own dims (after year and draw), shape and labels.

    Attributes
    ----------
    name : str
    dims : tuple of str
    shape : tuple of int
    coords : dict
        Dim -> labels (tuple), for the dims that have labels.
    """

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    coords: Mapping[str, tuple[Any, ...]]

    @classmethod
    def from_dataarray(cls, name: str, arr: xr.DataArray) -> VarLayout:
        """Learn a variable's layout from one (year, draw) result."""
        coords = {d: tuple(v.item() if hasattr(v, "item") else v for v in arr[d].values)
                  for d in arr.dims if d in arr.coords}
        return cls(name, tuple(str(d) for d in arr.dims), tuple(arr.shape), coords)

    @property
    def nbytes(self) -> int:
        """Bytes of one (year, draw) of this variable."""
        return 8 * int(np.prod(self.shape, dtype=np.int64))

    def values(self, arr: xr.DataArray) -> np.ndarray:
        """The values of one result in this layout's dim order, after checking its labels.

        Raises
        ------
        RunnerError
            If the dims, shape or labels differ from the layout (the measure's output is not
            the same for every year and draw).
        """
        if set(arr.dims) != set(self.dims):
            raise RunnerError(f"{self.name}: dims {arr.dims} differ from the layout {self.dims}")
        arr = arr.transpose(*self.dims)
        for d, labels in self.coords.items():
            got = tuple(v.item() if hasattr(v, "item") else v for v in arr[d].values)
            if tuple(map(str, got)) != tuple(map(str, labels)):
                raise RunnerError(f"{self.name}: labels of {d!r} differ from the layout")
        if tuple(arr.shape) != self.shape:
            raise RunnerError(f"{self.name}: shape {arr.shape} differs from {self.shape}")
        return np.asarray(arr.values, dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class Layout:
    """The whole result store: years, draws, blocks and variables.

    Attributes
    ----------
    years : tuple of int
    n_draws : int
        Draws including the base (draw 0).
    block : int
        Draws per task (the chunk length along ``draw``).
    variables : tuple of VarLayout
    """

    years: tuple[int, ...]
    n_draws: int
    block: int
    variables: tuple[VarLayout, ...]

    def var(self, name: str) -> VarLayout:
        """The layout of one variable."""
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        """Names of the result variables."""
        return [v.name for v in self.variables]

    @property
    def bytes_per_draw(self) -> int:
        """Bytes of every variable for one (year, draw)."""
        return sum(v.nbytes for v in self.variables)

    def signature(self) -> dict[str, Any]:
        """A JSON-able description to compare layouts on resume."""
        return {
            "years": list(self.years),
            "n_draws": self.n_draws,
            "block": self.block,
            "variables": {v.name: {"dims": list(v.dims), "shape": list(v.shape)}
                          for v in self.variables},
        }

    def template(self, attrs: Mapping[str, Any]) -> xr.Dataset:
        """The lazy template dataset (nothing but metadata and labels is written from it)."""
        ny, nd, b = len(self.years), self.n_draws, self.block
        data: dict[str, Any] = {}
        coords: dict[str, Any] = {
            "year": np.asarray(self.years, dtype=np.int64),
            "draw": np.arange(nd, dtype=np.int64),
        }
        for v in self.variables:
            data[v.name] = (
                ("year", "draw", *v.dims),
                da.full((ny, nd, *v.shape), np.nan, chunks=(1, b, *v.shape)),
            )
            for d, labels in v.coords.items():
                lab = _labels(labels)
                if d in coords and list(map(str, coords[d])) != list(map(str, lab)):
                    raise RunnerError(f"dimension {d!r} has different labels in two variables")
                coords[d] = lab
        data[NEG_VA] = (("year", "draw"), da.zeros((ny, nd), dtype=np.int32, chunks=(1, b)))
        data[FAILED] = (("year", "draw"), da.zeros((ny, nd), dtype=bool, chunks=(1, b)))
        data[NET_FAILED] = (("year", "draw"), da.zeros((ny, nd), dtype=bool, chunks=(1, b)))
        data[DONE] = (("year", "draw"), da.zeros((ny, nd), dtype=bool, chunks=(1, b)))
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update(attrs)
        return ds

    def encoding(self) -> dict[str, dict[str, Any]]:
        """Zarr chunking: one chunk per (year, draw-block), whole measure dims."""
        enc = {v.name: {"chunks": (1, self.block, *v.shape)} for v in self.variables}
        for name in FLAG_VARS:
            enc[name] = {"chunks": (1, self.block)}
        return enc


@dataclasses.dataclass
class StoreState:
    """What an existing result store holds.

    Attributes
    ----------
    path : pathlib.Path
    attrs : dict
    done : ndarray of bool, shape (years, draws)
    """

    path: Path
    attrs: dict[str, Any]
    done: np.ndarray

    def block_done(self, year_index: int, start: int, stop: int) -> bool:
        """True if every draw of the block is marked done."""
        return bool(self.done[year_index, start:stop].all())


def units(layout: Layout) -> list[storage.Unit]:
    """The store's units of work: one per (year, draw-block) task, in task order."""
    out = []
    for yi, year in enumerate(layout.years):
        for start in range(0, layout.n_draws, layout.block):
            stop = min(start + layout.block, layout.n_draws)
            out.append(storage.Unit(f"y{yi:04d}-d{start:06d}-{stop:06d}",
                                    f"year {year}, " + (f"draws {start}-{stop - 1}"
                                                        if stop - start > 1 else f"draw {start}"),
                                    {"year": (yi, yi + 1), "draw": (start, stop)}))
    return out


def _unit(year_index: int, start: int, stop: int) -> storage.Unit:
    return storage.Unit(f"y{year_index:04d}-d{start:06d}-{stop:06d}", "",
                        {"year": (year_index, year_index + 1), "draw": (start, stop)})


def create_store(path: Path, layout: Layout, attrs: Mapping[str, Any]) -> None:
    """Write the template (metadata and labels only) and its manifest atomically.

    The template is written to a sibling folder and renamed into place, so an interrupted
    call leaves either no store or a complete template.
    """
    storage.create_template(path, layout.template(attrs), layout.encoding(), kind="results",
                            units=units(layout), done_var=DONE)


def verify_results(
    path: Path, *, deep: bool = False, allow_partial: bool = True
) -> StoreCheck:
    """Check a result store (see :func:`brgvc.storage.verify_store`).

    Parameters
    ----------
    path : Path
        The result store (``<out>/results.zarr``).
    deep : bool
        Also compare every file's SHA-256.
    allow_partial : bool
        False: raise :class:`~brgvc.storage.IncompleteStoreError` naming how many tasks are
        not done (a run that was interrupted).

    Returns
    -------
    brgvc.storage.StoreCheck

    Raises
    ------
    brgvc.storage.StoreDamagedError
        Naming the store, variable and chunk file.
    """
    check = storage.verify_store(path, deep=deep)
    if check.kind != "results":
        raise StoreError(f"{path} is a brgvc {check.kind} store, not a result store")
    return check if allow_partial else check.require_complete("tasks")


def read_state(path: Path) -> StoreState | None:
    """Check a result store and read its attrs and done-mask; None if there is none.

    A draw is done when its block's manifest is written and its ``done`` flag is set.

    Raises
    ------
    RunnerError
        If ``path`` is something else than a result store.
    brgvc.storage.StoreDamagedError
        If a file of the store is missing or truncated (named).
    """
    path = Path(path)
    if not (path / "zarr.json").exists():
        if path.exists() and any(path.iterdir()):
            raise RunnerError(
                f"{path} exists and is not a brgvc result store; choose another --out"
            )
        return None
    try:
        group = zarr.open_group(path, mode="r", zarr_format=3)
        attrs = dict(group.attrs)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        raise RunnerError(f"{path} is not a brgvc result store ({exc})") from None
    if "brgvc_job_hash" not in attrs:
        raise RunnerError(f"{path} is a zarr store but not a brgvc result store")
    check = verify_results(path)
    sig = json.loads(attrs.get("brgvc_layout", "{}"))
    shape = (len(sig.get("years", [])), int(sig.get("n_draws", 0)))
    return StoreState(path, attrs, check.done_mask(shape, ("year", "draw")))


def write_block(
    path: Path,
    year_index: int,
    start: int,
    stop: int,
    values: Mapping[str, tuple[tuple[str, ...], np.ndarray]],
) -> None:
    """Write one task's results into its region.

    Parameters
    ----------
    path : Path
        The result store.
    year_index : int
        Position of the year.
    start, stop : int
        The block's draws.
    values : mapping
        Variable name -> (dims, array shaped (1, stop − start, ...)).
    """
    # A block written again (resume, retry) is not done until its new manifest is written.
    storage.forget_unit(path, _unit(year_index, start, stop).name)
    storage.write_region(path, xr.Dataset(dict(values)),
                         {"year": slice(year_index, year_index + 1), "draw": slice(start, stop)})


def mark_done(path: Path, year_index: int, start: int, stop: int) -> None:
    """Record the block's chunk files in its manifest, then flag it done: a task's last writes."""
    names = [p.parent.name for p in Path(path).glob("*/zarr.json")]
    meta_dims = {n: json.loads((Path(path) / n / "zarr.json").read_text()).get(
        "dimension_names") or [] for n in names}
    data_vars = sorted(n for n, dims in meta_dims.items()
                       if dims[:2] == ["year", "draw"] and n != DONE)
    storage.complete_unit(path, _unit(year_index, start, stop), data_vars)
    flags = xr.Dataset({DONE: (("year", "draw"), np.ones((1, stop - start), dtype=bool))})
    storage.write_region(path, flags, {"year": slice(year_index, year_index + 1),
                                       "draw": slice(start, stop)})


def clean_partial_writes(path: Path) -> int:
    """Remove zarr's temporary chunk files left by killed writes; return their number."""
    return storage.remove_partial_files(path)


def store_attrs(
    job_json: str,
    job_hash: str,
    version: str,
    provenance: Mapping[str, str],
    data_attrs: Mapping[str, Any],
    layout: Layout,
    measure_sources: Mapping[str, str],
    code_hash: str = "",
) -> dict[str, Any]:
    """The attributes of a new result store (JSON strings, nothing time-dependent)."""
    return {
        "brgvc_code_hash": code_hash,
        "title": "brgvc result store",
        "brgvc_version": version,
        "brgvc_job": job_json,
        "brgvc_job_hash": job_hash,
        "brgvc_input_checksums": json.dumps(dict(provenance), sort_keys=True),
        "brgvc_data": json.dumps(dict(data_attrs), sort_keys=True, default=str),
        "brgvc_layout": json.dumps(layout.signature(), sort_keys=True),
        "brgvc_measure_sources": json.dumps(dict(measure_sources), sort_keys=True),
        "draw_0": "the unperturbed base run",
    }
