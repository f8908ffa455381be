"""The one zarr v3 writer of brgvc: staged stores, region writes, manifests, checks, locks.

Both stores (the cube store of :mod:`brgvc.readers.store` and the result store of
:mod:`brgvc.runner.store`) are written through this module, so they share one notion of a
*finished unit* and one way to prove that a store is intact:

* a store is created from a template (metadata and labels only) in a staging folder, with a
  **store manifest** ``_brgvc/store.json`` that lists every template file (size, SHA-256),
  the store's units of work (a cube's years, a run's (year, draw-block) tasks) and its
  done-flag variable, and is then renamed into place;
* a unit writes its chunks (:func:`write_region`), then its **unit manifest**
  ``_brgvc/units/<unit>.json`` (every chunk file of its region: size and SHA-256, written
  atomically), and only then its done flag. A unit counts as done when both exist, so a
  killed writer leaves at worst a unit that is recomputed;
* :func:`verify_store` checks, on every open, that every file a manifest lists exists with
  its recorded size (cheap: one ``stat`` per file), and with ``deep=True`` also its SHA-256;
  a damaged store raises :class:`StoreDamagedError` naming the store, the variable and the
  chunk file;
* :class:`RunLock` keeps two runs out of one folder, and :func:`claim_folder` refuses to
  write into a non-empty folder that brgvc did not create.

brgvc only ever deletes what it wrote: the staging folder of a template it is creating (a
fresh, uniquely named sibling), zarr's own ``*.partial`` temporary files inside a store it
verified, and its own lock file.

This is a shared leaf: it imports nothing from brgvc.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import math
import os
import shutil
import socket
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "LOCK_NAME",
    "MANIFEST",
    "OUTPUT_MARKER",
    "DamageRepairedWarning",
    "ForeignFolderError",
    "IncompleteStoreError",
    "RunLock",
    "StaleLockWarning",
    "StoreCheck",
    "StoreDamagedError",
    "StoreError",
    "StoreLockedError",
    "Unit",
    "chunk_files",
    "claim_folder",
    "complete_unit",
    "create_template",
    "forget_unit",
    "is_brgvc_store",
    "locked",
    "remove_partial_files",
    "seal_store",
    "verify_store",
    "write_dataset",
    "write_region",
]

#: Folder of brgvc's own files inside a zarr store. It is an empty zarr group (its zarr.json
#: below), so that zarr and xarray, which list every entry of the store's root, accept it.
META_DIR = "_brgvc"
_META_GROUP = {"zarr_format": 3, "node_type": "group",
               "attributes": {"brgvc": "integrity manifests of this store (brgvc.storage)"}}
#: The store manifest, relative to the store.
MANIFEST = f"{META_DIR}/store.json"
UNITS_DIR = f"{META_DIR}/units"
#: Marks an output folder that brgvc created (or found empty) and may write into.
OUTPUT_MARKER = ".brgvc-output.json"
#: The run lock inside an output folder.
LOCK_NAME = ".brgvc-run.lock"
FORMAT = "brgvc-store/1"
ZARR_KW: dict[str, Any] = {"zarr_format": 3, "consolidated": False}


class StoreError(RuntimeError):
    """A store cannot be used: damaged, incomplete, locked, or not brgvc's."""


class StoreDamagedError(StoreError):
    """A file of a brgvc store is missing, truncated or altered.

    Attributes
    ----------
    store : pathlib.Path
    variable : str
        The zarr variable the file belongs to (or ``_brgvc`` for a manifest).
    file : pathlib.Path
        The damaged file.
    problem : str
        ``"missing"``, ``"size"`` or ``"checksum"``.
    """

    def __init__(self, store: Path, variable: str, file: Path, problem: str, detail: str,
                 repairable: bool = True):
        self.store, self.variable, self.file, self.problem = store, variable, file, problem
        hint = ("run `brgvc verify STORE --repair` (verify_store(..., repair=True)), then the "
                "job or ingest again, to recompute it" if repairable else
                "its layout or labels are lost: write the store again into a new folder")
        super().__init__(
            f"{store} is damaged: variable {variable!r}, chunk file {file} {detail}; {hint}")


class IncompleteStoreError(StoreError):
    """A store's writing did not finish (units not done), and the caller needs all of it."""


class StoreLockedError(StoreError):
    """Another brgvc process holds the run lock of a folder."""


class ForeignFolderError(StoreError):
    """A folder exists, is not empty and was not created by brgvc."""


class DamageRepairedWarning(UserWarning):
    """``verify_store(repair=True)`` marked a damaged unit for recomputation."""


class StaleLockWarning(UserWarning):
    """A lock left by a dead process on this host was taken over."""


# ------------------------------------------------------------------------------ small helpers


def _write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON so that a reader sees the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    # Sorted keys and no timestamps: two runs of the same job write the same bytes.
    tmp.write_text(json.dumps(obj, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_manifest(store: Path, rel: str) -> dict[str, Any]:
    path = store / rel
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreDamagedError(store, META_DIR, path, "missing", "is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreDamagedError(store, META_DIR, path, "checksum",
                                f"is not valid JSON ({exc})") from None


def _variable_of(key: str) -> str:
    """The zarr variable of a file key such as ``vby/c/0/0/0/0`` (``/`` for the group)."""
    head = key.split("/", 1)[0]
    return "/" if head == "zarr.json" else head


def is_brgvc_store(path: str | Path) -> bool:
    """True if ``path`` holds a store manifest written by this module."""
    return (Path(path) / MANIFEST).is_file()


# ------------------------------------------------------------------------------ writing


@dataclasses.dataclass(frozen=True)
class Unit:
    """One unit of work of a store: a region written and completed as a whole.

    Attributes
    ----------
    name : str
        File-name-safe identifier (the unit manifest is ``_brgvc/units/<name>.json``).
    label : str
        Human-readable, used in messages (e.g. ``"year 2010, draws 0-4"``).
    region : dict
        Dim -> ``(start, stop)`` indices.
    """

    name: str
    label: str
    region: Mapping[str, tuple[int, int]]

    def slices(self) -> dict[str, slice]:
        """The region as slices, for :func:`write_region`."""
        return {d: slice(a, b) for d, (a, b) in self.region.items()}


def chunk_files(store: str | Path, variable: str, region: Mapping[str, tuple[int, int]]
                ) -> list[str]:
    """Keys (paths relative to the store) of the chunk files of ``variable`` in ``region``.

    Computed from the array's ``zarr.json`` (shape, regular chunk grid, chunk key encoding),
    whether or not the files exist; dims not in ``region`` are taken whole.
    """
    meta = json.loads((Path(store) / variable / "zarr.json").read_text(encoding="utf-8"))
    shape = meta["shape"]
    chunks = meta["chunk_grid"]["configuration"]["chunk_shape"]
    dims = meta.get("dimension_names") or [None] * len(shape)
    enc = meta.get("chunk_key_encoding", {"name": "default"})
    sep = enc.get("configuration", {}).get("separator", "/" if enc["name"] == "default" else ".")
    ranges = []
    for dim, n, c in zip(dims, shape, chunks, strict=True):
        a, b = region.get(dim, (0, n)) if dim is not None else (0, n)
        ranges.append(range(a // c, math.ceil(b / c)) if b > a else range(0))
    keys = []
    for idx in np.ndindex(*[len(r) for r in ranges]) if ranges else [()]:
        parts = [str(r[i]) for r, i in zip(ranges, idx, strict=True)]
        if enc["name"] == "default":
            key = sep.join(["c", *parts])
        else:
            key = sep.join(parts) if parts else "0"
        keys.append(f"{variable}/{key}")
    return keys


def create_template(
    path: str | Path,
    template: Any,
    encoding: Mapping[str, Any],
    *,
    kind: str,
    units: Sequence[Unit],
    done_var: str,
    staged: bool = True,
    after: Any = None,
) -> None:
    """Write a store's template (metadata and labels, no data) with its store manifest.

    Parameters
    ----------
    path : str or Path
        The store to create. It must not exist, or be an empty folder.
    template : xarray.Dataset
        Lazy template; nothing but metadata and coordinates is written.
    encoding : mapping
        Zarr encoding (chunks) per variable.
    kind : str
        ``"cube"`` or ``"results"`` (recorded in the manifest).
    units : sequence of Unit
        The store's units of work.
    done_var : str
        The boolean variable whose flags mark a unit done (written last by each unit).
    staged : bool
        Write into a fresh sibling folder and rename it into place (default), so an
        interrupted call leaves no store at ``path``; False writes at ``path`` directly
        (the caller's own staging folder).
    after : callable, optional
        Called with the folder after the template is written and before the manifest
        (e.g. to initialise flags eagerly).

    Raises
    ------
    ForeignFolderError
        If ``path`` exists and is not empty.
    """
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ForeignFolderError(f"{path} exists and is not empty; brgvc writes a new store "
                                 "only into a new or empty folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    work = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp") if staged else path
    try:
        template.to_zarr(work, mode="w-" if staged else "a", compute=False,
                         encoding=dict(encoding), **ZARR_KW)
        if after is not None:
            after(work)
        files = {}
        for p in sorted(work.rglob("*")):
            if p.is_file():
                key = p.relative_to(work).as_posix()
                files[key] = [p.stat().st_size, _sha256(p)]
        names = [u.name for u in units]
        if len(set(names)) != len(names):
            raise ValueError("unit names must be unique")
        _write_json_atomic(work / META_DIR / "zarr.json", _META_GROUP)
        _write_json_atomic(work / MANIFEST, {
            "format": FORMAT,
            "kind": kind,
            "done_var": done_var,
            "units": {u.name: {"label": u.label, "region": {d: list(r) for d, r in
                                                            u.region.items()}} for u in units},
            "files": files,
        })
        if staged:
            os.rename(work, path)
    finally:
        if staged and work.exists():
            shutil.rmtree(work, ignore_errors=True)  # our own, uniquely named staging folder


def _replaceable(path: Path) -> bool:
    """True if brgvc may delete ``path`` to write it again: absent, empty, or a brgvc store
    (a manifest, or a root zarr.json with brgvc attributes: a write killed before sealing)."""
    if not path.exists():
        return True
    if not path.is_dir():
        return False
    if is_brgvc_store(path) or not any(path.iterdir()):
        return True
    try:
        attrs = json.loads((path / "zarr.json").read_text(encoding="utf-8"))["attributes"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return "brgvc_job_hash" in attrs


def write_dataset(
    ds: Any,
    path: str | Path,
    *,
    encoding: Mapping[str, Any] | None = None,
    compute: bool = True,
    kind: str = "summary",
) -> Any:
    """Write a whole store in one go (e.g. ``summary.zarr``), replacing an earlier brgvc one.

    The existing ``path`` is deleted only when it is brgvc's (see :func:`seal_store`); a
    foreign folder raises :class:`ForeignFolderError` and is left as it is. With
    ``compute=True`` the store is sealed; with ``compute=False`` the caller computes the
    returned delayed write and then calls :func:`seal_store`.

    Returns
    -------
    dask.delayed.Delayed or None
        The delayed write when ``compute=False``.
    """
    path = Path(path)
    if not _replaceable(path):
        raise ForeignFolderError(f"{path} exists and was not written by brgvc; brgvc does not "
                                 "replace it: move it away or choose another --out")
    delayed = ds.to_zarr(path, mode="w", compute=compute, encoding=dict(encoding or {}),
                         **ZARR_KW)
    if compute:
        seal_store(path, kind)
        return None
    return delayed


def seal_store(path: str | Path, kind: str) -> None:
    """List every file of a store written in one go (e.g. ``summary.zarr``) in its manifest.

    For stores without units of work: after this, :func:`verify_store` checks every file.
    """
    path = Path(path)
    files = {}
    for p in sorted(path.rglob("*")):
        key = p.relative_to(path).as_posix()
        if p.is_file() and not key.startswith(META_DIR):
            files[key] = [p.stat().st_size, _sha256(p)]
    _write_json_atomic(path / META_DIR / "zarr.json", _META_GROUP)
    _write_json_atomic(path / MANIFEST, {"format": FORMAT, "kind": kind, "done_var": None,
                                         "units": {}, "files": files})


def write_region(store: str | Path, ds: Any, region: Mapping[str, slice]) -> None:
    """Write a dataset (no coordinates) into a region of an existing store."""
    ds.to_zarr(store, region=dict(region), mode="r+", **ZARR_KW)


def forget_unit(store: str | Path, unit: str) -> None:
    """Remove a unit's manifest (before it is written again); no error if there is none."""
    with contextlib.suppress(FileNotFoundError):
        (Path(store) / UNITS_DIR / f"{unit}.json").unlink()


def complete_unit(store: str | Path, unit: Unit, variables: Iterable[str]) -> dict[str, Any]:
    """Record the chunk files of a unit's region (size, SHA-256) in its unit manifest.

    Call after the unit's data is written and before its done flag is set. Chunks that zarr
    did not write (every value the fill value) have no file and are not listed.

    Returns
    -------
    dict
        The manifest written.
    """
    store = Path(store)
    files: dict[str, list[Any]] = {}
    for var in variables:
        for key in chunk_files(store, var, unit.region):
            p = store / key
            try:
                files[key] = [p.stat().st_size, _sha256(p)]
            except FileNotFoundError:
                continue
    manifest = {"unit": unit.name, "label": unit.label,
                "region": {d: list(r) for d, r in unit.region.items()}, "files": files}
    _write_json_atomic(store / UNITS_DIR / f"{unit.name}.json", manifest)
    return manifest


# ------------------------------------------------------------------------------ checking


@dataclasses.dataclass
class StoreCheck:
    """What :func:`verify_store` found in an intact store.

    Attributes
    ----------
    path : pathlib.Path
    kind : str
    units : dict
        Unit name -> label, every unit of the store.
    done : list of str
        Units that are complete (manifest written and done flags set).
    files : int
        Files checked.
    nbytes : int
        Their total size.
    deep : bool
        Whether checksums were compared.
    seconds : float
    """

    path: Path
    kind: str
    units: dict[str, str]
    regions: dict[str, dict[str, tuple[int, int]]]
    done: list[str]
    files: int
    nbytes: int
    deep: bool
    seconds: float

    @property
    def missing(self) -> list[str]:
        """Units not done, in store order."""
        done = set(self.done)
        return [u for u in self.units if u not in done]

    @property
    def complete(self) -> bool:
        """True when every unit is done."""
        return not self.missing

    def require_complete(self, what: str = "tasks") -> StoreCheck:
        """Raise :class:`IncompleteStoreError` unless every unit is done.

        The message names how many units are missing and the first few of them.
        """
        miss = self.missing
        if miss:
            first = ", ".join(self.units[u] for u in miss[:3]) + (", ..." if len(miss) > 3
                                                                  else "")
            raise IncompleteStoreError(
                f"{self.path}: {len(miss)} of {len(self.units)} {what} are not done ({first}); "
                "the run was interrupted: run the job again to finish it, or allow a partial "
                "store (allow_partial=True, --allow-partial)"
            )
        return self

    def done_mask(self, shape: Sequence[int], dims: Sequence[str]) -> np.ndarray:
        """Boolean array over ``dims``: True inside the regions of done units."""
        mask = np.zeros(tuple(shape), dtype=bool)
        for u in self.done:
            reg = self.regions[u]
            mask[tuple(slice(*reg[d]) if d in reg else slice(None) for d in dims)] = True
        return mask

    def __str__(self) -> str:
        state = "complete" if self.complete else f"{len(self.missing)} units not done"
        how = "sizes and SHA-256" if self.deep else "sizes"
        return (f"{self.path}: intact brgvc {self.kind} store ({how} of {self.files} files, "
                f"{self.nbytes / 1e6:.1f} MB, checked in {self.seconds:.2f} s); "
                f"{len(self.done)}/{len(self.units)} units done, {state}")


def _check_file(store: Path, key: str, size: int, digest: str, deep: bool,
                template: bool = False) -> int:
    p = store / key
    try:
        got = p.stat().st_size
    except FileNotFoundError:
        raise StoreDamagedError(store, _variable_of(key), p, "missing", "is missing",
                                not template) from None
    if got != size:
        raise StoreDamagedError(store, _variable_of(key), p, "size",
                                f"has {got} bytes, {size} were written (truncated or altered)",
                                not template)
    if deep and _sha256(p) != digest:
        raise StoreDamagedError(store, _variable_of(key), p, "checksum",
                                "does not match its SHA-256 (altered since it was written)",
                                not template)
    return got


def _done_flags(store: Path, done_var: str, regions: Iterable[Mapping[str, tuple[int, int]]]
                ) -> tuple[np.ndarray, list[str]]:
    import zarr

    try:
        arr = zarr.open_array(store / done_var, mode="r", zarr_format=3)
    except Exception as exc:  # its zarr.json is in the store manifest: checked already
        raise StoreDamagedError(store, done_var, store / done_var / "zarr.json", "checksum",
                                f"cannot be read ({type(exc).__name__})") from None
    dims = list(arr.metadata.dimension_names or ())
    try:
        return np.asarray(arr[...], dtype=bool), dims
    except Exception as exc:
        # A damaged flag chunk: read region by region to name its file.
        for reg in regions:
            try:
                idx = tuple(slice(*reg[d]) if d in reg else slice(None) for d in dims)
                arr[idx]
            except Exception:
                key = chunk_files(store, done_var, reg)[0]
                raise StoreDamagedError(store, done_var, store / key, "checksum",
                                        f"cannot be read ({type(exc).__name__})") from None
        raise StoreDamagedError(store, done_var, store / done_var, "checksum",
                                f"cannot be read ({type(exc).__name__}: {exc})") from None


def _resolve(path: str | Path) -> Path:
    store = Path(path)
    if not (store / "zarr.json").is_file() and (store / OUTPUT_MARKER).is_file():
        store = store / "results.zarr"  # a run's output folder: its result store
    return store


def verify_store(path: str | Path, *, deep: bool = False, repair: bool = False) -> StoreCheck:
    """Check that a brgvc store is intact, and find which of its units are done.

    Every file listed in the store manifest (the template) and in the manifest of every
    done unit must exist with the size recorded when it was written; with ``deep=True`` its
    SHA-256 must match too. A unit is done when its manifest exists and its done flags are
    set; the files of units not done are not checked (a re-run rewrites them).

    Parameters
    ----------
    path : str or Path
        A cube store, a result store, or a run's output folder (its ``results.zarr``).
    deep : bool
        Also hash every file (reads the whole store); default: sizes only (one ``stat`` per
        file, cheap enough for every open).
    repair : bool
        Instead of raising for a damaged file of a done unit, delete that unit's manifest (a
        file brgvc wrote; nothing else is deleted), so that running the job or the ingest
        again recomputes the unit. Damage to the template cannot be repaired and raises.

    Returns
    -------
    StoreCheck

    Raises
    ------
    StoreError
        If ``path`` is not a brgvc store (no zarr.json, or no manifest).
    StoreDamagedError
        Naming the store, the variable and the first damaged file.
    """
    t0 = time.perf_counter()
    store = _resolve(path)
    if not (store / "zarr.json").is_file():
        raise StoreError(f"{store}: not a zarr store (no zarr.json)")
    if not (store / MANIFEST).is_file():
        if (store / META_DIR).exists():
            raise StoreDamagedError(store, META_DIR, store / MANIFEST, "missing", "is missing")
        raise StoreError(f"{store}: not a brgvc store, or written by a brgvc without store "
                         f"manifests (no {MANIFEST}); write it again")
    meta = _read_manifest(store, MANIFEST)
    if meta.get("format") != FORMAT:
        raise StoreError(f"{store}: store manifest format {meta.get('format')!r}, "
                         f"this brgvc reads {FORMAT!r}")
    n = nbytes = 0
    for key, (size, digest) in sorted(meta["files"].items()):
        nbytes += _check_file(store, key, size, digest, deep, template=True)
        n += 1
    units = {name: u["label"] for name, u in meta["units"].items()}
    regions = {name: {d: (int(r[0]), int(r[1])) for d, r in u["region"].items()}
               for name, u in meta["units"].items()}
    if meta["done_var"] is None:  # a sealed store: no units, every file listed above
        return StoreCheck(store, str(meta["kind"]), {}, {}, [], n, nbytes, deep,
                          time.perf_counter() - t0)
    flags, dims = _done_flags(store, meta["done_var"], regions.values())
    done = []
    units_dir = store / UNITS_DIR
    present = {p.stem for p in units_dir.glob("*.json")} if units_dir.is_dir() else set()
    for name in units:
        reg = regions[name]
        idx = tuple(slice(*reg[d]) if d in reg else slice(None) for d in dims)
        if name not in present or not bool(flags[idx].all()):
            continue  # not done: a re-run writes it again
        try:
            unit = _read_manifest(store, f"{UNITS_DIR}/{name}.json")
            got = [_check_file(store, key, size, digest, deep)
                   for key, (size, digest) in sorted(unit["files"].items())]
        except StoreDamagedError as exc:
            if not repair:
                raise
            warnings.warn(f"{exc.file} {exc.problem}: {units[name]} will be recomputed",
                          DamageRepairedWarning, stacklevel=2)
            forget_unit(store, name)
            continue
        nbytes += sum(got)
        n += len(got)
        done.append(name)
    return StoreCheck(store, str(meta["kind"]), units, regions, done, n, nbytes, deep,
                      time.perf_counter() - t0)


# ------------------------------------------------------------------------------ folders, locks


def claim_folder(folder: str | Path, *, create: bool = True) -> Path:
    """Make sure brgvc may write into ``folder``; create it (and its marker) if needed.

    A folder is brgvc's when it holds :data:`OUTPUT_MARKER`, or when it is new or empty (it
    is then marked). brgvc never writes into, nor deletes from, any other existing folder.

    Parameters
    ----------
    folder : str or Path
    create : bool
        False only checks (``brgvc plan``): nothing is written.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ForeignFolderError
        If ``folder`` is a file, or a non-empty folder without the marker.
    """
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise ForeignFolderError(f"{folder} is a file, not an output folder")
        if not (folder / OUTPUT_MARKER).is_file():
            # Our own lock and marker files (a run claiming it at this moment) do not count.
            foreign = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".brgvc"))
            if foreign:
                shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
                if "results.zarr" in foreign and _replaceable(folder / "results.zarr"):
                    raise ForeignFolderError(
                        f"{folder} holds results of a brgvc without store manifests, whose "
                        "integrity cannot be checked: run the job again into a new --out")
                raise ForeignFolderError(
                    f"{folder} is not empty ({shown}) and was not created by brgvc (no "
                    f"{OUTPUT_MARKER}); brgvc writes only into a new or empty folder, or one it "
                    "created: choose another --out"
                )
    if create and not (folder / OUTPUT_MARKER).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(folder / OUTPUT_MARKER, {"created_by": "brgvc",
                                                   "content": "brgvc run output"})
    return folder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:  # a killed child not yet reaped by its parent (a zombie) still answers kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class RunLock:
    """An exclusive lock on a folder, held by one process: ``with RunLock(out): ...``.

    The lock file (:data:`LOCK_NAME`) holds the pid, host and start time of its holder and
    is created atomically (a hard link of a complete file), so a second run sees either no
    lock or the whole holder. A lock whose holder is a dead process on this host is taken
    over with a :class:`StaleLockWarning`; a lock held from another host is never broken.

    Parameters
    ----------
    folder : str or Path
        The folder to lock (created if needed).
    what : str
        Used in messages ("run", "ingest").
    """

    def __init__(self, folder: str | Path, what: str = "run", name: str = LOCK_NAME) -> None:
        self.folder = Path(folder)
        self.path = self.folder / name
        self.what = what
        self.info = {"pid": os.getpid(), "host": socket.gethostname(),
                     "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
        self.held = False

    def _holder(self) -> dict[str, Any] | None:
        for _ in range(20):
            try:
                return json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return None
            except (json.JSONDecodeError, UnicodeDecodeError):
                time.sleep(0.05)  # a lock written by an older brgvc or by hand
        return {}

    def acquire(self) -> RunLock:
        """Take the lock.

        Raises
        ------
        StoreLockedError
            One line naming the holder (pid, host, start time) and the lock file.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".brgvc-lock.{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps(self.info) + "\n", encoding="utf-8")
        try:
            for _ in range(3):
                try:
                    os.link(tmp, self.path)
                    self.held = True
                    return self
                except FileExistsError:
                    pass
                holder = self._holder()
                if holder is None:
                    continue  # released meanwhile
                pid, host = holder.get("pid"), holder.get("host")
                if host == self.info["host"] and isinstance(pid, int) and not _pid_alive(pid):
                    warnings.warn(
                        f"{self.path}: taking over the lock of a {self.what} that is gone "
                        f"(pid {pid} on {host}, started {holder.get('started', '?')})",
                        StaleLockWarning, stacklevel=3)
                    # Replace only the stale file we read, not a lock taken meanwhile.
                    stale = self.folder / f".brgvc-lock.{uuid.uuid4().hex}.stale"
                    try:
                        os.rename(self.path, stale)
                    except FileNotFoundError:
                        continue
                    if json.loads(stale.read_text(encoding="utf-8") or "{}") == holder:
                        stale.unlink()
                    else:  # someone else's fresh lock: put it back and stop
                        os.rename(stale, self.path)
                        holder = self._holder() or holder
                    continue
                raise StoreLockedError(
                    f"{self.folder} is in use by another brgvc {self.what} (pid "
                    f"{pid if pid is not None else '?'} on {host or '?'}, started "
                    f"{holder.get('started', '?')}); wait for it to finish, or delete "
                    f"{self.path} if that process is gone"
                )
            raise StoreLockedError(f"{self.folder}: could not take the lock {self.path}")
        finally:
            tmp.unlink(missing_ok=True)

    def release(self) -> None:
        """Release the lock (only if this object holds it)."""
        if not self.held:
            return
        self.held = False
        holder = self._holder()
        if holder is not None and holder.get("pid") == self.info["pid"] \
                and holder.get("started") == self.info["started"]:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def locked(folder: str | Path, what: str = "run") -> Iterator[RunLock]:
    """Context manager form of :class:`RunLock`."""
    lock = RunLock(folder, what).acquire()
    try:
        yield lock
    finally:
        lock.release()


def remove_partial_files(store: str | Path) -> int:
    """Remove zarr's temporary ``*.partial`` files left by killed writes in a brgvc store.

    Returns
    -------
    int
        The number removed (0 if ``store`` is not a brgvc store: nothing is touched).
    """
    store = Path(store)
    if not is_brgvc_store(store):
        return 0
    n = 0
    for p in store.rglob("*.partial"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            n += 1
    return n
