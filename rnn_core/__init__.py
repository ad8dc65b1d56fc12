"""RNN Explorer's NumPy core: readable twins of Keras 3's recurrent layers, with BPTT, checked against Keras.

Plain NumPy only, by concern:

- ``rnn_core.layers``: SimpleRNN, LSTM, GRU (one loop over time, one file per cell), Bidirectional, Dense;
- ``rnn_core.training``: the tutorial's classifier, losses, optimizers, ``train_step`` and ``fit``, tasks;
- ``rnn_core.analysis``: gradient flow (Jacobians, decay, Pascanu's bounds) and interpretation tools;
- ``rnn_core.inputs``: ``load_sequence`` for uploads, tables and typed text, and the built-in examples;
- ``rnn_core.saving``: ``inspect_model_file``, the checks a ``.keras`` file passes before Keras reads it;
- at the top: ``keras_bridge`` (the only module that imports TensorFlow, and only when its functions are
  called), the per-visit budgets (``budget``, ``training_budget``) and ``messages`` (texts for people).

The public API is importable from here::

    from rnn_core import SimpleRNN, LSTM, GRU, Bidirectional, Dense, RNNClassifier, SGD, Adam, RMSprop
    from rnn_core import train_step, fit, load_sequence, SequenceError, inspect_model_file, ModelFileError

    layer = LSTM(8, return_sequences=True)
    y = layer(x)                      # x: (batch, steps, features), as keras.layers.LSTM
    grads = layer.backward(dy)        # every gradient of BPTT: grads.kernel, grads.hidden, grads.cell, ...
"""

from .analysis import (
    correlated_units,
    fixed_points,
    gate_saturation,
    match_pattern,
    pca_trajectories,
    selected_units,
)
from .errors import SequenceError
from .inputs import load_sequence
from .layers import (
    ACTIVATIONS,
    CELLS,
    GRU,
    LSTM,
    RNN,
    Activation,
    AdditiveAttention,
    Attention,
    Bidirectional,
    BidirectionalGradients,
    Dense,
    GRUConfig,
    LSTMConfig,
    RNNGradients,
    SimpleRNN,
    SimpleRNNConfig,
)
from .saving import ModelFileError, inspect_model_file
from .training import SGD, Adam, RMSprop, RNNClassifier, fit, train_step

__all__ = ["ACTIVATIONS", "CELLS", "GRU", "LSTM", "RNN", "SGD", "Activation", "Adam", "AdditiveAttention", "Attention",
           "Bidirectional", "BidirectionalGradients", "Dense", "GRUConfig", "LSTMConfig", "ModelFileError", "RMSprop",
           "RNNClassifier", "RNNGradients", "SequenceError", "SimpleRNN", "SimpleRNNConfig", "fit",
           "inspect_model_file", "load_sequence", "train_step",
           "correlated_units", "fixed_points", "gate_saturation", "match_pattern", "pca_trajectories",
           "selected_units"]
