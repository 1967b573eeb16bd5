"""Demands of the technology market (see the module docstrings)."""

__all__: list[str] = []
