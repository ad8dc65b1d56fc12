"""The model uploader (explorer/model_upload.py) in AppTest: a real file shows its layers, a hostile one shows
the message and keeps the previous model."""

import pytest
from streamlit.testing.v1 import AppTest
from test_model_files import HOSTILE_FILES, keras_file

pytestmark = pytest.mark.keras   # loading a model imports TensorFlow


def _script():
    import streamlit as st

    from explorer.model_upload import model_upload_controls

    chosen = model_upload_controls()
    if chosen is not None and chosen["layer"] is not None:
        st.text(f"showing {chosen['layer'].label} of {chosen['name']}")


def shown(element) -> str:
    """What the reader sees: the markdown source without its backslash escapes."""
    return element.value.replace("\\", "")


def upload(at, name, data):
    at.file_uploader(key="model_file").upload(name, data)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def app():
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def test_model_loads_shows_its_layers_and_survives_hostile_files(app):
    assert "No model loaded yet" in app.info[0].value
    upload(app, "good.keras", keras_file())
    table = app.dataframe[0].value
    assert list(table["layer"]) == ["simple_rnn"] and list(table["parameters"]) == [32]
    assert [t.value for t in app.text] == ["showing simple_rnn of good.keras"]
    assert app.selectbox(key="model_layer").options == ["simple_rnn"]
    for case in ("lambda bytecode", "zip bomb", "pickle", "dotdot member"):
        upload(app, f"{case}.keras", HOSTILE_FILES[case]())
        assert len(app.error) == 1 and f"**{case}.keras** was not loaded" in shown(app.error[0])
        assert [t.value for t in app.text] == ["showing simple_rnn of good.keras"]     # the previous model stays
        assert list(app.dataframe[0].value["layer"]) == ["simple_rnn"]


def test_names_from_the_file_are_shown_literally(app):
    """A file or member name cannot become a link or formatting in the message."""
    upload(app, "[click](http://example.com).keras", keras_file(**{"[x](http://e.com)": b"x"}))
    message = app.error[0].value
    assert "[click](" not in message and "\\[click\\](http" in message   # the bracket escaped: no link
    assert "[x](" not in message


def test_legacy_h5_gets_the_resave_advice(app):
    upload(app, "old.h5", b"\x89HDF\r\n\x1a\n" + bytes(100))
    assert 'model.save("model.keras")' in shown(app.error[0])
    assert "No model loaded yet" in app.info[0].value
