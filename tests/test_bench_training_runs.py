"""The training benchmark is not a timed test; this only runs its code once at a tiny size so it cannot rot."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.keras
def test_training_benchmark_runs_at_a_tiny_size():
    out = subprocess.run([sys.executable, "-m", "bench.bench_training", "--quick"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "| simple_rnn |" in out.stdout, out.stdout
    assert "first-step losses agree" in out.stdout
