"""SGD, Adam and RMSprop with Keras 3's update rules, operation for operation.

Each optimizer keeps one slot array per weight (momentum, velocity, ...),
created on the first :meth:`Optimizer.apply`, and an ``iterations`` counter
that counts applies, as ``keras.optimizers.Optimizer`` does. ``apply`` updates
the weight arrays **in place** (``w -= ...``), so the arrays a model returns
from ``get_weights()`` (its live weights) are trained directly; it returns None.

All arithmetic runs in each weight's dtype (float32 for the models here): every
hyperparameter is cast to that dtype first, as Keras casts with
``ops.cast(x, variable.dtype)``, and the operations run in Keras' order, so a
float32 run follows Keras' float32 run up to rounding of ``pow`` and ``sqrt``.

Clipping (clipnorm, global_clipnorm, clipvalue: at most one) is applied to the
gradients before the update, by :mod:`rnn_core.training.clipping`, as Keras'
``_clip_gradients`` does. Weight decay, EMA, loss scaling and gradient
accumulation of Keras are not implemented.

Example:
    >>> opt = Adam(learning_rate=0.01, clipnorm=1.0)
    >>> w = [np.ones((2, 2), np.float32)]
    >>> opt.apply([np.full((2, 2), 0.5, np.float32)], w)     # w[0] is now 0.99 everywhere
"""

from __future__ import annotations

import math

import numpy as np

from .clipping import clip_gradients

Array = np.ndarray


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def _fraction(name: str, value, upper_inclusive: bool = True) -> float:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) \
        and math.isfinite(value) and value >= 0.0 and (value <= 1.0 if upper_inclusive else value < 1.0)
    if not ok:
        raise ValueError(f"{name} must be a number in [0, 1{']' if upper_inclusive else ')'}, got {value!r}.")
    return float(value)


class Optimizer:
    """What SGD, Adam and RMSprop share: clipping, slots per weight, the step counter.

    Subclasses define ``slot_names`` (the per-weight state arrays) and
    ``update_step(g, w, slots, lr)``, which changes ``w`` and ``slots`` in place.
    """

    slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: float, clipnorm: float | None = None,
                 global_clipnorm: float | None = None, clipvalue: float | None = None) -> None:
        self.learning_rate = _positive("learning_rate", learning_rate)
        clip_gradients([], clipnorm=clipnorm, global_clipnorm=global_clipnorm, clipvalue=clipvalue)  # validates
        self.clipnorm, self.global_clipnorm, self.clipvalue = clipnorm, global_clipnorm, clipvalue
        self.iterations = 0                       # applies so far (Keras' optimizer.iterations)
        self.slots: list[dict[str, Array]] | None = None

    # -- the public steps --------------------------------------------------------

    def clip(self, grads: list[Array]) -> list[Array]:
        """The gradients after this optimizer's clipping (unchanged without clipping)."""
        return clip_gradients(list(grads), clipnorm=self.clipnorm, global_clipnorm=self.global_clipnorm,
                              clipvalue=self.clipvalue)

    def apply(self, grads: list[Array], weights: list[Array]) -> None:
        """Clip ``grads``, then update ``weights`` in place (one step); as Keras' ``optimizer.apply``."""
        self.update(self.clip(grads), weights)

    def update(self, grads: list[Array], weights: list[Array]) -> None:
        """One update with gradients that are already clipped (``apply`` without the clipping)."""
        grads, weights = list(grads), list(weights)
        self._check(grads, weights)
        if self.slots is None:
            self.build(weights)
        for g, w, slots in zip(grads, weights, self.slots, strict=True):
            lr = w.dtype.type(self.learning_rate)         # ops.cast(learning_rate, variable.dtype)
            self.update_step(g.astype(w.dtype, copy=False), w, slots, lr)
        self.iterations += 1

    def build(self, weights: list[Array]) -> None:
        """One zero array per slot name and weight (Keras' add_optimizer_variables)."""
        self.slots = [{name: np.zeros_like(w) for name in self.slot_names} for w in weights]

    def reset(self) -> None:
        """Forget the slots and the step counter (a fresh optimizer with the same settings)."""
        self.slots, self.iterations = None, 0

    def update_step(self, g: Array, w: Array, slots: dict[str, Array], lr) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": type(self).__name__, "learning_rate": self.learning_rate, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    # -- checks -----------------------------------------------------------------

    def _check(self, grads: list[Array], weights: list[Array]) -> None:
        if len(grads) != len(weights):
            raise ValueError(f"Got {len(grads)} gradients for {len(weights)} weights.")
        if self.slots is not None and len(self.slots) != len(weights):
            raise ValueError(f"This optimizer was built for {len(self.slots)} weights, got {len(weights)}. "
                             "Use a new optimizer (or reset()) for another model.")
        for i, (g, w) in enumerate(zip(grads, weights, strict=True)):
            if not isinstance(w, np.ndarray) or not np.issubdtype(w.dtype, np.floating) or not w.flags.writeable:
                raise ValueError(f"weight {i} must be a writeable float NumPy array (it is updated in place).")
            if np.shape(g) != w.shape:
                raise ValueError(f"gradient {i} has shape {np.shape(g)}, its weight {w.shape}.")
            if self.slots is not None and any(s.shape != w.shape for s in self.slots[i].values()):
                raise ValueError(f"weight {i} has shape {w.shape}, but this optimizer was built for another shape.")


class SGD(Optimizer):
    """Gradient descent, with (Nesterov) momentum; ``keras.optimizers.SGD``.

    momentum = 0:   w <- w - lr g
    momentum > 0:   m <- momentum m - lr g ;  w <- w + m
    nesterov:       m <- momentum m - lr g ;  w <- w + momentum m - lr g
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 clipnorm: float | None = None, global_clipnorm: float | None = None,
                 clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, clipnorm, global_clipnorm, clipvalue)
        self.momentum = _fraction("momentum", momentum)
        self.nesterov = bool(nesterov)
        self.slot_names = ("momentum",) if self.momentum != 0 else ()

    def update_step(self, g: Array, w: Array, slots: dict[str, Array], lr) -> None:
        if "momentum" not in slots:
            w -= g * lr                                        # w <- w - lr g
            return
        m, mu = slots["momentum"], w.dtype.type(self.momentum)
        m[...] = m * mu - g * lr                               # m <- momentum m - lr g
        if self.nesterov:
            w += m * mu - g * lr                               # w <- w + momentum m - lr g
        else:
            w += m                                             # w <- w + m

    def get_config(self) -> dict:
        return super().get_config() | {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba), optionally AMSGrad; ``keras.optimizers.Adam``.

    With t = iterations + 1 (float, in the weight's dtype):
        alpha <- lr sqrt(1 - beta_2^t) / (1 - beta_1^t)     (bias correction folded into the step)
        m <- m + (g - m)(1 - beta_1)                         (= beta_1 m + (1 - beta_1) g)
        v <- v + (g^2 - v)(1 - beta_2)
        amsgrad: v_hat <- max(v_hat, v) and v_hat is used for v below
        w <- w - m alpha / (sqrt(v) + epsilon)
    epsilon is Keras' "epsilon hat", added to sqrt(v) after the bias correction of the step.
    """

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, clipnorm: float | None = None,
                 global_clipnorm: float | None = None, clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, clipnorm, global_clipnorm, clipvalue)
        self.beta_1 = _fraction("beta_1", beta_1, upper_inclusive=False)
        self.beta_2 = _fraction("beta_2", beta_2, upper_inclusive=False)
        self.epsilon = _positive("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)
        self.slot_names = ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def update_step(self, g: Array, w: Array, slots: dict[str, Array], lr) -> None:
        f = w.dtype.type
        t = f(self.iterations + 1)                                   # local_step
        beta_1_power, beta_2_power = f(self.beta_1) ** t, f(self.beta_2) ** t
        alpha = lr * np.sqrt(f(1) - beta_2_power) / (f(1) - beta_1_power)
        m, v = slots["momentum"], slots["velocity"]
        m += (g - m) * f(1 - self.beta_1)                            # 1 - beta_1 in Python, then cast
        v += (np.square(g) - v) * f(1 - self.beta_2)
        if self.amsgrad:
            v_hat = slots["velocity_hat"]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        w -= (m * alpha) / (np.sqrt(v) + f(self.epsilon))

    def get_config(self) -> dict:
        return super().get_config() | {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                                       "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """RMSprop (Hinton), optionally centred and with momentum; ``keras.optimizers.RMSprop``.

        v <- rho v + (1 - rho) g^2                 (moving mean of g^2)
        centered: a <- rho a + (1 - rho) g ;  d = v - a^2 + epsilon     (an estimate of the variance)
        else:     d = v + epsilon
        step = lr g / sqrt(d)
        momentum > 0: p <- momentum p + step ;  w <- w - p
        else:         w <- w - step
    """

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, clipnorm: float | None = None,
                 global_clipnorm: float | None = None, clipvalue: float | None = None) -> None:
        super().__init__(learning_rate, clipnorm, global_clipnorm, clipvalue)
        self.rho = _fraction("rho", rho)
        self.momentum = _fraction("momentum", momentum)
        self.epsilon = _positive("epsilon", epsilon)
        self.centered = bool(centered)
        self.slot_names = ("velocity",) + (("momentum",) if self.momentum > 0 else ()) \
            + (("average_gradient",) if self.centered else ())

    def update_step(self, g: Array, w: Array, slots: dict[str, Array], lr) -> None:
        f = w.dtype.type
        rho, v = f(self.rho), slots["velocity"]
        v[...] = rho * v + f(1 - self.rho) * np.square(g)           # v <- rho v + (1 - rho) g^2
        if self.centered:
            a = slots["average_gradient"]
            a[...] = rho * a + f(1 - self.rho) * g                   # a <- rho a + (1 - rho) g
            denominator = v - np.square(a) + f(self.epsilon)
        else:
            denominator = v + f(self.epsilon)
        increment = (lr * g) / np.sqrt(denominator)                  # lr g / sqrt(d)
        if self.momentum > 0:
            p = slots["momentum"]
            p[...] = f(self.momentum) * p + increment                # p <- momentum p + step
            w -= p
        else:
            w -= increment

    def get_config(self) -> dict:
        return super().get_config() | {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                                       "centered": self.centered}


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(name: str, **kwargs) -> Optimizer:
    """An optimizer by its Keras name ("sgd", "adam", "rmsprop"), with keyword arguments."""
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}.")
    return OPTIMIZERS[key](**kwargs)
