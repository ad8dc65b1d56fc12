"""The hidden-states and output-shapes pages, and every figure builder, in Korean.

Each page is opened in Korean for each cell (the Keras column on for one cell per page, the slow part):
no exception, no English left (``english_leftovers``, figures included, and every figure's title), and
the same numbers as the English page. The figure builders are checked on their own, without Streamlit,
under ``use_language("ko")``; FIGURES keeps one figure per language.
"""

import json
import re

import numpy as np
import pytest
from chart_support import plotly_charts
from i18n_support import _figure_texts, english_leftovers, english_words
from streamlit.testing.v1 import AppTest
from test_app_pages import APP, PAGES, arr

from explorer import figures
from explorer.i18n import use_language

HANGUL = re.compile(r"[\uac00-\ud7a3]")
TIMEOUT = 60

# Words english_leftovers finds that are code, not English prose:
ALLOWED = {
    "blue-badge", "green-badge", "red-badge",   # st.badge's markdown directive (:green-badge[...]), not shown as text
    "green",                                    # st.markdown's colour directive :green[...]
    "nbsp",                                     # the HTML entity &nbsp; of engine_header's empty detail line
    "whole",                                    # the metric "max |per_step − whole|" names the variables of the code
                                                # above it
    "hh",                                       # the GRU candidate's name in rnn_core (a table column, like h, z, r)
    "gamma", "diag",                            # math in step_sigmas: the bound gamma·sigma_max(U),
                                                # J_t = diag(f'(z_t)) Uᵀ
    "mish",                                     # an activation's name among the sidebar's options
                                                # (keras.activations.mish)
    "stateful",                                 # the sidebar toggle named after Keras' argument `stateful`
}


def open_page(page: str, cell: str, lang: str, keras: bool, **query) -> AppTest:
    """The page as a link opens it (one run). AppTest turns choice widgets' values back into labels in the
    test's thread with the script's format_func, so that run is in the page's language too."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"cell": cell, "lang": lang, "keras": str(keras).lower(),
                            **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in query.items()}})
    at.switch_page(PAGES[page])
    with use_language(lang):
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.spec) for chart in plotly_charts(at)]


def assert_all_korean(at: AppTest) -> None:
    assert english_leftovers(at, ALLOWED) == {}
    titles = [fig["layout"].get("title", {}).get("text", "") for fig in charts(at)]
    english = {t: english_words(t, ALLOWED) for t in titles if english_words(t, ALLOWED)}
    assert english == {}, english                         # figure titles (english_leftovers reads only axes)
    assert all(HANGUL.search(t) for t in titles), titles


# -- the pages ---------------------------------------------------------------------------------------------

HIDDEN = {"units": 3, "t": 4, "return_state": True}


@pytest.fixture(scope="module", params=[("SimpleRNN", False), ("LSTM", True), ("GRU", False)],
                ids=["SimpleRNN", "LSTM-keras", "GRU"])
def hidden_pair(request):
    cell, keras = request.param
    return cell, open_page("hidden", cell, "ko", keras, **HIDDEN), open_page("hidden", cell, "en", keras, **HIDDEN)


def test_hidden_states_in_korean(hidden_pair):
    cell, ko, _en = hidden_pair
    assert_all_korean(ko)
    assert ko.title[0].value == "펼친 은닉 상태"
    subheaders = [str(s.value) for s in ko.subheader]
    assert "스텝 t = 4, 실제 숫자로" in subheaders
    assert [t.label for t in ko.tabs] == ["시간에 따른 유닛", "셀의 내부", "위에 놓인 Dense 헤드"]   # the views below


def test_hidden_states_numbers_are_the_same_in_both_languages(hidden_pair):
    cell, ko, en = hidden_pair
    table_ko, table_en = ko.dataframe[0].value, en.dataframe[0].value
    assert table_ko.index.name == "유닛" and "h_t (NumPy 실행)" in table_ko.columns
    np.testing.assert_array_equal(table_ko.to_numpy(), table_en.to_numpy())
    heat_ko = next(f for f in charts(ko) if f["layout"]["title"]["text"] == "시퀀스 0의 h_t (NumPy)")
    heat_en = next(f for f in charts(en) if f["layout"]["title"]["text"] == "h_t of sequence 0 (NumPy)")
    np.testing.assert_array_equal(arr(heat_ko["data"][0]["z"]), arr(heat_en["data"][0]["z"]))
    assert len(charts(ko)) == len(charts(en))
    if cell == "LSTM":                                     # the Keras column: same parity as in English
        badge = [m.value for m in ko.markdown if m.value.startswith(":green-badge[")]
        assert any("h_t와 마지막 상태: max |NumPy − Keras|" in b for b in badge), badge
        assert "h_t (Keras 실행)" in table_ko.columns


SHAPES = {"return_sequences": True, "return_state": True}


@pytest.fixture(scope="module", params=[("SimpleRNN", False), ("LSTM", False), ("GRU", True)],
                ids=["SimpleRNN", "LSTM", "GRU-keras"])
def shapes_pair(request):
    cell, keras = request.param
    return cell, open_page("shapes", cell, "ko", keras, **SHAPES), open_page("shapes", cell, "en", keras, **SHAPES)


def test_output_shapes_in_korean(shapes_pair):
    cell, ko, _en = shapes_pair
    assert_all_korean(ko)
    subheaders = [str(s.value) for s in ko.subheader]
    assert ko.title[0].value == "출력 형태"
    # The course's two points, in Korean: what the flags change, and TimeDistributed(Dense) == Dense on 3-D.
    assert ("네 가지 설정 모두" in subheaders
            and "TimeDistributed(Dense)는 3차원 텐서에 적용한 Dense와 같습니다" in subheaders)
    code = "\n".join(c.value for c in ko.code)
    assert "모든 h_t" in code and "마지막 은닉 상태 h_T" in code
    assert "out = " + cell in code


def test_output_shapes_numbers_are_the_same_in_both_languages(shapes_pair):
    cell, ko, en = shapes_pair
    assert ko.dataframe[0].value.equals(en.dataframe[0].value)          # Bidirectional's structures
    assert [m.value for m in ko.metric] == [m.value for m in en.metric]
    shapes = re.compile(r"\(\d+(?:, \d+)*\)")
    assert [shapes.findall(c.value) for c in ko.code] == [shapes.findall(c.value) for c in en.code]
    # Stacking: the same complaint from NumPy (translated once rnn_core's message is) and Keras' own, verbatim.
    keras_code = [c.value for c in ko.code if "expected ndim=3, found ndim=2" in c.value]
    assert ("Keras의 메시지 (원문 그대로):" in [m.value for m in ko.markdown]) == (cell == "GRU")
    if cell == "GRU":
        assert keras_code and keras_code[-1] == [c.value for c in en.code if "ndim=3" in c.value][-1]
        assert [m.value for m in ko.metric] and any(b.startswith(":green-badge[") for b in
                                                    (m.value for m in ko.markdown))


# -- the figure builders ------------------------------------------------------------------------------------

def _figure_words(fig) -> tuple[list[str], list[str]]:
    """(every text of the figure, its English words): layout title, axes, legend, hover, annotations."""
    spec = json.loads(fig.to_json())
    texts = list(_figure_texts(spec))
    texts.append(spec["layout"].get("title", {}).get("text", ""))
    texts += [s.get("label", {}).get("text", "") for s in spec["layout"].get("shapes", [])]
    return texts, [w for t in texts for w in english_words(t, ALLOWED)]


def korean_figures(rng):
    decay = type("Fit", (), {"factor": 0.5, "half_life": 1.0, "r2": 0.99})()
    long = rng.normal(size=(5000, 3))
    return {
        "states_heatmap": figures.states_heatmap(long, "은닉 상태", highlight=3),
        "states_heatmap_probs": figures.states_heatmap(rng.uniform(size=(5, 3)), "확률", quantity="p", signed=False),
        "unit_lines": figures.unit_lines({"NumPy": long, "Keras": long}, [0, 1], "유닛"),
        "unrolled_diagram": figures.unrolled_diagram(9, 3, 4, False, True, True, highlight=1, cell_name="LSTM",
                                                     state_names=("h", "c"), gate_names=("i", "f", "g", "o")),
        "gradient_norms": figures.gradient_norms({"NumPy": np.array([1.0, np.inf, 1e-3]), "Keras": np.ones(3)},
                                                 "기울기", decay=decay, rates={"NumPy": decay}),
        "jacobian_map": figures.jacobian_map(np.arange(4), rng.normal(size=(4, 4)), "모든 스텝"),
        "step_sigmas": figures.step_sigmas(rng.uniform(size=6), 2.0, "모든 스텝"),
        "step_sigmas_gated": figures.step_sigmas(rng.uniform(size=6), None, "모든 스텝"),
        "carry_products": figures.carry_products(np.arange(3), np.array([0.0, -0.1, -0.2]),
                                                 np.array([0.0, -0.05, -0.1]), "망각 게이트 f_t"),
        "contributions": figures.contributions(rng.uniform(size=5000)),
        "parity_bars": figures.parity_bars([("dL/dkernel", 1e-8, 1e-5), ("h_T", 1e-3, 1e-5)]),
    }


def test_every_figure_builder_writes_korean(rng):
    with use_language("ko"):
        built = korean_figures(rng)
    for name, fig in built.items():
        texts, english = _figure_words(fig)
        assert english == [], (name, english, texts)
        assert HANGUL.search(fig.layout.title.text), (name, fig.layout.title.text)
        axes = [fig.layout.xaxis.title.text, fig.layout.yaxis.title.text]
        if name != "unrolled_diagram":                  # the diagram has no axes
            assert any(a and HANGUL.search(a) for a in axes), (name, axes)
    notes = [a.text for a in built["unrolled_diagram"].layout.annotations]
    assert "스텝 0" in "".join(notes) and "상태<br>h<sub>T</sub> (B, 4)<br>c<sub>T</sub> (B, 4)" in notes
    assert any(a.text.startswith("집계됨") for a in built["states_heatmap"].layout.annotations)


def test_the_figure_cache_keeps_one_figure_per_language(rng):
    states = rng.normal(size=(7, 3))
    english = figures.states_heatmap(states, "h", highlight=2)
    with use_language("ko"):
        korean = figures.states_heatmap(states, "h", highlight=2)
        assert figures.states_heatmap(states, "h", highlight=2) is korean       # reused in Korean
    assert korean is not english
    assert english.layout.xaxis.title.text == "time step t" and korean.layout.xaxis.title.text == "타임스텝 t"
    assert figures.states_heatmap(states, "h", highlight=2) is english          # and in English
