"""Every chart on every page has its text alternative (explorer/charts.py), through Streamlit's AppTest.

On each page that draws charts: right after every chart comes a caption whose text is the chart's summary
(recomputed here from the figure the page sent, explorer/chart_text.py, and shown inert), then a *Show as table*
toggle keyed after the chart. Turning one toggle on draws a table under it with the chart's numbers; off, there is
none. Keras is off (no TensorFlow) except on the Keras vs NumPy page, whose one chart needs it.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from chart_support import Chart, is_chart
from streamlit.testing.v1 import AppTest

from explorer.chart_text import describe
from explorer.charts import SUMMARY_CHARS, table_key
from explorer.i18n import use_language
from explorer.inert import inert

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120
LABEL = {"en": "Show as table", "ko": "표로 보기"}


def run(at: AppTest, lang: str = "en") -> AppTest:
    with use_language(lang):            # AppTest formats choice widgets after the run, in the test's thread
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def open_page(page: str, lang: str = "en", **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"lang": lang, "keras": "false", **query})
    at.switch_page(page)
    return run(at, lang)


def leaves(block) -> list:
    """The page's elements in the order they are drawn, columns and containers opened."""
    out = []
    for index in sorted(block.children):
        child = block.children[index]
        if getattr(child, "children", None) is not None and not is_chart(child):
            out += leaves(child)
        else:
            out.append(child)
    return out


def decoded(value):
    """A figure's JSON with Plotly's typed arrays ({dtype, bdata, shape}) read back into NumPy arrays."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            shape = value.get("shape")
            return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
        return {k: decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decoded(v) for v in value]
    return value


def figure_of(element) -> go.Figure:
    return go.Figure(decoded(Chart(element).figure()))


def described_charts(at: AppTest, lang: str = "en") -> dict[str, go.Figure]:
    """Checks every chart's caption and toggle; returns toggle key -> the chart's figure."""
    shown = leaves(at.main)
    found = {}
    for i, element in enumerate(shown):
        if not is_chart(element):
            continue
        figure = figure_of(element)
        caption, toggle = shown[i + 1], shown[i + 2]
        with use_language(lang):
            summary = describe(figure).summary
        title = figure.layout.title.text or ""
        assert caption.type == "caption", (title, caption.type)
        assert caption.value == inert(summary, SUMMARY_CHARS), (title, caption.value)
        assert toggle.type == "toggle" and toggle.label == LABEL[lang] and toggle.value is False, title
        assert toggle.key not in found
        found[toggle.key] = figure
    assert found, "no chart on the page"
    return found


def turn_on(at: AppTest, key: str, figure: go.Figure, lang: str = "en") -> None:
    """Turn one toggle on: a table right under it, with the chart's numbers; the other charts keep no table."""
    tables = len(at.dataframe)
    at.toggle(key=key).set_value(True)
    run(at, lang)
    shown = leaves(at.main)
    i = next(i for i, e in enumerate(shown) if e.type == "toggle" and e.key == key)
    assert shown[i].value is True and shown[i + 1].type == "dataframe"
    assert len(at.dataframe) == tables + 1
    with use_language(lang):
        expected = describe(figure).table()
    table = shown[i + 1].value
    assert table.shape == expected.shape
    np.testing.assert_allclose(table.select_dtypes("number").to_numpy(float),
                               expected.select_dtypes("number").to_numpy(float), equal_nan=True)


# -- the pages ---------------------------------------------------------------------------------------------------

def test_hidden_states_every_chart_and_a_table():
    at = open_page("pages/hidden-states.py", cell="LSTM")
    charts = described_charts(at)
    assert {"unrolled_table", table_key("np_heat"), table_key("lines")} <= set(charts)
    assert not {table_key("inside_c"), table_key("probs")} & set(charts)    # one view below the runs at a time
    turn_on(at, table_key("np_heat"), charts[table_key("np_heat")])
    at.toggle(key=table_key("np_heat")).set_value(False)
    run(at)
    assert described_charts(at).keys() == charts.keys()           # off again: no table, every caption as before
    for view, key in [("Inside the cell", "inside_c"), ("The Dense head on top", "probs")]:
        at.session_state["states_view"] = view
        run(at)
        shown = described_charts(at)
        assert table_key(key) in shown and table_key("lines") not in shown, (view, shown.keys())
        assert shown.keys() - {table_key(key)} == charts.keys() - {table_key("lines")}


def test_hidden_states_in_korean():
    at = open_page("pages/hidden-states.py", lang="ko", cell="GRU")
    charts = described_charts(at, "ko")
    assert len(charts) >= 3                                        # the diagram, h_t and one view below
    assert sum(c.value.startswith(("히트맵", "선 그래프", "도식")) for c in at.caption) == len(charts)
    turn_on(at, table_key("lines"), charts[table_key("lines")], "ko")


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM"])
def test_gradient_flow_every_chart_and_a_table(cell):
    at = open_page("pages/gradient-flow.py", cell=cell, head="none")     # loss on the last step: a decay is fitted
    charts = described_charts(at)
    shown = ["norms", "hidden", "sigmas"] + (["cell_grad", "carry"] if cell == "LSTM" else [])
    assert set(charts) == set(map(table_key, shown))             # the first of the Jacobians' views is open
    for view, key in [("How far back each state moves", "jmap"), ("What the weights receive", "contrib")]:
        at.session_state["flow_jacobians"] = view                 # the other views, one at a time (lazy tabs)
        run(at)
        others = described_charts(at)
        assert table_key(key) in others and table_key("sigmas") not in others, (view, others.keys())
    at.session_state["flow_jacobians"] = "Per-step stretch"
    run(at)
    norms = next(c.value for c in at.caption if c.value.startswith("Line chart\\: \\|\\|dL/dh\\_t\\|\\|"))
    if cell == "SimpleRNN":                       # the fitted decay rate per step, the number the chart is about
        assert "Fitted rate\\: ×" in norms and "per step back" in norms
        turn_on(at, table_key("norms"), charts[table_key("norms")])
    else:
        turn_on(at, table_key("carry"), charts[table_key("carry")])


def test_gradient_flow_compare_cells():
    at = open_page("pages/gradient-flow.py", flow_view="compare cells")
    charts = described_charts(at)
    assert set(charts) == {table_key("compare")}
    turn_on(at, table_key("compare"), charts[table_key("compare")])


@pytest.mark.keras
def test_keras_vs_numpy_parity_bars():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/keras-vs-numpy.py")
    run(at)
    charts = described_charts(at)
    assert set(charts) == {table_key("parity")}
    assert any("Largest difference" in c.value for c in at.caption)
    turn_on(at, table_key("parity"), charts[table_key("parity")])


def test_training_live_charts_and_compare_cells():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["keras"] = "false"
    run(at)
    at.switch_page("pages/training.py")
    run(at)
    for key, value in {"train_lag": 2, "train_epochs": 2, "train_n": 32}.items():
        at.number_input(key=key).set_value(value)
        run(at)
    at.button(key="training_run_train").click()
    for _ in range(40):
        run(at)
        if at.session_state["training_run"].status == "done":
            break
    run(at)
    charts = described_charts(at)
    assert set(map(table_key, ["train_loss", "train_accuracy", "train_grad", "train_reach", "train_hidden"])) \
        <= set(charts)
    assert any(c.value.startswith("Line chart\\: Accuracy per step") and "Final accuracy" in c.value
               for c in at.caption)
    turn_on(at, table_key("train_loss"), charts[table_key("train_loss")])

    at.button_group(key="train_view").set_value("compare")
    run(at)
    for key, value in {"cmp_lag": 2, "cmp_epochs": 2, "cmp_units": 4}.items():
        at.number_input(key=key).set_value(value)
        run(at)
    at.button(key="compare_run_train").click()
    for _ in range(10):
        run(at)
        if at.session_state["compare_run"].status == "done":
            break
    run(at)
    charts = described_charts(at)
    assert set(charts) == {table_key("cmp_heldout"), table_key("cmp_accuracy")}
    turn_on(at, table_key("cmp_accuracy"), charts[table_key("cmp_accuracy")])


def test_inside_a_trained_network():
    from test_app_inside import trained_layer

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"lang": "en", "keras": "false"})
    at.session_state["custom_layer"] = trained_layer("LSTM", units=8, epochs=2)
    at.switch_page("pages/trained-network.py")
    run(at)
    charts = {}
    for view in ["State space and fixed points", "Gate saturation", "Units that follow a signal", "Select and match"]:
        at.session_state["inside_view"] = view                   # one view (a lazy tab) drawn at a time
        run(at)
        charts |= described_charts(at)
    assert set(map(table_key, ["inside_corr", "inside_unit_signal", "inside_text", "inside_lines", "inside_pca",
                               "inside_saturation"])) <= set(charts)
    text = next(c.value for c in at.caption if c.value.startswith("Coloured text"))
    assert "characters. Largest" in text
    turn_on(at, table_key("inside_text"), charts[table_key("inside_text")])
    table = next(e for e in leaves(at.main) if e.type == "dataframe" and "character" in e.value.columns).value
    assert list(table.columns) == ["t", "character", "h"] and table["t"].tolist() == list(range(len(table)))


def test_attention():
    from test_app_attention import open_attention, train_to_the_end

    at = train_to_the_end(open_attention())
    charts = described_charts(at)
    assert set(map(table_key, ["att_loss", "att_accuracy", "att_heatmap", "att_step_weights", "att_probs"])) \
        <= set(charts)
    turn_on(at, table_key("att_heatmap"), charts[table_key("att_heatmap")])
