"""legato beside an earlier legato: the same workloads, two source trees, one sitting.

An engine change is judged against the engine before it, measured on the same machine in the
same minutes: this checks out ``--base`` (a git ref, default ``HEAD~1``) into a temporary
worktree and runs each configuration as fresh processes, alternating between the base and
the working tree so that a busy moment of the machine falls on both. Figures are medians of
``--runs`` runs of ``benchmarks.case`` (``run_s``, the first ``legato.run`` in the process).

    python benchmarks/ab.py --base main~3 --runs 7 w1:100:threads w2:500:threads
    make bench-ab BASE=main~3

Prints a Markdown table (per-task cost of each tree and their ratio) and, with ``--doc``,
writes it to that file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.measure import measured_env, run_process  # noqa: E402

DEFAULT = ("w1:100:threads", "w2:500:threads", "w2:10000:threads")


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """``ref`` checked out in a temporary folder (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="legato-ab-") as folder:
        path = Path(folder) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), ref],
            check=True,
            capture_output=True,
        )
        try:
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                check=False,
                capture_output=True,
            )


def tasks_of(workload: str, size: int) -> int:
    """Tasks in a run: W2 adds its source and its reduce to the items, the DAG its reduce;
    W3 (size 0) is the digits pipeline's 13 (load, split, scale, 4 trainings, 4
    evaluations, best, deploy)."""
    return {"w2": size + 2, "dag": size + 1, "w3": 13}.get(workload, size)


def measure(tree: Path, config: str, peers: Path, logs: Path, timeout: float) -> float | None:
    """``run_s`` of one fresh process running ``config`` (``workload:size:executor``) from
    ``tree``'s sources; None if it failed."""
    workload, size, executor = config.split(":")
    env = measured_env(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), str(tree), str(peers)])
    with tempfile.TemporaryDirectory(prefix="legato-ab-home-") as home:
        env["LEGATO_HOME"] = home
        argv = [sys.executable, "-m", "benchmarks.case", workload]
        argv += ["--size", size, "--executor", executor]
        process = run_process(argv, env=env, cwd=tree, log=logs, timeout=timeout)
    if process.exit != 0 or not process.bench.get("ok", False):
        return None
    return float(process.bench["run_s"])


def table(base: str, results: dict[tuple[str, str], list[float]], configs: list[str]) -> str:
    lines = [
        f"| configuration | {base}: ms/task | working tree: ms/task | ratio | runs |",
        "|---|--:|--:|--:|--:|",
    ]
    for config in configs:
        workload, size, _ = config.split(":")
        n = tasks_of(workload, int(size))
        old, new = results.get((config, "base"), []), results.get((config, "new"), [])
        if not old or not new:
            lines.append(f"| {config} | failed | | | |")
            continue
        a, b = statistics.median(old) / n * 1e3, statistics.median(new) / n * 1e3
        lines.append(f"| {config} | {a:.3f} | {b:.3f} | {b / a:.2f}x | {len(new)} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=list(DEFAULT))
    parser.add_argument("--base", default="HEAD~1", help="git ref to compare with")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--doc", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--peers-dir",
        type=Path,
        default=Path(os.environ.get("LEGATO_BENCH_PEERS", ROOT.parent / "shared/bench/peers")),
    )
    args = parser.parse_args()
    results: dict[tuple[str, str], list[float]] = {}
    load_before = os.getloadavg()[0]
    with worktree(args.base) as base, tempfile.TemporaryDirectory() as logs:
        for i in range(args.runs + 1):  # the first round warms the disk cache, unrecorded
            for config in args.configs:
                for side, tree in (("base", base), ("new", ROOT)):
                    seconds = measure(
                        tree, config, args.peers_dir, Path(logs) / "log", args.timeout
                    )
                    if seconds is not None and i > 0:
                        results.setdefault((config, side), []).append(seconds)
            print(f"round {i} of {args.runs} done", file=sys.stderr, flush=True)
    text = table(args.base, results, args.configs)
    print(text)
    if args.doc is not None:
        args.doc.write_text(document(args.base, text, load_before, os.getloadavg()[0]))
    return 0


def document(base: str, text: str, load_before: float, load_after: float) -> str:
    """The table with what it compares and where it was measured."""
    subject = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", base],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    head = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (
        "# The engine beside an earlier engine\n\n"
        "Generated by `make bench-ab` (`python benchmarks/ab.py`): do not edit by hand. "
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}; 1-minute load average {load_before:.1f} at the start, "
        f"{load_after:.1f} at the end.\n\n"
        f"Base: `{subject}`. Working tree: `{head}` and what is not committed. Each figure is "
        "the median `run_s` (the first `legato.run` in a fresh process, durable in SQLite) "
        "divided by the tasks, the two trees alternating run by run.\n\n"
        f"{text}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
