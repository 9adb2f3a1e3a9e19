"""Safeguard: a school's Acceptable Use Policy as running detection.

This package is the pure core: models, policy profiles, rule kinds and scoring.
Nothing here opens a file, a socket or a database; the edges (`producers`,
`streams`, `pipelines`, `warehouse`, `dashboard`) do, and `safeguard.cli` wires them.
"""

__version__ = "0.1.0"
