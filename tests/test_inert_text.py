"""A visitor's text is shown as the literal text it is (issue #21): never Markdown, a link, an image, a formula or
an icon. Unit tests of explorer/inert.py (rendered with markdown-it-py, a CommonMark renderer, plus the patterns
Streamlit's front end applies after parsing), of i18n.text's escaped fields, and AppTest checks per place: an
uploaded table's file, column and label names, a refused file, typed numbers and values from the URL, a .keras
model's file, model and layer names. tests/test_browser_inert.py checks the same in the real front end.
"""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from markdown_it import MarkdownIt

from explorer import i18n
from explorer.inert import MAX_CHARS, WORD_JOINER, Inert, clean, inert, inert_code, plotly_inert
from rnn_core.messages import Message, UserError

LONG = "n" * 2500 + "ame" * 833 + ".csv"          # 5,000 characters
RTL = "invoice\u202egnp.exe"                        # shows as "invoiceexe.png" with the override
PAYLOADS = ["![px](http://127.0.0.1:9/x.png)", "[click](javascript:alert(1))", "$x^2$", ":material/bug_report:",
            ":red[red]", "<img src=x onerror=alert(1)>", "`code`", "**bold**", "# heading", LONG, RTL, "은닉 상태"]
# Streamlit's own rewrites, which escapes do not reach (explorer/inert.py, rule 4).
MORE = [":streamlit:", ":material_bug_report:", ":smile:", ":+1:", "www.example.com", "mail@example.com",
        "http://127.0.0.1:9/x.png", "a -> b <- c <-> d -- e >= f <= g ~= h", "- item", "+ item", "1. item", "2) item",
        "===", "---", "> quote", "&copy; &#65;", "~~gone~~", "a | b", "x\\*y", "    code", "line\nbreak\r\n# h",
        "\u200bzero\u2060width\ufeff", "a_b_c __init__", "[ref]: http://127.0.0.1:9/r.png", "<http://127.0.0.1:9/a>",
        "```fence```", ":blue-badge[b]", ":small[s]", "$$x$$", "ok 😀 👨\u200d👩\u200d👧"]

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
MARKUP = {"link_open", "image", "em_open", "strong_open", "code_inline", "heading_open", "html_inline", "html_block",
          "s_open", "bullet_list_open", "ordered_list_open", "blockquote_open", "hr", "code_block", "fence",
          "table_open", "softbreak", "hardbreak"}
# What Streamlit's front end (StreamlitMarkdown) does to a text node after parsing, and to the source before it.
STREAMLIT_TEXT = [re.compile(r":[\w+-][\w_+-]*:"),                          # emoji shortcodes (remark-emoji)
                  re.compile(r":material_\w+:"), re.compile(r":streamlit:"),  # icons, the logo image
                  re.compile(r"(?i)(https?://|www\.)"), re.compile(r"[-.\w+]+@[-\w]+(\.[-\w]+)+"),   # autolinks
                  re.compile(r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)")]     # typographic arrows and dashes
SOURCE_MATH = re.compile(r"(?<!\$)\$(?![\s$])[^$\n]*?[^\s$]\$(?!\d)|\$\$")   # Streamlit's LaTeX, escapes removed


def literal(payload: str, limit: int = MAX_CHARS) -> str:
    """What a visitor should read for ``payload``: the payload itself, as one line without invisible characters
    (explorer/inert.py rules 1 and 2)."""
    return clean(payload, limit).lstrip(" ")


def rendered(source: str) -> tuple[str, set[str]]:
    """(the text a reader sees, the kinds of Markdown token found) for a Markdown source, word joiners removed."""
    tokens = MD.parse(source)
    kinds = {t.type for t in tokens}
    text = []
    for t in tokens:
        for child in t.children or []:
            kinds.add(child.type)
            if child.type in ("text", "code_inline"):
                text.append(child.content)
    return "".join(text).replace(WORD_JOINER, ""), kinds


def streamlit_safe(source: str) -> None:
    """The source holds nothing Streamlit's front end would turn into a formula, icon, image or link."""
    assert ":material/" not in source                               # replaced in the source by :material_
    unescaped = re.sub(r"\\[\\$`]", "_", source)                    # as Streamlit's math detection does
    assert not SOURCE_MATH.search(unescaped), source
    text, _kinds = rendered(source)
    with_joiners = "".join(c.content for t in MD.parse(source) for c in (t.children or []) if c.type == "text")
    for pattern in STREAMLIT_TEXT:
        assert not pattern.search(with_joiners), (pattern.pattern, with_joiners)


@pytest.mark.parametrize("payload", PAYLOADS + MORE)
def test_inert_text_renders_as_the_literal_text(payload):
    source = inert(payload)
    text, kinds = rendered(source)
    assert not kinds & MARKUP, (payload, source, kinds & MARKUP)
    assert text == literal(payload), (payload, source)
    streamlit_safe(source)


def test_the_rules_for_length_direction_marks_and_hangul():
    assert inert("은닉 상태") == "은닉 상태"                       # Hangul untouched
    assert inert(RTL) == "invoicegnp.exe" and clean("a\u2066b\u2069c\u200fd") == "abcd"
    assert clean("emoji 👨\u200d👩\u200d👧") == "emoji 👨\u200d👩\u200d👧"        # joiners inside an emoji stay
    shown = clean(LONG)
    assert len(shown) == MAX_CHARS and shown.startswith("nnnn") and shown.endswith(LONG[-20:]) and "…" in shown
    assert rendered(inert(LONG))[0] == shown
    assert clean("a\nb\r\nc\td") == "a b c d" and clean(42) == "42"
    assert inert("wave.csv") == "wave.csv" and inert("4.6 GiB") == "4.6 GiB"        # plain names stay readable
    assert inert("1. a") == "1\\. a" and inert("1.5") == "1.5" and inert("-5") == "-5"


@pytest.mark.parametrize("payload", PAYLOADS + MORE + ["``a`", "` lead", "trail `", " ", "   ", "``"])
def test_a_code_span_holds_any_text(payload):
    source = "see " + inert_code(payload) + " here"
    tokens = [c for t in MD.parse(source) for c in (t.children or [])]
    codes = [c.content for c in tokens if c.type == "code_inline"]
    assert len(codes) == 1 and codes[0].replace(WORD_JOINER, "") == clean(payload), (source, codes)
    assert ":material/" not in source


@pytest.mark.parametrize("payload", PAYLOADS + MORE + ["%{y} 100%", "<b>bold</b> &amp;"])
def test_plotly_text_has_no_html_and_no_template_fields(payload):
    shown = plotly_inert(payload)
    assert not re.search(r"[<>$]|%\{", shown), shown
    assert html.unescape(shown) == clean(payload)               # Plotly converts the references back


def test_message_fields_are_escaped_and_the_template_kept():
    payload = "![px](http://127.0.0.1:9/x.png)"
    msg = Message("**{name}** was not loaded: {reason}",
                  {"name": payload, "reason": Message("'{value}' is not a number.", {"value": "$x^2$"})})
    shown = i18n.text(msg)
    assert shown.startswith("**" + inert(payload) + "**") and inert("$x^2$") in shown
    text, kinds = rendered(shown)
    assert "strong_open" in kinds and "link_open" not in kinds and "image" not in kinds
    assert payload in text and "$x^2$" in text
    assert i18n.text(msg, markdown=False) == str(msg)          # for st.code and charts: as it is
    err = UserError("Layer {name!r} has {n:,} units.", name="a_b [c](d)", n=1234567)
    assert i18n.text(err) == "Layer " + inert("'a_b [c](d)'") + " has 1,234,567 units."
    assert i18n.text(ValueError("<img src=x>")) == inert("<img src=x>")   # an exception's own text is data too
    assert "{:.2}|{!r}|{!s}".format(Inert("*ab"), Inert("*ab"), Inert("*ab")) == "\\*a|'\\*ab'|\\*ab"


def test_korean_particles_follow_an_escaped_name():
    with i18n.use_language("ko"):
        assert i18n.korean_particles("a\\_b을(를)") == "a\\_b를"
        assert i18n.korean_particles("은닉 상태\\*을(를)") == "은닉 상태\\*를"


# -- in the app (AppTest) ------------------------------------------------------------------------------------

FILE = "[a](http://127.0.0.1:9/f) :red[red] \u202egnp.csv"
TIME = "<b>when</b>"
FEATURES = PAYLOADS[:4] + ["**bold**", "은닉 상태", LONG]
LABEL = "# heading"


def payload_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([TIME, *FEATURES, LABEL])
    for i in range(12):
        writer.writerow([f"2024-01-{i + 1:02d}", *[(i * (k + 1)) % 7 / 3 for k in range(len(FEATURES))], "ab"[i % 2]])
    return out.getvalue().encode()


def markdown_sources(at) -> list[str]:
    """Every text of the run that Streamlit renders as Markdown: elements, alerts, and the labels and help of
    widgets and expanders."""
    out = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader"):
        out += [e.value for e in at.get(kind)]
    for kind in ("selectbox", "multiselect", "radio", "button_group", "text_area", "text_input", "number_input",
                 "slider", "select_slider", "toggle", "checkbox", "button", "file_uploader", "download_button",
                 "expander", "metric", "tab"):
        for e in at.get(kind):
            out += [str(getattr(e, "label", "") or ""), str(getattr(e.proto, "help", "") or "")]
    return [s for s in out if s]


def assert_nothing_live(at) -> None:
    """No Markdown text of the run makes a link or image to the payloads' addresses, a formula or an icon."""
    for source in markdown_sources(at):
        for token in (c for t in MD.parse(source) for c in (t.children or [])):
            if token.type in ("link_open", "image"):
                target = str(token.attrs.get("href", token.attrs.get("src", "")))
                assert "127.0.0.1:9" not in target and not target.startswith("javascript:"), source
        assert ":material/bug_report:" not in source and "$x^2$" not in source, source


@pytest.mark.keras
def test_an_uploaded_tables_names_are_shown_as_text():
    from test_app_pages import figure_titled, open_page, texts
    from test_app_upload import upload

    at = open_page("hidden", keras=False, source="upload")
    upload(at, FILE, payload_csv())
    shown = texts(at)
    assert inert(FILE) in shown and "\u202e" not in shown
    for name in FEATURES:
        assert inert(name) in shown, name
    assert LONG not in shown and inert(LONG) in shown
    caption = next(c.value for c in at.caption if "Input:" in c.value)
    text, kinds = rendered(caption)
    assert not kinds & MARKUP and literal(FILE) in text and all(literal(n) in text for n in FEATURES)
    # Pickers: options are plain text (one line, bounded), the values the names themselves.
    picker = at.multiselect(key="upload_columns")
    assert picker.value == FEATURES and list(picker.options) == [clean(n) for n in FEATURES]
    assert clean(TIME) in at.selectbox(key="upload_time").options and at.selectbox(key="upload_time").value == TIME
    # The chart's time axis is named by the column: Plotly shows its HTML as text.
    fig = figure_titled(at, "h_t of sequence 0 (NumPy)")
    assert fig["layout"]["xaxis"]["title"]["text"] == plotly_inert(TIME) == "&lt;b&gt;when&lt;/b&gt;"
    assert "<b>when" not in fig["data"][0]["hovertemplate"] and plotly_inert(TIME) in fig["data"][0]["hovertemplate"]
    at.selectbox(key="upload_label").set_value(LABEL).run()
    assert "; labels from " + inert(repr(LABEL)) + " (2 classes)" in texts(at)
    assert_nothing_live(at)


@pytest.mark.keras
def test_a_refused_file_and_typed_numbers_say_so_as_text():
    from test_app_pages import open_page
    from test_app_upload import upload

    at = open_page("hidden", keras=False, source="upload")
    value = "![v](http://127.0.0.1:9/v.png)"
    upload(at, FILE, f"1,2\n3,{value}\n".encode())
    error = next(e.value for e in at.error if "was not loaded" in e.value)
    assert error.startswith("**" + inert(FILE) + "** was not loaded") and inert(value) in error and value not in error
    assert_nothing_live(at)
    typed = open_page("hidden", keras=False, query={"source": "typed", "typed": "1, " + PAYLOADS[0]})
    error = next(e.value for e in typed.error)
    assert inert(PAYLOADS[0])[:24] in error and "![px](" not in error       # rnn_core shortens the value
    assert_nothing_live(typed)


@pytest.mark.keras
def test_a_value_from_the_url_is_shown_in_a_code_span_it_cannot_leave():
    from test_app_budget import open_link

    value = "`" + PAYLOADS[0] + "` :material/bug_report:"
    at = open_link("hidden-states", {"keras": "false", "units": value})
    warning = at.warning[0].value
    assert inert_code("units=" + value[:40]) in warning
    codes = [c.content for t in MD.parse(warning) for c in (t.children or []) if c.type == "code_inline"]
    assert "units=" + value[:40] in [c.replace(WORD_JOINER, "") for c in codes]
    assert_nothing_live(at)


def make_named_model(folder):
    """A .keras model whose model and layer names hold what rnn_core's name rule lets through (letters, digits,
    '_', '-', '.', ':' and spaces): shortcodes, emphasis, an address, Hangul; and one whose name it refuses.
    Returns (model, layer name, its file's bytes, the refused file's bytes)."""
    import keras

    keras.utils.set_random_seed(2)
    layer = "x :material_bug_report: __b__ :smile: 은닉 상태"
    model = keras.Sequential([keras.Input((None, 2)), keras.layers.SimpleRNN(3, return_sequences=True, name=layer)],
                             name="m :streamlit: __b__ -- www.example.com")
    model.save(folder / "named.keras")
    refused = keras.Sequential([keras.Input((None, 2)), keras.layers.SimpleRNN(3, name="ok")],
                               name="![px](http:\\\\127.0.0.1:9\\x.png) $x^2$ :red[r]")
    refused.save(folder / "refused.keras")
    return model, layer, (folder / "named.keras").read_bytes(), (folder / "refused.keras").read_bytes()


@pytest.fixture(scope="module")
def named_model(tmp_path_factory):
    return make_named_model(tmp_path_factory.mktemp("named_model"))


@pytest.mark.keras
def test_a_models_file_model_and_layer_names_are_shown_as_text(named_model):
    from test_app_model_upload import _open
    from test_app_pages import texts

    model, layer, data, refused = named_model
    name = "![px](http://127.0.0.1:9/x.png) **m**.keras"
    at = _open("hidden")
    at.file_uploader(key="model_file").upload(name, data).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    summary = next(m.value for m in at.sidebar.markdown if "parameters" in m.value)
    assert summary.startswith("**" + inert(name) + "**: Sequential model *" + inert(model.name) + "*")
    assert list(at.selectbox(key="model_layer").options) == [clean(layer)]
    assert_nothing_live(at)
    at.button(key="use_model_layer").click().run()
    assert not at.exception
    # The sidebar's sine has 1 feature, the layer reads 2: the message names the layer and the file, as text.
    error = next(e.value for e in at.error if "feature(s) per step" in e.value)
    assert inert(layer) in error and inert(name) in error
    assert inert(layer) in texts(at) and ":material_bug_report:" not in texts(at)
    assert_nothing_live(at)
    at.file_uploader(key="model_file").upload("refused :smile:.keras", refused).run()
    error = next(e.value for e in at.error if "was not loaded" in e.value)
    assert inert("refused :smile:.keras") in error and "!\\[px\\]" in error and "$x^2$" not in error
    assert_nothing_live(at)
