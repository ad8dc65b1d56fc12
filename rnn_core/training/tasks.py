"""Training tasks, generated in code (no download) from a seed, and the user's own data.

Each builder returns a :class:`Task`: inputs x (N, T, D) float32, targets y,
the loss, the model shape it needs (many-to-many or not, number of outputs,
softmax or linear head) and a sentence on what it shows.

frame_classification  the tutorial's setting: 39 classes per frame from 13 noisy features
adding_problem        Hochreiter & Schmidhuber: sum the two marked values (many-to-one regression)
delayed_recall        name the first symbol after k distractors: SimpleRNN fails as k grows, LSTM/GRU go on
next_character        predict the next character of a text
brackets              predict the next character of generated text with nested brackets and quotes (depth <= 4)
sine_forecasting      predict the next value of noisy sines
user_task / load_npz_task / label_column_task   the user's own x and y, validated (TargetError)
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np

from ..inputs import loading as data
from ..messages import N_, Message
from .targets import SCCE_LOSS, TargetError, check_inputs, check_targets

Array = np.ndarray

MAX_EXAMPLES = 4096          # sequences in a generated or uploaded task
MAX_CLASSES = 1000
MAX_VOCABULARY = 128         # distinct characters for next_character


@dataclass(frozen=True)
class Task:
    name: str
    x: Array                    # (N, T, D) float32
    y: Array                    # int64 labels (N, T) / (N,), or float32 targets (N, T, C) / (N, C)
    loss: str                   # "sparse_categorical_crossentropy" or "mse"
    many_to_many: bool
    num_outputs: int            # classes (softmax head) or values per prediction (linear head)
    description: str
    feature_names: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()

    @property
    def head_activation(self) -> str:
        return "softmax" if self.loss == SCCE_LOSS else "linear"

    def model_kwargs(self) -> dict:
        """Arguments for RNNClassifier(num_hidden, **task.model_kwargs(), cell=...)."""
        return {"num_class": self.num_outputs, "many_to_many": self.many_to_many,
                "head_activation": self.head_activation}

    @property
    def chance_loss(self) -> float:
        """The loss of a constant best guess: log C for uniform classes, var(y) for MSE."""
        if self.loss == SCCE_LOSS:
            p = np.bincount(self.y.ravel(), minlength=self.num_outputs) / self.y.size
            p = p[p > 0]
            return float(-(p * np.log(p)).sum())
        return float(np.mean((self.y - self.y.mean(axis=tuple(range(self.y.ndim - 1)))) ** 2))


def _count(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}.")
    return int(value)


# -- generated tasks -----------------------------------------------------------------


def frame_classification(n: int = 256, steps: int = 100, features: int = 13, num_classes: int = 39,
                         noise: float = 1.5, seed: int | None = 0) -> Task:
    """Frame-wise classification, the tutorial's setting (phone labels from 13 MFCC-like features).

    A hidden Markov chain over the classes: each class lasts 3-8 frames and is
    followed by one of 3 likely successors. Each frame shows its class'
    prototype vector plus Gaussian noise of sd ``noise``, so one frame alone is
    ambiguous; the context (the frames before, which the RNN's state carries)
    tells the class apart.
    """
    n, steps = _count("n", n, 1, MAX_EXAMPLES), _count("steps", steps, 2, 2000)
    features, num_classes = _count("features", features, 1, 512), _count("num_classes", num_classes, 2, 200)
    rng = np.random.default_rng(seed)
    prototypes = rng.normal(0, 1, (num_classes, features))
    successors = np.stack([rng.choice(np.delete(np.arange(num_classes), c), 3, replace=False)
                           for c in range(num_classes)])
    y = np.empty((n, steps), np.int64)
    for i in range(n):
        t, c = 0, rng.integers(num_classes)
        while t < steps:
            length = rng.integers(3, 9)
            y[i, t:t + length] = c
            t += length
            c = successors[c, rng.choice(3, p=[0.6, 0.3, 0.1])]
    x = prototypes[y] + noise * rng.normal(0, 1, (n, steps, features))
    return Task("frame_classification", x.astype(np.float32), y, SCCE_LOSS, True, num_classes,
                Message(N_("{num_classes} classes per frame from {features} noisy features (noise sd {noise:g}); "
                           "classes last 3-8 frames and follow each other in likely orders, so context helps (the "
                           "tutorial's setting)"), {"num_classes": num_classes, "features": features, "noise": noise}),
                tuple(f"f{i}" for i in range(features)))


def adding_problem(n: int = 512, steps: int = 50, seed: int | None = 0) -> Task:
    """Hochreiter & Schmidhuber's adding problem: the target is the sum of the two marked values.

    Feature 0: values uniform in [0, 1]; feature 1: 1 at two positions (one in
    each half), 0 elsewhere. Predicting the mean sum (1.0) gives MSE ~ 1/6.
    """
    n, steps = _count("n", n, 1, MAX_EXAMPLES), _count("steps", steps, 2, 2000)
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 1, (n, steps))
    markers = np.zeros((n, steps))
    half = steps // 2
    first, second = rng.integers(0, half, n), rng.integers(half, steps, n)
    markers[np.arange(n), first] = 1.0
    markers[np.arange(n), second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values * markers).sum(axis=1, keepdims=True).astype(np.float32)
    return Task("adding_problem", x, y, "mse", False, 1,
                Message(N_("sum the two marked values among {steps}; one marker in each half, so the first must be "
                           "remembered for up to the whole sequence (predicting 1.0 always gives MSE 1/6)"),
                        {"steps": steps}),
                (Message(N_("value")), Message(N_("marker"))))


def delayed_recall(n: int = 512, lag: int = 10, num_symbols: int = 8, seed: int | None = 0) -> Task:
    """Remember the first symbol through ``lag`` distractor symbols, and name it when cued (many-to-one).

    Step 0 shows one of ``num_symbols`` symbols (one-hot); steps 1..lag show
    random symbols on the same channels (distractors to ignore); the last step
    raises the cue channel. The target is the first symbol. The network must
    write the first symbol into its state and then stop writing, and the
    gradient that teaches it must travel back ``lag + 1`` steps: SimpleRNN
    learns this for a small lag and stops learning as the lag grows, LSTM and
    GRU, whose gates can close, go on. Chance accuracy is 1/num_symbols.
    """
    n, lag = _count("n", n, 1, MAX_EXAMPLES), _count("lag", lag, 0, 2000)
    num_symbols = _count("num_symbols", num_symbols, 2, 64)
    rng = np.random.default_rng(seed)
    steps = lag + 2
    shown = rng.integers(0, num_symbols, (n, steps - 1))       # the first is the one to remember
    x = np.zeros((n, steps, num_symbols + 1), np.float32)      # symbol channels, cue
    x[:, :-1, :num_symbols] = np.eye(num_symbols, dtype=np.float32)[shown]
    x[:, -1, num_symbols] = 1.0
    return Task("delayed_recall", x, shown[:, 0].astype(np.int64), SCCE_LOSS, False, num_symbols,
                Message(N_("name the symbol shown at step 0 (one of {num_symbols}) after {lag} distractor symbols; "
                           "the gradient must reach back {reach} steps (chance accuracy 1/{num_symbols})"),
                        {"num_symbols": num_symbols, "lag": lag, "reach": lag + 1}),
                tuple(Message(N_("symbol {i}"), {"i": i}) for i in range(num_symbols)) + (Message(N_("cue")),))


def next_character(text: str, steps: int = 25, n: int | None = None, seed: int | None = 0,
                   vocabulary: tuple[str, ...] | None = None) -> Task:
    """Predict the next character at every step of windows of ``text`` (one-hot inputs).

    The vocabulary is the sorted set of characters of ``text`` (or ``vocabulary``, which must hold them all).
    Windows of ``steps`` characters start at every position (or at ``n`` random ones).
    """
    codes, vocabulary, steps = _encode(text, steps, vocabulary)
    starts = np.arange(len(text) - steps)
    if n is not None:
        n = _count("n", n, 1, MAX_EXAMPLES)
        starts = np.random.default_rng(seed).choice(starts, size=n, replace=len(starts) < n)
    elif len(starts) > MAX_EXAMPLES:
        starts = starts[np.linspace(0, len(starts) - 1, MAX_EXAMPLES).astype(int)]
    return _windows("next_character", codes, starts, steps, vocabulary,
                    Message(N_("predict the next character ({V} distinct characters, windows of {steps})"),
                            {"V": len(vocabulary), "steps": steps}))


def _encode(text: str, steps: int, vocabulary) -> tuple[Array, list[str], int]:
    """(codes (len(text),), vocabulary, steps) after checking the text against the limits."""
    if not isinstance(text, str):
        raise TargetError(N_("The text must be a string."))
    steps = _count("steps", steps, 2, 1000)
    if len(text) < steps + 1:
        raise TargetError(N_("The text has {n_text} characters; windows of {steps} steps need at least {needed}. "
                             "Type or upload a longer text, or use fewer steps."),
                          n_text=len(text), steps=steps, needed=steps + 1)
    if len(text) > data.MAX_BYTES:
        raise TargetError(N_("The text has {n_text:,} characters; the limit is {max_bytes:,}."),
                          n_text=len(text), max_bytes=data.MAX_BYTES)
    vocabulary = sorted(set(text)) if vocabulary is None else list(vocabulary)
    if len(vocabulary) > MAX_VOCABULARY:
        raise TargetError(N_("The text uses {n_vocabulary} different characters; the limit is {max_vocabulary}. Use "
                             "a simpler text (e.g. lower case, no rare symbols)."),
                          n_vocabulary=len(vocabulary), max_vocabulary=MAX_VOCABULARY)
    index = {ch: i for i, ch in enumerate(vocabulary)}
    if not set(text) <= index.keys():
        raise ValueError(f"the vocabulary lacks {sorted(set(text) - index.keys())!r}")
    return np.array([index[ch] for ch in text], np.int64), vocabulary, steps


def _windows(name: str, codes: Array, starts: Array, steps: int, vocabulary, description: Message) -> Task:
    """Windows codes[start : start + steps + 1] one-hot: x the first ``steps``, y the next character of each."""
    windows = codes[starts[:, None] + np.arange(steps + 1)]               # (N, T + 1)
    V = len(vocabulary)
    x = np.eye(V, dtype=np.float32)[windows[:, :-1]]
    return Task(name, x, windows[:, 1:], SCCE_LOSS, True, V, description, tuple(vocabulary), tuple(vocabulary))


# -- nested brackets and quotes ---------------------------------------------------------

BRACKETS = {"(": ")", "[": "]", "{": "}"}     # opening -> closing
QUOTE = '"'                                   # opens a quoted segment and closes it (no brackets inside)
BRACKET_LETTERS = "abcdefgh"
BRACKET_MAX_DEPTH = 4
BRACKET_MAX_TEXT = 400_000                    # characters generated for a task (windows may overlap past it)
BRACKET_VOCABULARY = tuple(sorted(BRACKET_LETTERS + " ." + "".join(BRACKETS) + "".join(BRACKETS.values()) + QUOTE))


def bracket_text(length: int, seed: int | None = 0, max_depth: int = BRACKET_MAX_DEPTH) -> str:
    """``length`` characters of sentences such as ``ab (cde [fgha] "bcdef") gh.`` (BRACKET_VOCABULARY).

    A sentence is 1-4 items separated by spaces and ends with ". "; an item is a word or, with probability 1/2
    while the depth is below ``max_depth``, a group: ``(``, ``[`` or ``{`` around 1-3 items one level deeper,
    or ``"`` around 1-3 words one level deeper. A word at depth d has d + 2 random letters, so where a word
    ends depends on the depth: to predict it, the network must count the brackets. Brackets close in the order
    they opened and a sentence ends only at depth 0; the depth (:func:`nesting_depth`) runs from 0 to
    ``max_depth``.
    """
    length, max_depth = _count("length", length, 1, data.MAX_BYTES), _count("max_depth", max_depth, 1, 16)
    rng = np.random.default_rng(seed)
    pool = "".join(np.array(list(BRACKET_LETTERS))[rng.integers(0, len(BRACKET_LETTERS), length + 64)])
    used = [0]                                # letters taken from the pool (drawn at once: a call per word is slow)

    def word(depth: int) -> str:
        start = used[0] % length
        used[0] += depth + 2
        return pool[start:start + depth + 2]

    def items(depth: int, low: int, high: int) -> str:
        return " ".join(group(depth) if depth < max_depth and rng.random() < 0.5 else word(depth)
                        for _ in range(rng.integers(low, high + 1)))

    def group(depth: int) -> str:
        kind = rng.integers(4)
        if kind == 3:
            return QUOTE + " ".join(word(depth + 1) for _ in range(rng.integers(1, 4))) + QUOTE
        opening = "([{"[kind]
        return opening + items(depth + 1, 1, 3) + BRACKETS[opening]

    parts, size = [], 0
    while size < length:
        parts.append(items(0, 1, 4) + ". ")
        size += len(parts[-1])
    return "".join(parts)[:length]


def nesting_depth(text: str) -> Array:
    """The depth after each character (N,): +1 at ``(``, ``[``, ``{`` and an opening ``"``, -1 at a closing one.

    Quotes pair up in order (the first opens, the next closes) and hold no brackets; a closing bracket at depth
    0 is ignored.
    """
    depth, quoted = 0, False
    out = np.zeros(len(text), np.int64)
    for t, ch in enumerate(text):
        if ch == QUOTE:
            depth += -1 if quoted else 1
            quoted = not quoted
        elif ch in BRACKETS and not quoted:
            depth += 1
        elif ch in BRACKETS.values() and not quoted and depth > 0:
            depth -= 1
        out[t] = depth
    return out


def brackets(n: int = 256, steps: int = 50, seed: int | None = 0) -> Task:
    """Next-character prediction on :func:`bracket_text`, in ``n`` windows of ``steps`` characters that each start
    at the start of a sentence (depth 0, so the depth is known from the window alone).

    To predict where a word ends, a closing bracket (and which one) or the end of a sentence, the network must
    keep the nesting depth and the open brackets in its state: a trained LSTM grows units that follow the depth
    (Karpathy, Johnson & Fei-Fei 2015 found such units in real text). Measured here (one core, the Training
    page's defaults: 30 epochs of 256 x 50, Adam 0.01, batch 32): LSTM(48) trains in about 6 s and its unit
    most correlated with the depth reaches |r| 0.85-0.96 over seeds 0-3 (an untrained one: about 0.4).
    """
    n, steps = _count("n", n, 1, MAX_EXAMPLES), _count("steps", steps, 2, 1000)
    text = bracket_text(min(max(2 * n * steps, 8 * steps), BRACKET_MAX_TEXT), seed)
    codes, vocabulary, steps = _encode(text, steps, BRACKET_VOCABULARY)
    period, space = vocabulary.index("."), vocabulary.index(" ")
    starts = np.concatenate([[0], np.flatnonzero((codes[:-1] == period) & (codes[1:] == space)) + 2])
    starts = starts[starts + steps + 1 <= len(text)]
    if starts.size == 0:                      # one sentence longer than the text: any window
        starts = np.arange(len(text) - steps)
    starts = np.random.default_rng(seed).choice(starts, size=n, replace=len(starts) < n)
    return _windows("brackets", codes, starts, steps, vocabulary, Message(
        N_("predict the next character of text with nested brackets and quotes (depth up to {depth}; a word at "
           "depth d has d + 2 letters; {V} distinct characters, windows of {steps} from the start of a sentence)"),
        {"depth": BRACKET_MAX_DEPTH, "V": len(vocabulary), "steps": steps}))


def sine_forecasting(n: int = 256, steps: int = 50, noise: float = 0.05, seed: int | None = 0) -> Task:
    """Predict x_{t+1} at every step t of sines with random period (10-40 steps), phase and amplitude."""
    n, steps = _count("n", n, 1, MAX_EXAMPLES), _count("steps", steps, 2, 2000)
    rng = np.random.default_rng(seed)
    t = np.arange(steps + 1)[None, :]
    period = rng.uniform(10, 40, (n, 1))
    series = rng.uniform(0.5, 1.5, (n, 1)) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi, (n, 1)))
    series = series + noise * rng.normal(0, 1, series.shape)
    x = series[:, :-1, None].astype(np.float32)
    y = series[:, 1:, None].astype(np.float32)
    return Task("sine_forecasting", x, y, "mse", True, 1,
                Message(N_("predict the next value of a noisy sine (periods 10-40 steps, noise sd {noise:g}); one "
                           "value does not tell rising from falling, the state does"), {"noise": noise}), ("x",))


# -- the user's own data -------------------------------------------------------------


def user_task(x, y, name: str | None = None) -> Task:
    """A task from the user's arrays, with the setting read from y's shape and dtype.

    x: (N, T, D), or (T, D) for one sequence. y of an integer dtype -> classes
    with sparse categorical cross-entropy, (N, T) one per step or (N,) one per
    sequence; y of a float dtype -> MSE regression, (N, T, K) / (N, T) per step
    or (N, K) / (N,) per sequence.
    """
    name = Message(N_("your data")) if name is None else name
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 2:
        x, y = x[None], y[None]
    x = check_inputs(x)
    N, T, _ = x.shape
    if N > MAX_EXAMPLES:
        raise TargetError(N_("{n} sequences; the limit is {max_examples}."),
                          n=N, max_examples=MAX_EXAMPLES)
    if y.dtype.kind not in "biuf" or y.dtype.kind == "b":
        raise TargetError(N_("Targets must be numbers; got dtype {dtype}."),
                          dtype=y.dtype)
    if y.ndim == 0 or y.shape[0] != N:
        raise TargetError(N_("x has {n} sequence(s) but y has shape {shape}: y needs one entry per sequence (first "
                             "axis {n})."), n=N, shape=y.shape)
    if y.ndim >= 2 and y.shape[1] == T and y.ndim <= 3:
        many_to_many = True
    elif y.ndim <= 2:
        many_to_many = False
    else:
        raise TargetError(N_("y has shape {shape}; expected ({n}, {t}) or ({n},) labels, or ({n}, {t}, K) or ({n}, "
                             "K) values."), shape=y.shape, n=N, t=T)
    classify = y.dtype.kind in "iu"
    if classify and y.ndim != (2 if many_to_many else 1):
        raise TargetError(N_("Integer labels must have shape ({n}, {t}) (a class per step) or ({n},) (a class per "
                             "sequence); got {shape}. Store real-valued targets as floats."),
                          n=N, t=T, shape=y.shape)
    if classify:
        if y.min() < 0:
            raise TargetError(N_("Class labels must be 0 or more; got {low}."),
                              low=y.min())
        num = int(y.max()) + 1
        if num > MAX_CLASSES:
            raise TargetError(N_("Labels go up to {num}; the limit is {max_classes} classes. For real-valued targets "
                                 "store y as floats."),
                              num=num - 1, max_classes=MAX_CLASSES)
        num = max(num, 2)
        loss = SCCE_LOSS
    else:
        num = 1 if y.ndim == (2 if many_to_many else 1) else y.shape[-1]
        loss = "mse"
    y = check_targets(y, batch=N, steps=T, many_to_many=many_to_many, num_class=num, loss=loss)
    description = _USER_DESCRIPTIONS[loss == SCCE_LOSS, many_to_many]
    return Task("user", x, y, loss, many_to_many, num,
                Message(description, {"name": name, "n": N, "steps": T, "num": num}))


_USER_DESCRIPTIONS = {
    (True, True): N_("{name}: {n} sequence(s) of {steps} steps, {num} classes per step (many-to-many)"),
    (True, False): N_("{name}: {n} sequence(s) of {steps} steps, {num} classes per sequence (many-to-one)"),
    (False, True): N_("{name}: {n} sequence(s) of {steps} steps, {num} value(s) per step (many-to-many)"),
    (False, False): N_("{name}: {n} sequence(s) of {steps} steps, {num} value(s) per sequence (many-to-one)"),
}


def load_npz_task(content: bytes, x_key: str = "x", y_key: str = "y") -> Task:
    """An uploaded .npz holding arrays ``x`` and ``y`` (never unpickled)."""
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise TargetError(N_("Expected the file's bytes."))
    content = bytes(content)
    if len(content) > data.MAX_BYTES:
        raise TargetError(N_("The file is {size:.1f} MB; the limit is {limit} MB."),
                          size=len(content) / 2**20, limit=data.MAX_BYTES // 2**20)
    if not content.startswith(b"PK"):
        raise TargetError(N_("This is not a NumPy .npz archive (save with numpy.savez(file, x=..., y=...))."))
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as archive:
            names = list(archive.files)
            missing = [k for k in (x_key, y_key) if k not in names]
            if missing:
                raise TargetError(N_("The .npz needs arrays named {x_key!r} and {y_key!r}; it has: {names}."),
                                  x_key=x_key, y_key=y_key, names=', '.join(names) or Message(N_("none")))
            x, y = archive[x_key], archive[y_key]
    except TargetError:
        raise
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise TargetError(N_("The .npz holds Python objects (pickled arrays), which are never loaded here. Save "
                                 "numeric arrays.")) from None
        raise TargetError(N_("This .npz file cannot be read: {err}."), err=err) from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as err:
        raise TargetError(N_("This .npz file is damaged or truncated ({error})."),
                          error=type(err).__name__) from None
    return user_task(x, y, name=Message(N_("the uploaded .npz")))


def label_column_task(filename: str, content: bytes, label_column: str | int, steps: int | None = None) -> Task:
    """A CSV/TSV table whose rows are time steps: ``label_column`` holds a class per step, the rest are features.

    One long sequence is cut into windows of ``steps`` rows (all of it as one
    sequence when None).
    """
    try:
        table, info = data.load_sequence(filename, content)
    except data.SequenceError as err:
        message = err.message
        raise TargetError(message) from None
    if table.ndim != 2:
        raise TargetError(N_("A table with a label column must be 2-D: rows are time steps, columns features."))
    header = info.header
    if isinstance(label_column, str) and not label_column.lstrip("-").isdigit():
        if header is None or label_column not in header:
            if header:
                raise TargetError(N_("No column named {label_column!r}; the columns are {header}."),
                                  label_column=label_column, header=", ".join(header))
            raise TargetError(N_("No column named {label_column!r}; the columns are unnamed (give a number)."),
                              label_column=label_column)
        col = header.index(label_column)
    else:
        col = int(label_column)
        if not -table.shape[1] <= col < table.shape[1]:
            raise TargetError(N_("Column {col} does not exist; the table has {columns} columns."),
                              col=col, columns=table.shape[1])
        col %= table.shape[1]
    if table.shape[1] < 2:
        raise TargetError(N_("The table needs at least one feature column besides the label column."))
    labels = table[:, col]
    features = np.delete(table, col, axis=1)
    if not (labels == np.round(labels)).all():
        raise TargetError(N_("The label column holds fractions (e.g. {labels:g}); labels must be whole class numbers "
                             "0, 1, 2, ..."),
                          labels=labels[labels != np.round(labels)][0])
    T = len(labels) if steps is None else _count("steps", steps, 2, len(labels))
    N = len(labels) // T
    x = features[:N * T].reshape(N, T, -1)
    y = labels[:N * T].reshape(N, T).astype(np.int64)
    return user_task(x, y, name=Message(N_("{filename} (label column {column})"),
                                        {"filename": filename, "column": header[col] if header else col}))


TASKS = {
    "frame_classification": frame_classification,
    "adding_problem": adding_problem,
    "delayed_recall": delayed_recall,
    "sine_forecasting": sine_forecasting,
    "brackets": brackets,
}
