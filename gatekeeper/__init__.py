"""Gatekeeper: offline-first gate-checkpoint scanner.

Data flows one way: frame -> decode -> credential -> policy -> decision -> gate and log -> upload.
``gatekeeper.verify`` is the pure decision core; ``scan``, ``hw`` and ``sync`` are the adapters,
tied together only by ``gatekeeper.gate.daemon``.
"""

__version__ = "0.1.0"
