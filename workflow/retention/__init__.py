"""Retention: the personal data of cases closed longer than ``GRIDCASE_RETENTION_DAYS`` anonymised.

Owns no table: it rewrites the rows of ``cases``, ``mediation``, ``integrators`` and ``notices``
that hold a case's personal data, and logs each case's anonymisation as a step on its
timeline. Sits beside ``operations``, above every capability it rewrites; nothing in
``workflow`` imports it. The beat task is ``workers/retention.py``; the command ``gridcase
retention run [--dry-run]``.
"""
