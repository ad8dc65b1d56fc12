"""The "Inside a trained network" page through Streamlit's AppTest, for every cell, in English and Korean.

The layer in use is put in the session as the Training page's "Use these weights" puts it (a small layer trained
here on the bracket task, a few seconds); the page imports no TensorFlow (Keras is off in the link).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from chart_support import plotly_charts
from i18n_support import english_leftovers, english_words
from streamlit.testing.v1 import AppTest

from explorer import inside_view as view
from explorer.i18n import use_language
from explorer.training_view import CELL_KINDS, RecordingTrainer, TrainingRun, TrainingSettings
from rnn_core.messages import N_, Message
from rnn_core.training import tasks as task_lib
from rnn_core.training.model import RNNClassifier
from rnn_core.training.optimizers import get as get_optimizer

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "pages/trained-network.py"
TIMEOUT = 90            # the first run imports the app; each analysis here takes well under a second
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Names that stay as they are in Korean: the authors and the tool the page cites, the sidebar's code words.
NAMES = {"LSTMVis", "Strobelt", "Karpathy", "Johnson", "Fei-Fei", "Fei", "mish", "stateful", "hh", "nbsp"}
TEXT = task_lib.bracket_text(view.DEFAULT_CHARS, seed=view.TEXT_SEED)   # the page's text for a bracket layer


def leftovers(at: AppTest) -> dict[str, list[str]]:
    """English words on the page, besides NAMES and the text's own words (data, also cut mid-word in contexts)."""
    found = {}
    for shown, words in english_leftovers(at, NAMES).items():
        words = [w for w in words if not set(w) <= set(task_lib.BRACKET_LETTERS)]
        if words:
            found[shown] = words
    return found


def trained_layer(cell: str, units: int = 16, epochs: int = 4) -> dict:
    """A layer trained briefly on the bracket task, in the form the Training page hands over, with the record of
    its task (its vocabulary) that the page reads."""
    task = task_lib.brackets(n=64, steps=30, seed=0)
    model = RNNClassifier(units, cell=CELL_KINDS[cell], seed=0, **task.model_kwargs())
    model.build(task.x.shape)
    RecordingTrainer(model, get_optimizer("adam", learning_rate=0.02), task.x, task.y, batch_size=32, shuffle=True,
                     seed=0).run(epochs=epochs)
    return as_custom(cell, model, task, epochs * 2)


def as_custom(cell: str, model, task, steps: int, record: bool = True) -> dict:
    label = Message(N_("trained: {model}, {steps} steps"), {"model": Message("{cell}({units}), {task}", {
        "cell": cell, "units": model.rnn.units, "task": Message(N_("nested brackets (next character)"))}),
        "steps": steps})
    example = {"x": np.array(task.x[:4], np.float32), "labels": np.asarray(task.y[:4]),
               "description": Message(N_("the first {n} training sequences of {task}"),
                                      {"n": 4, "task": task.description})}
    if record:
        example |= {"vocabulary": task.vocabulary, "task": task.name}
    return {"label": label, "cell": cell, "config": asdict(model.rnn.config),
            "weights": [w.copy() for w in model.rnn.get_weights()], "head": "many-to-many",
            "head_weights": [w.copy() for w in model.fc.get_weights()], "input_dim": task.x.shape[-1],
            "example": example}


@pytest.fixture(scope="module")
def layers() -> dict[str, dict]:
    return {cell: trained_layer(cell) for cell in ("SimpleRNN", "LSTM", "GRU")}


# The page's views (lazy tabs, one drawn at a time), by language.
VIEWS = {"en": {"signal": "Units that follow a signal", "select": "Select and match",
                "space": "State space and fixed points", "saturation": "Gate saturation"},
         "ko": {"signal": "신호를 따라가는 유닛", "select": "선택과 일치 찾기", "space": "상태 공간과 고정점",
                "saturation": "게이트 포화"}}


def open_page(lang: str = "en", custom: dict | None = None, tab: str = "signal", **session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"lang": lang, "keras": "false"})
    if custom is not None:
        at.session_state["custom_layer"] = custom
    for key, value in session.items():
        at.session_state[key] = value
    at.session_state["inside_view"] = VIEWS[lang][tab]
    at.switch_page(PAGE)
    return run(at, lang)


def show(at: AppTest, tab: str, lang: str = "en") -> AppTest:
    """Open one of the page's views (a tab: only the open one is drawn)."""
    at.session_state["inside_view"] = VIEWS[lang][tab]
    return run(at, lang)


def run(at: AppTest, lang: str = "en") -> AppTest:
    with use_language(lang):       # AppTest formats choice widgets after the run, in the test's thread
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def charts(at: AppTest) -> dict[str, dict]:
    specs = [json.loads(c.spec) for c in plotly_charts(at)]
    return {s["layout"].get("title", {}).get("text", ""): s for s in specs}


def arr(value) -> np.ndarray:
    """A plotly JSON array: a plain list, or Plotly's typed-array form {dtype, bdata}."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value, float)


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
                     + [e.value for e in at.error] + [w.value for w in at.warning])


# -- every cell, in both languages ------------------------------------------------------------------------------

EXPECTED = {  # chart titles (their start), in English and Korean
    "en": ["Pearson r of each unit with the nesting depth", "Unit ", "h of unit ",
           "The selected units around the selection", "h_t in its first 2 principal components",
           "Eigenvalues of the Jacobian at the fixed points"],
    "ko": ["각 유닛과 중첩 깊이의 피어슨 상관계수 r", "유닛 ", "문자마다 유닛 ", "선택 구간(주황) 주변의 선택된 유닛",
           "첫 2개 주성분으로 본 h_t", "고정점에서 야코비안의 고윳값"],
}
SATURATION = {"en": "Gate saturation per unit", "ko": "유닛별 게이트 포화"}


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_every_cell_in_both_languages(layers, cell, lang):
    at = open_page(lang, layers[cell])
    shown, said, buttons, found = {}, "", set(), {}
    for tab in VIEWS[lang]:                                   # every view of the page, one open at a time
        show(at, tab, lang)
        assert not at.error, [e.value for e in at.error]
        assert len(plotly_charts(at)) <= 2, (tab, list(charts(at)))         # the open view's charts alone
        shown |= charts(at)
        said += texts(at)
        buttons |= {b.key for b in at.get("button") if b.key}
        found |= leftovers(at)
    for start in EXPECTED[lang]:
        assert any(title.startswith(start) for title in shown), (start, list(shown))
    assert (SATURATION[lang] in shown) == (cell != "SimpleRNN")
    if cell == "SimpleRNN":
        assert ("SimpleRNN has no gates" if lang == "en" else "SimpleRNN에는 게이트가 없습니다") in said
    text = next(s for t, s in shown.items() if t.startswith(EXPECTED[lang][2]))
    assert "".join(text["data"][1]["text"]).replace("·", " ") == TEXT   # every character of the text, on the heatmap
    assert "inside_match_0" in buttons                                   # the matches, each a click away
    pca = next(s for t, s in shown.items() if t.startswith(EXPECTED[lang][4]))
    names = [trace.get("name", "") for trace in pca["data"]]
    assert any(n in names for n in (("stable fixed point", "unstable fixed point") if lang == "en"
                                    else ("안정 고정점", "불안정 고정점")))
    if lang == "ko":
        assert at.title[0].value == "학습된 신경망의 내부"
        assert found == {}
        for title in shown:
            assert not english_words(title, NAMES) and HANGUL.search(title), title


def test_the_numbers_do_not_depend_on_the_language(layers):
    en, ko = open_page("en", layers["LSTM"], "select"), open_page("ko", layers["LSTM"], "select")
    heat_en = next(s for t, s in charts(en).items() if t.startswith("h of unit "))
    heat_ko = next(s for t, s in charts(ko).items() if t.startswith("문자마다 유닛 "))
    assert heat_en["data"][0]["z"] == heat_ko["data"][0]["z"]
    assert [b.proto.label for b in en.get("button") if b.key and b.key.startswith("inside_match_")] != []


def test_the_page_says_which_unit_follows_the_depth(layers):
    at = open_page("en", layers["LSTM"])
    said = re.search(r"\*\*Unit (\d+)\*\* follows the nesting depth most closely: Pearson r = ([+-][\d.]+)", texts(at))
    assert said, texts(at)
    unit, r = int(said.group(1)), float(said.group(2))
    bars = charts(at)["Pearson r of each unit with the nesting depth"]
    all_r = np.concatenate([arr(tr["y"]) for tr in bars["data"]])
    assert abs(r) == pytest.approx(np.abs(all_r).max(), abs=0.006)
    show(at, "select")
    assert at.selectbox(key="inside_unit").value == unit                # the text is coloured by that unit first


# -- the untrained layer, and input that is not text ------------------------------------------------------------


def test_the_untrained_sidebar_layer_is_said_to_have_none_of_this():
    ko = open_page("ko")
    assert not ko.error and "무작위이고 학습되지 않았습니다" in texts(ko) and leftovers(ko) == {}
    at = open_page("en")
    assert not at.error
    assert "random, untrained weights: it has none of this structure" in texts(at)
    assert "The layer reads 12 steps of 1 sequence(s)" in texts(at)        # the sidebar's sine, step numbers
    assert "Pearson r of each unit with the step number" in charts(at)
    assert not any(t.startswith("h of unit") for t in charts(at))         # no text view without text


# -- select and match ----------------------------------------------------------------------------------------


def test_a_match_is_a_click_away_from_becoming_the_selection(layers):
    at = open_page("en", layers["GRU"], "select")
    first = next(m.value for m in at.markdown if ":blue-background[" in m.value)
    start = int(re.search(r"`t = (\d+)`", first).group(1))
    at.button(key="inside_match_0").click()
    run(at)
    assert at.slider(key="inside_span").value[0] == start
    heat = next(s for t, s in charts(at).items() if t.startswith("h of unit "))
    solid = [s for s in heat["layout"]["shapes"] if s["line"]["dash"] == "solid"]
    assert solid[0]["x0"] == start % 60 - 0.5                           # the text view outlines the new span


def test_a_threshold_no_unit_reaches_is_said_so(layers):
    at = open_page("en", layers["LSTM"], "select")
    at.slider(key="inside_threshold").set_value(at.slider(key="inside_threshold").max)
    run(at)
    assert any("No unit reaches the threshold" in e.value for e in at.error), [e.value for e in at.error]
    assert any(t.startswith("h of unit ") for t in charts(at))                  # the text view goes on
    show(at, "space")
    assert "h_t in its first 2 principal components" in "".join(charts(at))        # and so does every other view


def test_characters_the_layer_never_saw_are_refused(layers):
    at = open_page("en", layers["LSTM"])
    box = next(t for t in at.text_area if t.key.startswith("inside_text_"))
    box.set_value("(ab) XYZ")
    run(at)
    assert any("characters this layer never saw: 'X' 'Y' 'Z'" in e.value for e in at.error)
    assert not plotly_charts(at)                                    # nothing was computed


# -- the budget --------------------------------------------------------------------------------------------------


def test_a_view_past_the_budget_is_refused_with_the_nearest_that_fits():
    task = task_lib.brackets(n=8, steps=10, seed=0)
    model = RNNClassifier(256, cell="lstm", seed=0, **task.model_kwargs())
    model.build(task.x.shape)
    at = open_page("en", as_custom("LSTM", model, task, 0), inside_starts=1024)
    refused = [e.value for e in at.error]
    assert refused and "This view is too large for this server" in refused[0]
    assert "with 1024 fixed-point starts" in refused[0]
    assert not plotly_charts(at)
    fit = at.button(key="inside_fit")
    assert "fixed-point starts 1024 →" in fit.label
    fit.click()
    run(at)
    assert not at.error and at.select_slider(key="inside_starts").value < 1024
    assert charts(at)


# -- the layer found through the session's training run ------------------------------------------------------


def test_a_layer_from_this_sessions_training_run_reads_its_text():
    settings = TrainingSettings(task="brackets", cell="gru", units=8, epochs=1, n=32, steps=20, keras=False)
    training = TrainingRun(settings, settings.make_task())
    training.advance(5.0)
    custom = as_custom("GRU", training.model, training.task, training.steps_done, record=False)   # no vocabulary
    at = open_page("en", custom, "select", training_run=training)
    assert not at.error
    assert "a new text of the task it was trained on (nested brackets)" in texts(at)
    assert any(t.startswith("h of unit ") for t in charts(at))


# -- the sidebar's own text --------------------------------------------------------------------------------------


def test_the_sidebars_text_is_read_as_text_and_a_constant_signal_is_said_so():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"keras": "false", "cell": "GRU", "units": "6", "example": "characters", "steps": "80"})
    at.session_state["inside_view"] = VIEWS["en"]["select"]
    at.switch_page(PAGE)
    run(at)
    assert not at.error and at.selectbox(key="inside_signal").value == "word"    # the depth never changes here
    heat = next(s for t, s in charts(at).items() if t.startswith("h of unit "))
    assert "".join(heat["data"][1]["text"]).startswith("hello·world,·hello")
    show(at, "signal")
    at.selectbox(key="inside_signal").set_value("depth")
    run(at)
    assert "The nesting depth is the same at every step of this input" in texts(at)
    assert not any(t.startswith("Pearson r of each unit") for t in charts(at))
