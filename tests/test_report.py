"""The HTML report's own pieces: inline SVG charts (no plotting library needed)."""

from __future__ import annotations

import re
import xml.dom.minidom

import numpy as np

from brgvc.studies.belt_and_road.html import _nice_ticks, svg_line_chart


def test_ticks_cover_the_data():
    for lo, hi in ((0.099, 0.365), (0.637, 0.941), (1.0, 14.4), (-3.0, 2.0), (5.0, 5.0)):
        t = _nice_ticks(lo, hi)
        assert t[0] <= lo and t[-1] >= hi and len(t) >= 2


def test_svg_line_chart_is_valid_and_inside_its_frame():
    x = [1995, 2000, 2005, 2011]
    svg = svg_line_chart(
        [{"label": "a", "x": x, "y": [0.1, 0.35, 0.2, 0.3], "lo": [0.09, 0.3, 0.18, 0.28],
          "hi": [0.11, 0.37, 0.22, 0.31]},
         {"label": "b <&>", "x": x, "y": [0.2, np.nan, 0.25, 0.15]}],
        title="t & u", hline=0.3)
    xml.dom.minidom.parseString(svg)  # well-formed, labels escaped
    ys = [float(v) for v in re.findall(r'cy="([-0-9.]+)"', svg)]
    assert len(ys) == 7  # the NaN point is left out
    assert min(ys) >= 26 and max(ys) <= 26 + 204
    assert "stroke-dasharray" in svg and "<polygon" in svg
    assert svg_line_chart([], title="empty") == ""
