"""The benchmark harness works end to end at its smallest sizes (``make bench`` itself is never
run by the tests): cases run as fresh processes, their figures come back, and the CSV and the
report are written. How fast anything is, is not checked here."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("LEGATO_BENCH_PEERS", ROOT.parent / "shared" / "bench" / "peers"))


@pytest.mark.skipif(
    not (PEERS / "common.py").is_file(),
    reason=f"the peers' task bodies ({PEERS}/common.py) are not here",
)
def test_smoke_run_writes_the_csv_and_the_report(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--smoke",
            "--legato-only",
            "--peers-dir",
            str(PEERS),
            "--out",
            str(tmp_path / "results"),
            "--doc",
            str(doc),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    rows = list(csv.DictReader((tmp_path / "results" / "results.csv").open()))
    legato = {(r["workload"], r["executor"]): r for r in rows if r["source"] == "legato"}
    assert set(legato) == {("w1", "plain"), ("w1", "threads"), ("w2", "plain"), ("w2", "threads")}
    assert all(r["ok"] == "True" for r in legato.values())
    assert legato[("w2", "threads")]["tasks"] == "12"  # 10 items + source + reduce
    assert float(legato[("w1", "threads")]["run_s"]) > 0
    assert float(legato[("w1", "threads")]["peak_rss_mb"]) > 0

    text = doc.read_text()
    assert "## Targets (PRODUCT.md)" in text
    assert "| w2 10 | threads | durable | 12 |" in text
