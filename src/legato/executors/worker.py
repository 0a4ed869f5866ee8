"""A worker process of the processes executor: ``python -m legato.executors.worker R W``.

Reads calls from file descriptor R, runs them one at a time, writes outcomes to W. It runs in
a session of its own, so the executor can stop it together with anything it started by
signalling its process group.
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

from legato.config import SecretRefs
from legato.model.calls import OutcomeKind, TaskCall, TaskOutcome
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.runs import LogEntry
from legato.model.specs import Resources
from legato.model.tracking import Tracked
from legato.runtime.context import TaskContext
from legato.runtime.data import DataPlane, PickledData, StoredData
from legato.runtime.invoke import capture_error, invoke
from legato.runtime.logs import ANY_RUN, capture_in_process, join_entries
from legato.runtime.secrets import mask
from legato.runtime.tracking import Destination, track_in_process
from legato.store.base import ArtifactStore, RunStore
from legato.store.open import open_run_store

__all__ = ["main"]

READY = b"ready"


def _failed(header: tuple[Any, ...], message: str, exc: BaseException) -> TaskOutcome:
    call_id, _, key, _, attempt = header[:5]
    error = capture_error(exc, ErrorKind.INPUT)
    return TaskOutcome(
        call_id=call_id,
        key=key,
        attempt=attempt,
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


_known_refs: dict[tuple[str, str, tuple[tuple[str, str], ...]], SecretRefs] = {}


def _refs(plain: tuple[str, str, tuple[tuple[str, str], ...]] | None) -> SecretRefs | None:
    """The call's secret references (sent as a plain tuple), one object per distinct value."""
    if plain is None:
        return None
    refs = _known_refs.get(plain)
    if refs is None:
        profile, source, variables = plain
        refs = _known_refs[plain] = SecretRefs(profile=profile, source=source, variables=variables)
    return refs


def _run(
    data: DataPlane,
    header: tuple[Any, ...],
    fn_data: bytes | None,
    args_data: bytes,
    functions: dict[str, Any],
) -> TaskOutcome:
    call_id, run_id, key, task, attempt, map_index, split, gpu_ids, timeout = header[:9]
    fn_id, refs, store_url = header[9:12]
    fn = functions.get(fn_id)
    if fn is None:
        try:
            fn = pickle.loads(fn_data) if fn_data is not None else None
        except Exception as exc:
            return _failed(
                header,
                f"the function of task {task!r} cannot be loaded in a worker process; define "
                "tasks in an importable module or in the script that runs the pipeline",
                exc,
            )
        if fn is None:
            return _failed(header, "the worker was not sent the task's function", KeyError(fn_id))
        functions[fn_id] = fn
    try:
        args, kwargs = pickle.loads(args_data)
    except Exception as exc:
        return _failed(header, f"the inputs of task {task!r} cannot be loaded in a worker", exc)
    _show_gpus(gpu_ids)
    call = TaskCall(
        call_id=call_id,
        run_id=run_id,
        key=key,
        task=task,
        fn=fn,
        fn_id=fn_id,
        attempt=attempt,
        map_index=map_index,
        args=args,
        kwargs=kwargs,
        resources=Resources(cpus=0),
        timeout=timeout,
        split_output=split,
        gpu_ids=gpu_ids,
        secrets=_refs(refs),
        store_url=store_url,
    )
    return invoke(call, fn, data)


def main(argv: list[str]) -> int:
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
        _capture_output(send)
        _route_tracking(artifacts)
    assert tag == "init", tag
    plane: DataPlane = (
        StoredData(artifacts, keep_live=False) if artifacts is not None else PickledData()
    )
    functions: dict[str, Any] = {}
    while True:
        try:
            data = calls.recv_bytes()
        except (EOFError, OSError):
            return 0
        if not data:
            return 0
        header, fn_data, args_data = pickle.loads(data)  # plain tuples, bytes and str
        try:
            outcome = _run(plane, header, fn_data, args_data, functions)
        except BaseException as exc:
            # SIGINT is ignored here, so this is a task raising KeyboardInterrupt itself: a
            # failed attempt, not a dead worker.
            call_id, _, key, _, attempt = header[:5]
            outcome = TaskOutcome(
                call_id=call_id,
                key=key,
                attempt=attempt,
                kind=OutcomeKind.FAILED,
                error=capture_error(exc, ErrorKind.RAISED),
            )
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
    """Kill this worker's process group (the worker and whatever its task started) once the
    orchestrator that started it is gone: a killed orchestrator must not leave tasks running
    that a resumed run would start again beside them."""

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:  # re-parented: the orchestrator died
                with contextlib.suppress(OSError):
                    os.killpg(os.getpgrp(), signal.SIGKILL)
                os._exit(1)

    threading.Thread(target=watch, name="legato-orphan-watch", daemon=True).start()


_pending: list[LogEntry | Tracked] = []
_send: Callable[[bytes], None] | None = None


def _capture_output(send: Callable[[bytes], None]) -> None:
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


def _route_tracking(artifacts: ArtifactStore | None) -> None:
    """Send what tasks track to the orchestrator with their output; ``register_model``
    opens the run's store here (by the URL its call carries) the first time it needs it."""
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

    track_in_process(ANY_RUN, Destination(write=write, artifacts=artifacts, runs=runs))


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
