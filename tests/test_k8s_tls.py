"""The TLS settings brgvc renders work: scheduler and worker started with the rendered args.

The scheduler and worker commands of a rendered DaskJob are run as real processes on
127.0.0.1 (pod-only values replaced: addresses, ports, certificate folder), with certificates
made by ``cluster/k8s/make-tls-secret.sh``. A client configured exactly like the runner pod
(``DASK_DISTRIBUTED__COMM__TLS__*`` and require-encryption) computes on the worker; a plain
TCP client and a TLS client with a certificate of another CA are refused. The scheduler's HTTP
port, started with the rendered dashboard settings (off by default), serves the probes'
``/health`` and nothing else. Processes are stopped by their own PIDs.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import dask
import pytest
import yaml

pytest.importorskip("dask_kubernetes")

from brgvc.deploy import kubernetes as k8s

ROOT = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).with_name("dask"))

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command"),
    pytest.mark.timeout(120),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _swap(argv: list[str], flag: str, value: str) -> list[str]:
    out = list(argv)
    out[out.index(flag) + 1] = value
    return out


@pytest.fixture
def tls_pods(tmp_path: Path):
    certs = tmp_path / "tls"
    subprocess.run([str(ROOT / "cluster/k8s/make-tls-secret.sh"), str(certs)], check=True,
                   capture_output=True, timeout=60)
    job = tmp_path / "job.yaml"
    job.write_text("data: wiod2013\nyears: [2011]\nmeasures: [vby]\n")
    prof = yaml.safe_load((ROOT / "cluster/k8s/profile.yaml").read_text())
    prof["workers"]["memory"] = "1Gi"
    prof["tls"]["mount_path"] = str(certs)
    (djob,) = [d for d in k8s.render_manifests(job, prof, now=dt.datetime(2026, 11, 30,
                                                                      tzinfo=dt.UTC))
               if d["kind"] == "DaskJob"]
    cluster = djob["spec"]["cluster"]["spec"]
    sched_args = cluster["scheduler"]["spec"]["containers"][0]["args"]
    sched_env = {e["name"]: e["value"] for e in cluster["scheduler"]["spec"]["containers"][0][
        "env"] if "value" in e and e["name"].startswith("DASK_DISTRIBUTED__")}
    worker_args = cluster["worker"]["spec"]["containers"][0]["args"]
    runner_env = {e["name"]: e["value"] for e in djob["spec"]["job"]["spec"]["containers"][0][
        "env"] if "value" in e}
    port = _free_port()
    addr = f"tls://127.0.0.1:{port}"
    sched = _swap(sched_args, "--port", str(port))
    http = f"127.0.0.1:{_free_port()}"
    sched = _swap(sched, "--dashboard-address", http)
    sched = [DASK, *sched[1:], "--host", "127.0.0.1"]
    worker = [a.replace("$(DASK_SCHEDULER_ADDRESS)", addr).replace("$(DASK_WORKER_NAME)", "w0")
              for a in worker_args]
    worker = _swap(worker, "--dashboard-address", f"127.0.0.1:{_free_port()}")
    worker = _swap(worker, "--local-directory", str(tmp_path / "scratch"))
    worker = _swap(worker, "--worker-port", str(_free_port()))
    worker = _swap(worker, "--nanny-port", str(_free_port()))
    worker = [DASK, *worker[1:], "--host", "127.0.0.1", "--no-nanny"]
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True"}
    procs = []
    try:
        for name, argv in (("scheduler", sched), ("worker", worker)):
            penv = {**env, **sched_env} if name == "scheduler" else env
            procs.append(subprocess.Popen(argv, env=penv, start_new_session=True,
                                          stdout=open(tmp_path / f"{name}.log", "w"),
                                          stderr=subprocess.STDOUT))
        yield addr, runner_env, tmp_path, http
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(5)


def _runner_config(env: dict[str, str]) -> dict[str, object]:
    """The runner pod's DASK_* environment as flat dask config keys (as dask reads them)."""
    nested = dask.config.collect_env({k: v for k, v in env.items() if k.startswith("DASK_")
                                      and k != "DASK_SCHEDULER_ADDRESS"})
    flat: dict[str, object] = {}

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}.{k}" if prefix else k)
        else:
            flat[prefix] = node

    walk(nested, "")
    return flat


def test_rendered_tls_args_encrypt_scheduler_worker_and_runner(tls_pods):
    from distributed import Client

    addr, runner_env, tmp, http = tls_pods
    cfg = _runner_config(runner_env)
    t0 = time.monotonic()
    with dask.config.set(cfg):
        assert dask.config.get("distributed.comm.require-encryption") is True
        ca_file = dask.config.get("distributed.comm.tls.ca-file")
        assert ca_file.endswith("/tls/ca.crt")
        with Client(addr, timeout="30s", set_as_default=False) as c:
            c.wait_for_workers(1, timeout=60)
            info = c.scheduler_info()
            assert all(w.startswith("tls://127.0.0.1:") for w in info["workers"])
            assert c.submit(sum, [1, 2, 3]).result(timeout=30) == 6
    assert time.monotonic() - t0 < 90
    # dashboard off (the default): the HTTP port answers the probes and nothing else
    status = {}
    for route in ("health", "info/main/workers.html", "metrics", "status", "json/counts.json"):
        try:
            with urllib.request.urlopen(f"http://{http}/{route}", timeout=10) as r:
                status[route] = r.status
        except urllib.error.HTTPError as e:
            status[route] = e.code
    assert status == {"health": 200, "info/main/workers.html": 404, "metrics": 404,
                      "status": 404, "json/counts.json": 404}
    # no certificate: refused
    with pytest.raises((OSError, TimeoutError)):
        Client(addr.replace("tls://", "tcp://"), timeout="3s", set_as_default=False)
    # a certificate from another CA: refused by the scheduler
    other = tmp / "other-ca"
    subprocess.run([str(ROOT / "cluster/k8s/make-tls-secret.sh"), str(other)], check=True,
                   capture_output=True, timeout=60)
    with dask.config.set({"distributed.comm.tls.client.cert": str(other / "tls.crt"),
                          "distributed.comm.tls.client.key": str(other / "tls.key"),
                          "distributed.comm.tls.ca-file": str(other / "ca.crt")}):
        with pytest.raises((OSError, TimeoutError)):
            Client(addr, timeout="3s", set_as_default=False)
