"""Analysis: why gradients vanish or explode, and what a trained network has learned.

``gradient_flow.py`` holds the Jacobians of the recurrence, their norms, the decay fit and Pascanu's bounds.
The interpretation tools sit beside it: ``selection.py`` (LSTMVis-style select and match), ``state_space.py``
(principal components, gate saturation, units that track a signal) and ``fixed_points.py`` (Sussillo and
Barak's fixed points and their linearisation).
"""
