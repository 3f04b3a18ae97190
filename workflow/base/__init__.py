"""The shared base every package may use: sessions and the engine, settings, the time, errors, masking, labels.

Owns no tables (``db.Base`` is the one declarative base the packages' models share) and
imports no other package of ``workflow``. ``schema`` brings a database to the current
migration (``workflow/migrations``).
"""
