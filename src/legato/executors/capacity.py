"""What this machine offers: CPUs, memory and GPUs, respecting affinity and cgroup limits."""

from __future__ import annotations

import functools
import math
import os
import shutil
import subprocess
from pathlib import Path

from legato.model.specs import Capacity

__all__ = ["detect_cpus", "detect_gpus", "detect_memory", "machine_capacity"]


def _cgroup_cpu_limit() -> float | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def detect_cpus() -> int:
    """Usable CPU cores: the affinity mask, capped by a cgroup CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        count = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        count = min(count, max(1, math.ceil(limit)))
    return max(1, count)


def detect_memory() -> int:
    """Usable bytes of memory: physical memory, capped by a cgroup memory limit."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 1024**3
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text != "max":
            total = min(total, int(text))
    except (OSError, ValueError):
        pass
    return int(total)


@functools.cache
def detect_gpus() -> int:
    """GPUs visible to this process: ``CUDA_VISIBLE_DEVICES`` when set, else what
    ``nvidia-smi -L`` lists, else none."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return 0
    try:
        out = subprocess.run([tool, "-L"], check=False, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def machine_capacity(slots: int) -> Capacity:
    """This machine's capacity with ``slots`` workers; CPUs count at least one per worker so
    that a deliberately larger pool is usable."""
    return Capacity(
        cpus=max(detect_cpus(), slots),
        memory=detect_memory(),
        gpus=detect_gpus(),
        slots=slots,
    )
