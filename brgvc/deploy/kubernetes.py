"""Kubernetes manifests for brgvc jobs: DaskJob (batch), DaskCluster (interactive), CronJob.

A job spec says *what*; a Kubernetes profile (``cluster/k8s/profile.yaml``) says *where*:
namespace, image, worker replicas and resources, result storage and TLS. From the two this
module renders plain manifests for the Dask Kubernetes operator (``kubernetes.dask.org/v1``):

* ``render_manifests``: a ConfigMap holding the job spec (data, never code), the run's
  NetworkPolicies and a DaskJob whose runner pod runs ``brgvc run /config/job.yaml --cluster
  $(DASK_SCHEDULER_ADDRESS) --out /results/<job>/<UTC stamp>``; optionally a DaskCluster for
  interactive use (with its own NetworkPolicies);
* ``render_cronjob``: a ``batch/v1`` CronJob that, at every firing of the job's ``schedule``,
  creates one DaskJob from a template (ConfigMap) by running ``brgvc k8s create-run``, with a
  ServiceAccount, Role and RoleBinding that allow nothing but creating, reading and listing
  DaskJobs in the namespace, and NetworkPolicies covering every run;
* ``submit`` / ``submit_schedule``: apply those through kr8s (or kubectl) to the API server
  of the profile's kubeconfig, or return them as YAML (``dry_run=True``);
* ``main``: ``brgvc k8s {render,create-run,examples}`` (``brgvc.cli`` passes its arguments).

Security choices, all enforced here and checked by the tests:

* the scheduler, the workers and the runner talk TLS (``--protocol tls`` with ``--tls-ca-file``,
  ``--tls-cert``, ``--tls-key`` from a Kubernetes Secret mounted read-only; the runner's
  client reads the same files through ``DASK_DISTRIBUTED__COMM__TLS__*``), and
  ``require-encryption`` is on;
* the scheduler Service is ``ClusterIP`` by default. ``NodePort``/``LoadBalancer`` are refused
  at render time unless TLS is on and ``scheduler.allowed_cidrs`` names the client ranges
  (``loadBalancerSourceRanges``, ``externalTrafficPolicy: Local`` and an ``ipBlock`` rule);
* the dashboard is off (``--no-dashboard``, and the HTTP server keeps only ``/health`` for the
  probes: ``--no-dashboard`` alone still serves ``/info`` and ``/metrics``); with
  ``scheduler.dashboard: true`` it is served on the ClusterIP Service for ``kubectl
  port-forward`` only, and refused on an exposed Service (it has no authentication);
* NetworkPolicies (:func:`network_policies`): no ingress to a job's pods but the scheduler port
  from its workers and runner and the worker/nanny ports (fixed: 8789/8790) from its scheduler
  and workers; egress only DNS, the job's own pods and the object store;
* a profile never carries a secret value: object-store credentials and image pull secrets are
  *references* (``secretKeyRef`` / Secret names). A key named like a credential
  (``password``, ``token``, ``*_secret``, ``access_key``, ...) with a value, or a value that
  looks like one (:func:`secret_kind`: URL with user:password, Bearer/Basic, AWS, GitHub,
  GitLab, Slack tokens, JWTs, PEM blocks, signed URLs, base64 blobs in ``env``) is refused
  before anything is rendered, naming the key and never the value; the job spec (shipped as a
  ConfigMap) is checked for such values too;
* images may be pinned by digest (``image_digest`` or ``image: REF@sha256:...``);
  ``require_digest: true`` refuses a tag-only image;
* pods run as a non-root user with no privilege escalation, all capabilities dropped, a
  read-only root file system and no service-account token (except the CronJob's creator pod);
* the job spec and the profile are parsed with the runner's guarded ``load_yaml`` (a
  ``!!python/...`` tag, a duplicate key or an alias bomb is refused); the job spec is
  shipped verbatim as ConfigMap data; nothing in it is executed.

Every container command is ``dask scheduler`` / ``dask worker`` / ``brgvc run``: the
``dask-scheduler`` and ``dask-worker`` console scripts no longer exist in distributed >= 2026.6
(dask-kubernetes' own ``make_cluster_spec`` still writes them, so it is not used here).

The scheduler address is built inside each pod from the ``dask.org/cluster-name`` label that
the operator puts on every pod of a cluster (downward API), so one DaskJob template works for
any run name, and its ``tls://`` scheme survives (the operator only injects
``DASK_SCHEDULER_ADDRESS`` when a container lacks it).

Examples
--------
>>> from brgvc.deploy.kubernetes import render_manifests, to_yaml
>>> docs = render_manifests("jobs/sweep.yaml", "cluster/k8s/profile.yaml")  # doctest: +SKIP
>>> print(to_yaml(docs))                                                     # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import functools
import hashlib
import ipaddress
import itertools
import math
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DASK_API_VERSION",
    "K8S_SCHEMA_VERSION",
    "create_scheduled_run",
    "dask_crd_schemas",
    "daskjob_template",
    "example_files",
    "instantiate_daskjob",
    "load_k8s_profile",
    "main",
    "network_policies",
    "render_cronjob",
    "render_manifests",
    "secret_kind",
    "submit",
    "submit_schedule",
    "to_yaml",
    "validate_manifest",
]

#: Kubernetes version whose schemas the offline validation uses (the oldest one brgvc
#: supports: ``CronJob.spec.timeZone`` is GA from 1.27).
K8S_SCHEMA_VERSION = "1.30.0"
DASK_API_VERSION = "kubernetes.dask.org/v1"
LABEL_PREFIX = "brgvc.io"
JOB_KEY = "job.yaml"
TEMPLATE_KEY = "daskjob.yaml"
CONFIG_MOUNT = "/config"
TEMPLATE_MOUNT = "/template"
SCRATCH_MOUNT = "/tmp"
#: UID/GID of the non-root user of ``cluster/k8s/Dockerfile``.
RUN_AS_USER = 10001
#: Placeholder of the run stamp in a DaskJob template (replaced when a run is created).
TEMPLATE_STAMP = "scheduled"
#: Stamp format of result folders, shared with :mod:`brgvc.deploy.schedule` (UTC, sortable).
STAMP_FORMAT = "%Y-%m-%dT%H%M"
SCHEDULER_PORT = 8786
DASHBOARD_PORT = 8787
WORKER_DASHBOARD_PORT = 8788
WORKER_PORT = 8789
NANNY_PORT = 8790
#: HTTP routes served when the dashboard is off: the probes' ``/health`` only.
HEALTH_ROUTES = ("distributed.http.health",)
#: Distributed pauses a worker at 80 % of its memory limit: size the limit so that the plan's
#: peak estimate stays below that.
PAUSE_FRACTION = 0.8
MEMORY_STEP_MI = 256
#: Longest base name: ``<base>-<YYYYmmdd-HHMMSS>-default-worker-<10 chars>`` must stay within
#: the 63 characters of a label value.
MAX_BASE = 20

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|K|M|G|T)?$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

# A key (anywhere in a profile) that would hold a credential; references use ``secret``,
# ``secret_env`` and ``image_pull_secrets`` instead (names only, checked by the schema).
_SECRET_KEY_RE = re.compile(
    r"(?i)(password|passwd|passphrase|token|credential|private[_-]?key|access[_-]?key|"
    r"secret[_-]?key|api[_-]?key|session[_-]?key|client[_-]?secret|authorization|"
    r"(^|[_-])secrets?($|[_-])|(^|[_-])auth($|[_-])|[_-]pwd$)"
)
# Values that are credentials whatever their key is called: (what it looks like, pattern).
# The description goes into the error message; the value never does.
_SECRET_VALUE_RES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key or certificate block",
     re.compile(r"-----BEGIN [A-Z0-9 ]*(PRIVATE KEY|CERTIFICATE)[A-Z ]*-----")),
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    ("a GitHub token",
     re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("a GitLab token",
     re.compile(r"\bgl(pat|dt|rt|ptt|oas|cbt|imt|ft|soat|agent)-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abprse]-[A-Za-z0-9-]{10,}")),
    ("a JSON web token",
     re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("an HTTP Bearer/Basic credential",
     re.compile(r"(?i)\b(bearer|basic)\s+(?=\S*[0-9+/=])[A-Za-z0-9._~+/=-]{12,}"
                r"|\btoken\s+[A-Za-z0-9._~+/=-]{20,}")),
    ("a URL with a user name and password",
     re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s@:]*:[^/\s@]+@")),
    ("a user:password@host credential",
     re.compile(r"^(?!mailto:)[A-Za-z0-9._%+-]+:[^\s/@]+@(?!sha256:|sha512:)[A-Za-z0-9.-]")),
    ("a URL carrying a signature or password in its query",
     re.compile(r"(?i)[?&](password|passwd|pwd|token|access_token|api_?key|secret|sig|signature|"
                r"x-amz-signature|x-amz-credential|x-goog-signature)=[^&\s]+")),
)
# Values of ``env`` are also checked for a base64 blob (an encoded key pasted inline).
_BLOB_RE = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
_REFERENCE_KEYS = {"secret", "secret_env", "image_pull_secrets"}
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
#: Service types that make the scheduler reachable from outside the cluster.
EXPOSED_SERVICE_TYPES = ("NodePort", "LoadBalancer")

_RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "memory": {"type": "string", "pattern": _QUANTITY},
        "cpu": {"type": "string", "pattern": _QUANTITY},
    },
}

#: JSON schema of a Kubernetes profile (defaults in :data:`PROFILE_DEFAULTS`).
PROFILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "brgvc Kubernetes profile",
    "type": "object",
    "additionalProperties": False,
    "required": ["image"],
    "properties": {
        "kind": {"const": "kubernetes"},
        "namespace": {"type": "string", "pattern": _DNS_LABEL, "maxLength": 63},
        "name": {"type": ["string", "null"], "pattern": _DNS_LABEL, "maxLength": MAX_BASE},
        "image": {"type": "string", "minLength": 1, "pattern": r"^[^\s]+$"},
        "image_digest": {
            "description": "sha256:<64 hex>: the image is pulled as image@digest.",
            "type": ["string", "null"],
        },
        "require_digest": {
            "description": "Refuse an image that is not pinned by digest.",
            "type": "boolean",
        },
        "image_pull_policy": {"enum": ["Always", "IfNotPresent", "Never"]},
        "image_pull_secrets": {
            "type": "array",
            "items": {"type": "string", "pattern": _DNS_LABEL},
            "uniqueItems": True,
        },
        "service_account": {"type": ["string", "null"], "pattern": _DNS_LABEL},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
        "interactive": {"type": "boolean"},
        "idle_timeout": {"type": "integer", "minimum": 0},
        "workers": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "replicas": {"type": "integer", "minimum": 1},
                "threads": {"type": "integer", "minimum": 1},
                "memory": {"type": "string", "pattern": _QUANTITY + "|^auto$"},
                "cpu": {"type": ["string", "null"], "pattern": _QUANTITY},
            },
        },
        "scheduler": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **_RESOURCES["properties"],
                "service_type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                "dashboard": {
                    "description": "Serve the (unauthenticated) Bokeh dashboard; only with "
                                   "service_type ClusterIP, reached by kubectl port-forward.",
                    "type": "boolean",
                },
                "allowed_cidrs": {
                    "description": "Source ranges allowed to reach an exposed scheduler.",
                    "type": "array",
                    "items": {"type": "string"},
                    "uniqueItems": True,
                },
            },
        },
        "network": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "storage_cidrs": {
                    "description": "Address ranges of the object store (egress); empty: any.",
                    "type": "array",
                    "items": {"type": "string"},
                    "uniqueItems": True,
                },
                "storage_ports": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "minItems": 1,
                    "uniqueItems": True,
                },
                "client_labels": {
                    "description": "Labels of in-namespace pods (e.g. a notebook) allowed to "
                                   "reach the scheduler.",
                    "type": "object",
                    "additionalProperties": {"type": "string", "maxLength": 63},
                },
            },
        },
        "runner": _RESOURCES,
        "storage": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "pvc": {"type": ["string", "null"], "pattern": _DNS_LABEL},
                "url": {"type": ["string", "null"], "pattern": r"^[a-z][a-z0-9+.-]*://[^\s]+$"},
                "mount_path": {"type": "string", "pattern": r"^/[^\s]*$"},
                "secret": {"type": ["string", "null"], "pattern": _DNS_LABEL},
                "secret_env": {
                    "description": "Environment variable -> key of storage.secret.",
                    "type": "object",
                    "propertyNames": {"pattern": _ENV_NAME},
                    "additionalProperties": {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$"},
                },
            },
        },
        "tls": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "secret": {"type": "string", "pattern": _DNS_LABEL},
                "mount_path": {"type": "string", "pattern": r"^/[^\s]*$"},
            },
        },
        "env": {
            "description": "Plain (non-secret) environment variables for every brgvc container.",
            "type": "object",
            "propertyNames": {"pattern": _ENV_NAME},
            "additionalProperties": {"type": "string"},
        },
        "secret_env": {
            "description": "Environment variables read from Secrets: NAME -> {secret, key}.",
            "type": "object",
            "propertyNames": {"pattern": _ENV_NAME},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["secret", "key"],
                "properties": {
                    "secret": {"type": "string", "pattern": _DNS_LABEL},
                    "key": {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$"},
                },
            },
        },
        "cronjob": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "api_version": {"enum": ["batch/v1", "batch/v1beta1"]},
                "starting_deadline_seconds": {"type": "integer", "minimum": 10},
                "successful_jobs_history_limit": {"type": "integer", "minimum": 0},
                "failed_jobs_history_limit": {"type": "integer", "minimum": 0},
                "suspend": {"type": "boolean"},
            },
        },
        "kubeconfig": {"type": ["string", "null"]},
        "context": {"type": ["string", "null"]},
    },
}

#: Defaults merged under a profile (nested mappings merge key by key).
PROFILE_DEFAULTS: dict[str, Any] = {
    "kind": "kubernetes",
    "namespace": "default",
    "name": None,
    "image_pull_policy": "IfNotPresent",
    "image_pull_secrets": [],
    "service_account": None,
    "labels": {},
    "interactive": False,
    "idle_timeout": 0,
    "workers": {"replicas": 2, "threads": 1, "memory": "auto", "cpu": None},
    "image_digest": None,
    "require_digest": False,
    "scheduler": {"memory": "1Gi", "cpu": "1", "service_type": "ClusterIP", "dashboard": False,
                  "allowed_cidrs": []},
    "network": {"storage_cidrs": [], "storage_ports": [443], "client_labels": {}},
    "runner": {"memory": "1Gi", "cpu": "1"},
    "storage": {"pvc": None, "url": None, "mount_path": "/results", "secret": None,
                "secret_env": {}},
    "tls": {"enabled": True, "secret": "brgvc-dask-tls", "mount_path": "/etc/dask/tls"},
    "env": {},
    "secret_env": {},
    "cronjob": {"api_version": "batch/v1", "starting_deadline_seconds": 600,
                "successful_jobs_history_limit": 3, "failed_jobs_history_limit": 3,
                "suspend": False},
    "kubeconfig": None,
    "context": None,
}


# --------------------------------------------------------------------------------------------
# profile and job
# --------------------------------------------------------------------------------------------


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) and k not in (
            "labels", "env", "secret_env", "client_labels"
        ):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _char_class(c: str) -> int:
    return 0 if c.isupper() else 1 if c.islower() else 2 if c.isdigit() else 3


def _looks_like_blob(value: str) -> bool:
    """True for a base64/base64url blob: an encoded key or token pasted as a plain value.

    Words, paths, CamelCase names and hex digests are not blobs: a blob mixes upper case,
    lower case and digits and, unless it ends in ``=`` padding, changes character class
    (upper/lower/digit/other) at half of its positions or more (random base64 at ~64 %,
    names and paths at < 50 %). A heuristic: a hex-only secret is not caught.
    """
    if not _BLOB_RE.fullmatch(value):
        return False
    classes = [_char_class(c) for c in value.rstrip("=")]
    if not {0, 1, 2} <= set(classes):
        return False
    if value.endswith("="):
        return True
    changes = sum(x != y for x, y in itertools.pairwise(classes))
    return changes / (len(classes) - 1) >= 0.5


def secret_kind(value: str, *, blob: bool = False) -> str | None:
    """What kind of credential a string looks like, or None.

    Parameters
    ----------
    value : str
        A profile or job spec value (or key).
    blob : bool
        Also flag a base64 blob (used for ``env`` values).

    Returns
    -------
    str or None
        A description such as ``"a URL with a user name and password"``, never the value.
    """
    for what, pattern in _SECRET_VALUE_RES:
        if pattern.search(value):
            return what
    if blob and _looks_like_blob(value):
        return "a base64-encoded blob (an inline key or token)"
    return None


def _refuse_secrets(node: Any, path: str = "", names_ok: bool = False,
                    what: str = "profile") -> None:
    """Raise ValueError when a profile holds something that looks like a secret value.

    Keys are checked by name (except inside ``secret``/``secret_env`` references, whose keys
    are environment variable names), every key and string by form (:func:`secret_kind`), and
    ``env`` values also for base64 blobs. Messages name the key path, never the value.
    """
    if isinstance(node, Mapping):
        for k, v in node.items():
            key = str(k)
            where = f"{path}.{key}" if path else key
            kind = secret_kind(key)
            if kind:
                raise ValueError(
                    f"{what} key under {path or '(top level)'!r} looks like {kind}: a {what} "
                    "must never hold secret values; store them in a Kubernetes Secret"
                )
            if (what == "profile" and not names_ok and key not in _REFERENCE_KEYS
                    and _SECRET_KEY_RE.search(key) and v not in (None, "", {}, [])):
                raise ValueError(
                    f"profile key {where!r} looks like a credential: a profile must never hold "
                    "secret values. Put it in a Kubernetes Secret and reference it with "
                    "storage.secret + storage.secret_env, or secret_env"
                )
            _refuse_secrets(v, where, names_ok or key in _REFERENCE_KEYS, what)
    elif isinstance(node, list | tuple):
        for i, v in enumerate(node):
            _refuse_secrets(v, f"{path}[{i}]", names_ok, what)
    elif isinstance(node, str):
        kind = secret_kind(node, blob=what == "profile" and path.startswith("env."))
        if kind:
            raise ValueError(
                f"{what} value at {path!r} looks like {kind}: a {what} must never hold secret "
                "values; store them in a Kubernetes Secret and reference it (secretKeyRef)"
            )


def _schema_message(e: Any) -> str:
    """A schema error without the offending value (which could be a mistyped secret)."""
    if e.validator in ("additionalProperties", "required"):
        return e.message
    if e.validator == "type":
        return f"must be of type {e.validator_value}"
    if e.validator == "enum":
        return f"must be one of {e.validator_value}"
    if e.validator == "pattern":
        return f"does not match {e.validator_value!r}"
    return f"fails {e.validator} {e.validator_value!r}"


def load_k8s_profile(profile: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Read, check and complete a Kubernetes profile.

    Parameters
    ----------
    profile : str, Path or mapping
        A YAML file (``cluster/k8s/profile.yaml``) or the profile as a mapping.

    Returns
    -------
    dict
        The profile with :data:`PROFILE_DEFAULTS` filled in.

    Raises
    ------
    ValueError
        Unreadable YAML, unknown keys, wrong types, both or neither of ``storage.pvc`` and
        ``storage.url``, or anything that looks like a secret value.
    """
    import jsonschema

    if isinstance(profile, Mapping):
        doc: Any = copy.deepcopy(dict(profile))
        where = "profile"
    else:
        where = str(profile)
        try:
            text = Path(profile).read_text("utf-8")
        except OSError as exc:
            raise ValueError(f"{where}: cannot read Kubernetes profile ({exc.strerror})") from None
        doc = _load_yaml(text, where) or {}
    if not isinstance(doc, Mapping):
        raise ValueError(f"{where}: a Kubernetes profile must be a mapping")
    _refuse_secrets(doc)  # before the schema: its messages could quote values
    errors = sorted(jsonschema.Draft202012Validator(PROFILE_SCHEMA).iter_errors(doc),
                    key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        key = ".".join(map(str, e.absolute_path)) or "(top level)"
        raise ValueError(f"{where}: {key}: {_schema_message(e)}")
    prof = _merge(PROFILE_DEFAULTS, doc)
    st = prof["storage"]
    if (st["pvc"] is None) == (st["url"] is None):
        raise ValueError(f"{where}: storage: give exactly one of 'pvc' (a PersistentVolumeClaim "
                         "name) or 'url' (an object store URL)")
    if st["secret_env"] and not st["secret"]:
        raise ValueError(f"{where}: storage.secret_env needs storage.secret (a Secret name)")
    _check_exposure(prof, where)
    prof["image"] = _pinned_image(prof, where)
    return prof


def _cidrs(values: Sequence[str], where: str, key: str) -> list[str]:
    out = []
    for i, v in enumerate(values):
        try:
            out.append(str(ipaddress.ip_network(v, strict=True)))
        except ValueError:
            raise ValueError(f"{where}: {key}[{i}]: {v!r} is not a CIDR such as "
                             "203.0.113.0/24") from None
    return out


def _check_exposure(prof: dict[str, Any], where: str) -> None:
    """Refuse a scheduler reachable from outside the cluster without TLS, without a source
    range, or with the unauthenticated dashboard on it."""
    sch = prof["scheduler"]
    sch["allowed_cidrs"] = _cidrs(sch["allowed_cidrs"], where, "scheduler.allowed_cidrs")
    prof["network"]["storage_cidrs"] = _cidrs(prof["network"]["storage_cidrs"], where,
                                              "network.storage_cidrs")
    kind = sch["service_type"]
    if kind not in EXPOSED_SERVICE_TYPES:
        if sch["allowed_cidrs"]:
            raise ValueError(f"{where}: scheduler.allowed_cidrs: only for an exposed scheduler "
                             f"(service_type NodePort or LoadBalancer), not {kind}")
        return
    if not prof["tls"]["enabled"]:
        raise ValueError(
            f"{where}: scheduler.service_type: {kind} exposes the Dask scheduler outside the "
            "cluster but tls.enabled is false (anyone reaching it could run code on the "
            "workers): set tls.enabled: true, or use service_type: ClusterIP with kubectl "
            "port-forward"
        )
    if sch["dashboard"]:
        raise ValueError(
            f"{where}: scheduler.dashboard: the Dask dashboard has no authentication and cannot "
            f"be served on an exposed scheduler (service_type {kind}): use service_type: "
            "ClusterIP and kubectl port-forward, or set dashboard: false"
        )
    if not sch["allowed_cidrs"]:
        raise ValueError(
            f"{where}: scheduler.allowed_cidrs: an exposed scheduler (service_type {kind}) "
            "needs the client address ranges allowed to reach it, e.g. [203.0.113.0/24]"
        )


def _pinned_image(prof: Mapping[str, Any], where: str) -> str:
    """The image reference to render: ``image@sha256:...`` when a digest is known."""
    image, digest = prof["image"], prof["image_digest"]
    if digest is not None and not _DIGEST_RE.match(digest):
        raise ValueError(f"{where}: image_digest: {digest!r} is not 'sha256:' followed by 64 "
                         "lower-case hex digits")
    name, sep, given = image.partition("@")
    if sep and not _DIGEST_RE.match(given):
        raise ValueError(f"{where}: image: the digest after '@' is not 'sha256:' followed by 64 "
                         "lower-case hex digits")
    if sep and digest and given != digest:
        raise ValueError(f"{where}: image_digest differs from the digest in image "
                         f"({given[:19]}... vs {digest[:19]}...)")
    digest = given if sep else digest
    if digest:
        return f"{name}@{digest}"
    if prof["require_digest"]:
        raise ValueError(
            f"{where}: image: {image!r} is not pinned by digest and require_digest is true: "
            "give image_digest: sha256:<64 hex> (from `docker buildx imagetools inspect` or "
            "`crane digest`) or image: NAME[:TAG]@sha256:<64 hex>"
        )
    return image


def _load_yaml(text: str, where: str) -> Any:
    """One YAML document as plain data: the runner's guarded loader (no Python tags, no
    duplicate keys, no alias bombs); its errors are ValueErrors starting with ``where``."""
    from brgvc.runner.jobspec import load_yaml

    return load_yaml(text, where)


def _read_job(job_path: str | Path) -> tuple[str, dict[str, Any], Any]:
    """Read a job spec as data: its text, the parsed mapping, and the loaded Job if possible."""
    path = Path(job_path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read job spec ({exc.strerror})") from None
    try:  # data only: a !!python/... tag, a duplicate key or an alias bomb raises here
        doc = _load_yaml(text, str(path))
    except ValueError as exc:
        raise ValueError(f"{exc} (a job spec must be plain-data YAML)") from None
    if not isinstance(doc, Mapping):
        raise ValueError(f"{path}: a job spec must be a mapping of keys")
    try:  # the spec is shipped as ConfigMap data, readable by anyone who may read ConfigMaps
        _refuse_secrets(doc, what="job spec")
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    if len(text.encode()) > 900 * 1024:
        raise ValueError(f"{path}: job spec over 900 KiB does not fit in a ConfigMap")
    job = None
    try:
        from brgvc.runner.jobspec import JobSpecError, job_schema, load_job
    except ImportError:  # the runner is not installed: ship the spec unchecked
        return text, dict(doc), None
    try:
        job = load_job(path)
    except JobSpecError as exc:
        if exc.key not in ("data", "years", "draws.rse.path"):
            raise
        # The data lives in the cluster (e.g. on the results volume): check what can be.
        import jsonschema

        errors = list(jsonschema.Draft202012Validator(job_schema()).iter_errors(doc))
        if errors:
            raise exc from None
    data = str(doc.get("data", ""))
    if ("/" in data or data.endswith(".zarr")) and "://" not in data and not data.startswith("/"):
        raise ValueError(
            f"{path}: data: {data!r} is a relative path; inside the pods the job is read from "
            f"{CONFIG_MOUNT}/{JOB_KEY}, so give an embedded dataset name, an absolute path "
            "(e.g. on the results volume) or a URL"
        )
    return text, dict(doc), job


def _base_name(profile: Mapping[str, Any], doc: Mapping[str, Any], path: Path) -> str:
    raw = profile.get("name") or doc.get("name") or path.stem
    name = re.sub(r"[^a-z0-9-]+", "-", str(raw).lower()).strip("-")[:MAX_BASE].strip("-")
    return name or "brgvc"


def _quantity_bytes(q: str) -> int:
    m = re.fullmatch(r"([0-9.]+)(Ki|Mi|Gi|Ti|k|K|M|G|T)?", q)
    if not m:
        raise ValueError(f"not a memory quantity: {q!r}")
    mult = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
            "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}[m.group(2)]
    return int(float(m.group(1)) * mult)


def _worker_memory(job: Any, job_path: Path, profile: Mapping[str, Any]) -> str:
    """Memory limit per worker: the profile's, or sized from ``brgvc plan``."""
    mem = profile["workers"]["memory"]
    if mem != "auto":
        return mem
    reason = "the job could not be loaded here (its data is not available locally)"
    if job is not None:
        try:
            from brgvc.runner.plan import plan_job

            with tempfile.TemporaryDirectory() as tmp:
                peak = plan_job(job, Path(tmp) / "out").memory_per_worker
            step = MEMORY_STEP_MI * 2**20
            limit = math.ceil(peak * profile["workers"]["threads"] / PAUSE_FRACTION / step)
            return f"{limit * MEMORY_STEP_MI}Mi"
        except Exception as exc:  # any planning failure: ask for a number
            reason = f"planning failed ({exc})"
    raise ValueError(
        f"workers.memory is 'auto' but {job_path} cannot be sized: {reason}; give "
        "workers.memory explicitly in the profile (e.g. 4Gi)"
    )


# --------------------------------------------------------------------------------------------
# manifests
# --------------------------------------------------------------------------------------------


def _labels(profile: Mapping[str, Any], base: str, component: str) -> dict[str, str]:
    return {
        **profile["labels"],
        "app.kubernetes.io/name": "brgvc",
        "app.kubernetes.io/managed-by": "brgvc",
        "app.kubernetes.io/component": component,
        f"{LABEL_PREFIX}/job": base,
    }


def _security_context(read_only: bool = True) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _resources(memory: str, cpu: str | None) -> dict[str, Any]:
    req: dict[str, str] = {"memory": memory}
    if cpu:
        req["cpu"] = cpu
    # Memory limit = request (no overcommit: a worker killed for memory loses its tasks);
    # no CPU limit (throttling slows BLAS without protecting anyone).
    return {"requests": req, "limits": {"memory": memory}}


def _tls_paths(profile: Mapping[str, Any]) -> tuple[str, str, str]:
    d = profile["tls"]["mount_path"].rstrip("/")
    return f"{d}/ca.crt", f"{d}/tls.crt", f"{d}/tls.key"


def _cluster_env(profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Env vars every Dask container gets: the scheduler address (from the pod's own labels)."""
    scheme = "tls" if profile["tls"]["enabled"] else "tcp"
    env: list[dict[str, Any]] = [
        {"name": "BRGVC_DASK_CLUSTER", "valueFrom": {"fieldRef": {
            "fieldPath": "metadata.labels['dask.org/cluster-name']"}}},
        {"name": "BRGVC_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "DASK_SCHEDULER_ADDRESS",
         "value": f"{scheme}://$(BRGVC_DASK_CLUSTER)-scheduler.$(BRGVC_NAMESPACE)"
                  f".svc.cluster.local:{SCHEDULER_PORT}"},
    ]
    if profile["tls"]["enabled"]:
        env.append({"name": "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION", "value": "True"})
    return env


def _user_env(profile: Mapping[str, Any], storage: bool) -> list[dict[str, Any]]:
    env = [{"name": k, "value": v} for k, v in sorted(profile["env"].items())]
    env += [{"name": k, "valueFrom": {"secretKeyRef": {"name": v["secret"], "key": v["key"]}}}
            for k, v in sorted(profile["secret_env"].items())]
    st = profile["storage"]
    if storage and st["secret"]:
        env += [{"name": k, "valueFrom": {"secretKeyRef": {"name": st["secret"], "key": key}}}
                for k, key in sorted(st["secret_env"].items())]
    return env


def _volumes(profile: Mapping[str, Any], extra: Sequence[dict[str, Any]] = ()
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Volumes and mounts common to scheduler, workers and runner."""
    vols: list[dict[str, Any]] = [{"name": "scratch", "emptyDir": {}}]
    mounts: list[dict[str, Any]] = [{"name": "scratch", "mountPath": SCRATCH_MOUNT}]
    if profile["tls"]["enabled"]:
        vols.append({"name": "dask-tls", "secret": {
            "secretName": profile["tls"]["secret"], "defaultMode": 0o440,
            "items": [{"key": k, "path": k} for k in ("ca.crt", "tls.crt", "tls.key")]}})
        mounts.append({"name": "dask-tls", "mountPath": profile["tls"]["mount_path"],
                       "readOnly": True})
    for v in extra:
        vols.append(v["volume"])
        mounts.append(v["mount"])
    return vols, mounts


def _results_volume(profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    st = profile["storage"]
    if not st["pvc"]:
        return []
    return [{"volume": {"name": "results", "persistentVolumeClaim": {"claimName": st["pvc"]}},
             "mount": {"name": "results", "mountPath": st["mount_path"]}}]


def _pod_spec(profile: Mapping[str, Any], containers: list[dict[str, Any]],
              volumes: list[dict[str, Any]], restart: str | None = None,
              service_account: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "securityContext": _pod_security(),
        "automountServiceAccountToken": service_account is not None,
        "containers": containers,
        "volumes": volumes,
    }
    if service_account:
        spec["serviceAccountName"] = service_account
    if restart:
        spec["restartPolicy"] = restart
    if profile["image_pull_secrets"]:
        spec["imagePullSecrets"] = [{"name": n} for n in profile["image_pull_secrets"]]
    return spec


def _dashboard_env(profile: Mapping[str, Any], part: str) -> list[dict[str, Any]]:
    """Without the dashboard, the HTTP server keeps only ``/health`` (for the probes):
    ``--no-dashboard`` alone still serves ``/info`` pages and ``/metrics`` unauthenticated."""
    if profile["scheduler"]["dashboard"]:
        return []
    return [{"name": f"DASK_DISTRIBUTED__{part.upper()}__HTTP__ROUTES",
             "value": repr(list(HEALTH_ROUTES))}]


def _scheduler_spec(profile: Mapping[str, Any], cluster_name: str, labels: dict[str, str]
                    ) -> dict[str, Any]:
    vols, mounts = _volumes(profile)
    sch = profile["scheduler"]
    args = ["dask", "scheduler", "--port", str(SCHEDULER_PORT),
            "--dashboard-address", f":{DASHBOARD_PORT}",
            "--dashboard" if sch["dashboard"] else "--no-dashboard"]
    if profile["tls"]["enabled"]:
        ca, cert, key = _tls_paths(profile)
        args += ["--protocol", "tls", "--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]
    http = "http-dashboard" if sch["dashboard"] else "http-health"
    container = {
        "name": "scheduler",
        "image": profile["image"],
        "imagePullPolicy": profile["image_pull_policy"],
        "args": args,
        "env": (_cluster_env(profile) + _dashboard_env(profile, "scheduler")
                + _user_env(profile, storage=False)),
        "ports": [
            {"name": "tcp-comm", "containerPort": SCHEDULER_PORT, "protocol": "TCP"},
            {"name": http, "containerPort": DASHBOARD_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": {"httpGet": {"port": http, "path": "/health"},
                           "initialDelaySeconds": 5, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"port": http, "path": "/health"},
                          "initialDelaySeconds": 15, "periodSeconds": 20},
        "resources": _resources(sch["memory"], sch["cpu"]),
        "securityContext": _security_context(),
        "volumeMounts": mounts,
    }
    ports = [{"name": "tcp-comm", "protocol": "TCP", "port": SCHEDULER_PORT,
              "targetPort": "tcp-comm"}]
    if sch["dashboard"]:  # ClusterIP only (checked): for kubectl port-forward svc/...
        ports.append({"name": "http-dashboard", "protocol": "TCP", "port": DASHBOARD_PORT,
                      "targetPort": "http-dashboard"})
    service: dict[str, Any] = {
        "type": sch["service_type"],
        "selector": {"dask.org/cluster-name": cluster_name, "dask.org/component": "scheduler"},
        "ports": ports,
    }
    if sch["service_type"] in EXPOSED_SERVICE_TYPES:
        # Local: the client's address reaches the pod, so the NetworkPolicy's ipBlock applies.
        service["externalTrafficPolicy"] = "Local"
        if sch["service_type"] == "LoadBalancer":
            service["loadBalancerSourceRanges"] = list(sch["allowed_cidrs"])
    return {
        "metadata": {"labels": dict(labels)},
        "spec": _pod_spec(profile, [container], vols),
        "service": service,
    }


def _worker_spec(profile: Mapping[str, Any], memory: str, labels: dict[str, str]
                 ) -> dict[str, Any]:
    w = profile["workers"]
    # The workers write their own regions of the result store: same storage as the runner.
    vols, mounts = _volumes(profile, _results_volume(profile))
    args = ["dask", "worker", "$(DASK_SCHEDULER_ADDRESS)", "--name", "$(DASK_WORKER_NAME)",
            "--nthreads", str(w["threads"]), "--memory-limit", str(_quantity_bytes(memory)),
            "--dashboard-address", f":{WORKER_DASHBOARD_PORT}",
            "--dashboard" if profile["scheduler"]["dashboard"] else "--no-dashboard",
            # fixed ports, so that the NetworkPolicy can name them
            "--worker-port", str(WORKER_PORT), "--nanny-port", str(NANNY_PORT),
            "--local-directory", f"{SCRATCH_MOUNT}/dask-scratch"]
    if profile["tls"]["enabled"]:
        ca, cert, key = _tls_paths(profile)
        args += ["--protocol", "tls", "--tls-ca-file", ca, "--tls-cert", cert, "--tls-key", key]
    container = {
        "name": "worker",
        "image": profile["image"],
        "imagePullPolicy": profile["image_pull_policy"],
        "args": args,
        "env": (_cluster_env(profile) + _dashboard_env(profile, "worker")
                + _user_env(profile, storage=True)),
        "ports": [{"name": "tcp-worker", "containerPort": WORKER_PORT, "protocol": "TCP"},
                  {"name": "tcp-nanny", "containerPort": NANNY_PORT, "protocol": "TCP"}],
        "resources": _resources(memory, w["cpu"] or str(w["threads"])),
        "securityContext": _security_context(),
        "volumeMounts": mounts,
    }
    return {
        "replicas": w["replicas"],
        "metadata": {"labels": dict(labels)},
        "spec": _pod_spec(profile, [container], vols),
    }


def _out_dir(profile: Mapping[str, Any], base: str) -> str:
    st = profile["storage"]
    root = st["url"].rstrip("/") if st["url"] else st["mount_path"].rstrip("/")
    return f"{root}/{base}/$(BRGVC_RUN_STAMP)"


def _runner_spec(profile: Mapping[str, Any], base: str, config_map: str) -> dict[str, Any]:
    config = {"volume": {"name": "job-spec", "configMap": {
        "name": config_map, "items": [{"key": JOB_KEY, "path": JOB_KEY}]}},
        "mount": {"name": "job-spec", "mountPath": CONFIG_MOUNT, "readOnly": True}}
    vols, mounts = _volumes(profile, [config, *_results_volume(profile)])
    env = [*_cluster_env(profile), {"name": "BRGVC_RUN_STAMP", "value": TEMPLATE_STAMP}]
    if profile["tls"]["enabled"]:
        ca, cert, key = _tls_paths(profile)
        env += [
            {"name": "DASK_DISTRIBUTED__COMM__TLS__CA_FILE", "value": ca},
            {"name": "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT", "value": cert},
            {"name": "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY", "value": key},
        ]
    r = profile["runner"]
    container = {
        "name": "runner",
        "image": profile["image"],
        "imagePullPolicy": profile["image_pull_policy"],
        "command": ["brgvc", "run", f"{CONFIG_MOUNT}/{JOB_KEY}",
                    "--cluster", "$(DASK_SCHEDULER_ADDRESS)", "--out", _out_dir(profile, base)],
        "env": env + _user_env(profile, storage=True),
        "resources": _resources(r["memory"], r["cpu"]),
        "securityContext": _security_context(),
        "volumeMounts": mounts,
    }
    return {"spec": _pod_spec(profile, [container], vols, restart="Never",
                              service_account=profile["service_account"])}


def _remote_data(profile: Mapping[str, Any], doc: Mapping[str, Any]) -> bool:
    """Whether the pods reach an object store (results or input data given as URLs)."""
    return bool(profile["storage"]["url"]) or "://" in str(doc.get("data", ""))


def network_policies(profile: Mapping[str, Any], base: str, prefix: str,
                     group: Mapping[str, str], *, remote: bool = False,
                     cluster: str | None = None) -> list[dict[str, Any]]:
    """NetworkPolicies of one Dask cluster (or of every run of a schedule).

    * ``<prefix>-dask``: every pod of ``group`` (scheduler, workers, runner) takes no
      ingress except what the two policies below allow, and sends only DNS (port 53), traffic
      to the pods of ``group``, and, with ``remote`` (an object-store URL), TCP to
      ``network.storage_ports`` at ``network.storage_cidrs`` (any address when empty:
      NetworkPolicies cannot name hosts);
    * ``<prefix>-scheduler``: the scheduler port only from the workers and the runner of
      ``group``, pods matching ``network.client_labels``, and ``scheduler.allowed_cidrs`` when
      the Service is exposed; nothing reaches the dashboard/health port (kubelet probes and
      ``kubectl port-forward`` do not pass through NetworkPolicies);
    * ``<prefix>-worker``: the worker and nanny ports only from the scheduler and the other
      workers of ``group``.

    Parameters
    ----------
    profile : mapping
        A profile from :func:`load_k8s_profile`.
    base : str
        Base name of the job (labels).
    prefix : str
        Name prefix of the policies.
    group : mapping
        Labels every pod of the cluster carries (``dask.org/cluster-name`` for one cluster,
        brgvc's job labels for every run of a schedule).
    remote : bool
        Allow egress to the object store.
    cluster : str, optional
        Name of the DaskJob/DaskCluster that owns the policies (label ``brgvc.io/cluster``;
        :func:`submit` sets the ownerReference).

    Returns
    -------
    list of dict
        Three ``networking.k8s.io/v1`` NetworkPolicy manifests.
    """
    labels = _labels(profile, base, "network")
    if cluster:
        labels[f"{LABEL_PREFIX}/cluster"] = cluster
    net = profile["network"]
    sch = profile["scheduler"]

    def meta(name: str) -> dict[str, Any]:
        return {"name": f"{prefix}-{name}", "namespace": profile["namespace"],
                "labels": dict(labels)}

    def pods(*components: str) -> dict[str, Any]:
        sel: dict[str, Any] = {"matchLabels": dict(group)}
        if components:
            sel["matchExpressions"] = [{"key": "dask.org/component", "operator": "In",
                                        "values": list(components)}]
        return {"podSelector": sel}

    def role(component: str) -> dict[str, Any]:
        return {"matchLabels": {**group, "dask.org/component": component}}

    egress: list[dict[str, Any]] = [
        {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"to": [pods()]},
    ]
    if remote:
        rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": p}
                                          for p in net["storage_ports"]]}
        if net["storage_cidrs"]:
            rule["to"] = [{"ipBlock": {"cidr": c}} for c in net["storage_cidrs"]]
        egress.append(rule)
    clients = [pods("worker", "job-runner")]
    if net["client_labels"]:
        clients.append({"podSelector": {"matchLabels": dict(net["client_labels"])}})
    if sch["service_type"] in EXPOSED_SERVICE_TYPES:
        clients += [{"ipBlock": {"cidr": c}} for c in sch["allowed_cidrs"]]
    api = "networking.k8s.io/v1"
    return [
        {"apiVersion": api, "kind": "NetworkPolicy", "metadata": meta("dask"),
         "spec": {"podSelector": {"matchLabels": dict(group)},
                  "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": egress}},
        {"apiVersion": api, "kind": "NetworkPolicy", "metadata": meta("scheduler"),
         "spec": {"podSelector": role("scheduler"), "policyTypes": ["Ingress"],
                  "ingress": [{"from": clients,
                               "ports": [{"protocol": "TCP", "port": SCHEDULER_PORT}]}]}},
        {"apiVersion": api, "kind": "NetworkPolicy", "metadata": meta("worker"),
         "spec": {"podSelector": role("worker"), "policyTypes": ["Ingress"],
                  "ingress": [{"from": [pods("scheduler", "worker")],
                               "ports": [{"protocol": "TCP", "port": WORKER_PORT},
                                         {"protocol": "TCP", "port": NANNY_PORT}]}]}},
    ]


@dataclasses.dataclass
class _Prepared:
    """A checked profile and job, read once per rendering."""

    profile: dict[str, Any]
    text: str
    doc: dict[str, Any]
    job: Any
    base: str
    memory: str
    digest: str


def _prepare(job_path: str | Path, profile_path: str | Path | Mapping[str, Any]) -> _Prepared:
    profile = load_k8s_profile(profile_path)
    text, doc, job = _read_job(job_path)
    base = _base_name(profile, doc, Path(job_path))
    memory = _worker_memory(job, Path(job_path), profile)
    digest = job.hash if job is not None else hashlib.sha256(text.encode()).hexdigest()
    return _Prepared(profile, text, doc, job, base, memory, digest)


def _template(prep: _Prepared, config_map: str) -> tuple[dict[str, Any], dict[str, Any]]:
    profile, base = prep.profile, prep.base
    ns = profile["namespace"]
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": config_map, "namespace": ns,
                     "labels": _labels(profile, base, "job-spec"),
                     "annotations": {f"{LABEL_PREFIX}/job-hash": prep.digest}},
        "data": {JOB_KEY: prep.text},
    }
    name = f"{base}-run"
    labels = _labels(profile, base, "dask")
    djob = {
        "apiVersion": DASK_API_VERSION,
        "kind": "DaskJob",
        "metadata": {"name": name, "namespace": ns, "labels": labels,
                     "annotations": {f"{LABEL_PREFIX}/job-hash": prep.digest}},
        "spec": {
            "job": _runner_spec(profile, base, config_map),
            "cluster": {"spec": {
                "worker": _worker_spec(profile, prep.memory, labels),
                "scheduler": _scheduler_spec(profile, name, labels),
            }},
        },
    }
    return djob, cm


def daskjob_template(job_path: str | Path, profile_path: str | Path | Mapping[str, Any],
                     *, config_map: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Render the DaskJob template of a job and the ConfigMap holding the job spec.

    The template is named ``<base>-run`` and its runner writes to
    ``<storage>/<base>/scheduled``; :func:`instantiate_daskjob` turns it into one run.

    Parameters
    ----------
    job_path : str or Path
        Job spec YAML.
    profile_path : str, Path or mapping
        Kubernetes profile.
    config_map : str, optional
        Name of the ConfigMap holding ``job.yaml`` (default ``<base>-job``).

    Returns
    -------
    (dict, dict)
        The DaskJob template and the ConfigMap.
    """
    prep = _prepare(job_path, profile_path)
    return _template(prep, config_map or f"{prep.base}-job")


def instantiate_daskjob(template: Mapping[str, Any], when: dt.datetime) -> dict[str, Any]:
    """One run of a DaskJob template: a name and a result folder stamped with ``when`` (UTC).

    Parameters
    ----------
    template : mapping
        A DaskJob from :func:`daskjob_template` (named ``<base>-run``).
    when : datetime.datetime
        The run's time; naive values are taken as UTC.

    Returns
    -------
    dict
        The DaskJob named ``<base>-<YYYYmmdd-HHMMSS>`` whose scheduler Service selects its own
        cluster and whose runner writes to ``.../<base>/<YYYY-MM-DDTHHMM>``.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    when = when.astimezone(dt.UTC)
    djob = copy.deepcopy(dict(template))
    if djob.get("kind") != "DaskJob":
        raise ValueError(f"not a DaskJob template: kind {djob.get('kind')!r}")
    old = djob["metadata"]["name"]
    base = old[: -len("-run")] if old.endswith("-run") else old
    name = f"{base}-{when:%Y%m%d-%H%M%S}"
    djob["metadata"]["name"] = name
    djob["metadata"].pop("generateName", None)
    sched = djob["spec"]["cluster"]["spec"]["scheduler"]
    sched["service"]["selector"]["dask.org/cluster-name"] = name
    for c in djob["spec"]["job"]["spec"]["containers"]:
        for e in c.get("env", []):
            if e["name"] == "BRGVC_RUN_STAMP":
                e["value"] = when.strftime(STAMP_FORMAT)
    return djob


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def render_manifests(job_path: str | Path, profile_path: str | Path | Mapping[str, Any], *,
                     interactive: bool | None = None, now: dt.datetime | None = None
                     ) -> list[dict[str, Any]]:
    """Manifests of one batch run of a job on Kubernetes.

    Parameters
    ----------
    job_path : str or Path
        Job spec YAML (read as plain data; shipped verbatim in a ConfigMap).
    profile_path : str, Path or mapping
        Kubernetes profile (``cluster/k8s/profile.yaml``).
    interactive : bool, optional
        Also render a long-lived DaskCluster named ``<base>`` (default: the profile's
        ``interactive``).
    now : datetime.datetime, optional
        Time that names the run and its result folder (default: now, UTC).

    Returns
    -------
    list of dict
        ConfigMap ``<base>-<stamp>-job`` (the job spec), the run's three NetworkPolicies
        ``<base>-<stamp>-{dask,scheduler,worker}`` (:func:`network_policies`), with
        ``interactive`` those of the DaskCluster ``<base>-{dask,scheduler,worker}``, then the
        DaskJob ``<base>-<stamp>`` and the DaskCluster ``<base>`` when asked for.

    Raises
    ------
    ValueError
        Invalid profile or job, a secret value in the profile or the job, an exposed scheduler
        without TLS or source ranges, an image not pinned by digest under ``require_digest``,
        or worker memory that cannot be sized.
    """
    when = now or _now()
    prep = _prepare(job_path, profile_path)
    profile, base = prep.profile, prep.base
    stamp = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    template, cm = _template(prep, f"{base}-{stamp:%Y%m%d-%H%M%S}-job")
    djob = instantiate_daskjob(template, when)
    remote = _remote_data(profile, prep.doc)
    run = djob["metadata"]["name"]
    # The policies come before the pods they protect.
    docs = [cm, *network_policies(profile, base, run, {"dask.org/cluster-name": run},
                                  remote=remote, cluster=run)]
    dask_docs = [djob]
    if profile["interactive"] if interactive is None else interactive:
        docs += network_policies(profile, base, base, {"dask.org/cluster-name": base},
                                 remote=remote, cluster=base)
        dask_docs.append(_daskcluster(template, profile, base))
    return docs + dask_docs


def _daskcluster(template: Mapping[str, Any], profile: Mapping[str, Any], base: str
                 ) -> dict[str, Any]:
    spec = copy.deepcopy(template["spec"]["cluster"]["spec"])
    spec["scheduler"]["service"]["selector"]["dask.org/cluster-name"] = base
    spec["idleTimeout"] = profile["idle_timeout"]
    labels = _labels(profile, base, "dask")
    for part in (spec["scheduler"], spec["worker"]):
        part["metadata"]["labels"] = dict(labels)
    return {
        "apiVersion": DASK_API_VERSION,
        "kind": "DaskCluster",
        "metadata": {"name": base, "namespace": profile["namespace"], "labels": labels},
        "spec": spec,
    }


def render_cronjob(job_path: str | Path, profile_path: str | Path | Mapping[str, Any], *,
                   api_version: str | None = None) -> list[dict[str, Any]]:
    """Manifests that run a job on its ``schedule``: a CronJob creating one DaskJob per firing.

    Parameters
    ----------
    job_path : str or Path
        Job spec YAML with a ``schedule`` (a cron string, or ``{cron, timezone,
        concurrency}``).
    profile_path : str, Path or mapping
        Kubernetes profile.
    api_version : {"batch/v1", "batch/v1beta1"}, optional
        CronJob API (default: the profile's ``cronjob.api_version``). ``batch/v1beta1`` is only
        for Kubernetes < 1.21 and has no ``timeZone`` (the controller's zone is used).

    Returns
    -------
    list of dict
        ServiceAccount, Role (create/get/list DaskJobs in the namespace, nothing else),
        RoleBinding, the NetworkPolicies ``<base>-sweep-{dask,scheduler,worker}`` of every
        run (:func:`network_policies`) and ``<base>-sweep-creator`` (no ingress to the
        creator pod), ConfigMap ``<base>-schedule`` (``job.yaml`` and the DaskJob template
        ``daskjob.yaml``) and the CronJob ``<base>-sweep``.

    Raises
    ------
    ValueError
        No or an invalid schedule, or anything :func:`render_manifests` refuses.
    """
    from brgvc.deploy.schedule import job_schedule

    prep = _prepare(job_path, profile_path)
    profile, base = prep.profile, prep.base
    sched = job_schedule(prep.doc)
    if sched is None:
        raise ValueError(f"{job_path}: the job has no 'schedule' (a cron string) to run on")
    ns = profile["namespace"]
    cm_name = f"{base}-schedule"
    template, cm = _template(prep, cm_name)
    policy = {"forbid": "Forbid", "allow": "Allow", "replace": "Replace"}[sched["concurrency"]]
    template["metadata"]["labels"][f"{LABEL_PREFIX}/schedule"] = base
    template["metadata"]["annotations"][f"{LABEL_PREFIX}/concurrency"] = sched["concurrency"]
    cm["metadata"]["name"] = cm_name
    cm["metadata"]["labels"] = _labels(profile, base, "schedule")
    cm["data"][TEMPLATE_KEY] = to_yaml([template])
    sa = f"{base}-sweeper"
    labels = _labels(profile, base, "schedule")
    rbac = [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": sa, "namespace": ns, "labels": labels}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": sa, "namespace": ns, "labels": labels},
         "rules": [{"apiGroups": ["kubernetes.dask.org"], "resources": ["daskjobs"],
                    "verbs": ["create", "get", "list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": sa, "namespace": ns, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa},
         "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]},
    ]
    vol = {"volume": {"name": "daskjob-template", "configMap": {
        "name": cm_name, "items": [{"key": TEMPLATE_KEY, "path": TEMPLATE_KEY}]}},
        "mount": {"name": "daskjob-template", "mountPath": TEMPLATE_MOUNT, "readOnly": True}}
    vols, mounts = _volumes({**profile, "tls": {"enabled": False}}, [vol])
    creator = {
        "name": "create-daskjob",
        "image": profile["image"],
        "imagePullPolicy": profile["image_pull_policy"],
        "command": ["brgvc", "k8s", "create-run", f"{TEMPLATE_MOUNT}/{TEMPLATE_KEY}"],
        "resources": _resources("256Mi", "100m"),
        "securityContext": _security_context(),
        "volumeMounts": mounts,
    }
    cj = profile["cronjob"]
    api = api_version or cj["api_version"]
    cron_spec: dict[str, Any] = {"schedule": sched["cron"]}
    if api == "batch/v1":
        cron_spec["timeZone"] = sched["timezone"]
    cron_spec |= {
        "concurrencyPolicy": policy,
        "startingDeadlineSeconds": cj["starting_deadline_seconds"],
        "successfulJobsHistoryLimit": cj["successful_jobs_history_limit"],
        "failedJobsHistoryLimit": cj["failed_jobs_history_limit"],
        "suspend": cj["suspend"],
        "jobTemplate": {
            "metadata": {"labels": labels},
            "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": 300,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": _pod_spec(profile, [creator], vols, restart="Never",
                                      service_account=sa),
                },
            },
        },
    }
    cronjob = {"apiVersion": api, "kind": "CronJob",
               "metadata": {"name": f"{base}-sweep", "namespace": ns, "labels": labels},
               "spec": cron_spec}
    # Every run of the schedule gets the job's labels (not a fixed cluster name): the policies
    # select those. The creator pod takes no ingress; its egress (the API server) is left open.
    net = network_policies(profile, base, f"{base}-sweep", _job_group(base),
                           remote=_remote_data(profile, prep.doc))
    net.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": f"{base}-sweep-creator", "namespace": ns,
                             "labels": _labels(profile, base, "network")},
                "spec": {"podSelector": {"matchLabels": {
                    f"{LABEL_PREFIX}/job": base, "app.kubernetes.io/component": "schedule"}},
                    "policyTypes": ["Ingress"], "ingress": []}})
    return [*rbac, *net, cm, cronjob]


def _job_group(base: str) -> dict[str, str]:
    """Labels of every Dask pod of every run of a job (brgvc's part of :func:`_labels`)."""
    return {"app.kubernetes.io/managed-by": "brgvc", "app.kubernetes.io/component": "dask",
            f"{LABEL_PREFIX}/job": base}


class _Dumper(yaml.SafeDumper):
    """Plain YAML for people: no anchors/aliases, multi-line strings as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(docs: Iterable[Mapping[str, Any]]) -> str:
    """Manifests as one multi-document YAML text.

    Parameters
    ----------
    docs : iterable of mapping
        Manifests.

    Returns
    -------
    str
        ``---``-separated documents, keys in rendering order, no anchors or aliases,
        multi-line strings (the job spec) as literal blocks.
    """
    return "---\n".join(yaml.dump(dict(d), Dumper=_Dumper, sort_keys=False, width=100)
                         for d in docs)


# --------------------------------------------------------------------------------------------
# applying to an API server
# --------------------------------------------------------------------------------------------


@functools.cache
def _kr8s_class(kind: str) -> Any:
    from kr8s.objects import new_class

    return new_class(kind, version=DASK_API_VERSION, namespaced=True)


def _kr8s_object(doc: Mapping[str, Any], api: Any) -> Any:
    from kr8s.objects import object_from_spec

    if doc["apiVersion"] == DASK_API_VERSION:
        return _kr8s_class(doc["kind"])(dict(doc), api=api)
    return object_from_spec(dict(doc), api=api, allow_unknown_type=True)


def _apply(docs: Sequence[Mapping[str, Any]], profile: Mapping[str, Any],
           owner_kind: str | None = None) -> list[str]:
    """Create ``docs`` in order; ConfigMaps are then owned by the first ``owner_kind`` object."""
    try:
        import kr8s
    except ImportError:
        return _apply_kubectl(docs, profile)
    api = kr8s.api(kubeconfig=profile["kubeconfig"], context=profile["context"],
                   namespace=profile["namespace"])
    created, objs = [], []
    for doc in docs:
        obj = _kr8s_object(doc, api)
        obj.create()
        objs.append(obj)
        created.append(f"{doc['kind'].lower()}/{doc['metadata']['name']}")
    # The job spec ConfigMap goes when its DaskJob is deleted, a cluster's NetworkPolicies
    # with their DaskJob/DaskCluster (garbage collector). Plain references: no `controller`,
    # no `blockOwnerDeletion` (which needs extra rights).
    owner = next((o for o in objs if o.kind == owner_kind), None)
    dask_objs = {o.name: o for o in objs if o.kind in ("DaskJob", "DaskCluster")}
    for doc, o in zip(docs, objs, strict=True):
        target = None
        if o.kind == "ConfigMap":
            target = owner
        elif o.kind == "NetworkPolicy":
            target = dask_objs.get(doc["metadata"]["labels"].get(f"{LABEL_PREFIX}/cluster"))
        if target is not None:
            ref = {"apiVersion": DASK_API_VERSION, "kind": target.kind, "name": target.name,
                   "uid": target.metadata["uid"]}
            o.patch({"metadata": {"ownerReferences": [ref]}})
    return created


def _apply_kubectl(docs: Sequence[Mapping[str, Any]], profile: Mapping[str, Any]) -> list[str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("applying manifests needs kr8s (pip install 'brgvc[k8s]') or kubectl")
    cmd = [kubectl, "create", "-f", "-", "-o", "name", "-n", profile["namespace"]]
    if profile["kubeconfig"]:
        cmd += ["--kubeconfig", profile["kubeconfig"]]
    if profile["context"]:
        cmd += ["--context", profile["context"]]
    res = subprocess.run(cmd, input=to_yaml(docs), capture_output=True, text=True, check=False)
    if res.returncode:
        raise RuntimeError(f"kubectl create failed: {res.stderr.strip()}")
    return res.stdout.split()


def submit(job_path: str | Path, profile_path: str | Path | Mapping[str, Any],
           dry_run: bool = False) -> str:
    """Submit one batch run of a job to Kubernetes (``brgvc submit JOB --k8s PROFILE``).

    Parameters
    ----------
    job_path : str or Path
        Job spec YAML.
    profile_path : str, Path or mapping
        Kubernetes profile; its ``kubeconfig``/``context`` (default: ``$KUBECONFIG`` or
        ``~/.kube/config``, or the in-cluster service account) name the API server.
    dry_run : bool
        Return the manifests as YAML without contacting any server.

    Returns
    -------
    str
        The YAML text (dry run), else the created objects, one ``kind/name`` per line.
    """
    docs = render_manifests(job_path, profile_path)
    if dry_run:
        return to_yaml(docs)
    return "\n".join(_apply(docs, load_k8s_profile(profile_path), owner_kind="DaskJob"))


def submit_schedule(job_path: str | Path, profile_path: str | Path | Mapping[str, Any],
                    dry_run: bool = False) -> str:
    """Install a job's schedule on Kubernetes as a CronJob (see :func:`render_cronjob`).

    Parameters
    ----------
    job_path : str or Path
        Job spec YAML with a ``schedule``.
    profile_path : str, Path or mapping
        Kubernetes profile.
    dry_run : bool
        Return the manifests as YAML without contacting any server.

    Returns
    -------
    str
        The YAML text (dry run), else the created objects, one ``kind/name`` per line.
    """
    docs = render_cronjob(job_path, profile_path)
    if dry_run:
        return to_yaml(docs)
    return "\n".join(_apply(docs, load_k8s_profile(profile_path)))


_FINISHED = {"Successful", "Failed"}


def create_scheduled_run(template_path: str | Path, *, now: dt.datetime | None = None,
                         api: Any = None) -> str | None:
    """Create one DaskJob from a mounted template: what the CronJob's pod runs.

    With the ``forbid`` concurrency of the job's schedule, no run is created while an earlier
    DaskJob of the same schedule has not finished (``status.jobStatus`` not Successful or
    Failed): the CronJob's own ``Forbid`` only covers the creating pod.

    Parameters
    ----------
    template_path : str or Path
        The DaskJob template (``/template/daskjob.yaml``).
    now : datetime.datetime, optional
        Time of the run (default: now, UTC).
    api : kr8s.Api, optional
        API client (default: ``kr8s.api()``: in-cluster service account or kubeconfig).

    Returns
    -------
    str or None
        Name of the created DaskJob, or None when skipped.
    """
    import kr8s

    template = _load_yaml(Path(template_path).read_text("utf-8"), str(template_path))
    meta = template["metadata"]
    djob = instantiate_daskjob(template, now or _now())
    api = api or kr8s.api(namespace=meta["namespace"])
    cls = _kr8s_class("DaskJob")
    schedule = meta.get("labels", {}).get(f"{LABEL_PREFIX}/schedule")
    if schedule and meta.get("annotations", {}).get(f"{LABEL_PREFIX}/concurrency",
                                                    "forbid") == "forbid":
        running = [o.name for o in api.get(cls, namespace=meta["namespace"],
                                           label_selector={f"{LABEL_PREFIX}/schedule": schedule})
                   if (o.raw.get("status") or {}).get("jobStatus") not in _FINISHED]
        if running:
            print(f"skipped: earlier run(s) still running: {', '.join(sorted(running))}")
            return None
    obj = cls(djob, api=api)
    obj.create()
    print(f"created daskjob/{djob['metadata']['name']}")
    return djob["metadata"]["name"]


# --------------------------------------------------------------------------------------------
# offline validation
# --------------------------------------------------------------------------------------------


@functools.cache
def dask_crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """OpenAPI v3 schemas of the Dask CRDs shipped inside the dask-kubernetes wheel.

    Returns
    -------
    dict
        ``(apiVersion, kind) -> openAPIV3Schema``.
    """
    from importlib.resources import files

    crds = files("dask_kubernetes.operator") / "deployment/helm/dask-kubernetes-operator/crds"
    out = {}
    for p in crds.iterdir():
        if not p.name.endswith(".yaml"):
            continue
        crd = yaml.safe_load(p.read_text("utf-8"))
        for v in crd["spec"]["versions"]:
            key = (f"{crd['spec']['group']}/{v['name']}", crd["spec"]["names"]["kind"])
            out[key] = v["schema"]["openAPIV3Schema"]
    return out


_OBJECT_META = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": _DNS_LABEL, "maxLength": 63},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "pattern": _DNS_LABEL},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "ownerReferences": {"type": "array"},
    },
}


def _strict(schema: Any, strict: bool) -> Any:
    """Structural-schema conventions to JSON schema; strict closes objects without
    ``x-kubernetes-preserve-unknown-fields`` (what pruning would silently drop)."""
    if isinstance(schema, list):
        return [_strict(s, strict) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v, strict) for k, v in schema.items() if not k.startswith("x-kubernetes")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if (strict and schema.get("type") == "object" and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def _pod_docs(doc: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Pod and Service specs embedded in a Dask resource, as v1 objects to validate."""
    out = []
    spec = doc.get("spec") or {}
    cluster = spec.get("cluster", {}).get("spec") if doc.get("kind") == "DaskJob" else spec
    if doc.get("kind") == "DaskJob" and isinstance(spec.get("job"), dict):
        out.append(("spec.job.spec", {"apiVersion": "v1", "kind": "Pod",
                                      "metadata": {"name": "runner"},
                                      "spec": spec["job"].get("spec")}))
    if isinstance(cluster, dict):
        for part in ("scheduler", "worker"):
            p = cluster.get(part)
            if isinstance(p, dict) and isinstance(p.get("spec"), dict):
                out.append((f"{part}.spec", {"apiVersion": "v1", "kind": "Pod",
                                             "metadata": {"name": part}, "spec": p["spec"]}))
        svc = (cluster.get("scheduler") or {}).get("service")
        if isinstance(svc, dict):
            out.append(("scheduler.service", {"apiVersion": "v1", "kind": "Service",
                                              "metadata": {"name": "scheduler"}, "spec": svc}))
    return out


def validate_manifest(doc: Mapping[str, Any], *, k8s_version: str = K8S_SCHEMA_VERSION,
                      strict: bool = True) -> list[str]:
    """Validate one manifest offline; an empty list means valid.

    Built-in kinds are checked with ``kubernetes-validate`` against the schemas of
    ``k8s_version`` (an unknown kind or API version is an error, not a warning). Dask kinds are
    checked against the CRD schemas of the installed dask-kubernetes (strict: unknown fields
    are errors), and their embedded pod and Service specs also against ``k8s_version``.

    Parameters
    ----------
    doc : mapping
        A manifest.
    k8s_version : str
        Kubernetes version of the schemas.
    strict : bool
        Refuse unknown fields.

    Returns
    -------
    list of str
        ``"path: message"`` per error found (kubernetes-validate reports the first only).
    """
    import jsonschema

    doc = dict(doc)
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in dask_crd_schemas():
        schema = _strict(copy.deepcopy(dask_crd_schemas()[key]), strict)
        schema.setdefault("properties", {}).update({
            "apiVersion": {"const": key[0]}, "kind": {"const": key[1]},
            "metadata": _OBJECT_META,
        })
        schema["required"] = sorted({*schema.get("required", []), "metadata"})
        errors = [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                  for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
        for where, sub in _pod_docs(doc):
            errors += [f"{where}: {m}" for m in validate_manifest(
                sub, k8s_version=k8s_version, strict=strict)]
        return errors
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError

    try:
        kubernetes_validate.validate(doc, k8s_version, strict=strict)
    except kubernetes_validate.ValidationError as e:
        return [f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message}"]
    except SchemaNotFoundError as e:
        return [f"(top): {e.message}"]
    except KeyError as e:
        return [f"(top): missing {e}"]
    return []


# --------------------------------------------------------------------------------------------
# documented templates (cluster/k8s/*.yaml)
# --------------------------------------------------------------------------------------------

_EXAMPLE_HEADER = """\
# {what}
# GENERATED by `brgvc k8s examples {job} {profile} {outdir}`
# from the job and profile named there: do not edit by hand (tests/test_k8s_manifests.py checks
# that this file matches what brgvc renders and validates it against the Kubernetes and Dask
# CRD schemas). `brgvc submit JOB --k8s PROFILE --dry-run` prints the same for your own job.
"""

_EXAMPLES = {
    "daskjob.yaml": "DaskJob template: one batch run; the CronJob's pod stamps name and --out.",
    "daskcluster.yaml": "DaskCluster for interactive use (profile `interactive: true`).",
    "cronjob.yaml": "CronJob creating one DaskJob per firing of the job's `schedule`.",
    "rbac.yaml": "ServiceAccount/Role/RoleBinding of the CronJob: create/get/list DaskJobs only.",
    "networkpolicy.yaml": "NetworkPolicies of the scheduled runs and of the CronJob's pod.",
}


def example_files(job_path: str | Path, profile_path: str | Path, outdir: str | Path
                  ) -> dict[str, str]:
    """Texts of the documented templates ``cluster/k8s/*.yaml`` (see :data:`_EXAMPLES`).

    Parameters
    ----------
    job_path : str or Path
        A job with a ``schedule`` (``cluster/k8s/example-job.yaml``).
    profile_path : str or Path
        The profile (``cluster/k8s/profile.yaml``).
    outdir : str or Path
        Folder the files are meant for (only quoted in their header).

    Returns
    -------
    dict
        File name -> YAML text.
    """
    cron = render_cronjob(job_path, profile_path)
    by_kind = {d["kind"]: d for d in cron}
    template = yaml.safe_load(by_kind["ConfigMap"]["data"][TEMPLATE_KEY])
    prep_profile = load_k8s_profile(profile_path)
    base = template["metadata"]["name"][: -len("-run")]
    docs = {
        "daskjob.yaml": [template],
        "daskcluster.yaml": [_daskcluster(template, prep_profile, base)],
        "cronjob.yaml": [by_kind["CronJob"]],
        "rbac.yaml": [by_kind[k] for k in ("ServiceAccount", "Role", "RoleBinding")],
        "networkpolicy.yaml": [d for d in cron if d["kind"] == "NetworkPolicy"],
    }
    return {
        name: _EXAMPLE_HEADER.format(what=_EXAMPLES[name], job=job_path, profile=profile_path,
                                     outdir=outdir) + to_yaml(d)
        for name, d in docs.items()
    }


# --------------------------------------------------------------------------------------------
# command line: ``brgvc k8s ...`` (brgvc.cli passes its arguments here; the CronJob's pod)
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``brgvc k8s {render,create-run,examples} ...``.

    ``brgvc.cli`` hands everything after ``k8s`` to this function; the CronJob's pod runs
    ``brgvc k8s create-run /template/daskjob.yaml``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after ``k8s`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 1 with a one-line reason on stderr.
    """
    p = argparse.ArgumentParser(prog="brgvc k8s",
                                description="brgvc manifests for the Dask Kubernetes operator")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render", help="print the manifests of a job as YAML")
    r.add_argument("job")
    r.add_argument("profile")
    r.add_argument("--cronjob", action="store_true", help="the CronJob set, not one run")
    r.add_argument("--interactive", action="store_true", help="also a DaskCluster")
    c = sub.add_parser("create-run", help="create one DaskJob from a template (CronJob pod)")
    c.add_argument("template")
    e = sub.add_parser("examples", help="write the documented templates of cluster/k8s")
    e.add_argument("job")
    e.add_argument("profile")
    e.add_argument("outdir")
    args = p.parse_args(argv)
    try:
        if args.cmd == "render":
            docs = (render_cronjob(args.job, args.profile) if args.cronjob else
                    render_manifests(args.job, args.profile, interactive=args.interactive or None))
            sys.stdout.write(to_yaml(docs))
        elif args.cmd == "examples":
            for name, text in example_files(args.job, args.profile, args.outdir).items():
                (Path(args.outdir) / name).write_text(text, "utf-8")
                print(Path(args.outdir) / name)
        else:
            create_scheduled_run(args.template)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
