"""Security guardrails of the Kubernetes manifests (offline; issue 12).

* an exposed scheduler (NodePort/LoadBalancer) without TLS, without source ranges, or with the
  unauthenticated dashboard is refused at render time, naming the profile key;
* the dashboard is off by default (``--no-dashboard``, health-only HTTP routes, no Service
  port); turned on it stays behind ClusterIP (kubectl port-forward);
* every run, interactive cluster and schedule gets NetworkPolicies whose selectors match the
  pods that the Dask operator's own builders create, and nothing else;
* credentials in a profile (or in the job spec shipped as a ConfigMap) are refused without
  being echoed; references (secretKeyRef) pass;
* images can be pinned by digest, and ``require_digest`` refuses tag-only images.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("kubernetes_validate")
pytest.importorskip("dask_kubernetes")

from brgvc.deploy import kubernetes as k8s

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "cluster" / "k8s" / "profile.yaml"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
DIGEST = "sha256:" + "0123456789abcdef" * 4
JOB_TEXT = ("name: weekly_sweep\ndata: wiod2013\nyears: [2010]\nmeasures: [vby]\n"
            "schedule: {cron: '0 3 * * 1', timezone: UTC}\n")


def _profile(**over: Any) -> dict[str, Any]:
    prof = yaml.safe_load(PROFILE.read_text())
    prof["workers"]["memory"] = "2Gi"  # no planning: fast
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(prof.get(key), dict):
            prof[key] = {**prof[key], **value}
        else:
            prof[key] = value
    return prof


@pytest.fixture(scope="module")
def job_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("k8s-sec") / "weekly_sweep.yaml"
    p.write_text(JOB_TEXT)
    return p


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


def _named(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["metadata"]["name"] == name]
    return doc


# ---------------------------------------------------------------------------------------------
# exposure and dashboard
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scheduler", "tls", "key", "words"), [
    ({"service_type": "LoadBalancer"}, False, "scheduler.service_type", "tls.enabled is false"),
    ({"service_type": "NodePort", "allowed_cidrs": ["10.0.0.0/8"]}, False,
     "scheduler.service_type", "tls.enabled is false"),
    ({"service_type": "LoadBalancer"}, True, "scheduler.allowed_cidrs", "address ranges"),
    ({"service_type": "NodePort", "dashboard": True, "allowed_cidrs": ["10.0.0.0/8"]}, True,
     "scheduler.dashboard", "no authentication"),
    ({"service_type": "LoadBalancer", "allowed_cidrs": ["10.0.0.300/8"]}, True,
     "scheduler.allowed_cidrs[0]", "not a CIDR"),
    ({"service_type": "ClusterIP", "allowed_cidrs": ["10.0.0.0/8"]}, True,
     "scheduler.allowed_cidrs", "only for an exposed"),
])
def test_an_exposed_scheduler_is_refused_without_tls_ranges_or_with_the_dashboard(
        job_file, scheduler, tls, key, words):
    prof = _profile(scheduler=scheduler, tls={"enabled": tls})
    with pytest.raises(ValueError) as exc:
        k8s.render_manifests(job_file, prof, now=NOW)
    msg = str(exc.value)
    assert msg.startswith(f"profile: {key}: ") and words in msg and "\n" not in msg
    with pytest.raises(ValueError, match=key.replace("[", r"\[").replace(".", r"\.")):
        k8s.render_cronjob(job_file, prof)


def test_an_exposed_scheduler_with_tls_is_limited_to_its_source_ranges(job_file):
    prof = _profile(scheduler={"service_type": "LoadBalancer",
                               "allowed_cidrs": ["203.0.113.0/24", "2001:db8::/32"]})
    docs = k8s.render_manifests(job_file, prof, now=NOW)
    assert all(k8s.validate_manifest(d) == [] for d in docs)
    djob = _one(docs, "DaskJob")
    svc = djob["spec"]["cluster"]["spec"]["scheduler"]["service"]
    assert svc["type"] == "LoadBalancer"
    assert svc["loadBalancerSourceRanges"] == ["203.0.113.0/24", "2001:db8::/32"]
    assert svc["externalTrafficPolicy"] == "Local"  # client addresses reach the policy
    assert [p["port"] for p in svc["ports"]] == [k8s.SCHEDULER_PORT]  # no dashboard port
    pol = _named(docs, djob["metadata"]["name"] + "-scheduler")
    (rule,) = pol["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": k8s.SCHEDULER_PORT}]
    assert [f["ipBlock"]["cidr"] for f in rule["from"] if "ipBlock" in f] == [
        "203.0.113.0/24", "2001:db8::/32"]


def _scheduler(docs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    sched = _one(docs, "DaskJob")["spec"]["cluster"]["spec"]["scheduler"]
    return sched["spec"]["containers"][0], sched["service"]


def test_the_dashboard_is_off_by_default_and_behind_clusterip_when_asked_for(job_file):
    c, svc = _scheduler(k8s.render_manifests(job_file, _profile(), now=NOW))
    assert "--no-dashboard" in c["args"] and "--dashboard" not in c["args"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES"] == "['distributed.http.health']"
    assert svc["type"] == "ClusterIP"
    assert [p["name"] for p in svc["ports"]] == ["tcp-comm"]
    assert c["readinessProbe"]["httpGet"] == {"port": "http-health", "path": "/health"}
    worker = _one(k8s.render_manifests(job_file, _profile(), now=NOW), "DaskJob")[
        "spec"]["cluster"]["spec"]["worker"]["spec"]["containers"][0]
    assert "--no-dashboard" in worker["args"]

    docs = k8s.render_manifests(job_file, _profile(scheduler={"dashboard": True}), now=NOW)
    assert all(k8s.validate_manifest(d) == [] for d in docs)
    c, svc = _scheduler(docs)
    assert "--dashboard" in c["args"] and "--no-dashboard" not in c["args"]
    assert not any(e["name"].endswith("__HTTP__ROUTES") for e in c["env"])
    assert svc["type"] == "ClusterIP"
    assert [p["port"] for p in svc["ports"]] == [k8s.SCHEDULER_PORT, k8s.DASHBOARD_PORT]
    # no pod may reach the dashboard port: only kubectl port-forward (not subject to policies)
    run = _one(docs, "DaskJob")["metadata"]["name"]
    for pol in (d for d in docs if d["kind"] == "NetworkPolicy"):
        for rule in pol["spec"].get("ingress", []):
            assert k8s.DASHBOARD_PORT not in [p["port"] for p in rule["ports"]], run


# ---------------------------------------------------------------------------------------------
# NetworkPolicies against the pods the operator creates
# ---------------------------------------------------------------------------------------------


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels and In/NotIn/Exists)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        val = labels.get(e["key"])
        ok = {"In": val in e.get("values", []), "NotIn": val not in e.get("values", []),
              "Exists": e["key"] in labels, "DoesNotExist": e["key"] not in labels}[e["operator"]]
        if not ok:
            return False
    return True


def _operator_pods(djob: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Labels of the scheduler, worker and runner pods, built by the operator's own code
    along the same chain as its handlers (DaskJob -> DaskCluster -> Deployments/Pod)."""
    from dask_kubernetes.operator.controller import controller as op

    name, ns = djob["metadata"]["name"], djob["metadata"]["namespace"]
    job_labels = dict(djob["metadata"]["labels"])
    cspec = djob["spec"]["cluster"]["spec"]
    cluster = op.build_cluster_spec(name, cspec["worker"], cspec["scheduler"], {}, job_labels)
    clabels = cluster["metadata"]["labels"]
    sched = op.build_scheduler_deployment_spec(
        name, cspec["scheduler"]["spec"], {}, {**clabels, **cspec["scheduler"]["metadata"][
            "labels"]})
    wg = op.build_default_worker_group_spec(name, cspec["worker"], {},
                                            {**clabels, **cspec["worker"]["metadata"]["labels"]})
    worker = op.build_worker_deployment_spec(
        wg["metadata"]["name"], ns, name, "abc12", cspec["worker"]["spec"], {},
        {**wg["metadata"]["labels"], **cspec["worker"]["metadata"]["labels"]})
    runner = op.build_job_pod_spec(name, name, ns, djob["spec"]["job"]["spec"], {}, job_labels)
    return {"scheduler": sched["spec"]["template"]["metadata"]["labels"],
            "worker": worker["spec"]["template"]["metadata"]["labels"],
            "job-runner": runner["metadata"]["labels"]}


def _check_policies(policies: list[dict[str, Any]], pods: dict[str, dict[str, str]],
                    stranger: dict[str, str]) -> None:
    by_role = {p["metadata"]["name"].rsplit("-", 1)[1]: p["spec"] for p in policies}
    dask, sched, work = by_role["dask"], by_role["scheduler"], by_role["worker"]
    everyone = {**pods, "stranger": stranger}
    selected = {r for r, lab in everyone.items() if _matches(dask["podSelector"], lab)}
    assert selected == {"scheduler", "worker", "job-runner"}
    assert dask["policyTypes"] == ["Ingress", "Egress"] and dask["ingress"] == []
    assert {r for r, lab in everyone.items() if _matches(sched["podSelector"], lab)} == {
        "scheduler"}
    assert {r for r, lab in everyone.items() if _matches(work["podSelector"], lab)} == {
        "worker"}
    (rule,) = sched["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": k8s.SCHEDULER_PORT}]
    may = {r for r, lab in everyone.items()
           if any(_matches(f["podSelector"], lab) for f in rule["from"] if "podSelector" in f)}
    assert may == {"worker", "job-runner"}
    (rule,) = work["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": k8s.WORKER_PORT},
                             {"protocol": "TCP", "port": k8s.NANNY_PORT}]
    may = {r for r, lab in everyone.items() if _matches(rule["from"][0]["podSelector"], lab)}
    assert may == {"scheduler", "worker"}
    # egress: DNS, the cluster's own pods, nothing else (results on a PVC: no network)
    assert dask["egress"][0] == {"ports": [{"protocol": "UDP", "port": 53},
                                           {"protocol": "TCP", "port": 53}]}
    (to,) = dask["egress"][1]["to"]
    assert {r for r, lab in everyone.items() if _matches(to["podSelector"], lab)} == {
        "scheduler", "worker", "job-runner"}
    assert len(dask["egress"]) == 2


def test_network_policies_of_a_run_select_exactly_its_operator_built_pods(job_file):
    docs = k8s.render_manifests(job_file, _profile(), now=NOW)
    assert [d["kind"] for d in docs] == ["ConfigMap", *["NetworkPolicy"] * 3, "DaskJob"]
    djob = _one(docs, "DaskJob")
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    for p in policies:
        assert k8s.validate_manifest(p) == []
        assert p["metadata"]["labels"]["brgvc.io/cluster"] == djob["metadata"]["name"]
    # another run of the same job (a later stamp) is a stranger to this run's pods
    other = _operator_pods(_one(k8s.render_manifests(
        job_file, _profile(), now=NOW + dt.timedelta(hours=1)), "DaskJob"))["worker"]
    _check_policies(policies, _operator_pods(djob), other)


def test_network_policies_of_a_schedule_select_every_run_it_creates(job_file):
    docs = k8s.render_cronjob(job_file, _profile())
    tpl = yaml.safe_load(_one(docs, "ConfigMap")["data"][k8s.TEMPLATE_KEY])
    run = k8s.instantiate_daskjob(tpl, NOW)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    creator = _named(policies, "weekly-sweep-sweep-creator")
    policies.remove(creator)
    stranger = {"app.kubernetes.io/component": "dask", "brgvc.io/job": "other-job",
                "dask.org/component": "worker", "dask.org/cluster-name": "x"}
    _check_policies(policies, _operator_pods(run), stranger)
    cron_pod = _one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]
    assert _matches(creator["spec"]["podSelector"], cron_pod["labels"])
    assert creator["spec"]["ingress"] == [] and creator["spec"]["policyTypes"] == ["Ingress"]
    assert all(k8s.validate_manifest(p) == [] for p in [*policies, creator])


def test_storage_egress_clients_and_a_broken_policy(job_file):
    prof = _profile(storage={"pvc": None, "url": "s3://bucket/brgvc"},
                    network={"storage_cidrs": ["198.51.100.0/24"], "storage_ports": [443, 9000],
                             "client_labels": {"app": "notebook"}})
    docs = k8s.render_manifests(job_file, prof, now=NOW)
    run = _one(docs, "DaskJob")["metadata"]["name"]
    egress = _named(docs, f"{run}-dask")["spec"]["egress"]
    assert egress[2] == {"ports": [{"protocol": "TCP", "port": 443},
                                   {"protocol": "TCP", "port": 9000}],
                         "to": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}
    (rule,) = _named(docs, f"{run}-scheduler")["spec"]["ingress"]
    assert {"podSelector": {"matchLabels": {"app": "notebook"}}} in rule["from"]
    bad = _named(docs, f"{run}-worker")
    bad["spec"]["podSelectorr"] = bad["spec"].pop("podSelector")
    assert k8s.validate_manifest(bad) == ["spec: 'podSelector' is a required property"]
    bad["spec"]["podSelector"] = bad["spec"].pop("podSelectorr")
    bad["spec"]["ingress"][0]["fromm"] = bad["spec"]["ingress"][0].pop("from")
    assert k8s.validate_manifest(bad) == [
        "spec.ingress.0: Additional properties are not allowed ('fromm' was unexpected)"]
    with pytest.raises(ValueError, match=r"network\.storage_cidrs\[0\]"):
        k8s.load_k8s_profile(_profile(network={"storage_cidrs": ["bucket.example.org"]}))


# ---------------------------------------------------------------------------------------------
# credentials
# ---------------------------------------------------------------------------------------------

_B64 = "q3Vx9TbR2mKp8LwZ4nYc7HsJ0aFd6GeUi5oB1rXtQvN"  # 43 random base64url characters

# (what, section, key, value): the value is the secret that must never be echoed.
CREDENTIAL_PROFILES = [
    ("URL with user:password", "storage", "url",
     "https://alice:S3cretPa55@minio.example.org/brgvc"),
    ("proxy URL with a password", "env", "HTTPS_PROXY", "http://bob:hunter2xyz@proxy.local:3128"),
    ("Bearer token", "env", "EXTRA_HEADER", "Bearer 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"),
    ("Basic credential", "env", "CURL_HEADER", "Basic YWxpY2U6aHVudGVyMg=="),
    ("AWS access key id in a label", "labels", "owner", "AKIAIOSFODNN7EXAMPLE"),
    ("PEM private key", "env", "SOME_SETTING",
     "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----"),
    ("GitHub token", "env", "CI_HELPER", "ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2),
    ("GitHub fine-grained token", "labels", "note", "github_pat_11ABCDEFG0" + "x" * 30),
    ("GitLab token", "env", "GL", "glpat-" + "Zx9_yW8-vU7tS6rQ5pO4"),
    ("JWT", "env", "CLAIMS",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    ("password-named env with a literal", "env", "DB_PASSWORD", "correct-horse-battery"),
    ("secret-named env with a literal", "env", "APP_SECRET", "plainvalue"),
    ("token-named top-level key", None, "token", "abcdef123456"),
    ("user:pass@ in the image", None, "image", "alice:pa55w0rd@registry.example.org/brgvc:0.1"),
    ("base64 blob in env", "env", "DATA_KEY", _B64),
    ("signed URL", "storage", "url",
     "https://bucket.s3.amazonaws.com/brgvc?X-Amz-Signature=9f86d081884c7d659a2feaa0c55ad015"),
    ("Slack token", "env", "NOTIFY", "xoxb-1234567890-abcdefghij"),
    ("access key under storage", "storage", "access_key", "my-access-key-value"),
    ("authorization header env", "env", "AUTHORIZATION", "opensesame"),
]

# Which detector must fire for each row (each one is exercised at least once).
_URL_PW, _HTTP, _KEY = ("a URL with a user name and password", "an HTTP Bearer/Basic credential",
                        "looks like a credential")
DETECTED_AS = dict(zip([c[0] for c in CREDENTIAL_PROFILES], [
    _URL_PW, _URL_PW, _HTTP, _HTTP, "an AWS access key id", "a private key or certificate block",
    "a GitHub token", "a GitHub token", "a GitLab token", "a JSON web token", _KEY, _KEY, _KEY,
    "a user:password@host credential", "a base64-encoded blob",
    "a signature or password in its query", "a Slack token", _KEY, _KEY], strict=True))


@pytest.mark.parametrize(("what", "section", "key", "value"), CREDENTIAL_PROFILES,
                         ids=[c[0] for c in CREDENTIAL_PROFILES])
def test_a_credential_in_a_profile_is_refused_without_echoing_it(job_file, what, section, key,
                                                                 value):
    prof = _profile()
    if section == "storage" and key == "url":
        prof["storage"] = {**prof["storage"], "pvc": None, "url": value}
    elif section is None:
        prof[key] = value
    else:
        prof[section] = {**(prof.get(section) or {}), key: value}
    with pytest.raises(ValueError, match="never hold secret values") as exc:
        k8s.render_manifests(job_file, prof, now=NOW)
    msg = str(exc.value)
    assert DETECTED_AS[what] in msg
    assert value not in msg and "\n" not in msg
    for part in (value.split(":")[-1].split("@")[0], value[-12:]):  # no piece of it either
        assert part not in msg, (what, msg)


def test_at_least_fourteen_kinds_of_credentials_are_covered():
    assert len(CREDENTIAL_PROFILES) >= 14
    assert len({c[3] for c in CREDENTIAL_PROFILES}) == len(CREDENTIAL_PROFILES)


CLEAN_PROFILES = [
    ("digest-pinned image", {"image": f"ghcr.io/brgvc/brgvc:0.1.0@{DIGEST}"}),
    ("registry with a port", {"image": "registry.example.org:5000/brgvc/brgvc:0.1.0"}),
    ("plain env", {"env": {"OMP_NUM_THREADS": "1", "TZ": "UTC", "JAVA_OPTS": "-Xmx1g",
                           "DATA_ROOT": "/results/data/wiod2013/cube.zarr",
                           "GIT_SHA": "0123456789abcdef0123456789abcdef01234567",
                           "CONTACT": "mailto:ops@example.org",
                           "PIPELINE_NAME": "WeeklyValueChainSweep2026",
                           "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "30s"}}),
    ("secret references", {"secret_env": {"DB_PASSWORD": {"secret": "db", "key": "password"},
                                          "API_TOKEN": {"secret": "api", "key": "token"}},
                           "image_pull_secrets": ["regcred"]}),
    ("object store with a Secret", {"storage": {"pvc": None, "url": "s3://bucket/brgvc",
                                                "secret": "brgvc-s3",
                                                "secret_env": {"AWS_ACCESS_KEY_ID": "id"}}}),
    ("labels", {"labels": {"team": "value-chains", "cost-center": "gvc-2026"}}),
]


@pytest.mark.parametrize(("what", "over"), CLEAN_PROFILES, ids=[c[0] for c in CLEAN_PROFILES])
def test_clean_profiles_pass(job_file, what, over):
    prof = _profile()
    for key, value in over.items():
        prof[key] = {**prof[key], **value} if isinstance(prof.get(key), dict) else value
    docs = k8s.render_manifests(job_file, prof, now=NOW)
    assert all(k8s.validate_manifest(d) == [] for d in docs), what


def test_a_credential_in_the_job_spec_is_refused(tmp_path):
    """The job spec is shipped as ConfigMap data: no password may ride along in it."""
    job = tmp_path / "job.yaml"
    secret = "S3cretPa55word"
    job.write_text(f"name: leak\ndata: s3://alice:{secret}@minio.example.org/cube.zarr\n"
                   "years: [2010]\nmeasures: [vby]\n")
    with pytest.raises(ValueError, match=r"job spec value at 'data' looks like a URL with a "
                                         "user name and password") as exc:
        k8s.render_manifests(job, _profile(), now=NOW)
    assert secret not in str(exc.value) and str(job) in str(exc.value)


# ---------------------------------------------------------------------------------------------
# digest pinning
# ---------------------------------------------------------------------------------------------


def _images(docs: list[dict[str, Any]]) -> set[str]:
    out = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "image" in node and "name" in node:
                out.add(node["image"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for d in docs:
        walk(d)
    return out


def test_images_are_pinned_by_digest_when_given(job_file):
    pinned = f"ghcr.io/brgvc/brgvc:0.1.0@{DIGEST}"
    for prof in (_profile(image_digest=DIGEST), _profile(image=pinned),
                 _profile(image=pinned, image_digest=DIGEST, require_digest=True)):
        docs = [*k8s.render_manifests(job_file, prof, interactive=True, now=NOW),
                *k8s.render_cronjob(job_file, prof)]
        tpl = yaml.safe_load(_one([d for d in docs if d["metadata"]["name"].endswith(
            "-schedule")], "ConfigMap")["data"][k8s.TEMPLATE_KEY])
        assert _images([*docs, tpl]) == {pinned}
    assert _images(k8s.render_manifests(job_file, _profile(), now=NOW)) == {
        "ghcr.io/brgvc/brgvc:0.1.0"}


@pytest.mark.parametrize(("over", "match"), [
    ({"require_digest": True}, r"image: 'ghcr.io/brgvc/brgvc:0.1.0' is not pinned by digest "
                               r"and require_digest is true"),
    ({"image_digest": "sha256:abc"}, r"image_digest: 'sha256:abc' is not 'sha256:' followed"),
    ({"image_digest": "SHA256:" + "A" * 64}, r"image_digest: .* is not 'sha256:'"),
    ({"image": "ghcr.io/brgvc/brgvc@sha256:xyz"}, r"image: the digest after '@' is not"),
    ({"image": f"ghcr.io/brgvc/brgvc@{DIGEST}", "image_digest": "sha256:" + "f" * 64},
     r"image_digest differs from the digest in image"),
])
def test_bad_or_missing_digests_are_refused(job_file, over, match):
    with pytest.raises(ValueError, match=match) as exc:
        k8s.render_manifests(job_file, _profile(**over), now=NOW)
    assert "\n" not in str(exc.value)


# ---------------------------------------------------------------------------------------------
# `brgvc k8s ...` (brgvc.cli passes its arguments to main)
# ---------------------------------------------------------------------------------------------


def test_main_renders_and_fails_with_one_line(job_file, tmp_path, capsys):
    prof = tmp_path / "profile.yaml"
    prof.write_text(yaml.safe_dump(_profile()))
    assert k8s.main(["render", str(job_file), str(prof), "--cronjob"]) == 0
    out = capsys.readouterr().out
    assert out == k8s.to_yaml(k8s.render_cronjob(job_file, prof))
    cron = _one(list(yaml.safe_load_all(out)), "CronJob")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert pod["command"] == ["brgvc", "k8s", "create-run", "/template/daskjob.yaml"]
    exposed = tmp_path / "exposed.yaml"
    exposed.write_text(yaml.safe_dump(_profile(scheduler={"service_type": "NodePort"},
                                               tls={"enabled": False})))
    assert k8s.main(["render", str(job_file), str(exposed)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {exposed}: scheduler.service_type: NodePort exposes")


def test_duplicate_keys_and_alias_bombs_are_refused_in_profiles_and_jobs(job_file, tmp_path):
    """Both files go through the runner's guarded YAML loader."""
    prof = tmp_path / "profile.yaml"
    prof.write_text(PROFILE.read_text() + "\nnamespace: other\n")  # a second `namespace`
    with pytest.raises(ValueError, match=r"profile\.yaml: duplicate key 'namespace' at line"):
        k8s.load_k8s_profile(prof)
    bomb = tmp_path / "bomb.yaml"
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    bomb.write_text("data: wiod2013\nmeasures: [vby]\n" + "\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"bomb\.yaml: the YAML document expands to more than "
                                         r".*\(a job spec must be plain-data YAML\)"):
        k8s.render_manifests(bomb, _profile(), now=NOW)
