"""The per-visit budget (rnn_core/budget.py): its estimate against measured memory, and the nearest fitting \
configuration.

Memory is measured with tracemalloc on the NumPy path of each page (the same calls as the page, from
bench/page_work.py). Not a timed test: time estimates are compared with measurement by bench/bench_budget.py.
"""

import tracemalloc
from dataclasses import replace

import pytest

from bench.page_work import config, inputs, run_page
from rnn_core import budget

# The estimate is a linear model fitted on this machine; it must stay within this factor of the measured peak
# (either way) at sizes where the arrays dominate. Measured ratios are in docs/performance.md (bench/bench_budget.py).
FACTOR = 2.0


@pytest.mark.parametrize("page", ["hidden-states", "output-shapes", "gradient-flow"])
@pytest.mark.parametrize("B, T, H, D, cell", [(1, 20_000, 64, 1, "SimpleRNN"), (4, 4_000, 128, 1, "SimpleRNN"),
                                              (2, 8_000, 32, 16, "SimpleRNN"), (1, 20_000, 64, 1, "LSTM"),
                                              (2, 8_000, 32, 16, "GRU")])
def test_estimate_is_within_a_factor_of_measured_peak_memory(page, B, T, H, D, cell):
    cfg = replace(config(B, T, H, D), cell=cell)
    x, labels = inputs(cfg, D)
    tracemalloc.start()
    try:
        run_page(page, cfg, x, labels, keras=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    est = budget.estimate(page, B, T, H, D, keras=False, cell=cfg.kind)
    assert 1 / FACTOR <= peak / est.bytes <= FACTOR, (
        f"{page} {cell} {(B, T, H, D)}: measured {peak / 2**20:.1f} MiB, estimated {est.bytes / 2**20:.1f} MiB")


def test_the_issues_links_are_over_budget():
    for page in ("hidden-states", "gradient-flow"):
        est = budget.estimate(page, 16, 100_000, 256, 1, keras=False)
        assert not est.fits and "memory" in est.over and est.bytes > 4 * 2**30
    assert budget.estimate("gradient-flow", 1, 400, 32, 2, keras=True).fits     # the class's shared link


def test_keras_past_its_step_limit_costs_nothing_extra():
    on = budget.estimate("gradient-flow", 1, budget.KERAS_MAX_STEPS["gradients"] + 1, 64, 1, keras=True)
    off = budget.estimate("gradient-flow", 1, budget.KERAS_MAX_STEPS["gradients"] + 1, 64, 1, keras=False)
    assert not on.keras_runs and on.bytes == off.bytes and on.seconds == off.seconds
    within = budget.estimate("gradient-flow", 1, 1000, 64, 1, keras=True)
    assert within.keras_runs and within.seconds > budget.estimate("gradient-flow", 1, 1000, 64, 1).seconds


def test_estimates_grow_with_every_size_and_with_the_cell():
    base = budget.estimate("hidden-states", 2, 1000, 64, 3, keras=True)
    for bigger in ((4, 1000, 64, 3), (2, 2000, 64, 3), (2, 1000, 128, 3), (2, 1000, 64, 30)):
        est = budget.estimate("hidden-states", *bigger, keras=True)
        assert est.bytes > base.bytes and est.seconds >= base.seconds, bigger
    by_cell = {c: budget.estimate("gradient-flow", 1, 5000, 128, 1, cell=c) for c in budget.CELLS}
    simple, gru, lstm = by_cell["simple_rnn"], by_cell["gru"], by_cell["lstm"]
    assert simple.bytes < gru.bytes < lstm.bytes and simple.seconds < gru.seconds < lstm.seconds


def test_nearest_fitting_reduces_batch_then_steps_then_units():
    fits = budget.nearest_fitting("hidden-states", 1, 100, 8, 1)
    assert fits.changes == () and (fits.batch, fits.steps, fits.units) == (1, 100, 8)
    s = budget.nearest_fitting("hidden-states", 16, 100_000, 256, 1, keras=False)
    assert s.batch == 1 and s.units == 256 and 2 <= s.steps < 100_000 and s.estimate.fits
    assert s.changes[0] == "batch 16 → 1" and s.changes[1].startswith("steps 100,000 → ")
    up = min([t for t in budget._nice_below(100_000, 2) if t > s.steps], default=100_000)
    assert not budget.estimate("hidden-states", 1, up, 256, 1).fits          # the next round number up does not fit
    b = budget.nearest_fitting("hidden-states", 16, 40_000, 64, 1)          # a smaller batch is enough here
    assert 1 < b.batch < 16 and (b.steps, b.units) == (40_000, 64) and b.estimate.fits
    assert not budget.estimate("hidden-states", b.batch + 1, 40_000, 64, 1).fits


def test_bad_arguments_fail_early():
    with pytest.raises(ValueError, match="page must be one of"):
        budget.estimate("home", 1, 10, 4)
    with pytest.raises(ValueError, match="cell must be one of"):
        budget.estimate("hidden-states", 1, 10, 4, cell="transformer")
    with pytest.raises(ValueError, match=">= 1"):
        budget.estimate("hidden-states", 0, 10, 4)
