"""Orchestration overhead per task, without persistence: a quick check, not the benchmark.

For each executor it runs a chain of tasks that pass an int along and a fan-out of trivial
tasks over a runtime list, and prints (run time - the same work in plain Python) / tasks.
The pipeline is traced once beforehand, so tracing is reported apart.

    python benchmarks/overhead.py [--chain 1000] [--fan 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import legato
from legato import pipeline, task


@task
def inc(x: int) -> int:
    return x + 1


@task
def source(n: int) -> list[int]:
    return list(range(n))


@task
def ident(x: int) -> int:
    return x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


def make_chain(n: int) -> legato.Pipeline[..., Any]:
    @pipeline(name=f"chain_{n}")
    def chain() -> int:
        x = 0
        for _ in range(n):
            x = inc(x)
        return x

    return chain


@pipeline
def fan(n: int = 500) -> int:
    return total(ident.map(source(n)))


def plain_chain(n: int) -> int:
    x = 0
    for _ in range(n):
        x = inc.fn(x)
    return x


def plain_fan(n: int) -> int:
    return total.fn([ident.fn(x) for x in source.fn(n)])


def best_of(repeat: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chain", type=int, default=1000)
    parser.add_argument("--fan", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--executors", default="inline,threads,processes")
    parser.add_argument(
        "--stores",
        default="none,sqlite",
        help="none (no persistence), memory, sqlite (a fresh local store per run)",
    )
    args = parser.parse_args()

    chain = make_chain(args.chain)
    started = time.perf_counter()
    chain.graph  # noqa: B018 - trace once, outside the timed runs
    trace_s = time.perf_counter() - started
    fan.graph  # noqa: B018
    print(
        f"tracing a {args.chain}-task chain: {trace_s * 1e3:.1f} ms "
        f"({trace_s / args.chain * 1e6:.1f} us per task)"
    )
    workloads = [
        (f"chain {args.chain}", args.chain, chain, {}, functools.partial(plain_chain, args.chain)),
        (
            f"fan-out {args.fan}",
            args.fan + 2,
            fan,
            {"n": args.fan},
            functools.partial(plain_fan, args.fan),
        ),
    ]
    header = f"{'workload':<16} {'store':<7} {'executor':<10} {'run s':>8} {'plain s':>8}"
    print(f"{header} {'overhead/task':>14}")
    with tempfile.TemporaryDirectory() as home:
        for name, tasks, pipe, params, plain in workloads:
            plain_s = best_of(args.repeat, plain)
            for store in args.stores.split(","):
                for executor in args.executors.split(","):
                    one = functools.partial(_run_once, pipe, params, executor, store, home)
                    run_s = best_of(args.repeat, one)
                    per_task = (run_s - plain_s) / tasks
                    print(
                        f"{name:<16} {store:<7} {executor:<10} {run_s:>8.3f} {plain_s:>8.4f} "
                        f"{per_task * 1e3:>11.4f} ms"
                    )


def _run_once(
    pipe: legato.Pipeline[..., Any], params: dict[str, Any], executor: str, store: str, home: str
) -> None:
    options: dict[str, Any] = {"store": False} if store == "none" else {}
    if store == "memory":
        options["store"] = "memory"
    if store == "sqlite":
        os.environ["LEGATO_HOME"] = tempfile.mkdtemp(dir=home)
        options["cache"] = False  # measure the work, not cache hits
    result = legato.run(pipe, params, executor=executor, **options)
    assert result.ok, result.record.reason


if __name__ == "__main__":
    main()
