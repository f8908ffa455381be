"""A self-contained HTML report of a finished run: the findings, their tables and figures.

The figures are small inline SVG line charts drawn here (no plotting library is needed, so
the report looks the same wherever it is built); every number comes from
:func:`brgvc.studies.belt_and_road.findings.findings`, i.e. from the result store.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["svg_line_chart", "write_report"]

_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.45}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.fig{display:inline-block;margin:.4em 1em .4em 0;vertical-align:top}
.note{color:#555;font-size:.9em}
.supported{color:#1a7f37}.partly{color:#b26b00}.not{color:#b42318}
details{margin:.4em 0}
"""


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    step = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(step))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= step), default=10 * mag)
    k0, k1 = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(k * step, 12) for k in range(k0, k1 + 1)]


def _tick_label(v: float) -> str:
    a = abs(v)
    if a >= 1e4:
        return f"{v:,.0f}"
    if a >= 10 or v == 0:
        return f"{v:g}"
    return f"{v:.3g}"


def svg_line_chart(
    series: Sequence[dict],
    *,
    title: str,
    ylabel: str = "",
    hline: float | None = None,
    width: int = 460,
    height: int = 260,
) -> str:
    """An inline SVG line chart with optional uncertainty bands.

    Parameters
    ----------
    series : sequence of dict
        Each with ``label`` (str), ``x`` and ``y`` (equal-length sequences of numbers) and
        optionally ``lo`` and ``hi`` (a band, e.g. the 2.5 and 97.5 percentiles over draws).
    title : str
        Chart title.
    ylabel : str, optional
        Y-axis label.
    hline : float, optional
        A dashed horizontal reference line (e.g. 1 for a ratio).
    width, height : int, optional
        Size in pixels.

    Returns
    -------
    str
        An ``<svg>`` element (no external resources).
    """
    ml, mr, mt, mb = 62, 120, 26, 30
    pw, ph = width - ml - mr, height - mt - mb
    xs = [float(x) for s in series for x in s["x"]]
    ys = [float(v) for s in series for k in ("y", "lo", "hi") for v in s.get(k, [])
          if v is not None and np.isfinite(v)]
    if hline is not None:
        ys.append(hline)
    if not xs or not ys:
        return ""
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x1 = x0 + 1
    yt = _nice_ticks(min(ys), max(ys))
    y0, y1 = (yt[0], yt[-1]) if len(yt) > 1 else (min(ys), max(ys) + 1)

    def px(x: float) -> float:
        return ml + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return mt + ph - (y - y0) / (y1 - y0) * ph

    e = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-size="11" font-family="sans-serif">',
           f'<text x="{ml}" y="15" font-weight="bold">{e(title)}</text>',
           f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for t in yt:
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{py(t):.1f}" y2="{py(t):.1f}" '
                   'stroke="#eee"/>')
        out.append(f'<text x="{ml - 4}" y="{py(t) + 4:.1f}" text-anchor="end">'
                   f'{_tick_label(t)}</text>')
    for t in _nice_ticks(x0, x1, 6):
        if x0 <= t <= x1 and float(t).is_integer():
            out.append(f'<text x="{px(t):.1f}" y="{mt + ph + 14}" text-anchor="middle">'
                       f'{t:g}</text>')
    if ylabel:
        out.append(f'<text transform="translate(12,{mt + ph / 2}) rotate(-90)" '
                   f'text-anchor="middle">{e(ylabel)}</text>')
    if hline is not None and y0 <= hline <= y1:
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{py(hline):.1f}" y2="{py(hline):.1f}" '
                   'stroke="#555" stroke-dasharray="4 3"/>')
    for k, s in enumerate(series):
        c = _PALETTE[k % len(_PALETTE)]
        pts = [(float(x), float(y)) for x, y in zip(s["x"], s["y"], strict=True)
               if np.isfinite(y)]
        if "lo" in s and "hi" in s:
            band = [(float(x), float(lo), float(hi))
                    for x, lo, hi in zip(s["x"], s["lo"], s["hi"], strict=True)
                    if np.isfinite(lo) and np.isfinite(hi)]
            if band:
                poly = [f"{px(x):.1f},{py(hi):.1f}" for x, _, hi in band]
                poly += [f"{px(x):.1f},{py(lo):.1f}" for x, lo, _ in reversed(band)]
                out.append(f'<polygon points="{" ".join(poly)}" fill="{c}" '
                           'fill-opacity="0.18" stroke="none"/>')
        if pts:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{c}" '
                       'stroke-width="1.8"/>')
            for x, y in pts:
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2" fill="{c}"/>')
        ly = mt + 12 + 15 * k
        out.append(f'<line x1="{ml + pw + 8}" x2="{ml + pw + 24}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{ml + pw + 28}" y="{ly}">{e(str(s["label"])[:16])}</text>')
    out.append("</svg>")
    return "".join(out)


def _series(df: pd.DataFrame, label: str, band: bool = True) -> dict:
    df = df.sort_values("year")
    s = {"label": label, "x": df["year"].astype(float).tolist(), "y": df["base"].tolist()}
    if band:
        s["lo"], s["hi"] = df["q025"].tolist(), df["q975"].tolist()
    return s


def _figures(tables: dict[str, pd.DataFrame], focal: str) -> list[str]:
    figs = []
    it = tables.get("intensity", pd.DataFrame())
    if len(it):
        figs.append(svg_line_chart(
            [_series(it[it["indicator"] == "total_flow_index"], "total flow")],
            title="1. Intra-B&R total flow (index, first year = 1)", hline=1.0))
        figs.append(svg_line_chart(
            [_series(it[it["indicator"] == "intra_share"], "intra share")],
            title="1. Intra-B&R share of members' outflows"))
    sn = tables.get("size_neutral", pd.DataFrame())
    if len(sn):
        sel = sn[(sn["indicator"] == "intensity") & (sn["gross_output"] == "balanced")]
        figs.append(svg_line_chart(
            [_series(sel[(sel["weight"] == w) & (sel["focal"] == fc)], f"{w} {fc} {focal}",
                     band=(w == "W1" and fc == "with"))
             for w in dict.fromkeys(sel["weight"]) for fc in ("with", "without")],
            title="1. Intensity: intra share / members' share of world flows", hline=1.0))
    pos = tables.get("position", pd.DataFrame())
    if len(pos):
        figs.append(svg_line_chart(
            [_series(pos[pos["indicator"] == "focal_primacy"], f"{focal} primacy"),
             _series(pos[pos["indicator"] == "S2"], "S2 (first)")],
            title=f"2. Primacy: {focal}'s strength / largest other", hline=1.0))
        figs.append(svg_line_chart(
            [_series(pos[pos["indicator"] == "strength_share"], f"{focal} share")],
            title=f"2. {focal}'s share of total strength"))
    reg = tables.get("sources_region", pd.DataFrame())
    if len(reg):
        sh = reg[reg["indicator"] == "share_group"]
        figs.append(svg_line_chart(
            [_series(sh[sh["region"] == r], r, band=False) for r in dict.fromkeys(sh["region"])],
            title=f"3. Regions' shares of the VA {focal} obtains"))
    eff = tables.get("efficiency", pd.DataFrame())
    if len(eff):
        e3 = eff[eff["indicator"] == "e3_group"]
        figs.append(svg_line_chart(
            [_series(e3[e3["exporter"] == x], x, band=(x == focal))
             for x in dict.fromkeys(e3["exporter"])],
            title="4. e3: final-goods DVA rate into B&R markets"))
    return [f for f in figs if f]


def _table_html(df: pd.DataFrame, max_rows: int = 400) -> str:
    if not len(df):
        return '<p class="note">(empty)</p>'
    shown = df.head(max_rows)

    def fmt(v: object) -> str:
        if isinstance(v, float | np.floating):
            if not np.isfinite(v):
                return ""
            a = abs(float(v))
            return f"{v:,.0f}" if a >= 1e4 else (f"{v:.4g}" if a < 1e-3 and v else f"{v:.4f}"
                                                 if a < 10 else f"{v:.2f}")
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>"
                   for row in shown.itertuples(index=False))
    more = (f'<p class="note">{len(df) - max_rows} more rows in the CSV.</p>'
            if len(df) > max_rows else "")
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def write_report(results_dir: str | Path, path: str | Path | None = None, *,
                 allow_partial: bool = False) -> Path:
    """Write a self-contained HTML report of a finished run (``brgvc report RESULTS``).

    Writes the findings files too (:func:`~brgvc.studies.belt_and_road.write_findings`), then
    ``report.html``: the verdicts, the coverage of the grouping, a few inline SVG figures
    (intensity, primacy, VA sources, e3 vs the benchmarks, with 95 % bands over draws) and
    every findings table.

    Parameters
    ----------
    results_dir : str or Path
        A run's output folder (holding ``results.zarr``).
    path : str or Path, optional
        Output file; default ``<results_dir>/report.html``.

    Returns
    -------
    pathlib.Path
        The HTML file.
    """
    from brgvc.studies.belt_and_road.findings import write_findings

    files = write_findings(results_dir, allow_partial=allow_partial)
    tables, focal = files.frames, files.focal
    description = files.text.split("\n")[2]
    out = Path(path) if path is not None else files.markdown.parent / "report.html"
    ver = tables["verdicts"]
    rows = "".join(
        f"<tr><td>{int(r.finding)}</td><td>{html.escape(r.claim)}</td>"
        f'<td class="{r.verdict.split()[0]}" id="verdict-{int(r.finding)}">'
        f"{html.escape(r.verdict)}</td>"
        f'<td id="disagree-{int(r.finding)}">{html.escape(str(r.disagree or ""))}</td>'
        f"<td>{html.escape(r.evidence)}</td></tr>" for r in ver.itertuples())
    from brgvc.studies.belt_and_road.findings import how_to_read, robustness_text

    read = "".join(f"<li>{html.escape(x)}</li>" for x in how_to_read(tables))
    robust = "".join(f"<li>{html.escape(x)}</li>" for x in robustness_text(tables, focal))
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>brgvc findings</title>", f"<style>{_CSS}</style></head><body>",
        "<h1>The Belt and Road production networks and China's participation</h1>",
        f'<p class="note">{html.escape(description)}</p>',
        "<h2>Verdicts</h2>",
        "<table><tr><th>#</th><th>claim (Zheng et al. 2019)</th><th>verdict</th>"
        f"<th>variants that disagree</th><th>evidence (primary variant)</th></tr>{rows}"
        "</table>",
        '<p class="note">"supported": the claim holds (P ≥ 0.9 in every covered year, or the '
        "trend test) for the primary indicator and every variant; \"partly\": for some; "
        '"not supported": for none; docs/findings.md states the rule.</p>',
        f'<h2>How to read</h2><ul id="how-to-read">{read}</ul>',
        f'<h2>Robustness</h2><ul id="robustness">{robust}</ul>',
        "<h2>Coverage</h2>", _table_html(tables["coverage"]),
        "<h2>Figures</h2>",
        *[f'<div class="fig">{svg}</div>' for svg in _figures(tables, focal)],
        '<p class="note">Lines: the unperturbed table; bands: 2.5–97.5 % over draws.</p>',
        "<h2>Tables</h2>",
    ]
    for name, df in tables.items():
        if name in ("verdicts", "coverage"):
            continue
        parts.append(f"<details><summary><b>{html.escape(name)}</b> ({len(df)} rows, "
                     f"findings/{html.escape(name)}.csv)</summary>{_table_html(df)}</details>")
    nets = [p.name for p in files.networks]
    if nets:
        parts.append("<h2>Network files</h2><p>" + ", ".join(
            f"networks/{html.escape(n)}" for n in nets) + "</p>")
    parts.append("</body></html>")
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
