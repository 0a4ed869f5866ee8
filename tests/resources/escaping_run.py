"""A run on the processes executor whose task starts processes outside its worker's process
group and then blocks: the test kills this orchestrator with SIGKILL and checks that none of
them survive. The task notes its processes in the ledger ``LEGATO_TEST_LEDGER`` names.

    python escaping_run.py
"""

from __future__ import annotations

from escaping_tasks import escape

import legato
from legato import pipeline


@pipeline
def escaping() -> int:
    return escape("both")


if __name__ == "__main__":
    legato.run(escaping, executor="processes")
