"""The findings of docs/methods.md §0 end to end on WIOD: run -> result store -> findings -> report.

A reduced default job (3 years × 1 base + 3 draws, the default job's network and China
measures) runs once per module on the synchronous scheduler (~15 s); every check compares the
findings with the result store and with the library computed independently.
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from brgvc.runner import default_job_path, load_job, run_job
from brgvc.studies.belt_and_road import findings, findings_text, write_findings, write_report
from brgvc.studies.belt_and_road.findings import STATS, FindingsError

YEARS = [1995, 2003, 2011]


def reduced_default_job() -> dict:
    """The default job with 3 years and 3 draws (and no per-draw tables)."""
    spec = yaml.safe_load(default_job_path().read_text())
    spec = copy.deepcopy(spec)
    spec["name"] = "findings_test"
    spec["years"] = YEARS
    spec["measures"] = [m for m in spec["measures"] if m not in ("vby", "kww")]
    spec["draws"].update(n=3, block=4)
    spec["outputs"] = {"formats": ["csv"], "tables": ["summary"]}
    return spec


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from brgvc.studies.belt_and_road.study import run_study

    out = tmp_path_factory.mktemp("findings")
    result = run_study(reduced_default_job(), out, cluster="sync", progress=False)
    return out, result.main


@pytest.fixture(scope="module")
def tables(run):
    return findings(run[0])


@pytest.fixture(scope="module")
def store(run):
    ds = xr.open_zarr(run[0] / "results.zarr", consolidated=False).load()
    sm = xr.open_zarr(run[0] / "summary.zarr", consolidated=False).load()
    return ds, sm


@pytest.fixture(scope="module")
def base_2011():
    from brgvc.core.leontief import YearSystem
    from brgvc.datasets import open_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return YearSystem.from_cube(open_dataset("wiod2013", years=[2011]), 2011)


def one(df: pd.DataFrame, **eq) -> pd.Series:
    mask = np.ones(len(df), dtype=bool)
    for k, v in eq.items():
        mask &= (df[k] == v).to_numpy()
    sel = df[mask]
    assert len(sel) == 1, f"{eq}: {len(sel)} rows"
    return sel.iloc[0]


def test_default_job_requests_what_the_findings_need():
    job = load_job(default_job_path())
    names = {m.name for m in job.measures}
    assert {"vbe", "china_va", "china_efficiency", "final_dva_rate"} <= names
    assert list(job.network["weight"]) == ["W1", "W2", "W3", "W4"]
    assert job.network["negative"] == "clip"
    assert job.findings is not None and job.findings["gexf"]
    assert job.findings["min_members"] == 2


def test_run_writes_findings_and_network_files(run):
    out, _ = run
    assert (out / "findings.md").exists()
    assert (out / "variants" / "published" / "results.zarr").is_dir()
    for name in ("coverage", "intensity", "trends", "position", "leaders", "sources_partner",
                 "sources_region", "gradient", "efficiency", "efficiency_region",
                 "probabilities", "verdicts", "negative_weights", "size_neutral",
                 "leaders_by_weight", "sources_definitions", "gradient_definitions",
                 "efficiency_measures", "robustness", "context", "decisions",
                 "interval_check"):
        assert (out / "findings" / f"{name}.csv").exists(), name
    for y in YEARS:
        assert (out / "networks" / f"W1_{y}.gexf").exists()
    # run_study wrote the findings after both runs (the runner itself writes none)
    assert json.loads((out / "run.json").read_text())["findings"] == []


def test_store_layout_of_the_network(store):
    ds, sm = store
    for v in ("total_flow", "density_weighted", "density_binary", "intra_share", "S2", "S4",
              "S11", "first", "avg_clustering", "coreness_rho", "n_negative_edges",
              "negative_mass", "global_density_binary"):
        assert ds[f"net_{v}"].dims == ("year", "draw", "weight"), v
    for v in ("strength", "strength_share", "pagerank", "coreness", "betweenness",
              "strength_rank", "coreness_rank", "pagerank_rank", "global_out_degree"):
        assert ds[f"net_{v}"].dims == ("year", "draw", "weight", "node"), v
    assert ds["weight"].values.tolist() == ["W1", "W2", "W3", "W4"]
    nodes = [str(x) for x in ds["node"].values]
    assert len(nodes) == 15 and "CHN" in nodes and "ROM" in nodes
    assert [str(x) for x in ds["net_source"].values] == [*nodes, "Rest"]
    assert not ds["network_failed"].values.any()
    # the reduction over draws ran in the Dask graph and stored P(rank 1)
    assert sm["net_strength_rank_p1"].dims == ("year", "weight", "node")
    assert sm["net_total_flow"].dims == ("year", "stat", "weight")


def test_coverage_is_stated(tables, run):
    cov = tables["coverage"].set_index("region")
    assert cov["n_present"].sum() == 15 and cov["n_members"].sum() == 65
    assert cov.loc["Central Asia", "n_present"] == 0 and cov.loc["East Asia", "n_present"] == 0
    assert cov.loc["Southeast Asia", "present"] == "IDN"
    text = (run[0] / "findings.md").read_text()
    assert "Only 14 of the 64 belt_and_road economies besides CHN" in text
    assert "Regions with no covered economy: East Asia, Central Asia" in text


def test_intervals_and_base_values(tables, store):
    ds, _ = store
    for name in ("intensity", "position", "sources_partner", "sources_region", "gradient",
                 "efficiency", "efficiency_region"):
        df = tables[name]
        assert len(df), name
        assert list(df.columns[-len(STATS):]) == list(STATS)
        ok = df[["q025", "q975"]].notna().all(axis=1)
        assert (df.loc[ok, "q025"] <= df.loc[ok, "q975"] + 1e-12).all(), name
    it = tables["intensity"]
    for y in YEARS:
        for ind in ("total_flow", "density_weighted", "intra_share"):
            assert one(it, year=y, indicator=ind)["base"] == \
                ds[f"net_{ind}"].sel(year=y, draw=0, weight="W1").item()
    assert one(it, year=YEARS[0], indicator="total_flow_index")["base"] == 1.0
    pos = tables["position"]
    assert one(pos, year=2011, indicator="strength_rank")["base"] == \
        ds["net_strength_rank"].sel(year=2011, draw=0, node="CHN", weight="W1").item()


def test_statistics_equal_the_runners_reduction(tables, store):
    _, sm = store
    it = tables["intensity"]
    for y in YEARS:
        row = one(it, year=y, indicator="total_flow")
        st = sm["net_total_flow"].sel(year=y, weight="W1")
        for stat in STATS:
            assert row[stat] == pytest.approx(st.sel(stat=stat).item(), rel=1e-12, nan_ok=True)
    pr = tables["probabilities"]
    for y in YEARS:
        p = one(pr, event="CHN ranks first by strength", year=str(y))["probability"]
        assert p == sm["net_strength_rank_p1"].sel(year=y, node="CHN", weight="W1").item()
    span = f"{YEARS[0]}-{YEARS[-1]}"
    assert one(pr, event="S2 last year > first year", year=span)["probability"] == \
        sm["net_S2_p_rise"].sel(weight="W1").item()
    assert one(pr, event="intra_share last year > first year", year=span)["probability"] == \
        sm["net_intra_share_p_rise"].sel(weight="W1").item()


def test_total_flow_is_the_edge_table_and_strength_is_w1(run, tables, store, base_2011):
    out = run[0]
    ds, _ = store
    edges = pd.read_csv(out / "networks" / "edges.csv")
    edges = edges[edges["weight"] == "W1"]
    it = tables["intensity"]
    for y in YEARS:
        assert edges[edges["year"] == y]["base"].sum() == pytest.approx(
            one(it, year=y, indicator="total_flow")["base"], rel=1e-12)
    # China's strength = row + column sums of W1 = S V̂BÊ S', computed here from the table
    # and restricted to the B&R members afterwards.
    nodes = [str(x) for x in ds["node"].values]
    regions = [str(r) for r in base_2011.regions]
    W1 = base_2011.system.vbe_country()
    idx = [regions.index(n) for n in nodes]
    sub = W1[np.ix_(idx, idx)]
    np.fill_diagonal(sub, 0.0)
    c = nodes.index("CHN")
    strength = ds["net_strength"].sel(year=2011, draw=0, node="CHN", weight="W1").item()
    assert strength == pytest.approx(sub[c].sum() + sub[:, c].sum(), rel=1e-10)
    # the same from the stored vbe measure (another variable of the same store)
    vbe = ds["vbe"].sel(year=2011, draw=0, source=nodes, exporter=nodes).values.copy()
    np.fill_diagonal(vbe, 0.0)
    assert strength == pytest.approx(vbe[c].sum() + vbe[:, c].sum(), rel=1e-12)
    nodes_csv = pd.read_csv(out / "networks" / "nodes.csv")
    row = nodes_csv[(nodes_csv.year == 2011) & (nodes_csv.node == "CHN")
                    & (nodes_csv.metric == "strength") & (nodes_csv.weight == "W1")]
    assert row["base"].item() == pytest.approx(strength, rel=1e-12)
    assert row["region"].item() == "China"


def test_gexf_holds_the_base_network(run, store):
    import networkx as nx

    ds, _ = store
    G = nx.read_gexf(run[0] / "networks" / "W1_2011.gexf")
    assert G.number_of_nodes() == 15 and "Rest" not in G
    total = sum(w for _, _, w in G.edges(data="weight"))
    assert total == pytest.approx(
        ds["net_total_flow"].sel(year=2011, draw=0, weight="W1").item(), rel=1e-9)
    assert G.nodes["CHN"]["region"] == "China"


def test_sources_and_gradient(tables, store):
    from scipy.stats import spearmanr

    from brgvc.regions import capital_lonlat, to_iso3

    ds, _ = store
    part = tables["sources_partner"]
    members = sorted(set(part["partner"]))
    assert "CHN" not in members and len(members) == 14 and "ROM" in members
    for y in YEARS:
        base = part[(part.year == y) & (part.indicator == "a")].set_index("partner")["base"]
        stored = ds["china_va_a"].sel(year=y, draw=0, partner=list(base.index)).values
        np.testing.assert_array_equal(base.values, stored)
        reg = tables["sources_region"]
        shares = reg[(reg.year == y) & (reg.indicator == "share_group")]["base"]
        assert shares.sum() == pytest.approx(1.0, rel=1e-12)
        a = ds["china_va_a"].sel(year=y, draw=0, partner=members).values
        lon = [capital_lonlat(c)[0] for c in to_iso3(members)]
        rho = one(tables["gradient"], year=y, indicator="spearman_lon")["base"]
        assert rho == pytest.approx(spearmanr(a, lon).statistic, rel=1e-12)
    pr = tables["probabilities"]
    sea = pr[pr.event == "Southeast Asia is the top source region"]
    assert len(sea) == len(YEARS) and sea["probability"].between(0, 1).all()


def test_efficiency_against_the_benchmarks(tables, store):
    ds, _ = store
    eff = tables["efficiency"]
    exporters = set(eff["exporter"])
    assert {"CHN", "USA", "JPN", "DEU", "KOR", "RUS", "IND"} == exporters
    nodes = [str(x) for x in ds["node"].values]
    markets = [n for n in nodes if n != "CHN"]
    num = ds["final_dva_rate_DVA_FIN"].sel(year=2011, draw=0, exporter="CHN",
                                           importer=markets).sum().item()
    den = ds["final_dva_rate_final_exports"].sel(year=2011, draw=0, exporter="CHN",
                                                 importer=markets).sum().item()
    row = one(eff, year=2011, indicator="e3_group", exporter="CHN")
    assert row["base"] == pytest.approx(num / den, rel=1e-12)
    # China's e3 by partner is the same number in the two China measures
    np.testing.assert_allclose(
        ds["china_efficiency_e3"].sel(year=2011, draw=0, partner=markets).values,
        ds["final_dva_rate_e3"].sel(year=2011, draw=0, exporter="CHN", importer=markets).values,
        rtol=1e-10)
    pr = tables["probabilities"]
    pe = pr[(pr.finding == 4) & pr.event.str.contains("<")]
    assert set(pe["benchmark"]) == exporters - {"CHN"}
    assert pe["probability"].between(0, 1).all()
    ratio = one(eff, year=2011, indicator="e3_ratio", exporter="USA")
    assert ratio["base"] > 0


def test_verdicts_and_text(tables, run):
    ver = tables["verdicts"]
    assert ver["finding"].tolist() == [1, 2, 3, 4]
    # WIOD 1995/2003/2011, 3 draws: the intensity relative to size falls (1.84 -> 0.83),
    # Russia leads by strength in 1995, Southeast Asia has one covered member (IDN), and
    # Germany's and Korea's e3 exceed China's.
    assert ver["verdict"].tolist() == ["not supported", "not supported", "partly supported",
                                       "not supported"]
    assert "W1/balanced/with CHN" in ver.loc[0, "disagree"]
    assert "Southeast Asia: 1 covered member(s) < 2" in ver.loc[2, "reason"]
    text = findings_text(run[0], write=False)
    for k in range(1, 5):
        assert f"## {k}." in text
    assert "## Robustness" in text and "## How to read" in text
    assert "2. leader by strength, W1/balanced: RUS 1995" in text


def test_size_neutral_and_leaders(tables, store):
    ds, _ = store
    sn = tables["size_neutral"]
    w = ds["net_weight"]
    if "weight" in w.dims:
        w = w.sel(weight="W1")
    nodes = [str(x) for x in ds["node"].values]
    for y in YEARS:
        W = w.sel(year=y, draw=0).values
        m = np.array([s in nodes for s in [str(x) for x in ds["net_source"].values]])
        intra = W[np.ix_(m, m)].sum() / W[m].sum()
        row = one(sn, year=y, indicator="intra_share", weight="W1", gross_output="balanced",
                  focal="with")
        assert row["base"] == pytest.approx(intra, rel=1e-12)
        # the runner's own intra share of the same network
        stored = ds["net_intra_share"].sel(year=y, draw=0)
        stored = stored.sel(weight="W1") if "weight" in stored.dims else stored
        assert row["base"] == pytest.approx(float(stored), rel=1e-12)
        world = ds["br_capture_world_flow"].sel(year=y, draw=0, br_weight="W1").item()
        size = W[:, m].sum() / world
        inten = one(sn, year=y, indicator="intensity", weight="W1", gross_output="balanced",
                    focal="with")
        assert inten["base"] == pytest.approx(intra / size, rel=1e-12)
    lead = tables["leaders_by_weight"]
    lb = lead[(lead.weight == "W1") & (lead.gross_output == "balanced")]
    assert lb["leader"].tolist()[0] == "RUS" and lb["leader"].tolist()[-1] == "CHN"
    pr = tables["probabilities"]
    np.testing.assert_allclose(pr["mcse"], np.sqrt(pr["probability"] * (1 - pr["probability"])
                                                   / pr["n_draws"]))
    rob = tables["robustness"]
    ok = rob[rob.testable]
    np.testing.assert_allclose(ok["mcse"], np.sqrt(ok["p_min"] * (1 - ok["p_min"])
                                                   / ok["n_draws"]))
    assert set(rob[rob.finding == 1]["gross_output"]) == {"balanced", "published"}


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                    "(apt-get install chromium chromium-driver)")
def test_report_html_rendered_in_chromium(run, tables, tmp_path):
    import html as _html
    import re
    import subprocess

    path = write_report(run[0])
    raw = path.read_text()
    assert path.name == "report.html" and raw.startswith("<!DOCTYPE html>")
    assert "http://" not in raw.replace('xmlns="http://www.w3.org/2000/svg"', "")
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         path.resolve().as_uri()], capture_output=True, text=True, timeout=120, check=True)
    dom = proc.stdout
    ver = findings(run[0])["verdicts"]
    for _, r in ver.iterrows():
        cell = re.search(rf'id="verdict-{r.finding}"[^>]*>([^<]*)<', dom)
        assert cell is not None and _html.unescape(cell.group(1)) == r.verdict
        dis = re.search(rf'id="disagree-{r.finding}"[^>]*>([^<]*)<', dom)
        assert _html.unescape(dis.group(1)) == (r.disagree if isinstance(r.disagree, str)
                                               else "")
    # a number of the robustness section, against the size-neutral table
    sn = tables["size_neutral"]
    r0 = one(sn, year=YEARS[0], indicator="intensity", weight="W1", gross_output="balanced",
             focal="with")["base"]
    assert f"intensity {r0:.3f} -> " in _html.unescape(dom)
    # the figures rendered as SVG elements of the DOM (with their plotted points)
    assert len(re.findall(r"<svg[^>]*>", dom)) >= 5
    assert len(re.findall(r"<circle", dom)) >= 5


def test_write_findings_options(run, tmp_path):
    files = write_findings(run[0], {"gexf": False, "benchmarks": ["USA"]})
    assert not any(p.suffix == ".gexf" for p in files.networks)
    assert set(files.frames["efficiency"]["exporter"]) == {"CHN", "USA"}
    write_findings(run[0])  # restore the default files for the other tests
    with pytest.raises(FindingsError, match="no brgvc result store"):
        findings(tmp_path)


def test_a_job_without_network_or_china_measures(tmp_path):
    job = {"name": "bare", "data": "wiod2013", "years": [2011], "measures": ["vby"],
           "draws": {"n": 1, "block": 2, "seed": 1}, "findings": True}
    run_job(job, cluster="sync", out=tmp_path, progress=False)
    text = write_findings(tmp_path).text
    assert text == (tmp_path / "findings.md").read_text()
    assert "Not available: the job has no network section" in text
    assert "Not available: the job lacks the china_va measure" in text
    assert load_job({**job, "findings": None}).findings is None


#: WIOD regions relabelled as B&R economies that WIOD lacks: a stand-in for a larger table
#: (Eora-like coverage of Southeast, Central and East Asia).
RELABEL = {"AUS": "VNM", "BRA": "THA", "CAN": "KAZ", "MEX": "MYS", "IRL": "SGP", "GRC": "PHL",
           "PRT": "UZB", "AUT": "MNG"}


def test_the_same_code_on_a_table_with_more_members(tmp_path):
    from brgvc.datasets import open_dataset
    from brgvc.readers.store import write_cube

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = open_dataset("wiod2013", years=[2010, 2011], gross_output="published")
        labels = [RELABEL.get(str(r), str(r)) for r in ds["region"].values]
        ds = ds.assign_coords(region=np.array(labels, dtype=object),
                              region_to=np.array(labels, dtype=object))
        ds.attrs.update(source="WIOD relabelled", format="relabelled")
        write_cube(ds, tmp_path / "cube.zarr", check_balance=False)
    spec = reduced_default_job()
    spec.update(data=str(tmp_path / "cube.zarr"), years=[2010, 2011])
    spec["draws"].update(n=2, block=3)
    out = tmp_path / "out"
    run_job(spec, cluster="sync", out=out, progress=False)
    t = write_findings(out).frames
    cov = t["coverage"].set_index("region")
    assert cov["n_present"].sum() == 23
    assert cov.loc["Southeast Asia", "n_present"] == 6
    assert cov.loc["Central Asia", "present"] == "KAZ UZB"
    text = (out / "findings.md").read_text()
    assert "Only 22 of the 64" in text and "Regions with no covered economy: none" in text
    regions = set(t["sources_region"]["region"])
    assert {"Southeast Asia", "Central Asia", "East Asia"} <= regions
    assert len(set(t["sources_partner"]["partner"])) == 22
    pr = t["probabilities"]
    assert len(pr[pr.event == "Southeast Asia is the top source region"]) == 2
    assert set(xr.open_zarr(out / "results.zarr", consolidated=False)["node"].values) >= {
        "VNM", "KAZ", "MNG", "CHN"}


def test_network_tables_read_the_runners_statistics(run, store):
    from brgvc.report.networks import edge_frame

    ds, sm = store
    edges = pd.read_csv(run[0] / "networks" / "edges.csv")
    e = edges[(edges.weight == "W2") & (edges.year == 2003) & (edges.source == "CHN")
              & (edges.sink == "RUS")].iloc[0]
    st = sm["net_weight"].sel(year=2003, weight="W2", net_source="CHN", net_sink="RUS")
    for stat in ("base", "mean", "sd", "q025", "q975"):
        assert e[stat] == pytest.approx(st.sel(stat=stat).item(), rel=1e-12)
    # the same numbers as reducing the per-draw weights here (the runner's own reduction)
    a, b = edge_frame(ds), edge_frame(ds, sm)
    np.testing.assert_allclose(a[["base", "mean", "q025", "q975"]].to_numpy(float),
                               b[["base", "mean", "q025", "q975"]].to_numpy(float), rtol=1e-12)
