"""The Korean catalogs against the code: nothing missing, nothing stale, fields and code kept, terms consistent.

Message ids are extracted from the code with Babel (``_()``, ``N_()``, ``ngettext()``), as
``pybabel extract`` would (locales/README.md). Each test names what to fix.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from i18n_support import ROOT, catalog, catalog_files, code_messages, code_spans, fields, source_files

from explorer import i18n
from rnn_core.errors import SequenceError
from rnn_core.messages import N_, Message

USER_ERRORS = {"SequenceError", "ModelFileError", "TargetError", "BudgetError", "UserError"}


@pytest.fixture(scope="module")
def in_code() -> dict[str, list[str]]:
    return code_messages()


@pytest.fixture(scope="module")
def korean() -> dict[str, list[tuple[str, str, bool]]]:
    return catalog("ko")


def test_there_are_korean_catalogs():
    assert catalog_files("ko"), "locales/ko/LC_MESSAGES/*.po: no catalog"


def test_every_message_in_the_code_has_a_korean_translation(in_code, korean):
    missing = {msgid: where[:2] for msgid, where in in_code.items()
               if not any(s.strip() and not fuzzy for s, _f, fuzzy in korean.get(msgid, []))}
    assert not missing, f"{len(missing)} messages have no Korean translation (add them to a .po file):\n" + "\n".join(
        f"  {where}: {msgid!r}" for msgid, where in list(missing.items())[:60])


def test_no_stale_translations(in_code, korean):
    stale = {msgid: [f for _s, f, _z in entries] for msgid, entries in korean.items() if msgid not in in_code}
    assert not stale, f"{len(stale)} translations are for messages no longer in the code (remove them):\n" + "\n".join(
        f"  {files}: {msgid!r}" for msgid, files in list(stale.items())[:60])


def test_no_fuzzy_or_empty_entries(korean):
    bad = [(msgid, f) for msgid, entries in korean.items() for s, f, fuzzy in entries if fuzzy or not s.strip()]
    assert not bad, "fuzzy or empty entries (translate and remove the fuzzy flag):\n" + "\n".join(
        f"  {f}: {m!r}" for m, f in bad[:60])


def test_one_translation_per_message(korean):
    conflicts = {m: entries for m, entries in korean.items() if len({s for s, _f, _z in entries}) > 1}
    assert not conflicts, "the same message is translated differently in two files:\n" + "\n".join(
        f"  {m!r}: {entries}" for m, entries in list(conflicts.items())[:30])


def test_translations_keep_every_field_and_code_span(korean):
    broken = []
    for msgid, entries in korean.items():
        for s, f, _z in entries:
            if not s:
                continue
            if fields(msgid) != fields(s):
                broken.append(f"  {f}: {msgid!r}: fields {fields(msgid)} != {fields(s)}")
            if code_spans(msgid) != code_spans(s):
                broken.append(f"  {f}: {msgid!r}: code {code_spans(msgid)} != {code_spans(s)}")
    assert not broken, "a translation must keep {fields} (with their format) and `code` exactly:\n" + "\n".join(
        broken[:60])


def _glossary() -> list[tuple[str, str]]:
    """(English term, Korean term) for the glossary's rows marked checked."""
    rows = []
    for line in (ROOT / "locales" / "ko" / "GLOSSARY.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[2] == "**checked**":
            rows.append((cells[0], cells[1]))
    return rows


def test_glossary_terms_are_used_consistently(korean):
    terms = _glossary()
    assert len(terms) >= 10
    wrong = []
    for msgid, entries in korean.items():
        prose = re.sub(r"`[^`]*`|\$[^$]*\$", " ", msgid)
        for english, hangul in terms:
            if re.search(rf"(?<![\w-]){re.escape(english)}(s|es)?(?![\w-])", prose, re.I):
                for s, f, _z in entries:
                    if s and hangul not in s:
                        wrong.append(f"  {f}: {msgid!r} -> {s!r}: '{english}' should read '{hangul}'")
    assert not wrong, "locales/ko/GLOSSARY.md's terms:\n" + "\n".join(wrong[:60])


# -- how messages are written in the code -----------------------------------------------------------------

def _calls(tree, names):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
            yield node


def test_marked_messages_are_plain_literals():
    """_(f"...") or _("a" + b) would look up a text no catalog has: fields go in {braces}, filled by .format()."""
    bad = []
    for path in source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _calls(tree, {"_", "N_", "ngettext"}):
            for arg in call.args[:2 if call.func.id == "ngettext" else 1]:
                if isinstance(arg, (ast.JoinedStr, ast.BinOp)) or (
                        isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
                        and arg.func.attr == "format"):
                    bad.append(f"  {path.relative_to(ROOT)}:{call.lineno}")
    assert not bad, "a marked message must be a literal (or a name holding one):\n" + "\n".join(bad)


def test_rnn_core_raises_user_errors_with_templates():
    """rnn_core's user-facing errors are N_() templates with fields, so the app can translate them."""
    bad = []
    for path in source_files(["rnn_core"]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in USER_ERRORS or not node.exc.args:
                continue
            first = node.exc.args[0]
            ok = (isinstance(first, ast.Call) and isinstance(first.func, ast.Name)
                  and first.func.id in {"N_", "Message"}
                  ) or isinstance(first, ast.Name)
            if not ok:
                bad.append(f"  {path.relative_to(ROOT)}:{node.lineno}: raise {name}({ast.unparse(first)[:60]}...)")
    assert not bad, "raise these with N_(\"... {field} ...\"), field=value:\n" + "\n".join(bad)


# -- the runtime ------------------------------------------------------------------------------------------

def test_korean_is_used_only_where_asked():
    assert i18n._("Home") == "Home"                       # no Streamlit run: English
    with i18n.use_language("ko"):
        assert i18n._("Home") != "Home"
        assert re.search("[가-힣]", i18n._("Home"))
    assert i18n._("Home") == "Home"
    with pytest.raises(ValueError, match="lang must be one of"), i18n.use_language("fr"):
        pass


def test_an_error_from_rnn_core_is_shown_translated_with_its_fields():
    template = next(m for m in code_messages(["rnn_core/inputs/loading.py"]) if "{" in m)
    fields_of = {name for _lit, name, _s, _c in __import__("string").Formatter().parse(template) if name}
    err = SequenceError(template, **{name: 7 for name in fields_of})
    assert i18n.text(err) == str(err)                     # English outside a Korean session
    with i18n.use_language("ko"):
        shown = i18n.text(err)
    assert shown != str(err) and re.search("[가-힣]", shown) and "7" in shown


def test_messages_nest_and_unknown_text_falls_back_to_english():
    msg = Message(N_("Home"), {})
    with i18n.use_language("ko"):
        assert i18n.text(msg) == i18n._("Home")
        assert i18n._("a sentence nobody translated") == "a sentence nobody translated"
    assert str(SequenceError("no {fields} here")) == "no {fields} here"


@pytest.mark.parametrize("locale, lang", [("ko-KR", "ko"), ("ko", "ko"), ("ko_KR", "ko"), ("en-US", "en"),
                                          ("fr-FR", "en"), (None, "en"), ("", "en")])
def test_first_visit_follows_the_browser_language(locale, lang):
    assert i18n.browser_language(locale) == lang


def test_the_catalog_is_read_once_per_process():
    assert i18n.translations("ko") is i18n.translations("ko")
    assert Path(i18n.LOCALES).is_dir()


@pytest.mark.parametrize("written, read", [
    # after a consonant
    ("사이드바의 *순환 가중치 배율*을(를) 움직이세요", "사이드바의 *순환 가중치 배율*을 움직이세요"),
    ("망각 게이트 f_t이(가) 곱해집니다", "망각 게이트 f_t가 곱해집니다"),                       # t: 티
    ("모델을(를)", "모델을"), ("층이(가)", "층이"), ("셀은(는)", "셀은"), ("배치과(와)", "배치와"),
    ("LSTM은(는)", "LSTM은"), ("GRU은(는)", "GRU는"), ("SimpleRNN이(가)", "SimpleRNN이"),   # read letter by letter
    ("80,000(으)로", "80,000으로"), ("파일(으)로", "파일로"), ("4(으)로", "4로"), ("12(으)로", "12로"),
    ("6(으)로", "6으로"), ("`h`을(를)", "`h`를"), ("`U`을(를)", "`U`를"),
    ("{field}을(를)", "{field}을(를)"),      # not filled in yet
    ("plain (text) without particles", "plain (text) without particles"),
])
def test_korean_particles_follow_the_word_before_them(written, read):
    assert i18n.korean_particles(written) == read


def test_filled_in_templates_get_their_particles():
    """{field}을(를) in a translation reads right once the field is known: .format() on what _() returns."""
    text = i18n.Text("{what}을(를) 고르세요. {n}개(으)로 줄이세요.")
    assert text.format(what="모델", n=3) == "모델을 고르세요. 3개로 줄이세요."
    assert text.format(what="시퀀스", n=10) == "시퀀스를 고르세요. 10개로 줄이세요."
    assert str(Message("{what}이(가) 없습니다.", {"what": "파일"}).render(i18n._)) == "파일이 없습니다."
