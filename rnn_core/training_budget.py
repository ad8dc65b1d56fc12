"""How long NumPy training takes on this project's server, and the budget a training run gets.

Measured by ``python -m bench.bench_training`` (OPENBLAS_NUM_THREADS=1, on the
2-core machine while other work ran, so the numbers are on the safe side):
one SimpleRNN train_step takes about

    t = T x STEP_OVERHEAD + W / WORK_RATE,    W = B T H (H + D + C)

seconds: a fixed cost per time step (a few small NumPy calls forward and back)
plus the multiply-adds of the forward pass. LSTM and GRU steps cost a
measured COST_FACTOR times as much (their gates: more products and more calls
per step; 4-5x at the tutorial's shape). At the tutorial's shape (B=32,
T=100, D=13, H=128, C=39) that is ~40 ms for SimpleRNN.

A request may train for at most MAX_SECONDS of estimated compute; past it,
:func:`check_budget` raises a BudgetError that says what to shrink.
"""

from __future__ import annotations

from .messages import N_, UserError

STEP_OVERHEAD = 60e-6          # seconds per time step (measured 56 us, SimpleRNN)
WORK_RATE = 2.0e9              # multiply-adds per second (measured 2.2e9 under load, 1 BLAS thread)
COST_FACTOR = {"simple_rnn": 1.0, "gru": 5.0, "lstm": 5.0}   # measured 4-5x, interleaved, same machine
MAX_SECONDS = 60.0             # estimated compute per training request
MAX_STEPS = 5000               # and never more steps than this in one request


class BudgetError(UserError):
    """A training request is larger than the server's budget; the message says by how much."""


def step_work(batch: int, steps: int, features: int, units: int, outputs: int) -> int:
    """W: multiply-adds of one SimpleRNN + Dense forward pass, B T H (H + D + C)."""
    return batch * steps * units * (units + features + outputs)


def estimate_step_seconds(cell: str, batch: int, steps: int, features: int, units: int, outputs: int) -> float:
    """Estimated seconds of one train_step here (forward, BPTT, update)."""
    simple = steps * STEP_OVERHEAD + step_work(batch, steps, features, units, outputs) / WORK_RATE
    return COST_FACTOR[cell] * simple


def check_budget(train_steps: int, cell: str, batch: int, steps: int, features: int, units: int, outputs: int,
                 max_seconds: float = MAX_SECONDS) -> float:
    """The estimated seconds for ``train_steps`` steps; BudgetError if over ``max_seconds`` or MAX_STEPS."""
    if cell not in COST_FACTOR:
        raise ValueError(f"cell must be one of {', '.join(COST_FACTOR)}; got {cell!r}.")
    per_step = estimate_step_seconds(cell, batch, steps, features, units, outputs)
    total = train_steps * per_step
    if train_steps > MAX_STEPS:
        raise BudgetError(N_("{train_steps:,} training steps requested; the limit is {max_steps:,} per run. Use "
                             "fewer epochs or a larger batch."),
                          train_steps=train_steps, max_steps=MAX_STEPS)
    if total > max_seconds:
        fits = max(1, int(max_seconds / per_step))
        raise BudgetError(N_("{train_steps:,} steps of batch {batch} x {steps} time steps with {units} units would "
                             "take about {total:.0f} s here; the limit is {max_seconds:.0f} s per run (about "
                             "{fits:,} such steps). Use fewer epochs, shorter sequences or fewer units."),
                          train_steps=train_steps, batch=batch, steps=steps, units=units, total=total,
                          max_seconds=max_seconds, fits=fits)
    return total
