"""'Check it yourself' on the Gradient flow and Keras vs NumPy pages, for every cell, through AppTest.

The visitor picks an entry and presses the button; the page shows backpropagation's value and the central
finite difference in float64. Checked here against an independent computation: the relative error shown is
below 1e-6 (FD_TOL) and the two numbers shown agree with that error, for a weight, an input and each state.
The Keras column is off: the panel needs only the NumPy core.
"""

import pytest
from streamlit.testing.v1 import AppTest
from test_app_pages import APP, PAGES, TIMEOUT

FD_TOL = 1e-6
CELLS = ("SimpleRNN", "LSTM", "GRU")


def open_page(page: str, cell: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"cell": cell, "keras": "false", **{k: str(v) for k, v in query.items()}})
    at.run()
    at.switch_page(PAGES[page])
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def check(at: AppTest, prefix: str, target: str, **index) -> dict[str, float]:
    at.selectbox(key=f"{prefix}check_target").set_value(target).run()
    for name, value in index.items():
        at.number_input(key=f"{prefix}check_{target}_{name}").set_value(value).run()
    at.button(key=f"{prefix}check_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    shown = {m.label: m.value for m in at.metric}
    assert {"relative error", "step size h"} <= set(shown), shown
    box = next(c.value for c in at.code if c.value.startswith("backpropagation"))
    for line in box.splitlines():               # "backpropagation     -8.668123456789012e-04"
        label, value = line.rsplit(None, 1)
        shown[label.strip()] = value
    assert at.success, "the explanation says they agree"
    return {k: float(v) for k, v in shown.items()}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("page, prefix", [("gradients", "flow_"), ("parity", "parity_")])
def test_every_kind_of_entry_agrees_with_its_finite_difference(cell, page, prefix):
    at = open_page(page, cell, units=3)
    targets = ["recurrent_kernel", "inputs", "hidden"] + (["cell"] if cell == "LSTM" else [])
    options = at.selectbox(key=f"{prefix}check_target").options
    assert ("cell state c_t" in options) == (cell == "LSTM"), options
    for target in targets:
        index = {"step": 11, "unit": 2} if target in ("hidden", "cell") else {}
        shown = check(at, prefix, target, **index)
        assert shown["relative error"] < FD_TOL, (target, shown)
        analytic, numeric = shown["backpropagation"], shown["finite difference"]
        assert abs(analytic - numeric) <= 1e-5 * max(1.0, abs(numeric)), (target, shown)


def test_the_last_steps_cell_gradient_is_not_zero():
    """dL/dc_T is the total gradient: the loss reads h_T = o_T tanh(c_T), so it is not 0 (issue #21)."""
    at = open_page("gradients", "LSTM", units=3, loss_on="last")
    shown = check(at, "flow_", "cell", step=11, unit=0)
    assert abs(shown["finite difference"]) > 1e-6, shown
    numeric = shown["finite difference"]
    assert abs(shown["backpropagation"] - numeric) <= 1e-6 * max(1.0, abs(numeric)), shown
