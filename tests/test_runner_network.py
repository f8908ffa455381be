"""The network step inside the runner: negative-weight policy on real WIOD draws, thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brgvc.runner import load_job, run_job

#: Draw 3 of WIOD 2001 under this seed and model has negative value added in Estonia, which
#: makes one W1 edge (EST -> HUN) negative.
JOB = {
    "name": "negative", "data": "wiod2013", "years": [2001], "grouping": "belt_and_road",
    "measures": ["vbe"],
    "network": {"weight": "W1", "thresholds": [{"disparity": 0.05}, 0.001],
                "options": {"communities": False}},
    "draws": {"n": 3, "block": 4, "seed": 20190701, "rse": {"kind": "flat", "value": 0.1}},
    "outputs": {"formats": ["csv"], "tables": ["summary"]},
    "findings": False,
}


@pytest.fixture(scope="module")
def clipped(tmp_path_factory):
    out = tmp_path_factory.mktemp("clip")
    run_job(JOB, cluster="sync", out=out, progress=False)
    return xr.open_zarr(out / "results.zarr", consolidated=False).load(), out


def test_negative_weights_are_clipped_and_reported(clipped):
    ds, out = clipped
    n = ds["net_n_negative_edges"].sel(year=2001).values
    assert n[0] == 0 and n[3] >= 1  # the base run has none, draw 3 does
    assert ds["net_negative_mass"].sel(year=2001, draw=3).item() > 0
    assert not ds["network_failed"].values.any()
    assert np.isfinite(ds["net_strength"].values).all()
    # the stored weights are the clipped ones the metrics saw
    nodes = [str(x) for x in ds["node"].values]
    W = ds["net_weight"].sel(year=2001, draw=3)
    assert float(W.min()) == 0.0
    assert float(W.sel(net_source=nodes, net_sink=nodes).sum()) == pytest.approx(
        ds["net_total_flow"].sel(year=2001, draw=3).item(), rel=1e-12)
    assert (out / "tables" / "net_strength_rank_p1.csv").exists()
    assert list(pd.read_csv(out / "tables" / "net_strength_rank_p1.csv").columns) == [
        "year", "weight", "node", "value"]


def test_second_threshold_adds_only_backbone_outputs(clipped):
    ds, _ = clipped
    extra = sorted(v for v in ds.data_vars if str(v).startswith("net_global_"))
    assert extra == ["net_global_density_binary", "net_global_in_degree", "net_global_n_edges",
                     "net_global_out_degree"]
    assert (ds["net_global_n_edges"] >= ds["net_n_edges"]).all()  # 0.1 % cut keeps more


def test_raise_policy_flags_the_draw(tmp_path):
    job = {**JOB, "network": {**JOB["network"], "negative": "raise"}}
    assert load_job(job).hash != load_job(JOB).hash
    run_job(job, cluster="sync", out=tmp_path, progress=False)
    ds = xr.open_zarr(tmp_path / "results.zarr", consolidated=False).load()
    failed = ds["network_failed"].sel(year=2001).values
    assert failed[3] and not failed[0]
    assert np.isnan(ds["net_total_flow"].sel(year=2001, draw=3).item())


def test_base_run_only_with_w2_and_findings(tmp_path):
    job = {"name": "base", "data": "wiod2013", "years": [2011], "grouping": "belt_and_road",
           "measures": ["vby"], "network": {"weight": "W2", "store_weights": False},
           "draws": {"n": 0}, "outputs": {"formats": ["csv"], "tables": ["summary"]}}
    s = run_job(job, cluster="sync", out=tmp_path, progress=False)
    ds = xr.open_zarr(tmp_path / "results.zarr", consolidated=False).load()
    assert "net_weight" not in ds and ds.sizes["draw"] == 1
    # W2 = S V̂BY restricted to the members: total flow from the stored vby measure
    nodes = [str(x) for x in ds["node"].values]
    vby = ds["vby"].sel(year=2011, draw=0, source=nodes, sink=nodes).values.copy()
    np.fill_diagonal(vby, 0.0)
    assert ds["net_total_flow"].sel(year=2011, draw=0).item() == pytest.approx(vby.sum(),
                                                                               rel=1e-12)
    # The runner writes no study findings; it hands the job's findings options to the caller.
    assert s.findings == [] and s.findings_options is not None
    assert not (tmp_path / "findings.md").exists()


def test_weight_list_equals_single_weight_runs(clipped, tmp_path):
    """network.weight: [W2, W1, W4] gives, for W1, exactly the single-weight run's net_*
    (same draws, same factorised system), and for W2 and W4 their own definitions."""
    ds1, _ = clipped
    job = {**JOB, "network": {**JOB["network"], "weight": ["W2", "W1", "W4"]}}
    run_job(job, cluster="sync", out=tmp_path, progress=False)
    ds = xr.open_zarr(tmp_path / "results.zarr", consolidated=False).load()
    assert [str(w) for w in ds["weight"].values] == ["W2", "W1", "W4"]
    net = sorted(v for v in ds.data_vars if str(v).startswith("net_"))
    assert net == sorted(v for v in ds1.data_vars if str(v).startswith("net_"))
    for v in net:
        assert ds[v].dims[:3] == ("year", "draw", "weight"), v
        assert ds1[v].sizes["weight"] == 1
        np.testing.assert_array_equal(ds[v].sel(weight=["W1"]).values, ds1[v].values,
                                      err_msg=v)
    # W4 = country sums of Z: the members' block of the stored (clipped) weights sums to the
    # network's total flow, and W4 has no negative flow to clip
    nodes = [str(x) for x in ds["node"].values]
    W4 = ds["net_weight"].sel(weight="W4", year=2001, draw=0)
    assert float(W4.sel(net_source=nodes, net_sink=nodes).sum()) == pytest.approx(
        ds["net_total_flow"].sel(weight="W4", year=2001, draw=0).item(), rel=1e-12)
    assert (ds["net_n_negative_edges"].sel(weight="W4") == 0).all()
    assert not np.array_equal(ds["net_weight"].sel(weight="W2").values,
                              ds["net_weight"].sel(weight="W1").values)
