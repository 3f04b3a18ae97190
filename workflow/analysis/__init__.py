"""Analysis: what the levels above see — the KPIs, the dashboard's figures, the monthly report, exports.

Owns the tables ``analysis_case_facts`` (one row per case: what its timeline, deadlines and
evaluations say happened, re-derived on beat; never a counter) and ``analysis_reports`` (the
monthly 民意分析 snapshots). Modules: ``facts`` (deriving one case's facts from its timeline),
``refresh`` (bringing the facts table up to date), ``periods`` (months, weeks and from–to in
the deployment's zone), ``definitions`` (each figure's formula in three languages, written once),
``kpis`` (the figures of a unit's subtree and its child units), ``settings`` (the 三率 weights),
``exports`` and ``report`` (XLSX and CSV).

May use ``cases``, ``clock``, ``org`` and ``base``: it reads what the engine wrote and writes
only its own tables. It sits *beside* ``notices`` in the import contract, not above it: the
figures need nothing from delivery, and nothing in the engine needs the figures, so neither
may import the other (an independent layer over ``cases``).
"""
