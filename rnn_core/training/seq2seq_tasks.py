"""Sequence-to-sequence tasks for the encoder-decoder, generated in code from a seed (no download).

reverse             the symbols backwards                            3 1 4 1 5   -> 5 1 4 1 3
sort_digits         the digits in ascending order                    3 1 4 1 5   -> 1 1 3 4 5
delayed_copy        the symbols again, after a run of blanks         a c b _ _ _ -> a c b
date_normalisation  dates in several formats to ISO 8601             3 Dec 2026, 2026.12.3, 12/03/2026 -> 2026-12-03
korean_numerals     Sino-Korean numerals to digits                   삼천이백오 -> 3205

Every task is a :class:`Seq2SeqTask`: training pairs and held-out pairs of token sequences (a source never
seen in training), the two vocabularies, a description (a Message) and ``by_length`` for "accuracy vs input
length" curves. Tokens are characters; every vocabulary starts with ``<pad>`` 0, ``<s>`` 1, ``</s>`` 2.

As arrays (``task.arrays()``, :class:`Seq2SeqBatch`), the way the encoder-decoder is trained:

    x      (N, Ts, V_in)   one-hot source, padded with <pad> on the left (Keras' pad_sequences default), so
                           the encoder's last step always reads the last real token
    y_in   (N, Tt, V_out)  one-hot decoder input  <s> y_1 ... y_L, then <pad>          (teacher forcing)
    y_out  (N, Tt)         decoder target ids     y_1 ... y_L </s>, then <pad>         (Tt = longest L + 1)

The loss counts every position, padding included (emitting <pad> after </s> is learnt at once), so it is
Keras' plain ``train_on_batch`` loss with no sample weights.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..messages import N_, Message, UserError

Array = np.ndarray
Tokens = tuple[str, ...]
Sampler = Callable[[np.random.Generator, "int | None"], tuple[Tokens, Tokens]]

SPECIALS = ("<pad>", "<s>", "</s>")
PAD, START, END = 0, 1, 2            # their ids in every vocabulary
BLANK = "_"                          # delayed_copy's filler
MAX_EXAMPLES = 10_000                # training pairs of a generated task
MAX_LENGTH = 60                      # source symbols of reverse, sort_digits and delayed_copy
DIGITS = "0123456789"


def _whole(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise UserError(N_("{name} must be a whole number from {low} to {high}; got {value}."),
                        name=name, low=low, high=high, value=value)
    return int(value)


# -- vocabularies ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Vocabulary:
    """Tokens by id: ``<pad>``, ``<s>``, ``</s>``, then the task's symbols."""

    tokens: Tokens

    def __post_init__(self) -> None:
        if self.tokens[:3] != SPECIALS or len(set(self.tokens)) != len(self.tokens):
            raise ValueError(f"A vocabulary starts with {SPECIALS} and has no repeated token; got {self.tokens}.")

    @classmethod
    def of(cls, symbols) -> Vocabulary:
        """The vocabulary of these symbols, in sorted order after the three special tokens."""
        return cls(SPECIALS + tuple(sorted(set(symbols))))

    def __len__(self) -> int:
        return len(self.tokens)

    @cached_property
    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.index[t] for t in tokens]

    def decode(self, ids) -> Tokens:
        """Token ids -> tokens, up to the first </s> (not included); <pad> and <s> are skipped."""
        out = []
        for i in np.asarray(ids).ravel():
            if i == END:
                break
            if i not in (PAD, START):
                out.append(self.tokens[int(i)])
        return tuple(out)

    def one_hot(self, ids) -> Array:
        """(..., T) ids -> (..., T, V) float32 one-hot."""
        return np.eye(len(self), dtype=np.float32)[np.asarray(ids)]


# -- the task ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Seq2SeqBatch:
    """Pairs as the encoder-decoder reads them (see the module docstring)."""

    x: Array              # (N, Ts, V_in) float32 one-hot source, left-padded
    y_in: Array           # (N, Tt, V_out) float32 one-hot decoder input: <s> y_1 .. y_L <pad> ..
    y_out: Array          # (N, Tt) int64 decoder targets: y_1 .. y_L </s> <pad> ..
    source_ids: Array     # (N, Ts) int64, the source as ids (left-padded)

    def __len__(self) -> int:
        return len(self.y_out)


@dataclass(frozen=True)
class Seq2SeqTask:
    """A generated sequence-to-sequence task: training and held-out pairs, vocabularies, a description."""

    name: str
    source: tuple[Tokens, ...]                  # training sources (token sequences)
    target: tuple[Tokens, ...]                  # their targets
    held_out_source: tuple[Tokens, ...]         # sources never in training
    held_out_target: tuple[Tokens, ...]
    source_vocabulary: Vocabulary
    target_vocabulary: Vocabulary
    description: Message
    lengths: tuple[int, int]                    # shortest and longest source, in tokens
    sample: Sampler = field(repr=False, compare=False)   # (rng, source length or None) -> (source, target)

    def encode(self, sources: Sequence[Tokens], targets: Sequence[Tokens],
               source_steps: int | None = None) -> Seq2SeqBatch:
        """Token sequences -> one-hot arrays (padded to the longest of each side, sources to at least
        ``source_steps``)."""
        sv, tv = self.source_vocabulary, self.target_vocabulary
        Ts = max(max(len(s) for s in sources), source_steps or 0)
        Tt = max(len(t) for t in targets) + 1
        src = np.full((len(sources), Ts), PAD, np.int64)
        y_in = np.full((len(targets), Tt), PAD, np.int64)
        y_out = np.full((len(targets), Tt), PAD, np.int64)
        for i, (s, t) in enumerate(zip(sources, targets, strict=True)):
            src[i, Ts - len(s):] = sv.encode(s)                 # left padding
            ids = tv.encode(t)
            y_in[i, :len(ids) + 1] = [START] + ids              # <s> y_1 .. y_L
            y_out[i, :len(ids) + 1] = ids + [END]               # y_1 .. y_L </s>
        return Seq2SeqBatch(sv.one_hot(src), tv.one_hot(y_in), y_out, src)

    def arrays(self, held_out: bool = False) -> Seq2SeqBatch:
        """The training pairs (or the held-out ones) as arrays, sources padded to the task's longest."""
        if held_out:
            return self.encode(self.held_out_source, self.held_out_target, self.lengths[1])
        return self.encode(self.source, self.target, self.lengths[1])

    def by_length(self, lengths: Sequence[int] | None = None, n: int = 100,
                  seed: int | None = 0) -> Iterator[tuple[int, Seq2SeqBatch]]:
        """For each source length (default: the task's own range), ``n`` fresh pairs with sources that long.

        Yields (length, batch); for "accuracy vs input length" curves. The sources are left-padded to the
        task's longest, as in training (the model has learnt where the padding ends).
        """
        n = _whole("n", n, 1, MAX_EXAMPLES)
        lengths = range(self.lengths[0], self.lengths[1] + 1) if lengths is None else lengths
        rng = np.random.default_rng(seed)
        for length in lengths:
            length = _whole("length", length, 1, 1000)
            pairs = [self.sample(rng, length) for _ in range(n)]
            yield length, self.encode([p[0] for p in pairs], [p[1] for p in pairs], self.lengths[1])

    def decode(self, ids) -> str:
        """Target ids (one sequence) as text, up to </s>."""
        return "".join(self.target_vocabulary.decode(ids))


def _split(sample: Sampler, n: int, held_out: int, space: int, seed: int | None):
    """``held_out`` distinct pairs, then ``n`` training pairs whose sources are not among them.

    ``space`` is the number of distinct sources; at most a quarter of them may be held out.
    """
    if held_out > space // 4:
        raise UserError(N_("These settings allow only {space} different sources, too few to keep {held_out} of "
                           "them out of training; widen the range or hold out fewer."), space=space,
                        held_out=held_out)
    rng = np.random.default_rng(seed)
    kept: dict[Tokens, Tokens] = {}
    while len(kept) < held_out:
        s, t = sample(rng, None)
        kept.setdefault(s, t)
    source, target = [], []
    while len(source) < n:
        s, t = sample(rng, None)
        if s not in kept:
            source.append(s)
            target.append(t)
    return tuple(source), tuple(target), tuple(kept), tuple(kept.values())


def _length_rejected(name: str, length: int, low: int, high: int):
    return UserError(N_("No source of {length} tokens exists for the task {task}; its sources have {low} to {high} "
                        "tokens."), length=length, task=name, low=low, high=high)


def _check_range(min_len, max_len) -> tuple[int, int]:
    min_len, max_len = _whole("min_len", min_len, 1, MAX_LENGTH), _whole("max_len", max_len, 1, MAX_LENGTH)
    if min_len > max_len:
        raise UserError(N_("min_len ({min_len}) must not be greater than max_len ({max_len})."),
                        min_len=min_len, max_len=max_len)
    return min_len, max_len


def _check_symbols(symbols, reserved: str = "") -> str:
    ok = isinstance(symbols, str) and len(set(symbols)) >= 2 and len(set(symbols)) == len(symbols) \
        and not set(symbols) & set(reserved) and symbols.isprintable() and " " not in symbols
    if not ok:
        raise UserError(N_("The symbols must be at least 2 different characters (no spaces, none repeated{reserved}); "
                           "got {symbols!r}."), symbols=symbols,
                        reserved=Message(N_(", not {blank}"), {"blank": reserved}) if reserved else "")
    return symbols


def _uniform_lengths(rng: np.random.Generator, length: int | None, min_len: int, max_len: int) -> int:
    return int(rng.integers(min_len, max_len + 1)) if length is None else length


# -- symbol tasks ------------------------------------------------------------------------------------------

def reverse(n: int = 2000, min_len: int = 5, max_len: int = 8, symbols: str = DIGITS, held_out: int = 200,
            seed: int | None = 0) -> Seq2SeqTask:
    """Write the source backwards. The first output needs the last input and the last output the first, so
    without attention the whole sequence must pass through the encoder's final state."""
    n, held_out = _whole("n", n, 1, MAX_EXAMPLES), _whole("held_out", held_out, 1, MAX_EXAMPLES)
    min_len, max_len = _check_range(min_len, max_len)
    symbols = _check_symbols(symbols)
    alphabet = np.array(list(symbols))

    def sample(rng, length=None):
        s = tuple(rng.choice(alphabet, _uniform_lengths(rng, length, min_len, max_len)).tolist())
        return s, s[::-1]

    space = sum(len(symbols) ** k for k in range(min_len, max_len + 1))
    split = _split(sample, n, held_out, space, seed)
    vocab = Vocabulary.of(symbols)
    return Seq2SeqTask("reverse", *split, vocab, vocab,
                       Message(N_("write {min_len} to {max_len} symbols backwards ({count} different symbols); the "
                                  "first output needs the last input, so without attention the whole sequence must "
                                  "pass through the encoder's final state"),
                               {"min_len": min_len, "max_len": max_len, "count": len(symbols)}),
                       (min_len, max_len), sample)


def sort_digits(n: int = 2000, min_len: int = 5, max_len: int = 8, symbols: str = DIGITS, held_out: int = 200,
                seed: int | None = 0) -> Seq2SeqTask:
    """Sort the symbols in ascending order (every output depends on the whole source)."""
    n, held_out = _whole("n", n, 1, MAX_EXAMPLES), _whole("held_out", held_out, 1, MAX_EXAMPLES)
    min_len, max_len = _check_range(min_len, max_len)
    symbols = _check_symbols(symbols)
    alphabet = np.array(list(symbols))

    def sample(rng, length=None):
        s = tuple(rng.choice(alphabet, _uniform_lengths(rng, length, min_len, max_len)).tolist())
        return s, tuple(sorted(s))

    k = len(symbols)
    space = sum(k ** m for m in range(min_len, max_len + 1))              # sources are sequences, not multisets
    split = _split(sample, n, held_out, space, seed)
    vocab = Vocabulary.of(symbols)
    return Seq2SeqTask("sort_digits", *split, vocab, vocab,
                       Message(N_("sort {min_len} to {max_len} symbols in ascending order; every output depends on "
                                  "the whole source"), {"min_len": min_len, "max_len": max_len}),
                       (min_len, max_len), sample)


def delayed_copy(n: int = 2000, min_len: int = 3, max_len: int = 6, delay: int = 5, symbols: str = "abcdefgh",
                 held_out: int = 200, seed: int | None = 0) -> Seq2SeqTask:
    """Copy the symbols, which are followed by ``delay`` blanks ("_") in the source: the encoder must keep them
    through the delay (its source length counts the blanks too)."""
    n, held_out = _whole("n", n, 1, MAX_EXAMPLES), _whole("held_out", held_out, 1, MAX_EXAMPLES)
    min_len, max_len = _check_range(min_len, max_len)
    delay = _whole("delay", delay, 0, MAX_LENGTH)
    symbols = _check_symbols(symbols, reserved=BLANK)
    alphabet = np.array(list(symbols))
    blanks = (BLANK,) * delay

    def sample(rng, length=None):
        if length is not None and not delay < length <= MAX_LENGTH + delay:
            raise _length_rejected("delayed_copy", length, delay + 1, MAX_LENGTH + delay)
        k = _uniform_lengths(rng, None if length is None else length - delay, min_len, max_len)
        s = tuple(rng.choice(alphabet, k).tolist())
        return s + blanks, s

    space = sum(len(symbols) ** k for k in range(min_len, max_len + 1))
    split = _split(sample, n, held_out, space, seed)
    return Seq2SeqTask("delayed_copy", *split, Vocabulary.of(symbols + BLANK), Vocabulary.of(symbols),
                       Message(N_("copy {min_len} to {max_len} symbols that are followed by {delay} blanks; the "
                                  "encoder must keep them through the delay"),
                               {"min_len": min_len, "max_len": max_len, "delay": delay}),
                       (min_len + delay, max_len + delay), sample)


# -- dates -------------------------------------------------------------------------------------------------

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Each format's name and how it writes 3 December 2026.
DATE_FORMATS: dict[str, Callable[[datetime.date], str]] = {
    "d Mon yyyy": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",           # 3 Dec 2026
    "yyyy.m.d": lambda d: f"{d.year}.{d.month}.{d.day}",                          # 2026.12.3
    "mm/dd/yyyy": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",                # 12/03/2026
    "Mon d, yyyy": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",          # Dec 3, 2026
    "yyyy년 m월 d일": lambda d: f"{d.year}년 {d.month}월 {d.day}일",               # 2026년 12월 3일
}


def date_normalisation(n: int = 3000, start_year: int = 1950, end_year: int = 2049,
                       formats: Sequence[str] = tuple(DATE_FORMATS), held_out: int = 300,
                       seed: int | None = 0) -> Seq2SeqTask:
    """Rewrite random dates (uniform over the days of ``start_year`` to ``end_year``), each written in one of
    ``formats`` chosen at random, as YYYY-MM-DD, character by character."""
    n, held_out = _whole("n", n, 1, MAX_EXAMPLES), _whole("held_out", held_out, 1, MAX_EXAMPLES)
    start_year, end_year = _whole("start_year", start_year, 1000, 9999), _whole("end_year", end_year, 1000, 9999)
    if start_year > end_year:
        raise UserError(N_("start_year ({start_year}) must not be after end_year ({end_year})."),
                        start_year=start_year, end_year=end_year)
    formats = tuple(formats) if not isinstance(formats, str) else (formats,)
    if not formats:
        raise UserError(N_("Choose at least one date format."))
    for f in formats:
        if f not in DATE_FORMATS:
            raise UserError(N_("Unknown date format {fmt!r}; the formats are {formats}."), fmt=f,
                            formats=", ".join(DATE_FORMATS))
    writers = [DATE_FORMATS[f] for f in dict.fromkeys(formats)]
    first = datetime.date(start_year, 1, 1).toordinal()
    days = datetime.date(end_year, 12, 31).toordinal() - first + 1

    def draw(rng):
        d = datetime.date.fromordinal(first + int(rng.integers(days)))
        return tuple(writers[int(rng.integers(len(writers)))](d)), tuple(d.isoformat())

    examples = [w(datetime.date(2000 + y, m, d)) for w in writers for y in (0, 10) for m in range(1, 13)
                for d in (1, 28)]
    low, high = min(map(len, examples)), max(map(len, examples))

    def sample(rng, length=None):
        if length is None:
            return draw(rng)
        if not low <= length <= high:
            raise _length_rejected("date_normalisation", length, low, high)
        for _ in range(10_000):                               # every length in [low, high] is common
            s, t = draw(rng)
            if len(s) == length:
                return s, t
        raise _length_rejected("date_normalisation", length, low, high)

    split = _split(sample, n, held_out, days * len(writers), seed)
    chars = set(DIGITS) | {c for e in examples for c in e}
    example = datetime.date(2026, 12, 3)
    return Seq2SeqTask("date_normalisation", *split, Vocabulary.of(chars), Vocabulary.of(DIGITS + "-"),
                       Message(N_("rewrite dates written in {count} formats (e.g. {example}) as YYYY-MM-DD; years "
                                  "{start_year} to {end_year}"),
                               {"count": len(writers), "example": f"{writers[0](example)} -> {example.isoformat()}",
                                "start_year": start_year, "end_year": end_year}),
                       (low, high), sample)


# -- Korean numerals ---------------------------------------------------------------------------------------

KOREAN_DIGITS = "영일이삼사오육칠팔구"                     # 0-9; 영 is said only for zero itself
KOREAN_UNITS = ((1000, "천"), (100, "백"), (10, "십"))


def korean_reading(number: int) -> str:
    """The Sino-Korean reading of 0..9999 as written: 3205 -> 삼천이백오, 1010 -> 천십 (no 일 before 십, 백, 천)."""
    number = _whole("number", number, 0, 9999)
    if number == 0:
        return KOREAN_DIGITS[0]
    out = []
    for value, unit in KOREAN_UNITS:
        d = number // value % 10
        if d:
            out.append(("" if d == 1 else KOREAN_DIGITS[d]) + unit)
    if number % 10:
        out.append(KOREAN_DIGITS[number % 10])
    return "".join(out)


def korean_numerals(n: int = 3000, low: int = 0, high: int = 9999, held_out: int = 300,
                    seed: int | None = 0) -> Seq2SeqTask:
    """Read Sino-Korean numerals (uniform over low..high) as digits: 삼천이백오 -> 3205."""
    n, held_out = _whole("n", n, 1, MAX_EXAMPLES), _whole("held_out", held_out, 1, MAX_EXAMPLES)
    low, high = _whole("low", low, 0, 9999), _whole("high", high, 0, 9999)
    if low > high:
        raise UserError(N_("low ({low}) must not be greater than high ({high})."), low=low, high=high)
    by_length: dict[int, list[int]] = {}
    for number in range(low, high + 1):
        by_length.setdefault(len(korean_reading(number)), []).append(number)
    shortest, longest = min(by_length), max(by_length)

    def pair(number: int) -> tuple[Tokens, Tokens]:
        return tuple(korean_reading(number)), tuple(str(number))

    def sample(rng, length=None):
        if length is None:
            return pair(int(rng.integers(low, high + 1)))
        if length not in by_length:
            raise _length_rejected("korean_numerals", length, shortest, longest)
        numbers = by_length[length]
        return pair(numbers[int(rng.integers(len(numbers)))])

    split = _split(sample, n, held_out, high - low + 1, seed)
    return Seq2SeqTask("korean_numerals", *split, Vocabulary.of(KOREAN_DIGITS + "십백천"), Vocabulary.of(DIGITS),
                       Message(N_("read Sino-Korean numerals as digits (e.g. {example}), numbers {low} to {high}; 일 "
                                  "is left out before 십, 백 and 천, as Koreans write it"),
                               {"example": "삼천이백오 -> 3205", "low": low, "high": high}),
                       (shortest, longest), sample)


SEQ2SEQ_TASKS = {
    "reverse": reverse,
    "sort_digits": sort_digits,
    "delayed_copy": delayed_copy,
    "date_normalisation": date_normalisation,
    "korean_numerals": korean_numerals,
}


__all__ = ["BLANK", "DATE_FORMATS", "END", "KOREAN_DIGITS", "MONTHS", "PAD", "SEQ2SEQ_TASKS", "SPECIALS", "START",
           "Seq2SeqBatch", "Seq2SeqTask", "Vocabulary", "date_normalisation", "delayed_copy", "korean_numerals",
           "korean_reading", "reverse", "sort_digits"]
