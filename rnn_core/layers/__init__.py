"""The layers: readable NumPy twins of Keras 3's recurrent layers, Dense and attention, each with its backward.

One loop over time serves every cell (``recurrence.py``: masking, dropout, stateful, go_backwards and truncated
BPTT written once); each cell has its own file with its step forward and step backward side by side
(``simple_rnn_cell.py``, ``lstm_cell.py``, ``gru_cell.py``), and ``rnn.py`` makes them the layers SimpleRNN,
LSTM and GRU. Beside them: ``bidirectional.py``, ``dense.py`` (and what TimeDistributed(Dense) means),
``activations.py`` and ``initializers.py`` named as Keras names them, ``configs.py`` (the constructor arguments),
``cell_base.py`` (what every cell shares), ``jacobian.py`` (each step's state Jacobian, matrix-free) and
``attention.py`` (Attention and AdditiveAttention, Luong's and Bahdanau's scores).
Weights are kept in Keras' layout, so they copy to and from Keras without transposes.
"""

from .activations import ACTIVATIONS, Activation
from .attention import AdditiveAttention, Attention, AttentionConfig, AttentionGradients
from .bidirectional import Bidirectional, BidirectionalGradients
from .configs import GRUConfig, LSTMConfig, SimpleRNNConfig
from .dense import Dense, DenseGradients, softmax, time_distributed
from .rnn import CELLS, GRU, LSTM, RNN, RNNGradients, SimpleRNN, StackingError

__all__ = ["ACTIVATIONS", "CELLS", "GRU", "LSTM", "RNN", "Activation", "AdditiveAttention", "Attention",
           "AttentionConfig", "AttentionGradients", "Bidirectional", "BidirectionalGradients",
           "Dense", "DenseGradients", "GRUConfig", "LSTMConfig", "RNNGradients", "SimpleRNN", "SimpleRNNConfig",
           "StackingError", "softmax", "time_distributed"]
