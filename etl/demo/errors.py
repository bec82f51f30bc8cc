"""Typed errors raised by the demo generator."""


class DemoConfigError(ValueError):
    """The generator was asked for an impossible configuration (bad month, scale, seed)."""
