"""The chart component (explorer/plotly_view.py): its bundle draws every trace type the app makes, the browser can
load it, and the figure reaches the browser whole. What it draws, and that it draws once, is checked in Chromium
(tests/test_browser_chart_room.py)."""

from __future__ import annotations

import ast
import base64
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from chart_support import CHART_COMPONENT

from explorer import plotly_view

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "static" / plotly_view.BUNDLE


def test_the_tests_find_the_component_by_its_name():
    assert CHART_COMPONENT == plotly_view.NAME


def _trace_types_in_source() -> set[str]:
    """Every ``go.<Trace>(...)`` the app's modules call, as plotly's trace type names."""
    found = set()
    for path in [*(ROOT / "explorer").glob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "go"):
                name = node.func.attr
                if name not in {"Figure", "Layout", "FigureWidget"}:
                    found.add(name.lower())
    return found


def test_the_app_draws_only_trace_types_the_bundle_has():
    used = _trace_types_in_source()
    assert used and used <= plotly_view.TRACE_TYPES, used - plotly_view.TRACE_TYPES
    bundle = BUNDLE.read_text(encoding="utf-8")
    registered = set(re.findall(r'moduleType:"trace",name:"([a-z0-9]+)"', bundle))
    assert registered >= plotly_view.TRACE_TYPES, plotly_view.TRACE_TYPES - registered


def test_the_bundle_is_plotly_js_cartesian_with_its_licence():
    head = BUNDLE.read_text(encoding="utf-8")[:200]
    assert "plotly.js (cartesian - minified)" in head, head
    assert "MIT License" in (ROOT / "static" / "LICENSE-plotly.js").read_text(encoding="utf-8")
    assert 1_000_000 < BUNDLE.stat().st_size < 2_500_000              # a third of st.plotly_chart's 4.7 MB chunk


def test_streamlit_serves_the_static_folder():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["enableStaticServing"] is True
    assert sorted(p.name for p in (ROOT / "static").iterdir()) == ["LICENSE-plotly.js", plotly_view.BUNDLE]


@pytest.mark.parametrize("base, url", [("", "/app/static/plotly-cartesian.min.js"),
                                       ("class", "/class/app/static/plotly-cartesian.min.js"),
                                       ("/a/b/", "/a/b/app/static/plotly-cartesian.min.js")])
def test_the_bundle_is_found_under_the_servers_base_path(base, url):
    assert plotly_view.bundle_url(base) == url
    assert plotly_view.bundle_url() == f"/app/static/{plotly_view.BUNDLE}"      # this project sets no base path


def test_the_figure_reaches_the_browser_whole():
    z = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    fig = go.Figure(go.Heatmap(z=z, name="<b>not markup</b>")).update_layout(title="a & b", margin=dict(l=90))
    spec = json.loads(plotly_view.spec(fig))
    again = go.Figure(spec)
    assert again.layout.title.text == "a & b" and again.layout.margin.l == 90
    assert again.data[0].name == "<b>not markup</b>"
    trace = spec["data"][0]["z"]          # plotly's typed array: the numbers exactly, not their decimal text

    decoded = np.frombuffer(base64.b64decode(trace["bdata"]), dtype=trace["dtype"]).reshape(3, 4)
    np.testing.assert_array_equal(decoded, z)
