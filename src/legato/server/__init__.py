"""``legato ui``: the HTTP API over runs, tasks, logs, metrics and models (under
``/api/v1``), with its authentication and security checks. See ``docs/server.md``."""
