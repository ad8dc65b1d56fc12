"""NumPy twin of the tutorial's ``RNNLayer`` model: SimpleRNN + a Dense softmax head.

The Keras original (Hands-on ML / CS231n style) is a keras.Model subclass holding
``SimpleRNN(num_hidden=128, activation='tanh', return_sequences=True)`` and
``TimeDistributed(Dense(num_class=39, activation='softmax'))``; its source is
``rnn_core.keras_bridge.TUTORIAL_MODEL_SOURCE`` (shown in the app) and
``keras_bridge.build_tutorial_model`` builds it.

many-to-many: the head sees every h_t and predicts a class per frame (B, T, C).
many-to-one:  the RNN returns only its last output and the head predicts one
              class per sequence (B, C).

The recurrent layer is SimpleRNN, LSTM or GRU (``cell=``); the model only needs
the layer's Keras-like API (call, backward, get/set_weights), so it never says
"if lstm". The LSTM and GRU classes are looked up on ``rnn_core`` when a model
is made: a cell whose class this version lacks gives a clear ValueError.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layers.dense import Dense, DenseGradients
from ..layers.rnn import CELLS, RNNGradients
from .losses import LOSSES

Array = np.ndarray


@dataclass
class ModelGradients:
    rnn: RNNGradients
    head: DenseGradients

    def weights(self) -> list[Array]:
        """In the order of RNNClassifier.get_weights()."""
        head = [self.head.kernel] + ([self.head.bias] if self.head.bias is not None else [])
        return self.rnn.weights() + head


CELL_NAMES = tuple(CELLS)           # ("simple_rnn", "lstm", "gru")


def cell_class(cell: str) -> type:
    """The layer class for ``cell`` ("simple_rnn", "lstm" or "gru"), or a ValueError saying what is expected."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELL_NAMES)}; got {cell!r}.")
    return CELLS[cell]


class RNNClassifier:
    """An RNN layer (SimpleRNN, LSTM or GRU) followed by Dense(num_class, softmax) on each step or the last.

    Extra keyword arguments go to the recurrent layer (activation, use_bias,
    go_backwards, stateful, ...); return_sequences follows ``many_to_many`` and
    return_state is not used by the model (the head reads the output only).
    ``head_activation="linear"`` makes it a regressor (for the MSE loss).

    Example:
        >>> model = RNNClassifier(128, 39, cell="simple_rnn", seed=0)
        >>> model(np.zeros((32, 100, 13), np.float32)).shape
        (32, 100, 39)
    """

    def __init__(self, num_hidden: int = 128, num_class: int = 39, many_to_many: bool = True,
                 cell: str = "simple_rnn", seed: int | None = None, head_activation: str = "softmax",
                 **rnn_kwargs) -> None:
        layer_class = cell_class(cell)
        if cell == "simple_rnn":
            rnn_kwargs.setdefault("activation", "tanh")
        rnn_kwargs.pop("return_state", None)
        rnn_kwargs.pop("return_sequences", None)
        self.cell = cell
        self.many_to_many = many_to_many
        self.rnn = layer_class(num_hidden, return_sequences=many_to_many, seed=seed, **rnn_kwargs)
        self.fc = Dense(num_class, activation=head_activation, seed=None if seed is None else seed + 1)
        self.last_rnn_output: Array | None = None

    @property
    def built(self) -> bool:
        return self.rnn.built and self.fc.kernel is not None

    @property
    def num_class(self) -> int:
        return self.fc.units

    def build(self, input_shape: tuple[int, int, int]) -> None:
        self.rnn.build(input_shape)
        self.fc.build(self.rnn.units)

    def get_weights(self) -> list[Array]:
        """[rnn kernel, rnn recurrent_kernel, rnn bias, dense kernel, dense bias] as Keras' model.get_weights().

        These are the model's own arrays (not copies): an optimizer updating them in
        place trains the model.
        """
        return self.rnn.get_weights() + self.fc.get_weights()

    def set_weights(self, weights: list[Array]) -> None:
        """Set all weights in get_weights() order (copies; the model then holds its own arrays)."""
        n = len(self.rnn.get_weights()) if self.rnn.built else (3 if self.rnn.use_bias else 2)
        expected = n + (2 if self.fc.use_bias else 1)
        if len(weights) != expected:
            raise ValueError(f"The model has {expected} weight arrays ({n} recurrent, {expected - n} Dense), "
                             f"got {len(weights)}.")
        self.rnn.set_weights(weights[:n])
        self.fc.set_weights(weights[n:])

    def __call__(self, x: Array, mask: Array | None = None, training: bool = False) -> Array:
        """x (B, T, D) -> class probabilities (B, T, C) many-to-many, (B, C) many-to-one."""
        self.last_rnn_output = self.rnn(x, mask=mask, training=training)   # what the head reads
        return self.fc(self.last_rnn_output)

    def loss(self, x: Array, y: Array, loss: str = "sparse_categorical_crossentropy",
             mask: Array | None = None, training: bool = False) -> tuple[float, Array]:
        """Forward pass and loss; returns (loss, predictions)."""
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}.")
        pred = self(x, mask=mask, training=training)
        value, self._d_pred = LOSSES[loss](pred, y)
        return value, pred

    def backward(self, d_pred: Array | None = None, truncate: int | None = None) -> ModelGradients:
        """Gradients of the loss (or of <d_pred, prediction>) for every weight and the input."""
        d_pred = self._d_pred if d_pred is None else d_pred
        head = self.fc.backward(d_pred)
        return ModelGradients(self.rnn.backward(head.inputs, truncate=truncate), head)
