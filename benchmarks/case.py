"""One benchmark configuration in a fresh process: prints one ``BENCH {json}`` line.

The runner (``run.py``) starts this module once per measured run, with ``LEGATO_HOME`` set to
a fresh folder and ``PYTHONPATH`` holding the project root and the peers' folder, and takes
wall time and peak RSS from outside. Inside, it times:

* ``import_s``: importing legato and the workloads;
* ``setup_s``: a one-task run that opens (creates) the run store, like the peers' explicit
  engine start (``ray.init``, a Dagster instance); nothing of it is reused by the timed run
  (another task, no cache entry in common);
* ``run_s``: ``legato.run`` of the workload, tracing of the pipeline included (``trace_s`` is
  that part), the first run in the process, as the peers' ``run_s`` is;
* ``busy_s``: the seconds the orchestrator itself worked (``RunResult.busy``).

``--executor plain`` runs the same work in plain sequential Python instead.

    python -m benchmarks.case w2 --size 500 --executor threads [--store none]
    python -m benchmarks.case cache --step first|unchanged|edited   (in one LEGATO_HOME)
    python -m benchmarks.case handoff --size 1073741824 --executor processes|plain
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

T0 = time.perf_counter()

EXECUTORS = ("inline", "threads", "processes")
WORKLOADS = ("w1", "w2", "w3", "dag", "cache", "handoff")


def _emit(record: dict[str, Any]) -> None:
    record["maxrss_self_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    record["inproc_total_s"] = round(time.perf_counter() - T0, 6)
    sys.stdout.write("BENCH " + json.dumps(record) + "\n")
    sys.stdout.flush()


SETTLE_S = 3.0
"""Seconds a hand-off waits, after ``os.sync()``, before its timed part starts."""


def _sync() -> None:
    """Start with nothing left to write back from before (large writes only)."""
    os.sync()


def _settle() -> None:
    """Start a hand-off in the same state of memory whatever ran just before it: nothing
    left to write back, and what earlier runs freed no longer at hand.

    On a virtual machine whose balloon reports free pages (virtio-balloon's free page
    reporting gives memory that stayed free for 2 s back to the host), touching a GiB
    freed within the last second costs 0.07 to 0.3 s and a GiB freed longer ago 1.3 to
    3.7 s (the host faults it in again), for an array's pages and a written file's alike.
    Without the wait, the reference's second and third runs wrote into the pages the run
    before them had just freed (``np.save`` 0.56 to 0.67 s), legato's runs, which start
    later in their process, into memory given back (2.1 to 2.5 s for the same write).
    Other work on the machine still frees memory at any moment (the reference's writes were
    0.22 to 0.46 s in one sitting, after the wait): the runner takes the hand-off's cases
    in turn, one run of each per round, so that such noise falls on all of them alike. On
    a machine of its own the wait changes nothing.
    """
    os.sync()
    time.sleep(SETTLE_S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--size", type=int, default=0, help="tasks (w1), items (w2, dag), bytes")
    parser.add_argument("--executor", choices=(*EXECUTORS, "plain"), default="threads")
    parser.add_argument("--store", choices=("sqlite", "none"), default="sqlite")
    parser.add_argument("--step", choices=("first", "unchanged", "edited"), default="first")
    args = parser.parse_args()

    started = time.perf_counter()
    import common as c  # type: ignore[import-not-found]

    import legato
    from benchmarks import workloads as wl

    import_s = time.perf_counter() - started
    record: dict[str, Any] = {
        "workload": args.workload,
        "size": args.size,
        "executor": args.executor,
        "store": args.store if args.executor != "plain" else "",
        "import_s": round(import_s, 6),
        "sklearn_import_s": round(
            c.preimport_ml("w3" if args.workload in ("w3", "cache") else ""), 6
        ),
    }
    if args.workload == "handoff" and args.executor == "plain":
        record.update(_plain_handoff(args.size))
        _emit(record)
        return
    if args.executor == "plain":
        with tempfile.TemporaryDirectory(prefix="legato-bench-deploy-") as out_dir:
            t = time.perf_counter()
            result = wl.plain(args.workload, args.size, out_dir)
            record["run_s"] = round(time.perf_counter() - t, 6)
            record["result"] = _checked(args.workload, args.size, result)
        record["ok"] = _expected_ok(args.workload, args.size, record["result"])
        _emit(record)
        return

    store: dict[str, Any] = {"store": False} if args.store == "none" else {}
    setup = time.perf_counter()
    legato.run(_setup_pipeline(), executor=args.executor, echo_logs=False, **store)
    record["setup_s"] = round(time.perf_counter() - setup, 6)

    if args.workload == "cache":
        pipe, params = _cache_pipeline(args.step)
    else:
        pipe, params = _pipeline(args.workload, args.size)
    with tempfile.TemporaryDirectory(prefix="legato-bench-deploy-") as out_dir:
        if "out_dir" in params:
            params["out_dir"] = params["out_dir"] or out_dir
        if args.workload == "handoff":
            _settle()
        t = time.perf_counter()
        pipe.graph  # noqa: B018 - tracing, timed apart but inside run_s
        record["trace_s"] = round(time.perf_counter() - t, 6)
        result = legato.run(pipe, params, executor=args.executor, echo_logs=False, **store)
        record["run_s"] = round(time.perf_counter() - t, 6)
        record["busy_s"] = round(result.busy, 6) if result.busy is not None else None
        # One pass over the records, none kept: the engine holds a succeeded task's record
        # packed, and a list of a million records read back would be the process's peak.
        ran: list[str] = []
        hits = 0
        tasks_s = 0.0
        for r in result.tasks.values():
            if r.mapped:
                continue
            if r.cache_hit is None:
                ran.append(r.key)
            else:
                hits += 1
            tasks_s += r.ran_for or 0.0
        record["tasks"] = result.task_count.tasks  # each map as its items, as legato says
        record["ran"] = sorted(ran)
        record["hits"] = hits
        record["state"] = result.state.value
        if args.workload == "handoff":
            # What the tasks' own functions took in this run (the producer's first touches of
            # its array's memory included): the hand-off is the rest of the run.
            record["tasks_s"] = round(tasks_s, 6)
        if args.store != "none":
            record["run_id"] = result.run_id  # what `legato runs show` is timed on (run.py)
        record["result"] = _checked(args.workload, args.size, result.output) if result.ok else None
    record["ok"] = result.ok and _expected_ok(args.workload, args.size, record["result"])
    if args.workload != "cache":
        record.pop("ran")
    _emit(record)


def _setup_pipeline() -> Any:
    from legato import pipeline, task

    @task
    def bench_setup() -> int:
        return 0

    @pipeline(name="bench_setup")
    def setup() -> int:
        return bench_setup()  # type: ignore[no-any-return]

    return setup


def _pipeline(workload: str, size: int) -> tuple[Any, dict[str, Any]]:
    from benchmarks import workloads as wl

    if workload == "w1":
        return wl.chain_pipeline(size), {}
    if workload == "w2":
        return wl.fan_pipeline(size), {}
    if workload == "dag":
        return wl.dag_pipeline(size), {}
    if workload == "w3":
        return wl.ml_pipeline, {"out_dir": ""}
    if workload == "handoff":
        return wl.handoff_pipeline(size), {}
    raise ValueError(workload)


def _cache_pipeline(step: str) -> tuple[Any, dict[str, Any]]:
    """W3 with a task per branch, from a file in LEGATO_HOME: written by the first step,
    edited (one model's code) by the last, as a user edits a pipeline file between runs."""
    from benchmarks import workloads as wl
    from legato.define.loader import load_pipeline

    home = Path(os.environ["LEGATO_HOME"])
    path = home / "w3_branches.py"
    if step != "unchanged":
        path.write_text(wl.ml_branches_pipeline("edited" if step == "edited" else "original"))
    # One deploy folder for all steps: an unchanged deploy step is a cache hit.
    deployed = home / "deployed"
    deployed.mkdir(exist_ok=True)
    return load_pipeline(f"{path}:ml_branches"), {"out_dir": str(deployed)}


def _checked(workload: str, size: int, result: Any) -> Any:
    """The result as the peers report it (W3: ``[best model, accuracy]``)."""
    if workload in ("w3",):
        import common as c

        return c.check_deployed(result)
    if workload == "cache":
        name, acc, path = result
        return [name, acc] if os.path.getsize(path) > 0 else ["deploy-missing", acc]
    return result


def _expected_ok(workload: str, size: int, result: Any) -> bool:
    from benchmarks import workloads as wl

    if workload == "w1":
        return bool(result == size)
    if workload == "w2":
        return bool(result == sum(range(size)))
    if workload == "dag":
        return bool(result == wl.plain("dag", size))
    if workload in ("w3", "cache"):
        return bool(result and result[0] in wl.MODELS)
    if workload == "handoff":
        return bool(result == float(sum(range(0, size // 8, 1024))))
    return False


def _plain_handoff(nbytes: int) -> dict[str, Any]:
    """The reference for passing an array: ``np.save`` once and ``np.load(mmap_mode="r")``,
    with the same produce and consume work around it; and, apart, what an fsync of the
    saved file costs (the durability legato's hand-off includes), and the same work again
    with the array in memory."""
    import numpy as np

    from benchmarks import workloads as wl

    produce, consume = wl.produce.fn, wl.consume.fn
    with tempfile.TemporaryDirectory(prefix="legato-bench-handoff-") as folder:
        path = Path(folder) / "array.npy"
        _settle()
        t = time.perf_counter()
        array = produce(nbytes)
        produced = time.perf_counter()
        np.save(path, array)
        saved = time.perf_counter()
        # What durability adds (legato's hand-off pays it), timed apart from the reference.
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        synced = time.perf_counter()
        del array
        loaded = np.load(path, mmap_mode="r")
        mapped = time.perf_counter()
        result = consume(loaded)
        done = time.perf_counter()
        del loaded
        # The same work with the array passed in memory, at once (in memory just freed).
        _sync()
        t2 = time.perf_counter()
        consume(produce(nbytes))
        compute_s = time.perf_counter() - t2
    return {
        "run_s": round(done - t - (synced - saved), 6),
        "save_s": round(saved - produced, 6),
        "fsync_s": round(synced - saved, 6),
        "mmap_s": round(mapped - synced, 6),
        "compute_s": round(compute_s, 6),
        "produce_s": round(produced - t, 6),
        "consume_s": round(done - mapped, 6),
        "result": result,
        "ok": result == float(sum(range(0, nbytes // 8, 1024))),
    }


if __name__ == "__main__":
    main()
