"""What a click makes the server do (issue #24, "a toggle reruns only what it must"), counted, not timed.

Through Streamlit's AppTest, with Keras off (no TensorFlow here). Counted are the script runs of the page (the
run log of explorer/run_log.py, pointed at a temporary file) and the computations of the two byte-bounded caches:
figures (explorer.figures.FIGURES: every figure builder, keyed on what the figure shows) and results
(explorer.cache.RESULTS: forward runs, gradients, analyses), by the cached function's name (ByteCache.built).

* A rerun in which nothing changed builds no figure and computes nothing, on every page.
* A flag of the sidebar costs exactly one script run (no st.rerun() loop).
* The page-local pickers change no computation: the hidden-states page's step slider builds no figure (the step's
  arithmetic is a table), the trained network's step one (the trajectory with its diamond). Both sit in an
  ``st.fragment`` too, so in the browser they rerun only their section (tests/test_bench_browser_timing.py checks
  Streamlit's fragment-run signal).

Wall time lives in the benchmark (python -m bench.browser_timing), not here.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from chart_support import plotly_charts
from streamlit.testing.v1 import AppTest

from explorer import run_log
from explorer.cache import RESULTS
from explorer.figures import FIGURES

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120                      # the first run imports the app and computes every cached result of the page
PAGES = ["pages/home.py", "pages/hidden-states.py", "pages/output-shapes.py", "pages/gradient-flow.py",
         "pages/keras-vs-numpy.py", "pages/trained-network.py", "pages/training.py", "pages/attention.py"]


@pytest.fixture
def runs(tmp_path, monkeypatch) -> Path:
    """The run log of every script run (explorer/run_log.py), in a temporary file."""
    path = tmp_path / "runs.jsonl"
    path.touch()
    monkeypatch.setattr(run_log, "PATH", str(path))
    return path


def open_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"keras": "false", **query})
    at.run()
    if page != "pages/home.py":
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def counted(at: AppTest, runs: Path, action=None) -> tuple[int, Counter, Counter]:
    """Script runs, figures built and results computed by ``action(at)`` then one ``at.run()``."""
    lines = len(runs.read_text().splitlines())
    figures, results = Counter(FIGURES.built), Counter(RESULTS.built)
    if action is not None:
        action(at)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    ran = runs.read_text().splitlines()[lines:]
    assert all(not json.loads(line).get("error") for line in ran), ran
    return len(ran), Counter(FIGURES.built) - figures, Counter(RESULTS.built) - results


def short(built: Counter) -> dict[str, int]:
    return {name.rsplit(".", 1)[-1]: n for name, n in built.items()}


@pytest.mark.parametrize("page", PAGES)
def test_a_rerun_without_a_change_builds_nothing(page, runs):
    at = open_page(page)
    n, figures, results = counted(at, runs)
    assert n == 1
    assert not figures and not results, (short(figures), short(results))


def test_the_counts_can_fail(runs):
    """The counters see a real change: another recurrent scale recomputes the run and rebuilds its charts."""
    at = open_page("pages/hidden-states.py")
    n, figures, results = counted(at, runs, lambda at: at.slider(key="recurrent_scale").set_value(1.5))
    assert n == 1
    assert short(figures) == {"states_heatmap": 1, "unit_lines": 1} and short(results), (short(figures),
                                                                                          short(results))


def titles(at) -> list[str]:
    return [json.loads(c.spec)["layout"]["title"]["text"] for c in plotly_charts(at)]


def test_only_the_open_view_is_built(runs):
    """Below the runs one view is drawn at a time (lazy tabs): a shut one builds nothing, opening it builds its
    chart alone, and a flag then rebuilds the charts shown, not the shut view's."""
    at = open_page("pages/hidden-states.py")

    def view(name):
        return lambda at: at.session_state.__setitem__("states_view", name)

    n, figures, results = counted(at, runs, view("Inside the cell"))
    assert n == 1 and short(figures) == {"states_heatmap": 1} and not results, (short(figures), short(results))
    n, figures, _results = counted(at, runs, lambda at: at.slider(key="recurrent_scale").set_value(0.75))
    assert n == 1 and short(figures) == {"states_heatmap": 2}, short(figures)    # h_t and the cell's quantity
    assert [t.startswith("pre-activation z_t") for t in titles(at)].count(True) == 1, titles(at)
    n, figures, results = counted(at, runs, view("The Dense head on top"))
    assert n == 1 and short(figures) == {"states_heatmap": 1} and not results, (short(figures), short(results))


@pytest.mark.parametrize("flag", ["return_sequences", "return_state", "go_backwards", "use_bias"])
@pytest.mark.parametrize("page", ["pages/hidden-states.py", "pages/gradient-flow.py"])
def test_a_flag_costs_one_script_run(page, flag, runs):
    at = open_page(page)
    for _cycle in range(2):                                           # on, then off again
        value = at.toggle(key=flag).value
        n, _figures, _results = counted(at, runs, lambda at, v=value: at.toggle(key=flag).set_value(not v))
        assert n == 1 and at.toggle(key=flag).value is not value


def test_the_step_slider_builds_nothing(runs):
    at = open_page("pages/hidden-states.py", steps="17")
    charts = [c.spec for c in plotly_charts(at)]
    for t in (3, 16, 0):
        n, figures, results = counted(at, runs, lambda at, t=t: at.slider(key="t").set_value(t))
        assert n == 1 and not figures and not results, (t, short(figures), short(results))
        assert f"Step t = {t}, with the actual numbers" in [h.value for h in at.subheader]
        assert [c.spec for c in plotly_charts(at)] == charts          # no chart carries the step


def test_the_trajectory_step_builds_only_the_trajectory(runs):
    at = open_page("pages/trained-network.py")
    at.session_state["inside_view"] = "State space and fixed points"          # the view (a lazy tab) of the step
    at.run()
    top = at.slider(key="inside_t").max
    for t, built in ((1, {"trajectories": 1}), (top, {"trajectories": 1}), (1, {})):
        n, figures, results = counted(at, runs, lambda at, t=t: at.slider(key="inside_t").set_value(t))
        assert n == 1 and short(figures) == built and not results, (t, short(figures), short(results))


def test_the_open_view_stays_open_in_the_other_language(runs):
    """The views' tabs are labelled in the visitor's language; switching it keeps the same view open."""
    at = open_page("pages/hidden-states.py")
    at.session_state["states_view"] = "Inside the cell"
    at.run()
    at.button_group(key="lang").set_value("ko").run()
    assert not at.exception and at.session_state["states_view"] == "셀의 내부"
    assert any(t.startswith("활성화 전 값 z_t") for t in titles(at)), titles(at)       # that view's chart, in Korean
    at.button_group(key="lang").set_value("en").run()
    assert at.session_state["states_view"] == "Inside the cell"
