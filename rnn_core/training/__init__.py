"""Training: the tutorial's classifier model, its losses and optimizers, and train_step/fit as Keras runs them.

``model.py`` is the NumPy twin of the tutorial's ``RNNLayer`` (a recurrent layer and a Dense softmax head);
``losses.py`` and ``optimizers.py`` (SGD, Adam, RMSprop) follow Keras 3 operation for operation, ``clipping.py``
its clipnorm/clipvalue/global_clipnorm; ``trainer.py`` holds ``train_step`` (one ``train_on_batch``) and ``fit``;
``tasks.py`` generates the training tasks in code and ``targets.py`` checks a user's inputs and targets.
``seq2seq.py`` is the encoder-decoder (any cell, no attention, dot or additive attention) trained with teacher
forcing and decoded greedily, and ``seq2seq_tasks.py`` its tasks (reverse, sort, delayed copy, dates, Korean
numerals).
"""

from .model import RNNClassifier
from .optimizers import SGD, Adam, Optimizer, RMSprop
from .seq2seq import Seq2Seq
from .seq2seq_tasks import SEQ2SEQ_TASKS
from .trainer import History, StepResult, Trainer, fit, train_step

__all__ = ["SEQ2SEQ_TASKS", "SGD", "Adam", "History", "Optimizer", "RMSprop", "RNNClassifier", "Seq2Seq",
           "StepResult", "Trainer", "fit", "train_step"]
