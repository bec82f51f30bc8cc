"""Uncertainty and sensitivity: the spec and its factors, Monte Carlo, Sobol, tornado and swap points."""
