"""Downsampling a metric series (property-tested): at most the limit, a subset in step
order, the first and last point and every extreme kept."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from legato.query.metrics import downsample

values = st.floats(allow_nan=True, allow_infinity=False, width=32)


@given(st.lists(values, max_size=3000), st.integers(min_value=0, max_value=300))
def test_a_downsampled_series_keeps_its_shape(ys: list[float], limit: int) -> None:
    points = [(step * 3, y) for step, y in enumerate(ys)]
    kept = downsample(points, limit)
    bound = max(limit, 4)
    by_step = dict(points)
    assert [p[0] for p in kept] == sorted({p[0] for p in kept})
    assert all(by_step[step] is y for step, y in kept)  # the very points, none made up
    if len(points) <= bound:
        assert kept == points
        return
    assert len(kept) <= bound
    assert kept[0] == points[0]
    assert kept[-1] == points[-1]
    numbers = [y for _, y in points if not math.isnan(y)]
    kept_numbers = [y for _, y in kept if not math.isnan(y)]
    if numbers:
        assert min(numbers) in kept_numbers
        assert max(numbers) in kept_numbers


def test_two_thousand_points_at_most_by_default() -> None:
    points = [(i, math.sin(i / 50)) for i in range(1_000_000)]
    kept = downsample(points)
    assert len(kept) <= 2000
    assert min(y for _, y in kept) == min(y for _, y in points)
