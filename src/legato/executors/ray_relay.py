"""The relay: how Ray workers reach the driver without reaching its stores.

A named actor beside the driver (:class:`Relay`) collects what workers send (attempt
starts, captured output and tracked values, requests) and holds what the driver keeps for
them (what a run's attempts share, its functions); a :class:`Hub` in the driver's process
takes from it and hands each message to the executor of the run it names.

A request (:func:`ask`) is a message that waits for the driver's answer: a worker that
registers a model version asks the driver to record it and gets back the version, or the
error the driver met, raised in the worker. The answer is fetched in short waits, so that
many workers waiting at once never hold every one of the actor's slots the driver's own
calls need.

What a worker prints and tracks reaches the driver in the order the worker sent it: the
relay is an async actor, and Ray runs an async actor's calls concurrently, so one caller's
calls may start out of order (a large message, fetched from the object store first, is
overtaken by a small one sent after it). Each such message carries its sender and a
number (:class:`Sequencer`), and the relay holds one that arrives early until those
before it have come, or until :data:`GAP_WAIT_S` has passed without them (a message lost
with its worker must not hold back those after it for good).
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import ray

from legato.errors import ExecutorError
from legato.runtime.pickling import dumps

__all__ = ["ASK", "GAP_WAIT_S", "Functions", "Hub", "Relay", "Sequencer", "ask", "hub", "stop_hub"]

ASK = "ask"
"""First element of a request: ``(ASK, run_id, ticket, payload)``; the driver answers it
with :meth:`Hub.answer` under its ticket."""

_ANSWER_WAIT_S = 2.0
"""How long one call of a waiting worker holds the relay before it asks again."""

GAP_WAIT_S = 5.0
"""How long the relay holds a numbered message that came before one numbered lower from
the same sender: then it passes it on anyway, with those after it."""


class Sequencer:
    """A sender's numbering of the messages it sends a relay: the numbers start at 0 for
    each relay (a worker process outlives a run's relay), and the sender's name is this
    process's own."""

    def __init__(self) -> None:
        self.sender = uuid.uuid4().hex
        self._next: dict[str, int] = {}

    def next(self, relay: str) -> int:
        """The number of the next message to ``relay`` (call under the sender's lock)."""
        seq = self._next.get(relay, 0)
        self._next[relay] = seq + 1
        return seq


class _Gap:
    """Messages of one sender that came before those numbered lower, with when the
    first of them was held."""

    __slots__ = ("held", "since")

    def __init__(self, since: float) -> None:
        self.held: dict[int, bytes] = {}
        self.since = since


class Relay:
    """Collects what workers send the driver (attempt starts, captured output and tracked
    values, requests, pickled) until the executor takes it, holds what the driver keeps for
    the workers (what a run's attempts share, its functions), and passes the driver's
    answers to the workers that asked: an actor placed on the driver's node, which workers
    find by its name."""

    def __init__(self) -> None:
        self._items: list[bytes] = []
        self._event = asyncio.Event()
        self._kept: dict[str, bytes] = {}
        self._answers: dict[str, asyncio.Future[bytes]] = {}
        self._expected: dict[str, int] = {}
        """By sender: the number of the message to pass on next."""
        self._gaps: dict[str, _Gap] = {}
        """By sender: what it sent that came early."""

    async def keep(self, key: str, data: bytes) -> None:
        """Hold ``data`` for the workers (what a run's attempts share, its functions)."""
        self._kept[key] = data

    async def kept(self, key: str) -> bytes | None:
        return self._kept.get(key)

    async def drop(self, prefix: str) -> None:
        """Let go of what an executor kept (it closed)."""
        for key in [k for k in self._kept if k.startswith(prefix)]:
            del self._kept[key]

    async def put(self, message: bytes, sender: str | None = None, seq: int = 0) -> None:
        """Pass ``message`` on to the driver; one numbered ``seq`` by ``sender`` only after
        those numbered lower (see the module's docstring)."""
        if sender is not None:
            expected = self._expected.get(sender, 0)
            if seq > expected:
                gap = self._gaps.get(sender)
                if gap is None:
                    gap = self._gaps[sender] = _Gap(time.monotonic())
                gap.held[seq] = message
                return
            self._expected[sender] = max(expected, seq + 1)
            self._items.append(message)
            if sender in self._gaps:
                self._release(sender, everything=False)
        else:
            self._items.append(message)
        self._event.set()

    def _release(self, sender: str, everything: bool) -> None:
        """Pass on what ``sender`` sent early that now follows on (or all of it, in order,
        when those missing are given up on)."""
        gap = self._gaps[sender]
        expected = self._expected.get(sender, 0)
        for seq in sorted(gap.held):
            if seq != expected and not everything:
                break
            self._items.append(gap.held.pop(seq))
            expected = seq + 1
        self._expected[sender] = expected
        if gap.held:
            gap.since = time.monotonic()
        else:
            del self._gaps[sender]

    async def take(self, wait: float) -> list[bytes]:
        if not self._items:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), wait)
        if self._gaps:
            now = time.monotonic()
            for sender in [s for s, gap in self._gaps.items() if now - gap.since > GAP_WAIT_S]:
                self._release(sender, everything=True)
        self._event.clear()
        items, self._items = self._items, []
        return items

    async def ask(self, ticket: str, message: bytes, wait: float) -> bytes | None:
        """Pass on a request and wait up to ``wait`` seconds for its answer (None: not yet,
        ask :meth:`answer` again)."""
        self._answers[ticket] = asyncio.get_running_loop().create_future()
        await self.put(message)
        return await self.answer(ticket, wait)

    async def answer(self, ticket: str, wait: float) -> bytes | None:
        """The driver's answer to the request under ``ticket``, waiting up to ``wait``
        seconds for it (None: not yet)."""
        future = self._answers.get(ticket)
        if future is None:
            raise KeyError(f"no request is waiting under ticket {ticket!r}")
        try:
            data = await asyncio.wait_for(asyncio.shield(future), wait)
        except TimeoutError:
            return None
        del self._answers[ticket]
        return data

    async def reply(self, ticket: str, data: bytes) -> None:
        """The driver's answer to the request under ``ticket``."""
        future = self._answers.get(ticket)
        if future is not None and not future.done():
            future.set_result(data)


class Functions:
    """The functions of a run the driver keeps in the relay, and what each attempt carries
    of its own: the pickled function until the relay holds it, nothing after (a worker
    without it fetches it there, once).

    The first attempt of a function sends it to the relay without waiting for the answer:
    waiting put a round trip to the relay (4 to 6.5 ms on a loaded 2-core machine) before
    the first attempt of each function, in a hand-off between the producer's commit and
    the consumer's start. Called from the thread that submits."""

    def __init__(self) -> None:
        self._kept: dict[str, Any] = {}
        """By ``fn_id``: True once the relay holds it, else the pickled function and the
        reference of the relay's ``keep`` (None: that call failed, attempts carry it)."""

    def clear(self) -> None:
        self._kept.clear()

    def carried(self, relay: Any, prefix: str, fn_id: str, fn: Any) -> bytes | None:
        """The pickled ``fn`` an attempt carries, kept in ``relay`` under ``prefix``."""
        kept = self._kept.get(fn_id)
        if kept is True:
            return None
        data: bytes
        if kept is None:
            data = dumps(fn)
            self._kept[fn_id] = (data, relay.keep.remote(f"{prefix}fn/{fn_id}", data))
            return data
        data, ref = kept
        if ref is None or not ray.wait([ref], timeout=0, fetch_local=False)[0]:
            return data
        try:
            ray.get(ref)
        except Exception:  # the relay does not hold it: every attempt carries it
            self._kept[fn_id] = (data, None)
            return data
        self._kept[fn_id] = True
        return None


def ask(relay: Any, run_id: str, payload: Any) -> Any:
    """Send ``payload`` to the executor of ``run_id`` in the driver and wait for its answer;
    an error the driver met is raised here."""
    ticket = uuid.uuid4().hex
    message = pickle.dumps((ASK, run_id, ticket, payload), protocol=pickle.HIGHEST_PROTOCOL)
    data = ray.get(relay.ask.remote(ticket, message, _ANSWER_WAIT_S))
    while data is None:
        data = ray.get(relay.answer.remote(ticket, _ANSWER_WAIT_S))
    ok, value = pickle.loads(data)
    if not ok:
        raise value
    return value


def _answer_bytes(value: Any, error: BaseException | None) -> bytes:
    if error is None:
        return pickle.dumps((True, value), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        return pickle.dumps((False, error), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle: its type and message
        plain = ExecutorError(f"{type(error).__name__}: {error}")
        return pickle.dumps((False, plain), protocol=pickle.HIGHEST_PROTOCOL)


class Hub:
    """The relay of this process's Ray connection and the thread taking from it, shared by
    every run the process drives (an actor takes a worker process, and a second to start):
    each message goes to the run it names, through the callback its executor registered."""

    def __init__(self, job: str) -> None:
        self.job = job
        self.name = f"legato-relay-{uuid.uuid4().hex}"
        """The relay actor's name in the job's namespace, by which workers find it."""
        self.relay = _start_relay(self.name)
        self._sinks: dict[str, Callable[[Any], None]] = {}
        self._after: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._take, name="legato-ray-relay", daemon=True)

    def register(self, run_id: str, sink: Callable[[Any], None]) -> None:
        """Send what the workers of ``run_id``'s attempts report to ``sink``."""
        with self._lock:
            self._sinks[run_id] = sink

    def release(self, sink: Callable[[Any], None]) -> None:
        with self._lock:
            for run_id in [r for r, s in self._sinks.items() if s == sink]:
                del self._sinks[run_id]

    def answer(self, ticket: str, value: Any = None, error: BaseException | None = None) -> None:
        """Answer the request under ``ticket`` with ``value``, or with ``error`` (raised in
        the worker that asked)."""
        with contextlib.suppress(Exception):  # the relay is gone: so is whoever asked
            self.relay.reply.remote(ticket, _answer_bytes(value, error))

    def after_drain(self, then: Callable[[], None]) -> None:
        """Call ``then`` once what the relay holds now has been dispatched (an outcome
        arrived whose attempt sent some: it counts only after what it printed and
        tracked). Called from Ray's callback threads, which must not block."""
        with self._lock:
            self._after.append(then)
        self.relay.put.remote(b"")  # ends a take waiting now, so the next starts at once

    def _current(self) -> bool:
        """Whether this process is still connected as this hub's job (not shut down, and
        not since connected to another cluster)."""
        if not ray.is_initialized():
            return False
        context = ray.get_runtime_context()
        return f"{context.get_job_id()}@{context.get_node_id()}" == self.job

    def stop(self) -> None:
        """End the thread taking from the relay, and wait for it (before ``ray.shutdown``:
        a thread still waiting on the relay's answer when the connection goes, or comes
        back, takes the process down)."""
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=_TAKE_WAIT_S + _TAKE_GRACE_S)

    def _take(self) -> None:
        while not self._stopping.is_set() and self._current():
            with self._lock:
                after, self._after = self._after, []
            wait = 0.0 if after else _TAKE_WAIT_S
            try:
                # Waited for in Python, not inside Ray: a shutdown meanwhile leaves this
                # thread waiting on a future that times out, never on a freed connection.
                future = self.relay.take.remote(wait).future()
                messages = future.result(timeout=wait + _TAKE_GRACE_S)
            except BaseException:  # a shutdown, the relay gone, or a slow answer
                if self._stopping.is_set() or not self._current():
                    return
                messages = []
                if not after:
                    time.sleep(_TAKE_WAIT_S)
            self._dispatch(messages)
            for then in after:
                then()

    def _dispatch(self, messages: list[bytes]) -> None:
        for message in messages:
            if not message:
                continue
            item = pickle.loads(message)
            run_id = item[1] if isinstance(item, tuple) else _run_of(item)
            with self._lock:
                sink = self._sinks.get(run_id)
            if sink is not None:
                sink(item)
            elif isinstance(item, tuple) and item[0] == ASK:
                self.answer(
                    item[2],
                    error=ExecutorError(
                        f"run {run_id!r} is not driven through this relay any more (its "
                        "executor closed): the request was not carried out"
                    ),
                )


_TAKE_WAIT_S = 0.25
_TAKE_GRACE_S = 5.0
"""How much longer than its own wait a take may take to answer (a loaded node)."""
_hubs: dict[str, Hub] = {}
_hubs_lock = threading.Lock()


def _run_of(entries: list[Any]) -> str:
    """The run a batch of captured output and tracked values belongs to (a worker runs
    one attempt at a time, and sends each attempt's before its outcome)."""
    return str(entries[0].run_id) if entries else ""


def hub() -> Hub:
    """The hub of this process's Ray connection, started on first use. A connection is
    its job on its cluster: a local cluster started again numbers its jobs from 1 again,
    but its driver's node is a new one."""
    context = ray.get_runtime_context()
    job = f"{context.get_job_id()}@{context.get_node_id()}"
    with _hubs_lock:
        found = _hubs.get(job)
        if found is None:
            found = _hubs[job] = Hub(job)
            found._thread.start()  # once it is the hub: it runs while it stays so
        return found


def stop_hub() -> None:
    """Stop the hub of this process's Ray connection, if it has one; call it before
    ``ray.shutdown()`` (:meth:`Hub.stop`). The next :func:`hub` starts a new one."""
    if not ray.is_initialized():
        return
    context = ray.get_runtime_context()
    with _hubs_lock:
        found = _hubs.pop(f"{context.get_job_id()}@{context.get_node_id()}", None)
    if found is not None:
        found.stop()


def _start_relay(name: str) -> Any:
    """A relay actor on this node (it holds no CPU), named ``name``."""
    node = ray.get_runtime_context().get_node_id()
    actor = ray.remote(Relay).options(
        name=name,
        num_cpus=0,
        max_concurrency=64,
        scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
            node, soft=False
        ),
    )
    return actor.remote()
