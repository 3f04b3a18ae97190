"""The counters and histograms every process adds to (prometheus-client); gauges of the stored state are in ops.

Each process counts what it did: the web process the events it accepted or refused, the
logins that failed and the requests a limit refused; a worker the batches it handled, how
long an event waited from intake to dispatch, and the deliveries it tried. Under gunicorn
or Celery's prefork pool each child counts in its own file and ``/metrics`` (or the
worker's port) adds them up: prometheus-client's multiprocess mode, switched on by
``PROMETHEUS_MULTIPROC_DIR`` before this module is first imported.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import Counter, Histogram

# In multiprocess mode every metric opens its file when it is made: the folder must exist
# before this module's first import (gunicorn's master imports the app package to read
# its config, before its on_starting hook empties the folder).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# Seconds: a batch takes tens of milliseconds; an event waits from a few ms (a warm worker)
# to the relay's grace (15 s) when its message was lost, and minutes under a backlog.
_HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 300.0, 900.0)

EVENTS_ACCEPTED = Counter("gridcase_events_accepted", "Events accepted at intake (a repeat counts as accepted)")
EVENTS_REFUSED = Counter("gridcase_events_refused", "Events refused at intake, by reason (the error code answered)",
                         ["reason"])
HANDLING_SECONDS = Histogram("gridcase_handling_seconds", "Time to handle one batch of inbox events",
                             buckets=_HANDLING_BUCKETS)
EVENTS_HANDLED = Counter("gridcase_events_handled", "Inbox events handled, by outcome (done, refused)",
                         ["outcome"])
INTAKE_TO_DISPATCH_SECONDS = Histogram("gridcase_intake_to_dispatch_seconds",
                                       "From intake (the 202) to the case being dispatched to its grid",
                                       buckets=_LATENCY_BUCKETS)
DELIVERIES = Counter("gridcase_deliveries", "Delivery attempts by channel and result (sent, retry, dead, waiting)",
                     ["channel", "result"])
LOGIN_FAILURES = Counter("gridcase_login_failures", "Refused logins: a wrong password (page) or bearer token (api)",
                         ["via"])
RATE_LIMITED = Counter("gridcase_rate_limited", "Requests refused with 429 by a rate limit, by endpoint",
                       ["endpoint"])
HTTP_RESPONSES = Counter("gridcase_http_responses", "HTTP responses by status class (2xx, 4xx, 5xx)", ["status"])
