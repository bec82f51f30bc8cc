"""Errors shared by the scoring pipeline and its result tables (a leaf module: it imports nothing from the project)."""

from __future__ import annotations


class ScoringError(ValueError):
    """The data or the specification cannot be scored; the message names the culprit."""
