"""Live event streams (Server-Sent Events), read only from the store: nothing uncommitted is
ever sent.

- ``GET /api/v1/runs/{run_id}/stream``: the run's committed events folded by the engine's
  reducer into patches (:mod:`legato.query.live`), one message per batch read, whose SSE
  ``id`` is the sequence number of the last event it folds. A client that reconnects with
  ``Last-Event-ID`` (browsers do it themselves) continues exactly after the last message it
  received. The stream ends with an ``end`` message once the run has ended. With
  ``?from_now=true`` it sends only what the events committed after it opened change: a big
  run's page, drawn from its summary and graph, follows it without receiving its history.
- ``GET /api/v1/runs/stream``: the runs list's changes: every run of the newest page whose
  state (or shown state: ``crashed``), end or cancel request changed, as it changes (the
  whole page first).

Both poll the store (every :data:`POLL` seconds) in the thread pool, and send a comment
every :data:`KEEP_ALIVE` seconds so proxies keep an idle stream open.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from legato.errors import ParameterError
from legato.model.run_query import RunQuery
from legato.query.live import RunFollower
from legato.query.runs import shown_state
from legato.query.views import run_summary
from legato.runtime.secrets import mask_values
from legato.server.auth import Role
from legato.server.config import ServerConfig, config_of
from legato.server.routing import API_PREFIX, needs
from legato.store.base import RunStore

__all__ = ["KEEP_ALIVE", "POLL", "add_routes", "message"]

POLL = 0.25
"""Seconds between two reads of the store."""
KEEP_ALIVE = 15.0
"""Seconds of silence after which a comment is sent."""
_BATCH = 500
"""The most events one message folds."""
_RUNS_PAGE = 200

Config = Annotated[ServerConfig, Depends(config_of)]
_SSE_HEADERS = {"X-Accel-Buffering": "no"}
_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "An event stream."}
}


def add_routes(api: FastAPI) -> None:
    """Add the two streams to ``api`` (the runs stream before ``/runs/{run_id}``, which
    would otherwise take its path)."""
    read = needs(Role.VIEWER)
    api.get(
        f"{API_PREFIX}/runs/stream",
        tags=["live"],
        response_class=StreamingResponse,
        responses=_STREAM_DOC,
        **read,
    )(runs_stream)
    api.get(
        f"{API_PREFIX}/runs/{{run_id}}/stream",
        tags=["live"],
        response_class=StreamingResponse,
        responses=_STREAM_DOC,
        **read,
    )(run_stream)


def message(data: Any, *, event: str, seq: int | None = None) -> bytes:
    """One SSE message: ``data`` (a dataclass or JSON-like) as JSON, masked."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    text = json.dumps(mask_values(data), ensure_ascii=False, separators=(",", ":"))
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {event}\ndata: {text}\n\n".encode()


_NOW = 2**63
"""A resume point after every event: the history is folded, none of it sent."""


def _resume_point(last_event_id: str | None, after_seq: int | None, from_now: bool) -> int:
    if last_event_id is None:
        return _NOW if from_now else after_seq or 0
    text = last_event_id.strip()
    if not text.isdigit() or len(text) > 18:
        raise ParameterError(
            f"Last-Event-ID {last_event_id[:40]!r} is not an event sequence number: send the "
            "id of the last message received"
        )
    return int(text)


async def run_stream(
    request: Request,
    config: Config,
    run_id: str,
    *,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    after_seq: int | None = None,
    from_now: bool = False,
) -> StreamingResponse:
    """The run's committed events as task patches, live (Server-Sent Events)."""
    after = _resume_point(last_event_id, after_seq, from_now)
    store = config.store
    info = await run_in_threadpool(store.get_run, run_id)  # 404 before the stream starts
    return StreamingResponse(
        _patches(request, store, info.run_id, after),
        media_type="text/event-stream",
        headers=_SSE_HEADERS,
    )


async def _patches(
    request: Request, store: RunStore, run_id: str, after: int
) -> AsyncIterator[bytes]:
    follower = RunFollower(run_id)
    log = await run_in_threadpool(store.read_events, run_id, 0)
    follower.skip([e for e in log if e.seq <= after])
    pending = [e for e in log if e.seq > after]
    quiet_since = time.monotonic()
    while True:
        for start in range(0, len(pending), _BATCH):
            patch = follower.patch(pending[start : start + _BATCH])
            if patch is not None:
                yield message(patch, event="patch", seq=patch.seq)
                quiet_since = time.monotonic()
        if follower.seq and follower.record.state.is_terminal:
            yield message({"state": follower.record.state.value}, event="end", seq=follower.seq)
            return
        if time.monotonic() - quiet_since > KEEP_ALIVE:
            yield b": keep-alive\n\n"
            quiet_since = time.monotonic()
        if await request.is_disconnected():
            return
        await anyio.sleep(POLL)
        pending = await run_in_threadpool(store.read_events, run_id, follower.seq)


async def runs_stream(request: Request, config: Config) -> StreamingResponse:
    """Changes of the newest runs (state, end, cancel request), live (Server-Sent
    Events)."""
    return StreamingResponse(
        _run_changes(request, config), media_type="text/event-stream", headers=_SSE_HEADERS
    )


async def _run_changes(request: Request, config: Config) -> AsyncIterator[bytes]:
    seen: dict[str, tuple[Any, ...]] = {}
    quiet_since = time.monotonic()
    while True:
        page = await run_in_threadpool(config.store.find_runs, RunQuery(limit=_RUNS_PAGE))
        now = time.time()
        for info in reversed(page.runs):  # oldest first: a client inserting keeps the order
            summary = run_summary(info, shown_state(info, config.stale_after, now))
            mark = (summary.state, summary.ended_at, summary.cancel_requested, summary.reason)
            if seen.get(info.run_id) != mark:
                seen[info.run_id] = mark
                yield message(summary, event="run")
                quiet_since = time.monotonic()
        if time.monotonic() - quiet_since > KEEP_ALIVE:
            yield b": keep-alive\n\n"
            quiet_since = time.monotonic()
        if await request.is_disconnected():
            return
        await anyio.sleep(POLL * 4)
