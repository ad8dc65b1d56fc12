"""Built-in input sequences: each shows one thing an RNN does (or fails to do).

Every builder returns a :class:`Example`: inputs (B, T, D) float32, frame
labels for the classifier head, and a sentence on what to look for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..messages import N_, Message

Array = np.ndarray

DEFAULT_TEXT = "hello world, hello recurrent networks. "


@dataclass(frozen=True)
class Example:
    inputs: Array                 # (B, T, D) float32
    labels: Array                 # (B, T) int frame labels in [0, num_classes)
    description: str              # a Message: shown translated by the app
    feature_names: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = field(default=())


def _labels(rng: np.random.Generator, shape: tuple[int, int], num_classes: int) -> Array:
    # Frame labels drawn with the seed: stand-ins for the tutorial's 39 phone classes.
    return rng.integers(0, num_classes, size=shape)


def sine(T: int, batch: int, rng: np.random.Generator, num_classes: int, noise: float = 0.0) -> Example:
    t = np.arange(T)
    phase = rng.uniform(0, 2 * np.pi, size=(batch, 1))
    x = np.sin(2 * np.pi * t / 20.0 + phase) + noise * rng.standard_normal((batch, T))
    what = Message(N_("noisy sine (period 20 steps, noise sd {noise:g})"), {"noise": noise}) if noise \
        else Message(N_("sine wave, period 20 steps"))
    return Example(x[..., None].astype(np.float32), _labels(rng, (batch, T), num_classes), what, ("x",))


def sum_of_sines(T: int, batch: int, rng: np.random.Generator, num_classes: int) -> Example:
    t = np.arange(T)[None, :]
    phase = rng.uniform(0, 2 * np.pi, size=(batch, 3))
    x = sum(np.sin(2 * np.pi * t / p + phase[:, i:i + 1]) / (i + 1) for i, p in enumerate((40.0, 13.0, 5.0)))
    return Example(x[..., None].astype(np.float32), _labels(rng, (batch, T), num_classes),
                   Message(N_("sum of three sines (periods 40, 13 and 5 steps)")), ("x",))


def step(T: int, batch: int, rng: np.random.Generator, num_classes: int) -> Example:
    x = np.zeros((batch, T, 1), np.float32)
    x[:, T // 4:] = 1.0
    return Example(x, _labels(rng, (batch, T), num_classes),
                   Message(N_("step from 0 to 1 at t={t}: watch the state settle to a new fixed point"), {"t": T // 4}),
                   ("x",))


def impulse(T: int, batch: int, rng: np.random.Generator, num_classes: int) -> Example:
    x = np.zeros((batch, T, 1), np.float32)
    x[:, min(2, T - 1)] = 1.0
    return Example(x, _labels(rng, (batch, T), num_classes),
                   Message(N_("a single impulse at t=2, zeros after: how long does the state remember it?")), ("x",))


def adding_problem(T: int, batch: int, rng: np.random.Generator, num_classes: int) -> Example:
    # Hochreiter & Schmidhuber's adding problem: values, and two markers whose values must be summed.
    values = rng.uniform(0, 1, size=(batch, T))
    markers = np.zeros((batch, T))
    for b in range(batch):
        first = rng.integers(0, max(1, T // 2))
        second = rng.integers(T // 2, T) if T > 1 else 0
        markers[b, [first, second]] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    return Example(x, _labels(rng, (batch, T), num_classes),
                   Message(N_("adding problem: feature 0 random values, feature 1 marks the two to add; the answer "
                              "needs memory across half the sequence")), (Message(N_("value")), Message(N_("marker"))))


def random_normal(T: int, batch: int, rng: np.random.Generator, num_classes: int, features: int = 3) -> Example:
    x = rng.standard_normal((batch, T, features)).astype(np.float32)
    return Example(x, _labels(rng, (batch, T), num_classes),
                   Message(N_("white noise, {features} features"), {"features": features}),
                   tuple(f"x{i}" for i in range(features)))


def characters(T: int, batch: int, rng: np.random.Generator, num_classes: int, text: str = DEFAULT_TEXT) -> Example:
    """One-hot characters; the labels are the next character (next-character prediction)."""
    vocab = tuple(sorted(set(text)))
    reps = -(-(T + 1) // len(text))
    stream = (text * reps)[: T + 1]
    ids = np.array([vocab.index(c) for c in stream])
    x = np.eye(len(vocab), dtype=np.float32)[ids[:-1]]
    labels = ids[1:] % num_classes
    return Example(np.repeat(x[None], batch, axis=0), np.repeat(labels[None], batch, axis=0),
                   Message(N_("characters of {text!r} one-hot over its {size}-symbol vocabulary; labels are the next "
                              "character (many-to-many)"), {"text": text, "size": len(vocab)}),
                   tuple(repr(c) for c in vocab), vocab)


# The keys are the examples' ids (in URLs: ?example=noisy+sine) and their English names; the app shows them
# translated (marked with N_).
EXAMPLES = {
    N_("sine"): sine,
    N_("noisy sine"): lambda T, b, rng, c: sine(T, b, rng, c, noise=0.3),
    N_("sum of sines"): sum_of_sines,
    N_("step"): step,
    N_("impulse"): impulse,
    N_("adding problem"): adding_problem,
    N_("random normal"): random_normal,
    N_("characters"): characters,
}


def make_example(name: str, T: int, batch: int = 1, seed: int = 0, num_classes: int = 39) -> Example:
    """Build the built-in example ``name`` with T steps and ``batch`` sequences (seeded)."""
    if name not in EXAMPLES:
        raise ValueError(f"Unknown example {name!r}. Expected one of: {', '.join(EXAMPLES)}.")
    if T < 1 or batch < 1:
        raise ValueError(f"Need T >= 1 and batch >= 1, got T={T}, batch={batch}.")
    return EXAMPLES[name](T, batch, np.random.default_rng(seed), num_classes)
