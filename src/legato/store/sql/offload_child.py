"""The append process of a SQL run store (see :mod:`legato.store.sql.offload`).

python -m legato.store.sql.offload_child     (started by the store, not by hand)

It imports no SQLAlchemy (about half a second to import on a busy machine): the store sends
it a DB-API connection recipe (:func:`legato.store.sql.connect.recipe`) and its compiled
statements (:class:`~legato.store.sql.prepared.Prepared` specs), and it writes each batch
with the code the store itself writes with (:class:`~legato.store.sql.writes.BatchWriter`).
A batch that needs a projection statement it was not sent (a change shape compiled on first
use) is answered with the shapes it needs; the store sends the batch again with them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from legato.errors import StoreError
from legato.model.codec import event_from_dict, tracked_from_dict
from legato.store.sql.batch import Batch, ChangeShape, plan_batch, tracked_rows
from legato.store.sql.dbapi import Recipe, connect, driver_errors
from legato.store.sql.frames import encode, receive, send
from legato.store.sql.prepared import Prepared
from legato.store.sql.writes import STATEMENTS, BatchWriter

__all__ = ["main"]


class _Shipped:
    """The statements the store sent, as :class:`~legato.store.sql.writes.Statements`."""

    def __init__(self, specs: Mapping[str, Sequence[Any]]) -> None:
        for name in STATEMENTS:
            setattr(self, name, Prepared.from_spec(specs[name]))
        self.changes: dict[ChangeShape, Prepared] = {}

    def add_changes(self, shapes: Sequence[Sequence[Any]]) -> None:
        for shape, spec in shapes:
            self.changes[tuple(shape)] = Prepared.from_spec(spec)

    def change(self, shape: ChangeShape) -> Prepared:
        return self.changes[shape]

    def missing(self, batch: Batch) -> list[ChangeShape]:
        """The change shapes ``batch`` needs that were not sent yet."""
        need: set[ChangeShape] = set()
        for kind, step in batch.steps:
            if kind == "changes":
                for by_shape in step:
                    need.update(s for s in by_shape if s not in self.changes)
        return sorted(need)


class _Appender:
    """One connection, one transaction per batch (retried once on a fresh connection when
    the first one is found broken, as the store's own appender does)."""

    def __init__(self, recipe: Recipe, writer: BatchWriter) -> None:
        self._recipe = recipe
        self._writer = writer
        self._errors = driver_errors(recipe)
        self._begin = "BEGIN IMMEDIATE" if recipe["dialect"] == "sqlite" else None
        self._connection: Any = connect(recipe)

    def write(self, what: str, work: Callable[[Any], None]) -> None:
        for attempt in (1, 2):
            connection = self._connection
            if connection is None:
                connection = self._connection = connect(self._recipe)
            try:
                cursor = connection.cursor()
                try:
                    if self._begin is not None:
                        cursor.execute(self._begin)
                    work(cursor)
                finally:
                    cursor.close()
                connection.commit()
                return
            except BaseException as exc:
                broken = bool(getattr(connection, "closed", False))
                if not broken:
                    try:
                        connection.rollback()
                    except self._errors:
                        broken = True
                if broken:
                    self._connection = None
                    with contextlib.suppress(Exception):
                        connection.close()
                    if attempt == 1 and isinstance(exc, self._errors):
                        continue
                if isinstance(exc, self._errors):
                    raise StoreError(
                        f"{what} failed in the run store at {self._writer.where}: {exc}"
                    ) from exc
                raise

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    opening = receive(stdin)
    if not isinstance(opening, dict) or not isinstance(opening.get("connect"), dict):
        return 2
    try:
        statements = _Shipped(opening["statements"])
        writer = BatchWriter(
            statements,  # type: ignore[arg-type]
            postgres=opening["connect"]["dialect"] == "postgresql",
            where=opening["where"],
            summary_names=opening["summary_names"],
        )
        appender = _Appender(opening["connect"], writer)
    except Exception as exc:
        send(stdout, encode({"failed": f"{type(exc).__name__}: {exc}"}))
        return 1
    send(stdout, encode({"ready": True}))
    try:
        while (request := receive(stdin)) is not None:
            send(stdout, encode(_answer(request, statements, writer, appender)))
    finally:
        appender.close()
    return 0


def _answer(
    request: dict[str, Any], statements: _Shipped, writer: BatchWriter, appender: _Appender
) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": request["id"]}
    run_id = request["run_id"]
    try:
        statements.add_changes(request.get("shapes", ()))
        payloads = request["events"]  # event_to_dict's, as the store made them
        batch = plan_batch(run_id, [event_from_dict(e) for e in payloads], payloads)
        if request["tracked"]:
            tracked = [tracked_from_dict(t) for t in request["tracked"]]
            batch.metrics, batch.values = tracked_rows(run_id, tracked)
        missing = statements.missing(batch)
        if missing:
            answer["need"] = missing
            return answer
        what = f"appending events {batch.first_seq}-{batch.last_seq} to run {run_id!r}"
        owner = request["owner"]
        appender.write(what, lambda cursor: writer.write(cursor, batch, owner))
    except StoreError as exc:
        answer.update(error=type(exc).__name__, message=str(exc))
    except Exception as exc:
        answer.update(
            error="StoreError",
            message=f"appending to run {run_id!r} failed: {type(exc).__name__}: {exc}",
        )
    return answer


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
