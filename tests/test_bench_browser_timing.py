"""bench/browser_timing.py's measurement: one toggle on one page, timed until its charts hold their new data.

Not a timing assertion (the machine is shared): the wait is a finite duration that ends after the run's
script_finished and after the charts changed, the charts the toggle changes are the ones learnt, and none of them is
redrawn after the wait. Keras is off (?keras=false) so the shared server imports no TensorFlow for this test; the
shared server logs nothing, so the server columns are empty.
"""

from __future__ import annotations

import math

import pytest

from bench.browser_session import VIEWPORT, Session, measure_control

pytestmark = pytest.mark.browser


def well_timed(s, learnt: bool = True) -> None:
    assert math.isfinite(s.seconds) and 0 < s.seconds < 120, s
    assert s.chart_signal and not s.missing, s                  # every target chart reached its new data
    if learnt:                                                  # the learnt final data: no redraw after the wait
        assert not s.late_draws, s.late_draws                   # ("any change" ends at a chart's first draw)
    t = s.timeline
    assert t["send"] is not None and 0 <= t["send"] <= t["settled"] <= t["end"], t      # input -> request -> run
    assert t["chartsAt"] <= t["end"] and abs(s.seconds * 1e3 - t["end"]) < 1, t
    assert s.finishes == [0], s.finishes                        # one script_finished (FINISHED_SUCCESSFULLY) seen
    assert t["firstMsg"] <= t["finish"] <= t["settled"], t      # the run's messages, then its end
    assert s.msgs > 0 and s.server_s is None and not s.exception, s


def test_a_toggle_is_timed_until_the_chart_it_names_is_drawn(browser, server):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        session = Session.open(context, server.url, path="hidden-states?keras=false")
        # The NumPy heatmap is read backwards: wait for it to change (the benchmark learns which charts change).
        measured = measure_control(session, "hidden-states", "go_backwards", repeats=1, charts=("np_heat",))
        assert len(measured) == 2 and not any(s.cold for s in measured)     # on, then off
        for s in measured:
            well_timed(s, learnt=False)
            assert s.charts_changed == ["np_heat"] and "np_heat" in s.redrawn, s   # plotly drew it in the wait
    finally:
        context.close()


def test_the_charts_a_toggle_changes_are_learnt_then_waited_for(browser, server):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        session = Session.open(context, server.url, path="hidden-states?keras=false")
        samples = measure_control(session, "hidden-states", "go_backwards", repeats=1)
        learnt, measured = samples[:2], samples[2:]                  # the learning cycle, then the measured one
        assert [s.cold for s in samples] == [True, True, False, False]
        for first, s in zip(learnt, measured):
            well_timed(s)
            # go_backwards changes h_t: the heatmap and the lines; what the first cycle learnt is waited for
            assert {"np_heat", "lines"} <= set(s.charts_changed) and s.charts_changed == first.charts_changed, s
            assert set(s.charts_changed) <= set(s.redrawn), (s.charts_changed, s.redrawn)
            assert s.timeline["chartsAt"] >= s.timeline["firstMsg"], s.timeline     # drawn from the run's messages
    finally:
        context.close()


def test_the_step_slider_reruns_only_its_fragment(browser, server):
    """Moving the hidden-states page's step t runs only its st.fragment (Streamlit's own signal: the run ends with
    FINISHED_FRAGMENT_RUN_SUCCESSFULLY, 3) and changes no chart (the step's arithmetic is a table)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        session = Session.open(context, server.url, path="hidden-states?keras=false")
        samples = measure_control(session, "hidden-states", "t", repeats=1)
        assert len(samples) == 4 and [s.cold for s in samples] == [True, True, False, False]
        for s in samples:
            assert s.finishes == [3], s.finishes                    # a fragment run, not the whole app
            assert math.isfinite(s.seconds) and not s.exception and not s.missing, s
            assert s.charts_changed == [] and not s.redrawn, s
    finally:
        context.close()


def test_the_trajectory_step_reruns_only_its_fragment(browser, server):
    """Inside a trained network: the step of the state-space section runs only that section's fragment and changes
    one chart, the trajectory with its diamond."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        session = Session.open(context, server.url, path="trained-network?keras=false")
        samples = measure_control(session, "trained-network", "inside_t", repeats=1)
        assert len(samples) == 4
        for s in samples:
            assert s.finishes == [3], s.finishes
            assert math.isfinite(s.seconds) and not s.exception and not s.missing, s
            assert s.charts_changed == ["inside_pca"], s.charts_changed
    finally:
        context.close()
