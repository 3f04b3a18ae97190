"""What a log line costs through gridcase's structlog chain (JSON, scrubbed) against plain stdlib logging.

    .venv/bin/python bench/logging_cost.py [--lines 20000]

Logs the same line (a step of a case: a message with Chinese text, ``case_id``, ``trigger``,
``inbox_id`` as ``extra``, and a request id bound in context) ``--lines`` times into a null
stream, three ways in turn, best of five: plain ``logging.Formatter``, the structlog chain
rendering JSON, and the same chain with the personal-data scrubber. Prints microseconds per
line and the ratios to plain logging, last.
"""

from __future__ import annotations

import argparse
import io
import logging
import time

import structlog

from workflow.base import logs


class Null(io.StringIO):
    def write(self, s: str) -> int:
        return len(s)


def per_line(logger: logging.Logger, lines: int) -> float:
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        for i in range(lines):
            logger.info("case %s: %s %s -> %s by %s", i, "escalate", "grid_handling", "branch_handling",
                        "xy01a1.leader", extra={"case_id": i, "trigger": "escalate", "inbox_id": i,
                                                "reason": "双方情绪激动,需支部调解"})
        best = min(best, time.perf_counter() - began)
    return best / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    args = parser.parse_args()
    root = logging.getLogger()
    logger = logging.getLogger("bench.steps")

    handler = logging.StreamHandler(Null())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    plain = per_line(logger, args.lines)

    logs.configure("bench", Null(), "json")
    logs.bind(request_id="6e13f353-01fd-4bba-bfe7-e4c32c9492e8")
    scrubbed = per_line(logger, args.lines)

    formatter = root.handlers[0].formatter
    assert isinstance(formatter, structlog.stdlib.ProcessorFormatter)
    formatter.processors = [p for p in formatter.processors if p is not logs.scrub_personal_data]
    unscrubbed = per_line(logger, args.lines)

    print(f"plain_us_per_line={plain:.1f} json_us_per_line={unscrubbed:.1f} json_scrubbed_us_per_line={scrubbed:.1f} "
          f"json_vs_plain={unscrubbed / plain:.2f} scrubbed_vs_plain={scrubbed / plain:.2f}")


if __name__ == "__main__":
    main()
