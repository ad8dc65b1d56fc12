"""Bring your own sequence: uploads through the file uploader, errors that keep the previous view, exports."""

import subprocess
import sys

import numpy as np
import pytest
from test_app_pages import arr, figure_titled, open_page, texts

from explorer import export, runs
from explorer.settings import AppConfig

pytestmark = pytest.mark.keras   # these pages run the Keras column too (TensorFlow import)


def heat(at) -> np.ndarray:
    return arr(figure_titled(at, "h_t of sequence 0 (NumPy)")["data"][0]["z"])


def upload(at, name: str, data: bytes):
    at.file_uploader(key="upload_file").upload(name, data)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_upload_csv_then_txt_redraws_the_hidden_states():
    at = open_page("hidden", keras=False, source="upload")
    assert "no file uploaded yet" in texts(at)
    before = heat(at)
    upload(at, "wave.csv", b"a,b\n" + b"\n".join(f"{np.sin(i / 3):.4f},{i % 2}".encode() for i in range(30)))
    after_csv = heat(at)
    assert after_csv.shape == (4, 30) and before.shape != after_csv.shape
    assert "wave.csv (csv, 30 steps x 2 features)" in texts(at)
    upload(at, "hello.txt", "안녕하세요 hello".encode())
    after_txt = heat(at)
    assert after_txt.shape == (4, len("안녕하세요 hello"))
    assert "hello.txt (txt" in texts(at) and "vocabulary of" in texts(at)


def test_junk_upload_shows_the_error_and_keeps_the_previous_figure():
    at = open_page("hidden", keras=False, source="upload", units=3)
    upload(at, "good.csv", b"\n".join(str(i).encode() for i in range(20)))
    good = heat(at)
    upload(at, "bad.csv", b"1,2\n3,abc\n")
    assert any("bad.csv** was not loaded" in e.value and "'abc' is not a number" in e.value for e in at.error)
    np.testing.assert_array_equal(heat(at), good)
    assert at.number_input(key="units").value == 3            # the user's settings are kept
    upload(at, "junk.npy", bytes(range(256)) * 4)
    assert any("does not start with NumPy's header" in e.value for e in at.error)
    np.testing.assert_array_equal(heat(at), good)


def test_nan_policy_and_normalisation_are_applied_and_shown():
    at = open_page("hidden", keras=False, source="upload")
    upload(at, "gaps.csv", b"1\n2\nnan\n4\n5\n")
    assert any("NaN or infinite" in e.value for e in at.error)
    at.selectbox(key="nan_policy").set_value("drop").run()
    assert heat(at).shape[1] == 4 and "Dropped 1 time steps" in texts(at)
    at.selectbox(key="normalization").set_value("z-score").run()
    assert "Normalised per feature (z-score) with mean = [3.]" in texts(at)


def test_typed_sequence():
    at = open_page("hidden", keras=False, source="typed")
    assert heat(at).shape[1] == 9
    at.text_area(key="typed").set_value("1, 2, x").run()
    assert any("'x' is not a number" in e.value for e in at.error)
    assert heat(at).shape[1] == 9


def test_long_upload_is_aggregated_with_a_zoom():
    at = open_page("hidden", keras=True, source="upload")
    upload(at, "long.npy", _npy(np.sin(np.arange(30_000) / 50.0)[:, None]))
    fig = figure_titled(at, "h_t of sequence 0 (NumPy)")
    assert arr(fig["data"][0]["z"]).shape[1] <= 2000
    assert any("aggregated" in a["text"] for a in fig["layout"]["annotations"])
    assert "limited to 20,000 steps" in texts(at)               # Keras column skipped, NumPy runs it all
    at.slider(key="zoom").set_value((100, 599)).run()
    assert arr(figure_titled(at, "h_t of sequence 0 (NumPy)")["data"][0]["z"]).shape[1] == 500


def _npy(a) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_export_csv_and_npz_round_trip(rng):
    states = rng.normal(size=(5, 3)).astype(np.float32)
    lines = export.to_csv(states).decode().splitlines()
    assert lines[0] == "step,unit_0,unit_1,unit_2" and len(lines) == 6
    np.testing.assert_allclose([float(v) for v in lines[1].split(",")[1:]], states[0], rtol=1e-7)
    import io

    data = np.load(io.BytesIO(export.to_npz({"states": states}, AppConfig())), allow_pickle=False)
    np.testing.assert_array_equal(data["states"], states)
    assert '"units": 4' in str(data["config_json"])


@pytest.mark.keras
@pytest.mark.parametrize("cfg", [AppConfig(), AppConfig(return_sequences=False, return_state=True, go_backwards=True,
                                                        use_bias=False, activation="relu")])
def test_exported_script_reproduces_the_numbers_in_keras(cfg, tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype(np.float32)
    weights = runs.make_weights(cfg, 3)
    run = runs.numpy_forward(cfg, weights, x)
    (tmp_path / "rnn_explorer.npz").write_bytes(export.to_npz(export.forward_arrays(cfg, x, weights, None, run.output,
                                                                                     run.states), cfg))
    (tmp_path / "reproduce_keras.py").write_text(export.reproduce_script(cfg))
    out = subprocess.run([sys.executable, "reproduce_keras.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("reproduced"), out.stdout
    assert out.stdout.count("max |Keras - exported|") == (2 if cfg.return_state else 1)


# -- tables: options after the first read ------------------------------------------------------


def _plotly_dataset(name: str) -> bytes:
    from test_table_loading import plotly_dataset

    return plotly_dataset(name)


def test_stocks_upload_shows_dates_and_a_column_picker():
    at = open_page("hidden", keras=False, source="upload")
    upload(at, "stocks.csv", _plotly_dataset("stocks"))
    assert "stocks.csv (csv, 105 steps x 6 features): GOOG, AAPL, AMZN, FB, NFLX, MSFT" in texts(at)
    fig = figure_titled(at, "h_t of sequence 0 (NumPy)")
    assert fig["data"][0]["x"][0].startswith("2018-01-01") and fig["layout"]["xaxis"]["title"]["text"] == "date"
    assert at.multiselect(key="upload_columns").value == ["GOOG", "AAPL", "AMZN", "FB", "NFLX", "MSFT"]
    assert at.selectbox(key="upload_time").value == "date"
    assert len(at.sidebar.dataframe) == 1                              # the preview of the first rows
    at.multiselect(key="upload_columns").set_value(["GOOG", "MSFT"]).run()
    assert "105 steps x 2 features): GOOG, MSFT" in texts(at)
    at.selectbox(key="upload_time").set_value("(none)").run()            # no time axis: step numbers again
    assert figure_titled(at, "h_t of sequence 0 (NumPy)")["layout"]["xaxis"]["title"]["text"] == "time step t"
    # A choice that cannot be read keeps the previous sequence and says why.
    before = heat(at)
    at.multiselect(key="upload_columns").set_value([]).run()
    assert any("Choose at least one feature column" in e.value for e in at.error)
    np.testing.assert_array_equal(heat(at), before)


def test_gapminder_long_format_becomes_a_batch_with_an_id_picker():
    at = open_page("hidden", keras=False, source="upload")
    upload(at, "gapminder.csv", _plotly_dataset("gapminder"))
    assert "gapminder.csv (csv, 1,704 steps x 7 features" in texts(at)
    at.selectbox(key="upload_id").set_value("country")
    at.selectbox(key="upload_time").set_value("year").run()
    assert "64 sequences x 12 steps x 6 features" in texts(at)
    assert "Using the first 64 of 142 sequences ('country')" in texts(at)
    fig = figure_titled(at, "h_t of sequence 0 (NumPy)")
    assert arr(fig["data"][0]["x"]).tolist()[:2] == [1952, 1957]
    at.multiselect(key="upload_ids").set_value(["Zimbabwe", "Albania", "Japan"]).run()
    assert "3 sequences x 12 steps" in texts(at)
    at.multiselect(key="upload_columns").set_value(["lifeExp", "gdpPercap"]).run()
    assert "3 sequences x 12 steps x 2 features): lifeExp, gdpPercap" in texts(at)


def test_iris_label_column_feeds_the_head_labels():
    from explorer.widgets import user_labels
    from rnn_core.inputs.loading import load_sequence

    x, info = load_sequence("iris.csv", _plotly_dataset("iris"), label_column="species")
    labels = user_labels(x, info, AppConfig(num_classes=3))
    assert labels.shape == (1, 150) and labels[0, 0] == 0 and labels[0, -1] == 2
    at = open_page("hidden", keras=False, source="upload")
    upload(at, "iris.csv", _plotly_dataset("iris"))
    at.selectbox(key="upload_label").set_value("species").run()
    assert "labels from 'species' (3 classes)" in texts(at)


def test_xlsx_sheet_picker_reads_the_other_sheet_with_its_own_columns():
    from test_table_loading import xlsx_bytes

    book = xlsx_bytes({"first": [["t", "v"]] + [[i, i * 0.5] for i in range(6)],
                       "second": [["a", "b", "name"], [1, 2, "x"], [3, 4, "y"], [5, 6, "z"]]})
    at = open_page("hidden", keras=False, source="upload")
    upload(at, "book.xlsx", book)
    assert "book.xlsx (xlsx, 6 steps x 2 features): t, v" in texts(at)
    at.multiselect(key="upload_columns").set_value(["v"]).run()
    assert "6 steps x 1 features): v" in texts(at)
    at.selectbox(key="upload_sheet").set_value("second").run()        # the first sheet's choices do not carry over
    assert "book.xlsx (xlsx, 3 steps x 2 features): a, b" in texts(at) and not at.error
    assert at.multiselect(key="upload_columns").value == ["a", "b"]
    assert heat(at).shape == (4, 3)
