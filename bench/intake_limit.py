"""What the intake limit per client address costs a single event on ``POST /api/v1/events``.

    .venv/bin/python bench/intake_limit.py [--events 1000] [--rounds 5] [--redis-url redis://127.0.0.1:6379/10]

In one process, on an SQLite file in a temporary folder (nothing is published to a broker):

1. posts ``--events`` single structured events through the Flask test client, one at a
   time, with the intake check left out (the baseline) and in, taking turns for ``--rounds`` rounds;
   the median time of a request in each is kept. The request is dominated by the SQLite
   commit and the machine is shared: the two medians differ by noise more than by the limit;
2. so it also times the limit's own check (``web.api.throttle.refuse_over_limit``) alone,
   ``--events`` calls in a request context, and prints it as a share of the baseline's
   median request;
3. and, for comparison, the same count kept in Redis (``limits``' fixed window on
   ``--redis-url``, the store of the login limits; skipped if it does not answer), which
   is why intake counts in memory.

Prints the figures last, as ``name=value`` pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from limits import parse
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from web import create_app  # noqa: E402
from web.api import events  # noqa: E402
from web.api.throttle import refuse_over_limit  # noqa: E402
from workflow.base.db import make_engine, unit_of_work  # noqa: E402
from workflow.base.schema import upgrade  # noqa: E402
from workflow.notices.org_file import import_org  # noqa: E402
from workflow.org.tree import DEMO_ORG_FILE, read_org_file  # noqa: E402

LIMIT = "1000000 per minute"  # counted, never reached


def make_app(database: str, on: bool) -> Any:
    """Return the app on ``database`` with the intake check on, or left out as before it existed.

    Off leaves everything else as it is (Flask-Limiter's own hooks for the login and look-up
    limits still run on every request): the difference is the intake check alone.
    """
    os.environ["GRIDCASE_INTAKE_LIMIT"] = LIMIT
    vars(events)["refuse_over_limit"] = refuse_over_limit if on else (lambda: None)
    return create_app({"DATABASE_URL": database, "ENGINE": make_engine(database),
                       "PUBLISH_EVENT": lambda _id: None, "PUBLISH_NOTICES": lambda _ids: None})


def post(app: Any, run: str, count: int) -> float:
    """Post ``count`` single events; return the median time of one request, in milliseconds."""
    client = app.test_client()
    bodies = [json.dumps({
        "specversion": "1.0", "id": f"{run}-{i}", "source": "/bench", "type": "org.gridcase.case.submitted",
        "data": {"category": "NOI", "description": "楼上夜间噪音", "grid": "XY-01-A-1",
                 "reporter": {"name": "王小明", "phone": "13812345678"}}}, ensure_ascii=False) for i in range(count)]
    times = []
    for body in bodies:
        start = time.perf_counter()
        response = client.post("/api/v1/events", data=body, content_type="application/cloudevents+json")
        times.append(time.perf_counter() - start)
        if response.status_code != 202:
            raise SystemExit(f"intake answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return statistics.median(times) * 1000


def check_alone(app: Any, count: int) -> float:
    """Time the limit's check alone, ``count`` calls; return microseconds per call."""
    with app.test_request_context("/api/v1/events", method="POST", environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        start = time.perf_counter()
        for _ in range(count):
            if refuse_over_limit() is not None:
                raise SystemExit("the limit refused a call: raise LIMIT")
        return (time.perf_counter() - start) / count * 1e6


def redis_hit(url: str, count: int) -> float | None:
    """Time the same fixed-window count kept in Redis; microseconds per call, None if Redis does not answer."""
    try:
        client = redis.Redis.from_url(url)
        client.ping()
        client.flushdb()
    except redis.RedisError as exc:
        print(f"redis: skipped, {url} does not answer ({exc})", flush=True)
        return None
    counter, item = FixedWindowRateLimiter(RedisStorage(url)), parse(LIMIT)
    start = time.perf_counter()
    for _ in range(count):
        counter.hit(item, "intake", "10.1.2.3")
    return (time.perf_counter() - start) / count * 1e6


def main() -> int:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gridcase-bench-intake-") as home:
        os.environ["GRIDCASE_HOME"] = home
        os.environ["GRIDCASE_SECRET_KEY"] = "bench"
        database = f"sqlite:///{Path(home) / 'bench.sqlite3'}"
        engine = make_engine(database)
        upgrade(engine)
        with unit_of_work(engine) as session:
            import_org(session, read_org_file(DEMO_ORG_FILE))
        medians: dict[str, list[float]] = {"off": [], "on": []}
        for round_ in range(args.rounds):
            # Each goes first in every other round: the database grows as the rounds go.
            for name in ("off", "on") if round_ % 2 == 0 else ("on", "off"):
                median = post(make_app(database, name == "on"), f"{name}-{round_}", args.events)
                medians[name].append(median)
                print(f"round {round_ + 1} limit {name}: median request {median:.2f} ms", flush=True)
        check_us = check_alone(make_app(database, True), args.events)
    in_redis = redis_hit(args.redis_url, args.events)
    request_ms = {name: statistics.median(values) for name, values in medians.items()}
    base_us = request_ms["off"] * 1000
    figures = [f"events={args.events} rounds={args.rounds}",
               *(f"request_ms_limit_{name}={ms:.2f}" for name, ms in request_ms.items()),
               f"check_us={check_us:.1f} check_share_of_request={check_us / base_us:.4f}"]
    if in_redis is not None:
        figures.append(f"redis_count_us={in_redis:.1f} redis_count_share_of_request={in_redis / base_us:.4f}")
    print(" ".join(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
