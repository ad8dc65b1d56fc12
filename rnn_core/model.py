"""NumPy twin of the tutorial's ``RNNLayer`` model: SimpleRNN + a Dense softmax head.

The Keras original (Hands-on ML / CS231n style) is a keras.Model subclass holding
``SimpleRNN(num_hidden=128, activation='tanh', return_sequences=True)`` and
``TimeDistributed(Dense(num_class=39, activation='softmax'))``; its source is
``rnn_core.keras_bridge.TUTORIAL_MODEL_SOURCE`` (shown in the app) and
``keras_bridge.build_tutorial_model`` builds it.

many-to-many: the head sees every h_t and predicts a class per frame (B, T, C).
many-to-one:  the RNN returns only its last output and the head predicts one
              class per sequence (B, C).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dense import Dense, DenseGradients
from .layer import RNNGradients, SimpleRNN
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


class RNNClassifier:
    """SimpleRNN(num_hidden) followed by Dense(num_class, softmax) on each step or the last.

    Extra keyword arguments go to the SimpleRNN (activation, use_bias,
    go_backwards, stateful, ...); return_sequences follows ``many_to_many`` and
    return_state is not used by the model (the head reads the output only).
    """

    def __init__(self, num_hidden: int = 128, num_class: int = 39, many_to_many: bool = True,
                 head_activation: str = "softmax", seed: int | None = None, **rnn_kwargs) -> None:
        rnn_kwargs.setdefault("activation", "tanh")
        rnn_kwargs.pop("return_state", None)
        rnn_kwargs.pop("return_sequences", None)
        self.many_to_many = many_to_many
        self.rnn = SimpleRNN(num_hidden, return_sequences=many_to_many, seed=seed, **rnn_kwargs)
        self.fc = Dense(num_class, activation=head_activation, seed=None if seed is None else seed + 1)

    def build(self, input_shape: tuple[int, int, int]) -> None:
        self.rnn.build(input_shape)
        self.fc.build(self.rnn.units)

    def get_weights(self) -> list[Array]:
        """[rnn kernel, rnn recurrent_kernel, rnn bias, dense kernel, dense bias] as Keras' model.get_weights()."""
        return self.rnn.get_weights() + self.fc.get_weights()

    def set_weights(self, weights: list[Array]) -> None:
        n = len(self.rnn.get_weights()) if self.rnn.built else (3 if self.rnn.use_bias else 2)
        self.rnn.set_weights(weights[:n])
        self.fc.set_weights(weights[n:])

    def __call__(self, x: Array, mask: Array | None = None, training: bool = False) -> Array:
        """x (B, T, D) -> class probabilities (B, T, C) many-to-many, (B, C) many-to-one."""
        return self.fc(self.rnn(x, mask=mask, training=training))

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
