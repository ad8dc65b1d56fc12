"""Every page for every cell (SimpleRNN, LSTM, GRU) through AppTest, with the Keras column on.

The cell is chosen the way a shared link chooses it (``?cell=LSTM``); each test
checks numbers the page shows against the arithmetic they claim, and that the
NumPy/Keras parity badges are green.
"""

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_app_pages import APP, PAGES, TIMEOUT, arr, figure_titled, figures, texts

pytestmark = pytest.mark.keras
CELLS = ("SimpleRNN", "LSTM", "GRU")


def open_cell_page(page: str, cell: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"cell": cell, **{k: str(v).lower() if isinstance(v, bool) else str(v)
                                             for k, v in query.items()}})
    at.run()
    at.switch_page(PAGES[page])
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def badges(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if re.match(r":(green|red|blue)-badge\[", m.value)]


def assert_parity_green(at: AppTest) -> None:
    found = [b for b in badges(at) if "NumPy − Keras" in b or "Keras" in b and "≤" in b]
    assert found, badges(at)
    assert all(b.startswith(":green-badge[") for b in found), found


@pytest.mark.parametrize("cell", CELLS)
def test_hidden_states_shows_the_cells_quantities_and_its_step(cell):
    at = open_cell_page("hidden", cell, units=3, t=4, return_state=True)
    assert_parity_green(at)
    expected = {"SimpleRNN": {"z": "pre-activation z_t"},
                "LSTM": {"c": "cell state c_t", "i": "input gate i_t", "f": "forget gate f_t", "g": "candidate g_t",
                         "o": "output gate o_t"},
                "GRU": {"z": "update gate z_t", "r": "reset gate r_t", "hh": "candidate h̃_t"}}[cell]
    inside = {}                                 # one quantity of the cell at a time, picked on the page
    shut = [f["layout"]["title"]["text"] for f in figures(at)]
    assert not any(t.startswith(tuple(expected.values())) for t in shut), shut       # its tab is not open yet
    at.session_state["states_view"] = "Inside the cell"
    at.run()
    for key, name in expected.items():
        if len(expected) > 1:
            at.button_group(key="cell_quantity").set_value(key).run()
            assert not at.exception, at.exception
        titles = [f["layout"]["title"]["text"] for f in figures(at)]
        assert sum(t.startswith(tuple(expected.values())) for t in titles) == 1, titles     # that one alone
        assert any(t.startswith(name) for t in titles), (name, titles)
        inside[key] = arr(figure_titled(at, name)["data"][0]["z"])
    table = at.dataframe[0].value
    heat = arr(figure_titled(at, "h_t of sequence 0 (NumPy)")["data"][0]["z"])
    np.testing.assert_allclose(table["h_t (NumPy run)"].to_numpy(), heat[:, 4], rtol=1e-6)
    np.testing.assert_allclose(table["h"], table["h_t (NumPy run)"], rtol=1e-5, atol=1e-6)   # float64 step == run
    np.testing.assert_allclose(table["h_t (Keras run)"], table["h_t (NumPy run)"], rtol=1e-5, atol=1e-6)
    if cell == "LSTM":
        c_heat = inside["c"]
        np.testing.assert_allclose(table["c"], c_heat[:, 4], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(table["h"], table["o"] * np.tanh(table["c"]), rtol=1e-6, atol=1e-7)
        c_prev = c_heat[:, 3]
        np.testing.assert_allclose(table["c"], table["f"] * c_prev + table["i"] * table["g"], rtol=1e-5, atol=1e-6)
    if cell == "GRU":
        h_prev = heat[:, 3]
        np.testing.assert_allclose(table["h"], table["z"] * h_prev + (1 - table["z"]) * table["hh"], rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("cell, n_states", [("SimpleRNN", 1), ("LSTM", 2), ("GRU", 1)])
def test_output_shapes_bidirectional_and_stacking(cell, n_states):
    at = open_cell_page("shapes", cell, return_sequences=True, return_state=True)
    shown = texts(at)
    assert f"type(out)       # tuple of {1 + n_states}" in shown
    assert_parity_green(at)
    grid = at.dataframe[0].value.set_index("merge_mode")
    assert grid.loc["concat", "return_state=False"] == "array (1, 12, 8)"
    assert grid.loc["concat", "return_state=True"].count("array (1, 4)") == 2 * n_states    # forward, then backward
    assert grid.loc["None", "return_state=False"] == "tuple(array (1, 12, 4), array (1, 12, 4))"
    assert "same structures (2 of 2)" in shown
    # Stacking: the shapes that flow, and the same complaint from both libraries when the lower layer returns (B, H).
    assert f"y = {cell}(4, return_sequences=True)(x)   # (1, 12, 4)" in shown
    errors = [c.value for c in at.code if "expected ndim=3, found ndim=2" in c.value]
    assert len(errors) == 2, errors                                   # NumPy's and Keras' own
    assert all("of layer 'upper'" in e for e in errors), errors      # the same layer named on both sides
    assert any("set return_sequences=True on the layer before it" in e for e in errors)


@pytest.mark.parametrize("cell", CELLS)
def test_gradient_flow_for_each_cell(cell):
    at = open_cell_page("gradients", cell, head="none", loss_on="last", steps=30)
    assert_parity_green(at)
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert any(t.startswith("||dL/dh_t||") for t in titles)
    sigma = figure_titled(at, "Per-step stretch")
    assert len(arr(sigma["data"][0]["y"])) == 30
    if cell == "SimpleRNN":
        assert "Pascanu" in texts(at)
    else:
        carry = figure_titled(at, "Products of the")
        mean = arr(carry["data"][1]["y"])
        assert mean[0] == 0 and np.all(np.diff(mean) <= 1e-12)      # a product of gates in (0, 1) only shrinks
    if cell == "LSTM":
        assert any(t.startswith("dL/dc_t") for t in titles)
        at.session_state["flow_jacobians"] = "How far back each state moves"      # another view (a lazy tab)
        at.run()
        assert figure_titled(at, "How much s_k still moves s_t")


def test_compare_cells_view_shows_each_cells_rate():
    at = open_cell_page("gradients", "SimpleRNN", keras=False, flow_view="compare cells", head="none", units=16,
                        steps=200, example="adding problem", carry_bias=4.0)
    fig = figure_titled(at, "||dL/dh_t|| for a loss on the last step only")
    names = [t["name"] for t in fig["data"]]
    assert [n.split(":")[0] for n in names] == list(CELLS)
    rates = at.dataframe[0].value["per-step factor"]
    # With the carry gates biased to 4 (gate ~ 0.98) the gated cells keep the gradient far better than SimpleRNN.
    assert rates["LSTM"] > rates["SimpleRNN"] and rates["GRU"] > rates["SimpleRNN"]
    assert rates["LSTM"] > 0.95


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_keras_vs_numpy_table_for_each_cell(cell):
    at = open_cell_page("parity", cell, return_state=True)
    table = at.dataframe[0].value
    assert (table["agree"] == "✓").all(), table
    tensors = set(table["tensor"])
    assert {"dL/dkernel", "dL/drecurrent_kernel", "dL/dh_t (total, BPTT)", "final state h_T"} <= tensors
    assert ("dL/dc_t (total, BPTT)" in tensors) == (cell == "LSTM")
    assert ("final state c_T" in tensors) == (cell == "LSTM")
    assert f"rnn_core/layers/{cell.lower()}_cell.py" in texts(at)
    code = at.code[1].value                                           # the cell's own step functions, in order
    assert code.index("def step_forward") < code.index("def backward_cache") < code.index("def step_backward")


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM"])
def test_ragged_long_format_upload_is_masked_on_every_page(cell):
    """Groups of 5, 3 and 2 steps: padded steps carry the state (Keras masking) in both engines, on every page."""
    rows = ["id,t,value"] + [f"{g},{t},{(g + 1) * 0.3 + t * 0.1:.2f}"
                             for g, n in enumerate((5, 3, 2)) for t in range(n)]
    at = open_cell_page("hidden", cell, units=3, head="many-to-one")
    at.button_group(key="source").set_value("upload").run()
    at.file_uploader(key="upload_file").upload("groups.csv", "\n".join(rows).encode())
    at.run()
    at.selectbox(key="upload_id").set_value("id")
    at.selectbox(key="upload_time").set_value("t").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "3 sequences x 5 steps" in texts(at), ([t.value for t in at.title], texts(at)[:500])
    assert_parity_green(at)
    at.number_input(key="b").set_value(2).run()                 # the 2-step sequence: steps 2..4 are padding
    h = arr(figure_titled(at, "h_t of sequence 2 (NumPy)")["data"][0]["z"])
    np.testing.assert_array_equal(h[:, 2:], np.repeat(h[:, 1:2], 3, axis=1))    # the state is carried
    for page in ("gradients", "parity", "shapes"):
        at.switch_page(PAGES[page]).run()
        assert not at.exception and not at.error, (page, [e.value for e in at.error])
        if page == "gradients":
            assert_parity_green(at)
        if page == "parity":
            table = at.dataframe[0].value
            assert (table["agree"] == "✓").all(), table      # outputs, loss and every gradient, masked
            assert "dL/drecurrent_kernel" in set(table["tensor"])
