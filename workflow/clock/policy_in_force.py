"""The deadline policy in force, as the administrator's page shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from schemas.policy import Duration, Rule
from schemas.vocabulary import Severity
from workflow.clock.policy import current_policy


@dataclass(frozen=True)
class SeverityTimes:
    """The default times of one severity, at each level a case reaches."""

    severity: Severity
    first_contact: Duration
    warn_after: timedelta
    resolve: Duration


@dataclass(frozen=True)
class PolicyInForce:
    """The deadline policy in force, as the administrator's page shows it."""

    source: str
    digest: str
    warn_at: float
    severities: list[SeverityTimes]
    evaluation: Duration
    supervision_repeat: Duration
    working_hours: list[tuple[time, time]]
    rules: list[Rule]


def policy_in_force() -> PolicyInForce:
    """Return the deadline policy in force (``GRIDCASE_POLICY`` or the shipped one) with its source and digest.

    Raises:
        InvalidInput: the policy file cannot be read or is not valid.
    """
    policy = current_policy()
    spec = policy.spec
    rows = [SeverityTimes(s, spec.severity[s].first_contact, spec.severity[s].resolve.span * spec.warn_at,
                          spec.severity[s].resolve) for s in Severity]
    return PolicyInForce(policy.source, policy.digest, spec.warn_at, rows, spec.evaluation, spec.supervision_repeat,
                         [(start, end) for start, end in spec.working_hours], list(spec.rules))
