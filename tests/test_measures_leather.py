"""Every published and self-computed leather number of docs/methods.md §9, to 1e-6 relative.

Published: decompr's tests and blog post (WWZ terms of three exporter-sector-importer cells,
matched by name, never by position). Self-computed: docs/methods.md §9 (all identities hold to
about 1e-13 there).
"""

from __future__ import annotations

import numpy as np
import pytest

from brgvc.core import YearSystem
from brgvc.measures import (
    DECOMPR_ORDER,
    KWW_TERMS,
    bm_source,
    capture_efficiency,
    downstreamness,
    final_dva_rate,
    gvc_income,
    koopman,
    kww,
    production_length,
    upstreamness,
    vax,
    vbe,
    vby,
    wwyz_participation,
    wwz,
)

from . import leather

REL = 1e-6
#: The self-computed numbers of §9 are printed to 6 decimals: besides 1e-6 relative, allow half
#: a unit in the last printed digit (0.139974 has a rounding error of up to 3.6e-6 relative).
ROUND6 = 5e-7


def close(actual, desired, **kw):
    """assert_allclose at 1e-6 relative plus half a unit in the sixth decimal."""
    np.testing.assert_allclose(actual, desired, **({"rtol": REL, "atol": ROUND6} | kw))
C = ("ARG", "TUR", "DEU")
TRANSP = "Transport Equipment"


@pytest.fixture(scope="module")
def ys() -> YearSystem:
    return YearSystem.from_cube(leather.cube())


@pytest.fixture(scope="module")
def wwz_ds(ys):
    return wwz(ys)


# Published WWZ cells (decompr column order: the first 13 columns of DECOMPR_ORDER).
WWZ_PUBLISHED = {
    ("ARG", "Agriculture", "TUR", 14.0): [
        5.4744354, 2.6813686, 1.13634407, 1.40930027, 0.504931544, 0.168614730, 0.70568372,
        0.347019751, 0.41126356, 0.21430105, 0.19588405, 0.10207118, 0.064864146,
    ],
    ("DEU", TRANSP, "TUR", 46.3): [
        23.7239990, 3.2689405, 0.14831124, 0.60720101, 0.018387426, 0.907106729, 1.37381855,
        0.035453172, 4.09529671, 7.38070428, 0.58558374, 1.05536198, 0.673700534,
    ],
    ("DEU", TRANSP, "ARG", 31.6): [
        16.9168288, 2.3746384, 0.18110921, 0.25997068, 0.039006620, 0.436904740, 0.42764724,
        0.084238072, 5.26294538, 2.92022578, 0.77714301, 0.43120969, 0.314861124,
    ],
}  # fmt: skip


@pytest.mark.parametrize("cell", sorted(WWZ_PUBLISHED), ids=lambda c: f"{c[0]}.{c[1]}->{c[2]}")
def test_wwz_published_by_name(wwz_ds, cell):
    s, i, r, E = cell
    sel = {"exporter": s, "sector": i, "importer": r}
    for name, value in zip(DECOMPR_ORDER, WWZ_PUBLISHED[cell], strict=False):
        assert float(wwz_ds[name].sel(sel)) == pytest.approx(value, rel=REL), name
    assert float(wwz_ds["exports"].sel(sel)) == pytest.approx(E, rel=1e-12)
    total = sum(float(wwz_ds[n].sel(sel)) for n in DECOMPR_ORDER)
    assert total == pytest.approx(E, rel=1e-12)


@pytest.mark.parametrize(
    "cell, values",
    [
        (("ARG", "Agriculture", "TUR"), (0.0717157, 0.1754662, 0.3367360)),
        (("DEU", TRANSP, "TUR"), (0.4482283, 1.2720760, 0.7058308)),
    ],
)
def test_wwz_remaining_terms_self_computed(wwz_ds, cell, values):
    sel = dict(zip(("exporter", "sector", "importer"), cell, strict=True))
    for name, value in zip(("DDC_INT", "MDC", "ODC"), values, strict=True):
        assert float(wwz_ds[name].sel(sel)) == pytest.approx(value, rel=REL), name


def test_wwz_term_3_uses_y_tt_pitfall(ys, wwz_ds):
    # The other reading (Y^{tr}) gives a different number for the published cell.
    s = ys.system
    B = s.leontief_inverse()
    A = s.Z / s.x[None, :]
    N = 3
    b = [slice(k * N, (k + 1) * N) for k in range(3)]
    vl = s.v[b[0]] @ np.linalg.inv(np.eye(N) - A[b[0], b[0]])
    y_tr = (A[b[0], b[1]] @ (B[b[1], b[2]] @ s.Yd[b[2], 1]))[0] * vl[0]
    got = float(wwz_ds["DVA_INTrexI1"].sel(exporter="ARG", sector="Agriculture", importer="TUR"))
    assert got == pytest.approx(1.13634407, rel=REL)
    assert abs(y_tr - got) > 0.01


def test_gross_exports(ys):
    E = ys.gross_exports().sum(("sector", "importer"))
    close(E.sel(exporter=list(C)).values, [64.3, 113.6, 147.6], rtol=1e-12, atol=0)


def test_vby_country_and_vax_ratio(ys):
    F = vby(ys).sel(source=list(C), sink=list(C)).values
    ref = [[44.867912, 18.493099, 28.238989], [24.661291, 68.358556, 52.680153],
           [38.970798, 57.748345, 127.480858]]  # fmt: skip
    close(F, ref)
    v = vax(ys)
    close(v["vax_ratio"].sel(exporter=list(C)).values, [0.726782, 0.680823, 0.655279])
    # VAX totals are the out-strengths of the VBY network (docs/methods.md §9)
    close(v["vax_total"].sel(exporter=list(C)).values, [46.732088, 77.341444, 96.719142])
    off = F - np.diag(np.diag(F))
    close(off.sum(0), [63.632088, 76.241444, 80.919142])  # in-strength


KWW_REF = {
    "ARG": [19.349405, 18.971193, 8.411491, 5.259501, 0.825972, 0.872395, 3.450595, 3.388617,
            3.770832],
    "TUR": [43.394614, 26.206777, 7.740053, 10.475795, 2.007578, 2.636936, 10.205386, 5.359698,
            5.573163],
    "DEU": [78.731008, 15.239670, 2.748464, 5.689669, 4.433592, 4.448180, 26.668992, 4.455024,
            5.185401],
}  # fmt: skip


@pytest.mark.parametrize("country", C)
def test_kww_terms(ys, country):
    k = kww(ys).sel(exporter=country)
    got = [float(k[t]) for t in KWW_TERMS]
    close(got, KWW_REF[country])
    assert float(k["VAX"]) == pytest.approx(sum(KWW_REF[country][:3]), rel=REL)
    assert float(k["DVA"]) == pytest.approx(sum(KWW_REF[country][:5]), rel=REL)
    assert float(k["VS"]) == pytest.approx(sum(KWW_REF[country][6:]), rel=REL)
    assert float(k["PDC"]) == pytest.approx(KWW_REF[country][5] + KWW_REF[country][8], rel=REL)


def test_leontief_vbe_published_and_mc(ys):
    full = vbe(ys, level="full")
    cell = full.sel(source="ARG", source_sector="Agriculture", exporter="ARG",
                    sector="Agriculture")
    assert float(cell) == pytest.approx(28.52278143, rel=REL)
    cell = full.sel(source="DEU", source_sector=TRANSP, exporter="DEU", sector=TRANSP)
    assert float(cell) == pytest.approx(34.74381924, rel=REL)
    M = vbe(ys).sel(source=list(C), exporter=list(C)).values
    ref = np.array([[53.689956, 8.186849, 13.447898], [4.238859, 92.461753, 22.861519],
                    [6.371185, 12.951397, 111.290583]])  # fmt: skip
    close(M, ref)
    off = M - np.diag(np.diag(M))
    close(off.sum(1), [21.634747, 27.100378, 19.322582])  # DVX
    close(off.sum(0), [10.610044, 21.138247, 36.309417])  # FVA+FDC


def test_vbe_output_variant_published(ys):
    # decompr's post = "output": V̂BX̂.
    s = ys.system
    VBX = s.vbe_full(post=s.x)
    assert VBX[0, 0] == pytest.approx(66.75361799, rel=REL)
    assert VBX[8, 8] == pytest.approx(96.78316785, rel=REL)


def test_wwyz_participation(ys):
    p = wwyz_participation(ys).sel(region=list(C))
    close(p["GVCPt_f"].values, [0.368573, 0.327556, 0.139974])
    close(p["GVCPt_b"].values, [0.191067, 0.225493, 0.268244])


def test_gvc_position(ys):
    pos = production_length(ys)["GVC_Pos"].sel(region=list(C)).values
    close(pos, [0.961728, 0.955000, 1.090658])


def test_koopman_participation_position(ys):
    k = koopman(ys, iv="kww_t3").sel(iv="kww_t3", region=list(C))
    close(k["participation"].values, [0.295825, 0.254210, 0.264620])
    close(k["position"].values, [-0.029789, -0.104737, -0.201488])
    # DVX variant: IV = off-diagonal row sums of M_c.
    kd = koopman(ys, iv="dvx").sel(iv="dvx", region=list(C))
    close(kd["IV"].values, [21.634747, 27.100378, 19.322582])
    E = np.array([64.3, 113.6, 147.6])
    FV = np.array([10.610044, 21.138247, 36.309417])
    IV = kd["IV"].values
    close(kd["participation"].values, IV / E + FV / E)
    close(kd["position"].values, np.log1p(IV / E) - np.log1p(FV / E))


U_REF = [2.098404, 2.176856, 1.631124, 2.107104, 2.180156, 1.839251, 1.989594, 2.101771,
         1.758751]  # fmt: skip
D_REF = [1.565401, 1.776986, 2.433220, 1.726920, 1.942745, 2.504757, 1.735891, 2.062201,
         2.394124]  # fmt: skip


def test_sector_upstreamness_downstreamness(ys):
    U = upstreamness(ys).sel(region=list(C)).values.ravel()
    D = downstreamness(ys).sel(region=list(C)).values.ravel()
    close(U, U_REF)
    close(D, D_REF)
    pl = production_length(ys, level="sector").sel(region=list(C))
    close(pl["PLv"].values.ravel(), U_REF)
    close(pl["PLy"].values.ravel(), D_REF)


def test_country_upstreamness_downstreamness_weights(ys):
    x = leather.X.reshape(3, 3)
    yt = leather.Y.sum(1).reshape(3, 3)
    U = upstreamness(ys, level="country").sel(region=list(C)).values
    D = downstreamness(ys, level="country").sel(region=list(C)).values
    close(U, (x * np.reshape(U_REF, (3, 3))).sum(1) / x.sum(1))
    close(D, (yt * np.reshape(D_REF, (3, 3))).sum(1) / yt.sum(1))


def test_gvc_income(ys):
    g = gvc_income(ys)
    P = g["P"].sel(source=list(C), producer=list(C)).values
    ref = np.array([[58.957815, 9.305325, 23.336860], [4.781682, 101.277375, 39.640943],
                    [7.760503, 15.917300, 200.522197]])  # fmt: skip
    close(P, ref)
    close(P.sum(0), [71.5, 126.5, 263.5], rtol=1e-12, atol=0)
    close(g["fva_share"].sel(producer=list(C)).values,
                               1 - np.diag(ref) / ref.sum(0))


def test_e3_final_dva_rate(ys):
    e3 = final_dva_rate(ys)["e3_total"].sel(exporter=list(C)).values
    close(e3, [0.848658, 0.809601, 0.746974])
    # e3 = 1 − (MVA_FIN + OVA_FIN) / final exports
    w = wwz(ys, level="country")
    fin = w["DVA_FIN"] + w["MVA_FIN"] + w["OVA_FIN"]
    close((1 - (w["MVA_FIN"] + w["OVA_FIN"]) / fin).values,
                               [0.848658, 0.809601, 0.746974])
    # The focal-country version of the same number (ARG as focal).
    ce = capture_efficiency(ys, focal="ARG", benchmarks=("DEU", "TUR"), grouping=None)
    assert float(ce["e3_total"]) == pytest.approx(0.848658, rel=REL)


def test_bm_source_arg_tur(ys):
    bm = bm_source(ys, level="bilateral").sel(exporter="ARG", importer="TUR")
    assert float(bm["DVA"]) == pytest.approx(18.190817, rel=REL)
    assert float(bm["DDC"]) == pytest.approx(0.272325, rel=REL)
    assert float(bm["FC"]) == pytest.approx(3.236858, rel=REL)
    assert float(bm["exports"]) == pytest.approx(21.7, rel=1e-12)
