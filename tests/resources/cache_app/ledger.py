"""Where tasks note that they ran: one line ``<run id> <task key>`` per execution, appended to
the file named by ``CACHE_APP_LEDGER`` (short appends are atomic, from threads or processes)."""

from __future__ import annotations

import os

import legato


def record() -> None:
    path = os.environ.get("CACHE_APP_LEDGER")
    ctx = legato.context()
    if path is None or ctx is None:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{ctx.run_id} {ctx.key}\n".encode())
    finally:
        os.close(fd)
