"""From measured runs to ``results.csv``, ``docs/benchmarks.md`` and the scale plot.

Every figure is a median over fresh processes; every ratio divides two figures of the same
invocation. Overhead per task = (run time - the same work in plain Python) / tasks, where
run time is the first ``legato.run`` in its process, tracing included (the peers' ``run_s``
is their first run in the process too). Targets are those of ``PRODUCT.md``; each is written
as met or missed with the figure measured.
"""

from __future__ import annotations

import csv
import math
import os
import platform
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import Measured, median
from benchmarks.peers import DURABLE, PeerRun

__all__ = ["Results", "write_csv", "write_doc"]

CaseKey = tuple[str, int, str, str, str]
PEER_SIZES = {"w1": 100, "w2": 500, "w3": 0}
PEER_TASKS = {"w1": 100, "w2": 502, "w3": 13}
EXECUTORS = ("inline", "threads", "processes")
FINDINGS = Path(__file__).with_name("findings.md")
"""What profiles showed, written by hand: copied into the report before its last section."""


@dataclass(slots=True)
class Results:
    """Everything one invocation measured."""

    sizes_note: str = "full"
    cases: dict[CaseKey, Measured] = field(default_factory=dict)
    cache: dict[str, Measured] = field(default_factory=dict)
    startup: dict[str, Measured] = field(default_factory=dict)
    peers: PeerRun | None = None
    elapsed_s: float = 0.0
    load: list[float] = field(default_factory=list)
    """The 1-minute load average at the start and at the end (the machine may be shared)."""
    ray: list[Any] = field(default_factory=list)
    """legato on Ray beside raw Ray (``ray_compare.Row``s), when the ``ray`` group ran."""

    @property
    def all_ok(self) -> bool:
        measured = [*self.cases.values(), *self.cache.values(), *self.startup.values()]
        return all(m.ok for m in measured)

    def case(
        self, workload: str, size: int, executor: str, store: str = "sqlite"
    ) -> Measured | None:
        return self.cases.get((workload, size, executor, store, ""))

    def run_s(self, workload: str, size: int, executor: str, store: str = "sqlite") -> float | None:
        m = self.case(workload, size, executor, store)
        return m.med("run_s") if m is not None else None

    def overhead_ms(
        self, workload: str, size: int, executor: str, store: str = "sqlite"
    ) -> float | None:
        """(run time - plain Python) / tasks, in milliseconds."""
        m = self.case(workload, size, executor, store)
        plain = self.run_s(workload, size, "plain", "sqlite")
        if m is None or plain is None or m.med("run_s") is None or not m.med("tasks"):
            return None
        return (m.med("run_s") - plain) / m.med("tasks") * 1e3  # type: ignore[operator]

    def busy_ms(
        self, workload: str, size: int, executor: str, store: str = "sqlite"
    ) -> float | None:
        m = self.case(workload, size, executor, store)
        if m is None or m.med("busy_s") is None or not m.med("tasks"):
            return None
        return m.med("busy_s") / m.med("tasks") * 1e3  # type: ignore[operator]

    def peer_rows(self) -> list[dict[str, str]]:
        return self.peers.summary if self.peers is not None else []

    def peer(self, config: str, workload: str) -> dict[str, str] | None:
        for row in self.peer_rows():
            if row["config"] == config and row["workload"] == workload:
                return row
        return None


# ------------------------------------------------------------------------------ CSV
CSV_COLUMNS = [
    "source",
    "config",
    "workload",
    "size",
    "executor",
    "store",
    "tasks",
    "runs",
    "run_s",
    "plain_s",
    "overhead_ms_per_task",
    "busy_ms_per_task",
    "wall_s",
    "peak_rss_mb",
    "import_s",
    "setup_s",
    "trace_s",
    "show_s",
    "show_rss_mb",
    "ok",
]


def write_csv(results: Results, path: Path) -> None:
    """Medians per configuration, legato's and the peers', one row each."""
    rows: list[dict[str, Any]] = []
    for (workload, size, executor, store, _), m in results.cases.items():
        plain = results.run_s(workload, size, "plain")
        rows.append(
            {
                "source": "legato",
                "config": f"legato-{executor}" + ("" if executor == "plain" else f"-{store}"),
                "workload": workload,
                "size": size,
                "executor": executor,
                "store": "" if executor == "plain" else store,
                "tasks": m.med("tasks"),
                "runs": len(m.runs),
                "run_s": m.med("run_s"),
                "plain_s": plain,
                "overhead_ms_per_task": results.overhead_ms(workload, size, executor, store),
                "busy_ms_per_task": results.busy_ms(workload, size, executor, store),
                "wall_s": m.wall_s,
                "peak_rss_mb": m.peak_rss_mb,
                "import_s": m.med("import_s"),
                "setup_s": m.med("setup_s"),
                "trace_s": m.med("trace_s"),
                "show_s": m.med("show_s"),
                "show_rss_mb": m.med("show_rss_mb"),
                "ok": m.ok,
            }
        )
    for step, m in results.cache.items():
        rows.append(_simple_row("cache", f"legato-threads-sqlite-{step}", m, tasks=13))
    for name, m in results.startup.items():
        rows.append(_simple_row("startup", f"legato-{name}", m))
    for row in results.peer_rows():
        workload = row["workload"]
        rows.append(
            {
                "source": "peer",
                "config": row["config"],
                "workload": workload,
                "size": PEER_SIZES.get(workload, ""),
                "executor": row.get("mode", ""),
                "store": "durable" if row["config"] in DURABLE else "memory",
                "tasks": PEER_TASKS.get(workload, ""),
                "runs": row["n"],
                "run_s": row["run_s_med"],
                "plain_s": "",
                "overhead_ms_per_task": row["overhead_ms_per_task"],
                "busy_ms_per_task": "",
                "wall_s": row["wall_s_med"],
                "peak_rss_mb": row["peak_rss_mb_med"],
                "import_s": row["import_s_med"],
                "setup_s": row["setup_s_med"],
                "trace_s": "",
                "ok": row["all_ok"],
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(row.get(k)) for k in CSV_COLUMNS})


def _simple_row(
    workload: str, config: str, m: Measured, tasks: int | None = None
) -> dict[str, Any]:
    return {
        "source": "legato",
        "config": config,
        "workload": workload,
        "tasks": tasks,
        "runs": len(m.runs),
        "run_s": m.med("run_s"),
        "wall_s": m.wall_s,
        "peak_rss_mb": m.peak_rss_mb,
        "import_s": m.med("import_s"),
        "ok": m.ok,
    }


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


# ------------------------------------------------------------------------------ targets
@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One line of PRODUCT.md's table of numbers, and what was measured against it."""

    what: str
    target: str
    measured: str
    met: bool | None
    """None: not measured in this invocation."""


def targets(r: Results) -> list[Target]:
    """PRODUCT.md's targets, each with its measured figure."""
    out: list[Target] = []
    fans = [n for (w, n, e, s, _) in r.cases if w == "w2" and e == "threads" and s == "sqlite"]
    peer_fan = sorted(n for n in fans if n in (500, 10_000))
    threads = {n: r.overhead_ms("w2", n, "threads") for n in peer_fan}
    durable_peers = {
        row["config"]: float(row["overhead_ms_per_task"])
        for row in r.peer_rows()
        if row["workload"] == "w2" and row["config"] in DURABLE and row["overhead_ms_per_task"]
    }
    if threads and all(v is not None for v in threads.values()):
        worst = max(v for v in threads.values() if v is not None)
        figure = ", ".join(f"{_ms(v)} ({n:,} items)" for n, v in threads.items())
        met = worst <= 0.1
        if durable_peers:
            fastest, peer_ms = min(durable_peers.items(), key=lambda kv: kv[1])
            legato_500 = threads.get(500)
            factor = peer_ms / legato_500 if legato_500 else None
            figure += (
                f"; fastest durable peer on the 500-item fan-out: {fastest} {_ms(peer_ms)}"
                f" = {_x(factor)} legato's"
            )
            met = met and factor is not None and factor >= 10
        else:
            figure += "; no durable peer measured in this run"
        out.append(
            Target(
                what="durable overhead per task, threads (fan-outs)",
                target="≤ 0.1 ms and ≥ 10x below the fastest durable peer",
                measured=figure,
                met=met if durable_peers else None if met else False,
            )
        )
    procs = {n: r.overhead_ms("w2", n, "processes") for n in peer_fan}
    if procs and all(v is not None for v in procs.values()):
        worst = max(v for v in procs.values() if v is not None)
        out.append(
            Target(
                what="durable overhead per task, processes (fan-outs)",
                target="≤ 0.5 ms",
                measured=", ".join(f"{_ms(v)} ({n:,} items)" for n, v in procs.items()),
                met=worst <= 0.5,
            )
        )
    for size, seconds, mib in ((100_000, 30, 1000), (1_000_000, 100, 1500)):
        target = _size_target(r, size, seconds, mib)
        if target is not None:
            out.append(target)
    shown = _show_target(r, 1_000_000, 2.0)
    if shown is not None:
        out.append(shown)
    flat = []
    flat_met = True
    largest = 100_000
    for w in ("w2", "dag"):
        costs = {
            n: r.overhead_ms(w, n, "threads")
            for n in (1000, 10_000, 100_000, 1_000_000)
            if r.case(w, n, "threads") is not None
        }
        largest = max([largest, *costs])
        values = [v for v in costs.values() if v is not None and v > 0]
        if len(values) >= 2 and 100_000 in costs:
            spread = max(values) / min(values)
            flat.append(
                f"{_shape(w)} {' → '.join(_ms(v) for v in costs.values())} ({_x(spread)} spread)"
            )
            flat_met = flat_met and spread <= 1.5
    if flat:
        out.append(
            Target(
                what=f"cost per task flat from 1,000 to {largest:,} tasks (threads)",
                target="within 1.5x",
                measured="; ".join(flat),
                met=flat_met,
            )
        )
    first, unchanged = r.cache.get("first"), r.cache.get("unchanged")
    if first is not None and unchanged is not None:
        a, b = first.med("run_s"), unchanged.med("run_s")
        frac = b / a if a and b is not None else None
        out.append(
            Target(
                what="re-running the unchanged digits pipeline",
                target="≤ 5% of the first run",
                measured=f"{_s(b)} of {_s(a)} = {_pct(frac)}",
                met=frac is not None and frac <= 0.05,
            )
        )
    plain_w3 = r.run_s("w3", 0, "plain")
    w3 = {e: r.run_s("w3", 0, e) for e in EXECUTORS if r.case("w3", 0, e) is not None}
    if plain_w3 is not None and w3:
        parts = [f"{e} {_s(v)} ({_x(v / plain_w3 if v else None)})" for e, v in w3.items()]
        default = w3.get("threads")
        out.append(
            Target(
                what="digits pipeline (13 tasks, 4 models in parallel, all persisted)",
                target="faster than plain sequential Python",
                measured=f"plain {_s(plain_w3)}; " + ", ".join(parts) + " of plain",
                met=default is not None and default < plain_w3,
            )
        )
    out.append(_ray_target(r))
    hand = handoff_figures(r)
    if hand is not None:
        out.append(
            Target(
                what=f"passing a {_bytes(hand['size'])} array between tasks (processes)",
                target="≤ 1.5x writing and memory-mapping it once",
                measured=(
                    f"hand-off {_s(hand['handoff_s'])} vs np.save + mmap {_s(hand['reference_s'])}"
                    f" = {_x(hand['ratio'])}"
                ),
                met=hand["ratio"] is not None and hand["ratio"] <= 1.5,
            )
        )
    imp, helps = r.startup.get("import"), r.startup.get("help")
    if imp is not None and helps is not None:
        i, h = imp.med("import_s"), helps.wall_s
        out.append(
            Target(
                what="`import legato` / `legato --help`",
                target="≤ 100 ms / ≤ 300 ms",
                measured=f"{_ms1(i)} / {_ms1(h)} (whole process)",
                met=i is not None and h is not None and i <= 0.1 and h <= 0.3,
            )
        )
    cli = r.startup.get("cli_run")
    if cli is not None:
        out.append(
            Target(
                what="`legato run` of a 100-task chain, whole process",
                target="≤ 0.5 s",
                measured=f"{_s(cli.wall_s)}",
                met=cli.wall_s is not None and cli.wall_s <= 0.5,
            )
        )
    return out


def _ray_target(r: Results) -> Target:
    """The Ray executor's budgets, from the ``ray`` group's rows (one local cluster)."""
    what = "Ray executor overhead per task"
    target = "≤ raw Ray + 0.3 ms (no-op), + 0.5 ms per chain link; 1 GiB consumer start ≤ 1.2x raw"
    if not r.ray:
        return Target(
            what=what, target=target, measured="not measured in this run (`--only ray`)", met=None
        )
    parts = [_ray_part(row) for row in r.ray]
    return Target(
        what=what, target=target, measured="; ".join(parts), met=all(row.met for row in r.ray)
    )


def _ray_part(row: Any) -> str:
    """One ``ray_compare.Row`` in the Ray target's cell; the hand-off's legato figure is its
    gap less its own artifact write, or none (its note says why)."""
    if math.isnan(row.legato):
        return f"{row.measure}: {row.note}"
    what = " (gap less its own artifact write)" if row.measure == "handoff" else ""
    return (
        f"{row.measure}: legato{what} {row.legato:.3f} {row.unit}, raw Ray {row.raw:.3f} {row.unit}"
    )


def _size_target(r: Results, size: int, seconds: float, mib: float) -> Target | None:
    """The row of a ``size``-task pipeline (both shapes, threads, durable): met when each
    ran within ``seconds`` and ``mib`` of peak memory."""
    cases = [(w, r.case(w, size, "threads")) for w in ("w2", "dag")]
    cases = [(w, m) for w, m in cases if m is not None]
    if not cases:
        return None
    parts = []
    met = True
    for w, m in cases:
        run_s, rss = m.med("run_s"), m.peak_rss_mb
        parts.append(f"{_shape(w)}: {_s(run_s)}, {_mib(rss)}")
        met = met and run_s is not None and rss is not None and run_s <= seconds and rss <= mib
    return Target(
        what=f"{size:,}-task pipeline (threads, durable)",
        target=f"≤ {seconds} s and ≤ {mib / 1000:g} GB peak memory",
        measured="; ".join(parts),
        met=met,
    )


def _show_target(r: Results, size: int, seconds: float) -> Target | None:
    """``legato runs show`` of the ``size``-task runs (both shapes, threads, durable): met
    when each took ``seconds`` at most."""
    shown = [(w, m.med("show_s")) for w in ("w2", "dag") if (m := r.case(w, size, "threads"))]
    shown = [(w, s) for w, s in shown if s is not None]
    if not shown:
        return None
    return Target(
        what=f"`legato runs show` of a {size:,}-task run",
        target=f"< {seconds:g} s",
        measured="; ".join(f"{_shape(w)}: {_s(s)}" for w, s in shown),
        met=all(s is not None and s < seconds for _, s in shown),
    )


def handoff_figures(r: Results) -> dict[str, Any] | None:
    """The hand-off cost (legato's run - the time its tasks' functions ran in it) against
    ``np.save`` + ``np.load(mmap_mode="r")``, for the processes executor (and threads)."""
    sizes = [n for (w, n, e, _, _) in r.cases if w == "handoff" and e == "plain"]
    if not sizes:
        return None
    size = sizes[0]
    plain = r.case("handoff", size, "plain")
    legato = r.case("handoff", size, "processes")
    if plain is None or legato is None:
        return None
    compute, save, mmap = plain.med("compute_s"), plain.med("save_s"), plain.med("mmap_s")
    fsync, produce, consume = plain.med("fsync_s"), plain.med("produce_s"), plain.med("consume_s")
    run, tasks = legato.med("run_s"), legato.med("tasks_s")
    if None in (save, mmap, run, tasks):
        return None
    reference = save + mmap  # type: ignore[operator]
    handoff = _median_of(legato, "run_s", "tasks_s")
    threads = r.case("handoff", size, "threads")
    threads_run = threads.med("run_s") if threads is not None else None
    threads_tasks = threads.med("tasks_s") if threads is not None else None
    return {
        "size": size,
        "compute_s": compute,
        "first_compute_s": None if produce is None or consume is None else produce + consume,
        "save_s": save,
        "mmap_s": mmap,
        "fsync_s": fsync,
        "reference_s": reference,
        "run_s": run,
        "tasks_s": tasks,
        "handoff_s": handoff,
        "ratio": handoff / reference if handoff is not None and reference > 0 else None,
        "threads_run_s": threads_run,
        "threads_tasks_s": threads_tasks,
        "threads_handoff_s": _median_of(threads, "run_s", "tasks_s") if threads else None,
        "wall_s": legato.wall_s,
        "rss": legato.peak_rss_mb,
        "plain_rss": plain.peak_rss_mb,
    }


# ------------------------------------------------------------------------------ document
def write_doc(results: Results, path: Path, plot: Path) -> None:
    """``docs/benchmarks.md``: how it was measured, the targets, and every table."""
    plotted = _plot(results, plot)
    lines: list[str] = []
    add = lines.append
    add("# Benchmarks: legato beside the peers")
    add("")
    add(
        "Generated by `make bench` (`python benchmarks/run.py`): do not edit by hand. "
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.system()} "
        f"({results.sizes_note} sizes, {results.elapsed_s / 60:.0f} min in all). "
        "Every figure is the median of fresh processes (one unrecorded warm-up first for "
        "small configurations); every ratio compares figures of this one invocation."
    )
    if results.load:
        add("")
        add(
            "1-minute load average: "
            + " at the start, ".join(f"{v:.1f}" for v in results.load)
            + " at the end"
            + (
                f" (on {os.cpu_count()} CPUs: other work shared the machine, so absolute "
                "figures are slower than on an idle one; the ratios hold within this run)."
                if max(results.load) > (os.cpu_count() or 1)
                else "."
            )
        )
    add("")
    add(
        "**run s**: the first `legato.run` in a fresh process, tracing the pipeline included "
        "(peers: their first run in the process, their `run_s`). **overhead/task**: (run s "
        "- the same work in plain sequential Python) / tasks. **busy/task**: the "
        "orchestrator's own working time per task (`RunResult.busy`). **wall s**, **RSS**: "
        "the whole process from outside (start-up, imports, run, exit; `ru_maxrss` of the "
        "largest process). Legato runs are durable (every state change and output in SQLite "
        "under a fresh `LEGATO_HOME`) unless marked *memory* (`store=False`); before the "
        "timed run each process opens its store with a one-task run (`setup`, not in run s, "
        "in wall s), as the peers start their engines outside the run. Task bodies are the "
        "peers' `common.py` functions (`benchmarks/workloads.py`)."
    )
    add("")
    add("## Targets (PRODUCT.md)")
    add("")
    add("| what | target | measured | met? |")
    add("|---|---|---|---|")
    for t in targets(results):
        verdict = "not measured" if t.met is None else "**met**" if t.met else "**missed**"
        add(f"| {t.what} | {t.target} | {t.measured} | {verdict} |")
    add("")
    if results.peers is not None:
        _peer_tables(results, add)
    else:
        add("*Peers not run in this invocation (`--legato-only`).*")
        add("")
        _legato_tables(results, add, (("w1", 100), ("w2", 500), ("w3", 0)))
    _legato_tables(
        results,
        add,
        sorted(
            {(w, n) for (w, n, _, _, _) in results.cases if w in ("w1", "w2")}
            - {("w1", 100), ("w2", 500)}
        ),
        title="## Larger sizes (legato)",
    )
    _scale(results, add, plot if plotted else None)
    _cache(results, add)
    _handoff(results, add)
    _startup(results, add)
    if FINDINGS.is_file():  # written by hand: what profiles showed
        lines.extend(FINDINGS.read_text().rstrip().splitlines())
        add("")
    add("## Reproduce")
    add("")
    add("```sh")
    add("make bench                                   # everything, with the peers")
    add("make bench-quick                             # legato alone, sizes up to 10,000")
    add("python benchmarks/run.py --peers prefect,luigi --only w1,w2,w3")
    add("python benchmarks/server_budgets.py --quick  # the API's budgets alone")
    add("```")
    add("")
    add(
        "Per-run figures: `benchmarks/results/legato.csv` (legato) and "
        "`benchmarks/results/peers/raw.csv` (peers); medians of both: "
        "`benchmarks/results/results.csv`. The peers come from `../shared/bench/peers/` "
        "(`install.sh` puts each in its own virtualenv under `/tmp/peers`). Every measured "
        "process keeps Python's bytecode caches (in `legato-bench-pycache` under the "
        "temporary folder), as an installed legato has them, even where the environment "
        "turns them off (`PYTHONDONTWRITEBYTECODE`)."
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _peer_tables(r: Results, add: Any) -> None:
    peers = r.peers
    assert peers is not None
    add("## W1, W2, W3 beside the peers")
    add("")
    add(
        "W1: a chain of 100 tasks passing an int; W2: a source makes 500 items, one task "
        "per item, a reduce sums (502 tasks); W3: the digits pipeline (13 tasks, four models "
        "in parallel; legato persists every output). **x legato** divides the peer's figure "
        "by legato's (threads executor, durable): above 1, legato is faster. Airflow's CLI "
        "(`airflow dags test`) is left out: its figures match `dag.test()` in the peers' "
        "own summary and it would add minutes."
    )
    add("")
    if peers.missing:
        for name, why in sorted(peers.missing.items()):
            add(f"- *{name}: left out — {why}*")
        add("")
    for workload, title in (
        ("w1", "W1 chain, 100 tasks"),
        ("w2", "W2 fan-out, 502 tasks"),
        ("w3", "W3 digits, 13 tasks"),
    ):
        size = PEER_SIZES[workload]
        ref = r.case(workload, size, "threads")
        if ref is None:
            continue
        ref_ovh = r.overhead_ms(workload, size, "threads")
        ref_run, ref_wall = ref.med("run_s"), ref.wall_s
        add(f"### {title}")
        add("")
        add(
            _row("configuration", "state", "run s", "overhead/task", "x legato", "wall s")[:-1]
            + "| x legato | RSS MiB |"
        )
        add("|---|---|--:|--:|--:|--:|--:|--:|")
        for store in ("sqlite", "none"):
            for executor in (*EXECUTORS, "plain"):
                if executor == "plain" and store == "none":
                    continue
                m = r.case(workload, size, executor, store)
                if m is None:
                    continue
                state = "—" if executor == "plain" else "durable" if store == "sqlite" else "memory"
                name = (
                    "plain Python (legato's venv)" if executor == "plain" else f"legato {executor}"
                )
                ovh = (
                    r.overhead_ms(workload, size, executor, store) if executor != "plain" else None
                )
                add(
                    f"| {name} | {state} | {_f(m.med('run_s'))} | {_ms(ovh)} | | "
                    f"{_f(m.wall_s, 2)} | | {_f(m.peak_rss_mb, 0)} |"
                )
        for row in sorted(
            (row for row in peers.summary if row["workload"] == workload),
            key=lambda row: _num(row["overhead_ms_per_task"]) or _num(row["wall_s_med"]) or 0,
        ):
            state = "durable" if row["config"] in DURABLE else "memory"
            if row["config"] == "baseline":
                state = "—"
            ovh, run = _num(row["overhead_ms_per_task"]), _num(row["run_s_med"])
            wall = _num(row["wall_s_med"])
            ratio = _div(ovh, ref_ovh) if workload != "w3" else _div(run, ref_run)
            flag = "" if row.get("all_ok") == "True" else " (failed)"
            add(
                f"| {row['config']}{flag} | {state} | {_f(run)} | {_ms(ovh)} | "
                f"{_x(ratio) if run is not None and row['config'] != 'baseline' else ''} | "
                f"{_f(wall, 2)} | {_x(_div(wall, ref_wall))} | "
                f"{_f(_num(row['peak_rss_mb_med']), 0)} |"
            )
        if workload == "w3":
            add("")
            add("For W3 the first x legato column divides run times, not overheads.")
        add("")


def _legato_tables(
    r: Results, add: Any, sizes: Iterable[tuple[str, int]], title: str = "## W1, W2, W3 (legato)"
) -> None:
    sizes = [s for s in sizes if r.case(s[0], s[1], "plain") is not None]
    if not sizes:
        return
    add(title)
    add("")
    add(
        _row("workload", "executor", "state", "tasks", "run s", "plain s", "overhead/task")[:-1]
        + "| busy/task | wall s | RSS MiB |"
    )
    add("|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for workload, size in sizes:
        plain = r.run_s(workload, size, "plain")
        for store in ("sqlite", "none"):
            for executor in EXECUTORS:
                m = r.case(workload, size, executor, store)
                if m is None:
                    continue
                add(
                    f"| {workload} {size or ''}".rstrip() + f" | {executor} | "
                    f"{'durable' if store == 'sqlite' else 'memory'} | {_f(m.med('tasks'), 0)} | "
                    f"{_f(m.med('run_s'))} | {_f(plain)} | "
                    f"{_ms(r.overhead_ms(workload, size, executor, store))} | "
                    f"{_ms(r.busy_ms(workload, size, executor, store))} | {_f(m.wall_s, 2)} | "
                    f"{_f(m.peak_rss_mb, 0)} |"
                )
    add("")


def _scale(r: Results, add: Any, plot: Path | None) -> None:
    sizes = sorted({n for (w, n, e, _, _) in r.cases if w == "dag" and e == "plain"})
    if not sizes:
        return
    add(f"## Scale: {sizes[0]:,} to {sizes[-1]:,} tasks")
    add("")
    add(
        "Fan-out (W2 at larger sizes) and a random DAG in layers of 100 tasks, each reading "
        "1-3 tasks of the layer before, plus a reduce (`benchmarks/workloads.py`); durable. "
        "**growth**: cost per task at this size ÷ at the smallest size. **show s**: "
        "`legato runs show` of the run (a fresh process; from 100,000 tasks)."
    )
    add("")
    if plot is not None:
        add(f"![per-task cost against pipeline size]({plot.name})")
        add("")
    add(
        _row("shape", "tasks", "executor", "run s", "trace s", "overhead/task", "busy/task")[:-1]
        + "| growth | peak RSS MiB | show s |"
    )
    add("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|")
    for w in ("w2", "dag"):
        for executor in EXECUTORS:
            base = None
            for n in sizes:
                m = r.case(w, n, executor)
                if m is None:
                    continue
                ovh = r.overhead_ms(w, n, executor)
                base = base if base is not None else ovh
                add(
                    f"| {_shape(w)} | {_f(m.med('tasks'), 0)} | {executor} | "
                    f"{_f(m.med('run_s'), 2)} | "
                    f"{_f(m.med('trace_s'), 2)} | {_ms(ovh)} | {_ms(r.busy_ms(w, n, executor))} | "
                    f"{_x(_div(ovh, base))} | {_f(m.peak_rss_mb, 0)} | "
                    f"{_f(m.med('show_s'), 2)} |"
                )
    add("")


def _cache(r: Results, add: Any) -> None:
    if not r.cache:
        return
    first = r.cache.get("first")
    add("## Cache: the digits pipeline run again")
    add("")
    add(
        "W3 with one task per model branch (`w3_branches`, threads, durable), three processes "
        "sharing one `LEGATO_HOME`: the first run, the same file run again, then the file "
        "with one model's code edited (k-NN with 3 neighbours instead of 5)."
    )
    add("")
    add("| run | run s | of first | wall s | of first | tasks run | cache hits |")
    add("|---|--:|--:|--:|--:|---|--:|")
    for step, m in r.cache.items():
        ran = m.runs[-1].bench.get("ran", []) if m.runs else []
        shown = f"all {len(ran)}" if len(ran) == m.med("tasks") else ", ".join(ran) or "none"
        add(
            f"| {step} | {_f(m.med('run_s'))} | "
            f"{_pct(_div(m.med('run_s'), first.med('run_s') if first else None))} | "
            f"{_f(m.wall_s, 2)} | {_pct(_div(m.wall_s, first.wall_s if first else None))} | "
            f"{shown} | {_f(m.med('hits'), 0)} |"
        )
    add("")


def _median_of(measured: Measured, total: str, part: str) -> float | None:
    """The median over the runs of ``total - part``, each run's own difference (a run's
    parts share whatever the machine was doing meanwhile)."""
    pairs = ((r.bench.get(total), r.bench.get(part)) for r in measured.runs)
    return median(a - b for a, b in pairs if isinstance(a, float) and isinstance(b, float))


def _handoff(r: Results, add: Any) -> None:
    h = handoff_figures(r)
    if h is None:
        return
    add(f"## Data passing: a {_bytes(h['size'])} array from one task to the next")
    add("")
    add(
        "`produce` builds a float64 array, `consume` reads one value per 8 KiB of it. The "
        "reference writes it once with `np.save` and maps it back with "
        "`np.load(mmap_mode='r')` (no checksum, no fsync). **hand-off** = legato's run - the "
        "time its two tasks' functions ran in it (`ran_for`: the producer's first touches "
        "of its array's memory included; the consumer's includes loading its input, a "
        "stamp check and a memory map of a few milliseconds), the median of each run's "
        "difference. Each measurement starts after `os.sync()` and a pause of "
        "`case.SETTLE_S` seconds, so that no run writes into memory the run before it just "
        "freed (on a virtual machine that gives memory free for 2 s back to its host, that "
        "memory costs ten times less to touch again: `_settle` in `benchmarks/case.py`). "
        "Legato's hand-off is "
        "durable and checked: the producer hashes the array as it writes it, fsyncs the "
        "file and its folder before its success is committed, and the consumer maps the "
        "file, checked by the stamp its writer noted (same machine and boot) instead of "
        "hashed again ([durability](durability.md)); the fsync of the reference's file is "
        "timed apart, as what durability adds."
    )
    add("")
    add("| | seconds |")
    add("|---|--:|")
    if h["first_compute_s"] is not None:
        add(f"| produce + consume, the reference's run | {_f(h['first_compute_s'])} |")
    if h["compute_s"] is not None:
        add(f"| produce + consume again, memory just freed | {_f(h['compute_s'])} |")
    add(f"| np.save | {_f(h['save_s'])} |")
    add(f"| np.load(mmap_mode='r') | {_f(h['mmap_s'])} |")
    if h["fsync_s"] is not None:
        add(f"| fsync of the saved file (not in the reference) | {_f(h['fsync_s'])} |")
    add(f"| legato processes: run | {_f(h['run_s'])} |")
    add(f"| legato processes: its tasks' functions | {_f(h['tasks_s'])} |")
    add(f"| legato processes: hand-off | {_f(h['handoff_s'])} ({_x(h['ratio'])} np.save + mmap) |")
    if h["threads_run_s"] is not None:
        add(f"| legato threads: run | {_f(h['threads_run_s'])} |")
        add(f"| legato threads: its tasks' functions | {_f(h['threads_tasks_s'])} |")
        add(
            f"| legato threads: hand-off | {_f(h['threads_handoff_s'])} "
            f"({_x(_div(h['threads_handoff_s'], h['reference_s']))} np.save + mmap) |"
        )
    add("")
    add(f"Peak RSS: legato processes {_mib(h['rss'])}, the plain script {_mib(h['plain_rss'])}.")
    add("")


def _startup(r: Results, add: Any) -> None:
    if not r.startup:
        return
    add("## Start-up")
    add("")
    add("| command | in-process import | wall s | RSS MiB |")
    add("|---|--:|--:|--:|")
    names = {
        "python": "`python -c pass`",
        "import": "`python -c 'import legato'`",
        "help": "`legato --help`",
        "cli_run": "`legato run benchmarks/cli_chain.py:chain` (100 tasks, fresh store)",
    }
    for key, m in r.startup.items():
        add(
            f"| {names.get(key, key)} | {_ms1(m.med('import_s'))} | {_f(m.wall_s, 3)} | "
            f"{_f(m.peak_rss_mb, 0)} |"
        )
    imports = [row for row in r.peer_rows() if row["workload"] == "import"]
    for row in sorted(imports, key=lambda row: _num(row["import_s_med"]) or 0):
        add(
            f"| peer: `import {row['mode'].removeprefix('import ')}` | "
            f"{_ms1(_num(row['import_s_med']))} | {_f(_num(row['wall_s_med']), 3)} | "
            f"{_f(_num(row['peak_rss_mb_med']), 0)} |"
        )
    w1 = [row for row in r.peer_rows() if row["workload"] == "w1" and row["config"] != "baseline"]
    if w1 and "cli_run" in r.startup:
        add("")
        add(
            "The 100-task chain as a whole process, for comparison: "
            + ", ".join(
                f"{row['config']} {_f(_num(row['wall_s_med']), 2)} s"
                for row in sorted(w1, key=lambda row: _num(row["wall_s_med"]) or 0)
            )
            + f"; legato (`legato run`) {_f(r.startup['cli_run'].wall_s, 2)} s."
        )
    add("")


def _plot(r: Results, path: Path) -> bool:
    """Per-task cost against pipeline size (log-log); False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot")
        return False
    fig, ax = plt.subplots(figsize=(10, 5))
    drawn = False
    styles = {"inline": "o", "threads": "s", "processes": "^"}
    colors = {"inline": "tab:blue", "threads": "tab:green", "processes": "tab:red"}
    for w, dash in (("w2", "-"), ("dag", "--")):
        sizes = sorted(
            {n for (wl, n, e, _, _) in r.cases if wl == w and e == "plain" and n >= 1000}
        )
        for executor in EXECUTORS:
            points = [
                (r.case(w, n, executor).med("tasks"), r.overhead_ms(w, n, executor))  # type: ignore[union-attr]
                for n in sizes
                if r.case(w, n, executor) is not None
            ]
            points = [(x, y) for x, y in points if x and y and y > 0]
            if len(points) >= 2:
                xs, ys = zip(*points, strict=True)
                ax.plot(
                    xs,
                    ys,
                    dash,
                    marker=styles[executor],
                    color=colors[executor],
                    label=f"legato {executor}, {_shape(w)}",
                )
                drawn = True
    for row in r.peer_rows():
        ovh = _num(row["overhead_ms_per_task"])
        if row["workload"] == "w2" and ovh and ovh > 0 and row["config"] != "baseline":
            ax.scatter([502], [ovh], marker="x", color="grey")
            ax.annotate(
                row["config"], (502, ovh), fontsize=7, xytext=(4, 0), textcoords="offset points"
            )
            drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tasks in the pipeline")
    ax.set_ylabel("overhead per task (ms), durable")
    ax.set_title("legato: per-task cost against pipeline size (peers: W2, 502 tasks)")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ------------------------------------------------------------------------------ formatting
def _row(*cells: str) -> str:
    """A markdown table row."""
    return "| " + " | ".join(cells) + " |"


def _num(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        return None


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _f(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.3f} ms" if abs(value) < 10 else f"{value:.1f} ms"


def _ms1(value: float | None) -> str:
    return "" if value is None else f"{value * 1e3:.0f} ms"


def _x(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} MiB"


def _bytes(n: int) -> str:
    return f"{n / 2**30:g} GiB" if n >= 2**30 else f"{n / 2**20:g} MiB"


def _shape(workload: str) -> str:
    return {"w2": "fan-out", "dag": "random DAG"}.get(workload, workload)
