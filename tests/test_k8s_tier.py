"""Opt-in tier: brgvc's manifests against a real Kubernetes API server (``BRGVC_K8S_TIER=1``).

``cluster/tier/k8s-apiserver.sh`` builds kube-apiserver, kube-controller-manager and kubectl
1.20.2 from Debian's own ``kubernetes`` source package (cached outside the repository in
``/var/cache/brgvc-k8s``; ~11-20 min and ~3 GB the first time) and starts etcd, the API server
and the controller manager on 127.0.0.1. The real dask-kubernetes operator runs out of cluster
(``kopf run --standalone -m dask_kubernetes.operator.controller``).

What this shows: the Dask CRDs install; every rendered manifest passes the server's own
validation (server-side dry run); ``submit`` creates a DaskJob that the operator turns into a
DaskCluster, scheduler Service (ClusterIP), scheduler/worker Deployments and a runner Pod whose
commands and TLS address are brgvc's; the server rejects a broken DaskJob; the CronJob fires
(kube-controller-manager) and its ServiceAccount may create/list DaskJobs and nothing else.

What it cannot show: **no pod ever runs** (there is no kubelet and no container runtime), so no
Dask scheduler, worker or runner process starts and no TLS handshake happens here. Kubernetes
1.20 does not serve ``batch/v1`` CronJobs: the tier renders ``batch/v1beta1`` (no timeZone).

Every process is bound to 127.0.0.1 and stopped by its own PID.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("BRGVC_K8S_TIER") != "1",
        reason="opt-in API-server tier: set BRGVC_K8S_TIER=1 (builds kube-apiserver from "
        "Debian sources; no kubelet, so pods are created but never run)",
    ),
    pytest.mark.timeout(2400),
]

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "cluster" / "tier" / "k8s-apiserver.sh"
NS = "brgvc-tier"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """etcd + kube-apiserver + kube-controller-manager started by the tier script."""

    def __init__(self, state: Path) -> None:
        self.state = state
        # etcd uses BASE, BASE+10, BASE+20: find a base whose three ports are free.
        for _ in range(50):
            base = _free_port()
            if base + 20 < 65535 and all(self._free(base + k) for k in (10, 20)):
                break
        self.env = {**os.environ, "BRGVC_K8S_PORT_BASE": str(base),
                    "BRGVC_K8S_API_PORT": str(_free_port())}
        subprocess.run([str(SCRIPT), "build"], check=True, env=self.env, timeout=2400)
        self.bin = Path(subprocess.run([str(SCRIPT), "bin"], check=True, env=self.env,
                                       capture_output=True, text=True).stdout.strip())
        subprocess.run([str(SCRIPT), "start", str(state)], check=True, env=self.env, timeout=180)
        self.kubeconfig = state / "kubeconfig"

    @staticmethod
    def _free(port: int) -> bool:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
        return True

    def kubectl(self, *args: str, input: str | None = None, check: bool = True
                ) -> subprocess.CompletedProcess[str]:
        res = subprocess.run([str(self.bin / "kubectl"), "--kubeconfig", str(self.kubeconfig),
                              *args], input=input, capture_output=True, text=True, timeout=120)
        if check and res.returncode:
            raise AssertionError(f"kubectl {' '.join(args)}: {res.stderr}")
        return res

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def stop(self) -> None:
        subprocess.run([str(SCRIPT), "stop", str(self.state)], check=False, env=self.env,
                       timeout=60)


def _wait(what: str, fn: Any, timeout: float = 60.0, every: float = 1.0) -> Any:
    t0 = time.monotonic()
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    server = ApiServer(tmp_path_factory.mktemp("apiserver"))
    try:
        from dask_kubernetes.operator import __file__ as op_file

        crds = Path(op_file).parent / "deployment/helm/dask-kubernetes-operator/crds"
        server.kubectl("apply", "-f", str(crds))
        for crd in ("daskjobs", "daskclusters", "daskworkergroups", "daskautoscalers"):
            # (kubectl 1.20's `wait` fails while .status.conditions is still unset: poll.)
            _wait(f"CRD {crd} established", lambda crd=crd: any(
                c["type"] == "Established" and c["status"] == "True"
                for c in server.get(f"crd/{crd}.kubernetes.dask.org").get(
                    "status", {}).get("conditions") or []))
        server.kubectl("create", "namespace", NS)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def operator(api: ApiServer):
    """The real dask-kubernetes operator, out of cluster, watching the test namespace."""
    log = open(api.state / "kopf.log", "w")  # closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "kopf", "run", "--standalone", "-m",
         "dask_kubernetes.operator.controller", "--namespace", NS],
        env={**os.environ, "KUBECONFIG": str(api.kubeconfig)},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def profile(api: ApiServer) -> dict[str, Any]:
    prof = yaml.safe_load((ROOT / "cluster/k8s/profile.yaml").read_text())
    prof.update(namespace=NS, kubeconfig=str(api.kubeconfig))
    prof["workers"].update(memory="1Gi", replicas=2)
    prof["cronjob"]["api_version"] = "batch/v1beta1"  # 1.20 serves no batch/v1 CronJob
    return prof


@pytest.fixture(scope="module")
def job_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("jobs") / "tier_sweep.yaml"
    p.write_text("name: tier_sweep\ndata: wiod2013\nyears: [2011]\nmeasures: [vby]\n"
                 "schedule: '*/1 * * * *'\n")
    return p


def test_every_manifest_passes_the_servers_validation(api, profile, job_file):
    from brgvc.deploy import kubernetes as k8s

    docs = [*k8s.render_manifests(job_file, profile, interactive=True),
            *k8s.render_cronjob(job_file, profile)]
    res = api.kubectl("apply", "--dry-run=server", "-f", "-", input=k8s.to_yaml(docs))
    assert res.stdout.count("(server dry run)") == len(docs), res.stdout


def test_submit_creates_a_daskjob_that_the_operator_turns_into_a_cluster(api, operator, profile,
                                                                         job_file):
    """Operator reconciliation for real; the pods stay Pending (no kubelet)."""
    from brgvc.deploy import kubernetes as k8s

    created = k8s.submit(job_file, profile).split()
    # the NetworkPolicies go in before the DaskJob whose pods they protect
    assert [c.split("/")[0] for c in created] == ["configmap", *["networkpolicy"] * 3,
                                                  "daskjob"]
    name = created[-1].split("/")[1]
    djob = _wait("DaskJob status ClusterCreated", lambda: (
        (d := api.get("-n", NS, "daskjob", name)).get("status", {}).get("jobStatus")
        == "ClusterCreated" and d), timeout=90)
    assert djob["status"]["clusterName"] == name
    cluster = _wait("DaskCluster Running", lambda: (
        (c := api.get("-n", NS, "daskcluster", name)).get("status", {}).get("phase")
        == "Running" and c), timeout=90)
    assert cluster["spec"]["worker"]["replicas"] == 2
    svc = api.get("-n", NS, "service", f"{name}-scheduler")
    assert svc["spec"]["type"] == "ClusterIP"
    deps = _wait("scheduler + 2 worker Deployments", lambda: (
        len((d := api.get("-n", NS, "deployments", "-l",
                          f"dask.org/cluster-name={name}"))["items"]) == 3 and d["items"]))
    argv = {d["metadata"]["labels"]["dask.org/component"]:
            d["spec"]["template"]["spec"]["containers"][0]["args"][:2] for d in deps}
    assert argv == {"scheduler": ["dask", "scheduler"], "worker": ["dask", "worker"]}
    runner = _wait("runner Pod", lambda: api.get("-n", NS, "pods", "-l",
                                                 f"dask.org/cluster-name={name},"
                                                 "dask.org/component=job-runner")["items"])[0]
    env = {e["name"]: e.get("value") for e in runner["spec"]["containers"][0]["env"]}
    assert env["DASK_SCHEDULER_ADDRESS"].startswith("tls://")  # the operator kept brgvc's
    assert runner["status"]["phase"] == "Pending"
    cm = api.get("-n", NS, "configmap", created[0].split("/")[1])
    assert cm["metadata"]["ownerReferences"][0]["uid"] == djob["metadata"]["uid"]
    for part in ("dask", "scheduler", "worker"):  # deleted with their DaskJob
        pol = api.get("-n", NS, "networkpolicy", f"{name}-{part}")
        assert pol["metadata"]["ownerReferences"][0]["uid"] == djob["metadata"]["uid"]


def test_an_interactive_daskcluster_is_reconciled(api, operator, profile, job_file):
    from brgvc.deploy import kubernetes as k8s

    docs = k8s.render_manifests(job_file, profile, interactive=True)
    (cluster,) = [d for d in docs if d["kind"] == "DaskCluster"]
    api.kubectl("apply", "-f", "-", input=k8s.to_yaml([cluster]))
    name = cluster["metadata"]["name"]
    _wait("interactive scheduler Deployment", lambda: api.get(
        "-n", NS, "deployments", "-l",
        f"dask.org/cluster-name={name},dask.org/component=scheduler")["items"], timeout=90)


def test_the_server_rejects_a_broken_daskjob(api, profile, job_file):
    from brgvc.deploy import kubernetes as k8s

    docs = k8s.render_manifests(job_file, profile)
    (bad,) = [d for d in docs if d["kind"] == "DaskJob"]
    bad["metadata"]["name"] += "-bad"
    bad["spec"]["cluster"]["spec"]["worker"]["replicas"] = "four"
    res = api.kubectl("create", "--validate=false", "-f", "-", input=k8s.to_yaml([bad]),
                      check=False)
    assert res.returncode != 0 and "replicas" in res.stderr


def test_cronjob_fires_and_its_service_account_can_only_create_daskjobs(api, profile, job_file):
    """kube-controller-manager fires the CronJob at the next minute; its pod stays Pending, so
    the pod's command is run here with the ServiceAccount's own token instead."""
    from brgvc.deploy import kubernetes as k8s

    created = k8s.submit_schedule(job_file, profile).split()
    assert created[-1] == "cronjob/tier-sweep-sweep"
    sa = f"system:serviceaccount:{NS}:tier-sweep-sweeper"
    can = {verb_res: api.kubectl("auth", "can-i", *verb_res.split(), "-n", NS, "--as", sa,
                                 check=False).stdout.strip()
           for verb_res in ("create daskjobs.kubernetes.dask.org",
                            "list daskjobs.kubernetes.dask.org",
                            "delete daskjobs.kubernetes.dask.org", "create pods",
                            "get secrets", "create deployments")}
    assert can == {"create daskjobs.kubernetes.dask.org": "yes",
                   "list daskjobs.kubernetes.dask.org": "yes",
                   "delete daskjobs.kubernetes.dask.org": "no", "create pods": "no",
                   "get secrets": "no", "create deployments": "no"}
    jobs = _wait("a Job created by the CronJob", lambda: api.get(
        "-n", NS, "jobs", "-l", "app.kubernetes.io/component=schedule")["items"],
        timeout=90, every=2)
    pod_spec = jobs[0]["spec"]["template"]["spec"]
    assert pod_spec["serviceAccountName"] == "tier-sweep-sweeper"

    # What the CronJob's pod would run, with the ServiceAccount's token (TokenRequest API).
    req = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                      "spec": {"expirationSeconds": 600}})
    tok = json.loads(api.kubectl("create", "--raw", f"/api/v1/namespaces/{NS}/serviceaccounts/"
                                 "tier-sweep-sweeper/token", "-f", "-", input=req).stdout)
    kc = yaml.safe_load(api.kubeconfig.read_text())
    kc["users"][0]["user"] = {"token": tok["status"]["token"]}
    sa_kubeconfig = api.state / "sa.kubeconfig"
    sa_kubeconfig.write_text(yaml.safe_dump(kc))
    template = api.state / "daskjob.yaml"
    template.write_text(api.get("-n", NS, "configmap", "tier-sweep-schedule")["data"][
        "daskjob.yaml"])
    env = {**os.environ, "KUBECONFIG": str(sa_kubeconfig), "PYTHONWARNINGS": "ignore"}
    # the pod's own command: `brgvc k8s create-run /template/daskjob.yaml`
    cmd = [str(Path(sys.executable).with_name("brgvc")), "k8s", "create-run", str(template)]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and first.stdout.startswith("created daskjob/tier-sweep-"), \
        first.stderr
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and second.stdout.startswith("skipped"), second.stderr
