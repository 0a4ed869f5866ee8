"""The web UI's compare page at scale, in a real Chromium against a real ``legato ui``: 200
runs x 50 metrics (100 steps each), from opening ``/compare?run=...`` until the table holds
every metric's row (the page interactive), and until the first chart (the first metric's
200 curves) is drawn; the DOM nodes the page holds once its default charts are drawn.

Budget (docs/ui.md): < 2 s. The store is the API budgets' seeded SQLite store (its ``sweep``
runs, seeded through the store's own writes by ``benchmarks/api_store.py`` and kept under
``/tmp/legato-api-bench``; seeded here when absent, which takes minutes):

    python benchmarks/ui_compare.py [--repeat 3]

Needs Debian's chromium (/usr/bin/chromium) and Playwright for Python (the dev extra). Never
run by ``make test``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks import api_store  # noqa: E402  (the API budgets' seeded stores)
from benchmarks.server_budgets import FULL  # noqa: E402
from server.processes import UiProcess  # noqa: E402  (the tests' real-process helper)

METRICS_SHOWN = 50


def measure(
    url: str, login: str, run_ids: list[str], repeat: int
) -> tuple[list[float], list[float], int]:
    """Seconds from opening the compare page of ``run_ids`` until every metric's row is
    drawn, and until the first chart is, ``repeat`` times (the app's files cached, as a
    user has them); the DOM nodes once the default charts are drawn."""
    from playwright.sync_api import sync_playwright  # the dev extra

    query = "&".join(f"run={run_id}" for run_id in run_ids)
    times, charts = [], []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            viewport={"width": 1440, "height": 900},
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        page: Any = browser.new_page()
        page.set_default_timeout(120_000)
        page.goto(login)
        page.goto(f"{url}/runs")
        for _ in range(repeat):
            page.goto(f"{url}/runs")
            start = time.perf_counter()
            page.goto(f"{url}/compare?{query}")
            last = f"m{METRICS_SHOWN - 1:02d}"
            page.get_by_test_id("compare").locator("tr", has_text=last).first.wait_for()
            times.append(time.perf_counter() - start)
            page.locator(".chart canvas").first.wait_for()
            charts.append(time.perf_counter() - start)
        page.locator(".chart.loading").first.wait_for(state="detached")
        nodes = int(page.evaluate("document.getElementsByTagName('*').length"))
        browser.close()
    return times, charts, nodes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    seeded = api_store.open_seeded("sqlite", FULL, Path("/tmp/legato-api-bench/full"))
    if seeded is None:
        raise SystemExit("the seeded SQLite store could not be opened")
    run_ids = list(seeded.sweep.run_ids)
    home = Path(seeded.env["LEGATO_HOME"])
    ui = UiProcess(home=home).wait_ready()
    try:
        times, charts, nodes = measure(ui.url, ui.login, run_ids, args.repeat)
    finally:
        ui.stop()
    print(f"compare {len(run_ids)} runs x {METRICS_SHOWN} metrics: ", end="")
    print(f"median {statistics.median(times):.3f} s of {[round(t, 3) for t in times]}")
    print(f"first chart drawn: median {statistics.median(charts):.3f} s of ", end="")
    print([round(t, 3) for t in charts])
    print(f"DOM nodes: {nodes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
