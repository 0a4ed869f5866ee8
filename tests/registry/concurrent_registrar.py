"""One of the processes of ``test_concurrent_registration``: opens the shared registry the
moment it is told to, registers COUNT versions of one model and prints their numbers.

    python concurrent_registrar.py STATE_URL ARTIFACTS_URL START_AT COUNT
"""

from __future__ import annotations

import sys
import time

from legato.registry import open_registry


def main(state: str, artifacts: str, start_at: float, count: int) -> None:
    time.sleep(max(0.0, start_at - time.time()))
    with open_registry(store=state, artifacts=artifacts) as registry:
        numbers = [registry.register("shared", {"i": i}).version for i in range(count)]
    print(" ".join(map(str, numbers)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
