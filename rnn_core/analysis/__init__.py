"""Analysis: why gradients vanish or explode, and what a trained network has learned.

``gradient_flow.py`` holds the Jacobians of the recurrence, their norms, the decay fit and Pascanu's bounds.
The interpretation tools sit beside it: ``selection.py`` (LSTMVis-style select and match), ``state_space.py``
(principal components, gate saturation, units that track a signal) and ``fixed_points.py`` (Sussillo and
Barak's fixed points and their linearisation).
"""

from .fixed_points import FixedPoints, fixed_points
from .selection import Match, match_pattern, selected_units
from .state_space import GateSaturation, StatePCA, UnitCorrelations, correlated_units, gate_saturation, pca_trajectories

__all__ = ["FixedPoints", "GateSaturation", "Match", "StatePCA", "UnitCorrelations", "correlated_units", "fixed_points",
           "gate_saturation", "match_pattern", "pca_trajectories", "selected_units"]
