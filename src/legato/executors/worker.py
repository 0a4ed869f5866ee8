"""A worker process of the processes executor: ``python -m legato.executors.worker R W``.

Reads calls from file descriptor R, runs them one at a time, writes outcomes to W. It runs in
a session of its own, so the executor can stop it together with anything it started by
signalling its process group; on Linux its parent is a reaper (``executors.reaper``), which
also reaches what a task started outside that group.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from legato.executors.limits import describe_limit, memory_limit
from legato.executors.reaper import kill_descendants
from legato.model.calls import OutcomeKind, TaskOutcome
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.registry import ModelVersion
from legato.model.runs import LogEntry
from legato.model.tracking import Tracked
from legato.model.wire import WIRE_VERSION_EXIT, Received, WireVersionError, decode
from legato.runtime.context import TaskContext
from legato.runtime.data import DataPlane, HandedOnData, PickledData
from legato.runtime.invoke import capture_error, invoke
from legato.runtime.logs import ANY_RUN, capture_in_process, join_entries
from legato.runtime.secrets import mask
from legato.runtime.tracking import Destination, track_in_process
from legato.store.base import ArtifactStore, ModelStore, RunStore
from legato.store.open import open_run_store

__all__ = ["capture_output", "flush_output", "main", "route_tracking", "run_received"]

READY = b"ready"


def _failed(received: Received, message: str, exc: BaseException) -> TaskOutcome:
    error = capture_error(exc, ErrorKind.INPUT)
    return TaskOutcome(
        call_id=received.fields["call_id"],
        key=received.fields["key"],
        attempt=received.fields["attempt"],
        kind=OutcomeKind.FAILED,
        error=ErrorInfo(
            kind=ErrorKind.INPUT,
            type_name=error.type_name,
            message=f"{message} ({error.summary()})",
            traceback=error.traceback,
            mro=error.mro,
        ),
    )


_STARTED_WITH_GPUS = os.environ.get("CUDA_VISIBLE_DEVICES")


def _show_gpus(gpu_ids: tuple[int, ...]) -> None:
    """Point ``CUDA_VISIBLE_DEVICES`` at the GPUs given to this call. A call given none sees
    what the worker started with: a worker runs many calls, and one call's GPUs must not leak
    into the next."""
    if gpu_ids:
        visible = os.environ.get("LEGATO_VISIBLE_GPUS", "")
        physical = [d for d in visible.split(",") if d]
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(
            physical[i] if i < len(physical) else str(i) for i in gpu_ids
        )
    elif _STARTED_WITH_GPUS is None:
        os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    else:
        os.environ["CUDA_VISIBLE_DEVICES"] = _STARTED_WITH_GPUS


def run_received(
    data: DataPlane,
    received: Received,
    functions: dict[str, Any],
    *,
    show_gpus: bool = True,
) -> TaskOutcome:
    """Run one received call with ``data``; never raises. The function comes from
    ``functions`` (by ``fn_id``) or is unpickled into it; a function or inputs that do not
    load fail the attempt. With ``show_gpus`` the call's GPUs are made visible here (a
    cluster that assigns GPUs itself, as Ray does, has set them already)."""
    try:
        return _run(data, received, functions, show_gpus)
    except BaseException as exc:
        # SIGINT is ignored in workers, so this is a task raising KeyboardInterrupt itself:
        # a failed attempt, not a dead worker.
        return TaskOutcome(
            call_id=received.fields["call_id"],
            key=received.fields["key"],
            attempt=received.fields["attempt"],
            kind=OutcomeKind.FAILED,
            error=capture_error(exc, ErrorKind.RAISED),
        )


def _run(
    data: DataPlane, received: Received, functions: dict[str, Any], show_gpus: bool
) -> TaskOutcome:
    fn_id, task = received.fields["fn_id"], received.fields["task"]
    fn = functions.get(fn_id)
    if fn is None:
        try:
            fn = pickle.loads(received.fn_data) if received.fn_data is not None else None
        except Exception as exc:
            return _failed(
                received,
                f"the function of task {task!r} cannot be loaded in a worker process; define "
                "tasks in an importable module or in the script that runs the pipeline",
                exc,
            )
        if fn is None:
            return _failed(received, "the worker was not sent the task's function", KeyError(fn_id))
        functions[fn_id] = fn
    try:
        args, kwargs = pickle.loads(received.args_data)
    except Exception as exc:
        return _failed(received, f"the inputs of task {task!r} cannot be loaded in a worker", exc)
    call = received.call(fn, args, kwargs)
    if show_gpus:
        _show_gpus(call.gpu_ids)
    with memory_limit(call.resources) as limit:
        outcome = invoke(call, fn, data)
    return describe_limit(outcome, limit)


def main(argv: list[str]) -> int:
    global _STARTED_WITH_GPUS
    _STARTED_WITH_GPUS = os.environ.get("CUDA_VISIBLE_DEVICES")  # forked: not at import
    read_fd, write_fd = int(argv[1]), int(argv[2])
    for fd in (read_fd, write_fd):
        os.set_inheritable(fd, False)  # processes a task starts must not hold our pipes
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the orchestrator's to handle
    _die_with_parent(os.getppid())
    calls = Connection(read_fd, writable=False)
    outcomes = Connection(write_fd, readable=False)
    outcomes.send_bytes(READY)
    try:
        tag, artifacts, capture = pickle.loads(calls.recv_bytes())
    except (EOFError, OSError):
        return 0
    send_lock = threading.Lock()

    def send(message: bytes) -> None:
        with send_lock:  # a task's own threads may print while its outcome is sent
            outcomes.send_bytes(message)

    if capture:
        capture_output(send)
        route_tracking(artifacts)
    assert tag == "init", tag
    plane: DataPlane = HandedOnData(artifacts) if artifacts is not None else PickledData()
    functions: dict[str, Any] = {}
    while True:
        try:
            data = calls.recv_bytes()
        except (EOFError, OSError):
            return 0
        if not data:
            return 0
        try:
            received = decode(pickle.loads(data))  # plain tuples, bytes and str
        except WireVersionError as exc:
            # Its layout is unknown, so not even the attempt it names can be answered: say
            # why on standard error and exit, and the executor reports the call as crashed.
            os.write(2, f"legato worker: {exc}\n".encode())
            return WIRE_VERSION_EXIT
        outcome = run_received(plane, received, functions)
        try:
            message = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an error message that does not pickle, say
            message = pickle.dumps(
                TaskOutcome(
                    call_id=outcome.call_id,
                    key=outcome.key,
                    attempt=outcome.attempt,
                    kind=OutcomeKind.FAILED,
                    error=ErrorInfo.of(ErrorKind.OUTPUT, mask(f"outcome could not be sent: {exc}")),
                )
            )
        flush_output()
        send(message)


def _die_with_parent(parent: int, every: float = 0.2) -> None:
    """Kill this worker, what it started and its process group once the process that
    started it is gone: a killed orchestrator must not leave tasks running that a resumed
    run would start again beside them. On Linux that parent is the reaper, which kills all
    of it before it exits itself; this is for a reaper killed with SIGKILL, and for the
    platforms without one."""

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:  # re-parented: the orchestrator (or the reaper) died
                kill_descendants(os.getpid())
                with contextlib.suppress(OSError):
                    os.killpg(os.getpgrp(), signal.SIGKILL)
                os._exit(1)

    threading.Thread(target=watch, name="legato-orphan-watch", daemon=True).start()


_pending: list[LogEntry | Tracked] = []
_send: Callable[[bytes], None] | None = None


def capture_output(send: Callable[[bytes], None]) -> None:
    """Route what tasks print and log to the orchestrator, line by line as it comes."""
    global _send
    _send = send

    def route(ctx: TaskContext, stream: str, text: str) -> None:
        _pending.append(
            LogEntry(
                run_id=ctx.run_id,
                key=ctx.key,
                attempt=ctx.attempt,
                stream=stream,
                text=text,
                at=time.time(),
            )
        )
        if "\n" in text or len(_pending) > 64:
            flush_output()

    capture_in_process(ANY_RUN, route, echo=False)


def route_tracking(
    artifacts: ArtifactStore | None,
    record: Callable[[TaskContext, ModelVersion], ModelVersion] | None = None,
    models: Callable[[TaskContext], ModelStore] | None = None,
) -> None:
    """Send what tasks track to the orchestrator with their output. ``register_model``
    records its versions through ``record`` when given, and a task's registry reaches the
    registry's tables through ``models`` (a Ray worker asks the driver for both), else
    both open the run's store here (by the URL its call carries) the first time they need
    it."""
    stores: dict[str, RunStore] = {}

    last = [time.monotonic()]

    def write(record: Tracked) -> None:
        # Sent in small batches, and at least twice a second: a long training loop's
        # metrics stream to the orchestrator while it runs.
        _pending.append(record)
        now = time.monotonic()
        if len(_pending) > 64 or now - last[0] > 0.5:
            last[0] = now
            flush_output()

    def runs(ctx: TaskContext) -> RunStore | None:
        url = ctx.call.store_url if ctx.call is not None else None
        if url is None:
            return None
        store = stores.get(url)
        if store is None:
            store = stores[url] = open_run_store(url)
        return store

    track_in_process(
        ANY_RUN,
        Destination(
            write=write,
            artifacts=artifacts,
            runs=None if record else runs,
            record=record,
            models=models,
        ),
    )


def flush_output() -> None:
    """Send captured output and tracked values not sent yet, secret values masked in the
    output (the orchestrator may not know a value a task read here)."""
    if _send is None or not _pending:
        return
    logged = [e for e in _pending if isinstance(e, LogEntry)]
    tracked: list[LogEntry | Tracked] = [e for e in _pending if isinstance(e, Tracked)]
    entries: list[LogEntry | Tracked] = [*join_entries(logged), *tracked]
    del _pending[:]
    with contextlib.suppress(OSError):
        _send(pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
