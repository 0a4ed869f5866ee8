"""The runs list and the run page in a real browser against a real ``legato ui``: signing
in, a failed task's traceback and log, a run started from the pipelines page whose graph
turns green live (the README's screenshot), a live run cancelled from its page, and a
viewer's disabled actions."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from legato.server.auth import TOKEN_FILE
from server.processes import UiProcess

from .conftest import UI_PIPELINES, keep_screenshot, record

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


@pytest.fixture(scope="module")
def failed_run(home: Path) -> str:
    return record(home, f"{UI_PIPELINES}:broken", "rows=10")


def test_the_login_url_signs_in_and_a_wrong_token_gets_the_login_page(
    browser: Any, server: UiProcess
) -> None:
    tab = browser.new_page()
    try:
        browser.clear_cookies()
        tab.goto(f"{server.url}/runs")  # no session: the app shows the login form
        expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
        answer = tab.goto(f"{server.url}/login?token={'x' * 43}")
        assert answer is not None
        assert answer.status == 401
        expect(tab.get_by_role("alert")).to_contain_text("not one of this server's")
        tab.get_by_label("Token").fill(server.token)  # the form: the same exchange
        tab.get_by_role("button", name="Sign in").click()
        expect(tab.get_by_role("heading", name="Runs")).to_be_visible()
        cookies = {c["name"]: c for c in browser.cookies()}
        assert cookies["legato_session"]["httpOnly"]
        assert cookies["legato_session"]["sameSite"] == "Strict"
    finally:
        tab.close()


def test_a_failed_task_shows_its_traceback_and_log(
    page: Any, server: UiProcess, failed_run: str
) -> None:
    page.goto(f"{server.url}/runs")
    page.get_by_label("state").select_option("failed")  # filters the API applies
    page.get_by_label("pipeline").fill("broken")
    page.get_by_label("pipeline").press("Enter")
    expect(page).to_have_url(re.compile(r"/runs\?pipeline=broken&state=failed$"))
    expect(page.locator(".runs-table tbody tr")).to_have_count(1)
    row = page.locator(f"tr[data-run='{failed_run}']")
    expect(row.locator(".badge")).to_have_text("failed")
    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"/runs/{failed_run}$"))
    graph = page.get_by_test_id("graph")
    expect(graph.locator(".gnode[data-state='failed']")).to_have_count(1)
    expect(graph.locator(".gnode[data-state='upstream_failed']")).to_have_count(1)
    graph.locator(".gnode[data-state='failed']").click()
    expect(page).to_have_url(re.compile(r"\?task=check$"))
    drawer = page.get_by_test_id("drawer")
    expect(drawer.get_by_test_id("traceback")).to_contain_text(
        "ValueError: batch 3 of 10 rows has a negative label"
    )
    expect(drawer.get_by_test_id("traceback")).to_contain_text("ui_pipelines.py")
    expect(drawer.get_by_test_id("log")).to_have_text(
        "checking batch 0\nchecking batch 1\nchecking batch 2\n"
    )
    page.go_back()  # the drawer closes: its URL was a history entry
    expect(page.get_by_test_id("drawer")).to_have_count(0)
    expect(page).to_have_url(re.compile(f"/runs/{failed_run}$"))


DIGITS_NODES = 17
"""The digits graph's nodes: its tasks (a map one node), the when/otherwise decisions and
the finally block's report."""


def test_a_run_started_from_the_pipelines_page_turns_green(
    page: Any, server: UiProcess, home: Path
) -> None:
    page.goto(f"{server.url}/pipelines")
    page.get_by_role("link", name="digits", exact=True).click()
    # the form is typed by the pipeline's signature, prefilled with its defaults
    test_size = page.locator("input[name='test_size']")
    expect(test_size).to_have_attribute("type", "number")
    expect(test_size).to_have_value("0.25")
    test_size.fill("0.3")
    page.locator("input[name='out_dir']").fill(str(home / "digits-out"))
    # the graph is drawn before any run, every node without a state
    expect(page.get_by_test_id("graph").locator(".gnode")).to_have_count(DIGITS_NODES)
    page.get_by_role("button", name="Run").click()
    expect(page).to_have_url(re.compile(r"/runs/01[0-9a-z]{18}$"))
    graph = page.get_by_test_id("graph")
    expect(graph.locator(".gnode")).to_have_count(DIGITS_NODES)
    # live: every node turns green (or, off the branch taken, skipped) as the run's stream
    # says, no reload
    ended = ".gnode[data-state='succeeded'], .gnode[data-state='skipped']"
    expect(graph.locator(ended)).to_have_count(DIGITS_NODES, timeout=120_000)
    expect(graph.locator(".gnode[data-state='skipped']").first).to_be_visible()
    expect(page.locator(".page-header .badge")).to_have_text("succeeded", timeout=10_000)
    expect(graph.locator(".gmap").first).to_contain_text("4 succeeded")
    graph.locator(".gnode", has_text="ingest").click()  # its first attempt failed, on purpose
    drawer = page.get_by_test_id("drawer")
    expect(drawer.locator(".attempts tbody tr")).to_have_count(2)
    expect(drawer.locator(".attempts")).to_contain_text("simulated outage")
    page.mouse.move(0, 0)
    keep_screenshot(page, "run-page.png")


def test_a_live_run_shows_in_the_list_and_is_cancelled_from_its_page(
    page: Any, server: UiProcess
) -> None:
    page.goto(f"{server.url}/runs")
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    page.wait_for_load_state("networkidle")
    started = httpx.post(
        f"{server.url}/api/v1/pipelines/slow/runs",
        json={"params": {"pause": "0.01", "marker": "/nonexistent/never"}},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30,
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    row = page.locator(f"tr[data-run='{run_id}']")  # the runs stream brings it, no reload
    expect(row.locator(".badge")).to_have_text("running", timeout=30_000)
    row.get_by_role("link").click()
    graph = page.get_by_test_id("graph")
    expect(graph.locator(".gnode[data-state='running']")).to_have_count(1, timeout=30_000)
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(".page-header .badge")).to_have_text("cancelled", timeout=30_000)
    expect(graph.locator(".gnode[data-state='cancelled']")).to_have_count(1)
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    page.go_back()
    expect(row.locator(".badge")).to_have_text("cancelled")


def test_a_viewer_sees_the_actions_its_role_may_not_take_disabled(
    browser: Any, server: UiProcess, home: Path, failed_run: str
) -> None:
    viewer = json.loads((home / ".legato" / TOKEN_FILE).read_text())["viewer"]
    tab = browser.new_page()
    try:
        tab.goto(f"{server.url}/login?token={viewer}")
        tab.goto(f"{server.url}/runs/{failed_run}")
        resume = tab.get_by_role("button", name="Resume")
        expect(resume).to_be_disabled()
        expect(resume).to_have_attribute("title", "needs the operator role (you are viewer)")
        expect(tab.get_by_role("button", name="Start again…")).to_be_disabled()
        tab.goto(f"{server.url}/pipelines/digits")
        expect(tab.get_by_role("button", name="Run")).to_be_disabled()
    finally:
        tab.close()
        browser.clear_cookies()


def test_a_big_live_run_is_followed_from_now_without_its_history(
    page: Any, server: UiProcess, tmp_path: Path
) -> None:
    marker = tmp_path / "let-it-end"
    started = httpx.post(
        f"{server.url}/api/v1/pipelines/big/runs",
        json={"params": {"n": 6000, "marker": str(marker)}},
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30,
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    headers = {"Authorization": f"Bearer {server.token}"}
    deadline = time.monotonic() + 60  # a big run: its map expanded before its page opens
    while (
        sum(
            httpx.get(f"{server.url}/api/v1/runs/{run_id}", headers=headers)
            .json()["task_counts"]
            .values()
        )
        <= 6000
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/stream" in r.url else None)
    try:
        page.goto(f"{server.url}/runs/{run_id}")
        graph = page.get_by_test_id("graph")
        # the map's counts come from /graph, read again while patches come
        expect(graph.locator(".gmap")).to_contain_text("6000 succeeded", timeout=90_000)
        expect(graph.locator(".gnode[data-state='running']", has_text="held_total")).to_be_visible(
            timeout=30_000
        )
        # the map's items, a page at a time from the API: no replay of the run's history
        graph.locator(".gmap").click()
        drawer = page.get_by_test_id("drawer")
        expect(drawer.locator("h3", has_text="Items (6000)")).to_be_visible()
        rows = drawer.locator(".item-row")
        expect(rows.first).to_contain_text("double[0]")
        expect(rows.first).to_contain_text("succeeded")
        drawer.locator(".vlist").evaluate("list => list.scrollTop = list.scrollHeight")
        expect(rows.last).to_contain_text("double[5999]")
        drawer.get_by_label("item state").select_option("succeeded")
        expect(drawer.locator(".map-items")).to_have_attribute("data-total", "6000")
    finally:
        marker.touch()
    expect(page.locator(".page-header .badge")).to_have_text("succeeded", timeout=30_000)
    expect(graph.locator(".gnode[data-state='succeeded']", has_text="held_total")).to_be_visible()
    run_streams = [u for u in streams if f"/runs/{run_id}/stream" in u]
    assert run_streams, streams
    assert all(u.endswith("?from_now=true") for u in run_streams), run_streams
