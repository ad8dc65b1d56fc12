"""The constructor arguments of keras.layers.SimpleRNN, LSTM and GRU that change the numbers.

Frozen dataclasses named like Keras' arguments, so ``asdict(config)`` is also
the keyword arguments of the Keras layer. Bad values fail here, early, with a
ValueError that says what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import activations, initializers


@dataclass(frozen=True)
class _RecurrentConfig:
    """Arguments every recurrent layer has (Keras' RNN wrapper and the cell's weights)."""

    units: int                              # H, size of the state
    activation: str = "tanh"                # SimpleRNN: h_t = f(...); LSTM/GRU: candidate and output
    use_bias: bool = True
    kernel_initializer: str = "glorot_uniform"
    recurrent_initializer: str = "orthogonal"
    bias_initializer: str = "zeros"
    dropout: float = 0.0                    # fraction of input features dropped (training only)
    recurrent_dropout: float = 0.0          # fraction of state units dropped before U (training only)
    return_sequences: bool = False          # all outputs (B, T, H) or only the last (B, H)
    return_state: bool = False              # also return the final state(s): (output, *states)
    go_backwards: bool = False              # read the input from the last step to the first
    stateful: bool = False                  # carry the final state into the next call
    zero_output_for_mask: bool = False      # masked steps output zeros instead of the previous output
    seed: int | None = None                 # initializers and dropout masks

    def __post_init__(self) -> None:
        if isinstance(self.units, bool) or not isinstance(self.units, (int, np.integer)) or self.units <= 0:
            raise ValueError(f"units must be a positive integer, got {self.units!r}.")
        activations.get(self.activation)
        if hasattr(self, "recurrent_activation"):
            activations.get(self.recurrent_activation)
        for name in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
            value = getattr(self, name)
            if value not in initializers.INITIALIZERS:
                raise ValueError(
                    f"{name} must be one of {', '.join(initializers.INITIALIZERS)}; got {value!r}."
                )
        for name in ("dropout", "recurrent_dropout"):
            rate = getattr(self, name)
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be a float in [0, 1), got {rate!r}.")
        for name in ("use_bias", "return_sequences", "return_state", "go_backwards", "stateful",
                     "zero_output_for_mask", "unit_forget_bias", "reset_after"):
            if hasattr(self, name) and not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}.")


@dataclass(frozen=True)
class SimpleRNNConfig(_RecurrentConfig):
    """keras.layers.SimpleRNN: h_t = activation(x_t W + h_{t-1} U + b)."""


@dataclass(frozen=True)
class LSTMConfig(_RecurrentConfig):
    """keras.layers.LSTM: gates i, f, o use recurrent_activation; the candidate g and act(c_t) use activation."""

    recurrent_activation: str = "sigmoid"   # the gates i, f, o
    unit_forget_bias: bool = True           # initialise the forget gate's bias block to ones


@dataclass(frozen=True)
class GRUConfig(_RecurrentConfig):
    """keras.layers.GRU: gates z, r use recurrent_activation; the candidate hh uses activation."""

    recurrent_activation: str = "sigmoid"   # the gates z, r
    reset_after: bool = True                # r * (h U_h + b_rh) (True, bias (2, 3H)) or (r * h) U_h (False, (3H,))
