"""Training the tutorial model in NumPy, step for step as Keras' train_on_batch and fit.

One step (what ``model.train_on_batch(x, y)`` does in Keras 3):
    forward with training=True -> the loss L of this batch (returned: the loss *before* the update)
    BPTT -> dL/dw for every weight, in ``model.get_weights()`` order
    optimizer: clip the gradients, then update the weights in place

``fit`` runs epochs of batches in order (or shuffled per epoch with a seed)
and reports, as Keras' fit does, one loss per epoch: the mean of the batch
losses weighted by batch size (Keras' loss tracker is a Mean with the batch
size as sample weight; with equal batches it is the plain mean).

For an app that trains a little at a time, :class:`Trainer` holds the model,
the optimizer, the data, the position in the epoch and the history;
``trainer.run(steps=20)`` (or ``epochs=``, ``seconds=``) continues exactly
where the last run stopped, so many short runs give the very same numbers as
one long run.

Example:
    >>> model, opt = RNNClassifier(16, 5, seed=0), Adam(0.01)
    >>> history = fit(model, x, y, optimizer=opt, loss="sparse_categorical_crossentropy", epochs=3, batch_size=8)
    >>> history.loss            # one value per epoch
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..messages import N_
from .clipping import global_norm
from .model import RNNClassifier
from .optimizers import Optimizer
from .targets import TargetError, check_inputs, check_loss, check_targets

Array = np.ndarray
SCCE = "sparse_categorical_crossentropy"

__all__ = ["History", "Probe", "Progress", "StepResult", "StopTraining", "TargetError", "Trainer", "accuracy", "fit",
           "train_step"]


class StopTraining(Exception):  # noqa: N818 - named like Keras' model.stop_training
    """Raise from a fit/run callback to stop after the current step (the step is kept)."""


@dataclass(frozen=True)
class StepResult:
    loss: float                  # the batch loss before the update (what train_on_batch returns)
    accuracy: float | None       # fraction of argmax(prediction) == label (classification only)
    grad_norm: float             # global L2 norm of all weight gradients, before clipping
    clipped_grad_norm: float     # the same after the optimizer's clipping (what the update used)
    batch_size: int


@dataclass(frozen=True)
class Progress:
    """What a callback receives after every step."""

    epoch: int                   # 0-based epoch of this step
    batch: int                   # 0-based batch within the epoch
    batches_per_epoch: int
    step: int                    # steps done so far, this one included
    loss: float
    accuracy: float | None
    grad_norm: float
    clipped_grad_norm: float
    epoch_loss: float | None     # set when this step completed an epoch: that epoch's reported loss


@dataclass
class History:
    """Per epoch (as Keras' fit history) and per step (for live charts and the CSV log)."""

    loss: list[float] = field(default_factory=list)             # per completed epoch, batch-size weighted mean
    accuracy: list[float] = field(default_factory=list)         # per completed epoch (classification)
    batch_loss: list[float] = field(default_factory=list)       # per step, before its update
    batch_accuracy: list[float | None] = field(default_factory=list)
    batch_epoch: list[int] = field(default_factory=list)        # the epoch each step belongs to
    grad_norm: list[float] = field(default_factory=list)        # per step, before clipping
    clipped_grad_norm: list[float] = field(default_factory=list)
    stopped: bool = False                                       # the last run was stopped by the callback

    @property
    def steps(self) -> int:
        return len(self.batch_loss)

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def rows(self) -> list[dict]:
        """One dict per step (step, epoch, loss, accuracy, grad norms): a table for pandas or a CSV."""
        return [{"step": i + 1, "epoch": e + 1, "loss": lo, "accuracy": a, "grad_norm": g, "clipped_grad_norm": c}
                for i, (e, lo, a, g, c) in enumerate(zip(self.batch_epoch, self.batch_loss, self.batch_accuracy,
                                                         self.grad_norm, self.clipped_grad_norm, strict=True))]


@dataclass(frozen=True)
class Probe:
    """A look at the model on a few training sequences, without changing it (for charts at chosen epochs)."""

    loss: float
    accuracy: float | None
    hidden_grad_norm: Array      # (T,) ||dL/dh_t|| per step (processing order), mean over the sequences
    outputs: Array               # the recurrent layer's output: (n, T, H) many-to-many, (n, H) many-to-one


def accuracy(pred: Array, labels: Array) -> float:
    """Fraction of positions where argmax over classes equals the label (sparse_categorical_accuracy)."""
    return float(np.mean(np.argmax(pred, axis=-1) == labels))


def _weights_dtype(model: RNNClassifier):
    return model.rnn.kernel.dtype if model.rnn.built else np.float32


def check_data(model: RNNClassifier, x, y, loss: str) -> tuple[Array, Array]:
    """(x, y) checked for this model and loss and converted (float inputs, int64 labels); TargetError if not."""
    check_loss(loss)
    x = check_inputs(x, _weights_dtype(model))
    if model.rnn.built and x.shape[-1] != model.rnn.kernel.shape[0]:
        raise TargetError(N_("Inputs have {features} features per step; the model was built for {built}."),
                          features=x.shape[-1], built=model.rnn.kernel.shape[0])
    if loss == SCCE and model.fc.activation_name != "softmax":
        raise TargetError(N_("sparse_categorical_crossentropy needs the softmax head (class probabilities)."))
    B, T, _ = x.shape
    y = check_targets(y, batch=B, steps=T, many_to_many=model.many_to_many, num_class=model.num_class, loss=loss)
    return x, y


def _step(model: RNNClassifier, optimizer: Optimizer, x: Array, y: Array, loss: str,
          truncate: int | None) -> StepResult:
    """One checked-data training step; see the module docstring."""
    value, pred = model.loss(x, y, loss=loss, training=True)      # L before the update
    grads = model.backward(truncate=truncate).weights()           # dL/dw, get_weights() order
    clipped = optimizer.clip(grads)
    norm = global_norm(grads)
    clipped_norm = norm if all(c is g for c, g in zip(clipped, grads, strict=True)) else global_norm(clipped)
    optimizer.update(clipped, model.get_weights())                # in place: the model's own arrays
    acc = accuracy(pred, y) if loss == SCCE else None
    return StepResult(value, acc, norm, clipped_norm, x.shape[0])


def train_step(model: RNNClassifier, optimizer: Optimizer, x, y, loss: str = SCCE,
               truncate: int | None = None) -> float:
    """Train on one batch; returns its loss before the update (Keras' train_on_batch). Weights change in place.

    ``truncate``: truncated BPTT (gradient paths of at most that many steps); None = full BPTT.
    """
    x, y = check_data(model, x, y, loss)
    return _step(model, optimizer, x, y, loss, truncate).loss


class Trainer:
    """Model + optimizer + data + history, trained a chunk at a time.

    ``run(steps=..., epochs=..., seconds=...)`` trains until the first of these
    limits is reached (at least one step) and can be called again to continue
    from the same epoch, batch and shuffle order. ``history`` grows across runs.
    """

    def __init__(self, model: RNNClassifier, optimizer: Optimizer, x, y, *, loss: str = SCCE,
                 batch_size: int = 32, shuffle: bool = False, seed: int | None = None,
                 truncate: int | None = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.x, self.y = check_data(model, x, y, loss)
        self.model, self.optimizer, self.loss = model, optimizer, loss
        self.batch_size, self.shuffle, self.truncate = int(batch_size), bool(shuffle), truncate
        self._rng = np.random.default_rng(seed)
        self.history = History()
        self.epoch = 0                 # the epoch in progress (= completed epochs when batch == 0)
        self.batch = 0                 # the next batch within that epoch
        self._order: Array | None = None
        self._epoch_sums = [0.0, 0.0, 0]     # sum of loss x batch size, sum of correct predictions, samples

    @property
    def batches_per_epoch(self) -> int:
        return -(-len(self.x) // self.batch_size)

    @property
    def steps_done(self) -> int:
        return self.history.steps

    def _batch_indices(self) -> Array:
        if self.batch == 0 or self._order is None:
            n = len(self.x)
            self._order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        start = self.batch * self.batch_size
        return self._order[start:start + self.batch_size]

    def step(self) -> Progress:
        """Train on the next batch and record it."""
        idx = self._batch_indices()
        result = _step(self.model, self.optimizer, self.x[idx], self.y[idx], self.loss, self.truncate)
        h, sums = self.history, self._epoch_sums
        h.batch_loss.append(result.loss)
        h.batch_accuracy.append(result.accuracy)
        h.batch_epoch.append(self.epoch)
        h.grad_norm.append(result.grad_norm)
        h.clipped_grad_norm.append(result.clipped_grad_norm)
        sums[0] += result.loss * result.batch_size
        sums[1] += (result.accuracy or 0.0) * result.batch_size
        sums[2] += result.batch_size
        epoch, batch = self.epoch, self.batch
        self.batch += 1
        epoch_loss = self.end_epoch() if self.batch == self.batches_per_epoch else None
        return Progress(epoch, batch, self.batches_per_epoch, h.steps, result.loss, result.accuracy,
                        result.grad_norm, result.clipped_grad_norm, epoch_loss)

    def end_epoch(self) -> float | None:
        """Record the epoch in progress (its batches so far) and start the next one; its loss, or None if empty."""
        loss_sum, correct, n = self._epoch_sums
        if n == 0:
            return None
        self.history.loss.append(loss_sum / n)
        if self.loss == SCCE:
            self.history.accuracy.append(correct / n)
        self.epoch, self.batch, self._epoch_sums = self.epoch + 1, 0, [0.0, 0.0, 0]
        return self.history.loss[-1]

    def run(self, *, steps: int | None = None, epochs: int | None = None, seconds: float | None = None,
            callback: Callable[[Progress], bool | None] | None = None) -> History:
        """Train until ``steps`` more steps, ``epochs`` more epoch ends or ``seconds`` have passed.

        A run with ``epochs=1`` started mid-epoch finishes that epoch, so
        epochs stay aligned. With no limit given, one epoch. ``callback(progress)`` runs after every
        step; returning False or raising StopTraining stops (history.stopped).
        """
        for name, v in (("steps", steps), ("epochs", epochs)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {v!r}.")
        if seconds is not None and not seconds > 0:
            raise ValueError(f"seconds must be a positive number or None, got {seconds!r}.")
        if steps is None and epochs is None and seconds is None:
            epochs = 1
        target_epoch = None if epochs is None else self.epoch + epochs
        deadline = None if seconds is None else time.perf_counter() + seconds
        done = 0
        self.history.stopped = False
        while True:
            progress = self.step()
            done += 1
            try:
                keep_going = callback is None or callback(progress) is not False
            except StopTraining:
                keep_going = False
            if not keep_going:
                self.history.stopped = True
                break
            if (steps is not None and done >= steps) or (target_epoch is not None and self.epoch >= target_epoch) \
                    or (deadline is not None and time.perf_counter() >= deadline):
                break
        return self.history

    def probe(self, count: int = 8) -> Probe:
        """Loss, accuracy and how far back the gradient reaches (||dL/dh_t||) on the first ``count``
        training sequences, with the current weights (dL is the gradient of their mean loss)."""
        x, y = self.x[:count], self.y[:count]
        value, pred = self.model.loss(x, y, loss=self.loss)
        outputs = self.model.last_rnn_output
        grads = self.model.backward()
        norms = np.sqrt(np.square(grads.rnn.hidden, dtype=np.float64).sum(axis=-1)).mean(axis=0)
        return Probe(value, accuracy(pred, y) if self.loss == SCCE else None, norms, outputs)

    def evaluate(self, x=None, y=None) -> tuple[float, float | None]:
        """(loss, accuracy) on (x, y) (default: the training data) without changing anything."""
        if x is None:
            x, y = self.x, self.y
        else:
            x, y = check_data(self.model, x, y, self.loss)
        value, pred = self.model.loss(x, y, loss=self.loss)
        return value, (accuracy(pred, y) if self.loss == SCCE else None)


def fit(model: RNNClassifier, x, y, *, optimizer: Optimizer, loss: str = SCCE, epochs: int = 1,
        batch_size: int = 32, shuffle: bool = False, seed: int | None = None,
        callback: Callable[[Progress], bool | None] | None = None, truncate: int | None = None) -> History:
    """Keras' model.fit in NumPy: ``epochs`` passes over (x, y) in batches; returns the History.

    history.loss[e] is epoch e's loss as Keras' fit reports it. If the callback
    stops training mid-epoch, that epoch is recorded with the batches it ran
    (Keras does the same when stop_training is set) and history.stopped is True.
    """
    trainer = Trainer(model, optimizer, x, y, loss=loss, batch_size=batch_size, shuffle=shuffle, seed=seed,
                      truncate=truncate)
    history = trainer.run(epochs=epochs, callback=callback)
    if history.stopped:
        trainer.end_epoch()
    return history
