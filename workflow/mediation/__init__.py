"""Mediation (调解) of a dispute beside its case: consent, sessions, the agreement, follow-up visits.

Tables: ``mediations``, ``mediation_parties`` (each party's consent), ``mediation_mediators``,
``mediation_sessions`` (调解笔录), ``agreements`` (调解协议书, one row per version) and
``agreement_signatures`` (``models``). ``machine`` is the mediation machine as data, run on the
same ``transitions`` engine as the case machine; ``steps`` is the only writer of a mediation's
state and appends every step to the case's timeline (``case_events``, kinds ``mediation.*``)
and its notices to the case's outbox in the same transaction. ``agreement_pdf`` lays out the
signed agreement. Uses ``cases``, ``clock``, ``org`` and ``base``; never ``notices``.
"""
