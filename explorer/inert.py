"""Text that comes from a visitor, shown as the literal text it is: never as Markdown, links, images or icons.

File names, column, sheet and array names, ids, a ``.keras`` model's and its layers' names, typed text and URL
values are data. Streamlit renders every label, caption, message and Markdown element as (GitHub-flavoured)
Markdown with its own additions, and Plotly renders a subset of HTML in every text of a chart. So a column named
``![px](http://host/x.png)`` would make each visitor's browser fetch that address, ``[a](javascript:...)`` would be a
link, ``$x^2$`` a formula and ``:material/bug_report:`` an icon. Plain Python, no Streamlit:

* :func:`inert` for anything Streamlit renders as Markdown (``st.markdown``, captions, ``st.error`` and the other
  alerts, widget labels and help, expander and tab labels, metric labels, badges, radio and segmented-control
  options). ``_("... {name} ...").format(name=inert(name))``, or ``.format(name=Inert(name))`` where the
  template says ``{name!r}``. ``explorer.i18n.text`` escapes every field of a Message this way.
* :func:`inert_code` for a value shown inside a code span: the whole span, with a fence no backtick closes.
* :func:`plotly_inert` for a text in a Plotly figure (titles, axis titles, hover templates, annotations).
* :func:`clean` for elements that never interpret their text (``st.selectbox`` and ``st.multiselect`` options,
  ``st.dataframe``, ``st.code``, ``st.text``): only the invisible characters and the length are dealt with.

The rules, each checked in tests/test_inert_text.py and in the browser (tests/test_browser_inert.py):

1. Invisible and direction characters are removed: controls (C0, C1), Unicode format characters (category Cf:
   the right-to-left embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, the marks U+200E/U+200F,
   zero-width space U+200B, word joiner U+2060, BOM U+FEFF, tag characters, ...) except the zero-width joiner and
   non-joiner (U+200D, U+200C), which emoji sequences and some scripts need. Line breaks and tabs become one space
   (a name is one line). Hangul and every other visible character stay as they are.
2. Longer than ``limit`` characters (200 by default): the start, an ellipsis and the last 20 characters (so a
   file's extension stays visible).
3. Markdown: ``\\ ` * _ [ ] < > $ | ~ : & #`` are backslash-escaped wherever they are, and so is the mark of
   a list item (``- a``, ``+ a``, ``1. a``, ``1) a``) or of a heading underline or rule (``===``, ``---``) at the
   start (leading spaces are dropped: Markdown drops them, or reads four as code). The other ASCII punctuation
   means nothing in running text and is left alone, so the Markdown source stays readable. ``$`` keeps
   Streamlit's LaTeX out, ``:`` its ``:color[...]`` directives.
4. Streamlit also rewrites text *after* Markdown has read it, where no escape reaches: shortcodes such as
   ``:streamlit:`` (a logo image), ``:material_bug_report:`` (an icon) and emoji ``:smile:``; bare addresses
   (``http://...``, ``www.``, ``name@host``: links); and typographic arrows (``->`` as →, ``--`` as —). An invisible
   WORD JOINER (U+2060) goes after such a ``:``, ``@`` or ``www`` and between the two characters of a free-standing
   arrow, which breaks each pattern; the text reads the same (its innerText has the joiners: compare with them
   removed). Rule 1 removes any joiner the visitor's own text had, so each one shown is one of these.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["MAX_CHARS", "Inert", "inert", "inert_code", "plotly_inert", "clean"]

MAX_CHARS = 200          # a name is shown up to this many characters (an ellipsis marks the cut)
TAIL_CHARS = 20          # the end kept after the ellipsis (a file's extension)
ELLIPSIS = "…"
WORD_JOINER = "\u2060"

_KEEP_FORMAT = {"\u200c", "\u200d"}                  # zero-width non-joiner and joiner: part of real text
_LINE_BREAKS = re.compile(r"[ \t]*[\t\n\r\v\f\x85\u2028\u2029][\s]*")
_MARKDOWN = re.compile(r"([\\`*_\[\]<>$|~:&#])")
# At the start of a line: a list item ("- a", "+ a", "1. a", "1) a"), or a heading underline / rule ("===", "---").
_LEADING = re.compile(r"^(?:[-+](?=\s|$)|\d{1,9}[.)](?=\s|$)|[-=](?=[-=\s]*$))")
# Patterns Streamlit applies to the text after parsing (Markdown escapes do not reach them).
_AFTER_PARSE = [
    (re.compile(r":(?=[A-Za-z0-9_+\-/])"), ":" + WORD_JOINER),            # :smile: :streamlit: :material_x: http://
    (re.compile(r"(?i)(www)(?=\.)"), r"\1" + WORD_JOINER),                 # www.example.com
    (re.compile(r"@(?=[A-Za-z0-9_\-.])"), "@" + WORD_JOINER),              # name@example.com
    (re.compile(r"(?:(?<=\s)|^)([<>~-])(?=(?:->|-|>|=)(?:\s|$))"), r"\1" + WORD_JOINER),   # <-> -> <- -- >= <= ~=
]


def clean(text: Any, limit: int = MAX_CHARS) -> str:
    """``text`` as one line of visible characters, at most ``limit`` long (rules 1 and 2): for plain-text elements."""
    s = "".join(ch for ch in _LINE_BREAKS.sub(" ", str(text)) if ch in _KEEP_FORMAT or ch == " "
                or unicodedata.category(ch) not in ("Cc", "Cf"))
    if len(s) > limit:
        tail = min(TAIL_CHARS, max(0, limit // 4))
        s = s[:limit - tail - 1] + ELLIPSIS + (s[-tail:] if tail else "")
    return s


def inert(text: Any, limit: int = MAX_CHARS) -> str:
    """``text`` written so that Streamlit's Markdown shows exactly it (rules 1 to 4)."""
    s = clean(text, limit).lstrip(" ")        # leading spaces: dropped by Markdown, or an indented code block
    for pattern, replacement in _AFTER_PARSE:
        s = pattern.sub(replacement, s)
    s = _MARKDOWN.sub(r"\\\1", s)
    if lead := _LEADING.match(s):             # "\-", "\+", "\=", "1\.": no list item or heading at a line's start
        s = s[:lead.end() - 1] + "\\" + s[lead.end() - 1:]
    return s


def inert_code(text: Any, limit: int = MAX_CHARS) -> str:
    """A Markdown code span showing ``text`` (backticks included): the fence is longer than any run of backticks
    in the text, so nothing in it ends the span. Inside a code span escapes show as backslashes, so none is added;
    only ``:material/`` (which Streamlit rewrites in the source, code spans included) is broken by a joiner."""
    s = clean(text, limit).replace(":material/", ":" + WORD_JOINER + "material/")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", s)), default=0) + 1)
    if not s:
        s = " "                      # an empty span would be two backticks
    elif s.strip(" ") and (s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" "))):
        s = f" {s} "                 # CommonMark strips one space from each side of such a span
    return f"{fence}{s}{fence}"


def plotly_inert(text: Any, limit: int = MAX_CHARS) -> str:
    """``text`` for a Plotly text (title, axis title, hover template, annotation): its HTML subset and the
    ``%{...}`` of hover templates are written as character references, which Plotly shows as the characters."""
    s = clean(text, limit)
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("%", "&#37;")
            .replace("$", "&#36;"))


class Inert:
    """A value that formats as inert Markdown, whichever way a template asks for it: ``{name}``, ``{name!r}``
    (the quoted repr, then escaped), ``{name!s}`` or with a format spec. For ``str.format`` fields."""

    __slots__ = ("value", "limit")

    def __init__(self, value: Any, limit: int = MAX_CHARS) -> None:
        self.value, self.limit = value, limit

    def __format__(self, spec: str) -> str:
        return inert(format(self.value, spec), self.limit)

    def __repr__(self) -> str:
        return inert(repr(self.value), self.limit)

    def __str__(self) -> str:
        return inert(str(self.value), self.limit)
