"""Offline tests of the Kubernetes manifests brgvc renders (no API server, no network).

Every manifest is validated twice: built-in kinds with kubernetes-validate (strict, Kubernetes
``K8S_SCHEMA_VERSION``) and Dask kinds with the CRD schemas shipped in the dask-kubernetes
wheel (strict: unknown fields are errors), their embedded pod specs with kubernetes-validate
too. The API-server tier (tests/test_k8s_tier.py) applies the same manifests for real.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

pytest.importorskip("kubernetes_validate")
pytest.importorskip("dask_kubernetes")

from brgvc.deploy import kubernetes as k8s

ROOT = Path(__file__).resolve().parents[1]
K8S_DIR = ROOT / "cluster" / "k8s"
PROFILE = K8S_DIR / "profile.yaml"
EXAMPLE_JOB = K8S_DIR / "example-job.yaml"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)

JOB_TEXT = """\
# a small scheduled job
name: weekly_sweep
data: wiod2013
years: [2010, 2011]
measures: [vby]
draws: {n: 2, block: 3, seed: 1}
schedule: {cron: "0 3 * * 1", timezone: Europe/Berlin}
"""


def _profile(**over: Any) -> dict[str, Any]:
    prof = yaml.safe_load(PROFILE.read_text())
    prof["workers"]["memory"] = "2Gi"  # no planning: fast
    for key, value in over.items():
        prof[key] = value
    return prof


@pytest.fixture(scope="module")
def job_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("k8s") / "weekly_sweep.yaml"
    p.write_text(JOB_TEXT)
    return p


@pytest.fixture(scope="module")
def rendered(job_file: Path) -> list[dict[str, Any]]:
    return k8s.render_manifests(job_file, _profile(), interactive=True, now=NOW)


@pytest.fixture(scope="module")
def cron_docs(job_file: Path) -> list[dict[str, Any]]:
    return k8s.render_cronjob(job_file, _profile())


@pytest.fixture(scope="module")
def examples() -> dict[str, str]:
    return k8s.example_files("cluster/k8s/example-job.yaml", "cluster/k8s/profile.yaml",
                             "cluster/k8s")


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The only manifest of ``kind`` in ``docs``."""
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


def _all_docs(rendered, cron_docs, examples) -> list[dict[str, Any]]:
    docs = [*rendered, *cron_docs]
    for d in cron_docs:  # the DaskJob template inside the schedule's ConfigMap
        if d["kind"] == "ConfigMap" and k8s.TEMPLATE_KEY in d["data"]:
            docs += list(yaml.safe_load_all(d["data"][k8s.TEMPLATE_KEY]))
    for text in examples.values():
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container of a manifest (pods embedded in Dask kinds and CronJobs included)."""
    out = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("containers", "initContainers") and isinstance(v, list):
                    out.extend(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return out


# ---------------------------------------------------------------------------------------------
# validation against the Kubernetes and Dask CRD schemas
# ---------------------------------------------------------------------------------------------


def test_every_rendered_manifest_validates(rendered, cron_docs, examples):
    docs = _all_docs(rendered, cron_docs, examples)
    kinds = {d["kind"] for d in docs}
    assert {"ConfigMap", "DaskJob", "DaskCluster", "CronJob", "ServiceAccount", "Role",
            "RoleBinding", "NetworkPolicy"} <= kinds
    for doc in docs:
        assert k8s.validate_manifest(doc) == [], (doc["kind"], doc["metadata"]["name"])


def test_manifests_also_validate_with_tls_off_and_object_store(job_file):
    prof = _profile(tls={"enabled": False},
                    storage={"url": "s3://bucket/brgvc", "secret": "brgvc-s3",
                             "secret_env": {"AWS_ACCESS_KEY_ID": "access-key-id",
                                            "AWS_SECRET_ACCESS_KEY": "secret-access-key"}},
                    secret_env={"HTTPS_PROXY_PASSWORD": {"secret": "proxy", "key": "pw"}},
                    image_pull_secrets=["regcred"], env={"OMP_NUM_THREADS": "1"})
    prof["storage"]["pvc"] = None
    docs = k8s.render_manifests(job_file, prof, interactive=True, now=NOW)
    for doc in docs:
        assert k8s.validate_manifest(doc) == [], doc["kind"]
    djob = _one(docs, "DaskJob")
    runner = djob["spec"]["job"]["spec"]["containers"][0]
    assert runner["command"][-1] == "s3://bucket/brgvc/weekly-sweep/$(BRGVC_RUN_STAMP)"
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in runner["env"] if "valueFrom" in e
            and "secretKeyRef" in e["valueFrom"]}
    assert refs["AWS_SECRET_ACCESS_KEY"] == {"name": "brgvc-s3", "key": "secret-access-key"}
    addr = next(e["value"] for e in runner["env"] if e["name"] == "DASK_SCHEDULER_ADDRESS")
    assert addr.startswith("tcp://")
    # an object store: the pods may reach port 443 (any address: no storage_cidrs given)
    net = next(d for d in docs if d["metadata"]["name"] == djob["metadata"]["name"] + "-dask")
    assert {"ports": [{"protocol": "TCP", "port": 443}]} in net["spec"]["egress"]


def test_kubernetes_validate_catches_a_broken_builtin_manifest(cron_docs):
    cronjob = next(d for d in cron_docs if d["kind"] == "CronJob")
    bad = copy.deepcopy(cronjob)
    bad["spec"]["jobTemplate"]["spec"]["backoffLimit"] = "one"
    assert any("backoffLimit" in e for e in k8s.validate_manifest(bad))
    typo = copy.deepcopy(cronjob)
    typo["spec"]["concurrencyPolicyy"] = "Forbid"
    assert k8s.validate_manifest(typo)  # strict: unknown field
    assert k8s.validate_manifest(typo, strict=False) == []
    unknown = {**cronjob, "apiVersion": "batch/v1beta1"}  # not served since 1.25
    assert any("find schema" in e for e in k8s.validate_manifest(unknown))


def test_crd_schema_catches_every_error_of_a_broken_daskjob(rendered):
    djob = copy.deepcopy(_one(rendered, "DaskJob"))
    worker = djob["spec"]["cluster"]["spec"]["worker"]
    worker["replicas"] = "four"
    port = djob["spec"]["cluster"]["spec"]["scheduler"]["spec"]["containers"][0]["ports"][0]
    port["containerPort"] = "eighty"
    del worker["spec"]["containers"][0]["name"]
    djob["spec"]["job"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    errors = k8s.validate_manifest(djob)
    text = "\n".join(errors)
    assert "'four' is not of type 'integer'" in text
    assert "'eighty' is not of type 'integer'" in text
    assert "'name' is a required property" in text
    assert "imagePullPolicyy" in text
    cluster = copy.deepcopy(_one(rendered, "DaskCluster"))
    cluster["spec"]["scheduler"].pop("service")
    assert any("'service' is a required property" in e for e in k8s.validate_manifest(cluster))


# ---------------------------------------------------------------------------------------------
# dask commands, TLS, exposure, security context
# ---------------------------------------------------------------------------------------------


def _commands(doc: dict[str, Any]) -> list[list[str]]:
    return [list(c.get("command", [])) + list(c.get("args", [])) for c in _containers(doc)]


def test_every_container_calls_dask_scheduler_or_dask_worker_never_the_old_scripts(
        rendered, cron_docs, examples):
    seen = set()
    for doc in _all_docs(rendered, cron_docs, examples):
        for argv in _commands(doc):
            assert argv, "every container states its command"
            assert not {"dask-scheduler", "dask-worker"} & set(argv), argv
            assert not any(re.search(r"(^|/)dask-(scheduler|worker)$", a) for a in argv), argv
            seen.add(tuple(argv[:2]))
    # one CLI: the CronJob's pod runs `brgvc k8s create-run`, not `python -m ...`
    assert {("dask", "scheduler"), ("dask", "worker"), ("brgvc", "run"), ("brgvc", "k8s")} == seen


def test_the_upstream_helper_still_writes_the_removed_scripts():
    """Why brgvc builds its own specs: dask-kubernetes' make_cluster_spec uses dask-scheduler."""
    from dask_kubernetes.operator import make_cluster_spec

    spec = make_cluster_spec("x", image="img")
    argv = [a for part in ("scheduler", "worker") for c in spec["spec"][part]["spec"]["containers"]
            for a in c.get("args", [])]
    assert "dask-scheduler" in argv or "dask-worker" in argv


def test_tls_between_all_dask_pods_and_a_clusterip_scheduler(rendered):
    djob = _one(rendered, "DaskJob")
    cluster = djob["spec"]["cluster"]["spec"]
    sched = cluster["scheduler"]["spec"]["containers"][0]
    worker = cluster["worker"]["spec"]["containers"][0]
    runner = djob["spec"]["job"]["spec"]["containers"][0]
    for c in (sched, worker):
        argv = c["args"]
        assert argv[argv.index("--protocol") + 1] == "tls"
        for flag, file in (("--tls-ca-file", "ca.crt"), ("--tls-cert", "tls.crt"),
                           ("--tls-key", "tls.key")):
            assert argv[argv.index(flag) + 1] == f"/etc/dask/tls/{file}"
    for c in (sched, worker, runner):
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["DASK_SCHEDULER_ADDRESS"].startswith("tls://$(BRGVC_DASK_CLUSTER)-scheduler.")
        assert env["DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION"] == "True"
        assert {"name": "dask-tls", "mountPath": "/etc/dask/tls", "readOnly": True} in \
            c["volumeMounts"]
    env = {e["name"]: e.get("value") for e in runner["env"]}
    assert env["DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY"] == "/etc/dask/tls/tls.key"
    vols = {v["name"]: v for v in djob["spec"]["job"]["spec"]["volumes"]}
    assert vols["dask-tls"]["secret"]["secretName"] == "brgvc-dask-tls"
    assert cluster["scheduler"]["service"]["type"] == "ClusterIP"
    assert worker["args"][:3] == ["dask", "worker", "$(DASK_SCHEDULER_ADDRESS)"]


def test_runner_command_job_configmap_and_dated_output(rendered, job_file):
    cm, djob, dcluster = (_one(rendered, k) for k in ("ConfigMap", "DaskJob", "DaskCluster"))
    assert cm["data"]["job.yaml"] == JOB_TEXT  # verbatim: data, never code
    assert djob["metadata"]["name"] == "weekly-sweep-20261130-120000"
    assert cm["metadata"]["name"] == "weekly-sweep-20261130-120000-job"
    runner_pod = djob["spec"]["job"]["spec"]
    runner = runner_pod["containers"][0]
    assert runner["command"] == ["brgvc", "run", "/config/job.yaml", "--cluster",
                                 "$(DASK_SCHEDULER_ADDRESS)", "--out",
                                 "/results/weekly-sweep/$(BRGVC_RUN_STAMP)"]
    env = {e["name"]: e.get("value") for e in runner["env"]}
    assert env["BRGVC_RUN_STAMP"] == "2026-11-30T1200"
    vols = {v["name"]: v for v in runner_pod["volumes"]}
    assert vols["job-spec"]["configMap"]["name"] == cm["metadata"]["name"]
    assert vols["results"]["persistentVolumeClaim"]["claimName"] == "brgvc-results"
    assert runner_pod["restartPolicy"] == "Never"
    sched = djob["spec"]["cluster"]["spec"]["scheduler"]
    assert sched["service"]["selector"]["dask.org/cluster-name"] == djob["metadata"]["name"]
    assert dcluster["metadata"]["name"] == "weekly-sweep"
    assert dcluster["spec"]["scheduler"]["service"]["selector"]["dask.org/cluster-name"] == \
        "weekly-sweep"
    for doc in rendered:
        assert doc["metadata"]["namespace"] == "brgvc"


def test_pods_run_unprivileged_without_api_tokens(rendered, cron_docs):
    djob = _one(rendered, "DaskJob")
    pods = [djob["spec"]["job"]["spec"],
            djob["spec"]["cluster"]["spec"]["scheduler"]["spec"],
            djob["spec"]["cluster"]["spec"]["worker"]["spec"]]
    for pod in pods:
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == k8s.RUN_AS_USER
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"] == {"drop": ["ALL"]}
    creator = next(d for d in cron_docs if d["kind"] == "CronJob")[
        "spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert creator["serviceAccountName"] == "weekly-sweep-sweeper"


def test_worker_resources_given_or_sized_from_the_plan(job_file, rendered):
    worker = _one(rendered, "DaskJob")["spec"]["cluster"]["spec"]["worker"]
    c = worker["spec"]["containers"][0]
    assert worker["replicas"] == 4
    assert c["resources"] == {"requests": {"memory": "2Gi", "cpu": "1"},
                              "limits": {"memory": "2Gi"}}
    assert c["args"][c["args"].index("--memory-limit") + 1] == str(2 * 2**30)
    assert c["args"][c["args"].index("--nthreads") + 1] == "1"

    from brgvc.runner import plan_job

    peak = plan_job(job_file, job_file.parent / "no-such-out").memory_per_worker
    step = k8s.MEMORY_STEP_MI * 2**20
    expect = f"{math.ceil(peak / k8s.PAUSE_FRACTION / step) * k8s.MEMORY_STEP_MI}Mi"
    prof = _profile()
    prof["workers"]["memory"] = "auto"
    template, _ = k8s.daskjob_template(job_file, prof)
    res = template["spec"]["cluster"]["spec"]["worker"]["spec"]["containers"][0]["resources"]
    assert res["limits"]["memory"] == expect
    assert k8s._quantity_bytes(expect) >= peak / k8s.PAUSE_FRACTION


def test_auto_memory_without_local_data_asks_for_a_number(tmp_path):
    job = tmp_path / "remote.yaml"
    job.write_text("data: /results/data/exio3.zarr\nyears: [2000]\nmeasures: [vby]\n")
    prof = _profile()
    prof["workers"]["memory"] = "auto"
    with pytest.raises(ValueError, match=r"give workers\.memory explicitly"):
        k8s.render_manifests(job, prof, now=NOW)
    prof["workers"]["memory"] = "6Gi"  # the data lives in the cluster: fine when sized
    docs = k8s.render_manifests(job, prof, now=NOW)
    assert all(k8s.validate_manifest(d) == [] for d in docs)


# ---------------------------------------------------------------------------------------------
# secrets and code never enter a manifest
# ---------------------------------------------------------------------------------------------

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("where", [
    ("storage", "secret_access_key"),
    ("storage", "access_key"),
    ("env", "AWS_SECRET_ACCESS_KEY"),
    ("env", "DB_PASSWORD"),
    ("tls", "private_key"),
    (None, "token"),
])
def test_a_profile_with_a_secret_value_is_refused_without_echoing_it(job_file, where):
    section, key = where
    prof = _profile()
    if section is None:
        prof[key] = SECRET
    else:
        prof.setdefault(section, {})[key] = SECRET
    with pytest.raises(ValueError, match="never hold secret values") as exc:
        k8s.render_manifests(job_file, prof, now=NOW)
    assert SECRET not in str(exc.value)
    with pytest.raises(ValueError):
        k8s.submit(job_file, prof, dry_run=True)


@pytest.mark.parametrize("value", [
    "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----",
    "AKIAIOSFODNN7EXAMPLE",
])
def test_a_secret_looking_value_under_any_key_is_refused(job_file, value):
    prof = _profile(env={"SOME_SETTING": value})
    with pytest.raises(ValueError, match="secret") as exc:
        k8s.render_manifests(job_file, prof, now=NOW)
    assert value not in str(exc.value)
    prof = _profile(labels={"owner": value})
    with pytest.raises(ValueError) as exc:
        k8s.load_k8s_profile(prof)
    assert value not in str(exc.value)


def test_secret_references_render_and_no_value_reaches_the_output(job_file, tmp_path):
    """Credentials enter only as secretKeyRef / secret volumes; schema errors hide values."""
    prof = _profile(secret_env={"AWS_SECRET_ACCESS_KEY": {"secret": "s3", "key": "key"}})
    text = k8s.submit(job_file, prof, dry_run=True)
    assert "secretKeyRef" in text and SECRET not in text
    bad = _profile(image_pull_secrets=[SECRET])  # a value where a name belongs
    with pytest.raises(ValueError) as exc:
        k8s.load_k8s_profile(bad)
    assert SECRET not in str(exc.value)
    f = tmp_path / "profile.yaml"
    f.write_text(yaml.safe_dump(_profile(workers={"replicas": SECRET})))
    with pytest.raises(ValueError, match=r"workers\.replicas") as exc:
        k8s.load_k8s_profile(f)
    assert SECRET not in str(exc.value)


def test_the_job_spec_cannot_execute_code(tmp_path):
    marker = tmp_path / "pwned"
    job = tmp_path / "evil.yaml"
    job.write_text(f"data: wiod2013\nmeasures: [vby]\n"
                   f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ValueError, match="plain-data YAML"):
        k8s.render_manifests(job, _profile(), now=NOW)
    assert not marker.exists()


def test_invalid_jobs_and_profiles_are_refused(tmp_path, job_file):
    rel = tmp_path / "rel.yaml"
    rel.write_text("data: data/cube.zarr\nyears: [2000]\nmeasures: [vby]\n")
    with pytest.raises(ValueError, match="relative path"):
        k8s.render_manifests(rel, _profile(), now=NOW)
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: wiod2013\nmeasures: [no_such_measure]\n")
    with pytest.raises(ValueError, match="measures"):
        k8s.render_manifests(bad, _profile(), now=NOW)
    with pytest.raises(ValueError, match="exactly one of 'pvc'"):
        k8s.load_k8s_profile({"image": "x", "storage": {"pvc": "a", "url": "s3://b/c"}})
    with pytest.raises(ValueError, match="Additional properties"):
        k8s.load_k8s_profile({"image": "x", "storage": {"pvc": "a"}, "replicas": 3})
    with pytest.raises(ValueError, match="service_type"):
        k8s.load_k8s_profile({"image": "x", "storage": {"pvc": "a"},
                              "scheduler": {"service_type": "External"}})
    no_sched = tmp_path / "nosched.yaml"
    no_sched.write_text("data: wiod2013\nyears: [2010]\nmeasures: [vby]\n")
    with pytest.raises(ValueError, match="no 'schedule'"):
        k8s.render_cronjob(no_sched, _profile())


# ---------------------------------------------------------------------------------------------
# CronJob and its creator
# ---------------------------------------------------------------------------------------------


def test_cronjob_schedule_policy_history_deadline_and_minimal_rbac(cron_docs):
    by = {d["kind"]: d for d in cron_docs}
    spec = by["CronJob"]["spec"]
    assert spec["schedule"] == "0 3 * * 1"
    assert spec["timeZone"] == "Europe/Berlin"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] == 3 and spec["failedJobsHistoryLimit"] == 3
    assert spec["startingDeadlineSeconds"] == 600
    assert by["Role"]["rules"] == [{"apiGroups": ["kubernetes.dask.org"],
                                    "resources": ["daskjobs"],
                                    "verbs": ["create", "get", "list"]}]
    assert by["RoleBinding"]["subjects"][0]["name"] == by["ServiceAccount"]["metadata"]["name"]
    template = yaml.safe_load(by["ConfigMap"]["data"]["daskjob.yaml"])
    assert template["metadata"]["labels"]["brgvc.io/schedule"] == "weekly-sweep"
    assert by["ConfigMap"]["data"]["job.yaml"] == JOB_TEXT
    vol = template["spec"]["job"]["spec"]["volumes"]
    assert {"name": by["ConfigMap"]["metadata"]["name"],
            "items": [{"key": "job.yaml", "path": "job.yaml"}]} in [
        v.get("configMap") for v in vol]


def test_cronjob_for_old_servers_has_no_timezone(job_file):
    docs = k8s.render_cronjob(job_file, _profile(), api_version="batch/v1beta1")
    cj = next(d for d in docs if d["kind"] == "CronJob")
    assert cj["apiVersion"] == "batch/v1beta1" and "timeZone" not in cj["spec"]


def test_instantiate_daskjob_names_selects_and_stamps(cron_docs):
    cm = next(d for d in cron_docs if d["kind"] == "ConfigMap")
    template = yaml.safe_load(cm["data"]["daskjob.yaml"])
    when = dt.datetime(2026, 12, 7, 4, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    run = k8s.instantiate_daskjob(template, when)
    assert run["metadata"]["name"] == "weekly-sweep-20261207-030005"
    assert run["spec"]["cluster"]["spec"]["scheduler"]["service"]["selector"][
        "dask.org/cluster-name"] == run["metadata"]["name"]
    env = {e["name"]: e.get("value")
           for e in run["spec"]["job"]["spec"]["containers"][0]["env"]}
    assert env["BRGVC_RUN_STAMP"] == "2026-12-07T0300"
    assert template["metadata"]["name"] == "weekly-sweep-run"  # not modified
    assert k8s.validate_manifest(run) == []


class _FakeDaskJob:
    created: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, doc: dict[str, Any], api: Any = None) -> None:
        self.raw = doc
        self.name = doc["metadata"]["name"]

    def create(self) -> None:
        _FakeDaskJob.created.append(self.raw)


class _FakeApi:
    def __init__(self, existing: list[dict[str, Any]]) -> None:
        self.existing = existing
        self.queries: list[dict[str, Any]] = []

    def get(self, cls: Any, namespace: str, label_selector: dict[str, str]) -> list[Any]:
        self.queries.append({"namespace": namespace, "label_selector": label_selector})
        return [_FakeDaskJob(d) for d in self.existing]


def test_create_scheduled_run_skips_while_an_earlier_run_is_going(cron_docs, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setattr(k8s, "_kr8s_class", lambda kind: _FakeDaskJob)
    cm = next(d for d in cron_docs if d["kind"] == "ConfigMap")
    tpl = tmp_path / "daskjob.yaml"
    tpl.write_text(cm["data"]["daskjob.yaml"])
    _FakeDaskJob.created = []
    old = {"metadata": {"name": "weekly-sweep-20261130-030000"}, "status": {"jobStatus":
                                                                          "Running"}}
    api = _FakeApi([old])
    assert k8s.create_scheduled_run(tpl, now=NOW, api=api) is None
    assert api.queries == [{"namespace": "brgvc",
                            "label_selector": {"brgvc.io/schedule": "weekly-sweep"}}]
    assert _FakeDaskJob.created == []
    old["status"]["jobStatus"] = "Successful"
    assert k8s.create_scheduled_run(tpl, now=NOW, api=api) == "weekly-sweep-20261130-120000"
    assert [d["metadata"]["name"] for d in _FakeDaskJob.created] == [
        "weekly-sweep-20261130-120000"]


# ---------------------------------------------------------------------------------------------
# submit, documented templates, Dockerfile
# ---------------------------------------------------------------------------------------------


def test_submit_dry_run_returns_the_manifests_as_yaml(job_file):
    text = k8s.submit(job_file, _profile(), dry_run=True)
    docs = list(yaml.safe_load_all(text))
    assert [d["kind"] for d in docs] == ["ConfigMap", *["NetworkPolicy"] * 3, "DaskJob"]
    assert docs[0]["data"]["job.yaml"] == JOB_TEXT
    assert "&id" not in text and "*id" not in text  # no YAML aliases
    sched = k8s.submit_schedule(job_file, _profile(), dry_run=True)
    assert [d["kind"] for d in yaml.safe_load_all(sched)][-1] == "CronJob"


def test_submit_without_a_reachable_api_server_fails_fast(job_file, tmp_path):
    pytest.importorskip("kr8s")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "none",
        "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "none", "context": {"cluster": "none", "user": "u"}}],
    }))
    t0 = time.perf_counter()
    with pytest.raises(Exception) as exc:
        k8s.submit(job_file, _profile(kubeconfig=str(kubeconfig)))
    assert time.perf_counter() - t0 < 30
    assert "connect" in (type(exc.value).__name__ + str(exc.value)).lower()


def test_documented_templates_match_what_brgvc_renders(examples):
    for name, text in examples.items():
        path = K8S_DIR / name
        assert path.read_text() == text, (
            f"{path} is stale: run `brgvc k8s examples "
            "cluster/k8s/example-job.yaml cluster/k8s/profile.yaml cluster/k8s`")


def test_dockerfile_pins_from_constraints_and_runs_as_non_root():
    text = (K8S_DIR / "Dockerfile").read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    assert re.search(r"pip install -c constraints\.txt \"\.\[k8s\]\"", text)
    user = [ln for ln in lines if ln.startswith("USER ")]
    assert user and user[-1] == f"USER {k8s.RUN_AS_USER}:{k8s.RUN_AS_USER}"
    assert (ROOT / "constraints.txt").exists()
