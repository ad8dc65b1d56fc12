"""The app's frame in Korean (AppTest): home page, sidebar, uploads, budget and URL messages; the language switch.

The frame is app.py, the sidebar (explorer/controls.py and what it draws), the home page and the messages every
page shares (budget, input errors, custom layer). Keras stays off (``keras=false``): no TensorFlow here.
English is the default: in AppTest ``st.context.locale`` is None, so only ``?lang=ko`` or the switch gives Korean.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from i18n_support import english_words, visible_texts
from streamlit.testing.v1 import AppTest

from explorer import i18n
from rnn_core.inputs.loading import MAX_BATCH

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HANGUL = re.compile("[가-힣]")
# Genuine code names the Korean UI keeps (on top of i18n_support.CODE_WORDS):
ALLOWED = {
    "Explorer",    # the app's own name, "RNN Explorer" (its title)
    "stateful",    # the Keras argument, the toggle's label (like return_sequences, which is snake_case)
    "mish",        # a Keras activation name among the activation box's options
}
LINK_TARGET = re.compile(r"\]\([^)\s]*\)")     # a markdown link's URL: not shown, and the same in every language


def leftovers(at: AppTest) -> dict[str, list[str]]:
    """i18n_support.english_leftovers, with markdown link targets (URLs, never shown) set aside."""
    out = {}
    for text in visible_texts(at):
        words = english_words(LINK_TARGET.sub("]", text), ALLOWED)
        if words:
            out[text[:120]] = words
    return out


def open_app(query: dict | None = None, page: str | None = None, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"keras": "false", **(query or {})})
    for key, value in (state or {}).items():
        at.session_state[key] = value
    if page:
        at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def run(at: AppTest, element=None) -> AppTest:
    """``element.run()`` (or ``at.run()``) with the options formatted in the session's language.

    AppTest turns each choice widget's value back into its label in the test's thread, with the script's
    format_func: outside a script run ``_()`` would say English while the tree shows Korean labels.
    """
    with i18n.use_language(at.session_state.get("lang", "en")):
        (element or at).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def sidebar_texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("subheader", "caption", "markdown") for e in at.sidebar.get(kind))


def custom_layer_in_session(input_dim: int = 1) -> dict:
    """A SimpleRNN(4) the visitor 'brought' (as the Training page or a .keras upload leaves it in the session)."""
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(input_dim, 4)), rng.normal(size=(4, 4)), np.zeros(4)]
    return {"label": "my_model.keras", "cell": "SimpleRNN",
            "config": {"units": 4, "activation": "tanh", "use_bias": True}, "weights": weights, "head": "none",
            "head_weights": None, "input_dim": input_dim}


# A long-format table with more sequences than a batch holds: every table picker and the "Sequences" expander.
# Its column names are the visitor's data, shown as they are: Korean ones here, so only the app's words are checked.
LONG_CSV = "국가,연도,소득,인구\n" + "\n".join(f"c{i},{y},{i + y / 10:.1f},{i * 3 + y}"
                                         for i in range(MAX_BATCH + 4) for y in range(3)) + "\n"


# -- Korean everywhere in the frame ---------------------------------------------------------------------------

def test_home_and_sidebar_in_korean_leave_no_english():
    at = open_app({"lang": "ko"}, state={"custom_layer": custom_layer_in_session()})
    assert leftovers(at) == {}
    assert at.session_state["lang"] == "ko" and at.query_params["lang"] == "ko"
    assert "입력 시퀀스" in sidebar_texts(at) and "모든 페이지에 표시 중" in sidebar_texts(at)
    assert any(s.value == "해 볼 만한 것" for s in at.subheader)
    # The "things to try" links keep their URL values and carry the language to the page they open.
    links = re.findall(r"\]\(([^)]+)\)", "\n".join(m.value for m in at.markdown))
    assert "gradient-flow?head=none&units=16&steps=60&example=impulse&recurrent_scale=0.5&lang=ko" in links
    assert len(links) == 7 and all(link.endswith("&lang=ko") for link in links)


def test_typed_and_uploaded_input_controls_in_korean():
    at = open_app({"lang": "ko", "source": "typed"})
    assert leftovers(at) == {}
    assert at.text_area(key="typed").label == "숫자"
    run(at, at.text_area(key="typed").set_value("1, 2, x"))
    error = at.error[0].value
    assert error.startswith("입력한 시퀀스를 사용하지 않았습니다: ") and "'x'" in error
    assert "이전의 올바른 시퀀스" in error

    at = open_app({"lang": "ko", "source": "upload"})
    assert leftovers(at) == {}
    run(at, at.file_uploader(key="upload_file").upload("gdp.csv", LONG_CSV.encode()))
    at.selectbox(key="upload_id").set_value("국가")
    run(at, at.selectbox(key="upload_time").set_value("연도"))
    assert not at.error, [e.value for e in at.error]
    assert at.multiselect(key="upload_ids").label == "시퀀스 ID"
    assert {e.label for e in at.sidebar.expander} >= {"표의 열", "미리 보기: 처음 몇 행", "내 Keras 모델 (.keras)"}
    assert leftovers(at) == {}, leftovers(at)
    run(at, at.file_uploader(key="upload_file").upload("bad.csv", b"a,b\n1,2\nx,\n"))
    assert any(e.value.startswith("**bad.csv** 파일을 불러오지 못했습니다: ") for e in at.error)


def test_budget_message_and_its_fitting_configuration_in_korean():
    at = open_app({"lang": "ko", "units": "256", "steps": "100000", "batch": "16"}, page="hidden-states")
    message = at.error[0].value
    assert message.startswith("**이 화면은 이 서버에서 처리하기에 너무 큽니다.**")
    assert "배치 16 × 100,000 스텝 × 유닛 256 × 특성 1" in message and "512 MiB" in message
    assert leftovers(at) == {}
    button = at.button(key="apply_budget")
    assert button.label.startswith("적용: ")
    run(at, button.click())
    assert not at.error, [e.value for e in at.error]
    steps = at.number_input(key="steps").value
    assert at.number_input(key="batch").value == 1 and 2 <= steps < 100_000
    assert at.query_params["steps"] == str(steps) and "batch" not in at.query_params and at.query_params["lang"] == "ko"


def test_url_corrections_are_said_in_the_visitors_language():
    at = open_app({"lang": "ko", "units": "100000", "steps": "abc"})
    warning = at.warning[0].value
    assert warning.startswith("이 링크의 일부 값이") and "`units=100000` (현재 4)" in warning
    assert "`steps=abc` (현재 12)" in warning
    assert leftovers(at) == {}


def test_an_invalid_language_falls_back_to_english_and_is_named():
    """``?lang=fr``: no such language. The page is drawn in the fallback language (the browser's, here none:
    English), the value leaves the URL, and the URL-corrections warning names it, in that language."""
    at = open_app({"lang": "fr"})
    assert at.session_state["lang"] == "en" and "lang" not in at.query_params
    warning = at.warning[0].value
    assert warning.startswith("Some values in this link") and "`lang=fr` (now 'en')" in warning
    assert "Input sequence" in sidebar_texts(at)
    run(at, at.button_group(key="source").set_value("typed"))      # the next run does not say it again
    assert not at.warning, [w.value for w in at.warning]


def test_english_is_the_default():
    at = open_app()
    assert at.session_state["lang"] == "en" and "lang" not in at.query_params
    assert "Input sequence" in sidebar_texts(at) and not HANGUL.search(sidebar_texts(at))
    assert at.button_group(key="lang").value == "en"
    ko = open_app({"lang": "ko"})
    assert HANGUL.search(sidebar_texts(ko)) and ko.button_group(key="lang").value == "ko"


def test_url_values_do_not_depend_on_the_language():
    at = open_app({"lang": "ko"})
    source = at.button_group(key="source")
    assert [o.content for o in source.proto.options] == ["예제", "파일 업로드", "숫자 입력"]
    run(at, source.set_value("typed"))
    assert at.query_params["source"] == "typed"
    run(at, at.selectbox(key="head").set_value("many-to-one"))
    assert at.query_params["head"] == "many-to-one" and "다대일" in at.selectbox(key="head").options
    run(at, at.selectbox(key="normalization").set_value("z-score"))
    assert at.query_params["normalization"] == "z-score"
    # Back to the defaults: they leave the URL, as with Streamlit's own binding; no "corrected value" warning.
    run(at, at.button_group(key="source").set_value("example"))
    run(at, at.selectbox(key="head").set_value("many-to-many"))
    assert "source" not in at.query_params and "head" not in at.query_params and not at.warning


def test_a_preset_applied_in_korean():
    at = open_app({"lang": "ko"})
    preset = at.selectbox(key="preset")
    assert preset.placeholder == "프리셋 불러오기…"
    assert "기울기 소실 (배율 0.5)" in preset.options          # shown translated; the key stays the English id
    run(at, preset.set_value("Vanishing gradients (scale 0.5)"))
    assert at.number_input(key="units").value == 16 and at.slider(key="recurrent_scale").value == 0.5
    assert at.selectbox(key="example").value == "impulse" and at.selectbox(key="head").value == "none"
    assert at.query_params["example"] == "impulse" and at.query_params["head"] == "none"
    assert at.query_params["units"] == "16" and at.query_params["lang"] == "ko"
    assert at.selectbox(key="preset").value is None          # back to its prompt


# -- the language switch keeps everything ------------------------------------------------------------------

def configuration(at: AppTest) -> dict:
    widgets = {}
    for kind in ("number_input", "selectbox", "slider", "toggle", "button_group", "text_area", "multiselect"):
        for w in at.get(kind):
            if w.key and not w.key.startswith("$$") and w.key not in ("lang", "preset"):
                widgets[w.key] = w.value
    return widgets


def switch_language(at: AppTest, lang: str) -> None:
    run(at, at.button_group(key="lang").set_value(lang))


def test_switching_language_keeps_the_configuration_the_input_and_the_layer():
    query = {"cell": "LSTM", "units": "6", "source": "typed", "typed": "1, 2; 3, 4; 5, 6", "head": "many-to-one",
             "normalization": "min-max", "seed": "7"}
    custom = custom_layer_in_session(input_dim=2)
    at = open_app(query, page="output-shapes", state={"custom_layer": custom})
    before, url_before = configuration(at), dict(at.query_params)
    typed = at.session_state["typed_sequence"]
    assert before["units"] == 6 and before["source"] == "typed" and before["head"] == "many-to-one"
    switch_language(at, "ko")
    assert configuration(at) == before
    assert dict(at.query_params) == {**url_before, "lang": "ko"}
    assert at.session_state["typed_sequence"] is typed and at.session_state["custom_layer"] is custom
    assert "모든 페이지에 표시 중" in sidebar_texts(at)
    # The browser is sent the chosen options' labels in the new language (it would keep showing the old ones).
    head = at.selectbox(key="head").proto
    assert head.set_value and head.raw_value == "다대일"
    switch_language(at, "en")
    head = at.selectbox(key="head").proto
    assert head.set_value and head.raw_value == "many-to-one"
    assert configuration(at) == before and dict(at.query_params) == url_before
    assert "Every page shows" in sidebar_texts(at) and not at.warning


def test_switching_language_keeps_an_uploaded_sequence():
    at = open_app({"source": "upload"})
    run(at, at.file_uploader(key="upload_file").upload("gdp.csv", LONG_CSV.encode()))
    at.selectbox(key="upload_id").set_value("국가")
    run(at, at.selectbox(key="upload_time").set_value("연도"))
    loaded, before = at.session_state["user_sequence"], configuration(at)
    assert loaded["x"].shape[0] == MAX_BATCH
    switch_language(at, "ko")
    assert at.session_state["user_sequence"] is loaded and configuration(at) == before
    assert not at.error, [e.value for e in at.error]
    assert dict(at.query_params) == {"keras": "false", "source": "upload", "lang": "ko"}


# -- url_params.choice ---------------------------------------------------------------------------------------

def _choice_script():
    import streamlit as st

    from explorer import url_params

    value = url_params.choice(st.selectbox, "fruit", ["apple", "pear", "plum"], key="fruit", default="apple",
                              format_func=str.upper)
    st.write(f"value={value}")


def open_choice(query: dict) -> AppTest:
    at = AppTest.from_function(_choice_script, default_timeout=30)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_url_params_choice_is_seeded_from_the_url_and_writes_the_option():
    at = open_choice({"fruit": "pear"})
    assert at.selectbox(key="fruit").value == "pear" and at.query_params["fruit"] == "pear"
    assert at.selectbox(key="fruit").format_func("pear") == "PEAR"          # the label, never in the URL
    at.selectbox(key="fruit").set_value("plum").run()
    assert at.query_params["fruit"] == "plum"


def test_url_params_choice_removes_an_invalid_value_and_the_default_leaves_the_url():
    at = open_choice({"fruit": "banana"})
    assert at.selectbox(key="fruit").value == "apple" and "fruit" not in at.query_params
    at.selectbox(key="fruit").set_value("pear").run()
    assert at.query_params["fruit"] == "pear"
    at.selectbox(key="fruit").set_value("apple").run()
    assert "fruit" not in at.query_params
    at = open_choice({})
    assert at.selectbox(key="fruit").value == "apple" and "fruit" not in at.query_params


# -- what the pages share, in Korean -------------------------------------------------------------------------

def test_stateful_controls_in_korean():
    at = open_app({"lang": "ko", "stateful": "true"}, page="hidden-states")
    shown = "\n".join(m.value for m in at.markdown)
    assert "**stateful**: 호출 #1, 0에서 시작합니다." in shown
    run(at, next(b for b in at.button if b.label == "다시 호출").click())
    shown = "\n".join(m.value for m in at.markdown)
    assert "**stateful**: 호출 #2, 호출 #1이 남긴 상태에서 시작합니다." in shown
    assert [b.label for b in at.button if b.label in ("다시 호출", "상태 초기화")] == ["다시 호출", "상태 초기화"]


@pytest.mark.keras
def test_an_uploaded_model_in_korean(tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((None, 1)), keras.layers.GRU(3, return_sequences=True, name="encoder")])
    model.save(tmp_path / "frames.keras")
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "ko"
    at.switch_page("pages/hidden-states.py")
    run(at)
    run(at, at.file_uploader(key="model_file").upload("frames.keras", (tmp_path / "frames.keras").read_bytes()))
    assert not at.error, [e.value for e in at.error]
    table = at.sidebar.dataframe[0].value
    assert list(table.columns) == ["층", "클래스", "출력 형태", "파라미터"]
    assert any(m.value.startswith("**frames.keras**: Sequential 모델") for m in at.sidebar.markdown)
    assert at.selectbox(key="model_layer").label == "표시할 순환 층"
    run(at, at.button(key="use_model_layer").click())
    assert not at.error, [e.value for e in at.error]
    assert "**모든 페이지에 표시 중:**" in sidebar_texts(at)
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert any("표시 중: " in b for b in badges), badges
    parity = [b for b in badges if "NumPy − Keras" in b]
    assert parity and all(b.startswith(":green-badge[") and "≤ 허용 오차" in b for b in parity), parity
    run(at, at.file_uploader(key="model_file").upload("evil.keras", b"\x80\x04\x95" + bytes(200)))
    assert any(e.value.startswith("**evil.keras** 파일을 불러오지 못했습니다: ") for e in at.error)
    run(at, at.button(key="custom_layer_stop").click())
    assert "모든 페이지에 표시 중" not in sidebar_texts(at)
