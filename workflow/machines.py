"""Every machine kind the engine runs, registered with the clock in one place.

A machine kind is a machine definition (its states and triggers as data), its models, its step
functions, and an object in ``<capability>/clock.py`` that the clock hands due deadlines to
(``workflow/clock/kinds.MachineKind``). Adding a kind is one line here. Every entry point (the web
app, the Celery app, the CLI, the tests) imports this module, so the registry is full wherever a
sweep or the inbox handler runs.
"""

from __future__ import annotations

from workflow.cases.overdue import CASE_KIND
from workflow.clock import kinds
from workflow.decisions.clock import DECISION_KIND
from workflow.mediation.clock import MEDIATION_KIND

KINDS = (CASE_KIND, MEDIATION_KIND, DECISION_KIND)

for _kind in KINDS:
    kinds.register(_kind)
