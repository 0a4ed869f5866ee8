"""Gates a model version must pass before :func:`legato.deploy` promotes it.

A gate is a frozen, picklable check of the candidate version against the version the alias
names now (``None`` when it names none)::

    legato.gates.metric_at_least("accuracy", 0.9)
    legato.gates.metric_at_most("log_loss", 0.3)
    legato.gates.not_worse_than_current("accuracy", margin=0.01)

Any object with ``check(candidate, current) -> GateResult`` and a ``name`` is a gate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from legato.model.registry import ModelVersion

__all__ = [
    "Gate",
    "GateResult",
    "MetricAtLeast",
    "MetricAtMost",
    "NotWorseThanCurrent",
    "metric_at_least",
    "metric_at_most",
    "not_worse_than_current",
]


@dataclass(frozen=True, slots=True)
class GateResult:
    """Whether a gate passed, and why (shown in the deploy task's error and the alias's
    history)."""

    gate: str
    passed: bool
    message: str


class Gate(Protocol):
    """A check of a candidate model version before it is promoted."""

    @property
    def name(self) -> str: ...

    def check(self, candidate: ModelVersion, current: ModelVersion | None) -> GateResult: ...


def _metric(mv: ModelVersion, metric: str) -> float | None:
    value = mv.metrics.get(metric)
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True, slots=True)
class MetricAtLeast:
    """The candidate's ``metric`` is at least ``threshold``."""

    metric: str
    threshold: float

    @property
    def name(self) -> str:
        return f"{self.metric} >= {self.threshold:g}"

    def check(self, candidate: ModelVersion, current: ModelVersion | None) -> GateResult:
        value = _metric(candidate, self.metric)
        if value is None:
            return GateResult(self.name, False, f"{candidate.ref} has no metric {self.metric!r}")
        ok = value >= self.threshold
        verdict = "" if ok else "not "
        return GateResult(
            self.name, ok, f"{self.metric} {value:.4g} is {verdict}>= {self.threshold:g}"
        )


@dataclass(frozen=True, slots=True)
class MetricAtMost:
    """The candidate's ``metric`` is at most ``threshold`` (a loss, an error rate)."""

    metric: str
    threshold: float

    @property
    def name(self) -> str:
        return f"{self.metric} <= {self.threshold:g}"

    def check(self, candidate: ModelVersion, current: ModelVersion | None) -> GateResult:
        value = _metric(candidate, self.metric)
        if value is None:
            return GateResult(self.name, False, f"{candidate.ref} has no metric {self.metric!r}")
        ok = value <= self.threshold
        verdict = "" if ok else "not "
        return GateResult(
            self.name, ok, f"{self.metric} {value:.4g} is {verdict}<= {self.threshold:g}"
        )


@dataclass(frozen=True, slots=True)
class NotWorseThanCurrent:
    """The candidate's ``metric`` is no worse than the current version's, by more than
    ``margin`` (higher is better unless ``higher_is_better=False``). Passes when the alias
    names no version yet, or the current version has no such metric."""

    metric: str
    margin: float = 0.0
    higher_is_better: bool = True

    @property
    def name(self) -> str:
        return f"{self.metric} not worse than current (margin {self.margin:g})"

    def check(self, candidate: ModelVersion, current: ModelVersion | None) -> GateResult:
        value = _metric(candidate, self.metric)
        if value is None:
            return GateResult(self.name, False, f"{candidate.ref} has no metric {self.metric!r}")
        if current is None:
            return GateResult(self.name, True, "no current version to compare with")
        before = _metric(current, self.metric)
        if before is None:
            return GateResult(self.name, True, f"{current.ref} has no metric {self.metric!r}")
        worse = before - value if self.higher_is_better else value - before
        ok = worse <= self.margin
        return GateResult(
            self.name,
            ok,
            f"{self.metric} {value:.4g} vs {before:.4g} of {current.ref}"
            + ("" if ok else f": worse by {worse:.4g}, more than the margin {self.margin:g}"),
        )


def metric_at_least(metric: str, threshold: float) -> MetricAtLeast:
    """A gate: the candidate's ``metric`` is at least ``threshold``."""
    return MetricAtLeast(metric, float(threshold))


def metric_at_most(metric: str, threshold: float) -> MetricAtMost:
    """A gate: the candidate's ``metric`` is at most ``threshold``."""
    return MetricAtMost(metric, float(threshold))


def not_worse_than_current(
    metric: str, margin: float = 0.0, *, higher_is_better: bool = True
) -> NotWorseThanCurrent:
    """A gate: the candidate's ``metric`` is no worse than the current version's by more
    than ``margin``."""
    return NotWorseThanCurrent(metric, float(margin), higher_is_better)
