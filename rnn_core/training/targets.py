"""Checks on training inputs and targets, with messages a user can act on.

The two losses want different targets (Keras' conventions):

sparse_categorical_crossentropy: one class index per prediction, integers in
    [0, num_class): (B, T) many-to-many, (B,) many-to-one. A trailing axis of
    size 1 is accepted and dropped, and floats holding whole numbers are
    accepted, as Keras casts labels to int64.
mse: one real vector per prediction, (B, T, C) many-to-many, (B, C)
    many-to-one; with C = 1 the trailing axis may be left out.

Every problem raises :class:`TargetError` (a ValueError).
"""

from __future__ import annotations

import numpy as np

from ..messages import N_, Message, UserError

Array = np.ndarray

SCCE_LOSS = "sparse_categorical_crossentropy"
LOSS_NAMES = (SCCE_LOSS, "mse")


class TargetError(UserError):
    """Inputs or targets cannot be used for training; the message says why and what would work."""


def check_loss(loss: str) -> str:
    if loss not in LOSS_NAMES:
        raise TargetError(N_("loss must be one of {loss_names}; got {loss!r}."),
                          loss_names=', '.join(LOSS_NAMES), loss=loss)
    return loss


def check_inputs(x, dtype=np.float32) -> Array:
    """x as a (B, T, D) array of ``dtype`` with finite values, or a TargetError."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf" or x.dtype.kind == "b":
        raise TargetError(N_("Inputs must be numbers; got dtype {dtype}."),
                          dtype=x.dtype)
    if x.ndim != 3:
        raise TargetError(N_("Inputs must be 3-D (batch, timesteps, features); got shape {shape}."),
                          shape=x.shape)
    if 0 in x.shape:
        raise TargetError(N_("Inputs must not be empty; got shape {shape}."),
                          shape=x.shape)
    x = x.astype(dtype, copy=False)
    if not np.isfinite(x).all():
        raise TargetError(N_("Inputs hold {count} NaN or infinite values."),
                          count=int((~np.isfinite(x)).sum()))
    return x


def expected_shape(batch: int, steps: int, many_to_many: bool, num_class: int, loss: str) -> tuple[int, ...]:
    """The target shape for ``loss`` and the model's output."""
    lead = (batch, steps) if many_to_many else (batch,)
    return lead if loss == "sparse_categorical_crossentropy" else lead + (num_class,)


def check_targets(y, *, batch: int, steps: int, many_to_many: bool, num_class: int, loss: str) -> Array:
    """y checked and converted: int64 class indices or float32 values of the expected shape."""
    check_loss(loss)
    y = np.asarray(y)
    want = expected_shape(batch, steps, many_to_many, num_class, loss)
    if y.dtype.kind not in "biuf" or y.dtype.kind == "b":
        kind = Message(N_("class indices (integers)")) if loss != "mse" else Message(N_("numbers"))
        raise TargetError(N_("Targets must be {kind}; got dtype {dtype}."),
                          kind=kind, dtype=y.dtype)
    setting = (Message(N_("many-to-many: one per sequence and step")) if many_to_many
               else Message(N_("many-to-one: one per sequence")))
    if loss == "sparse_categorical_crossentropy":
        if y.shape == want + (1,):
            y = y[..., 0]
        if y.shape != want:
            raise TargetError(N_("Labels must have shape {want} ({setting}); got {shape}."),
                              want=want, setting=setting, shape=y.shape)
        if y.dtype.kind == "f" and (not np.isfinite(y).all() or (y != np.round(y)).any()):
            raise TargetError(N_("Labels must be whole numbers (class indices); got fractions or NaN. For "
                                 "real-valued targets use the mse loss."))
        y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= num_class):
            raise TargetError(N_("Labels must be class indices in [0, {num_class}) for a model with {num_class} "
                                 "classes; got values from {low} to {high}."),
                              num_class=num_class, low=y.min(), high=y.max())
        return y
    if num_class == 1 and y.shape == want[:-1]:
        y = y[..., None]
    if y.shape != want:
        raise TargetError(N_("Targets must have shape {want} ({setting}, {num_class} values each); got {shape}."),
                          want=want, setting=setting, num_class=num_class, shape=y.shape)
    y = y.astype(np.float32)
    if not np.isfinite(y).all():
        raise TargetError(N_("Targets hold {count} NaN or infinite values."),
                          count=int((~np.isfinite(y)).sum()))
    return y
