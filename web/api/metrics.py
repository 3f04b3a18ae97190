"""``GET /metrics``: Prometheus text, for listed addresses (default: this machine) or a bearer token."""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from web.api.errors import error_response
from web.session import db_session
from workers.queues import depths
from workflow.base import wallclock
from workflow.operations.gauges import Snapshot, snapshot

bp = Blueprint("metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_ALLOW = "127.0.0.1/32,::1/128"


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Return the addresses that may scrape without a token (``GRIDCASE_METRICS_ALLOW``, default loopback)."""
    raw = os.environ.get("GRIDCASE_METRICS_ALLOW", DEFAULT_ALLOW)
    return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]


def may_scrape(remote_addr: str | None, authorization: str | None) -> bool:
    """Tell whether a scrape comes from a listed address or carries ``GRIDCASE_METRICS_TOKEN``."""
    token = os.environ.get("GRIDCASE_METRICS_TOKEN", "")
    if token and authorization and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in allowed_networks())


class StoredState(Collector):
    """Gauges read from the database and the broker at scrape time (never kept between scrapes)."""

    def __init__(self, snap: Snapshot | None, queues: dict[str, int] | None) -> None:
        self.snap, self.queues = snap, queues

    def collect(self) -> Iterator[Metric]:
        """Yield the gauges of this scrape."""
        up = GaugeMetricFamily("gridcase_database_up", "1 when the database answered this scrape")
        up.add_metric([], 1.0 if self.snap is not None else 0.0)
        yield up
        broker = GaugeMetricFamily("gridcase_broker_up", "1 when the broker answered this scrape")
        broker.add_metric([], 1.0 if self.queues is not None else 0.0)
        yield broker
        if self.queues is not None:
            queue = GaugeMetricFamily("gridcase_broker_queue_depth", "Messages waiting in a broker queue",
                                      labels=["queue"])
            for name, depth in self.queues.items():
                queue.add_metric([name], depth)
            yield queue
        if self.snap is None:
            return
        yield from _state_gauges(self.snap)


def _state_gauges(snap: Snapshot) -> Iterator[Metric]:
    cases = GaugeMetricFamily("gridcase_cases", "Cases by state and level", labels=["state", "level"])
    for (state, level), count in sorted(snap.cases.items()):
        cases.add_metric([state, level], count)
    yield cases
    pending = GaugeMetricFamily("gridcase_pending_rows", "Inbox and outbox rows not yet handled", labels=["table"])
    oldest = GaugeMetricFamily("gridcase_pending_oldest_seconds", "Age of the oldest pending row (0 when none)",
                               labels=["table"])
    for table, rows in (("inbox", snap.inbox), ("outbox", snap.outbox)):
        pending.add_metric([table], rows.count)
        oldest.add_metric([table], rows.oldest_seconds)
    yield pending
    yield oldest
    failed = GaugeMetricFamily("gridcase_inbox_failed", "Inbox rows set aside after repeated crashes")
    failed.add_metric([], snap.inbox_failed)
    yield failed
    deliveries = GaugeMetricFamily("gridcase_deliveries_waiting", "Deliveries pending or dead, by channel and status",
                                   labels=["channel", "status"])
    for (channel, status), count in sorted(snap.deliveries.items()):
        deliveries.add_metric([channel, status], count)
    yield deliveries
    overdue = GaugeMetricFamily("gridcase_deadlines_overdue",
                                "Armed deadlines past due (the sweeper has not fired them)")
    overdue.add_metric([], snap.deadlines_overdue)
    yield overdue
    overdue_age = GaugeMetricFamily("gridcase_deadlines_oldest_overdue_seconds",
                                    "How long the oldest armed deadline is past due (0 when none)")
    overdue_age.add_metric([], snap.oldest_overdue_seconds)
    yield overdue_age
    lag = GaugeMetricFamily("gridcase_heartbeat_age_seconds",
                            "Seconds since a periodic job last ran (sweeper: the sweeper's lag)", labels=["periodic"])
    for name, age in sorted(snap.heartbeat_age.items()):
        lag.add_metric([name], age)
    yield lag
    chains = GaugeMetricFamily("gridcase_chains_broken",
                               "Hash chains found broken at the last check (case timelines, plus 1 for the admin log)")
    chains.add_metric([], snap.chains_broken)
    yield chains


def _counters() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several gunicorn workers: each counted in its own file; add them up for this scrape.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """Answer the Prometheus text format: this process's counters and the stored state's gauges."""
    if not may_scrape(request.remote_addr, request.headers.get("Authorization")):
        return error_response(403, "forbidden", "metrics are served to the addresses in GRIDCASE_METRICS_ALLOW "
                                                "or with the bearer token GRIDCASE_METRICS_TOKEN")
    try:
        with db_session() as session:
            snap: Snapshot | None = snapshot(session, wallclock.now())
    except SQLAlchemyError:
        snap = None
    state = CollectorRegistry(auto_describe=False)
    state.register(StoredState(snap, depths()))
    return Response(_counters() + generate_latest(state), content_type=CONTENT_TYPE)
