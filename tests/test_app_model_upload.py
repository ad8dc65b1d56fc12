"""Your own .keras model in the app: upload, pick a recurrent layer, every page shows it; a hostile file is refused.

The model is saved by Keras inside the test; the page's numbers are compared with the model's own predict().
"""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_app_cells import assert_parity_green
from test_app_pages import APP, PAGES, TIMEOUT, arr, figure_titled, texts

pytestmark = pytest.mark.keras
TYPED = "0.1, 0.2, 0.3; 0.3, -0.1, 0.0; -0.2, 0.4, 0.1; 0.5, 0.5, -0.5; 0.0, 0.1, 0.2"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(5, return_sequences=True, name="encoder"),
                              keras.layers.TimeDistributed(keras.layers.Dense(4, activation="softmax"), name="head")])
    path = tmp_path_factory.mktemp("model") / "frames.keras"
    model.save(path)
    return model, path.read_bytes()


def _open(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(PAGES[page])
    at.run()
    return at


def test_an_uploaded_lstm_is_shown_on_every_page_with_its_head(saved_model):
    model, data = saved_model
    at = _open("hidden")
    at.file_uploader(key="model_file").upload("frames.keras", data).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="model_layer").value == "encoder"
    at.button(key="use_model_layer").click().run()
    # The default sine has one feature; this layer reads three: explained, not a traceback.
    assert any("reads 3 feature(s) per step, but the input sequence has 1" in e.value for e in at.error)
    at.button_group(key="source").set_value("typed").run()
    at.text_area(key="typed").set_value(TYPED).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Showing LSTM layer 'encoder' of frames" in texts(at)
    assert_parity_green(at)
    x = np.array([[float(v) for v in row.split(",")] for row in TYPED.split(";")], np.float32)[None]
    heat = arr(figure_titled(at, "h_t of sequence 0 (NumPy)")["data"][0]["z"])
    at.session_state["states_view"] = "The Dense head on top"           # the head's view (a lazy tab)
    at.run()
    probs = arr(figure_titled(at, "class probabilities p_t (NumPy)")["data"][0]["z"])      # (classes, T)
    np.testing.assert_allclose(probs.T, np.asarray(model.predict(x, verbose=0))[0], rtol=1e-5, atol=1e-6)
    assert heat.shape == (5, 5)                                            # the model's 5 units, 5 typed steps
    for page in ("shapes", "gradients", "parity"):
        at.switch_page(PAGES[page]).run()
        assert not at.exception and not at.error, (page, [e.value for e in at.error])
        assert "Showing LSTM layer 'encoder' of frames" in texts(at)
    table = at.dataframe[0].value
    assert (table["agree"] == "✓").all(), table
    at.button(key="custom_layer_stop").click().run()
    assert "Showing LSTM layer" not in texts(at)


def test_a_hostile_model_file_is_refused_and_the_view_kept():
    at = _open("hidden")
    before = arr(figure_titled(at, "h_t of sequence 0 (NumPy)")["data"][0]["z"])
    at.file_uploader(key="model_file").upload("evil.keras", b"\x80\x04\x95" + bytes(200)).run()   # a pickle
    assert not at.exception
    assert any("was not loaded" in e.value for e in at.error)
    np.testing.assert_array_equal(arr(figure_titled(at, "h_t of sequence 0 (NumPy)")["data"][0]["z"]), before)
