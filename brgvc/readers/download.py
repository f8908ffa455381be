"""Download the openly published MRIO databases into a folder that ``brgvc ingest`` reads.

``download(FORMAT, years, dest)`` fetches the publisher's archives for the requested years,
resumes a partial ``*.part`` file with an HTTP ``Range`` request, checks each archive against
the checksum the publisher gives (Zenodo's MD5 for EXIOBASE) or, where none is published,
records the SHA-256 of what was downloaded in ``<dest>/brgvc-download.json`` and checks it on
every later run. Archives that hold several years in one file (OECD ICIO year blocks, the
WIOD 2016 release zip) have the requested years' tables extracted next to them, named as the
reader expects, so that ``brgvc ingest FORMAT DEST`` works on the folder straight away.

Sources (``docs/download.md`` lists them with their licences):

============  ===========================================================================
format        where the files come from
============  ===========================================================================
exiobase3     Zenodo record 15689391 (EXIOBASE 3, CC BY-SA 4.0): ``IOT_YYYY_ixi.zip``,
              ``IOT_YYYY_pxp.zip``; MD5 and size from the record's metadata
oecd_icio     OECD ICIO 2023 edition (OECD terms), five year-block zips on stats.oecd.org
wiod2016      WIOD 2016 release (CC BY 4.0) on dataverse.nl: ``WIOTS_in_EXCEL.zip``
figaro        Eurostat FIGARO 2026 edition (Eurostat reuse policy, CC BY 4.0) on CIRCABC:
              ``matrix_eu-ic-io_ind-by-ind_26ed_YYYY.csv``, found by listing the folder
gloria        GLORIA (ielab, University of Sydney): no stable per-file URL; needs a mirror
============  ===========================================================================

A *mirror* (``mirror=`` or the environment variable ``BRGVC_DOWNLOAD_MIRROR``) replaces the
publisher's scheme and host and keeps the URL path, so a caching proxy or a local copy laid
out like the publisher's site serves every format.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from brgvc.schema import MRIOError

__all__ = ["MANIFEST", "download", "downloadable_formats", "parse_years"]

MANIFEST = "brgvc-download.json"
# Retries per file after a dropped connection or a 5xx answer, and the first back-off (doubled
# each time). Module constants so that tests can shorten them.
RETRIES = 4
BACKOFF_S = 1.0
TIMEOUT_S = 60.0
CHUNK = 1 << 20
USER_AGENT = "brgvc-download/1 (+https://github.com/; MRIO ingest)"


@dataclass(frozen=True)
class Item:
    """One file to fetch.

    Parameters
    ----------
    url : str
        Publisher URL (the mirror, if any, is applied later).
    name : str
        File name under ``dest``.
    years : tuple of int
        Years whose tables the file holds.
    md5 : str, optional
        Checksum published by the publisher.
    size : int, optional
        Size in bytes published by the publisher.
    extract : re.Pattern, optional
        Members of the archive to extract into ``dest``; group ``year`` selects by year.
    """

    url: str
    name: str
    years: tuple[int, ...]
    md5: str | None = None
    size: int | None = None
    extract: re.Pattern | None = None


@dataclass(frozen=True)
class Source:
    """Where a format's files are and how to list them.

    ``plan(base, years, get_json)`` returns the :class:`Item` s for the requested years;
    ``years`` lists the years offered (``None`` when only the publisher's listing knows).
    """

    fmt: str
    description: str
    base: str | None
    plan: Callable[[str, list[int], Callable[[str], object]], list[Item]]
    years: tuple[int, ...] | None = None
    needs_mirror: str | None = None
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# EXIOBASE 3 (Zenodo)
# --------------------------------------------------------------------------------------------

ZENODO = "https://zenodo.org"
# EXIOBASE 3 record (concept DOI 10.5281/zenodo.3583070, this version created 2025-06-18).
EXIOBASE_RECORD = "15689391"


def _zenodo_entries(meta: object) -> list[dict]:
    """File entries of a Zenodo record (``files.entries`` is a dict in the record JSON and a
    list in ``/files``)."""
    files = meta.get("files", meta) if isinstance(meta, dict) else meta
    entries = files.get("entries", files) if isinstance(files, dict) else files
    if isinstance(entries, dict):
        entries = [dict(v, key=v.get("key", k)) for k, v in entries.items()]
    if not isinstance(entries, list):
        raise MRIOError("Zenodo record metadata has no file list (files.entries)")
    return [e for e in entries if isinstance(e, dict) and "key" in e]


def _exiobase_plan(system: str) -> Callable:
    pat = re.compile(rf"^IOT_(?P<year>\d{{4}})_{system}\.zip$")

    def plan(base: str, years: list[int], get_json: Callable) -> list[Item]:
        rec = f"{base}/api/records/{EXIOBASE_RECORD}"
        offered: dict[int, Item] = {}
        for e in _zenodo_entries(get_json(rec)):
            m = pat.match(e["key"])
            if not m:
                continue
            md5 = str(e.get("checksum", "")).removeprefix("md5:") or None
            offered[int(m["year"])] = Item(f"{rec}/files/{e['key']}/content", e["key"],
                                           (int(m["year"]),), md5, e.get("size"))
        _check_years(f"exiobase3 ({system}, Zenodo record {EXIOBASE_RECORD})", years, offered)
        return [offered[y] for y in years]

    return plan


# --------------------------------------------------------------------------------------------
# OECD ICIO 2023 edition (stats.oecd.org, one zip per block of years)
# --------------------------------------------------------------------------------------------

OECD = "https://stats.oecd.org"
OECD_2023_BLOCKS = {
    (1995, 2000): "d26ad811-5b58-4f0c-a4e3-06a1469e475c",
    (2001, 2005): "7cb93dae-e491-4cfd-ac67-889eb7016a4a",
    (2006, 2010): "ea165bfb-3a85-4e0a-afee-6ba8e6c16052",
    (2011, 2015): "1f791bc6-befb-45c5-8b34-668d08a1702a",
    (2016, 2020): "d1ab2315-298c-4e93-9a81-c6f2273139fe",
}
# Members the oecd_icio reader recognises (ICIO2023_YYYY.csv, YYYY_SML.csv, YYYY.csv).
_OECD_MEMBER = re.compile(r"(?:^|/)(?:ICIO\d{4}_)?(?P<year>\d{4})(?:_SML)?\.csv$", re.I)


def _oecd_plan(base: str, years: list[int], get_json: Callable) -> list[Item]:
    items = []
    for (a, b), file_id in OECD_2023_BLOCKS.items():
        if any(a <= y <= b for y in years):
            items.append(Item(f"{base}/wbos/fileview2.aspx?IDFile={file_id}",
                              f"ICIO2023_{a}-{b}.zip", tuple(range(a, b + 1)),
                              extract=_OECD_MEMBER))
    return items


# --------------------------------------------------------------------------------------------
# WIOD 2016 release (dataverse.nl, one zip for 2000-2014)
# --------------------------------------------------------------------------------------------

DATAVERSE = "https://dataverse.nl"
WIOD2016_DATAFILE = "199104"  # WIOTS_in_EXCEL.zip in doi:10.34894/PJ2M1C
_WIOD_MEMBER = re.compile(r"(?:^|/)WIOT(?P<year>\d{4})_Nov16_ROW\.(?:xlsb|xlsx|csv)$", re.I)


def _wiod_plan(base: str, years: list[int], get_json: Callable) -> list[Item]:
    return [Item(f"{base}/api/access/datafile/{WIOD2016_DATAFILE}", "WIOTS_in_EXCEL.zip",
                 tuple(range(2000, 2015)), extract=_WIOD_MEMBER)]


# --------------------------------------------------------------------------------------------
# FIGARO 2026 edition (CIRCABC guest REST API)
# --------------------------------------------------------------------------------------------

CIRCABC = "https://circabc.europa.eu"
# Library > FIGARO database > 2026 edition > industry-by-industry CSV matrices.
FIGARO_FOLDER = "e6896a70-5dbf-479c-8852-94b5dd1e3952"
_FIGARO_FILE = re.compile(r"^matrix_eu-ic-io_ind-by-ind_(?:\d{2}ed_)?(?P<year>\d{4})\.csv$")


def _figaro_plan(base: str, years: list[int], get_json: Callable) -> list[Item]:
    listing = get_json(f"{base}/service/circabc/spaces/{FIGARO_FOLDER}/children"
                       f"?guest=true&limit=500")
    nodes = listing.get("data", []) if isinstance(listing, dict) else listing
    offered: dict[int, Item] = {}
    for n in nodes if isinstance(nodes, list) else []:
        m = _FIGARO_FILE.match(str(n.get("name", ""))) if isinstance(n, dict) else None
        if m and n.get("id"):
            offered[int(m["year"])] = Item(f"{base}/rest/download/{n['id']}", n["name"],
                                           (int(m["year"]),))
    _check_years(f"figaro (CIRCABC folder {FIGARO_FOLDER})", years, offered)
    return [offered[y] for y in years]


# --------------------------------------------------------------------------------------------
# GLORIA (mirror only)
# --------------------------------------------------------------------------------------------

GLORIA_RELEASE = 59


def _gloria_plan(base: str, years: list[int], get_json: Callable) -> list[Item]:
    r = GLORIA_RELEASE
    return [Item(f"{base}/GLORIA_MRIOs_{r}_{y}.zip", f"GLORIA_MRIOs_{r}_{y}.zip", (y,))
            for y in years] + [Item(f"{base}/GLORIA_ReadMe_0{r}.xlsx",
                                    f"GLORIA_ReadMe_0{r}.xlsx", ())]


_EXIO_DESC = ("EXIOBASE 3 {sys}, years as listed in the record, CC BY-SA 4.0, Zenodo record "
              f"{EXIOBASE_RECORD} (doi:10.5281/zenodo.3583070), MD5-checked")
SOURCES: dict[str, Source] = {
    "exiobase3": Source("exiobase3", _EXIO_DESC.format(sys="ixi (industry by industry)"),
                        ZENODO, _exiobase_plan("ixi")),
    "exiobase3_ixi": Source("exiobase3_ixi", _EXIO_DESC.format(sys="ixi"), ZENODO,
                            _exiobase_plan("ixi")),
    "exiobase3_pxp": Source("exiobase3_pxp", _EXIO_DESC.format(sys="pxp (product by product)"),
                            ZENODO, _exiobase_plan("pxp")),
    "oecd_icio": Source("oecd_icio", "OECD ICIO 2023 edition, 1995-2020, OECD terms, "
                        "https://oe.cd/icio (stats.oecd.org year-block zips)", OECD,
                        _oecd_plan, tuple(range(1995, 2021))),
    "oecd_icio_split": Source("oecd_icio_split", "OECD ICIO 2023 edition with CN1/CN2, "
                              "MX1/MX2 kept (same files as oecd_icio)", OECD, _oecd_plan,
                              tuple(range(1995, 2021))),
    "wiod2016": Source("wiod2016", "WIOD 2016 release, 2000-2014, CC BY 4.0, "
                       "doi:10.34894/PJ2M1C (dataverse.nl WIOTS_in_EXCEL.zip; .xlsb needs "
                       "pyxlsb)", DATAVERSE, _wiod_plan, tuple(range(2000, 2015))),
    "figaro": Source("figaro", "Eurostat FIGARO 2026 edition industry-by-industry, CC BY 4.0, "
                     "CIRCABC Integrated Global Accounts library", CIRCABC, _figaro_plan),
    "gloria": Source("gloria", f"GLORIA release 0{GLORIA_RELEASE} (ielab.info, University of "
                     "Sydney): needs --mirror, no stable per-file URL", None, _gloria_plan,
                     tuple(range(1990, 2031)),
                     needs_mirror=(
                         "GLORIA is shared from a Dropbox folder linked from "
                         "https://ielab.info/labs/ielab-gloria (free, registration asked); "
                         "it has no stable per-file URL. Download GLORIA_MRIOs_"
                         f"{GLORIA_RELEASE}_YYYY.zip and GLORIA_ReadMe_0{GLORIA_RELEASE}.xlsx "
                         "by hand, or pass --mirror URL of a server holding them")),
}

NOT_DOWNLOADABLE = {
    "eora26": "Eora26 needs a worldmrio.com account and licence: log in at "
              "https://worldmrio.com, download Eora26_YYYY_bp.zip and indices.zip by hand",
    "wiod2013": "WIOD 2013 is embedded in brgvc (brgvc/data/wiod2013); nothing to download",
    "adb_mrio": "ADB MRIO workbooks are published one by one at https://kidb.adb.org/globalization"
                " without a stable URL scheme: download them by hand",
}


def downloadable_formats() -> dict[str, str]:
    """Formats ``download`` can fetch, each with a one-line description.

    Returns
    -------
    dict of str to str
        Format name (as ``brgvc ingest`` spells it) to a line naming the release, years,
        licence and where the files come from.
    """
    return {k: s.description for k, s in SOURCES.items()}


def parse_years(spec: str | int | Iterable | None) -> list[int] | None:
    """Turn ``"2010-2012,2015"`` (or an int, or ints) into a sorted list; None stays None.

    Raises
    ------
    MRIOError
        For text that is not years or ranges of years.
    """
    if spec is None:
        return None
    if isinstance(spec, int):
        return [spec]
    if not isinstance(spec, str):
        return sorted({int(y) for y in spec})
    out: set[int] = set()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        m = re.fullmatch(r"(\d{4})(?:\s*[-:]\s*(\d{4}))?", part)
        if not m:
            raise MRIOError(f"years {spec!r}: expected e.g. 2011 or 2010-2014 or 2010,2012")
        a, b = int(m[1]), int(m[2] or m[1])
        if b < a:
            raise MRIOError(f"years {spec!r}: range {part} runs backwards")
        out.update(range(a, b + 1))
    return sorted(out)


def _check_years(where: str, years: list[int], offered: Iterable[int]) -> None:
    offered = sorted(offered)
    missing = [y for y in years if y not in offered]
    if missing:
        have = f"{offered[0]}-{offered[-1]}" if offered else "none"
        raise MRIOError(f"{where}: year(s) {missing} not offered (offered: {have})")


# --------------------------------------------------------------------------------------------
# HTTP with resume
# --------------------------------------------------------------------------------------------

_TRANSIENT = (urllib.error.URLError, http.client.HTTPException, ConnectionError,
              socket.timeout, TimeoutError)


def _request(url: str, start: int = 0) -> urllib.request.Request:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if start:
        req.add_header("Range", f"bytes={start}-")
    return req


def _get_json(url: str) -> object:
    for attempt in range(RETRIES + 1):
        try:
            with urllib.request.urlopen(_request(url), timeout=TIMEOUT_S) as r:
                return json.loads(r.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            if e.code < 500 or attempt == RETRIES:
                raise MRIOError(f"{url}: HTTP {e.code} {e.reason}") from None
        except _TRANSIENT as e:
            if attempt == RETRIES:
                raise MRIOError(f"{url}: {e}") from None
        except json.JSONDecodeError as e:
            raise MRIOError(f"{url}: not JSON ({e})") from None
        time.sleep(BACKOFF_S * 2**attempt)
    raise AssertionError("unreachable")


class _Bar:
    """A one-line progress bar on stderr (redrawn at most five times a second)."""

    def __init__(self, name: str, total: int | None, done: int, on: bool) -> None:
        self.name, self.total, self.done, self.on = name, total, done, on
        self.t0, self.last, self.start = time.monotonic(), 0.0, done

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.on and now - self.last > 0.2:
            self.last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = (self.done - self.start) / max(now - self.t0, 1e-9) / 1e6
        mb = self.done / 1e6
        if self.total:
            pct = 100 * self.done / self.total
            fill = int(pct / 5)
            line = (f"{self.name} [{'#' * fill}{'.' * (20 - fill)}] {pct:5.1f}% "
                    f"{mb:,.1f}/{self.total / 1e6:,.1f} MB {rate:,.1f} MB/s")
        else:
            line = f"{self.name} {mb:,.1f} MB {rate:,.1f} MB/s"
        sys.stderr.write("\r" + line[:120])
        sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            self._draw(time.monotonic())
            sys.stderr.write("\n")
            sys.stderr.flush()


def _hash_file(path: Path, *algos: str) -> dict:
    hs = {a: hashlib.new(a) for a in algos}
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            for h in hs.values():
                h.update(chunk)
    return hs


def _fetch(url: str, item: Item, final: Path, progress: bool) -> str:
    """Download ``url`` into ``final`` through ``final.part``; return its SHA-256.

    A ``.part`` left by an earlier run is resumed with a Range request; a server that
    answers 200 instead of 206 makes the download start over. On a checksum mismatch the
    ``.part`` (which brgvc wrote) is removed and the error names URL and both hashes.
    """
    part = final.with_name(final.name + ".part")
    for attempt in range(RETRIES + 1):
        start = part.stat().st_size if part.exists() else 0
        hs = _hash_file(part, "md5", "sha256") if start else {
            "md5": hashlib.md5(), "sha256": hashlib.sha256()}
        if item.size is not None and start >= item.size:
            break  # complete already: only the checks remain
        bar = None
        try:
            with urllib.request.urlopen(_request(url, start), timeout=TIMEOUT_S) as r:
                if start and r.status != 206:
                    # The server ignored the Range: start over from byte 0.
                    start = 0
                    hs = {"md5": hashlib.md5(), "sha256": hashlib.sha256()}
                length = r.headers.get("Content-Length")
                total = item.size or (start + int(length) if length else None)
                bar = _Bar(item.name, total, start, progress)
                with open(part, "ab" if start else "wb") as fh:
                    while chunk := r.read(CHUNK):
                        fh.write(chunk)
                        for h in hs.values():
                            h.update(chunk)
                        bar.update(len(chunk))
                if length is not None and part.stat().st_size < start + int(length):
                    raise http.client.IncompleteRead(b"", start + int(length) -
                                                     part.stat().st_size)
            bar.close()
            break
        except urllib.error.HTTPError as e:
            if e.code == 416 and start:
                break  # nothing left to send: the .part is whole; the checks decide
            if e.code < 500 or attempt == RETRIES:
                raise MRIOError(f"{url}: HTTP {e.code} {e.reason}") from None
        except _TRANSIENT as e:
            if bar is not None:
                bar.close()
            if attempt == RETRIES:
                got = part.stat().st_size if part.exists() else 0
                raise MRIOError(f"{url}: download failed after {RETRIES + 1} tries ({e}); "
                                f"{got} bytes kept in {part}, run again to resume") from None
        time.sleep(BACKOFF_S * 2**attempt)
    size = part.stat().st_size
    md5, sha = hs["md5"].hexdigest(), hs["sha256"].hexdigest()
    problem = None
    if item.size is not None and size != item.size:
        problem = f"size {size} bytes, expected {item.size}"
    elif item.md5 and md5 != item.md5.lower():
        problem = f"md5 {md5}, expected {item.md5.lower()} (published)"
    if problem:
        part.unlink()
        raise MRIOError(f"{url}: checksum mismatch for {item.name}: {problem}; the download "
                        "was deleted, run again")
    os.replace(part, final)
    return sha


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------

def _load_manifest(dest: Path) -> dict:
    p = dest / MANIFEST
    if not p.exists():
        return {"files": {}}
    try:
        m = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise MRIOError(f"{p}: not a brgvc download manifest ({e})") from None
    m.setdefault("files", {})
    return m


def _save_manifest(dest: Path, m: dict) -> None:
    tmp = dest / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, dest / MANIFEST)


def _verified(dest: Path, name: str, rec: dict | None) -> bool:
    """Whether ``name`` is on disk with the size and SHA-256 the manifest recorded."""
    p = dest / name
    if rec is None or not p.is_file() or p.stat().st_size != rec.get("size"):
        return False
    return _hash_file(p, "sha256")["sha256"].hexdigest() == rec.get("sha256")


def _extract(dest: Path, archive: Path, item: Item, years: list[int], m: dict,
             fmt: str, force: bool) -> list[Path]:
    out = []
    with zipfile.ZipFile(archive) as zf:
        members = {}
        for info in zf.infolist():
            mm = item.extract.search(info.filename)
            if mm and int(mm["year"]) in years and not info.is_dir():
                members[int(mm["year"])] = info
        missing = [y for y in years if y in item.years and y not in members]
        if missing:
            raise MRIOError(f"{archive}: no table for year(s) {missing} inside the archive")
        for y, info in sorted(members.items()):
            name = Path(info.filename).name
            target, rec = dest / name, m["files"].get(name)
            if not force and _verified(dest, name, rec):
                out.append(target)
                continue
            if target.exists() and rec is None:
                raise MRIOError(f"{target} exists and was not written by brgvc download; "
                                "move it away or ingest it as it is")
            tmp = dest / (name + ".part")
            h = hashlib.sha256()
            with zf.open(info) as src, open(tmp, "wb") as fh:
                while chunk := src.read(CHUNK):
                    fh.write(chunk)
                    h.update(chunk)
            os.replace(tmp, target)
            m["files"][name] = {"format": fmt, "years": [y], "from": archive.name,
                                "sha256": h.hexdigest(), "size": target.stat().st_size}
            _save_manifest(dest, m)
            out.append(target)
    return out


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------

def download(
    fmt: str,
    years: str | int | Iterable[int] | None,
    dest: str | Path,
    *,
    mirror: str | None = None,
    progress: bool = True,
    force: bool = False,
) -> list[Path]:
    """Download a database's files for some years into ``dest``, ready for ``brgvc ingest``.

    Parameters
    ----------
    fmt : str
        A format of :func:`downloadable_formats` (the same name ``brgvc ingest`` takes).
    years : str, int or iterable of int, optional
        Years wanted, e.g. ``"2010-2014"``, ``2011`` or ``[2010, 2012]``; None for all years
        the source offers (only for sources with a fixed list of years).
    dest : str or Path
        Folder to download into (created if missing).
    mirror : str, optional
        Base URL replacing the publisher's scheme and host (the path is kept); default the
        environment variable ``BRGVC_DOWNLOAD_MIRROR``. GLORIA needs one.
    progress : bool
        Draw a progress bar on stderr.
    force : bool
        Download again files that this function downloaded before and that still check out.
        Files in ``dest`` that brgvc did not write are never replaced or deleted.

    Returns
    -------
    list of Path
        The files ``brgvc ingest FORMAT DEST`` reads for these years (archives kept as the
        reader takes them, or the tables extracted from multi-year archives).

    Raises
    ------
    MRIOError
        Unknown format, a year the source does not offer, a database that needs a login,
        an HTTP error, a download that keeps failing (the ``.part`` file is kept for the next
        run to resume) or a checksum mismatch (the download is deleted; the message names the
        URL and the expected and actual hashes).
    """
    if fmt in NOT_DOWNLOADABLE:
        raise MRIOError(f"{fmt}: {NOT_DOWNLOADABLE[fmt]}")
    if fmt not in SOURCES:
        raise MRIOError(f"cannot download format {fmt!r}; downloadable: "
                        f"{', '.join(sorted(SOURCES))}")
    src = SOURCES[fmt]
    mirror = mirror or os.environ.get("BRGVC_DOWNLOAD_MIRROR") or None
    if src.needs_mirror and not mirror:
        raise MRIOError(f"{fmt}: {src.needs_mirror}")
    wanted = parse_years(years)
    if wanted is None:
        if src.years is None:
            raise MRIOError(f"{fmt}: give the years to download (e.g. --years 2010-2014)")
        wanted = list(src.years)
    if src.years is not None:
        _check_years(fmt, wanted, src.years)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    m = _load_manifest(dest)

    # A re-run whose files all check out against the manifest makes no request at all.
    if not force:
        done = _from_manifest(dest, m, fmt, wanted)
        if done is not None:
            return done

    base = mirror.rstrip("/") if mirror else src.base
    items = src.plan(base, wanted, _get_json)
    out: list[Path] = []
    for item in items:
        url = item.url
        final = dest / item.name
        rec = m["files"].get(item.name)
        if final.exists() and rec is None:
            raise MRIOError(f"{final} exists and was not written by brgvc download; move it "
                            "away (or ingest the folder as it is)")
        if force or not _verified(dest, item.name, rec):
            sha = _fetch(url, item, final, progress)
            rec = {"format": fmt, "url": url, "years": list(item.years), "sha256": sha,
                   "size": final.stat().st_size}
            if item.md5:
                rec["md5"] = item.md5
            m["files"][item.name] = rec
            _save_manifest(dest, m)
        if item.extract is None:
            out.append(final)
        else:
            out += _extract(dest, final, item, [y for y in wanted if y in item.years], m, fmt,
                            force)
    _remember_request(dest, m, fmt, wanted, out)
    return out


def _remember_request(dest: Path, m: dict, fmt: str, years: list[int], out: list[Path]) -> None:
    """Note which files answer which (format, year), so a re-run can skip the network."""
    req = m.setdefault("requests", {}).setdefault(fmt, {})
    for y in years:
        names = [p.name for p in out
                 if y in m["files"].get(p.name, {}).get("years", [])
                 or not m["files"].get(p.name, {}).get("years")]
        req[str(y)] = sorted(names)
    _save_manifest(dest, m)


def _from_manifest(dest: Path, m: dict, fmt: str, years: list[int]) -> list[Path] | None:
    """The files of an earlier run for these years if all still verify, else None."""
    req = m.get("requests", {}).get(fmt, {})
    names: list[str] = []
    for y in years:
        if str(y) not in req:
            return None
        names += [n for n in req[str(y)] if n not in names]
    for n in names:
        if not _verified(dest, n, m["files"].get(n)):
            return None
    return [dest / n for n in names]
