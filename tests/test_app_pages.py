"""Each page through Streamlit's AppTest: set the flags by key, check what the page shows.

AppTest runs no JavaScript (the browser tests cover that); it runs app.py,
so the shared sidebar controls and URL binding are exercised as in the app.
"""

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from chart_support import plotly_charts
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.keras   # these pages run the Keras column too (TensorFlow import)

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120   # the first Keras run imports TensorFlow (5-15 s here)

PAGES = {
    "home": "pages/home.py",
    "hidden": "pages/hidden-states.py",
    "shapes": "pages/output-shapes.py",
    "gradients": "pages/gradient-flow.py",
    "parity": "pages/keras-vs-numpy.py",
}


def open_page(page: str, keras: bool = True, query: dict | None = None, **widgets) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if query:
        at.query_params.update(query)
    at.run()
    if page != "home":
        at.switch_page(PAGES[page])
        at.run()
    if not keras:
        at.toggle(key="keras").set_value(False)
    for key, value in widgets.items():
        _widget(at, key).set_value(value)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _widget(at: AppTest, key: str):
    for kind in ("toggle", "number_input", "selectbox", "slider", "radio", "button_group", "text_area"):
        try:
            return getattr(at, kind)(key=key)
        except KeyError:
            continue
    raise KeyError(key)


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.spec) for chart in plotly_charts(at)]


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [c.value for c in at.code]
    parts += [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [str(h.value) for h in at.subheader]
    return "\n".join(parts)


def arr(value) -> np.ndarray:
    """A plotly JSON array: a plain list, or Plotly's typed-array form {dtype, bdata, shape}."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            out = out.reshape([int(n) for n in str(value["shape"]).split(",")])
        return out
    return np.array(value, dtype=float)


def figure_titled(at: AppTest, start: str) -> dict:
    for fig in figures(at):
        if fig["layout"].get("title", {}).get("text", "").startswith(start):
            return fig
    raise AssertionError(f"no figure titled {start!r}: "
                         f"{[f['layout'].get('title', {}).get('text') for f in figures(at)]}")


def test_home_links_every_page():
    at = open_page("home")
    links = [link.proto.page for link in at.get("page_link")]
    pages = re.findall(r'st\.Page\("(pages/[^"]+)"', Path(APP).read_text())
    assert len(links) == len(pages) - 1, (links, pages)      # every page but Home itself
    assert "SimpleRNN(4, return_sequences=True)" in texts(at)


def test_hidden_states_numpy_and_keras_agree():
    at = open_page("hidden", units=3, steps=9)
    np_heat = figure_titled(at, "h_t of sequence 0 (NumPy)")
    k_heat = figure_titled(at, "h_t of sequence 0 (Keras)")
    z_np, z_k = arr(np_heat["data"][0]["z"]), arr(k_heat["data"][0]["z"])
    assert z_np.shape == (3, 9)                       # units x time
    assert np.abs(z_np - z_k).max() < 1e-5
    assert np_heat["data"][0]["zmid"] == 0            # diverging scale centred on zero
    assert "max |NumPy − Keras|" in texts(at) and "≤ tolerance" in texts(at)


def test_time_slider_shows_that_steps_arithmetic():
    at = open_page("hidden", keras=False, units=3, t=4)
    assert "Step t = 4" in texts(at)
    table = at.dataframe[0].value
    heat = arr(figure_titled(at, "h_t of sequence 0 (NumPy)")["data"][0]["z"])
    np.testing.assert_allclose(table["h_t (NumPy run)"].to_numpy(), heat[:, 4], rtol=1e-6)
    np.testing.assert_allclose(table["z"], table["x W"] + table["h U"] + table["b"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table["h_t (NumPy run)"], np.tanh(table["z"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table["h"], table["h_t (NumPy run)"], rtol=1e-5, atol=1e-6)


def test_go_backwards_reads_the_input_reversed():
    at = open_page("hidden", keras=False, go_backwards=True, steps=10, t=0)
    assert "processing step 0 reads input step 9" in texts(at)


@pytest.mark.parametrize("return_sequences, return_state, expected", [
    (False, False, ["type(out)       # ndarray", "out.shape       # (1, 4)"]),
    (True, False, ["type(out)       # ndarray", "out.shape       # (1, 12, 4)"]),
    (False, True, ["type(out)       # tuple of 2", "out[0].shape    # (1, 4)", "out[1].shape    # (1, 4)"]),
    (True, True, ["type(out)       # tuple of 2", "out[0].shape    # (1, 12, 4)", "out[1].shape    # (1, 4)"]),
])
def test_output_shapes_for_each_setting(return_sequences, return_state, expected):
    at = open_page("shapes", return_sequences=return_sequences, return_state=return_state)
    np_code, keras_code = at.code[0].value, at.code[1].value
    for line in expected:
        assert line in np_code, np_code
        assert line in keras_code, keras_code          # Keras 3 returns the same structure
    assert "same structure" in texts(at) and "≤ tolerance" in texts(at)
    grid = [c.value for c in at.code[2:6]]
    assert grid == ["array (1, 4)", "tuple(array (1, 4),\n      array (1, 4))", "array (1, 12, 4)",
                    "tuple(array (1, 12, 4),\n      array (1, 4))"]           # one part a line, aligned


def test_output_shapes_timedistributed_equals_dense():
    at = open_page("shapes", num_classes=7)
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["max |per_step − whole|"]) < 1e-6
    assert float(metrics["max |TimeDistributed − Dense|"]) < 1e-6
    assert float(metrics["return_sequences=False: max |output − h_T|"]) == 0
    assert "(1, 12, 7) = (B, T, C)" in texts(at) and "(1, 7) = (B, C)" in texts(at)


@pytest.mark.parametrize("scale, activation, grows", [(0.5, "tanh", False), (1.6, "relu", True)])
def test_gradient_flow_vanishing_and_exploding(scale, activation, grows):
    at = open_page("gradients", head="none", units=16, steps=40, example="random normal",
                   recurrent_scale=scale, activation=activation)
    fig = figure_titled(at, "||dL/dh_t||")
    numpy_norms = arr(fig["data"][0]["y"])
    keras_norms = arr(fig["data"][1]["y"])
    np.testing.assert_allclose(numpy_norms, keras_norms, rtol=1e-4)
    assert fig["layout"]["yaxis"]["type"] == "log"
    # Loss on the last step: the norm at t = T-1 is 1 and shrinks (or grows) going back.
    assert numpy_norms[-1] == pytest.approx(1.0, rel=1e-5)
    assert (numpy_norms[0] > 10 * numpy_norms[-1]) == grows
    factor = float(texts(at).split("multiplies the gradient by about **")[1].split("**")[0])
    assert (factor > 1) == grows
    assert "dL/dh_t: max |NumPy − Keras|" in texts(at)
    sigmas = figure_titled(at, "Per-step stretch")
    assert len(arr(sigmas["data"][0]["y"])) == 40
    bound = scale * 1.0       # orthogonal U has sigma_max 1, times the scale; gamma = 1 for tanh and relu
    assert f"{bound:.4f}" in [m.value for m in at.metric]


def test_gradient_flow_truncation_and_clipping():
    at = open_page("gradients", keras=False, head="none", units=8, steps=30, truncate=5, clip="clipnorm")
    at.session_state["flow_jacobians"] = "What the weights receive"   # the view (a lazy tab) with the clipped norms
    at.number_input(key="clip_at").set_value(0.01).run()
    assert "each gradient travels at most 5 steps back" in texts(at)
    table = at.dataframe[0].value
    assert (table["norm after clip"].iloc[:-1] <= 0.01 + 1e-7).all()
    assert (table["norm before clip"] >= table["norm after clip"] - 1e-9).all()
    norms = arr(figure_titled(at, "||dL/dh_t||")["data"][0]["y"])
    assert len(norms) == 30


def test_gradient_overflow_is_shown_not_raised():
    at = open_page("gradients", keras=False, head="none", units=8, steps=400, activation="exponential",
                   recurrent_scale=3.0)
    assert any("overflowed" in e.value for e in at.error)
    assert any(trace.get("name", "").endswith("inf/nan") for trace in figure_titled(at, "||dL/dh_t||")["data"])


def test_parity_page_every_tensor_agrees():
    at = open_page("parity")
    assert at.success and "11 of 11 tensors agree" in at.success[0].value
    table = at.dataframe[0].value
    assert set(table["agree"]) == {"✓"}
    assert (table["max |NumPy − Keras|"] <= table["tolerance"]).all()


def test_query_params_reproduce_the_configuration():
    query = {"units": "6", "activation": "relu", "return_sequences": "false", "return_state": "true",
             "go_backwards": "true", "steps": "15", "example": "impulse"}
    at = open_page("shapes", keras=False, query=query)
    assert at.number_input(key="units").value == 6
    assert at.selectbox(key="activation").value == "relu"
    assert at.toggle(key="return_sequences").value is False
    assert at.toggle(key="return_state").value is True
    assert at.toggle(key="go_backwards").value is True
    assert ("out = SimpleRNN(6, return_sequences=False,\n"
            "                return_state=True)(x)") in at.code[0].value
    assert "out[0].shape    # (1, 6)" in at.code[0].value


def test_preset_loads_the_tutorial_model():
    at = open_page("shapes", keras=False)
    at.selectbox(key="preset").set_value("Tutorial RNNLayer (128 units, 39 classes)").run()
    assert at.number_input(key="units").value == 128
    assert at.number_input(key="num_classes").value == 39
    assert "(1, 50, 39) = (B, T, C)" in texts(at)


def test_stateful_call_again_and_reset():
    at = open_page("hidden", keras=False, stateful=True, example="step")
    first = arr(figure_titled(at, "h_t of sequence 0 (NumPy)")["data"][0]["z"])
    assert "call #1, starting from zeros" in texts(at)
    at.button[0].click().run()
    assert "call #2, starting from the state left by call #1" in texts(at)
    second = arr(figure_titled(at, "h_t of sequence 0 (NumPy)")["data"][0]["z"])
    assert not np.allclose(first, second)
    at.number_input(key="batch").set_value(2).run()
    assert any("batch or units changed" in w.value for w in at.warning)
    assert not at.exception
    at.button[1].click().run()
    assert "call #1, starting from zeros" in texts(at) and not at.warning
