"""legato on Ray beside raw Ray, in one sitting on one local cluster (``make bench``'s ``ray``
group; also ``python benchmarks/ray_compare.py``).

- ``noop``: N independent no-op tasks; the per-task cost is the run's wall time over N. raw
  Ray submits them all and gets the results; legato runs a map of N durable attempts
  (SQLite store, every output an artifact).
- ``chain``: N tasks each taking the previous one's output; the cost per link is the wall
  time over N. raw Ray passes object references (no driver round trip at all); legato
  hands every output back to the driver, commits it, then submits the next. raw Ray with
  a ``ray.get`` per link (the driver in the loop, as legato is) is shown beside it.
- ``handoff``: a 1 GiB NumPy array from one task to the next on one node: how long after
  the producer returned the consumer's body starts. legato also writes the array as an
  artifact before handing it on (its write is timed alone, in a Ray worker, and reported
  apart).

Each figure is the median of ``--repeat`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import legato  # noqa: E402
from legato import pipeline, task  # noqa: E402

GIB = 2**30
NOOPS = 1000
LINKS = 200


@dataclass(frozen=True, slots=True)
class Row:
    measure: str
    unit: str
    raw: float
    legato: float
    budget: str
    met: bool
    note: str = ""


# ------------------------------------------------------------------ tasks and pipelines


@task
def noop(i: int) -> int:
    return i


@pipeline
def fan(items: list[int]) -> list[int]:
    return noop.map(items)


@task
def link(x: int) -> int:
    return x + 1


@pipeline
def chain() -> int:
    value = link(0)
    for _ in range(LINKS - 1):
        value = link(value)
    return value


def _stamp(path: str, what: str) -> None:
    with open(path, "a") as f:
        f.write(f"{what} {time.time()}\n")


@task
def produce(stamps: str, size: int) -> Any:
    import numpy as np

    array = np.ones(size, dtype=np.uint8)
    _stamp(stamps, "produced")
    return array


@task
def consume(stamps: str, array: Any) -> int:
    _stamp(stamps, "consumed")
    return int(array[:10].sum())


@pipeline
def handoff(stamps: str, size: int) -> int:
    return consume(stamps, produce(stamps, size))


def _raw_tasks() -> dict[str, Any]:
    import ray

    def raw_noop(i: int) -> int:
        return i

    def raw_link(x: int) -> int:
        return x + 1

    def raw_produce(stamps: str, size: int) -> Any:
        import numpy as np

        array = np.ones(size, dtype=np.uint8)
        _stamp(stamps, "produced")
        return array

    def raw_consume(stamps: str, array: Any) -> int:
        _stamp(stamps, "consumed")
        return int(array[:10].sum())

    options = {"max_retries": 0, "num_cpus": 1}
    return {
        name: ray.remote(fn).options(**options)
        for name, fn in (
            ("noop", raw_noop),
            ("link", raw_link),
            ("produce", raw_produce),
            ("consume", raw_consume),
        )
    }


# ------------------------------------------------------------------ measuring


def _median(fn: Callable[[], float], repeat: int) -> float:
    fn()  # warm-up: workers started, functions imported
    return statistics.median(fn() for _ in range(repeat))


def _timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def _write_alone(store: Any, size: int, repeat: int) -> float:
    """Seconds the artifact store takes to write a ``size``-byte array (what legato does
    before the hand-off and raw Ray does not), timed in a Ray worker as the producer's
    write is: a fresh array, written from a worker process on the same node."""
    import ray

    def write() -> float:
        import numpy as np

        array = np.ones(size, dtype=np.uint8)
        began = time.perf_counter()
        store.put(array, producer="bench")
        return time.perf_counter() - began

    task = ray.remote(write).options(max_retries=0, num_cpus=1)
    return _median(lambda: float(ray.get(task.remote())), repeat)


def _marks(stamps: Path) -> dict[str, float]:
    return {k: float(v) for k, v in (line.split() for line in stamps.read_text().splitlines())}


def _gap(stamps: Path) -> float:
    """Seconds between the producer's return and the consumer's start."""
    marks = _marks(stamps)
    stamps.unlink()
    return marks["consumed"] - marks["produced"]


def _succeeded_at(run_id: str, key: str) -> float:
    """When the driver recorded ``key`` of ``run_id`` as succeeded (wall time)."""
    from legato.config import load_settings
    from legato.model.events import TaskTransitioned
    from legato.model.states import TaskState
    from legato.store.open import open_run_store

    store = open_run_store(load_settings().state_url)
    try:
        return next(
            e.at
            for e in store.read_events(run_id)
            if isinstance(e, TaskTransitioned) and e.key == key and e.state is TaskState.SUCCEEDED
        )
    finally:
        store.close()


def run(
    *, repeat: int = 5, noops: int = NOOPS, size: int = GIB, out: Path | None = None
) -> list[Row]:
    import ray

    from legato.executors.ray_executor import RayExecutor
    from legato.store.artifacts import FsspecArtifactStore

    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    ray.init(
        address="local",  # a new cluster, never one found on the machine
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=int(size * 2.5),
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        configure_logging=False,
    )
    rows: list[Row] = []
    try:
        raw = _raw_tasks()
        with tempfile.TemporaryDirectory() as home:
            os.environ["LEGATO_HOME"] = home
            executor = RayExecutor()
            items = list(range(noops))

            raw_noop = (
                _median(
                    lambda: _timed(lambda: ray.get([raw["noop"].remote(i) for i in items])), repeat
                )
                / noops
            )

            def run_legato(p: Any, params: dict[str, Any] | None = None) -> str:
                # cache=False: every repeat runs every task (a hit would skip them).
                result = legato.run(p, params, executor=executor, cache=False)
                result.raise_for_status()
                return result.run_id

            legato_noop = _median(lambda: _timed(lambda: run_legato(fan, {"items": items})), repeat)
            legato_noop /= noops
            rows.append(_row("noop", raw_noop, legato_noop, 0.3e-3, f"{noops} independent tasks"))
            print(_line(rows[-1]), flush=True)

            def raw_chain() -> None:
                value = raw["link"].remote(0)
                for _ in range(LINKS - 1):
                    value = raw["link"].remote(value)
                ray.get(value)

            def raw_chain_gets() -> None:
                value = 0
                for _ in range(LINKS):
                    value = ray.get(raw["link"].remote(value))

            raw_link = _median(lambda: _timed(raw_chain), repeat) / LINKS
            raw_link_gets = _median(lambda: _timed(raw_chain_gets), repeat) / LINKS
            legato_link = _median(lambda: _timed(lambda: run_legato(chain)), repeat) / LINKS
            rows.append(
                _row(
                    "chain",
                    raw_link,
                    legato_link,
                    0.5e-3,
                    f"{LINKS} links; raw Ray with a ray.get per link: {raw_link_gets * 1e3:.2f} ms",
                )
            )
            print(_line(rows[-1]), flush=True)

            stamps = Path(home) / "stamps"

            def raw_handoff() -> float:
                ray.get(
                    raw["consume"].remote(str(stamps), raw["produce"].remote(str(stamps), size))
                )
                return _gap(stamps)

            driver_after: list[float] = []

            def legato_handoff() -> float:
                run_id = run_legato(handoff, {"stamps": str(stamps), "size": size})
                marks = _marks(stamps)
                decided = _succeeded_at(run_id, "produce")
                driver_after.append(decided - marks["produced"])
                return _gap(stamps)

            raw_gap = _median(raw_handoff, repeat)
            legato_gap = _median(legato_handoff, repeat)
            outcome_after = statistics.median(driver_after[1:] or driver_after)
            store = FsspecArtifactStore(str(Path(home) / "write-alone"))
            write = _write_alone(store, size, repeat)
            start = legato_gap - write
            rows.append(
                Row(
                    measure="handoff",
                    unit="s",
                    raw=raw_gap,
                    legato=start,
                    budget="<= 1.2x raw",
                    # A write timed alone that took longer than the whole gap measured
                    # another state of the machine (memory handed back to the host, write
                    # -back of earlier runs), not the hand-off: no figure, not met.
                    met=0 <= start <= 1.2 * raw_gap,
                    note=(
                        (
                            "not measured: the write alone outlasted the whole gap; "
                            if start < 0
                            else ""
                        )
                        + f"{size / GIB:g} GiB; legato's whole gap {legato_gap:.3f} s less the "
                        f"artifact write timed alone ({write:.3f} s); the driver had the "
                        f"producer's outcome {outcome_after:.3f} s after its return (the "
                        "artifact written, the object stored) and the consumer started "
                        f"{legato_gap - outcome_after:.3f} s after that"
                    ),
                )
            )
            print(_line(rows[-1]), flush=True)
    finally:
        ray.shutdown()
    if out is not None:
        _write(rows, out / "ray.csv")
    return rows


def _row(measure: str, raw: float, legato_: float, allowance: float, note: str) -> Row:
    return Row(
        measure=measure,
        unit="ms",
        raw=raw * 1e3,
        legato=legato_ * 1e3,
        budget=f"<= raw + {allowance * 1e3:g} ms",
        met=legato_ <= raw + allowance,
        note=note,
    )


def _line(row: Row) -> str:
    verdict = "met" if row.met else "NOT met"
    return (
        f"ray {row.measure}: raw Ray {row.raw:.3f} {row.unit}, legato {row.legato:.3f} "
        f"{row.unit} (budget {row.budget}: {verdict}); {row.note}"
    )


def _write(rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["measure", "unit", "raw_ray", "legato", "budget", "met", "note"])
        for r in rows:
            writer.writerow(
                [r.measure, r.unit, f"{r.raw:.4f}", f"{r.legato:.4f}", r.budget, r.met, r.note]
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--noops", type=int, default=NOOPS)
    parser.add_argument("--size", type=int, default=GIB, help="bytes of the handed-off array")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    rows = run(repeat=args.repeat, noops=args.noops, size=args.size, out=args.out)
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["Row", "main", "run"]
