"""How far NumPy's numbers are from Keras': the largest difference, and the float32 tolerance it is held to.

Plain NumPy (no Streamlit), shared by the result cache and the pages' parity badges.
"""

from __future__ import annotations

import numpy as np

F32_TOL = 1e-5   # float32 parity: max |NumPy - Keras| <= F32_TOL * max(1, scale)


def max_difference(a, b) -> float:
    """max |a - b| over the finite entries; inf when a and b are not finite in the same places."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    both_finite = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return float("inf")
    return float(np.abs(a[both_finite] - b[both_finite]).max(initial=0.0))


def tolerance_for(reference) -> float:
    """F32_TOL relative to the reference's scale: F32_TOL * max(1, max |reference|)."""
    ref = np.asarray(reference, np.float64)
    finite = np.abs(ref[np.isfinite(ref)])
    return F32_TOL * max(1.0, float(finite.max(initial=0.0)))
