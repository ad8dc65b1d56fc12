"""The Training page's state: a training run advanced a bounded chunk at a time, with its Keras twin.

No Streamlit here, so all of it is tested directly. The page keeps one
:class:`TrainingRun` (or :class:`CompareRun`) in ``st.session_state`` and a
``st.fragment(run_every=...)`` calls ``advance(seconds)`` once per tick: each
tick trains for at most a fraction of a second, then the page draws and yields,
so Pause, Reset and every other visitor get their turn within a moment.

A run follows ``rnn_core.training.trainer.Trainer``: NumPy trains; when Keras is on,
the Keras twin (``keras_bridge.build_training_model``, the same initial
weights) takes ``train_on_batch`` on the very batch NumPy just used, so the two
loss curves can be compared step for step. At the end of chosen epochs a
``Trainer.probe`` records ||dL/dh_t|| and the hidden states of one sequence.
"""

from __future__ import annotations

import io
import math
import time
import zipfile
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from rnn_core.messages import N_, Message
from rnn_core.saving.text_record import METADATA_KEY, TEXT_TASKS, text_record
from rnn_core.training import tasks as task_lib
from rnn_core.training.model import RNNClassifier
from rnn_core.training.optimizers import get as get_optimizer
from rnn_core.training.targets import TargetError
from rnn_core.training.trainer import Trainer
from rnn_core.training_budget import MAX_SECONDS, MAX_STEPS, BudgetError, check_budget, estimate_step_seconds

from .keras_turn import KERAS_TURN

Array = np.ndarray

# Stable option values (URL-safe, independent of the UI's language); the page shows labels for them,
# translated when shown (N_: English here, looked up in the visitor's catalog by the page).
TASKS = ("delayed_recall", "frame_classification", "adding_problem", "sine_forecasting", "next_character", "brackets",
         "upload")
TASK_LABELS = {"delayed_recall": N_("delayed recall (lag k)"),
               "frame_classification": N_("frame classification (39 classes)"),
               "adding_problem": N_("adding problem"), "sine_forecasting": N_("sine forecasting"),
               "next_character": N_("next character (your text)"),
               "brackets": N_("nested brackets (next character)"), "upload": N_("your data (.npz with x and y)")}
OPTIMIZERS = ("adam", "rmsprop", "sgd")
LEARNING_RATES = ("0.0001", "0.0003", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1.0")
CELL_KINDS = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}
KERAS_NAMES = {v: k for k, v in CELL_KINDS.items()}
MAX_UNITS = 128               # the Training page's bound on H (memory of the probes, time per step)
MAX_PROBES = 30               # ||dL/dh_t|| and h_t are recorded at no more than this many epochs
PROBE_SEQUENCES = 8
MAX_DATA_BYTES = 64 * 2**20   # a run's task inputs (memory per visitor)
VALIDATION_SEQUENCES = 256   # held-out sequences of the cell comparison
MIN_TICKS = 30                # a run is drawn in at least this many ticks (a quick run still visibly learns)
DEFAULT_TEXT = ("the quick brown fox jumps over the lazy dog. a recurrent network reads one character at a time "
                "and carries what it has seen in its state. ") * 4
# The next-character task's text in the visitor's language: Korean learners see a network learn Hangul
# syllables (a pangram, then a sentence about recurrent networks; 36 distinct characters).
DEFAULT_TEXTS = {"en": DEFAULT_TEXT,
                 "ko": ("다람쥐 헌 쳇바퀴에 타고파. 순환 신경망은 한 번에 한 글자씩 읽고 "
                        "지금까지 본 것을 상태에 담아 둔다. ") * 4}


def default_text(language: str) -> str:
    """The next-character task's starting text in ``language`` (English for a language without one)."""
    return DEFAULT_TEXTS.get(language, DEFAULT_TEXT)


@dataclass(frozen=True)
class TrainingSettings:
    """What the page's controls ask for (every field bounded by the widgets and checked by the core)."""

    task: str = "delayed_recall"
    cell: str = "simple_rnn"          # rnn_core's name: "simple_rnn", "lstm" or "gru"
    units: int = 32
    optimizer: str = "adam"
    learning_rate: float = 0.01
    clipnorm: float | None = None
    epochs: int = 30
    batch_size: int = 32
    n: int = 256                      # sequences in the task
    steps: int = 50                   # T (frame classification, adding, sine, next character)
    lag: int = 5                      # k (delayed recall)
    seed: int = 0
    text: str = DEFAULT_TEXT          # next character
    keras: bool = True
    layer_flags: tuple = ()           # the sidebar layer's own arguments, (name, value) pairs (see layer_flags())

    def data_bytes(self) -> int:
        """The size of the task's inputs x (float32), known before they are generated."""
        features = {"delayed_recall": 9, "frame_classification": 13, "adding_problem": 2, "sine_forecasting": 1,
                    "next_character": len(set(self.text)),
                    "brackets": len(task_lib.BRACKET_VOCABULARY)}.get(self.task, 1)
        steps = self.lag + 2 if self.task == "delayed_recall" else self.steps
        return 4 * self.n * steps * features

    def make_task(self) -> task_lib.Task:
        """The task's data, generated from the seed (a TargetError/ValueError says what is wrong)."""
        if self.data_bytes() > MAX_DATA_BYTES:
            raise TargetError(N_("The task's inputs would take {size:.0f} MB; the limit per run is {limit} MB. "
                                 "Use fewer sequences or shorter ones."),
                              size=self.data_bytes() / 2**20, limit=MAX_DATA_BYTES // 2**20)
        if self.task == "delayed_recall":
            return task_lib.delayed_recall(n=self.n, lag=self.lag, seed=self.seed)
        if self.task == "next_character":
            return task_lib.next_character(self.text, steps=self.steps, n=self.n, seed=self.seed)
        if self.task not in task_lib.TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {self.task!r}.")
        return task_lib.TASKS[self.task](n=self.n, steps=self.steps, seed=self.seed)

    def steps_per_epoch(self, task: task_lib.Task) -> int:
        return -(-len(task.x) // self.batch_size)

    def total_steps(self, task: task_lib.Task) -> int:
        return self.epochs * self.steps_per_epoch(task)

    def step_seconds(self, task: task_lib.Task) -> float:
        _, T, D = task.x.shape
        return estimate_step_seconds(self.cell, min(self.batch_size, len(task.x)), T, D, self.units, task.num_outputs)

    def check_budget(self, task: task_lib.Task) -> float:
        """Estimated seconds of NumPy compute for the whole run; BudgetError past the server's budget."""
        _, T, D = task.x.shape
        return check_budget(self.total_steps(task), self.cell, min(self.batch_size, len(task.x)), T, D, self.units,
                            task.num_outputs)

    def fitting_epochs(self, task: task_lib.Task) -> int:
        """The most epochs within the budget (0 if not even one epoch fits)."""
        per_epoch = self.step_seconds(task) * self.steps_per_epoch(task)
        return int(min(MAX_SECONDS / per_epoch, MAX_STEPS // self.steps_per_epoch(task)))

    def fitting_units(self, task: task_lib.Task) -> int:
        """The most units (down to 1) with which one epoch fits, for when fewer epochs are not enough."""
        units = self.units
        while units > 1:
            units = max(1, units // 2)
            trial = TrainingSettings(**(asdict(self) | {"units": units, "epochs": 1}))
            if trial.fitting_epochs(task) >= 1:
                return units
        return 1

    def describe(self) -> Message:
        """"SimpleRNN(16), delayed recall k=2": a Message (English as a str, translated by the page)."""
        what = (Message(N_("delayed recall k={lag}"), {"lag": self.lag}) if self.task == "delayed_recall"
                else Message(TASK_LABELS[self.task]))
        # A layout with no words: not in the catalogs (gettext leaves it as it is), its fields are translated.
        return Message("{cell}({units}), {task}", {"cell": KERAS_NAMES[self.cell], "units": self.units, "task": what})

    def make_optimizer(self):
        kwargs = {"learning_rate": self.learning_rate}
        if self.clipnorm is not None:
            kwargs["clipnorm"] = self.clipnorm
        return get_optimizer(self.optimizer, **kwargs)


def load_upload(content: bytes) -> task_lib.Task:
    """An uploaded .npz as a task, refused before NumPy decompresses it if its arrays would pass MAX_DATA_BYTES.

    (rnn_core.training.tasks.load_npz_task bounds the file's size, not what it inflates to: a small zip can hold
    gigabytes of zeros. This check belongs there; it is here until that module takes it.)
    """
    try:
        with zipfile.ZipFile(io.BytesIO(bytes(content))) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        inflated = 0                                  # load_npz_task says what is wrong with it
    if inflated > MAX_DATA_BYTES:
        raise TargetError(N_("The .npz's arrays take {size:.0f} MB once unpacked; the limit per run is {limit} MB. "
                             "Save fewer or shorter sequences."), size=inflated / 2**20, limit=MAX_DATA_BYTES // 2**20)
    return task_lib.load_npz_task(content)


# The sidebar's layer arguments a training run takes over (return_sequences follows the task; stateful is
# left out: state carried across shuffled batches would mix sequences).
LAYER_FLAGS = ("activation", "use_bias", "kernel_initializer", "recurrent_initializer", "go_backwards",
               "recurrent_activation", "unit_forget_bias", "reset_after")


def layer_flags(rnn_config) -> tuple:
    """(name, value) pairs of LAYER_FLAGS from a layer config dataclass (the fields this cell has)."""
    values = asdict(rnn_config)
    return tuple((k, values[k]) for k in LAYER_FLAGS if k in values)


class RecordingTrainer(Trainer):
    """A Trainer that remembers the indices of the batch it just trained on (for the Keras twin)."""

    last_indices: Array | None = None

    def _batch_indices(self) -> Array:
        self.last_indices = super()._batch_indices()
        return self.last_indices


@dataclass(frozen=True)
class EpochProbe:
    epoch: int                 # completed epochs when it was taken (0 = before training)
    loss: float
    hidden_grad_norm: Array    # (T,) ||dL/dh_t|| on the first PROBE_SEQUENCES training sequences
    hidden: Array              # (T, H) h_t of the first training sequence


class TrainingRun:
    """One model trained in chunks: status "running", "paused" or "done"."""

    def __init__(self, settings: TrainingSettings, task: task_lib.Task) -> None:
        self.settings, self.task = settings, task
        self.model = RNNClassifier(settings.units, cell=settings.cell, seed=settings.seed, **task.model_kwargs(),
                                   **dict(settings.layer_flags))
        self.model.build(task.x.shape)
        self.initial_weights = [w.copy() for w in self.model.get_weights()]
        self.optimizer = settings.make_optimizer()
        self.trainer = RecordingTrainer(self.model, self.optimizer, task.x, task.y, loss=task.loss,
                                        batch_size=settings.batch_size, shuffle=True, seed=settings.seed)
        self.total_steps = settings.total_steps(task)
        self.steps_per_tick = max(1, math.ceil(self.total_steps / MIN_TICKS))
        # Probed epochs: every epoch up to MAX_PROBES, else spaced geometrically (dense early, where most
        # of the learning happens) and always the last.
        spaced = np.round(np.geomspace(1, settings.epochs, MAX_PROBES - 1)).astype(int).tolist()
        self.probe_epochs = set(range(1, settings.epochs + 1) if settings.epochs < MAX_PROBES else spaced)
        self.probe_epochs.add(settings.epochs)
        self.probes: list[EpochProbe] = [self._probe()]
        self.keras_model = None           # built on the first tick when Keras is on
        self.keras_loss: list[float] = []
        self.keras_seconds = 0.0
        self.numpy_seconds = 0.0
        self.status = "running"

    # -- progress ------------------------------------------------------------------------

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    @property
    def done(self) -> bool:
        return self.steps_done >= self.total_steps

    @property
    def needs_keras(self) -> bool:
        return self.settings.keras and self.keras_model is None

    def start_keras(self) -> None:
        """Build and compile the Keras twin from the initial weights (imports TensorFlow: seconds, once)."""
        from rnn_core import keras_bridge as kb  # noqa: PLC0415 - TensorFlow only when Keras is on

        with KERAS_TURN:                                # Keras work takes turns across visitors
            model = kb.build_training_model(self.settings.cell, self.model.rnn.config, self.task.num_outputs,
                                            self.task.many_to_many, self.task.head_activation, self.task.x.shape[-1],
                                            self.initial_weights)
            kb.compile_for_training(model, self.optimizer.get_config(), self.task.loss)
        self.keras_model = model

    def advance(self, seconds: float) -> int:
        """Train for about ``seconds`` and at most ``steps_per_tick`` steps (at least one step, never past
        the run's end); the number of steps done. The first call with Keras on builds its twin instead."""
        if self.done or self.status != "running":
            return 0
        if self.needs_keras:
            self.start_keras()
            return 0
        before = self.steps_done
        start = time.perf_counter()
        self.trainer.run(steps=min(self.total_steps - before, self.steps_per_tick), seconds=seconds,
                         callback=self._after_step)
        self.numpy_seconds += time.perf_counter() - start
        if self.done:
            self.status = "done"
        return self.steps_done - before

    def _after_step(self, progress) -> None:
        if self.keras_model is not None and len(self.keras_loss) < self.steps_done:
            from rnn_core import keras_bridge as kb  # noqa: PLC0415

            idx = self.trainer.last_indices
            start = time.perf_counter()
            with KERAS_TURN:
                self.keras_loss.append(kb.train_on_batch(self.keras_model, self.task.x[idx], self.task.y[idx]))
            self.keras_seconds += time.perf_counter() - start
            self.numpy_seconds -= time.perf_counter() - start        # NumPy's clock runs around this call
        if progress.epoch_loss is not None and progress.epoch + 1 in self.probe_epochs:
            self.probes.append(self._probe())

    def _probe(self) -> EpochProbe:
        p = self.trainer.probe(PROBE_SEQUENCES)
        hidden = self.model.rnn.last_sequences()["h"][0]          # (T, H), whatever return_sequences says
        return EpochProbe(self.trainer.epoch, p.loss, p.hidden_grad_norm.astype(np.float32),
                          hidden.astype(np.float32).copy())

    # -- comparisons -----------------------------------------------------------------------

    def parity(self) -> tuple[float, int] | None:
        """(max relative |NumPy loss - Keras loss| over the steps both ran, steps compared), or None."""
        n = min(len(self.keras_loss), self.steps_done)
        if n == 0:
            return None
        mine = np.asarray(self.trainer.history.batch_loss[:n], np.float64)
        theirs = np.asarray(self.keras_loss[:n], np.float64)
        return float(np.max(np.abs(mine - theirs) / np.maximum(np.abs(theirs), 1e-12))), n

    # -- outputs ---------------------------------------------------------------------------

    def log(self) -> pd.DataFrame:
        """One row per step: step, epoch, loss, accuracy, grad norms, and Keras' loss when it ran."""
        table = pd.DataFrame(self.trainer.history.rows(),
                             columns=["step", "epoch", "loss", "accuracy", "grad_norm", "clipped_grad_norm"])
        if self.settings.keras:
            keras = self.keras_loss[:len(table)]
            table["keras_loss"] = keras + [float("nan")] * (len(table) - len(keras))
        return table

    def log_csv(self) -> bytes:
        return self.log().to_csv(index=False).encode()

    def weights_npz(self) -> bytes:
        """The trained weights by Keras name, plus the run's settings as strings (no pickles)."""
        names = ["kernel", "recurrent_kernel", "bias"][:len(self.model.rnn.get_weights())]
        arrays = {f"rnn_{n}": w for n, w in zip(names, self.model.rnn.get_weights(), strict=True)}
        arrays.update({f"fc_{n}": w for n, w in zip(("kernel", "bias"), self.model.fc.get_weights(), strict=False)})
        arrays["loss_per_step"] = np.asarray(self.trainer.history.batch_loss, np.float32)
        arrays["settings"] = np.array(f"{self.label()}; {asdict(self.settings) | {'text': '...'}}")
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    def keras_bytes(self) -> bytes:
        """The trained model as a .keras file (Sequential: the recurrent layer and its Dense head)."""
        from rnn_core import keras_bridge as kb  # noqa: PLC0415

        with KERAS_TURN:
            model = kb.build_training_model(self.settings.cell, self.model.rnn.config, self.task.num_outputs,
                                            self.task.many_to_many, self.task.head_activation, self.task.x.shape[-1],
                                            self.model.get_weights())
            return kb.save_model_bytes(model, self.text_metadata())

    def text_metadata(self) -> dict | None:
        """For a character task, its text record (the one-hot order and a text it learned from) for the .keras
        file's metadata.json: opened again in the app, the layer reads text at once (rnn_core/saving/text_record.py)."""
        vocabulary = getattr(self.task, "vocabulary", ())
        if not vocabulary or self.task.name not in TEXT_TASKS:
            return None
        sample = (self.settings.text if self.task.name == "next_character"
                  else "".join(vocabulary[i] for i in np.argmax(self.task.x[0], axis=-1)))
        return {METADATA_KEY: text_record(self.task.name, vocabulary, sample).as_metadata()}

    def label(self) -> Message:
        """What the other pages show for this layer: a Message (its English text; ``i18n.text`` translates it)."""
        return Message(N_("trained: {model}, {steps} steps"), {"model": self.settings.describe(),
                                                               "steps": self.steps_done})

    def custom_layer(self) -> dict:
        """The trained layer for every other page (``st.session_state["custom_layer"]``).

        The Dense head goes along only when it is the pages' softmax classifier;
        a regression head (linear, MSE tasks) is left out ("none").
        """
        softmax = self.task.head_activation == "softmax"
        return {
            "label": self.label(),
            "cell": KERAS_NAMES[self.settings.cell],
            "config": asdict(self.model.rnn.config),
            "weights": [w.copy() for w in self.model.rnn.get_weights()],
            "head": ("many-to-many" if self.task.many_to_many else "many-to-one") if softmax else "none",
            "head_weights": [w.copy() for w in self.model.fc.get_weights()] if softmax else None,
            "input_dim": int(self.task.x.shape[-1]),
            # The first sequences it learned from: the other pages run the layer on them when the sidebar's
            # input has another number of features (explorer/custom_layer.py).
            "example": {"x": np.array(self.task.x[:4], np.float32),
                        "labels": np.asarray(self.task.y[:4]) if softmax else None,
                        "description": Message(N_("the first {n} training sequences of {task}"),
                                               {"n": min(4, len(self.task.x)), "task": self.task.description}),
                        # What the Inside a trained network page reads the layer on (its characters).
                        "vocabulary": getattr(self.task, "vocabulary", None), "task": self.task.name},
        }


# -- SimpleRNN vs LSTM vs GRU ---------------------------------------------------------------


@dataclass(frozen=True)
class CompareSettings:
    """Defaults measured here: at lag 40, after 40 epochs, LSTM reaches ~0.95 held-out accuracy while SimpleRNN
    stays at chance (1/8) on held-out sequences and only memorises its training set (~0.4)."""

    lag: int = 40
    units: int = 16
    epochs: int = 40
    learning_rate: float = 0.01
    n: int = 512
    batch_size: int = 32
    seed: int = 0

    def make_task(self) -> task_lib.Task:
        return task_lib.delayed_recall(n=self.n, lag=self.lag, seed=self.seed)

    def check_budget(self, task: task_lib.Task) -> float:
        """The three runs' estimated seconds together; BudgetError past the budget of one run."""
        _, T, D = task.x.shape
        steps = self.epochs * -(-len(task.x) // self.batch_size)
        total = sum(estimate_step_seconds(c, self.batch_size, T, D, self.units, task.num_outputs)
                    for c in CELL_KINDS.values()) * steps
        if total > MAX_SECONDS:
            raise BudgetError(N_("Three models x {steps:,} steps at lag {lag} with {units} units would take about "
                                 "{seconds:.0f} s here; the limit is {limit:.0f} s."),
                              steps=steps, lag=self.lag, units=self.units, seconds=total, limit=MAX_SECONDS)
        return total

    def fitting_epochs(self, task: task_lib.Task) -> int:
        _, T, D = task.x.shape
        per_epoch = sum(estimate_step_seconds(c, self.batch_size, T, D, self.units, task.num_outputs)
                        for c in CELL_KINDS.values()) * -(-len(task.x) // self.batch_size)
        return int(MAX_SECONDS / per_epoch)


class CompareRun:
    """The same delayed-recall task, the same optimizer and seed, for SimpleRNN, LSTM and GRU, in turns."""

    def __init__(self, settings: CompareSettings, task: task_lib.Task) -> None:
        self.settings, self.task = settings, task
        # Held-out sequences (another seed): training accuracy alone would also reward memorising the
        # distractors of 256 sequences; held-out accuracy only rises if the first symbol is remembered.
        self.held_out = task_lib.delayed_recall(n=VALIDATION_SEQUENCES, lag=settings.lag, seed=settings.seed + 1)
        self.val_accuracy: dict[str, list[float]] = {name: [] for name in CELL_KINDS}
        self.trainers: dict[str, Trainer] = {}
        for name, kind in CELL_KINDS.items():
            model = RNNClassifier(settings.units, cell=kind, seed=settings.seed, **task.model_kwargs())
            self.trainers[name] = Trainer(model, get_optimizer("adam", learning_rate=settings.learning_rate),
                                          task.x, task.y, loss=task.loss, batch_size=settings.batch_size,
                                          shuffle=True, seed=settings.seed)
        self.epochs_per_tick = max(1, math.ceil(settings.epochs / MIN_TICKS))
        self.status = "running"

    @property
    def epochs_done(self) -> int:
        return min(t.epoch for t in self.trainers.values())

    @property
    def done(self) -> bool:
        return self.epochs_done >= self.settings.epochs

    def advance(self, seconds: float) -> None:
        """Train the cells that are behind one epoch each, in turns, until ``seconds`` have passed (checked
        after every cell's epoch, so a tick is about one epoch of one cell past ``seconds``) or
        ``epochs_per_tick`` turns; the cells stay within one epoch of each other."""
        deadline = time.perf_counter() + seconds
        for _ in range(self.epochs_per_tick):
            if self.done or self.status != "running":
                break
            level = self.epochs_done
            for name, trainer in self.trainers.items():
                if trainer.epoch == level:
                    trainer.run(epochs=1)
                    self.val_accuracy[name].append(trainer.evaluate(self.held_out.x, self.held_out.y)[1])
                    if time.perf_counter() >= deadline:
                        break
            if time.perf_counter() >= deadline:
                break
        if self.done:
            self.status = "done"

    def curves(self, what: str = "accuracy") -> dict[str, list[float]]:
        """Per completed epoch, for each cell: "loss", "accuracy" (training) or "held-out accuracy"."""
        if what == "held-out accuracy":
            return {name: list(v) for name, v in self.val_accuracy.items()}
        return {name: list(getattr(t.history, what)) for name, t in self.trainers.items()}
