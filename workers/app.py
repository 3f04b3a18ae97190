"""The Celery app, configured for gridcase's invariants rather than Celery's defaults."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_init
from kombu import Exchange, Queue

from workers import embedded_broker
from workflow import machines  # noqa: F401 - registers every machine kind with the clock
from workflow.base import config
from workflow.base.private_files import private_dir
from workflow.clock.policy import current_policy

EVENTS, DELIVERIES, DEADLINES = "events", "deliveries", "deadlines"
QUEUES = (EVENTS, DELIVERIES, DEADLINES)


def _filesystem_options() -> dict[str, Any]:
    # The embedded transport claims a message by renaming it into processed_folder: keep it
    # on the same filesystem as the queue folder so the rename stays atomic.
    root = config.data_dir() / "broker"
    folders = {name: root / name for name in ("queue", "processed", "control", "quarantine")}
    for folder in folders.values():
        private_dir(folder)  # the messages carry residents' complaints
    private_dir(root)
    return {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "quarantine_folder": str(folders["quarantine"]),
        "store_processed": False,
        "polling_interval": 0.1,
    }


# One beat sends at a time on Redis: celery-redbeat's lock, held while beat runs and renewed on
# every tick (at most BEAT_TICK_SECONDS apart). A second beat (a standby, or one started by
# mistake) waits for the lock; if the holder dies, the lock lapses after BEAT_LOCK_SECONDS and
# the standby takes over. Double sends in that window do no harm anyway: the sweeper claims
# deadline rows under a lock and the relay re-publishes only what is pending.
BEAT_LOCK_SECONDS = 25
BEAT_TICK_SECONDS = 5


def beat_settings(broker_url: str) -> dict[str, Any]:
    """Return redbeat's settings on Redis (``GRIDCASE_BEAT_LOCK=0`` turns the lock off); none elsewhere."""
    if not broker_url.startswith(("redis://", "rediss://")) or os.environ.get("GRIDCASE_BEAT_LOCK", "1") == "0":
        return {}
    return {
        "beat_scheduler": "workers.beat_scheduler:ResilientRedBeatScheduler",
        "redbeat_redis_url": broker_url,
        "redbeat_key_prefix": "gridcase:redbeat",
        "redbeat_lock_timeout": BEAT_LOCK_SECONDS,
        "beat_max_loop_interval": BEAT_TICK_SECONDS,
    }


def celery_settings(broker_url: str) -> dict[str, Any]:
    """Return the settings that make at-least-once delivery safe (perf-reliability.md, C4)."""
    if broker_url.startswith(("filesystem", embedded_broker.ALIAS)):
        # kombu's own filesystem transport lets a worker read a message before it is written
        # and then exits (kombu #1551): the embedded broker is the subclass that does not.
        embedded_broker.register()
        broker_url = f"{embedded_broker.ALIAS}://"
        transport_options = _filesystem_options()
    else:
        # A task killed with its worker comes back after visibility_timeout; the restore
        # sweep runs every interval x throttle seconds (kombu's default is ~100 s).
        transport_options = {
            "visibility_timeout": float(os.environ.get("GRIDCASE_VISIBILITY_TIMEOUT", "60")),
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
            # The sweep holds a mutex in Redis for a few calls; a worker killed while it held it
            # left the mutex for kombu's default 300 s, and nothing was restored until then (the
            # fault suite saw 4 tasks stuck unacknowledged after a worker was killed). Ten
            # seconds is ample for the sweep and short beside the visibility timeout.
            "unacked_mutex_expire": 10,
        }
    return {
        "broker_url": broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_hijack_root_logger": False,
        # A safety net, not a cure: a pool child whose resident memory passes this after a task
        # is replaced by a fresh one (the next task waits for its start, about a second). In
        # bench/memory.py (2026-12-02, 110,000 events of the 300,000 asked in the 35 minutes the
        # busy machine allowed) the two children grew from 194 and 172 MB at 10,000 events to
        # 211 and 219 MB at 60,000 while caches and the allocator's arenas filled, then by 0.5
        # and 3.5 MB over the last 50,000: settling, not a leak. The limit is some 2.5 times
        # that plateau, so it never fires in normal work, and it stops a real leak long before
        # the out-of-memory killer would take the worker down with the task it holds.
        "worker_max_memory_per_child": int(os.environ.get("GRIDCASE_WORKER_MAX_MEMORY_MB", "512")) * 1024,  # KiB
        # Each queue on its own exchange and key: with the defaults all three would be bound
        # to "events", and a message sent to that exchange would land in every queue.
        "task_queues": [Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        "task_default_queue": EVENTS,
        "task_routes": {
            "gridcase.handle_event": {"queue": EVENTS, "routing_key": EVENTS},
            "gridcase.deliver_notices": {"queue": DELIVERIES, "routing_key": DELIVERIES},
            "gridcase.relay": {"queue": DEADLINES, "routing_key": DEADLINES},
            "gridcase.sweep_deadlines": {"queue": DEADLINES, "routing_key": DEADLINES},
            "gridcase.audit_deadlines": {"queue": DEADLINES, "routing_key": DEADLINES},
            "gridcase.check_chains": {"queue": DEADLINES, "routing_key": DEADLINES},
            "gridcase.refresh_analysis": {"queue": DEADLINES, "routing_key": DEADLINES},
            # A monthly report takes seconds to a minute: one worker thread of the events queue.
            "gridcase.monthly_report": {"queue": EVENTS, "routing_key": EVENTS},
            "gridcase.registry_import": {"queue": EVENTS, "routing_key": EVENTS},
        },
        # A publish after commit must not hang a web request while the broker is away:
        # the relay publishes whatever this misses.
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2,
                                      "interval_max": 0.5},
        "beat_schedule": {
            "relay": {"task": "gridcase.relay",
                      "schedule": float(os.environ.get("GRIDCASE_RELAY_INTERVAL", "5"))},
            "sweep-deadlines": {"task": "gridcase.sweep_deadlines",
                                "schedule": float(os.environ.get("GRIDCASE_SWEEP_INTERVAL", "10"))},
            "audit-deadlines": {"task": "gridcase.audit_deadlines", "schedule": 60.0},
            # The hash chains walked whole (every step of every case): hourly by default.
            "check-chains": {"task": "gridcase.check_chains",
                             "schedule": float(os.environ.get("GRIDCASE_CHAIN_CHECK_INTERVAL", "3600"))},
            # The dashboard's facts: derived again for the cases changed since the last run.
            "refresh-analysis": {"task": "gridcase.refresh_analysis",
                                 "schedule": float(os.environ.get("GRIDCASE_ANALYSIS_INTERVAL", "60"))},
            # Cases closed longer than GRIDCASE_RETENTION_DAYS anonymised; hourly is prompt enough
            # for a period counted in years, and a run with nothing due is one indexed query.
            "retention": {"task": "gridcase.retention",
                          "schedule": float(os.environ.get("GRIDCASE_RETENTION_INTERVAL", "3600"))},
        },
        "beat_schedule_filename": str(config.data_dir() / "celerybeat-schedule"),
        "timezone": "UTC",
        **beat_settings(broker_url),
    }


# psycopg caches the parsing of a query's placeholders only for queries of at most 4 KiB and
# 50 parameters. The ORM's multi-row INSERTs of a handling batch (50 steps, 150 deadlines,
# 50 notices, a delivery batch's rows) are larger, so each was parsed again with a regex:
# a fifth of a worker's CPU (profiled with py-spy and cProfile). A batch's statements repeat
# the same few texts, so raising the limits lets the cache (128 entries) serve them; the
# limits stay bounded (64 KiB, 4,000 parameters: about 8 MB at most) because the cache holds
# the texts. ``psycopg._queries`` is private: if it changes, this is skipped, not an error.
_PSYCOPG_CACHE_LIMITS = {"MAX_CACHED_STATEMENT_LENGTH": 64 * 1024, "MAX_CACHED_STATEMENT_PARAMS": 4000}


def cache_large_statements() -> None:
    """Let psycopg cache the parsing of the worker's large multi-row statements (see above)."""
    try:
        from psycopg import _queries
    except ImportError:  # pragma: no cover - another driver, or psycopg moved it
        return
    for name, limit in _PSYCOPG_CACHE_LIMITS.items():
        current = getattr(_queries, name, None)
        if isinstance(current, int) and current < limit:
            setattr(_queries, name, limit)


def make_celery() -> Celery:
    """Create the Celery app from the environment."""
    celery = Celery("gridcase", include=["workers.tasks", "workers.relay", "workers.deadlines", "workers.analysis",
                                         "workers.retention", "workers.registry"])
    private_dir(config.data_dir())
    celery.conf.update(celery_settings(config.broker_url()))
    return celery


app = make_celery()
from workers import observe  # noqa: E402,F401  - logs and metrics hooks on Celery's signals

cache_large_statements()  # at import, in the worker's parent: every forked child inherits it


@worker_init.connect
def _check_policy(**_: Any) -> None:
    # A broken policy file stops the worker at start, with the entry named, rather than
    # failing every case later.
    current_policy()
