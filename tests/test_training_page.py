"""The Training page through AppTest: set widgets by key, press Train, run the fragment's ticks.

AppTest has no clock, so ``run_every`` never fires by itself; every ``at.run()``
reruns the whole script, and with it the fragment once: one tick, which draws
the run as it is and then trains one bounded chunk (drawn by the next tick).
That is how these tests advance a run.
"""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from chart_support import plotly_charts
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60
EASY = {"train_task": "delayed_recall", "train_lag": 2, "train_units": 16, "train_epochs": 30, "train_n": 64,
        "train_batch": 16}


def _widget(at: AppTest, key: str):
    for kind in ("selectbox", "number_input", "button_group", "toggle", "select_slider"):
        try:
            return getattr(at, kind)(key=key)
        except KeyError:
            continue
    raise KeyError(key)


def open_training(**widgets) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.toggle(key="keras").set_value(False)       # NumPy only here; Keras parity: tests/test_training_view.py
    at.switch_page("pages/training.py")
    at.run()
    for key, value in widgets.items():          # in order: a task's own controls appear once it is chosen
        _widget(at, key).set_value(value)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _array(value) -> np.ndarray:
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).astype(float)
    return np.array(value, dtype=float)


def chart(at: AppTest, start: str) -> dict:
    for element in plotly_charts(at):
        spec = json.loads(element.spec)
        if spec["layout"]["title"]["text"].startswith(start):
            return spec
    raise AssertionError(f"no chart titled {start!r}")


def loss_points(at: AppTest) -> np.ndarray:
    return _array(chart(at, "Loss per step")["data"][0]["y"])


def tick(at: AppTest, n: int = 1) -> AppTest:
    for _ in range(n):
        at.run()
        assert not at.exception, [e.message for e in at.exception]
    return at


def test_before_training_the_page_says_what_to_do():
    at = open_training()
    assert any("Press **Train**" in i.value for i in at.info)
    assert not plotly_charts(at)
    assert "training_run" not in at.session_state


def test_train_pause_continue_reset():
    at = open_training(**EASY)
    at.button(key="training_run_train").click()
    tick(at)
    assert len(loss_points(at)) == 0                             # drawn before its first chunk
    tick(at)
    first = len(loss_points(at))
    assert 0 < first < 30 * 4                                   # one tick: one bounded chunk, not the whole run
    tick(at, 3)
    assert len(loss_points(at)) > first                          # the curve grows tick by tick
    at.button(key="training_run_pause").click()
    tick(at)
    paused = len(loss_points(at))
    tick(at, 3)
    assert len(loss_points(at)) == paused                        # Pause stops it
    assert at.session_state["training_run"].status == "paused"
    at.button(key="training_run_continue").click()
    tick(at)
    while at.session_state["training_run"].status == "running":
        tick(at)
    loss = loss_points(at)
    assert len(loss) == 30 * 4
    assert loss[-4:].mean() < 0.3 * loss[:4].mean()              # it learned the easy task
    at.button(key="training_run_reset").click()
    tick(at)
    assert "training_run" not in at.session_state and not plotly_charts(at)


def test_live_charts_and_use_these_weights():
    at = open_training(**EASY)
    at.button(key="training_run_train").click()
    tick(at)
    titles = [json.loads(c.spec)["layout"]["title"]["text"] for c in plotly_charts(at)]
    for start in ("Loss per step", "Accuracy per step", "Gradient global norm", "||dL/dh_t|| by epoch", "h_t of"):
        assert any(t.startswith(start) for t in titles), (start, titles)
    with pytest.raises(KeyError):
        at.button(key="use_weights")                              # only once the run is paused or done
    at.button(key="training_run_pause").click()
    tick(at)
    at.button(key="use_weights").click()
    tick(at)
    layer = at.session_state["custom_layer"]
    run = at.session_state["training_run"]
    assert layer["label"] == f"trained: SimpleRNN(16), delayed recall k=2, {run.steps_done} steps"
    assert layer["cell"] == "SimpleRNN" and layer["head"] == "many-to-one" and layer["input_dim"] == 9
    np.testing.assert_array_equal(layer["weights"][1], run.model.rnn.get_weights()[1])
    assert any("Every page now shows" in c.value for c in at.caption)
    at.button(key="stop_using").click()
    tick(at)
    assert "custom_layer" not in at.session_state


def test_the_sidebar_cell_is_the_one_trained():
    at = open_training(**EASY)
    at.button_group(key="cell").set_value("GRU")
    at.run()
    at.button(key="training_run_train").click()
    tick(at)
    assert at.session_state["training_run"].settings.cell == "gru"
    assert any("GRU(16)" in c.value for c in at.caption)


def test_over_budget_says_so_and_one_click_fits():
    at = open_training(train_task="frame_classification", train_steps=500, train_units=128, train_n=2048,
                       train_epochs=1000)
    assert any("limit" in w.value for w in at.warning)
    assert at.button(key="training_run_train").disabled
    offer = at.button(key="fit_train_epochs")
    offer.click()
    tick(at)
    assert not at.warning and not at.button(key="training_run_train").disabled
    assert 1 <= at.number_input(key="train_epochs").value < 1000


def test_choices_are_stable_values():
    """The widgets' values are the stable option values (labels are only shown). AppTest does not mirror a
    page's bound widgets into at.query_params after switch_page, so the deep link /training?train_task=...
    is followed in tests/test_browser_training.py."""
    at = open_training(train_task="adding_problem", train_units=8, train_optimizer="rmsprop", train_lr="0.003")
    assert at.selectbox(key="train_task").value == "adding_problem"
    assert at.selectbox(key="train_optimizer").value == "rmsprop" and at.selectbox(key="train_lr").value == "0.003"
    assert any("sum the two marked values" in c.value for c in at.caption)
    at.button(key="training_run_train").click()
    tick(at)
    run = at.session_state["training_run"]
    assert (run.settings.units, run.settings.optimizer, run.settings.learning_rate) == (8, "rmsprop", 0.003)


def test_bad_text_for_next_character_gives_a_message_not_a_traceback():
    at = open_training(train_task="next_character", train_steps=100)
    at.text_area(key="train_text").set_value("too short")
    at.run()
    assert not at.exception
    assert any("characters" in e.value for e in at.error)


def test_compare_cells_runs_the_three_in_the_fragment():
    at = open_training(train_view="compare", cmp_lag=2, cmp_epochs=2, cmp_units=4)
    at.button(key="compare_run_train").click()
    tick(at)
    for _ in range(10):
        if at.session_state["compare_run"].status == "done":
            break
        tick(at)
    assert at.session_state["compare_run"].status == "done"
    spec = chart(at, "Held-out accuracy per epoch")
    assert [t["name"] for t in spec["data"]] == ["SimpleRNN", "LSTM", "GRU"]
    assert all(len(_array(t["y"])) == 2 for t in spec["data"])


NO_TF_SCRIPT = r"""
import sys
sys.path.insert(0, "tests")
from test_training_page import train_a_small_model

at = train_a_small_model(epochs=4)
at.button(key="use_weights").click().run()
assert "custom_layer" in at.session_state
print("tensorflow imported:", "tensorflow" in sys.modules, "keras imported:", "keras" in sys.modules)
"""


def test_with_keras_off_training_never_imports_tensorflow():
    """In a fresh interpreter (other tests here import TensorFlow): train, finish, use the weights."""
    import subprocess
    import sys

    root = Path(APP).parent
    out = subprocess.run([sys.executable, "-c", NO_TF_SCRIPT], cwd=root, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "tensorflow imported: False keras imported: False" in out.stdout, out.stdout + out.stderr[-2000:]


def test_an_uploaded_npz_is_trained_on():
    import io

    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buffer, x=rng.normal(size=(20, 6, 3)).astype(np.float32), y=rng.integers(0, 3, size=(20, 6)))
    at = open_training(train_task="upload")
    assert any("Upload an .npz" in i.value for i in at.info)
    at.file_uploader(key="train_upload").upload("mine.npz", buffer.getvalue(), "application/octet-stream")
    at.run()
    assert not at.exception and not at.error
    at.button(key="training_run_train").click()
    tick(at, 2)
    run = at.session_state["training_run"]
    assert run.task.x.shape == (20, 6, 3) and run.task.many_to_many and run.steps_done > 0


def train_a_small_model(epochs: int) -> AppTest:
    """The Training page with Keras off from the first run (no TensorFlow), a small delayed-recall run finished."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["keras"] = "false"     # off from the first run: the background import starts only with Keras on
    at.run()
    at.switch_page("pages/training.py").run()
    for key, value in {"train_lag": 2, "train_epochs": epochs, "train_n": 32}.items():
        at.number_input(key=key).set_value(value).run()
    at.button(key="training_run_train").click().run()
    for _ in range(40):
        if at.session_state["training_run"].status == "done":
            break
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["training_run"].status == "done"
    return at


def test_trained_weights_are_shown_on_every_other_page():
    """'Use these weights': the trained layer (and its head) on the other pages, run on the data it learned from."""
    at = train_a_small_model(epochs=2)
    at.button(key="use_weights").click().run()
    custom = at.session_state["custom_layer"]
    for page in ("pages/hidden-states.py", "pages/gradient-flow.py", "pages/output-shapes.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error, (page, [e.value for e in at.error])
        assert any(m.value.startswith(":violet-badge[") and custom["label"] in m.value for m in at.markdown), page
    at.switch_page("pages/hidden-states.py").run()
    assert any("training sequences" in c.value for c in at.caption)
    spec = next(json.loads(c.spec) for c in plotly_charts(at)
                if json.loads(c.spec)["layout"]["title"]["text"].startswith("h_t of sequence 0 (NumPy)"))
    z = spec["data"][0]["z"]
    shown = (np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(
        [int(n) for n in str(z["shape"]).split(",")]) if isinstance(z, dict) else np.asarray(z, float))
    # The same layer, rebuilt from the dict the Training page handed over, on the same first sequence.
    import rnn_core

    layer = getattr(rnn_core, custom["cell"])(**{**custom["config"], "return_sequences": True,
                                                 "return_state": False, "stateful": False})
    layer.build(custom["example"]["x"].shape)
    layer.set_weights(custom["weights"])
    expected = layer(custom["example"]["x"][:1])[0]
    np.testing.assert_allclose(shown.T, expected, rtol=1e-5, atol=1e-6)
