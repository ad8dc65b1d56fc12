"""Small helpers for messages made of parts chosen at run time (each part translated on its own).

A list of parts that are themselves messages (e.g. ``'date' (time)``, where the kind is a word the visitor
reads) is joined into one :class:`~rnn_core.messages.Message` whose template only places the parts: the
template is not a sentence, so no catalog has it and it stays as it is, while each part is translated.
"""

from __future__ import annotations

from collections.abc import Iterable

from .messages import N_, Message

# A table column's kind, as a visitor reads it (tables.KINDS).
KIND_WORDS = {"number": N_("number"), "time": N_("time"), "text": N_("text"), "empty": N_("empty")}


def join(parts: Iterable[str], separator: str = ", ") -> Message:
    """One message holding ``parts`` (messages or plain strings) separated by ``separator``."""
    parts = list(parts)
    fields = {f"part{i}": part for i, part in enumerate(parts)}
    template = separator.replace("{", "{{").replace("}", "}}").join("{" + name + "}" for name in fields)
    return Message(template, fields)
