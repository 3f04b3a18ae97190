"""Tamper evidence: hash chains over append-only rows, and the administrators' audit log.

Tables: ``admin_audit`` (``models``: who did what in administration, each row chained to the one
before). Modules: ``chain`` (the canonical serialisation and the SHA-256 link every chain uses,
the case timeline's too), ``log`` (recording, reading and verifying the admin log). Uses ``base``
only, so that ``org`` and every package above it can record what its administrators do.
"""
