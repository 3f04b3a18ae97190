"""Cases and the engine that moves them: intake, handling, the case machine, steps, views, worklists.

Tables: ``cases``, ``case_parties``, ``case_events`` (the timeline), ``evaluations``,
``attachments``, ``inbox`` and ``outbox`` (``models``). ``machine`` is the state machine as data;
``steps`` is the only writer of a case's state; each step re-arms the case's clock
(``deadlines``, on the clock package) and writes its notices to the outbox (``outbox``) in the
same transaction. ``overdue`` turns due deadlines into inbox events and fires them. Uses
``clock``, ``org`` and ``base``; never ``notices`` (the outbox is the hand-over).
"""

# Every step appended to a timeline is chained to the one before it, whoever appends it: the
# hook is registered on every session as soon as the cases package is imported.
from workflow.cases import chain as chain  # noqa: E402
