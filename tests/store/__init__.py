"""Tests of the store layer: the run-store conformance suite on every backend, the SQL
store's own concerns (migrations, SQLite settings, concurrency) and the artifact store."""
