"""The issue's links through AppTest: a budget message and a one-click fit instead of a memory spike; \
bad URL values said.

These links have Keras off (``keras=false`` in the URL), so no TensorFlow is imported here.
"""

from pathlib import Path

import pytest
from chart_support import plotly_charts
from streamlit.testing.v1 import AppTest

from explorer import cache

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_link(path: str, query: dict) -> AppTest:
    """A deep link opened as the first request of a session: /path?query."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    if path:
        at.switch_page(f"pages/{path}.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize("page", ["hidden-states", "gradient-flow", "output-shapes"])
def test_an_oversized_link_gets_a_budget_message_and_a_fitting_configuration(page):
    computed = cache.RESULTS.stats["computed"]
    at = open_link(page, {"keras": "false", "units": "256", "steps": "100000", "batch": "16"})
    assert cache.RESULTS.stats["computed"] == computed, "nothing may be computed before the budget check"
    assert len(plotly_charts(at)) == 0
    message = at.error[0].value
    assert "too large for this server" in message and "GiB" in message and "512 MiB" in message
    assert "batch 16 × 100,000 steps × 256 units" in message
    button = at.button(key="apply_budget")
    assert button.label.startswith("Use batch 16 → 1, steps 100,000 → ")
    offered = int(button.label.rsplit("→ ", 1)[1].replace(",", ""))
    button.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    steps = at.number_input(key="steps").value
    assert at.number_input(key="batch").value == 1 and at.number_input(key="units").value == 256
    assert steps == offered and 2 <= steps < 100_000
    assert at.query_params["steps"] == str(steps) and "batch" not in at.query_params   # the URL follows
    if page != "output-shapes":
        assert len(plotly_charts(at)) > 0


def test_out_of_range_and_non_number_url_values_are_said_and_bounded():
    at = open_link("hidden-states", {"keras": "false", "units": "100000", "steps": "abc", "batch": "99"})
    warning = at.warning[0].value
    assert "`units=100000` (now 4)" in warning and "`steps=abc` (now 12)" in warning and "`batch=99` (now 1)" in warning
    assert at.number_input(key="units").value == 4 and not at.error
    assert len(plotly_charts(at)) > 0


def test_a_link_within_the_budget_runs_without_a_message():
    at = open_link("gradient-flow", {"keras": "false", "units": "32", "steps": "400", "example": "adding problem",
                                     "seed": "42"})
    assert not at.error and not at.warning and len(plotly_charts(at)) > 0


def test_the_budget_is_stated_in_the_sidebar():
    at = open_link("", {"keras": "false"})
    assert any("Each view may use up to 512 MiB" in c.value for c in at.sidebar.caption)
