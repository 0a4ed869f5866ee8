"""The web UI at scale, in a real Chromium against a real ``legato ui`` over a seeded store:

- a run page of a 100,000-task run (a map of 100,000 items): the time from opening its URL
  until the graph shows every item's state (the group node's counts: interactive), and the
  DOM nodes the page holds then, and with the map's item list open in the drawer;
- a task log of 1,000,000 lines: the time from opening the task's drawer until the log's
  last line is shown (it opens at its tail);
- with ``--grid``: the runs grid of the latest 25 runs x 1,000 tasks, from opening it until
  every run's tasks are in (the time and the DOM nodes).

Budgets (docs/ui.md): the run page interactive < 2 s with <= 2,000 DOM nodes; the log's tail
< 1 s; the grid < 1 s. The store is seeded by real runs (threads executor), which takes
minutes at full size:

    python benchmarks/ui_scale.py [--items 100000] [--lines 1000000] [--keep DIR] [--grid]
        [--repeat 3]

Needs Debian's chromium (/usr/bin/chromium) and Playwright for Python (the dev extra). Never
run by ``make test``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ROOT / "benchmarks" / "ui_pipelines.py"
CHROMIUM = "/usr/bin/chromium"
sys.path.insert(0, str(ROOT / "tests"))

from server.processes import UiProcess  # noqa: E402  (the tests' real-process helper)


def record(home: Path, target: str, *params: str) -> str:
    """A real run of ``target`` in ``home``; its id."""
    env = dict(os.environ, LEGATO_HOME=str(home))
    args = [a for p in params for a in ("-p", p)]
    done = subprocess.run(
        [sys.executable, "-m", "legato.cli", "run", target, "-e", "threads", "--no-logs", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for word in done.stdout.split():
        if len(word) == 20 and word.startswith("01"):
            return word
    raise SystemExit(f"legato run {target} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")


def dom_nodes(page: Any) -> int:
    return int(page.evaluate("document.getElementsByTagName('*').length"))


def measure(
    url: str, login: str, *, wide: str, items: int, chatty: str, lines: int, grid: int
) -> dict[str, float]:
    """The run page, the log and (``grid`` times, the median) the grid, each from opening
    it until it is drawn; then the map's item list."""
    from playwright.sync_api import sync_playwright  # the dev extra

    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            viewport={"width": 1440, "height": 900},
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        page = browser.new_page()
        page.set_default_timeout(120_000)
        page.goto(login)
        page.goto(f"{url}/runs")  # warm: the app's files cached, as a user has them
        start = time.perf_counter()
        page.goto(f"{url}/runs/{wide}")
        page.locator(".gmap", has_text=f"{items:,} succeeded".replace(",", "")).wait_for()
        page.locator(".gnode[data-state='succeeded']", has_text="total").wait_for()
        found["run page interactive s"] = time.perf_counter() - start
        found["run page DOM nodes"] = dom_nodes(page)
        # before the item list: its replay keeps the server busy after the page is left
        start = time.perf_counter()
        page.goto(f"{url}/runs/{chatty}?task=chatter")
        page.get_by_test_id("log").filter(has_text=f"line {lines - 1} of the log").wait_for()
        found["1M-line log tail s"] = time.perf_counter() - start
        found["with log DOM nodes"] = dom_nodes(page)
        if grid:
            times = []
            for _ in range(grid):
                page.goto(f"{url}/runs")
                start = time.perf_counter()
                page.goto(f"{url}/runs?view=grid")
                # every row drawn, each with its first cell (a page of columns at once)
                page.locator(".grid-row").nth(GRID_RUNS - 1).locator(".cell").first.wait_for()
                times.append(time.perf_counter() - start)
            print(f"grid: {[round(t, 3) for t in times]}")
            found[f"grid {GRID_RUNS} runs x {GRID_TASKS} tasks s"] = statistics.median(times)
            found["with grid DOM nodes"] = dom_nodes(page)
        page.goto(f"{url}/runs/{wide}")
        start = time.perf_counter()
        page.locator(".gmap").click()
        page.locator(".item-row").first.wait_for()
        found["item list open s"] = time.perf_counter() - start
        found["with item list DOM nodes"] = dom_nodes(page)
        browser.close()
    return found


GRID_RUNS = 25
GRID_TASKS = 1000
"""The grid measured with ``--grid``: the latest 25 runs of a map of 998 items."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument(
        "--keep", type=Path, default=None, help="seed this home, or reuse the runs it has"
    )
    parser.add_argument(
        "--grid",
        action="store_true",
        help=f"also the grid of {GRID_RUNS} runs x {GRID_TASKS} tasks",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="how many times the grid is opened (the median)"
    )
    args = parser.parse_args()
    home = args.keep or Path(tempfile.mkdtemp(prefix="legato-ui-scale-"))
    home.mkdir(parents=True, exist_ok=True)
    seeded = home / "ui-scale-runs.txt"  # a second run would be a cache hit: no log
    if seeded.exists():
        wide, chatty = seeded.read_text().split()
    else:
        t0 = time.perf_counter()
        wide = record(home, f"{PIPELINES}:wide", f"n={args.items}")
        chatty = record(home, f"{PIPELINES}:chatty", f"lines={args.lines}")
        seeded.write_text(f"{wide} {chatty}\n")
        print(f"seeded {home} in {time.perf_counter() - t0:.0f} s: runs {wide}, {chatty}")
    gridded = home / "ui-scale-grid.txt"
    if args.grid and not gridded.exists():
        for _ in range(GRID_RUNS):  # the latest runs: the grid's rows
            record(home, f"{PIPELINES}:wide", f"n={GRID_TASKS - 2}")
        gridded.write_text("seeded\n")
    ui = UiProcess("--pipeline", f"{PIPELINES}:wide", home=home).wait_ready()
    try:
        results = measure(
            ui.url,
            ui.login,
            wide=wide,
            items=args.items,
            chatty=chatty,
            lines=args.lines,
            grid=args.repeat if args.grid else 0,
        )
    finally:
        ui.stop()
    for name, value in results.items():
        print(f"{name:28} {value:10.3f}" if name.endswith(" s") else f"{name:28} {value:10.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
