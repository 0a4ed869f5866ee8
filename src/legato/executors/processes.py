"""The processes executor: a pool of worker processes that survives its workers.

Each worker is a fresh interpreter (``python -m legato.executors.worker``) in a session of its
own, talking to the orchestrator over two pipes; on Linux it runs under a reaper
(``executors.reaper``), which keeps every process a task starts within its reach, however
it leaves the worker's process group. Timeouts and cancellation are *hard*: SIGTERM to every
process of the worker, then SIGKILL after a grace period, so a task stuck in C code, in
``time.sleep``, in a busy loop or swallowing every exception still stops, with any
processes it started. A worker that dies under a task (segfault, ``os._exit``, the
out-of-memory killer, SIGKILL) turns into a failed attempt with the reason, what it started
is killed, and a fresh worker takes its place. A worker that ran a call on some GPUs keeps to
them (CUDA binds a process to the devices it first saw), so a call given other GPUs gets a
fresh worker. ``executors.worker_handle`` holds one worker process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import threading
import time
from multiprocessing.connection import wait
from typing import Any

from legato.errors import ExecutorError
from legato.executors.base import Executor, Report
from legato.executors.capacity import detect_cpus, machine_capacity
from legato.executors.forked import (
    Template,
    TemplateError,
    definition_modules,
    installed_modules,
    shared_template,
)
from legato.executors.native_threads import threads_per_worker
from legato.executors.reaper import REAPS
from legato.executors.worker import READY
from legato.executors.worker_handle import WorkerHandle, describe_exit, start_worker
from legato.model import wire
from legato.model.calls import OutcomeKind, TaskCall, TaskOutcome
from legato.model.errors import ErrorInfo, ErrorKind
from legato.model.specs import Capacity
from legato.runtime.data import (
    handed_on_checksums,
)
from legato.runtime.logs import LogSink
from legato.runtime.pickling import dumps
from legato.store.base import ArtifactStore

__all__ = ["ProcessesExecutor", "describe_exit"]

_POLL_S = 0.5
_MAX_START_FAILURES = 3


class ProcessesExecutor(Executor):
    """Runs calls in ``max_workers`` worker processes (default: the usable CPU cores).

    Args:
        max_workers: worker processes, each running one call at a time.
        capacity: what tasks may use together (default: this machine's).
        kill_grace: seconds between SIGTERM and SIGKILL when a call is stopped.
        warm_start: fork workers from a template process that has imported the libraries
            this process has (``executors.template``; Linux), so that a worker starts in
            milliseconds with them; ``False`` starts every worker as a fresh interpreter
            that imports what its tasks need itself.
        native_threads: threads each worker's native libraries (OpenMP, BLAS, numexpr) use;
            default: the usable CPU cores divided among the workers, at least one
            (``executors.native_threads``: the pool's parallelism is its workers). Variables
            such as ``OMP_NUM_THREADS`` set in the environment are kept as they are.
    """

    name = "processes"
    hard_timeouts = True

    def __init__(
        self,
        max_workers: int | None = None,
        capacity: Capacity | None = None,
        kill_grace: float = 3.0,
        warm_start: bool = True,
        native_threads: int | None = None,
    ) -> None:
        workers = max_workers if max_workers is not None else detect_cpus()
        if workers < 1:
            raise ValueError(f"max_workers must be at least 1, not {workers}")
        if native_threads is not None and native_threads < 1:
            raise ValueError(f"native_threads must be at least 1, not {native_threads}")
        self._capacity = capacity or machine_capacity(workers)
        self._size = self._capacity.slots
        self._threads = native_threads or threads_per_worker(detect_cpus(), self._size)
        self._grace = kill_grace
        self._warm_start = warm_start and REAPS
        self._template: Template | None = None
        self._lock = threading.RLock()
        self._workers: list[WorkerHandle] = []
        self._pending: list[TaskCall] = []
        self._report: Report | None = None
        self._monitor: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._closing = False
        self._start_failures = 0
        self._broken = ""
        self._init = pickle.dumps(("init", None, False))
        self._logs: LogSink | None = None

    @property
    def capacity(self) -> Capacity:
        return self._capacity

    # ------------------------------------------------------------------ lifecycle

    def open(
        self,
        report: Report,
        artifacts: ArtifactStore | None = None,
        logs: LogSink | None = None,
    ) -> None:
        self._report = report
        self._logs = logs
        capture = logs is not None
        self._init = pickle.dumps(("init", artifacts, capture), protocol=pickle.HIGHEST_PROTOCOL)
        self._closing = False
        self._start_failures = 0
        self._broken = ""
        self._wake_r, self._wake_w = os.pipe()
        self._template = self._open_template()
        with self._lock:
            for _ in range(self._size):
                self._workers.append(self._spawn())
        self._monitor = threading.Thread(
            target=self._watch, name="legato-processes-monitor", daemon=True
        )
        self._monitor.start()

    def _open_template(self) -> Template | None:
        """This process's template, told to import the libraries and legato's definition
        modules this process has imported; None when workers start as fresh interpreters."""
        if not self._warm_start:
            return None
        try:
            template = shared_template(self._threads)
            template.warm(installed_modules() + definition_modules())
        except TemplateError:
            return None  # fresh interpreters, as without it
        return template

    def _spawn(self) -> WorkerHandle:
        return start_worker(self._init, self._template, self._threads)

    def close(self, *, wait: bool = True) -> None:
        with self._lock:
            self._closing = True
            workers = list(self._workers)
            for worker in workers:
                worker.closing = True
                if worker.call is None and wait:
                    with contextlib.suppress(OSError):
                        worker.calls.send_bytes(b"")  # asks it to exit
                else:
                    worker.kill()
        self._wake()
        deadline = time.monotonic() + (self._grace if wait else 0.5)
        for worker in workers:
            worker.finish(max(0.0, deadline - time.monotonic()))
        if self._monitor is not None:
            self._monitor.join(timeout=5)
            self._monitor = None
        for worker in workers:
            worker.calls.close()
            worker.outcomes.close()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        with self._lock:
            self._workers.clear()
            self._pending.clear()
        self._report = None

    # ------------------------------------------------------------------ calls

    def submit(self, call: TaskCall) -> None:
        with self._lock:
            if self._closing:
                raise ExecutorError("the processes executor is closed")
            if self._broken:
                self._pending.append(call)
                self._fail_pending(self._broken)
                return
            worker = self._worker_for(call, self._workers)
            if worker is None:
                self._pending.append(call)  # a worker is being replaced
                return
            self._send(worker, call)

    def _worker_for(self, call: TaskCall, candidates: list[WorkerHandle]) -> WorkerHandle | None:
        """The idle worker among ``candidates`` to run ``call``, or None.

        CUDA binds a process to the devices ``CUDA_VISIBLE_DEVICES`` named when it first used
        them; later changes to the variable are ignored. So a worker that ran a call on some
        GPUs only runs calls on the same GPUs (or on none) after that: a call on other GPUs
        gets a fresh worker in place of an idle one, or it would share a GPU with the call
        the scheduler gave that GPU to.
        """
        idle = [w for w in candidates if w.call is None and not w.stopping and not w.closing]
        if not idle:
            return None
        if not call.gpu_ids:
            # Keep GPU workers for GPU calls; then the worker that stored the call's inputs
            # last, which may hand them over without loading them (HandedOnData).
            inputs = handed_on_checksums(call)
            return min(
                idle,
                key=lambda w: (w.gpus is not None, -sum(c in w.handed_on for c in inputs)),
            )
        for wanted in (call.gpu_ids, None):
            for worker in idle:
                if worker.gpus == wanted:
                    return worker
        return self._recycle(idle[0])

    def _recycle(self, worker: WorkerHandle) -> WorkerHandle:
        """Retire an idle worker (it exits once asked; the monitor reaps it) and start a
        fresh one in its place."""
        worker.closing = True
        with contextlib.suppress(OSError):
            worker.calls.send_bytes(b"")
        replacement = self._spawn()
        self._workers.append(replacement)
        return replacement

    def _send(self, worker: WorkerHandle, call: TaskCall) -> None:
        try:
            args_data = dumps((call.args, call.kwargs))
            fn_data = None if call.fn_id in worker.functions else dumps(call.fn)
        except Exception as exc:
            self._deliver(
                call.ended(
                    OutcomeKind.FAILED,
                    ErrorInfo.of(
                        ErrorKind.INPUT,
                        f"task {call.task!r} or one of its inputs cannot be sent to a worker "
                        f"process ({type(exc).__name__}: {exc}); pass data that pickles, or "
                        "use the threads executor",
                        "legato.InputError",
                    ),
                )
            )
            return
        message = wire.encode(call, fn_data=fn_data, args_data=args_data)
        worker.call = call
        worker.hand_over(call)
        if call.gpu_ids and worker.gpus is None:
            worker.gpus = call.gpu_ids
        try:
            worker.calls.send_bytes(pickle.dumps(message, protocol=5))
        except OSError:
            return  # the worker is dead; the monitor reports the call as crashed
        worker.functions.add(call.fn_id)

    def cancel(self, call_id: int) -> None:
        with self._lock:
            for i, call in enumerate(self._pending):
                if call.call_id == call_id:
                    del self._pending[i]
                    self._deliver(call.ended(OutcomeKind.STOPPED))
                    return
            for worker in self._workers:
                if worker.call is not None and worker.call.call_id == call_id:
                    if not worker.stopping:
                        worker.stopping = True
                        worker.kill_at = time.monotonic() + self._grace
                        worker.terminate()
                    break
        self._wake()

    # ------------------------------------------------------------------ monitor thread

    def _watch(self) -> None:
        while True:
            with self._lock:
                if self._closing and all(w.proc.poll() is not None for w in self._workers):
                    return
                workers = list(self._workers)
                wake_r = self._wake_r
            now = time.monotonic()
            timeout = _POLL_S
            for worker in workers:
                if worker.kill_at is not None:
                    if worker.kill_at <= now:
                        worker.kill()
                        worker.kill_at = None
                    else:
                        timeout = min(timeout, worker.kill_at - now)
            by_conn: dict[Any, WorkerHandle] = {w.outcomes: w for w in workers}
            try:
                ready = wait([*by_conn, wake_r], timeout=timeout)
            except OSError:
                if self._closing:
                    return
                continue
            for item in ready:
                if item == wake_r:
                    with contextlib.suppress(OSError):
                        os.read(wake_r, 4096)
                    continue
                self._receive(by_conn[item])
            for worker in workers:  # deaths whose pipe end a leaked child keeps open
                if (
                    worker in self._workers
                    and worker.proc.poll() is not None
                    and not self._has_message(worker)  # read what it sent before dying
                ):
                    self._on_death(worker)

    @staticmethod
    def _has_message(worker: WorkerHandle) -> bool:
        try:
            return worker.outcomes.poll(0)
        except (OSError, EOFError):
            return False

    def _receive(self, worker: WorkerHandle) -> None:
        try:
            message = worker.outcomes.recv_bytes()
        except (EOFError, OSError):
            self._on_death(worker)
            return
        if message == READY:
            worker.ready = True
            self._start_failures = 0
            return
        outcome = pickle.loads(message)
        if isinstance(outcome, list):  # captured output of a running task
            if self._logs is not None:
                self._logs.add(outcome)
            return
        with self._lock:
            call, worker.call = worker.call, None
            worker.stored(outcome)
            self._feed(worker)
        if call is not None:
            # Also when it finished just as it was being stopped: the engine knows it asked
            # for a stop and only frees the resources.
            self._deliver(outcome)

    def _feed(self, worker: WorkerHandle) -> None:
        if not self._pending:
            return
        chosen = self._worker_for(self._pending[0], [worker])
        if chosen is not None:
            self._send(chosen, self._pending.pop(0))

    def _on_death(self, worker: WorkerHandle) -> None:
        with self._lock:
            if worker not in self._workers:
                return
            self._workers.remove(worker)
        returncode = worker.finish()
        worker.calls.close()
        worker.outcomes.close()
        call = worker.call
        if call is not None:
            reason = describe_exit(returncode)
            if not worker.ready:
                reason = f"the worker process could not start ({reason})"
            if worker.stopping:
                self._deliver(call.ended(OutcomeKind.STOPPED))
            else:
                crash = ErrorInfo.of(ErrorKind.CRASH, reason, "legato.WorkerCrashed")
                self._deliver(call.ended(OutcomeKind.CRASHED, crash))
        if self._closing or worker.closing:
            return
        if not worker.ready and not worker.stopping:
            # Only a worker that died by itself counts: one we killed before it was ready (a
            # timeout shorter than a worker's start) says nothing about whether workers can
            # start, and must not end in the pool being declared broken.
            self._start_failures += 1
        if self._start_failures >= _MAX_START_FAILURES:
            self._broken = (
                f"worker processes exit before they are ready ({describe_exit(returncode)}); "
                f"run `{sys.executable} -m legato.executors.worker 0 1` to see why"
            )
            self._fail_pending(self._broken)
            return
        with self._lock:
            replacement = self._spawn()
            self._workers.append(replacement)
            self._feed(replacement)

    def _fail_pending(self, message: str) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for call in pending:
            error = ErrorInfo.of(ErrorKind.INTERNAL, message, "legato.ExecutorError")
            self._deliver(call.ended(OutcomeKind.FAILED, error))

    # ------------------------------------------------------------------ helpers

    def _deliver(self, outcome: TaskOutcome) -> None:
        report = self._report
        if report is not None:
            report(outcome)

    def _wake(self) -> None:
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
