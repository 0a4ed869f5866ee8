"""Schedules and backfills: declarations (``legato.schedule``), cron arithmetic in time
zones, the pure decisions of a claim and of overlap, and the passes ``legato scheduler``
runs. See ``docs/schedules.md``."""
