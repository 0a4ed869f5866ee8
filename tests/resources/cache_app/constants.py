"""Module constants: some tasks read them, one nobody reads."""

THRESHOLD = 3.0
"""Values above it count as large (read by ``stats``)."""
LABEL_PREFIX = "vocab"
"""Start of the label (read by ``make_label``)."""
UNUSED_LIMIT = 10
"""Read by no task: editing it re-runs nothing."""
