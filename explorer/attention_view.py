"""The Attention page's state: an encoder-decoder trained a bounded chunk at a time, with its Keras twin.

No Streamlit here, so all of it is tested directly. The page keeps one :class:`AttentionRun` in
``st.session_state`` and a ``st.fragment(run_every=...)`` calls ``advance(seconds)`` once per tick, as the
Training page does (explorer/training_view.py): each tick trains for a fraction of a second, then the page
draws and yields, so Pause and every other visitor get their turn within a moment.

A run trains ``rnn_core.training.seq2seq.Seq2Seq`` with teacher forcing (``train_step``: one Keras
``train_on_batch``). Alongside, on the very same batches:

* the *other variant* (without attention when the run has it, with dot attention when it has none), for the
  "with vs without attention" curves (held-out accuracy per step, accuracy by input length, ||dL/dx_t||);
* when Keras is on, the Keras twin (``keras_bridge.build_seq2seq_model``, the same initial weights) takes
  ``seq2seq_train_on_batch`` on the batch NumPy just used, so the two loss curves can be compared step for step.

Every run is estimated before it starts (:meth:`AttentionSettings.check_budget`) with the Training page's
budget (rnn_core.training_budget: MAX_SECONDS of estimated NumPy compute, MAX_STEPS steps).
"""

from __future__ import annotations

import functools
import io
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

import numpy as np

from rnn_core.messages import N_, Message
from rnn_core.training.optimizers import Adam
from rnn_core.training.seq2seq import (
    DecoderStep,
    Seq2Seq,
    input_gradient_norms,
    sequence_accuracy,
    train_step,
)
from rnn_core.training.seq2seq_tasks import END, PAD, SEQ2SEQ_TASKS, Seq2SeqTask
from rnn_core.training_budget import (
    MAX_SECONDS,
    MAX_STEPS,
    STEP_OVERHEAD,
    WORK_RATE,
    BudgetError,
    estimate_step_seconds,
)

from .keras_turn import KERAS_TURN

Array = np.ndarray

# Stable option values (URL-safe, independent of the UI's language); the page shows translated labels.
TASKS = tuple(SEQ2SEQ_TASKS)
TASK_LABELS = {"reverse": N_("reverse the digits"), "sort_digits": N_("sort the digits"),
               "delayed_copy": N_("copy after a delay"), "date_normalisation": N_("dates to YYYY-MM-DD"),
               "korean_numerals": N_("Korean numerals to digits")}
LENGTH_TASKS = ("reverse", "sort_digits", "delayed_copy")      # the tasks whose source length the page sets
ATTENTION_KINDS = ("none", "dot", "additive")                   # "none" is the core's None
ATTENTION_LABELS = {"none": N_("none"), "dot": N_("dot (Luong)"), "additive": N_("additive (Bahdanau)")}
CELL_KINDS = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}
KERAS_NAMES = {v: k for k, v in CELL_KINDS.items()}
LEARNING_RATES = ("0.001", "0.003", "0.01", "0.03")
MAX_UNITS = 128
MAX_LENGTH = 30               # source symbols the page offers (the core takes up to 60)
EVAL_SEQUENCES = 100          # held-out sequences decoded for the accuracy curve
MAX_EVALUATIONS = 50          # points of the held-out accuracy curve (and at least every 10 steps)
LENGTH_SEQUENCES = 50         # fresh sequences per source length for the accuracy-by-length curve
LENGTH_CHECKS = 4             # the by-length curve is measured this many times in a run (and at its end)
GRADIENT_SEQUENCES = 16       # sequences of the longest length whose ||dL/dx_t|| are averaged
EXPORT_SEQUENCES = 64         # held-out sequences whose attention weights go into the NPZ
MIN_TICKS = 30                # a run is drawn in at least this many ticks
EARLY_STEPS = 20              # the parity badge compares the first steps (later, float32 rounding compounds)
LOSS_TOLERANCE = 1e-3         # relative |NumPy loss - Keras loss| over those steps
# Multiply-adds per (query, key, unit) of the attention scores and context, forward and backward together:
# dot = q.k and a.v (and their gradients); additive adds tanh(q + k) and its backward over (Tq, Tv, Hd).
ATTENTION_WORK = {None: 0, "dot": 8, "additive": 40}
DECODE_CALL_SECONDS = 0.6e-3  # greedy decoding: Python cost of one decoder step (layer calls on T = 1)


# Every Keras call of this page runs on one long-lived thread. A tf.function called from a thread it has not run
# on before pays part of its tracing again (measured: 0.13-0.5 s for the twin's train function, against 8 ms a
# step), and Streamlit runs each tick of the page in a new script thread: without this, every tick would pay it.
_KERAS_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attention-keras")


def on_keras_thread(fn, *args):
    """``fn(*args)`` on the page's Keras thread, holding KERAS_TURN (Keras work takes turns across visitors)."""
    def call():
        with KERAS_TURN:
            return fn(*args)
    return _KERAS_WORKER.submit(call).result()


def core_attention(kind: str) -> str | None:
    return None if kind == "none" else kind


def estimate_seq2seq_step_seconds(cell: str, batch: int, source_steps: int, target_steps: int, vocab_in: int,
                                  vocab_out: int, units: int, attention: str | None, bidirectional: bool) -> float:
    """Estimated seconds of one Seq2Seq ``train_step`` here: encoder and decoder as the Training page's recurrent
    layers (rnn_core.training_budget), plus attention and the output Dense.

    Measured on the 2-core server (bench/bench_seq2seq.py at (32, 20, 64)) while other jobs ran (load average
    4-8) against this estimate in brackets, in ms: LSTM + dot 32 (35), GRU + dot 26 (35), SimpleRNN + dot 8.6
    (12), LSTM without attention 31 (31), LSTM + additive 34 (49), Bidirectional LSTM + dot 52 (76); on the
    quiet machine (load 2) a third of that (LSTM + dot 11.9, additive 15.8, Bidirectional 21.2). On the safe side,
    as the Training page's budget.
    """
    directions = 2 if bidirectional else 1
    Hd = directions * units
    encoder = directions * estimate_step_seconds(cell, batch, source_steps, vocab_in, units, 0)
    decoder = estimate_step_seconds(cell, batch, target_steps, vocab_out, Hd, 0)
    features = 2 * Hd if attention else Hd
    head = 3 * batch * target_steps * features * vocab_out / WORK_RATE + target_steps * STEP_OVERHEAD
    scores = batch * target_steps * source_steps * Hd * ATTENTION_WORK[attention] / WORK_RATE
    return encoder + decoder + head + scores


def estimate_decode_seconds(cell: str, batch: int, source_steps: int, target_steps: int, vocab_in: int,
                            vocab_out: int, units: int, attention: str | None, bidirectional: bool) -> float:
    """Greedy decoding of ``batch`` sequences: a forward pass (a third of a step) and one Python call per step."""
    forward = estimate_seq2seq_step_seconds(cell, batch, source_steps, target_steps, vocab_in, vocab_out, units,
                                            attention, bidirectional) / 3
    return forward + target_steps * DECODE_CALL_SECONDS


@functools.lru_cache(maxsize=16)
def make_task(task: str, min_len: int, max_len: int, seed: int) -> Seq2SeqTask:
    """The generated task (a few thousand pairs, tens of milliseconds), shared: a task never changes."""
    if task not in SEQ2SEQ_TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}.")
    if task in LENGTH_TASKS:
        return SEQ2SEQ_TASKS[task](min_len=min_len, max_len=max_len, seed=seed)
    return SEQ2SEQ_TASKS[task](seed=seed)


@dataclass(frozen=True)
class AttentionSettings:
    """What the page's controls ask for (every field bounded by the widgets and checked by the core)."""

    task: str = "reverse"
    cell: str = "lstm"                # rnn_core's name: "simple_rnn", "lstm" or "gru"
    units: int = 32
    attention: str = "dot"            # "none", "dot" or "additive"
    bidirectional: bool = False
    min_len: int = 3                  # source symbols (reverse, sort_digits, delayed_copy)
    max_len: int = 10
    seed: int = 0
    learning_rate: float = 0.01       # Adam's (rnn_core.training.seq2seq.DEFAULT_LEARNING_RATE)
    steps: int = 600                  # training steps (batches)
    batch_size: int = 32
    compare: bool = True              # train the other variant alongside (with vs without attention)
    keras: bool = True

    @property
    def other_attention(self) -> str:
        """The variant trained alongside: without attention, or dot attention when this run has none."""
        return "dot" if self.attention == "none" else "none"

    def make_task(self) -> Seq2SeqTask:
        return make_task(self.task, self.min_len, self.max_len, self.seed)

    def shape(self, task: Seq2SeqTask) -> tuple[int, int, int, int]:
        """(source steps Ts, target steps Tt, V_in, V_out) of the training arrays."""
        source = max(task.lengths[1], max(len(s) for s in task.source))
        target = max(len(t) for t in task.target + task.held_out_target) + 1
        return source, target, len(task.source_vocabulary), len(task.target_vocabulary)

    def _step(self, task: Seq2SeqTask, attention: str, batch: int | None = None, decode: bool = False) -> float:
        Ts, Tt, Vi, Vo = self.shape(task)
        estimate = estimate_decode_seconds if decode else estimate_seq2seq_step_seconds
        return estimate(self.cell, batch or self.batch_size, Ts, Tt, Vi, Vo, self.units, core_attention(attention),
                        self.bidirectional)

    def evaluations(self) -> int:
        return math.ceil(self.steps / eval_every(self.steps))

    def step_seconds(self, task: Seq2SeqTask) -> float:
        """One training step of this run: the model, and the other variant when it trains alongside."""
        kinds = (self.attention, self.other_attention) if self.compare else (self.attention,)
        return sum(self._step(task, k) for k in kinds)

    def fixed_seconds(self, task: Seq2SeqTask) -> float:
        """What a run costs besides its steps: the held-out evaluations and the by-length curves."""
        kinds = (self.attention, self.other_attention) if self.compare else (self.attention,)
        lengths = task.lengths[1] - task.lengths[0] + 1
        per_eval = sum(self._step(task, k, EVAL_SEQUENCES, decode=True) for k in kinds)
        per_length = sum(self._step(task, k, LENGTH_SEQUENCES, decode=True) for k in kinds) * lengths
        return self.evaluations() * per_eval + (LENGTH_CHECKS + 1) * per_length

    def check_budget(self, task: Seq2SeqTask) -> float:
        """Estimated seconds of NumPy compute for the whole run; BudgetError past the server's budget."""
        if self.steps > MAX_STEPS:
            raise BudgetError(N_("{steps:,} training steps requested; the limit is {limit:,} per run."),
                              steps=self.steps, limit=MAX_STEPS)
        total = self.steps * self.step_seconds(task) + self.fixed_seconds(task)
        if total > MAX_SECONDS:
            Ts, Tt, _vi, _vo = self.shape(task)
            raise BudgetError(N_("{steps:,} steps of batch {batch} with {source} source and {target} target steps "
                                 "and {units} units would take about {total:.0f} s here; the limit is {limit:.0f} s "
                                 "per run. Use fewer steps, shorter inputs or fewer units."),
                              steps=self.steps, batch=self.batch_size, source=Ts, target=Tt, units=self.units,
                              total=total, limit=MAX_SECONDS)
        return total

    def fitting_steps(self, task: Seq2SeqTask) -> int:
        """The most steps within the budget (0 if not even one fits)."""
        room = MAX_SECONDS - self.fixed_seconds(task)
        return max(0, min(MAX_STEPS, int(room / self.step_seconds(task)))) if room > 0 else 0

    def fitting_units(self, task: Seq2SeqTask) -> int:
        """The most units (halving, down to 1) with which 100 steps fit."""
        units = self.units
        while units > 1:
            units = max(1, units // 2)
            if replace(self, units=units, steps=100).fitting_steps(task) >= 100:
                return units
        return 1

    def describe(self) -> Message:
        """"LSTM(32), reverse the digits, dot (Luong)": a Message (English as a str, translated by the page)."""
        return Message("{cell}({units}), {task}, {attention}",
                       {"cell": ("Bidirectional " if self.bidirectional else "") + KERAS_NAMES[self.cell],
                        "units": self.units, "task": Message(TASK_LABELS[self.task]),
                        "attention": Message(ATTENTION_LABELS[self.attention])})


def eval_every(steps: int) -> int:
    """Steps between two held-out evaluations: at most MAX_EVALUATIONS in a run, and at least every 10 steps."""
    return max(10, math.ceil(steps / MAX_EVALUATIONS))


# -- one decoder step's numbers, and the tokens on the axes ---------------------------------------------------

@dataclass(frozen=True)
class Example:
    """One held-out pair as the model reads and answers it."""

    index: int
    source: tuple[str, ...]           # the real source tokens
    target: tuple[str, ...]           # the target tokens (without </s>)
    output: tuple[str, ...]           # the greedy decoding, up to and including </s> (or max steps)
    columns: tuple[str, ...]          # every encoder step's token: "<pad>" x offset, then the source
    attention: Array | None           # (len(output), len(columns)) weights, each row summing to 1
    correct: bool
    offset: int                       # padding steps before the source (left padding)


class AttentionRun:
    """One encoder-decoder trained in chunks (and the other variant beside it): status "running", "paused" or
    "done"."""

    def __init__(self, settings: AttentionSettings, task: Seq2SeqTask) -> None:
        self.settings, self.task = settings, task
        s = settings
        self.train = task.arrays()
        self.held = task.arrays(held_out=True)
        Vi, Vo = len(task.source_vocabulary), len(task.target_vocabulary)
        self.model = Seq2Seq(Vi, Vo, s.units, s.cell, core_attention(s.attention), s.bidirectional, s.seed)
        self.initial_weights = [w.copy() for w in self.model.get_weights()]
        self.optimizer = Adam(s.learning_rate)
        self.other = self.other_optimizer = None
        if s.compare:
            self.other = Seq2Seq(Vi, Vo, s.units, s.cell, core_attention(s.other_attention), s.bidirectional, s.seed)
            self.other_optimizer = Adam(s.learning_rate)
        self.rng = np.random.default_rng(s.seed)
        self._order, self._cursor = self.rng.permutation(len(self.train)), 0
        self.last_indices: Array | None = None
        self.loss: list[float] = []
        self.other_loss: list[float] = []
        self.keras_loss: list[float] = []
        self.evaluations: list[tuple[int, float, float | None]] = []     # (step, accuracy, other's accuracy)
        self.length_curves: dict[int, dict[str, list[float]]] = {}       # step -> {"lengths", "model", "other"}
        self.every = eval_every(s.steps)
        self.steps_per_tick = max(1, math.ceil(s.steps / MIN_TICKS))
        self.length_steps = {round(s.steps * k / LENGTH_CHECKS) for k in range(1, LENGTH_CHECKS + 1)}
        low, high = task.lengths
        self.length_batches = list(task.by_length(range(low, high + 1), n=LENGTH_SEQUENCES, seed=s.seed + 5))
        _, self.gradient_batch = next(task.by_length([high], n=GRADIENT_SEQUENCES, seed=s.seed + 7))
        self._initial_paths: dict[int, dict[str, Array]] = {}
        self.keras_model = None           # built on the first tick when Keras is on
        self._keras_forward = None        # a twin that takes NumPy's weights, for the probabilities' parity
        self.numpy_seconds = self.keras_seconds = 0.0
        self.status = "running"
        self._evaluate()                  # step 0: before training

    # -- progress ---------------------------------------------------------------------------------

    @property
    def steps_done(self) -> int:
        return len(self.loss)

    @property
    def done(self) -> bool:
        return self.steps_done >= self.settings.steps

    @property
    def needs_keras(self) -> bool:
        return self.settings.keras and self.keras_model is None

    def start_keras(self) -> None:
        """Build and compile the Keras twin from the initial weights (imports TensorFlow: seconds, once)."""
        from rnn_core import keras_bridge as kb  # noqa: PLC0415 - TensorFlow only when Keras is on

        s = self.settings

        def build():
            model = kb.build_seq2seq_model(s.cell, s.units, self.model.config.vocab_in, self.model.config.vocab_out,
                                           core_attention(s.attention), s.bidirectional, self.initial_weights)
            kb.compile_seq2seq(model, self.optimizer.get_config())
            return model
        self.keras_model = on_keras_thread(build)

    def _next_batch(self) -> Array:
        """The next batch of the epoch's shuffled order (a new order each epoch). Every batch is full: the pairs
        left over at an epoch's end wait for the next order, so Keras' compiled step never sees a second shape
        (a retrace: seconds)."""
        n, B = len(self.train), min(self.settings.batch_size, len(self.train))
        if self._cursor + B > n:
            self._order, self._cursor = self.rng.permutation(n), 0
        idx = self._order[self._cursor:self._cursor + B]
        self._cursor += B
        return idx

    def advance(self, seconds: float) -> int:
        """Train for about ``seconds`` and at most ``steps_per_tick`` steps (at least one step, never past the
        run's end); the number of steps done. The first call with Keras on builds its twin instead."""
        if self.done or self.status != "running":
            return 0
        if self.needs_keras:
            self.start_keras()
            return 0
        before = self.steps_done
        self._step()
        # The clock starts after the tick's first step: in a Streamlit script run the first call of Keras' compiled
        # step costs 0.1-0.5 s (the next ones ~8 ms; measured on the Training page's twin too), and counting it
        # would leave a tick one step.
        deadline = time.perf_counter() + seconds
        while not self.done and self.steps_done - before < self.steps_per_tick and time.perf_counter() < deadline:
            self._step()
        if self.done:
            self.status = "done"
        return self.steps_done - before

    def _step(self) -> None:
        b = self.train
        idx = self.last_indices = self._next_batch()
        start = time.perf_counter()
        self.loss.append(train_step(self.model, self.optimizer, b.x[idx], b.y_in[idx], b.y_out[idx]))
        if self.other is not None:
            self.other_loss.append(train_step(self.other, self.other_optimizer, b.x[idx], b.y_in[idx], b.y_out[idx]))
        self.numpy_seconds += time.perf_counter() - start
        if self.keras_model is not None:
            from rnn_core import keras_bridge as kb  # noqa: PLC0415

            start = time.perf_counter()
            self.keras_loss.append(on_keras_thread(kb.seq2seq_train_on_batch, self.keras_model, b.x[idx],
                                                   b.y_in[idx], b.y_out[idx]))
            self.keras_seconds += time.perf_counter() - start
        step = self.steps_done
        if step % self.every == 0 or self.done:
            self._evaluate()
        if step in self.length_steps or self.done:
            self.length_curves[step] = self.by_length()

    def _evaluate(self) -> None:
        x, y = self.held.x[:EVAL_SEQUENCES], self.held.y_out[:EVAL_SEQUENCES]
        other = sequence_accuracy(self.other, x, y) if self.other is not None else None
        self.evaluations.append((self.steps_done, sequence_accuracy(self.model, x, y), other))

    def by_length(self) -> dict[str, list]:
        """Sequence accuracy on fresh pairs of each source length, for the model and the other variant."""
        out = {"lengths": [length for length, _b in self.length_batches],
               "model": [sequence_accuracy(self.model, b.x, b.y_out) for _l, b in self.length_batches]}
        if self.other is not None:
            out["other"] = [sequence_accuracy(self.other, b.x, b.y_out) for _l, b in self.length_batches]
        return out

    def latest_length_curve(self) -> tuple[int, dict[str, list]] | None:
        if not self.length_curves:
            return None
        step = max(self.length_curves)
        return step, self.length_curves[step]

    @property
    def held_out_accuracy(self) -> float:
        return self.evaluations[-1][1]

    # -- what the page shows ------------------------------------------------------------------------

    def default_example(self) -> int:
        """A held-out pair of the longest source with the most different tokens (its alignment is the clearest)."""
        ids = self.held.source_ids
        real = (ids != PAD).sum(axis=1)
        distinct = np.array([len(set(row[row != PAD].tolist())) for row in ids])
        return int(np.lexsort((-distinct, -real))[0])

    def source_tokens(self, index: int) -> tuple[tuple[str, ...], int]:
        """Every encoder step's token of held-out pair ``index`` ("<pad>" first: sources are padded on the left,
        and the decoder may attend there too) and the number of padding steps."""
        ids = self.held.source_ids[index]
        offset = int(np.argmax(ids != PAD)) if (ids != PAD).any() else len(ids)
        return tuple(self.task.source_vocabulary.tokens[i] for i in ids), offset

    def example(self, index: int, variant: str = "model") -> Example:
        """Held-out pair ``index`` decoded greedily by the run's model (or the ``"other"`` variant), with its
        attention weights over every encoder step."""
        model = self.model if variant == "model" else self.other
        h = self.held
        x, y_out = h.x[index:index + 1], h.y_out[index:index + 1]
        tokens, weights = model.predict_greedy(x, y_out.shape[1])
        is_end = y_out[0] == END
        last = int(np.argmax(is_end)) if is_end.any() else y_out.shape[1] - 1
        correct = bool(np.array_equal(tokens[0, :last + 1], y_out[0, :last + 1]))     # as sequence_hits
        columns, offset = self.source_tokens(index)
        out = tokens[0].tolist()
        n_out = out.index(END) + 1 if END in out else len(out)
        output = tuple(self.task.target_vocabulary.tokens[i] for i in out[:n_out])
        attention = None if weights is None else weights[0, :n_out]
        return Example(index, columns[offset:], self.task.target_vocabulary.decode(y_out[0]), output, columns,
                       attention, correct, offset)

    def explain(self, index: int, step: int) -> DecoderStep:
        """Seq2Seq.explain_step for held-out pair ``index`` at decoder step ``step`` (teacher forcing)."""
        return self.model.explain_step(self.held.x, self.held.y_in, step, index)

    def decoder_inputs(self, index: int) -> tuple[str, ...]:
        """The tokens the decoder reads under teacher forcing: <s> y_1 .. y_L."""
        ids = self.held.y_in[index].argmax(axis=-1)
        last = int(np.flatnonzero(self.held.y_out[index] == END)[0]) if (self.held.y_out[index] == END).any() \
            else len(ids) - 1
        return tuple(self.task.target_vocabulary.tokens[i] for i in ids[:last + 1])

    def gradient_paths(self, output_step: int, initial: bool = False) -> dict[str, Array]:
        """Mean ||dL/dx_t|| over GRADIENT_SEQUENCES sources of the longest length, for one output step:
        {"model": (Ts,), "other": (Ts,)} (the other only when it trains alongside). ``initial``: at the
        initial weights (the same seed), where only the paths differ, not how well each model has learnt."""
        if initial:
            if output_step not in self._initial_paths:
                self._initial_paths[output_step] = self._paths(self._initial_models(), output_step)
            return self._initial_paths[output_step]
        return self._paths({"model": self.model, "other": self.other}, output_step)

    def _paths(self, models: dict, output_step: int) -> dict[str, Array]:
        b = self.gradient_batch
        return {name: input_gradient_norms(m, b.x, b.y_in, b.y_out, output_step).mean(axis=0)
                for name, m in models.items() if m is not None}

    def _initial_models(self) -> dict:
        s = self.settings
        Vi, Vo = self.model.config.vocab_in, self.model.config.vocab_out
        kinds = {"model": s.attention} | ({"other": s.other_attention} if self.other is not None else {})
        return {name: Seq2Seq(Vi, Vo, s.units, s.cell, core_attention(k), s.bidirectional, s.seed)
                for name, k in kinds.items()}

    @property
    def gradient_output_steps(self) -> int:
        """Output steps of the gradient batch up to the last real output (its </s> excluded)."""
        ends = (self.gradient_batch.y_out == END).argmax(axis=1)
        return max(1, int(ends.max()))

    # -- NumPy vs Keras -------------------------------------------------------------------------------

    def loss_parity(self, first: int | None = EARLY_STEPS) -> tuple[float, int] | None:
        """(max relative |NumPy loss - Keras loss| over the first ``first`` steps both ran (all with None),
        steps compared), or None before Keras' first step."""
        n = min(len(self.keras_loss), self.steps_done)
        if first is not None:
            n = min(n, first)
        if n == 0:
            return None
        mine = np.asarray(self.loss[:n], np.float64)
        theirs = np.asarray(self.keras_loss[:n], np.float64)
        return float(np.max(np.abs(mine - theirs) / np.maximum(np.abs(theirs), 1e-12))), n

    def probability_parity(self, n: int = EVAL_SEQUENCES) -> tuple[Array, Array]:
        """(NumPy's, Keras') teacher-forced probabilities of the first ``n`` held-out pairs, Keras' twin holding
        NumPy's current weights: the same model on both sides, whatever the two training runs did."""
        from rnn_core import keras_bridge as kb  # noqa: PLC0415

        s, h = self.settings, self.held
        x, y_in = h.x[:n], h.y_in[:n]
        mine = self.model.forward(x, y_in)

        def forward():
            if self._keras_forward is None:
                self._keras_forward = kb.build_seq2seq_model(s.cell, s.units, self.model.config.vocab_in,
                                                             self.model.config.vocab_out, core_attention(s.attention),
                                                             s.bidirectional)
            kb.set_seq2seq_weights(self._keras_forward, self.model.get_weights())
            return np.asarray(self._keras_forward([x, y_in], training=False))
        return mine, on_keras_thread(forward)

    # -- exports ----------------------------------------------------------------------------------------

    def keras_bytes(self) -> bytes:
        """The trained model as a .keras file (the functional twin with NumPy's trained weights)."""
        from rnn_core import keras_bridge as kb  # noqa: PLC0415

        s = self.settings

        def save():
            model = kb.build_seq2seq_model(s.cell, s.units, self.model.config.vocab_in, self.model.config.vocab_out,
                                           core_attention(s.attention), s.bidirectional, self.model.get_weights())
            return kb.save_model_bytes(model)
        return on_keras_thread(save)

    def attention_npz(self) -> bytes:
        """Greedy decodings of the first EXPORT_SEQUENCES held-out pairs: attention weights (B, Tt, Ts), source
        ids, output ids, targets and both vocabularies (strings, no pickles), plus the run's settings."""
        n = min(EXPORT_SEQUENCES, len(self.held))
        h = self.held
        tokens, weights = self.model.predict_greedy(h.x[:n], h.y_out.shape[1])
        arrays = {"source_ids": h.source_ids[:n], "output_ids": tokens, "target_ids": h.y_out[:n],
                  "source_vocabulary": np.array(self.task.source_vocabulary.tokens),
                  "target_vocabulary": np.array(self.task.target_vocabulary.tokens),
                  "loss_per_step": np.asarray(self.loss, np.float32),
                  "settings": np.array(str(asdict(self.settings)))}
        if weights is not None:
            arrays["attention_weights"] = weights.astype(np.float32)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()


__all__ = ["ATTENTION_KINDS", "ATTENTION_LABELS", "AttentionRun", "AttentionSettings", "BudgetError", "CELL_KINDS",
           "Example", "LEARNING_RATES", "LENGTH_TASKS", "LOSS_TOLERANCE", "MAX_LENGTH", "MAX_UNITS", "TASKS",
           "TASK_LABELS", "core_attention", "estimate_decode_seconds", "estimate_seq2seq_step_seconds", "make_task",
           "on_keras_thread"]
