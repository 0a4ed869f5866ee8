"""The schedules in a real browser against a real ``legato ui``: a store where a real
scheduler pass declared two schedules and ticked one (a day missed, its newest instant
launched, a backfill queued), shown on the list with their tick counts and the backfill's
progress; a schedule's page with its ticks (filtered by status, the launched one linked to
its run) and its next instants; a viewer may not pause it, an operator does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from legato.model.schedules import TickStatus
from legato.server.auth import TOKEN_FILE, Role, read_tokens
from legato.store.sql import SqlRunStore
from legato.store.sql.schedules import SqlScheduleStore
from schedules.conftest import Stores
from server.processes import UiProcess
from server.test_schedule_routes import _tick

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


@pytest.fixture(scope="module")
def launched(home: Path) -> str:
    """The store ``legato ui`` serves, ticked by a real scheduler pass: the run id of the
    one tick it launched."""
    url = f"sqlite:///{home / '.legato' / 'legato.db'}"
    runs = SqlRunStore(url)
    try:
        db = Stores(url, runs, SqlScheduleStore(runs.engine))
        _tick(db)
        (tick,) = db.schedules.ticks("hourly", statuses=(TickStatus.LAUNCHED,), limit=10)
        return tick.run_id
    finally:
        runs.close()


def _sign_in(page: Any, server: UiProcess, home: Path, role: Role) -> None:
    token = read_tokens(home / ".legato" / TOKEN_FILE).token(role)
    page.goto(f"{server.url}/login?token={token}")


def test_schedules_listed_with_their_ticks_then_one_paused_by_an_operator(
    launched: str, page: Any, server: UiProcess, home: Path
) -> None:
    page.goto(f"{server.url}/runs")
    page.get_by_role("link", name="Schedules").click()
    expect(page).to_have_url(re.compile("/schedules$"))
    hourly = page.get_by_test_id("schedules").locator("tr[data-schedule='hourly']")
    expect(hourly).to_contain_text("'0 * * * *' in UTC")
    expect(hourly.locator(".tick-count[data-status='launched']")).to_have_text("launched 1")
    expect(hourly.locator(".tick-count[data-status='queued']")).to_have_text("queued 5")
    expect(hourly.get_by_test_id("paused")).to_have_count(0)
    backfill = page.get_by_test_id("backfills").locator("tbody tr")
    expect(backfill).to_have_count(1)
    expect(backfill.locator(".progress-text")).to_have_text("0/5")

    hourly.get_by_role("link", name="hourly").click()
    expect(page).to_have_url(re.compile("/schedules/hourly$"))
    ticks = page.get_by_test_id("ticks")
    missed = ticks.locator("tr[data-status='missed']").first
    expect(missed).to_be_visible()
    expect(missed.get_by_role("link")).to_have_count(0)  # only a launched tick has a run
    page.get_by_label("status").select_option("launched")
    expect(page).to_have_url(re.compile(r"/schedules/hourly\?status=launched$"))
    expect(ticks.locator("tbody tr")).to_have_count(1)
    run_link = ticks.get_by_role("link", name=launched[:12])
    expect(run_link).to_have_attribute("href", f"/runs/{launched}")

    page.goto(f"{server.url}/schedules/berlin")
    upcoming = page.get_by_test_id("upcoming")
    expect(upcoming.locator("tbody tr")).to_have_count(10)
    expect(upcoming.locator("tbody tr").first).to_contain_text(re.compile(r"\+0[12]:00"))

    _sign_in(page, server, home, Role.VIEWER)
    page.goto(f"{server.url}/schedules/hourly")
    pause = page.get_by_role("button", name="Pause")
    expect(pause).to_be_disabled()
    expect(pause).to_have_attribute("title", "needs the operator role (you are viewer)")

    _sign_in(page, server, home, Role.OPERATOR)
    page.goto(f"{server.url}/schedules/hourly")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("paused")).to_have_text("paused")
    expect(page.get_by_role("button", name="Resume")).to_be_enabled()
    page.get_by_role("link", name="Schedules").click()
    expect(hourly.get_by_test_id("paused")).to_have_text("paused")
