"""RNN Explorer's NumPy core: readable twins of keras.layers.SimpleRNN, LSTM and GRU with BPTT.

Plain NumPy only. TensorFlow is imported in ``rnn_core.keras_bridge`` alone,
and only when that module's functions are called.
"""

from .activations import ACTIVATIONS, Activation
from .bidirectional import Bidirectional, BidirectionalGradients
from .configs import GRUConfig, LSTMConfig, SimpleRNNConfig
from .layer import CELLS, GRU, LSTM, RNN, RNNGradients, SimpleRNN

__all__ = ["ACTIVATIONS", "Activation", "Bidirectional", "BidirectionalGradients", "CELLS", "GRU", "GRUConfig", "LSTM",
           "LSTMConfig", "RNN", "RNNGradients", "SimpleRNN", "SimpleRNNConfig"]
