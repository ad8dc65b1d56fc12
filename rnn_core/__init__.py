"""RNN Explorer's NumPy core: a readable twin of keras.layers.SimpleRNN with BPTT.

Plain NumPy only. TensorFlow is imported in ``rnn_core.keras_bridge`` alone,
and only when that module's functions are called.
"""

from .activations import ACTIVATIONS, Activation
from .bidirectional import Bidirectional as Bidirectional, BidirectionalGradients as BidirectionalGradients
from .layer import RNNGradients, SimpleRNN, SimpleRNNConfig

__all__ = ["ACTIVATIONS", "Activation", "RNNGradients", "SimpleRNN", "SimpleRNNConfig"]
