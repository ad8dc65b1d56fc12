"""Messages for people: written in English here, shown in the visitor's language by the app.

rnn_core knows nothing of languages (no Streamlit, no session). A message a user may read is a
template with named fields, marked with ``N_`` so that the app's message catalogs (``locales/``)
find it when they are extracted:

    raise SequenceError(N_("The file is {size:.1f} MB; the limit is {limit:.0f} MB."), size=mb, limit=20)

``str(err)`` is the English text. ``err.message`` keeps the template and its fields, so the app can
look the template up in the visitor's catalog and fill in the same fields
(``explorer.i18n.text(err)``). A field may itself be a :class:`Message` (a part chosen at run time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def N_(template: str) -> str:
    """Mark ``template`` for translation; it is returned unchanged (the app translates it when shown)."""
    return template


class Message(str):
    """A template with named fields. It *is* its English text (a ``str``), so code that does not translate
    still shows it; ``render(gettext)`` gives it in another language."""

    template: str
    fields: Mapping[str, Any]

    def __new__(cls, template: str, fields: Mapping[str, Any] | None = None) -> Message:
        fields = dict(fields or {})
        self = super().__new__(cls, _fill(template, fields, _english))
        self.template, self.fields = template, fields
        return self

    def render(self, gettext: Callable[[str], str]) -> str:
        """The template looked up with ``gettext``, its fields filled in (nested messages rendered first)."""
        return _fill(gettext(self.template), self.fields, gettext)

    def __reduce__(self):
        return (Message, (self.template, self.fields))


def _english(template: str) -> str:
    return template


def _fill(text: str, fields: Mapping[str, Any], gettext: Callable[[str], str]) -> str:
    if not fields:
        return text
    return text.format(**{k: v.render(gettext) if isinstance(v, Message) else v for k, v in fields.items()})


class UserError(ValueError):
    """Input a user can fix; the message says why and what to do. ``err.message`` is the :class:`Message`."""

    def __init__(self, template: str, /, **fields: Any) -> None:
        self.message = template if isinstance(template, Message) and not fields else Message(template, fields)
        super().__init__(str(self.message))
