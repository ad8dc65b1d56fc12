"""The Training page in Korean: every text of the page translated, the same numbers as in English, and URL
values that do not depend on the language (train_task=adding_problem, train_view=compare).

Like tests/test_training_page.py, the runs are small (delayed recall, lag 2, 32 sequences, Keras off: no
TensorFlow) and AppTest advances them one fragment tick per ``at.run()``.

The sidebar is another part of the app (its own tests): the English checks here look at the page itself
(``at.main``). Task descriptions come from rnn_core (``Task.description``); until rnn_core returns them as
``Message`` they are English, and only they are set aside (:func:`page_leftovers`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from chart_support import plotly_charts
from i18n_support import english_words, visible_texts
from streamlit.testing.v1 import AppTest

from explorer import i18n
from explorer import training_figures as tf
from explorer.training_view import TrainingSettings, default_text
from rnn_core.messages import Message

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120
HANGUL = re.compile("[가-힣]")
# Code names shown as they are in every language: rnn_core's optimizer ids (the options of `optimizer`, bound to
# the URL as train_optimizer=adam) and Keras' `clipnorm` argument (in the gradient chart's clipping line).
CODE_NAMES = {"adam", "rmsprop", "sgd", "clipnorm"}


def page_leftovers(at: AppTest) -> dict[str, list[str]]:
    """english_leftovers of the page (not the sidebar), rnn_core's task descriptions set aside while they are
    plain English strings (once they are Messages, shown with i18n.text, nothing is set aside)."""
    core = []
    for key in ("training_run", "compare_run"):
        run = at.session_state.get(key)
        if run is not None and not isinstance(run.task.description, Message):
            core.append(str(run.task.description))
    out = {}
    for text in visible_texts(at.main):
        for english in core:
            text = text.replace(english, " ")
        words = english_words(text, CODE_NAMES)
        if words:
            out[text[:120]] = words
    return out


def run(at: AppTest, element=None) -> AppTest:
    """``element.run()`` (or ``at.run()``) with the choice widgets' options formatted in the session's language.

    AppTest turns each choice widget's value back into its label in the test's thread, with the script's
    format_func: outside a script run ``_()`` would say English while the tree shows Korean labels.
    """
    with i18n.use_language(at.session_state.get("lang", "en")):
        (element or at).run()
    return at


def open_link(query: dict[str, str]) -> AppTest:
    """The Training page opened from a link (Keras off from the first run: no TensorFlow)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"keras": "false", **query})
    at.run()
    return run(at, at.switch_page("pages/training.py"))


def open_training(lang: str, **widgets) -> AppTest:
    """The Training page in ``lang``, widgets set by key (in order: a task's own controls appear once it is chosen)."""
    at = open_link({"lang": lang})
    for key, value in widgets.items():
        for kind in ("number_input", "selectbox", "button_group"):
            try:
                widget = getattr(at, kind)(key=key)
            except KeyError:
                continue
            run(at, widget.set_value(value))
            break
        else:
            raise KeyError(key)
    assert not at.exception, [e.message for e in at.exception]
    return at


def run_to_the_end(at: AppTest, button: str, state: str) -> AppTest:
    run(at, at.button(key=button).click())
    for _ in range(40):
        if at.session_state[state].status == "done":
            break
        run(at)
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state[state].status == "done"
    return at


def train_small(lang: str) -> AppTest:
    at = open_training(lang, train_lag=2, train_epochs=3, train_n=32)
    return run_to_the_end(at, "training_run_train", "training_run")


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.spec) for c in plotly_charts(at)]


def numbers(text: str) -> list[str]:
    return re.findall(r"\d[\d,.]*", text)


@pytest.fixture(scope="module")
def trained() -> dict[str, AppTest]:
    """The same small run, finished, in English and in Korean."""
    return {lang: train_small(lang) for lang in ("en", "ko")}


def test_train_view_in_korean_has_no_english_left(trained):
    at = trained["ko"]
    assert not at.exception
    assert page_leftovers(at) == {}
    assert at.title[0].value == i18n.translations("ko").gettext("Training") and HANGUL.search(at.title[0].value)
    titles = [c["layout"]["title"]["text"] for c in charts(at)]
    assert len(titles) == 5 and all(HANGUL.search(t) for t in titles), titles
    for chart in charts(at):
        for axis in ("xaxis", "yaxis"):
            title = chart["layout"][axis].get("title", {}).get("text", "")
            assert HANGUL.search(title) or title.startswith("||"), (axis, title)
    assert at.button(key="use_weights").label == "이 가중치 사용"


def test_the_same_numbers_in_both_languages(trained):
    en, ko = trained["en"], trained["ko"]
    progress = {lang: at.get("progress")[0].proto.text for lang, at in trained.items()}
    assert "loss" in progress["en"] and "손실" in progress["ko"]
    assert numbers(progress["en"]) == numbers(progress["ko"]), progress
    loss = {lang: at.session_state["training_run"].trainer.history.batch_loss for lang, at in trained.items()}
    np.testing.assert_array_equal(loss["en"], loss["ko"])
    for spec_en, spec_ko in zip(charts(en), charts(ko), strict=True):
        assert [t.get("y") for t in spec_en["data"]] == [t.get("y") for t in spec_ko["data"]]
    caption = {lang: next(c.value for c in at.caption if "SimpleRNN(32)" in c.value) for lang, at in trained.items()}
    assert sorted(numbers(caption["en"])) == sorted(numbers(caption["ko"])), caption   # word order differs


def test_use_these_weights_in_korean():
    at = train_small("ko")
    run(at, at.button(key="use_weights").click())
    assert not at.exception
    label = at.session_state["custom_layer"]["label"]
    assert isinstance(label, Message) and str(label).startswith("trained: SimpleRNN(32), delayed recall k=2")
    shown = next(c.value for c in at.caption if c.value.startswith("이제 모든 페이지가"))
    assert "학습됨: SimpleRNN(32), 지연 회상 k=2" in shown
    assert english_words(shown, CODE_NAMES) == []


def test_compare_view_in_korean_has_no_english_left_and_the_same_curves():
    curves = {}
    for lang in ("en", "ko"):
        at = open_training(lang, train_view="compare", cmp_lag=2, cmp_epochs=2, cmp_units=4)
        run_to_the_end(at, "compare_run_train", "compare_run")
        curves[lang] = [[t["name"], t["y"]] for spec in charts(at) for t in spec["data"]]
        if lang == "ko":
            assert page_leftovers(at) == {}
            assert at.query_params["train_view"] == "compare"             # the option, not its Korean label
            titles = [c["layout"]["title"]["text"] for c in charts(at)]
            assert titles[0].startswith("에포크별 검증 정확도") and "간격 k=2" in titles[0], titles
            assert "에포크 2/2 (완료)" in at.get("progress")[0].proto.text
    assert curves["en"] == curves["ko"]


def test_url_values_do_not_depend_on_the_language():
    at = open_training("ko", train_task="adding_problem", train_units=8)
    assert at.query_params["train_task"] == "adding_problem"
    assert at.selectbox(key="train_task").value == "adding_problem"
    assert "덧셈 문제" in at.selectbox(key="train_task").options
    run(at, at.button_group(key="train_view").set_value("compare"))
    assert at.query_params["train_view"] == "compare" and at.query_params["train_task"] == "adding_problem"
    run(at, at.button_group(key="train_view").set_value("train"))
    assert "train_view" not in at.query_params                      # the default leaves the URL
    assert at.selectbox(key="train_task").value == "adding_problem"  # found again in the URL


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("link, option", [("adding_problem", "adding_problem"),
                                          ("adding problem", "adding_problem"),       # links made before #12
                                          ("frame classification (39 classes)", "frame_classification")])
def test_links_open_the_task_they_name(lang, link, option):
    """New links hold the option; links made when Streamlit's binding wrote the English label still open it."""
    at = open_link({"lang": lang, "train_task": link, "train_units": "4"})
    assert not at.exception and not at.warning
    assert at.selectbox(key="train_task").value == option
    assert at.query_params["train_task"] == option


def test_an_old_compare_link_opens_the_comparison():
    at = open_link({"lang": "ko", "train_view": "SimpleRNN vs LSTM vs GRU"})
    assert at.button_group(key="train_view").value == "compare" and at.query_params["train_view"] == "compare"
    assert at.button(key="compare_run_train")


# -- the figure builders, without Streamlit ------------------------------------------------------------------

def _texts(fig) -> list[str]:
    layout = fig.layout
    return [layout.title.text, layout.xaxis.title.text, layout.yaxis.title.text]


@pytest.mark.parametrize("build", [
    lambda: tf.loss_curve([2.0, 1.0], [2.0, 1.0], "mse", chance=2.2),
    lambda: tf.accuracy_curve([0.1, 0.5]),
    lambda: tf.grad_norm_curve([5.0, 3.0], [1.0, 1.0], clip=1.0),
    lambda: tf.reach_heatmap([0, 5], [np.array([1e-3, 1.0]), np.array([1e-1, 1.0])]),
    lambda: tf.reach_lines({"epoch 1": np.array([1.0, 0.5])}),
    lambda: tf.compare_curves({"SimpleRNN": [0.1], "LSTM": [0.2], "GRU": [0.3]}, "held-out accuracy", 10, 0.125),
    lambda: tf.compare_curves({"LSTM": [1.0, 0.5]}, "loss"),
])
def test_figure_builders_in_korean(build):
    english = _texts(build())
    with i18n.use_language("ko"):
        fig = build()
    korean = _texts(fig)
    assert HANGUL.search(korean[0]), korean                       # the title
    assert HANGUL.search(korean[1]), korean                       # the x axis
    for en_text, ko_text in zip(english, korean, strict=True):
        assert sorted(numbers(en_text)) == sorted(numbers(ko_text))
    annotations = [a.text for a in fig.layout.annotations]
    hover = [t.hovertemplate for t in fig.data if t.hovertemplate]
    for text in korean + annotations + hover:                     # (trace names: cells, engines, the caller's)
        assert english_words(text or "", CODE_NAMES) == [], text


def test_figure_builders_in_korean_details():
    with i18n.use_language("ko"):
        grad = tf.grad_norm_curve([5.0, 3.0], [1.0, 1.0], clip=1.0)
        loss = tf.loss_curve([2.0, 1.0], [2.0, 1.0], "mse", chance=2.2)
        reach = tf.reach_heatmap([0, 5], [np.array([1e-3, 1.0]), np.array([1e-1, 1.0])])
        compare = tf.compare_curves({"LSTM": [0.5]}, "training accuracy", lag=3, chance=0.5)
    assert [t.name for t in grad.data] == ["클리핑 전", "클리핑 후 (적용값)"]
    assert grad.layout.annotations[0].text == "clipnorm 1 (가중치별)"
    assert grad.layout.yaxis.title.text == "||dL/dW|| (모든 가중치)"
    assert [t.name for t in loss.data] == ["NumPy", "Keras train_on_batch"]      # code names stay
    assert loss.layout.title.text == "스텝별 손실 (mse)" and loss.layout.annotations[0].text == "최선의 상수 예측"
    assert reach.data[0].hovertemplate.startswith("에포크 %{y}, t=%{x}")
    assert compare.layout.title.text == "에포크별 학습 정확도 (지연 회상, 간격 k=3)"
    assert compare.layout.annotations[0].text == "우연 수준"
    # Outside use_language: English again (the builders translate when they are called; nothing is cached).
    assert tf.compare_curves({"LSTM": [0.5]}, "training accuracy", lag=3).layout.title.text == \
        "Training accuracy per epoch (delayed recall, lag k=3)"


def test_the_text_to_learn_starts_in_the_visitors_language_and_survives_a_switch():
    """The next-character task's starting text is Korean for a Korean visitor; once there it is the visitor's:
    switching the language keeps it (and a text typed in the box)."""
    ko = open_training("ko", train_task="next_character")
    assert ko.text_area(key="train_text").value == default_text("ko")
    assert "다람쥐" in default_text("ko") and set(default_text("ko")).isdisjoint("abcdefghijklmnopqrstuvwxyz")
    en = open_training("en", train_task="next_character")
    assert en.text_area(key="train_text").value == default_text("en") == TrainingSettings.text
    run(en, en.text_area(key="train_text").set_value("가나다라 " * 20))
    run(en, en.segmented_control(key="lang").set_value("ko"))
    assert en.session_state["lang"] == "ko"
    assert en.text_area(key="train_text").value == "가나다라 " * 20
    assert not en.exception and not en.error
