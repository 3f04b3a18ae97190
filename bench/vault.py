"""What encryption at rest costs per value: encrypting, decrypting and a blind index.

    .venv/bin/python bench/vault.py [--values 50000]

Through the column type's own bind and result processing (``Encrypted``), as SQLAlchemy calls
it for every value written or read, under a fixed key (``GRIDCASE_DATA_KEYS`` if set). Best of
five; prints microseconds per value and the stored length of an 11-digit phone, last.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("GRIDCASE_DATA_KEYS", "bench001:YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktYmU=")
os.environ.setdefault("GRIDCASE_INDEX_KEY", "YmVuY2gtaW5kZXgta2V5LWJlbmNoLWluZGV4LWtleS0=")

from workflow.base.vault import Encrypted, blind  # noqa: E402 - after the keys are set


def best(run: Callable[[], object], n: int) -> float:
    """Return the best of five runs, in microseconds per value."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times) / n * 1e6


def main() -> None:
    """Time the three operations and print them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=50_000)
    n = parser.parse_args().values
    column = Encrypted("case_parties.phone")
    sealed = [column.process_bind_param("13812345678", None) for _ in range(n)]  # type: ignore[arg-type]
    encrypt = best(lambda: [column.process_bind_param("13812345678", None) for _ in range(n)], n)  # type: ignore[arg-type]
    decrypt = best(lambda: [column.process_result_value(v, None) for v in sealed], n)  # type: ignore[arg-type]
    index = best(lambda: [blind("13812345678", "phone") for _ in range(n)], n)
    print(f"encrypt {encrypt:.1f} µs, decrypt {decrypt:.1f} µs, blind index {index:.1f} µs per value "
          f"(best of 5 × {n}); a phone is stored as {len(sealed[0] or '')} characters")


if __name__ == "__main__":
    main()
