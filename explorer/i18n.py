"""English and Korean: gettext message catalogs and the visitor's language.

Every string a visitor reads goes through ``_()`` (or ``ngettext``), written in English in the code:

    st.caption(_("Computed in {seconds:.2f} s.").format(seconds=dt))

The translations are gettext catalogs, one ``.po`` file per part of the app in
``locales/<lang>/LC_MESSAGES/`` (``locales/README.md`` says how to add a string). Babel reads them
when the server starts (no compiled ``.mo`` files in the repository) and they are merged into one
``gettext.GNUTranslations`` per language. A message without a translation shows in English.

The language is the visitor's: ``st.session_state["lang"]`` ("en" or "ko"), set by the switch in the
sidebar, the link (``?lang=ko``) or, on a first visit without it, the browser's language
(``st.context.locale``). Outside a Streamlit run (figure builders in tests, scripts) it is English,
or whatever ``use_language`` says. Messages from rnn_core (``SequenceError``, ``ModelFileError``, ...)
are English with a template and fields; :func:`text` shows them translated.

URL values never depend on the language: a widget bound to the URL stores the option itself
(``source=typed``), and shows it through a translated label (explorer/url_params.py).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext as _gettext
import io
import numbers
import re
from collections.abc import Iterator
from pathlib import Path

from rnn_core.messages import N_, Message, UserError

from .inert import Inert, inert

__all__ = ["LANGUAGES", "N_", "_", "ngettext", "current_language", "use_language", "text", "translations",
           "browser_language"]

LANGUAGES = {"en": "English", "ko": "한국어"}     # code (the URL's value) -> the language's own name
DEFAULT_LANGUAGE = "en"
LOCALES = Path(__file__).resolve().parents[1] / "locales"
SESSION_KEY = "lang"

_override: contextvars.ContextVar[str | None] = contextvars.ContextVar("rnn_explorer_language", default=None)


@functools.cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The merged catalog of ``lang`` (every ``.po`` file of it), read once per process."""
    if lang == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    merged = Catalog(locale=lang)
    for po in sorted((LOCALES / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            for message in read_po(f, locale=lang):
                if message.id and message.string and not message.fuzzy:
                    merged[message.id] = message
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def current_language() -> str:
    """The visitor's language code: the session's choice in a Streamlit run, else English (or use_language's)."""
    forced = _override.get()
    if forced is not None:
        return forced
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return DEFAULT_LANGUAGE
    lang = ctx.session_state[SESSION_KEY] if SESSION_KEY in ctx.session_state else DEFAULT_LANGUAGE  # noqa: SIM401 - SafeSessionState has no .get()
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@contextlib.contextmanager
def use_language(lang: str) -> Iterator[None]:
    """Within the block, ``_()`` translates into ``lang`` whatever the session says (tests, scripts)."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {sorted(LANGUAGES)}, got {lang!r}.")
    token = _override.set(lang)
    try:
        yield
    finally:
        _override.reset(token)


class Text(str):
    """A translated template. ``.format()`` fills it in and then picks each Korean particle written in both
    forms, ``을(를)``, ``이(가)``, ``은(는)``, ``과(와)``, ``(으)로``, for the word that ended up before it
    (see :func:`korean_particles`): ``{name}을(를)`` reads 배율을 or 모델를 -> 모델을 as the field requires."""

    def format(self, *args, **kwargs) -> str:
        return korean_particles(str.format(self, *args, **kwargs))


def _(message: str) -> Text:
    """``message`` in the visitor's language (English when the catalog has no translation)."""
    return Text(korean_particles(translations(current_language()).gettext(message)))


def ngettext(singular: str, plural: str, n: int) -> Text:
    """The singular or plural form for ``n``, in the visitor's language (Korean has one form)."""
    return Text(korean_particles(translations(current_language()).ngettext(singular, plural, n)))


# -- Korean particles after a word known only at run time ----------------------------------------------------

# (with a final consonant, without); 으로/로 also takes 로 after ㄹ.
_PARTICLES = {"을(를)": ("을", "를"), "이(가)": ("이", "가"), "은(는)": ("은", "는"), "과(와)": ("과", "와"),
              "와(과)": ("과", "와"), "(으)로": ("으로", "로")}
# Between the word and its particle: formatting marks, quotes, and the escapes and joiners of explorer.inert.
_PARTICLE_RE = re.compile(r"([0-9A-Za-z\uac00-\ud7a3])([*`'\")\]_\\\u2060]*)(" + "|".join(map(re.escape, _PARTICLES))
                          + ")")
# How a digit is read: whether its Korean name ends in a consonant (일, 삼, 육, 칠, 팔, 영), and in ㄹ.
_DIGIT_FINAL = {"0": "o", "1": "l", "2": "", "3": "m", "4": "", "5": "", "6": "k", "7": "l", "8": "l", "9": ""}


def _final_consonant(ch: str) -> str:
    """'' for none, 'l' for ㄹ, another letter for any other final consonant of how ``ch`` is read."""
    if "\uac00" <= ch <= "\ud7a3":
        jong = (ord(ch) - 0xAC00) % 28
        return "" if jong == 0 else ("l" if jong == 8 else "x")
    if ch.isdigit():
        return _DIGIT_FINAL[ch]
    # Latin: code names are read letter by letter (LSTM 엘에스티엠, RNN 알엔엔); L, M, N end in a consonant.
    return {"l": "l", "m": "m", "n": "n", "r": "l"}.get(ch.lower(), "")


def korean_particles(text: str) -> str:
    """Each particle written in both forms, resolved for the character before it (formatting marks skipped):
    "배율*을(를)" -> "배율*을", "f_t이(가)" -> "f_t가", "LSTM은(는)" -> "LSTM은", "4개(으)로" -> "4개로"."""
    if "(" not in text:
        return text

    def pick(m: re.Match) -> str:
        final = _final_consonant(m.group(1))
        with_consonant, without = _PARTICLES[m.group(3)]
        if m.group(3) == "(으)로":
            word = "로" if final in ("", "l") else "으로"
        else:
            word = with_consonant if final else without
        return m.group(1) + m.group(2) + word

    return _PARTICLE_RE.sub(pick, text)


# A field of a Message is data (a file, column or layer name, a value from the URL, a number): shown as at most
# this many characters; an exception's own text (not a Message) as at most EXCEPTION_CHARS.
FIELD_CHARS = 600
EXCEPTION_CHARS = 2000


def text(value: UserError | Message | BaseException | str, markdown: bool = True) -> str:
    """What to show for an error or message from rnn_core: its template translated, its fields filled in.

    Every field that is not a number or a Message is data (a file, column or layer name, a value from the URL):
    with ``markdown`` (the default: Streamlit renders alerts, captions, labels and Markdown as Markdown) it is
    written inert (explorer.inert), so the visitor sees its literal text; the template's own Markdown stays.
    So is the text of an exception that is not a UserError. ``markdown=False`` for where nothing is interpreted
    (``st.code``) or for a Plotly figure (which takes explorer.inert.plotly_inert for data, not these escapes).
    """
    if isinstance(value, UserError):
        value = value.message
    if isinstance(value, Message):
        return _render(value, markdown)
    if isinstance(value, str):
        return str(_(value))
    return inert(value, EXCEPTION_CHARS) if markdown else str(value)


def _render(message: Message, markdown: bool) -> str:
    """Message.render(_) with each data field written inert when ``markdown`` (nested messages rendered first)."""
    template = _(message.template)
    if not message.fields:
        return str(template)
    fields = {}
    for key, value in message.fields.items():
        if isinstance(value, Message):
            fields[key] = _render(value, markdown)
        elif markdown and not isinstance(value, numbers.Number):
            fields[key] = Inert(value, FIELD_CHARS)
        else:
            fields[key] = value
    return template.format(**fields)


def browser_language(locale: str | None) -> str:
    """The app's language for a browser locale such as "ko-KR" (Streamlit's ``st.context.locale``)."""
    code = (locale or "").replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE
