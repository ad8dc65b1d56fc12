"""Training: the tutorial's classifier model, its losses and optimizers, and train_step/fit as Keras runs them.

``model.py`` is the NumPy twin of the tutorial's ``RNNLayer`` (a recurrent layer and a Dense softmax head);
``losses.py`` and ``optimizers.py`` (SGD, Adam, RMSprop) follow Keras 3 operation for operation, ``clipping.py``
its clipnorm/clipvalue/global_clipnorm; ``trainer.py`` holds ``train_step`` (one ``train_on_batch``) and ``fit``;
``tasks.py`` generates the training tasks in code and ``targets.py`` checks a user's inputs and targets.
"""

from .model import RNNClassifier
from .optimizers import SGD, Adam, Optimizer, RMSprop
from .trainer import History, StepResult, Trainer, fit, train_step

__all__ = ["SGD", "Adam", "History", "Optimizer", "RMSprop", "RNNClassifier", "StepResult", "Trainer", "fit",
           "train_step"]
