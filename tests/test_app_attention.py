"""The Attention page through AppTest, in English and Korean, for each attention kind.

Like tests/test_training_page.py: AppTest has no clock, so every ``at.run()`` reruns the page and its fragment
once: one tick, which draws the run and then trains one bounded chunk. The runs are small (reverse 3-6 digits,
16 units, 40 steps) and Keras is off except where the Keras column is the point (marked ``keras``).
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from chart_support import plotly_charts
from i18n_support import english_words, visible_texts
from streamlit.testing.v1 import AppTest

from explorer import i18n

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180          # raised: a tick trains and decodes, and the Keras test imports TensorFlow
HANGUL = re.compile("[가-힣]")
SMALL = {"att_units": "16", "att_steps": "40"}
# Shown as they are in every language: the two authors' names of the attention kinds, the ISO date format.
CODE_NAMES = {"Luong", "Bahdanau", "YYYY-MM-DD"}
TITLES = ("Loss per step", "Held-out sequence accuracy while training", "Attention weights", "Output probabilities",
          "Accuracy by input length", "The gradient's path")


def run(at: AppTest, element=None) -> AppTest:
    """``element.run()`` (or ``at.run()``) with choice widgets formatted in the session's language (see
    tests/test_i18n_training.py: AppTest formats them again in the test's thread)."""
    lang = at.session_state["lang"] if "lang" in at.session_state else "en"  # noqa: SIM401 - no .get() here
    with i18n.use_language(lang):
        (element or at).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def open_attention(lang: str = "en", kind: str = "dot", keras: bool = False, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"lang": lang, "keras": str(keras).lower(), "att_kind": kind, **SMALL, **query})
    at.run()
    run(at, at.switch_page("pages/attention.py"))
    at.slider(key="att_lengths").set_value((3, 6))
    return run(at)


def train_to_the_end(at: AppTest, ticks: int = 60) -> AppTest:
    run(at, at.button(key="att_train").click())
    for _ in range(ticks):
        if at.session_state["attention_run"].status == "done":
            break
        run(at)
    assert at.session_state["attention_run"].status == "done"
    return run(at)                  # the finished run, drawn whole


def arr(value) -> np.ndarray:
    """A plotly JSON array: a list, or {"dtype", "bdata"} (base64)."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).astype(float)
        shape = value.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.array(value, dtype=float)


def charts(at: AppTest) -> dict[str, dict]:
    out = {}
    for element in plotly_charts(at):
        spec = json.loads(element.spec)
        out[spec["layout"]["title"]["text"]] = spec
    return out


def chart(at: AppTest, start: str) -> dict:
    found = [spec for title, spec in charts(at).items() if title.startswith(start)]
    assert found, f"no chart titled {start!r} in {list(charts(at))}"
    return found[0]


def page_leftovers(at: AppTest) -> dict[str, list[str]]:
    """English words left on the page itself (the sidebar has its own tests)."""
    return {text[:120]: words for text in visible_texts(at.main) if (words := english_words(text, CODE_NAMES))}


@pytest.fixture(scope="module", params=["none", "dot", "additive"])
def trained(request) -> dict[str, AppTest]:
    return {lang: train_to_the_end(open_attention(lang, request.param)) for lang in ("en", "ko")}


def test_every_part_of_the_page_is_drawn(trained):
    at = trained["en"]
    titles = list(charts(at))
    for start in TITLES:
        assert any(t.startswith(start) for t in titles), (start, titles)
    kind = at.session_state["attention_run"].settings.attention
    if kind == "none":        # the alignment is the other variant's (dot attention, trained alongside)
        assert chart(at, "Attention weights of the model trained alongside")
    assert [s.value for s in at.main.subheader] == ["Where the decoder looks: the alignment",
                                                    "One decoder step, with the actual numbers",
                                                    "With and without attention", "Export"]
    assert {b.proto.label for b in at.get("download_button")} == {".keras model", "attention weights (NPZ)"}


def test_the_heatmap_is_the_runs_attention(trained):
    at = trained["en"]
    run_ = at.session_state["attention_run"]
    fig = heatmap(at)
    z = arr(fig["data"][0]["z"])
    ex = run_.example(run_.default_example(), "model" if run_.settings.attention != "none" else "other")
    np.testing.assert_allclose(z, ex.attention, rtol=1e-6)
    np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=1e-5)              # each decoder step's weights
    assert fig["layout"]["xaxis"]["ticktext"] == [t.replace("<", "&lt;").replace(">", "&gt;") for t in ex.columns]
    assert fig["layout"]["yaxis"]["ticktext"][-1] == "&lt;/s&gt;"          # a token is text, never HTML


def test_one_decoder_steps_numbers(trained):
    at = trained["en"]
    kind = at.session_state["attention_run"].settings.attention
    latex = at.get("latex")[0].value.strip("$\n")
    if kind == "none":
        assert latex.startswith(r"p = \mathrm{softmax}")
        return
    assert (r"q \cdot k_j" in latex) == (kind == "dot") and (r"\tanh" in latex) == (kind == "additive")
    table = at.dataframe[0].value                                            # j, input token, s_j, a_j
    scores, weights = table["s_j"].to_numpy(float), table["a_j"].to_numpy(float)
    np.testing.assert_allclose(weights.sum(), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum(), weights,
                               atol=1e-5)
    assert "The largest weight is on j =" in " ".join(c.value for c in at.caption)
    vectors = at.dataframe[1].value
    assert {"q_d", "c_d"} <= set(vectors.columns) and ("w_d" in vectors.columns) == (kind == "additive")


def test_with_and_without_attention_curves(trained):
    at = trained["en"]
    lengths = chart(at, "Accuracy by input length")
    names = [t["name"] for t in lengths["data"]]
    assert names[0].startswith("with attention: ") and names[1] == "without attention"
    assert arr(lengths["data"][0]["x"]).tolist() == [3, 4, 5, 6]
    gradient = chart(at, "The gradient's path")
    assert gradient["layout"]["yaxis"]["type"] == "log"
    styles = {t["name"]: (t["line"]["color"], t["line"].get("dash")) for t in gradient["data"]}
    assert styles[names[0]] == ("#0072B2", None) and styles["without attention"] == ("#D55E00", "dash")
    assert styles["without attention, before training"] == ("#D55E00", "dot")


def test_korean_page_has_no_english_left(trained):
    ko = trained["ko"]
    assert ko.title[0].value == "어텐션"
    assert page_leftovers(ko) == {}
    titles = list(charts(ko))
    assert len(titles) == len(charts(trained["en"])) and all(HANGUL.search(t) for t in titles), titles


def heatmap(at: AppTest) -> dict:
    return next(spec for spec in charts(at).values() if spec["data"][0]["type"] == "heatmap")


def test_the_same_numbers_in_both_languages(trained):
    en, ko = trained["en"], trained["ko"]
    if en.dataframe:                                     # the step's scores and weights (with attention)
        np.testing.assert_array_equal(en.dataframe[0].value.to_numpy(), ko.dataframe[0].value.to_numpy())
    assert heatmap(en)["data"][0]["z"] == heatmap(ko)["data"][0]["z"]
    assert HANGUL.search(heatmap(ko)["layout"]["xaxis"]["title"]["text"])


def test_pause_and_continue():
    at = open_attention("en", "dot", att_steps="600")
    run(at, at.button(key="att_train").click())
    run(at)
    r = at.session_state["attention_run"]
    assert r.status == "running" and any("drawn when the run pauses" in i.value for i in at.info)
    run(at, at.button(key="att_pause").click())
    paused = r.steps_done
    run(at)
    assert r.status == "paused" and r.steps_done == paused and 0 < paused < 600
    assert at.main.subheader[-1].value == "Export"                              # everything drawn while paused
    run(at, at.button(key="att_continue").click())
    assert r.status == "running" and r.steps_done > paused
    run(at, at.button(key="att_reset").click())
    assert "attention_run" not in at.session_state


def test_past_the_budget_nothing_runs_and_the_nearest_fit_is_offered():
    at = open_attention("en", "additive", att_units="128", att_steps="5000")
    assert at.warning and "the limit is" in at.warning[0].value
    assert at.button(key="att_train").disabled
    offer = at.button(key="fit_att_steps")
    run(at, offer.click())
    assert not at.warning and not at.button(key="att_train").disabled
    assert int(at.number_input(key="att_steps").value) < 5000


@pytest.mark.keras
def test_keras_twin_trains_step_for_step_and_exports(tmp_path):
    import keras

    at = train_to_the_end(open_attention("en", "dot", keras=True, att_steps="30"), ticks=80)
    r = at.session_state["attention_run"]
    assert len(r.keras_loss) == r.steps_done == 30
    badges = [m.value for m in at.markdown if m.value.startswith(":green-badge[")]
    assert any("NumPy vs Keras train_on_batch" in b for b in badges), badges
    assert any("Keras with NumPy" in b for b in badges), badges
    loss = chart(at, "Loss per step")
    assert [t["name"] for t in loss["data"]] == ["NumPy", "Keras train_on_batch"]
    (tmp_path / "trained.keras").write_bytes(r.keras_bytes())
    model = keras.saving.load_model(tmp_path / "trained.keras")
    x, y_in = r.held.x[:4], r.held.y_in[:4]
    np.testing.assert_allclose(np.asarray(model([x, y_in])), r.model.forward(x, y_in), atol=1e-5)
    with np.load(io.BytesIO(r.attention_npz()), allow_pickle=False) as data:
        assert data["attention_weights"].shape == (64, r.held.y_out.shape[1], r.held.x.shape[1])
        assert list(data["target_vocabulary"][:3]) == ["<pad>", "<s>", "</s>"]


@pytest.mark.parametrize("task", ["date_normalisation", "korean_numerals"])
def test_a_task_with_its_own_lengths(task):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"lang": "ko", "keras": "false", "att_task": task, "att_units": "8", "att_steps": "20"})
    at.run()
    run(at, at.switch_page("pages/attention.py"))
    assert not at.main.slider and "이 과제는 입력 길이를 스스로 정합니다." in [c.value for c in at.caption]
    train_to_the_end(at)
    assert heatmap(at)["data"][0]["z"]
    assert page_leftovers(at) == {}
