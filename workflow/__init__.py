"""The domain of gridcase, one package per capability; nothing here imports Flask or Celery.

Lowest first, each package may use only those below it (checked by import-linter in CI)::

    notices  ->  cases  ->  clock  ->  org  ->  base

``tables`` gathers every package's tables on the one metadata for Alembic (``migrations/``).
"""
