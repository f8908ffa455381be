"""Deploying brgvc jobs beyond one machine (the layer right of the runner).

* :mod:`brgvc.deploy.kubernetes`: manifests for the Dask Kubernetes operator (DaskJob,
  DaskCluster, CronJob, NetworkPolicies) with their security guardrails, and ``brgvc k8s``;
* :mod:`brgvc.deploy.schedule`: a job's cron ``schedule`` run locally.

Nothing here is imported by the runner: it reads job specs as data and renders or applies
manifests.
"""
