"""A character model's .keras file remembers what it reads (rnn_core/saving/text_record.py).

The Training page writes the task, the one-hot order of the characters and a sample of the text into the file's
metadata.json; opened again (here, or by anyone), the Inside a trained network page reads text with the layer at
once. The entry comes from an uploaded file, so every part of it is checked.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer import custom_layer
from explorer.i18n import text, use_language
from explorer.inside_view import DEFAULT_CHARS
from explorer.training_view import TrainingRun, TrainingSettings
from rnn_core.saving import ModelFileError
from rnn_core.saving.text_record import (
    MAX_SAMPLE_CHARS,
    MAX_VOCABULARY,
    METADATA_KEY,
    TextRecord,
    read_text_record,
    text_record,
)

APP = str(Path(__file__).resolve().parents[1] / "app.py")
GOOD = {"task": "brackets", "vocabulary": [" ", "(", ")", "a"], "sample": "(a (a) a)"}


def test_a_file_without_the_entry_has_no_record():
    assert read_text_record({"keras_version": "3.15.1"}) is None
    assert read_text_record({}) is None and read_text_record([]) is None and read_text_record(None) is None


def test_a_good_entry_is_read_as_it_was_written():
    record = read_text_record({"keras_version": "3.15.1", METADATA_KEY: GOOD})
    assert record == TextRecord("brackets", (" ", "(", ")", "a"), "(a (a) a)")
    assert record.as_metadata() == GOOD
    assert text_record("next_character", "가나", "나가나" * 3000).sample == ("나가나" * 3000)[:MAX_SAMPLE_CHARS]


BAD = {
    "not a dict": ["brackets"],
    "a key missing": {"task": "brackets", "vocabulary": ["a"]},
    "a key too many": GOOD | {"code": "import os"},
    "an unknown task": GOOD | {"task": "delayed_recall"},
    "a vocabulary that is a string": GOOD | {"vocabulary": " ()a"},
    "an empty vocabulary": GOOD | {"vocabulary": [], "sample": ""},
    "a character twice": GOOD | {"vocabulary": ["a", "a", "(", ")", " "]},
    "two characters in one entry": GOOD | {"vocabulary": ["ab", "(", ")", " "]},
    "a number in the vocabulary": GOOD | {"vocabulary": [1, "(", ")", " "]},
    "too many characters": GOOD | {"vocabulary": [chr(0x4E00 + i) for i in range(MAX_VOCABULARY + 1)], "sample": ""},
    "a sample with another character": GOOD | {"sample": "(b)"},
    "a sample too long": GOOD | {"sample": "a" * (MAX_SAMPLE_CHARS + 1)},
    "a sample that is not text": GOOD | {"sample": ["a"]},
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_entry_refuses_the_file_with_a_message_in_both_languages(case):
    with pytest.raises(ModelFileError) as caught:
        read_text_record({METADATA_KEY: BAD[case]})
    english = text(caught.value, markdown=False)
    assert english.startswith("metadata.json's \"rnn_explorer\" entry is not valid: i"), english
    assert "{" not in english, english                                 # every field filled in
    with use_language("ko"):
        korean = text(caught.value, markdown=False)
    assert "올바르지 않습니다" in korean and "{" not in korean, korean
    entry = BAD[case]
    if isinstance(entry, dict) and set(entry) == set(GOOD) and isinstance(entry["sample"], str) \
            and isinstance(entry["vocabulary"], list) \
            and len(entry["sample"]) <= MAX_SAMPLE_CHARS:
        with pytest.raises(ValueError, match="not a valid text record"):     # the app's own side refuses it too
            text_record(**entry)


def test_the_layer_gets_the_saved_text_as_its_example_when_it_reads_those_characters():
    record = TextRecord("brackets", (" ", "(", ")", "a"), "(a (a) a)" * 100)
    custom = {"label": "m", "cell": "LSTM", "config": {}, "weights": [], "head": "none", "head_weights": None,
              "input_dim": 4}
    with_text = custom_layer.with_text(custom, record)
    example = with_text["example"]
    assert example["vocabulary"] == record.vocabulary and example["task"] == "brackets"
    assert example["text"] == record.sample
    x = example["x"]
    assert x.shape == (1, custom_layer.EXAMPLE_CHARS, 4) and x.dtype == np.float32
    assert "".join(record.vocabulary[i] for i in x[0].argmax(-1)) == record.sample[:custom_layer.EXAMPLE_CHARS]
    assert (x.sum(-1) == 1).all()
    assert custom_layer.with_text(custom, None) is custom                       # no record
    assert custom_layer.with_text(custom | {"input_dim": 5}, record) == custom | {"input_dim": 5}   # other inputs


# -- written by the Training page, read back through the upload checks (Keras) ----------------------------------


def exported(settings: TrainingSettings) -> tuple[TrainingRun, bytes]:
    run = TrainingRun(settings, settings.make_task())
    run.advance(0.2)
    return run, run.keras_bytes()


@pytest.fixture(scope="module")
def brackets_file():
    settings = TrainingSettings(task="brackets", cell="lstm", units=8, epochs=1, n=32, steps=30, keras=False)
    return exported(settings)


@pytest.mark.keras
def test_the_exported_file_holds_the_record_and_loads_as_before(brackets_file):
    from rnn_core.keras_bridge import load_model_file

    run, data = brackets_file
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        metadata = json.loads(zf.read("metadata.json"))
    assert metadata["keras_version"].startswith("3.") and "date_saved" in metadata      # Keras' own entries kept
    model, info = load_model_file("brackets.keras", data)
    assert info.text.task == "brackets" and info.text.vocabulary == run.task.vocabulary
    assert info.text.sample == "".join(run.task.vocabulary[i] for i in run.task.x[0].argmax(-1))
    x = run.task.x[:2]
    np.testing.assert_allclose(model.predict(x, verbose=0), run.model(x), rtol=1e-5, atol=1e-6)


@pytest.mark.keras
def test_a_korean_next_character_model_keeps_its_text():
    from rnn_core.saving import inspect_model_file

    settings = TrainingSettings(task="next_character", cell="gru", units=8, epochs=1, n=16, steps=20, keras=False,
                                text="다람쥐 헌 쳇바퀴에 타고파. " * 8)
    run, data = exported(settings)
    info = inspect_model_file("ko.keras", data)
    assert info.text == TextRecord("next_character", run.task.vocabulary, settings.text)
    other = replace(settings, task="delayed_recall", lag=2)
    assert TrainingRun(other, other.make_task()).text_metadata() is None          # not a character task


@pytest.mark.keras
def test_uploaded_the_inside_page_reads_text_with_it(brackets_file):
    run, data = brackets_file
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"keras": "false"})
    at.run()
    at.switch_page("pages/trained-network.py").run()
    at.file_uploader(key="model_file").upload("brackets.keras", data).run()
    at.button(key="use_model_layer").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # The page was first opened on the sidebar's 12-step sine: the character layer reads its own default length.
    assert at.number_input(key="inside_steps").value == DEFAULT_CHARS
    typed = [t for t in at.text_area if t.key and t.key.startswith("inside_text_")]
    assert typed and set(typed[0].value) <= set(run.task.vocabulary) and len(typed[0].value) > 100
    said = "\n".join(m.value for m in at.markdown)
    assert "follows the nesting depth most closely" in said, said[:2000]
