"""The generated sequence-to-sequence tasks: the right targets, vocabularies, arrays, held-out sets and errors."""

import datetime

import numpy as np
import pytest

from rnn_core.messages import Message, UserError
from rnn_core.training.seq2seq_tasks import (
    DATE_FORMATS,
    END,
    PAD,
    SEQ2SEQ_TASKS,
    SPECIALS,
    START,
    Vocabulary,
    date_normalisation,
    delayed_copy,
    korean_numerals,
    korean_reading,
    reverse,
    sort_digits,
)


@pytest.mark.parametrize("number,reading", [
    (0, "영"), (1, "일"), (7, "칠"), (10, "십"), (11, "십일"), (20, "이십"), (21, "이십일"), (100, "백"), (105, "백오"),
    (110, "백십"), (999, "구백구십구"), (1000, "천"), (1010, "천십"), (1111, "천백십일"), (2020, "이천이십"),
    (3205, "삼천이백오"), (6000, "육천"), (9999, "구천구백구십구"),
])
def test_korean_readings_as_koreans_write_them(number, reading):
    assert korean_reading(number) == reading


def test_every_number_has_its_own_reading():
    readings = {korean_reading(n) for n in range(10_000)}
    assert len(readings) == 10_000
    assert max(map(len, readings)) == 7
    assert not [r for r in readings if "일천" in r or "일백" in r or "일십" in r]


def test_date_formats_write_the_example_of_the_issue():
    d = datetime.date(2026, 12, 3)
    written = {name: f(d) for name, f in DATE_FORMATS.items()}
    assert written == {"d Mon yyyy": "3 Dec 2026", "yyyy.m.d": "2026.12.3", "mm/dd/yyyy": "12/03/2026",
                       "Mon d, yyyy": "Dec 3, 2026", "yyyy년 m월 d일": "2026년 12월 3일"}


def _parse(source: str) -> datetime.date:
    """An independent reading of each format (by its separators), to check the targets."""
    months = {m: i + 1 for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                                "Nov", "Dec"])}
    if "년" in source:
        y, m, d = (int(p[:-1]) for p in source.split())
    elif "/" in source:
        m, d, y = map(int, source.split("/"))
    elif "." in source:
        y, m, d = map(int, source.split("."))
    elif "," in source:
        mon, d, y = source.replace(",", "").split()
        m, d, y = months[mon], int(d), int(y)
    else:
        d, mon, y = source.split()
        m, d, y = months[mon], int(d), int(y)
    return datetime.date(y, m, d)


def test_date_targets_are_the_iso_dates():
    task = date_normalisation(n=500, start_year=1990, end_year=1999, held_out=50, seed=3)
    for s, t in zip(task.source + task.held_out_source, task.target + task.held_out_target, strict=True):
        d = _parse("".join(s))
        assert "".join(t) == d.isoformat() and 1990 <= d.year <= 1999
    formats_seen = {next((c for c in "년/.," if c in "".join(s)), "spaces only") for s in task.source}
    assert len(formats_seen) == 5
    one = date_normalisation(n=20, formats=["mm/dd/yyyy"], held_out=5)
    assert all("/" in "".join(s) for s in one.source)


def test_symbol_task_targets():
    rev, srt = reverse(n=300, seed=2), sort_digits(n=300, seed=2)
    assert all(t == s[::-1] and 5 <= len(s) <= 8 for s, t in zip(rev.source, rev.target, strict=True))
    assert all(t == tuple(sorted(s)) for s, t in zip(srt.source, srt.target, strict=True))
    cp = delayed_copy(n=300, min_len=2, max_len=3, delay=4, symbols="xyz", held_out=5, seed=2)
    assert all(s == t + ("_",) * 4 and 2 <= len(t) <= 3 for s, t in zip(cp.source, cp.target, strict=True))
    assert cp.lengths == (6, 7) and "_" in cp.source_vocabulary.tokens and "_" not in cp.target_vocabulary.tokens
    ko = korean_numerals(n=300, low=100, high=999, held_out=20)
    assert all("".join(t) == str(int("".join(t))) and korean_reading(int("".join(t))) == "".join(s)
               and 100 <= int("".join(t)) <= 999 for s, t in zip(ko.source, ko.target, strict=True))


@pytest.mark.parametrize("name", list(SEQ2SEQ_TASKS))
def test_every_task_is_seeded_holds_out_unseen_sources_and_encodes(name):
    build = SEQ2SEQ_TASKS[name]
    task = build(n=400, held_out=40, seed=7)
    assert task == build(n=400, held_out=40, seed=7) and task != build(n=400, held_out=40, seed=8)
    assert len(task.source) == 400 and len(set(task.held_out_source)) == len(task.held_out_source) == 40
    assert not set(task.held_out_source) & set(task.source)
    assert isinstance(task.description, Message) and task.description.fields
    for vocab in (task.source_vocabulary, task.target_vocabulary):
        assert vocab.tokens[:3] == SPECIALS and (vocab.index["<pad>"], vocab.index["<s>"], vocab.index["</s>"]) == (
            PAD, START, END)
    b = task.arrays()
    Vi, Vo = len(task.source_vocabulary), len(task.target_vocabulary)
    Ts, Tt = max(map(len, task.source)), max(map(len, task.target)) + 1
    assert b.x.shape == (400, Ts, Vi) and b.y_in.shape == (400, Tt, Vo) and b.y_out.shape == (400, Tt)
    assert b.x.dtype == np.float32 and b.y_out.dtype == np.int64 and (b.x.sum(-1) == 1).all()
    for i in range(0, 400, 37):
        s, t = task.source[i], task.target[i]
        assert task.source_vocabulary.decode(b.source_ids[i]) == s
        assert (b.source_ids[i, :Ts - len(s)] == PAD).all()                  # left padding
        assert task.decode(b.y_out[i]) == "".join(t) and b.y_out[i, len(t)] == END
        ids_in = b.y_in[i].argmax(-1)
        assert ids_in[0] == START and (ids_in[1:len(t) + 1] == b.y_out[i, :len(t)]).all()
        assert (b.y_out[i, len(t) + 1:] == PAD).all() and (ids_in[len(t) + 1:] == PAD).all()
    held = task.arrays(held_out=True)
    assert len(held) == 40 and held.x.shape[-1] == Vi


@pytest.mark.parametrize("name", list(SEQ2SEQ_TASKS))
def test_by_length_gives_sources_of_each_length(name):
    task = SEQ2SEQ_TASKS[name](n=100, held_out=10, seed=0)
    low, high = task.lengths
    lengths = [low, high] if name != "reverse" else [3, 12]        # reverse works at any length
    seen = []
    for length, batch in task.by_length(lengths, n=20, seed=1):
        seen.append(length)
        steps = max(length, high)                                    # padded as in training
        assert batch.x.shape[:2] == (20, steps)
        pad = steps - length
        assert (batch.source_ids[:, pad:] != PAD).all() and (batch.source_ids[:, :pad] == PAD).all()
    assert seen == lengths
    assert [length for length, _ in task.by_length(n=2)] == list(range(low, high + 1))


def test_impossible_lengths_and_bad_settings_are_user_errors():
    cases = [
        (lambda: reverse(min_len=6, max_len=5), "min_len (6) must not be greater than max_len (5)."),
        (lambda: reverse(n=0), "n must be a whole number from 1 to 10000; got 0."),
        (lambda: reverse(symbols="00"), "The symbols must be at least 2 different characters (no spaces, none "
                                        "repeated); got '00'."),
        (lambda: delayed_copy(symbols="ab_"), "The symbols must be at least 2 different characters (no spaces, none "
                                              "repeated, not _); got 'ab_'."),
        (lambda: reverse(min_len=1, max_len=1, symbols="01", held_out=1),
         "These settings allow only 2 different sources, too few to keep 1 of them out of training; widen the range "
         "or hold out fewer."),
        (lambda: date_normalisation(formats=["dd/mm/yyyy"]),
         "Unknown date format 'dd/mm/yyyy'; the formats are d Mon yyyy, yyyy.m.d, mm/dd/yyyy, Mon d, yyyy, "
         "yyyy년 m월 d일."),
        (lambda: date_normalisation(formats=[]), "Choose at least one date format."),
        (lambda: date_normalisation(start_year=2000, end_year=1999),
         "start_year (2000) must not be after end_year (1999)."),
        (lambda: korean_numerals(low=10, high=5), "low (10) must not be greater than high (5)."),
        (lambda: list(korean_numerals(n=10, held_out=5).by_length([8])),
         "No source of 8 tokens exists for the task korean_numerals; its sources have 1 to 7 tokens."),
        (lambda: list(delayed_copy(n=10, held_out=5, delay=5).by_length([5])),
         "No source of 5 tokens exists for the task delayed_copy; its sources have 6 to 65 tokens."),
    ]
    for make, text in cases:
        with pytest.raises(UserError) as err:
            make()
        assert str(err.value) == text


def test_vocabulary_round_trip():
    v = Vocabulary.of("cab")
    assert v.tokens == SPECIALS + ("a", "b", "c") and len(v) == 6
    ids = v.encode("abc")
    assert v.decode([START] + ids + [END, 3, 3]) == ("a", "b", "c")
    assert v.one_hot([[0, 5]]).shape == (1, 2, 6)
    with pytest.raises(ValueError):
        Vocabulary(("a", "<pad>", "<s>", "</s>"))
