"""legato's benchmarks, beside the peers: ``make bench`` (``make bench-quick`` for legato alone).

Each configuration (workload x size x executor x store) runs as fresh processes: one
unrecorded warm-up (small configurations only), then ``--runs`` recorded runs; every figure
is the median of those runs. The peers run through their own harness in the same sitting
(``--legato-only`` leaves them out), so every ratio in the report compares figures measured
on one machine within one invocation.

    python benchmarks/run.py                       # everything, with the peers (~50 min)
    python benchmarks/run.py --quick --legato-only # sizes up to 10,000, no peers (~5 min)
    python benchmarks/run.py --peers prefect,luigi --only w1,w2
    python benchmarks/run.py --smoke --out /tmp/b --doc /tmp/b/benchmarks.md   (the CI test)

The ``api`` group measures the API server's budgets on seeded stores
(``benchmarks/server_budgets.py``, which also runs alone); the ``ray`` group legato on Ray
beside raw Ray on one local cluster (``benchmarks/ray_compare.py``, which also runs alone).

Outputs: ``benchmarks/results/legato.csv`` (every run), ``benchmarks/results/results.csv``
(medians, legato and peers), ``benchmarks/results/api.csv`` (the API's budgets),
``benchmarks/results/ray.csv`` (legato on Ray and raw Ray),
``docs/benchmarks.md`` and ``docs/benchmarks-scale.png``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `benchmarks` is a package of the root
    sys.path.insert(0, str(ROOT))

from benchmarks import peers, ray_compare, report, server_budgets  # noqa: E402
from benchmarks.measure import Homes, Measured, Process, measured_env, run_process  # noqa: E402

GROUPS = ("w1", "w2", "w3", "scale", "cache", "handoff", "startup", "api", "ray")
EXECUTORS = ("inline", "threads", "processes")
GIB = 2**30
HUGE = 1_000_000
"""Cases of this many tasks and more are run once (each takes minutes)."""
SHOWN = 100_000
"""Of durable cases of this many tasks and more, ``legato runs show`` of the run is timed."""
SHOWN_WORKLOADS = ("w1", "w2", "dag")
"""The workloads whose size counts tasks (a hand-off's counts bytes)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One configuration: a workload at a size, run by an executor (or plain Python)."""

    workload: str
    size: int = 0
    executor: str = "threads"
    """``inline``, ``threads``, ``processes`` or ``plain`` (no legato)."""
    store: str = "sqlite"
    """``sqlite`` (durable, the default) or ``none`` (``store=False``)."""
    warmup: int = 1
    runs: int | None = None
    """Recorded runs (None: the runner's number): a 1,000,000-task case runs once, as it
    takes minutes."""
    step: str = ""
    """For the cache workload: ``first``, ``unchanged`` or ``edited``."""

    @property
    def key(self) -> tuple[str, int, str, str, str]:
        return (self.workload, self.size, self.executor, self.store, self.step)

    @property
    def label(self) -> str:
        store = "" if self.executor == "plain" else f" {self.store}"
        step = f" {self.step}" if self.step else ""
        return f"{self.workload} {self.size or ''} {self.executor}{store}{step}".replace("  ", " ")

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "benchmarks.case", self.workload, "--executor", self.executor]
        argv += ["--size", str(self.size), "--store", self.store]
        return argv + (["--step", self.step] if self.step else [])


@dataclass(frozen=True, slots=True, kw_only=True)
class Sizes:
    """The sizes one mode runs."""

    chain: tuple[int, ...]
    fan: tuple[int, ...]
    scale: tuple[int, ...]
    handoff: int
    executors: tuple[str, ...] = EXECUTORS
    warmup: int = 1
    """Unrecorded runs before the recorded ones (configurations under 100,000 tasks)."""
    big_executors: tuple[str, ...] = ("threads",)
    """Executors run at 100,000 tasks and more: the default one. The others take minutes a
    run there (inline commits before every call) and are measured up to 10,000 tasks."""


FULL = Sizes(
    chain=(100, 1000), fan=(500, 10_000), scale=(1000, 10_000, 100_000, 1_000_000), handoff=GIB
)
QUICK = Sizes(chain=(100, 1000), fan=(500, 10_000), scale=(1000, 10_000), handoff=GIB // 4)
SMOKE = Sizes(chain=(10,), fan=(10,), scale=(), handoff=0, executors=("threads",), warmup=0)


def plan(sizes: Sizes, groups: Sequence[str]) -> list[Case]:
    """Every legato configuration of ``groups``, each once, plain-Python references first."""
    cases: list[Case] = []

    def add(workload: str, size: int, *, stores: Sequence[str] = ("sqlite",)) -> None:
        heavy = size >= 100_000 or workload == "handoff"
        warmup = 0 if heavy else sizes.warmup
        runs = 1 if size >= HUGE else None
        cases.append(Case(workload=workload, size=size, executor="plain", warmup=warmup, runs=runs))
        executors = sizes.big_executors if size >= 100_000 else sizes.executors
        for store in stores:
            for executor in executors:
                cases.append(
                    Case(
                        workload=workload,
                        size=size,
                        executor=executor,
                        store=store,
                        warmup=warmup,
                        runs=runs,
                    )
                )

    for n in sizes.chain if "w1" in groups else ():
        add("w1", n, stores=("sqlite", "none") if n == 100 else ("sqlite",))
    for n in sizes.fan if "w2" in groups else ():
        add("w2", n, stores=("sqlite", "none") if n == 500 else ("sqlite",))
    if "w3" in groups:
        add("w3", 0)
    for n in sizes.scale if "scale" in groups else ():
        add("w2", n)
        add("dag", n)
    if "handoff" in groups and sizes.handoff:
        cases.append(Case(workload="handoff", size=sizes.handoff, executor="plain", warmup=0))
        for executor in ("processes", "threads"):
            if executor in sizes.executors:
                cases.append(
                    Case(workload="handoff", size=sizes.handoff, executor=executor, warmup=0)
                )
    unique: dict[tuple[str, int, str, str, str], Case] = {}
    for case in cases:
        unique.setdefault(case.key, case)
    return list(unique.values())


class Runner:
    """Runs cases as fresh processes and keeps every run."""

    def __init__(self, *, runs: int, peers_dir: Path, logs: Path, timeout: float) -> None:
        self.runs = runs
        self.logs = logs
        self.timeout = timeout
        self.homes = Homes()
        self.raw: list[dict[str, object]] = []
        self.env = measured_env(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(peers_dir)])
        self.env.pop("LEGATO_PROFILE", None)
        self._n = 0

    def measure(self, case: Case) -> Measured:
        """``case.warmup`` unrecorded runs, then ``runs`` recorded ones, each in a fresh
        process with a fresh ``LEGATO_HOME``."""
        measured = Measured()
        runs = case.runs if case.runs is not None else self.runs
        for i in range(-case.warmup, runs):
            if i < 0:
                self._once(case.argv(), self.homes.new(), case.label)
            else:
                measured.runs.append(self._recorded(case, i))
        self._print(case.label, measured)
        return measured

    def measure_in_turn(self, cases: Sequence[Case]) -> dict[report.CaseKey, Measured]:
        """The recorded runs of ``cases`` in turn, one of each per round (no warm-up), so that
        the rest of the machine's work falls on all alike (the hand-off: ``case._settle``)."""
        measured = {case.key: Measured() for case in cases}
        for i in range(self.runs):
            for case in cases:
                measured[case.key].runs.append(self._recorded(case, i))
        for case in cases:
            self._print(case.label, measured[case.key])
        return measured

    def _recorded(self, case: Case, i: int) -> Process:
        """Recorded run ``i`` of ``case``, in a fresh ``LEGATO_HOME``."""
        home = self.homes.new()
        run = self._once(case.argv(), home, case.label)
        if case.workload in SHOWN_WORKLOADS and case.size >= SHOWN and case.store == "sqlite":
            run = self._shown(run, home, case.label)
        self._record(case.label, case, i, run)
        return run

    def measure_cache(self) -> dict[str, Measured]:
        """The cache workload: per recorded run a fresh ``LEGATO_HOME`` in which three
        processes run W3 first, unchanged, then with one model's code edited."""
        steps = {step: Measured() for step in ("first", "unchanged", "edited")}
        for i in range(self.runs):
            home = self.homes.new()
            for step, measured in steps.items():
                case = Case(workload="cache", step=step)
                run = self._once(case.argv(), home, case.label)
                measured.runs.append(run)
                self._record(case.label, case, i, run)
        for step, measured in steps.items():
            self._print(f"cache {step}", measured)
        return steps

    def measure_command(self, name: str, argv: Sequence[str]) -> Measured:
        """Whole-process figures of a command (start-up), one warm-up run first."""
        measured = Measured()
        for i in range(-1, self.runs):
            run = self._once(argv, self.homes.new(), name)
            if i >= 0:
                # A command prints no BENCH line: a clean exit is success.
                bench = dict(run.bench) or {"ok": run.exit == 0}
                run = type(run)(
                    wall_s=run.wall_s, peak_rss_mb=run.peak_rss_mb, exit=run.exit, bench=bench
                )
                measured.runs.append(run)
                self._record(name, None, i, run)
        self._print(name, measured)
        return measured

    def _shown(self, run: Process, home: Path, label: str) -> Process:
        """``run`` with the wall time and peak memory of ``legato runs show`` of the run it
        made (a fresh process, in its ``LEGATO_HOME``): what reading a run of this size
        back costs."""
        run_id = run.bench.get("run_id")
        if not isinstance(run_id, str):
            return run
        argv = [sys.executable, "-m", "legato.cli", "runs", "show", run_id]
        shown = self._once(argv, home, f"{label} runs show")
        figures = {"show_s": round(shown.wall_s, 4), "show_rss_mb": round(shown.peak_rss_mb, 1)}
        ok = bool(run.bench.get("ok")) and shown.exit == 0
        return replace(run, bench={**run.bench, **figures, "ok": ok})

    def _once(self, argv: Sequence[str], home: Path, label: str):  # type: ignore[no-untyped-def]
        self._n += 1
        env = dict(self.env, LEGATO_HOME=str(home))
        log = self.logs / f"{self._n:04d}-{label.replace(' ', '_')}.log"
        run = run_process(argv, env=env, cwd=ROOT, log=log, timeout=self.timeout)
        if run.exit != 0 or not run.bench.get("ok", run.exit == 0):
            print(f"  !! {label}: exit {run.exit}, see {log}", flush=True)
        return run

    def _record(self, label: str, case: Case | None, i: int, run) -> None:  # type: ignore[no-untyped-def]
        row: dict[str, object] = {
            "config": label,
            "run": i,
            "exit": run.exit,
            "wall_s": round(run.wall_s, 4),
            "peak_rss_mb": round(run.peak_rss_mb, 1),
        }
        row.update({k: v for k, v in run.bench.items() if not isinstance(v, list | dict)})
        self.raw.append(row)

    @staticmethod
    def _print(label: str, m: Measured) -> None:
        run_s = m.med("run_s")
        shown = f"run {run_s:9.4f}s" if run_s is not None else "run        -"
        wall = m.wall_s or 0.0
        print(
            f"{label:<34} {shown}  wall {wall:7.2f}s  rss {m.peak_rss_mb or 0:7.1f} MiB"
            f"  {'ok' if m.ok else 'FAILED'}",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 10,000; 256 MiB hand-off")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run: the CI check")
    parser.add_argument("--legato-only", action="store_true", help="leave the peers out")
    parser.add_argument(
        "--peers", default=",".join(peers.PEERS), help="comma list (default: all of them)"
    )
    parser.add_argument(
        "--only", default=",".join(GROUPS), help="comma list of " + ",".join(GROUPS)
    )
    parser.add_argument("--runs", type=int, default=None, help="recorded runs (default 3)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--plot", type=Path, default=None, help="default: beside --doc")
    parser.add_argument(
        "--peers-dir",
        type=Path,
        default=Path(
            os.environ.get("LEGATO_BENCH_PEERS", ROOT.parent / "shared" / "bench" / "peers")
        ),
    )
    parser.add_argument(
        "--venvs", type=Path, default=Path(os.environ.get("PEERS_VENVS", "/tmp/peers"))
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per process")
    args = parser.parse_args(argv)

    groups = [g for g in args.only.split(",") if g]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown groups {unknown}: choose from {', '.join(GROUPS)}")
    names = [p for p in args.peers.split(",") if p]
    if bad := sorted(set(names) - set(peers.PEERS)):
        parser.error(f"unknown peers {bad}: choose from {', '.join(peers.PEERS)}")
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    if args.smoke:
        groups = [g for g in groups if g in ("w1", "w2")]
    runs = args.runs or (1 if args.smoke else 3)
    if not (args.peers_dir / "common.py").is_file():
        parser.error(f"no common.py in {args.peers_dir}: give --peers-dir (or LEGATO_BENCH_PEERS)")
    plot = args.plot or args.doc.with_name(args.doc.stem + "-scale.png")

    args.out.mkdir(parents=True, exist_ok=True)
    logs = args.out / "logs"
    logs.mkdir(exist_ok=True)
    runner = Runner(runs=runs, peers_dir=args.peers_dir, logs=logs, timeout=args.timeout)
    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    results = report.Results(
        sizes_note="smoke" if args.smoke else "quick" if args.quick else "full"
    )
    try:
        cases = plan(sizes, groups)
        in_turn = [case for case in cases if case.workload == "handoff"]
        for case in cases:
            if case not in in_turn:
                results.cases[case.key] = runner.measure(case)
        results.cases.update(runner.measure_in_turn(in_turn))
        if "cache" in groups:
            results.cache = runner.measure_cache()
        if "startup" in groups and not args.smoke:
            py = sys.executable
            results.startup["python"] = runner.measure_command("python -c pass", [py, "-c", "pass"])
            results.startup["import"] = runner.measure_command(
                "import legato",
                [
                    py,
                    "-c",
                    "import time; t = time.perf_counter(); import legato; "
                    "import json; print('BENCH ' + json.dumps("
                    "{'import_s': time.perf_counter() - t, 'ok': True}))",
                ],
            )
            legato_cli = str(Path(sys.executable).with_name("legato"))
            results.startup["help"] = runner.measure_command(
                "legato --help", [legato_cli, "--help"]
            )
            results.startup["cli_run"] = runner.measure_command(
                "legato run (100-task chain)",
                [legato_cli, "run", str(ROOT / "benchmarks" / "cli_chain.py") + ":chain"],
            )
        if not args.legato_only and not args.smoke:
            print(f"peers: {', '.join(names)} via {args.peers_dir / 'harness.py'}", flush=True)
            results.peers = peers.run_peers(
                peers_dir=args.peers_dir,
                venvs=args.venvs,
                names=names,
                out=args.out / "peers",
                runs=runs,
                warmup=1,
                workloads=["w1", "w2", "w3"],
                log=logs / "peers-harness.log",
            )
    finally:
        runner.homes.close()
    if "ray" in groups and not args.smoke:  # legato on Ray beside raw Ray, one cluster
        size = ray_compare.GIB // (8 if args.quick else 1)
        results.ray = ray_compare.run(repeat=runs, size=size, out=args.out)
    results.elapsed_s = time.monotonic() - started
    results.load = [load_at_start, os.getloadavg()[0]]
    _write_raw(args.out / "legato.csv", runner.raw)
    report.write_csv(results, args.out / "results.csv")
    report.write_doc(results, args.doc, plot)
    if "api" in groups and not args.smoke:  # the API's budgets, on seeded stores
        server_budgets.run(
            quick=args.quick,
            stores=("sqlite", "postgresql"),
            repeat=runs * 2 + 1,
            cache=Path(os.environ.get("LEGATO_API_BENCH_CACHE", "/tmp/legato-api-bench")),
            out=args.out,
            doc=args.doc,
        )
    print(f"wrote {args.out / 'results.csv'}, {args.doc} ({results.elapsed_s / 60:.1f} min)")
    return 0 if results.all_ok else 1


def _write_raw(path: Path, rows: list[dict[str, object]]) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    sys.exit(main())
