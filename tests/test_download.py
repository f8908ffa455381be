"""brgvc.readers.download against a real HTTP server on 127.0.0.1 that serves archives in the
publishers' layouts and URL paths (Zenodo record API, OECD fileview, CIRCABC listing and
download, dataverse datafile, a GLORIA mirror), built at test time from the real WIOD numbers
of tests/fixtures/make_fixtures.py. The downloaded folder is then opened with the format's
reader and must give the fixture's numbers exactly."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from brgvc.readers import download as dl
from brgvc.readers import exiobase3, figaro, gloria, oecd_icio, open_mrio, wiod2016
from brgvc.schema import MRIOError

_spec = importlib.util.spec_from_file_location(
    "make_fixtures", Path(__file__).parent / "fixtures" / "make_fixtures.py"
)
mf = sys.modules.setdefault("make_fixtures", importlib.util.module_from_spec(_spec))
if not hasattr(mf, "make"):
    _spec.loader.exec_module(mf)

REC = f"/api/records/{dl.EXIOBASE_RECORD}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        srv = self.server
        rng = self.headers.get("Range")
        srv.log.append((self.path, rng))
        body = srv.routes.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path in srv.corrupt:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        start = 0
        if rng and self.path not in srv.ignore_range:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.path in srv.drop and not rng:
            # Announce the whole file, send half, hang up: a connection dropped mid-way.
            srv.drop.discard(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])


class Server(ThreadingHTTPServer):
    """Threaded HTTP server with Range support; ``routes`` maps path?query to bytes."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, bytes] = {}
        self.log: list[tuple[str, str | None]] = []
        self.drop: set[str] = set()
        self.corrupt: set[str] = set()
        self.ignore_range: set[str] = set()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server():
    srv = Server()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    t.join(5)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(dl, "BACKOFF_S", 0.0)
    monkeypatch.setattr(dl, "TIMEOUT_S", 10.0)
    monkeypatch.delenv("BRGVC_DOWNLOAD_MIRROR", raising=False)


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def assert_same(r: dict, e: dict) -> None:
    for k in ("regions", "sectors", "fd"):
        assert r[k] == e[k], k
    for k in ("Z", "Y", "x"):
        np.testing.assert_array_equal(r[k], e[k], err_msg=k)


@pytest.fixture(scope="module")
def exio(tmp_path_factory):
    out = tmp_path_factory.mktemp("exio")
    exp = mf.write_exiobase3(out, years=(2010, 2011))
    files = {p.name: p.read_bytes() for s in ("ixi", "pxp") for p in (out / s).glob("*.zip")}
    return files, exp


def serve_exiobase(srv: Server, files: dict[str, bytes]) -> None:
    """The Zenodo record JSON (files.entries with md5 and size) and each file's content."""
    entries = {"Changelog.txt": {"key": "Changelog.txt", "checksum": "md5:" +
                                 hashlib.md5(b"log").hexdigest(), "size": 3}}
    for k, b in files.items():
        entries[k] = {"key": k, "checksum": "md5:" + hashlib.md5(b).hexdigest(),
                      "size": len(b), "links": {"content": f"https://zenodo.org{REC}/files/"
                                                           f"{k}/content"}}
        srv.routes[f"{REC}/files/{k}/content"] = b
    srv.routes[REC] = json.dumps({"id": dl.EXIOBASE_RECORD, "files": {
        "count": len(entries), "entries": entries}}).encode()


def file_requests(srv: Server) -> list[tuple[str, str | None]]:
    return [r for r in srv.log if r[0] != REC]


def test_exiobase_download_checks_md5_and_reader_opens_it(server, exio, tmp_path):
    files, exp = exio
    serve_exiobase(server, files)
    got = dl.download("exiobase3", "2010-2011", tmp_path, mirror=server.url, progress=False)
    assert [p.name for p in got] == ["IOT_2010_ixi.zip", "IOT_2011_ixi.zip"]
    for p in got:
        assert sha(p.read_bytes()) == sha(files[p.name])
    man = json.loads((tmp_path / dl.MANIFEST).read_text())
    rec = man["files"]["IOT_2011_ixi.zip"]
    assert rec["md5"] == hashlib.md5(files["IOT_2011_ixi.zip"]).hexdigest()
    assert rec["sha256"] == sha(files["IOT_2011_ixi.zip"])
    assert rec["url"] == f"{server.url}{REC}/files/IOT_2011_ixi.zip/content"
    assert not list(tmp_path.glob("*.part"))
    # Only ixi was fetched, so the exiobase3 reader (which refuses mixed systems) opens it.
    assert sorted(exiobase3.list_years(tmp_path)) == [2010, 2011]
    for y in (2010, 2011):
        assert_same(exiobase3.read_year(tmp_path, y), exp[y])
    # ... and so does the registry's lazy cube, which is what `brgvc ingest` builds on.
    ds = open_mrio("exiobase3", tmp_path)
    assert ds["year"].values.tolist() == [2010, 2011]
    gn = len(exp[2011]["x"])
    np.testing.assert_array_equal(ds["Z"].sel(year=2011).values.reshape(gn, gn), exp[2011]["Z"])


def test_years_filter_fetches_only_those_years(server, exio, tmp_path):
    files, _ = exio
    serve_exiobase(server, files)
    got = dl.download("exiobase3_pxp", [2010], tmp_path, mirror=server.url, progress=False)
    assert [p.name for p in got] == ["IOT_2010_pxp.zip"]
    assert file_requests(server) == [(f"{REC}/files/IOT_2010_pxp.zip/content", None)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IOT_2010_pxp.zip", dl.MANIFEST]
    with pytest.raises(MRIOError,
                       match=r"year\(s\) \[2012, 2013\] not offered \(offered: 2010-2011"):
        dl.download("exiobase3_pxp", "2010-2013", tmp_path, mirror=server.url, progress=False)


def test_dropped_connection_resumes_with_range(server, exio, tmp_path, monkeypatch):
    files, _ = exio
    serve_exiobase(server, files)
    path = f"{REC}/files/IOT_2011_ixi.zip/content"
    body = files["IOT_2011_ixi.zip"]
    # No retry within the call: the first run stops with the half file kept as .part ...
    monkeypatch.setattr(dl, "RETRIES", 0)
    server.drop.add(path)
    with pytest.raises(MRIOError, match="run again to resume"):
        dl.download("exiobase3", 2011, tmp_path, mirror=server.url, progress=False)
    part = tmp_path / "IOT_2011_ixi.zip.part"
    assert part.read_bytes() == body[: len(body) // 2]
    assert not (tmp_path / "IOT_2011_ixi.zip").exists()
    # ... and the next run asks only for the rest.
    server.log.clear()
    (got,) = dl.download("exiobase3", 2011, tmp_path, mirror=server.url, progress=False)
    assert file_requests(server) == [(path, f"bytes={len(body) // 2}-")]
    assert sha(got.read_bytes()) == sha(body)
    assert not part.exists()


def test_dropped_connection_retried_within_one_call(server, exio, tmp_path, monkeypatch,
                                                    capfd):
    files, _ = exio
    serve_exiobase(server, files)
    path = f"{REC}/files/IOT_2010_ixi.zip/content"
    body = files["IOT_2010_ixi.zip"]
    monkeypatch.setattr(dl, "RETRIES", 2)
    server.drop.add(path)
    (got,) = dl.download("exiobase3", 2010, tmp_path, mirror=server.url, progress=True)
    assert file_requests(server) == [(path, None), (path, f"bytes={len(body) // 2}-")]
    assert sha(got.read_bytes()) == sha(body)
    assert "IOT_2010_ixi.zip [####################] 100.0%" in capfd.readouterr().err


def test_server_ignoring_range_restarts_from_zero(server, exio, tmp_path, monkeypatch):
    files, _ = exio
    serve_exiobase(server, files)
    path = f"{REC}/files/IOT_2011_ixi.zip/content"
    body = files["IOT_2011_ixi.zip"]
    monkeypatch.setattr(dl, "RETRIES", 1)
    server.drop.add(path)
    server.ignore_range.add(path)
    (got,) = dl.download("exiobase3", 2011, tmp_path, mirror=server.url, progress=False)
    # The second request asked for the rest, got the whole file (200) and started over.
    assert file_requests(server) == [(path, None), (path, f"bytes={len(body) // 2}-")]
    assert got.read_bytes() == body


def test_corrupted_download_is_deleted_with_a_clear_error(server, exio, tmp_path):
    files, _ = exio
    serve_exiobase(server, files)
    path = f"{REC}/files/IOT_2011_ixi.zip/content"
    server.corrupt.add(path)
    mine = tmp_path / "notes.txt"
    mine.write_text("not brgvc's")
    good = hashlib.md5(files["IOT_2011_ixi.zip"]).hexdigest()
    bad = files["IOT_2011_ixi.zip"]
    bad = hashlib.md5(bytes([bad[0] ^ 0xFF]) + bad[1:]).hexdigest()
    with pytest.raises(MRIOError) as e:
        dl.download("exiobase3", 2011, tmp_path, mirror=server.url, progress=False)
    msg = str(e.value)
    assert f"{server.url}{path}" in msg and f"md5 {bad}, expected {good}" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert mine.read_text() == "not brgvc's"


def test_rerun_skips_verified_files_without_a_request(server, exio, tmp_path):
    files, _ = exio
    serve_exiobase(server, files)
    first = dl.download("exiobase3", "2010-2011", tmp_path, mirror=server.url, progress=False)
    server.log.clear()
    again = dl.download("exiobase3", "2010-2011", tmp_path, mirror=server.url, progress=False)
    assert again == first and server.log == []
    # A file that no longer matches its recorded SHA-256 is fetched again (and only it).
    with open(first[0], "ab") as fh:
        fh.write(b"x")
    dl.download("exiobase3", "2010-2011", tmp_path, mirror=server.url, progress=False)
    assert file_requests(server) == [(f"{REC}/files/IOT_2010_ixi.zip/content", None)]
    assert sha(first[0].read_bytes()) == sha(files["IOT_2010_ixi.zip"])
    # force downloads again even what checks out.
    server.log.clear()
    dl.download("exiobase3", 2011, tmp_path, mirror=server.url, progress=False, force=True)
    assert file_requests(server) == [(f"{REC}/files/IOT_2011_ixi.zip/content", None)]


def test_foreign_file_is_never_replaced(server, exio, tmp_path):
    files, _ = exio
    serve_exiobase(server, files)
    (tmp_path / "IOT_2011_ixi.zip").write_bytes(b"the user's own copy")
    with pytest.raises(MRIOError, match="not written by brgvc download"):
        dl.download("exiobase3", 2011, tmp_path, mirror=server.url, progress=False,
                    force=True)
    assert (tmp_path / "IOT_2011_ixi.zip").read_bytes() == b"the user's own copy"


def test_oecd_year_block_extracted_for_the_reader(server, tmp_path_factory, tmp_path):
    src = tmp_path_factory.mktemp("oecd")
    exp = mf.write_oecd_icio(src, years=(2009, 2010), editions=("2023",))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for y in (2009, 2010):
            zf.write(src / "2023" / f"ICIO2023_{y}.csv", f"ICIO2023_{y}.csv")
    path = f"/wbos/fileview2.aspx?IDFile={dl.OECD_2023_BLOCKS[(2006, 2010)]}"
    server.routes[path] = buf.getvalue()
    got = dl.download("oecd_icio", "2010", tmp_path, mirror=server.url, progress=False)
    assert [p.name for p in got] == ["ICIO2023_2010.csv"]
    assert server.log == [(path, None)]
    assert not (tmp_path / "ICIO2023_2009.csv").exists()
    man = json.loads((tmp_path / dl.MANIFEST).read_text())["files"]
    assert man["ICIO2023_2006-2010.zip"]["sha256"] == sha(buf.getvalue())
    assert man["ICIO2023_2010.csv"]["from"] == "ICIO2023_2006-2010.zip"
    assert_same(oecd_icio.read_year(tmp_path, 2010), exp["2023"][2010]["merged"])
    # 2009 is in the archive already verified: extracted without a request.
    server.log.clear()
    dl.download("oecd_icio", "2009-2010", tmp_path, mirror=server.url, progress=False)
    assert server.log == []
    assert sorted(oecd_icio.list_years(tmp_path)) == [2009, 2010]
    with pytest.raises(MRIOError, match=r"oecd_icio: year\(s\) \[2021\] not offered"):
        dl.download("oecd_icio", "2020-2021", tmp_path, mirror=server.url, progress=False)


def test_figaro_found_through_the_circabc_listing(server, tmp_path_factory, tmp_path):
    src = tmp_path_factory.mktemp("figaro")
    exp = mf.write_figaro(src, years=(2011,))
    body = (src / "matrix" / "matrix_eu-ic-io_ind-by-ind_23ed_2011.csv").read_bytes()
    node = "0b1c2d3e-0000-4000-8000-000000002011"
    listing = f"/service/circabc/spaces/{dl.FIGARO_FOLDER}/children?guest=true&limit=500"
    server.routes[listing] = json.dumps({"data": [
        {"id": node, "name": "matrix_eu-ic-io_ind-by-ind_26ed_2011.csv",
         "type": "{http://www.alfresco.org/model/content/1.0}content"},
        {"id": "x", "name": "flatfile_eu-ic-io_ind-by-ind_26ed_2011.zip", "type": "content"},
    ], "total": 2}).encode()
    server.routes[f"/rest/download/{node}"] = body
    with pytest.raises(MRIOError, match=r"give the years"):
        dl.download("figaro", None, tmp_path, mirror=server.url, progress=False)
    (got,) = dl.download("figaro", 2011, tmp_path, mirror=server.url, progress=False)
    assert got.name == "matrix_eu-ic-io_ind-by-ind_26ed_2011.csv"
    assert sha(got.read_bytes()) == sha(body)
    r = figaro.read_year(tmp_path, 2011)
    assert_same(r, exp[2011])
    with pytest.raises(MRIOError, match=r"\[2010\] not offered \(offered: 2011-2011\)"):
        dl.download("figaro", 2010, tmp_path, mirror=server.url, progress=False)


def test_wiod2016_release_zip_extracted(server, tmp_path_factory, tmp_path):
    src = tmp_path_factory.mktemp("wiod16")
    exp = mf.write_wiod2016(src, years=(), xlsx_years=(2011,), csv=False)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        # The release zip holds .xlsb workbooks; .xlsx of the same sheet keeps the test free of
        # pyxlsb (the extraction pattern takes either).
        zf.write(src / "xlsx" / "WIOT2011_Nov16_ROW.xlsx", "WIOT2011_Nov16_ROW.xlsx")
    server.routes[f"/api/access/datafile/{dl.WIOD2016_DATAFILE}"] = buf.getvalue()
    (got,) = dl.download("wiod2016", 2011, tmp_path, mirror=server.url, progress=False)
    assert got.name == "WIOT2011_Nov16_ROW.xlsx"
    assert_same(wiod2016.read_year(tmp_path, 2011), exp["xlsx"][2011])
    with pytest.raises(MRIOError, match=r"no table for year\(s\) \[2010\] inside"):
        dl.download("wiod2016", 2010, tmp_path, mirror=server.url, progress=False)


def test_gloria_needs_a_mirror_and_reads_from_one(server, tmp_path_factory, tmp_path):
    with pytest.raises(MRIOError, match="gloria: GLORIA is shared from a Dropbox folder"):
        dl.download("gloria", 2011, tmp_path)
    src = tmp_path_factory.mktemp("gloria")
    exp = mf.write_gloria(src, years=(2011,), version=dl.GLORIA_RELEASE)
    r = dl.GLORIA_RELEASE
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in (src / f"GLORIA_MRIOs_{r}_2011").iterdir():
            zf.write(p, p.name)
    server.routes[f"/gloria/GLORIA_MRIOs_{r}_2011.zip"] = buf.getvalue()
    server.routes[f"/gloria/GLORIA_ReadMe_0{r}.xlsx"] = (
        src / f"GLORIA_ReadMe_0{r}.xlsx").read_bytes()
    got = dl.download("gloria", 2011, tmp_path, mirror=server.url + "/gloria/",
                      progress=False)
    assert sorted(p.name for p in got) == [f"GLORIA_MRIOs_{r}_2011.zip",
                                           f"GLORIA_ReadMe_0{r}.xlsx"]
    res = gloria.read_year(tmp_path, 2011)
    assert_same(res, exp[2011])


def test_mirror_from_environment(server, exio, tmp_path, monkeypatch):
    files, _ = exio
    serve_exiobase(server, files)
    monkeypatch.setenv("BRGVC_DOWNLOAD_MIRROR", server.url)
    (got,) = dl.download("exiobase3", 2011, tmp_path, progress=False)
    assert sha(got.read_bytes()) == sha(files["IOT_2011_ixi.zip"])


def test_unknown_format_and_login_only_databases(tmp_path):
    with pytest.raises(MRIOError) as e:
        dl.download("exiobase4", 2011, tmp_path)
    assert str(e.value) == ("cannot download format 'exiobase4'; downloadable: " +
                            ", ".join(sorted(dl.downloadable_formats())))
    with pytest.raises(MRIOError, match=r"eora26: Eora26 needs a worldmrio\.com account"):
        dl.download("eora26", 2011, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_http_error_names_the_url(server, tmp_path):
    with pytest.raises(MRIOError, match=rf"{server.url}{REC}: HTTP 404"):
        dl.download("exiobase3", 2011, tmp_path, mirror=server.url, progress=False)


def test_parse_years_and_every_downloadable_format_has_a_reader():
    from brgvc.readers import FORMATS

    assert dl.parse_years("2010-2012, 2015") == [2010, 2011, 2012, 2015]
    assert dl.parse_years(2011) == [2011] and dl.parse_years(None) is None
    with pytest.raises(MRIOError, match="runs backwards"):
        dl.parse_years("2012-2010")
    with pytest.raises(MRIOError, match=r"expected e\.g\. 2011"):
        dl.parse_years("last year")
    assert set(dl.downloadable_formats()) <= set(FORMATS)


def test_cli_download_then_ingest_end_to_end(server, exio, tmp_path, capsys):
    """`brgvc download` into a folder that `brgvc ingest` turns into a cube store."""
    from brgvc.cli import main
    from brgvc.datasets import open_dataset

    files, exp = exio
    serve_exiobase(server, files)
    dest = tmp_path / "exio"
    assert main(["download", "exiobase3", "--years", "2011", "--dest", str(dest),
                 "--mirror", server.url, "--no-progress"]) == 0
    assert capsys.readouterr().out.split() == [str(dest / "IOT_2011_ixi.zip")]
    store = tmp_path / "exio.zarr"
    assert main(["ingest", "exiobase3", str(dest), "--out", str(store)]) == 0
    ds = open_dataset(str(store), years=[2011], gross_output="published").load()
    gn = len(exp[2011]["x"])
    np.testing.assert_array_equal(ds["Z"].values.reshape(gn, gn), exp[2011]["Z"])
    capsys.readouterr()
    # Login-only databases say why, in one line, with a non-zero exit.
    assert main(["download", "eora26", "--dest", str(tmp_path / "e")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "eora" in err[0].lower()
