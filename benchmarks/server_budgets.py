"""The API's budgets, measured through real HTTP against ``legato ui`` on seeded stores.

    python benchmarks/server_budgets.py [--quick] [--stores sqlite,postgresql] [--repeat 7]
        [--out benchmarks/results] [--doc docs/benchmarks.md] [--cache /tmp/legato-api-bench]
        [--only compare,...]

``make bench`` runs it as its ``api`` group (``--quick`` for ``make bench-quick``).

Each store is seeded once (:mod:`benchmarks.api_seed`, through the run store's own write
API) and kept under ``--cache`` (a PostgreSQL store in its own database, ``legato_bench_*``
on the server of ``LEGATO_TEST_POSTGRES_URL``, skipped when it does not answer). Then a
real ``legato ui`` process serves it on a loopback port and an httpx client asks each
request ``--repeat`` times after one unrecorded first call (kept apart as ``first``: a
server's first answer of a kind, before anything is warm). Each figure is the median of the
repeats, the time from sending the request to having read the whole answer, set beside its
budget. Every answer is checked against what was seeded, so an empty store or a wrong
answer fails the benchmark instead of measuring nothing.

Writes ``api.csv`` under ``--out`` and the *API budgets* section of ``--doc`` (not with
``--only``, which measures only the budgets it names: the section shows every budget).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `benchmarks` is a package of the root
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchmarks.api_store import SeededStore, open_seeded  # noqa: E402

SECTION = "## API budgets"


@dataclass(frozen=True, slots=True, kw_only=True)
class Sizes:
    """The seeded shapes: runs in the list, tasks of the big run, log lines, compared runs
    and their metrics."""

    runs: int
    items: int
    lines: int
    compared: int
    metrics: int
    steps: int


FULL = Sizes(runs=10_000, items=100_000, lines=1_000_000, compared=200, metrics=50, steps=100)
QUICK = Sizes(runs=2_000, items=20_000, lines=200_000, compared=200, metrics=50, steps=20)


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One request's figures."""

    store: str
    budget: str
    request: str
    size: str
    budget_ms: float
    median_ms: float
    first_ms: float
    max_ms: float
    bytes: int
    problem: str = ""
    """What was wrong with the answer (then nothing was measured)."""

    @property
    def met(self) -> bool:
        return not self.problem and self.median_ms < self.budget_ms


Check = Callable[[Any], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ask:
    """A request, its budget and what its answer must show."""

    budget: str
    request: str
    size: str
    budget_ms: float
    path: str
    check: Check


def asks(seeded: SeededStore, sizes: Sizes) -> list[Ask]:
    """Every request measured, against ``seeded``."""
    big, log, sweep = seeded.map_run, seeded.log_run, seeded.sweep
    big_id, log_id = big.run_ids[0], log.run_ids[0]
    listed = f"{sizes.runs:,} runs"

    def page(min_rows: int, **want: object) -> Check:
        def check(body: Any) -> None:
            got = body["runs"]
            _expect(len(got) >= min_rows, f"a page of {len(got)} runs, wanted {min_rows}")
            for r in got:
                for field, value in want.items():
                    _expect(r[field] == value, f"run {r['run_id']}: {field} {r[field]!r}")

        return check

    def detail(body: Any) -> None:
        counted = sum(body["task_counts"].values())
        _expect(counted == big.tasks, f"task_counts sum to {counted}, not {big.tasks}")

    def graph(body: Any) -> None:
        mapped = [n for n in body["nodes"] if n["mapped"]]
        _expect(len(mapped) == 1, f"{len(mapped)} mapped nodes")
        items = sum(mapped[0]["items"].values())
        _expect(items == sizes.items, f"the map counts {items} items, not {sizes.items}")
        _expect(len(body["edges"]) >= 3, f"{len(body['edges'])} edges")

    def tail(body: Any) -> None:
        _expect(body["size"] == log.log_bytes, f"size {body['size']}, not {log.log_bytes}")
        _expect(body["end"] == body["size"], "the window is not the tail")
        _expect(len(body["text"].encode()) > 1_000_000 - 200, "the window is not 1 MiB")

    def compared(body: Any) -> None:
        _expect(len(body["rows"]) == sizes.compared, f"{len(body['rows'])} rows")
        metric_columns = [c for c in body["columns"] if c.startswith("metric.")]
        _expect(len(metric_columns) == sizes.metrics, f"{len(metric_columns)} metrics")
        _expect(body["rows"][0]["metric.m00"] is not None, "no value for m00")

    rid = "&".join(f"run={r}" for r in sweep.run_ids[: sizes.compared])
    return [
        Ask(budget="runs list", request="first page", size=listed, budget_ms=100,
            path="/api/v1/runs", check=page(50)),
        Ask(budget="runs list", request="pipeline and state", size=listed, budget_ms=100,
            path="/api/v1/runs?pipeline=train&state=succeeded",
            check=page(50, pipeline="train", state="succeeded")),
        Ask(budget="runs list", request="sorted by a metric", size=listed, budget_ms=100,
            path="/api/v1/runs?sort=accuracy", check=page(50)),
        Ask(budget="runs list", request="filtered and sorted by a metric", size=listed,
            budget_ms=100, path="/api/v1/runs?pipeline=train&state=succeeded&sort=accuracy",
            check=page(50, pipeline="train", state="succeeded")),
        Ask(budget="big run", request="detail", size=f"{big.tasks:,} tasks", budget_ms=1000,
            path=f"/api/v1/runs/{big_id}", check=detail),
        Ask(budget="big run", request="graph", size=f"{big.tasks:,} tasks", budget_ms=1000,
            path=f"/api/v1/runs/{big_id}/graph", check=graph),
        Ask(budget="log tail", request="tail (1 MiB)", size=f"{log.lines:,} lines",
            budget_ms=200, path=f"/api/v1/runs/{log_id}/logs?task=train", check=tail),
        Ask(budget="compare", request="compare", budget_ms=1000,
            size=f"{sizes.compared} runs x {sizes.metrics} metrics x {sizes.steps} steps",
            path=f"/api/v1/compare?{rid}", check=compared),
    ]  # fmt: skip


class BudgetError(AssertionError):
    """An answer that does not show what was seeded."""


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise BudgetError(what)


class UiServer:
    """``legato ui`` on a free loopback port, serving the store ``env`` names."""

    def __init__(self, env: dict[str, str]) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "legato.cli", "ui", "--port", str(self.port)],
            env=env,
            cwd=ROOT,  # where the seeded map run's pipeline file is found
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"legato ui exited: {self.process.communicate()[1]}")
        self.token = line.strip().partition("token=")[2]
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def measure(seeded: SeededStore, sizes: Sizes, repeat: int, only: Sequence[str] = ()) -> list[Row]:
    """Each request of :func:`asks` (of the budgets ``only`` names, when it names any)
    against a ``legato ui`` over ``seeded``."""
    server = UiServer(seeded.env)
    rows = []
    try:
        headers = {"Authorization": f"Bearer {server.token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
            _ready(client)
            for ask in asks(seeded, sizes):
                if only and ask.budget not in only:
                    continue
                rows.append(_measured(client, ask, seeded.backend, repeat))
                _print(rows[-1])
    finally:
        server.stop()
    return rows


def _measured(client: httpx.Client, ask: Ask, backend: str, repeat: int) -> Row:
    """``ask`` asked ``repeat`` times after a first time, its answer checked."""
    times, size, problem = [], 0, ""
    try:
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            answer = client.get(ask.path)
            body = answer.read()
            times.append(time.perf_counter() - t0)
            if answer.status_code != 200:
                raise BudgetError(f"answered {answer.status_code}: {body[:200].decode()}")
            size = len(body)
        ask.check(json.loads(body))
    except BudgetError as exc:
        problem = str(exc)
    nan = float("nan")
    return Row(
        store=backend,
        budget=ask.budget,
        request=ask.request,
        size=ask.size,
        budget_ms=ask.budget_ms,
        median_ms=1000 * statistics.median(times[1:]) if len(times) > 1 else nan,
        first_ms=1000 * times[0] if times else nan,
        max_ms=1000 * max(times[1:]) if len(times) > 1 else nan,
        bytes=size,
        problem=problem,
    )


def _ready(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("legato ui did not answer within 30 s")


def _print(row: Row) -> None:
    verdict = "ok" if row.met else "MISSED"
    print(
        f"{row.store:<10} {row.budget:<10} {row.request:<32} {row.median_ms:9.1f} ms"
        f"  (first {row.first_ms:8.1f}, max {row.max_ms:8.1f})  budget {row.budget_ms:6.0f} ms"
        f"  {verdict} {row.problem}",
        flush=True,
    )


def run(
    *,
    quick: bool,
    stores: Sequence[str],
    repeat: int,
    cache: Path,
    out: Path,
    doc: Path | None,
    only: Sequence[str] = (),
) -> list[Row]:
    """Seed (or reuse) each store, measure it, write the CSV and the section."""
    sizes = QUICK if quick else FULL
    rows: list[Row] = []
    for backend in stores:
        seeded = open_seeded(backend, sizes, cache / ("quick" if quick else "full"))
        if seeded is None:
            print(f"{backend}: not measured (no server answers)", flush=True)
            continue
        rows += measure(seeded, sizes, repeat, only)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "api.csv")
    if doc is not None and doc.is_file() and not only:
        write_section(doc, section(rows, quick=quick, repeat=repeat))
    return rows


def write_csv(rows: Sequence[Row], path: Path) -> None:
    """``rows`` as CSV, one line per store and request."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        fields = [*Row.__dataclass_fields__, "met"]
        writer.writerow(fields)
        for row in rows:
            values = asdict(row)
            writer.writerow([*(_cell(values[k]) for k in fields[:-1]), row.met])


def _cell(value: object) -> object:
    return round(value, 2) if isinstance(value, float) else value


def section(rows: Sequence[Row], *, quick: bool, repeat: int) -> list[str]:
    """The *API budgets* section of ``docs/benchmarks.md``."""
    lines = [
        SECTION,
        "",
        f"`legato ui` as a real process, asked over loopback HTTP (httpx) on stores seeded "
        f"through the run store's own write API ({'quick' if quick else 'full'} sizes; "
        f"`benchmarks/server_budgets.py`). **median**: of {repeat} requests after a first "
        "one (**first**: the server's first answer of that kind), from sending the request "
        "to having read the whole answer. Measured "
        f"{time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} CPUs, 1-minute load "
        f"average {os.getloadavg()[0]:.1f} at the end (other work shared the machine when it "
        "exceeds the CPUs: figures are then slower than on an idle one).",
        "",
        "| store | budget | request | seeded | median | first | budget | met? |",
        "|---|---|---|---|--:|--:|--:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.store} | {r.budget} | {r.request} | {r.size} | {r.median_ms:.1f} ms "
            f"| {r.first_ms:.1f} ms | < {r.budget_ms:.0f} ms "
            f"| {'**met**' if r.met else '**missed**'}{': ' + r.problem if r.problem else ''} |"
        )
    if not rows:
        lines.append("| | not measured | | | | | | |")
    return [*lines, ""]


def write_section(doc: Path, lines: Sequence[str]) -> None:
    """Put ``lines`` in ``doc`` in place of its *API budgets* section, or before its
    *Reproduce* section when it has none."""
    old = doc.read_text().splitlines()
    if SECTION in old:
        start = old.index(SECTION)
        end = next((i for i in range(start + 1, len(old)) if old[i].startswith("## ")), len(old))
    else:
        start = end = next((i for i, t in enumerate(old) if t == "## Reproduce"), len(old))
    doc.write_text("\n".join([*old[:start], *lines, *old[end:]]) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller stores (a few minutes)")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/legato-api-bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--only", default="", help="measure only these budgets (e.g. compare); no doc section"
    )
    args = parser.parse_args(argv)
    rows = run(
        quick=args.quick,
        stores=[s for s in args.stores.split(",") if s],
        repeat=args.repeat,
        cache=args.cache,
        out=args.out,
        doc=args.doc,
        only=[b for b in args.only.split(",") if b],
    )
    return 0 if rows and all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["FULL", "QUICK", "Row", "Sizes", "main", "run"]
