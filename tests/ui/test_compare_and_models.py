"""Comparing runs and changing the model registry in a real browser against a real
``legato ui``: two runs side by side with their differences highlighted and their curves
overlaid; the runs grid, a map one cell with its items counted; a model version promoted
and the alias rolled back, each after confirming."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from server.processes import UiProcess

from .conftest import SERVER_PIPELINES, record

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


@pytest.fixture(scope="module")
def scored_runs(home: Path) -> tuple[str, str]:
    target = f"{SERVER_PIPELINES}:scored"
    return record(home, target, "score=0.25"), record(home, target, "score=0.75", "n=4")


@pytest.fixture(scope="module")
def churn(home: Path) -> list[str]:
    target = f"{SERVER_PIPELINES}:registered"
    return [record(home, target, "accuracy=0.8"), record(home, target, "accuracy=0.9")]


def test_two_runs_compared_side_by_side(
    page: Any, server: UiProcess, scored_runs: tuple[str, str]
) -> None:
    first, second = scored_runs
    page.goto(f"{server.url}/compare")
    picker = page.locator(".picker")
    picker.locator(".picker-row", has_text=first[:12]).get_by_role("checkbox").check()
    picker.locator(".picker-row", has_text=second[:12]).get_by_role("checkbox").check()
    expect(page).to_have_url(re.compile(f"/compare\\?run={first}&run={second}$"))
    table = page.get_by_test_id("compare")
    score = table.locator("tr", has=page.locator("th", has_text=re.compile(r"^param\.score$")))
    expect(score).to_have_attribute("data-differs", "true")
    expect(score.locator("td")).to_have_text(["0.25", "0.75"])
    size = table.locator("tr", has=page.locator("th", has_text="param.n"))
    expect(size.locator("td")).to_have_text(["3", "4"])
    final = table.locator("tr", has=page.locator("th", has_text=re.compile(r"^metric\.score$")))
    expect(final.locator("td")).to_have_text(["0.25", "0.75"])
    # the loss curves of both runs on one chart (a canvas, with a legend entry per run)
    chart = page.locator(".chart", has_text="loss")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart.locator(".u-legend .u-series")).to_have_count(3)  # the x axis and two runs


def test_many_runs_drawn_in_view_and_metrics_plotted_on_demand(
    page: Any, server: UiProcess, scored_runs: tuple[str, str], churn: list[str]
) -> None:
    runs = [*scored_runs, *churn]
    page.set_viewport_size({"width": 560, "height": 900})
    page.goto(f"{server.url}/compare?" + "&".join(f"run={r}" for r in runs))
    table = page.get_by_test_id("compare")
    expect(table).to_have_attribute("data-runs", "4")
    score = table.locator("tr", has=page.locator("th", has_text=re.compile(r"^param\.score$")))
    expect(score.locator("td:not(.pad)")).to_have_count(3)  # the runs in view, and one more
    expect(table.get_by_role("link", name=runs[3][:12])).to_have_count(0)
    page.locator(".compare-scroll").evaluate("box => box.scrollLeft = box.scrollWidth")
    expect(table.get_by_role("link", name=runs[3][:12])).to_be_visible()
    expect(score.locator("td:not(.pad)").last).to_have_text("—")  # churn has no score
    # the metrics plotted: the first few by default, each one's curves for every run
    chart = page.locator(".chart", has_text="loss")
    expect(chart.locator(".u-legend .u-series")).to_have_count(3)  # the x axis, 2 runs
    page.locator(".metric-name", has_text="loss").get_by_role("checkbox").uncheck()
    expect(page).to_have_url(re.compile("&plot=score$"))  # one value a run: no curve
    expect(page.locator(".chart")).to_have_count(0)
    page.locator(".metric-name", has_text="score").get_by_role("checkbox").uncheck()
    expect(page).to_have_url(re.compile("&plot=$"))  # none
    page.locator(".metric-name", has_text="loss").get_by_role("checkbox").check()
    expect(page).to_have_url(re.compile("&plot=loss$"))
    expect(chart.locator("canvas")).to_have_count(1)


def test_the_runs_grid_draws_a_map_as_one_cell(
    page: Any, server: UiProcess, home: Path, scored_runs: tuple[str, str]
) -> None:
    first, second = scored_runs
    page.goto(f"{server.url}/runs?view=grid")
    for run, items in ((first, 3), (second, 4)):
        row = page.locator(".grid-row", has_text=run[:12])
        expect(row.locator(".cell.map")).to_have_attribute(
            "title", f"square: succeeded ({items} succeeded)"
        )
        expect(row.locator(".cell[title='fit: succeeded']")).to_have_count(1)
    # the latest runs, asked of GET /grid alone: a new run joins them, live
    newer = record(home, f"{SERVER_PIPELINES}:scored", "n=2")
    expect(page.locator(".grid-row").first).to_contain_text(newer[:12], timeout=30_000)
    expect(page.locator(".grid-row").first.locator(".cell.map")).to_have_attribute(
        "title", "square: succeeded (2 succeeded)"
    )
    # filtered by more than a pipeline: the grid of the runs list's runs
    page.goto(f"{server.url}/runs?view=grid&state=succeeded")
    expect(page.locator(".grid-row", has_text=newer[:12])).to_have_count(1)


def test_a_version_promoted_then_the_alias_rolled_back(
    page: Any, server: UiProcess, churn: list[str]
) -> None:
    page.goto(f"{server.url}/models")
    page.get_by_role("link", name="churn").click()
    expect(page).to_have_url(re.compile("/models/churn$"))
    versions = page.get_by_test_id("versions")
    v1 = versions.locator("tr[data-version='1']")
    expect(v1.get_by_role("link", name=churn[0][:12])).to_be_visible()  # its lineage
    page.get_by_label("alias").fill("production")
    v1.get_by_role("button", name="Promote").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Point production at v1?")
    dialog.get_by_placeholder("why").fill("first release")
    dialog.get_by_role("button", name="Promote").click()
    expect(v1.locator(".tag")).to_have_text("production")
    versions.locator("tr[data-version='2']").get_by_role("button", name="Promote").click()
    page.get_by_role("dialog").get_by_role("button", name="Promote").click()
    expect(versions.locator("tr[data-version='2'] .tag")).to_have_text("production")
    page.get_by_role("button", name="Roll back production").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_placeholder("why").fill("v2 regressed")
    dialog.get_by_role("button", name="Roll back").click()
    expect(v1.locator(".tag")).to_have_text("production")
    expect(versions.locator("tr[data-version='2'] .tag")).to_have_count(0)
    history = page.get_by_test_id("history")
    expect(history.locator("tbody tr")).to_have_count(3)
    expect(history.locator("tbody tr").first).to_contain_text("v2 regressed")
