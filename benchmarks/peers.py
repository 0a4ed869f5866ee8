"""The peers' side: their harness (``../shared/bench/peers/harness.py``) run in the same
sitting as legato's cases, and its ``summary.csv`` read back.

The peers live in their own virtualenvs (``install.sh``, default ``/tmp/peers``); a peer
whose virtualenv is missing or broken is left out and named in the report.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import measured_env

__all__ = ["DURABLE", "PEERS", "PeerRun", "available", "run_peers"]

PEERS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # name: (virtualenv, harness configurations, harness import-time names)
    "prefect": ("prefect", ("prefect",), ("prefect",)),
    "dagster": ("dagster", ("dagster-inprocess", "dagster-multiprocess"), ("dagster",)),
    # airflow-cli (`airflow dags test`, whole process only) is left out: the same code path
    # as `dag.test()`, about as slow again (~5 min a pass).
    "airflow": ("airflow", ("airflow",), ("airflow",)),
    "luigi": ("luigi", ("luigi",), ("luigi",)),
    "hamilton": ("hamilton", ("hamilton",), ("hamilton",)),
    "dask": ("dask", ("dask-threads", "dask-distributed"), ("dask", "dask-distributed")),
    "ray": ("ray", ("ray",), ("ray",)),
}
"""Peers by the name ``--peers`` takes."""

DURABLE = frozenset({"prefect", "airflow", "airflow-cli", "dagster-multiprocess", "luigi"})
"""Configurations that keep task state or outputs on disk (SQLite state: Prefect, Airflow,
Dagster with an instance; output files: Luigi); the others keep everything in memory."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerRun:
    """What running the peers produced."""

    summary: list[dict[str, str]]
    """Rows of the harness's summary.csv (one per configuration and workload)."""
    missing: dict[str, str]
    """Peers left out, and why."""


def available(venvs: Path, names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The peers among ``names`` whose virtualenv is installed, and why the others are not."""
    ok: list[str] = []
    missing: dict[str, str] = {}
    for name in names:
        venv = venvs / PEERS[name][0]
        if not (venv / ".peerbench-installed").is_file():
            missing[name] = f"not installed in {venv} (run install.sh)"
        else:
            ok.append(name)
    return ok, missing


def run_peers(
    *,
    peers_dir: Path,
    venvs: Path,
    names: Sequence[str],
    out: Path,
    runs: int,
    warmup: int,
    workloads: Sequence[str],
    log: Path,
) -> PeerRun:
    """Run the harness for the installed peers among ``names`` (plus the plain-Python
    baseline) and return its summary."""
    ok, missing = available(venvs, names)
    if not (venvs / "baseline" / ".peerbench-installed").is_file():
        missing["baseline"] = "not installed (run install.sh)"
    only = {"baseline", "sklearn"}
    for name in ok:
        only.update(PEERS[name][1])
        only.update(PEERS[name][2])
    out.mkdir(parents=True, exist_ok=True)
    # One sitting per summary: the harness appends to raw.csv and summarises the latest pass.
    (out / "raw.csv").unlink(missing_ok=True)
    argv = [
        sys.executable,
        str(peers_dir / "harness.py"),
        "--runs",
        str(runs),
        "--warmup",
        str(warmup),
        "--warm-reps",
        "0",
        "--import-runs",
        str(runs),
        "--venvs",
        str(venvs),
        "--out",
        str(out),
        "--only",
        ",".join(sorted(only)),
        "--workloads",
        ",".join(workloads),
    ]
    env = measured_env(os.environ)
    env.pop("PYTHONPATH", None)
    with log.open("w") as f:
        f.write(" ".join(argv) + "\n")
        f.flush()
        subprocess.run(
            argv, cwd=peers_dir, env=env, stdout=f, stderr=subprocess.STDOUT, check=False
        )
    summary_path = out / "summary.csv"
    rows = list(csv.DictReader(summary_path.open())) if summary_path.is_file() else []
    for name in ok:
        configs = PEERS[name][1]
        if not any(r["config"] in configs and r.get("all_ok") == "True" for r in rows):
            missing[name] = f"no successful run (see {log} and the harness logs)"
    return PeerRun(summary=rows, missing=missing)
