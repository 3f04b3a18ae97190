"""Community decisions (四议两公开): proposal, the three meetings, publication, implementation, result.

Tables (``models``): ``decisions``, ``decision_events`` (the decision's own timeline, the shape of
``case_events``), ``decision_meetings`` (attendance, votes, minutes), ``decision_objections``
(residents' objections during a publication period; name and phone never published) and
``decision_attachments`` (plan, budget, photos of the posted notice). ``machine`` is the decision
machine as data, on the same ``transitions`` engine as the case and mediation machines, with the
quorum and majority guards; ``steps`` is the only writer of a decision's state and writes its
notices to the shared outbox (``case_id`` NULL, ``unit_id`` set) in the same transaction;
``views`` shapes it for staff and for the public page; ``clock`` puts the publication periods on
the engine's clock. Uses ``registry`` (the party-member register), ``cases``, ``clock``, ``org``, ``base``.
"""
