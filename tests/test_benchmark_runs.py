"""The benchmark is not a timed test; this only runs its code once at a tiny size so it cannot rot."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.keras
def test_benchmark_runs_at_a_tiny_size():
    out = subprocess.run([sys.executable, "-m", "bench.bench_rnn", "--quick"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| (2, 6, 3, 4)")]
    assert [r.split("|")[2].strip() for r in rows] == ["SimpleRNN", "LSTM", "GRU"], out.stdout
    rels = [float(part.split()[0]) for part in out.stdout.split("dU relative difference ")[1:]]
    assert len(rels) == 3, out.stdout
    assert max(rels) < 1e-5, "the benchmark's two sides must compute the same gradients"


@pytest.mark.keras
def test_load_test_runs_over_the_websocket_at_a_tiny_size():
    """bench/load_test.py --websocket speaks Streamlit's own protocol: 3 + 2 sessions get their pages (3 charts each,
    no exception element), and the server's run log accounts for every session."""
    out = subprocess.run([sys.executable, "-m", "bench.load_test", "--websocket", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "did not complete" not in out.stdout, out.stdout
    assert "same link: 3 sessions, complete over the websocket" in out.stdout, out.stdout
    assert "different links: 2 sessions, complete over the websocket" in out.stdout, out.stdout
    assert "(3 sessions logged)" in out.stdout and "(2 sessions logged)" in out.stdout, out.stdout
