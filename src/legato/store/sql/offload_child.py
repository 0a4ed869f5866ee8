"""The append process of a SQL run store (see :mod:`legato.store.sql.offload`).

python -m legato.store.sql.offload_child     (started by the store, not by hand)
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from legato.errors import StoreError
from legato.model.codec import event_from_dict, tracked_from_dict
from legato.store.sql.offload import encode, receive, send
from legato.store.sql.store import SqlRunStore

__all__ = ["main"]


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    opening = receive(stdin)
    if not isinstance(opening, dict) or not isinstance(opening.get("url"), str):
        return 2
    try:
        store = SqlRunStore(opening["url"], upgrade_schema=False, offload_from=None)
    except Exception as exc:
        send(stdout, encode({"failed": f"{type(exc).__name__}: {exc}"}))
        return 1
    send(stdout, encode({"ready": True}))
    try:
        while (request := receive(stdin)) is not None:
            answer: dict[str, Any] = {"id": request["id"]}
            try:
                store.append(
                    request["run_id"],
                    request["owner"],
                    [event_from_dict(e) for e in request["events"]],
                    [tracked_from_dict(t) for t in request["tracked"]],
                )
            except StoreError as exc:
                answer.update(error=type(exc).__name__, message=str(exc))
            except Exception as exc:
                answer.update(
                    error="StoreError",
                    message=f"appending to run {request['run_id']!r} failed: "
                    f"{type(exc).__name__}: {exc}",
                )
            send(stdout, encode(answer))
    finally:
        store.close()
    return 0


def main() -> int:
    """The child: serve appends until stdin closes."""
    # The answers get a descriptor of their own; anything else printing to stdout (a
    # library's warning) goes to stderr and cannot break a frame.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        return _serve(sys.stdin.buffer, answers)
    except (BrokenPipeError, ConnectionResetError):
        # The orchestrator is gone (a short script that ended while this process started,
        # or a kill): nobody to answer, and no transaction open. Leave without flushing
        # into the broken pipe again at shutdown.
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
