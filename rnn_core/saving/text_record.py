"""What a character model reads, kept in its ``.keras`` file: the task, the characters, a sample of its text.

A next-character layer is a function of one-hot rows; without the order of its characters nobody can feed it
text again, and Keras' file does not hold that order. The app's exports (the Training page's ``.keras``) add it
to ``metadata.json`` under one key, which Keras writes for itself and never reads back:

    {"keras_version": "3.15.1", "date_saved": "...",
     "rnn_explorer": {"task": "brackets", "vocabulary": [" ", "(", ...], "sample": "(the (cat) sat) ..."}}

Opening such a file, the *Inside a trained network* page reads the layer on text again at once. The entry is
data from an uploaded file like any other: :func:`read_text_record` checks every part of it (a task it knows,
distinct single characters, a sample of those characters only, within limits) and refuses the file with a
message naming the part that is wrong; a file without the key has no record (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..messages import N_, Message
from .model_config import RESAVE, ModelFileError

METADATA_KEY = "rnn_explorer"
TEXT_TASKS = ("next_character", "brackets")     # the character tasks of rnn_core.training.tasks
MAX_VOCABULARY = 128                            # as rnn_core.training.tasks.MAX_VOCABULARY
MAX_SAMPLE_CHARS = 5_000                        # as much text as the Inside page reads


@dataclass(frozen=True)
class TextRecord:
    """The character task a layer learned: its one-hot order and a text it learned from."""

    task: str                       # one of TEXT_TASKS
    vocabulary: tuple[str, ...]     # one-hot order: input feature i is vocabulary[i]
    sample: str                     # at most MAX_SAMPLE_CHARS characters, each in the vocabulary

    def as_metadata(self) -> dict[str, Any]:
        """The entry to put into metadata.json under METADATA_KEY."""
        return {"task": self.task, "vocabulary": list(self.vocabulary), "sample": self.sample}


def text_record(task: str, vocabulary, sample: str) -> TextRecord:
    """A checked record (ValueError for a wrong one: this side is the app's own code, not a visitor's file)."""
    record = TextRecord(task, tuple(vocabulary), sample[:MAX_SAMPLE_CHARS])
    problem = _problem(record.as_metadata())
    if problem is not None:
        raise ValueError(f"not a valid text record: {problem.format(n=MAX_VOCABULARY, chars=MAX_SAMPLE_CHARS)}")
    return record


def read_text_record(metadata: Any) -> TextRecord | None:
    """The record in a .keras file's parsed metadata.json, None without one, ModelFileError for a bad one."""
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        return None
    entry = metadata[METADATA_KEY]
    problem = _problem(entry)
    if problem is not None:
        raise ModelFileError(N_("metadata.json's \"rnn_explorer\" entry is not valid: {problem} {resave}"),
                             problem=Message(problem, {"n": MAX_VOCABULARY, "chars": MAX_SAMPLE_CHARS}), resave=RESAVE)
    return TextRecord(entry["task"], tuple(entry["vocabulary"]), entry["sample"])


def _problem(entry: Any) -> str | None:
    """What is wrong with an entry (an English sentence with {n} and {chars}), or None."""
    if not isinstance(entry, dict) or set(entry) != {"task", "vocabulary", "sample"}:
        return N_("it must hold exactly task, vocabulary and sample.")
    if entry["task"] not in TEXT_TASKS:
        return N_("its task is not one of the character tasks.")
    vocabulary = entry["vocabulary"]
    if (not isinstance(vocabulary, list) or not 1 <= len(vocabulary) <= MAX_VOCABULARY
            or not all(isinstance(ch, str) and len(ch) == 1 for ch in vocabulary)
            or len(set(vocabulary)) != len(vocabulary)):
        return N_("its vocabulary must be a list of 1 to {n} different single characters.")
    sample = entry["sample"]
    if not isinstance(sample, str) or len(sample) > MAX_SAMPLE_CHARS or not set(sample) <= set(vocabulary):
        return N_("its sample must be a text of at most {chars} characters, each one of the vocabulary.")
    return None
