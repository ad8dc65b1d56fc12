"""The "Inside a trained network" page's state and calls: what the layer reads, what a view costs, the analyses.

No Streamlit here, so all of it is tested directly. The page finds what the layer reads (:func:`trained_text`:
a text when the layer was trained on one in this session; otherwise the sidebar's input), estimates the whole
view before anything runs (:func:`estimate`, :func:`nearest_fitting`), then calls the cached analyses below:
rnn_core.analysis' select and match (LSTMVis), principal components, gate saturation, units that follow a
signal, and fixed points (Sussillo & Barak). The analyses are cached for every visitor in explorer/cache.py's
byte-bounded RESULTS, keyed by the configuration (its ``layer_id`` for a trained or uploaded layer) and the
input's bytes.

Every array here is in *input order*: with ``go_backwards`` the layer reads step T-1 first, and its states are
turned around so that step t of a chart is the state after reading input step t (the character under it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from rnn_core import budget
from rnn_core.analysis import correlated_units, fixed_points, match_pattern, pca_trajectories, selected_units
from rnn_core.analysis.state_space import SATURATING, SIGMOID_GATES, saturation_fractions
from rnn_core.messages import Message, UserError
from rnn_core.training import tasks as task_lib

from . import cache
from .cache import RESULTS
from .i18n import N_
from .settings import AppConfig

Array = np.ndarray

PAGE = "trained-network"
MAX_CHARS = 5_000              # characters the page reads (the text view draws each one)
DEFAULT_CHARS = 600
MAX_STEPS = 20_000             # steps of one sequence otherwise
DEFAULT_STEPS = 2_000
MAX_BATCH = 64
STARTS = (1024, 512, 256, 128, 64, 32, 16, 8)     # the fixed-point search's starts, largest first
DEFAULT_STARTS = 128
TOP_MATCHES = 10
TEXT_SEED = 7919               # the page's bracket text is not the one the layer trained on

# Per-step signals a unit may follow (option -> label, translated when shown). A label reads after "the".
TEXT_SIGNALS = {"depth": N_("nesting depth"), "word": N_("position in the word"), "space": N_("space indicator")}
STEP_SIGNALS = {"step": N_("step number"), "input": N_("first input feature")}
HELD_ZEROS, HELD_MEAN = "zeros", "mean"       # the fixed-point search's input, or "char:<c>" for a character


# -- what the layer reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextTask:
    """A text task a layer was trained on: its characters (in one-hot order) and a text to read."""

    task: str                        # "brackets", "next_character"
    vocabulary: tuple[str, ...]
    default_text: str


def same_weights(custom: dict, run) -> bool:
    """Whether the layer in use is the one the session's training run holds (its weights, exactly)."""
    try:
        mine, theirs = custom["weights"], run.model.rnn.get_weights()
    except (AttributeError, KeyError, TypeError):
        return False
    return len(mine) == len(theirs) and all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))


def trained_text(custom: dict | None, run=None) -> TextTask | None:
    """The text task of the layer in use, when it is known: from the layer's own record (``example`` with a
    ``vocabulary``), or from the session's training run when the layer holds its weights. None otherwise."""
    if not custom:
        return None
    example = custom.get("example") or {}
    vocabulary, name = example.get("vocabulary"), example.get("task", "")
    if vocabulary is None and run is not None and getattr(run.task, "vocabulary", ()) and same_weights(custom, run):
        vocabulary, name = run.task.vocabulary, run.task.name
    if not vocabulary or len(vocabulary) != custom.get("input_dim"):
        return None
    vocabulary = tuple(vocabulary)
    if name == "brackets":
        text = task_lib.bracket_text(DEFAULT_CHARS, seed=TEXT_SEED)
    elif run is not None and name == "next_character" and set(run.settings.text) <= set(vocabulary):
        text = run.settings.text[:MAX_CHARS]
    elif example.get("text"):                   # saved with the model's .keras file (a text record)
        text = example["text"][:MAX_CHARS]
    else:                                       # the first sequence it learned from
        text = decode(np.asarray(example.get("x", np.zeros((1, 0, len(vocabulary)))))[0], vocabulary)
    return TextTask(name, vocabulary, text)


def decode(x: Array, vocabulary) -> str:
    """The characters of one-hot rows x (T, V) (normalised one-hot too: the largest entry of each row)."""
    return "".join(vocabulary[i] for i in np.argmax(x, axis=-1)) if len(x) else ""


def encode(text: str, vocabulary) -> Array:
    """text as one sequence of one-hot rows (1, T, V) float32; a UserError for a character not in ``vocabulary``."""
    index = {ch: i for i, ch in enumerate(vocabulary)}
    unknown = sorted(set(text) - index.keys())
    if unknown:
        raise UserError(N_("The text has characters this layer never saw: {unknown}. It reads only these {n}: "
                           "{vocabulary}."), unknown=" ".join(repr(c) for c in unknown[:20]), n=len(vocabulary),
                        vocabulary=" ".join(repr(c) for c in vocabulary))
    if len(text) < 2:
        raise UserError(N_("The text has {n} character(s); the page needs at least 2."), n=len(text))
    codes = np.fromiter((index[ch] for ch in text), np.int64, len(text))
    return np.eye(len(vocabulary), dtype=np.float32)[codes][None]


def text_signals(text: str) -> dict[str, Array]:
    """Per character (T,): the nesting depth after it, its position in its word (0 off words), 1 at a space."""
    word = np.zeros(len(text))
    run = 0
    for t, ch in enumerate(text):
        run = run + 1 if ch.isalpha() else 0
        word[t] = run
    return {"depth": task_lib.nesting_depth(text).astype(np.float64), "word": word,
            "space": np.array([ch.isspace() for ch in text], np.float64)}


def step_signals(x: Array) -> dict[str, Array]:
    """Per step (B, T): its number, and the first input feature."""
    B, T, _ = x.shape
    return {"step": np.tile(np.arange(T, dtype=np.float64), (B, 1)), "input": np.asarray(x[..., 0], np.float64)}


def held_input(option: str, x: Array, vocabulary=()) -> Array:
    """The input (D,) the fixed-point search holds: zeros, the mean input, or one character's one-hot row."""
    D = x.shape[-1]
    if option.startswith("char:"):
        held = np.zeros(D)
        held[list(vocabulary).index(option[5:])] = 1.0
        return held
    if option == HELD_MEAN:
        return np.asarray(x, np.float64).reshape(-1, D).mean(axis=0)
    return np.zeros(D)


# -- what it costs ---------------------------------------------------------------------------------------------

# Measured (one BLAS thread, random weights, OPENBLAS_NUM_THREADS=1): the fixed-point search from n starts takes
# 0.04 s (H = 16, n = 256) to 2.8 s (LSTM, H = 256, n = 256), about n (1.5e-4 + 6.5e-10 H^3) s; its peak memory
# is about n H^2 x 8 bytes x 2 (SimpleRNN), 3 (GRU), 5 (LSTM: its Jacobians are 2H x 2H). Both doubled here for
# the starts that take all of Newton's iterations. PCA and the correlations of the states copy them in float64:
# 0.5 s and 24 bytes per value at 100,000 x 256, three signals and the matches included: 8e-8 s per value.
FIXED_POINT_SECONDS = (0.05, 1.5e-4, 1.5e-9)          # fixed, per start, per start x H^3
FIXED_POINT_MEMORY = {"simple_rnn": 4.0, "gru": 6.0, "lstm": 10.0}   # x starts x H^2 x 8 bytes
ANALYSIS_SECONDS = 8e-8                               # per state value (step x unit)
ANALYSIS_BYTES = 32.0                                 # per state value


def estimate(cell: str, batch: int, steps: int, units: int, features: int, classes: int = 5,
             starts: int = DEFAULT_STARTS) -> budget.Estimate:
    """Peak memory and seconds of the whole page: the forward pass (as the hidden-states page's NumPy column),
    the analyses of its states, and the fixed-point search from ``starts`` starts."""
    base = budget.estimate("hidden-states", batch, steps, units, features, False, cell, classes)
    values = float(batch) * steps * units
    S = units * (2 if cell == "lstm" else 1)
    fixed, per_start, per_cube = FIXED_POINT_SECONDS
    seconds = base.seconds + ANALYSIS_SECONDS * values + fixed + starts * (per_start + per_cube * units ** 3)
    nbytes = (base.bytes + ANALYSIS_BYTES * values + 8.0 * batch * steps * S
              + FIXED_POINT_MEMORY[cell] * starts * units ** 2 * 8.0)
    return replace(base, page=PAGE, bytes=float(nbytes), seconds=float(seconds))


@dataclass(frozen=True)
class Fit:
    """The nearest view that fits: its sequences, steps and starts, what it costs and what was changed."""

    batch: int
    steps: int
    starts: int
    estimate: budget.Estimate
    changes: tuple[Message, ...]


def _round_below(n: int) -> list[int]:
    """Round numbers below n (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k), largest first, down to 2."""
    out = {int(m * 10 ** k) for k in range(0, 7) for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)}
    return sorted((v for v in out if 2 <= v < n), reverse=True)


def nearest_fitting(cell: str, batch: int, steps: int, units: int, features: int, classes: int = 5,
                    starts: int = DEFAULT_STARTS) -> Fit | None:
    """The nearest view within the budget, or None when not even 2 steps with 8 starts fit.

    The data is what a visitor came to see, so first fewer fixed-point starts (down the STARTS ladder), then
    fewer sequences, then fewer steps of one sequence, each time with the most starts that fit.
    """
    def fits(b: int, t: int) -> int | None:
        for n in [starts] + [n for n in STARTS if n < starts]:
            if estimate(cell, b, t, units, features, classes, n).fits:
                return n
        return None

    candidates = [(b, steps) for b in range(batch, 0, -1)] + [(1, t) for t in _round_below(steps)]
    for b, t in candidates:
        n = fits(b, t)
        if n is not None:
            changes = [Message(N_("batch {old} → {new}"), {"old": batch, "new": b})] if b != batch else []
            if t != steps:
                changes.append(Message(N_("steps {old:,} → {new:,}"), {"old": steps, "new": t}))
            if n != starts:
                changes.append(Message(N_("fixed-point starts {old} → {new}"), {"old": starts, "new": n}))
            return Fit(b, t, n, estimate(cell, b, t, units, features, classes, n), tuple(changes))
    return None


# -- the analyses (cached for every visitor) ------------------------------------------------------------------


def in_input_order(cfg: AppConfig, values: Array) -> Array:
    """(B, T, ...) in processing order -> input order (step t: after reading input step t)."""
    return values[:, ::-1] if cfg.go_backwards else values


def quantities(cfg: AppConfig, x: Array) -> dict[str, Array]:
    """Everything the cell computes per step and unit, (B, T, H) in input order: h (c), then its gates."""
    run = cache.numpy_forward(cfg, x, None)
    return {name: in_input_order(cfg, values) for name, values in run.sequences.items()}


@RESULTS.memoize
def unit_correlations(cfg: AppConfig, x: Array, quantity: str, signal: Array):
    """Pearson r of every unit's ``quantity`` with ``signal`` (B, T): rnn_core's UnitCorrelations, all units."""
    values = quantities(cfg, x)[quantity]
    return correlated_units(values, signal, top_k=values.shape[-1])


@RESULTS.memoize
def state_space(cfg: AppConfig, x: Array, k: int):
    """h_t's first k principal components (rnn_core's StatePCA; projections (B, T, k) in input order)."""
    return pca_trajectories(quantities(cfg, x)["h"], k)


def project(pca, states: Array) -> Array:
    """Points (K, H) in the principal components of ``pca``: (s - mean) V_k."""
    return (np.asarray(states, np.float64) - pca.mean) @ pca.components.T


@RESULTS.memoize
def fixed_point_search(cfg: AppConfig, x: Array, held: Array, starts: int):
    """Fixed points of one step with the input held at ``held`` (D,), from ``starts`` of the visited states."""
    weights = cache.weights(cfg, x.shape[-1])
    layer = cfg.layer_class(**asdict(cfg.with_sequences().rnn_config()))
    layer.build((1, 1, x.shape[-1]))
    layer.set_weights([np.array(w) for w in weights])
    run = cache.numpy_forward(cfg, x, None)
    visited = np.concatenate([run.sequences[name] for name in layer.cell.state_names], axis=-1)
    return fixed_points(layer, x=held, n_starts=int(starts), states=visited.reshape(-1, visited.shape[-1]),
                        seed=cfg.seed)


@dataclass(frozen=True)
class Selection:
    """LSTMVis' select and match on one quantity: the units on over the span, its matches, the top units."""

    units: Array           # (k,) on at every step of the span (value >= threshold)
    matches: list          # rnn_core Match, best first
    top_units: Array       # (m,) the units with the largest mean value over the span, largest first
    top_means: Array       # (m,) their means


@RESULTS.memoize
def select_and_match(cfg: AppConfig, x: Array, quantity: str, seq: int, start: int, stop: int,
                     threshold: float, top: int = 5) -> Selection:
    """selected_units and match_pattern on [start, stop) of sequence ``seq`` (UserError: a span outside the
    sequence, or a threshold no unit reaches over the whole span)."""
    values = quantities(cfg, x)[quantity]
    units = selected_units(values, seq, start, stop, threshold)
    matches = match_pattern(values, seq, start, stop, threshold, top_k=TOP_MATCHES)   # no unit on: a UserError
    means = values[seq, start:stop].mean(axis=0)
    order = np.lexsort((np.arange(means.size), -means))[:top]
    return Selection(units, matches, order, means[order])


def default_selection(values: Array, length: int = 3) -> tuple[int, int, float]:
    """A first selection for one sequence's values (T, H): the ``length`` steps where one unit stays highest,
    and a threshold a little below that unit's lowest value there, so it and the units that follow it are
    selected. Returns (start, stop, threshold), the threshold a multiple of 0.05."""
    T = len(values)
    L = max(1, min(length, T))
    lows = np.min(np.stack([values[i:T - L + 1 + i] for i in range(L)]), axis=0)     # (T - L + 1, H)
    best = lows.max(axis=1)
    start = int(np.argmax(best))
    return start, start + L, float(np.floor(0.9 * best[start] * 20) / 20)


@RESULTS.memoize
def saturation(cfg: AppConfig, x: Array) -> dict[str, tuple[Array, Array]]:
    """gate -> (left-saturated fraction (H,), right-saturated fraction (H,)) of its sigmoid gates; {} for a cell
    without them (SimpleRNN) or with a recurrent activation that does not saturate at 0 and 1."""
    kind = cfg.kind
    if kind not in SIGMOID_GATES or cfg.recurrent_activation not in SATURATING:
        return {}
    values = quantities(cfg, x)
    return {gate: saturation_fractions(values[gate])[:2] for gate in SIGMOID_GATES[kind]}
