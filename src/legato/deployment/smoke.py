"""Smoke tests :func:`legato.deploy` runs after promoting a version.

:class:`SmokeTest` sends example rows to the model and checks the answer. With ``url`` it
talks to a running ``legato serve`` of the alias: it first waits (up to ``timeout``) until
the server reports the new version (the server follows the alias), then ``POST /predict``.
Without ``url`` it loads the version from the registry in the task's process (checksum
verified) and predicts there. It never raises: it returns what went wrong, or ``""``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from legato.errors import ParameterError
from legato.model.registry import ModelVersion
from legato.registry.registry import Registry
from legato.registry.signature import check_input

__all__ = ["SmokeTest"]

_TOKEN = "LEGATO_SERVE_TOKEN"


@dataclass(frozen=True, slots=True, kw_only=True)
class SmokeTest:
    """Example rows the promoted model must answer, and how to ask it."""

    rows: Sequence[Any]
    """Example input: rows of numbers (a tensor model) or records (a columns model)."""
    url: str | None = None
    """Base URL of a running ``legato serve`` of the alias (``http://127.0.0.1:8000``);
    None: load the version in-process."""
    expect: Callable[[list[Any]], bool] | None = None
    """Checks the predictions (one per row); default: any answer with one per row."""
    allowed: tuple[Any, ...] | None = None
    """Values every prediction must be one of (class labels): a check that is plain data,
    so a stored smoke test loads anywhere (``expect`` pickles a function by reference)."""
    token: str | None = None
    """Bearer token for the server (default: ``LEGATO_SERVE_TOKEN``)."""
    timeout: float = 30.0
    """Seconds to wait for the server to switch to the version, and for its answer."""

    def __post_init__(self) -> None:
        if isinstance(self.rows, str | bytes) or not isinstance(self.rows, Sequence):
            raise ParameterError("SmokeTest rows must be a list of example rows")
        if not self.rows:
            raise ParameterError("SmokeTest needs at least one example row")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ParameterError(f"SmokeTest url must be http:// or https://, not {self.url!r}")

    def run(self, registry: Registry, mv: ModelVersion) -> str:
        """What went wrong, or ``""`` when the model answered well."""
        try:
            predictions = self._remote(mv) if self.url else self._local(registry, mv)
        except Exception as exc:  # whatever it is, the deployment failed its smoke test
            return f"{type(exc).__name__}: {exc}"
        if not isinstance(predictions, list) or len(predictions) != len(self.rows):
            return f"expected {len(self.rows)} predictions, got {predictions!r:.200}"
        if self.allowed is not None:
            odd = [p for p in predictions if p not in self.allowed]
            if odd:
                return f"predictions {odd[:5]!r} are not among the allowed {self.allowed!r:.100}"
        if self.expect is not None:
            try:
                ok = bool(self.expect(predictions))
            except Exception as exc:
                return f"the check of the predictions raised {type(exc).__name__}: {exc}"
            if not ok:
                return f"the predictions failed the check: {predictions!r:.200}"
        return ""

    def _local(self, registry: Registry, mv: ModelVersion) -> Any:
        from legato.serve.inputs import jsonable  # noqa: PLC0415 (numpy, pandas: optional)

        if mv.signature is not None:
            check_input(mv.signature, list(self.rows))
        model = registry.load(mv)
        predict = model.predict if callable(getattr(model, "predict", None)) else model
        try:
            import numpy as np  # noqa: PLC0415 (optional)

            data: Any = np.asarray(self.rows) if not isinstance(self.rows[0], dict) else self.rows
        except ImportError:
            data = list(self.rows)
        return jsonable(predict(data))

    def _remote(self, mv: ModelVersion) -> Any:
        assert self.url is not None
        base = self.url.rstrip("/")
        deadline = time.monotonic() + self.timeout
        token = self.token or os.environ.get(_TOKEN)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        seen = None
        while True:  # the server follows the alias: wait until it serves this version
            health = _call(f"{base}/health", None, headers, self.timeout)
            seen = (health.get("model"), health.get("version"))
            if seen == (mv.name, mv.version):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{base} still serves {seen[0]} version {seen[1]} after {self.timeout:g}s, "
                    f"not {mv.ref}" + (f" ({health['warning']})" if health.get("warning") else "")
                )
            time.sleep(0.1)
        body = json.dumps(
            {"inputs" if not isinstance(self.rows[0], dict) else "rows": list(self.rows)}
        )
        answer = _call(f"{base}/predict", body.encode(), headers, self.timeout)
        if answer.get("version") != mv.version:
            raise RuntimeError(f"answered by version {answer.get('version')}, not {mv.version}")
        return answer.get("predictions")


def _call(url: str, body: bytes | None, headers: dict[str, str], timeout: float) -> Any:
    request = urllib.request.Request(
        url, data=body, headers=headers, method="POST" if body else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode(errors="replace")
        raise RuntimeError(f"{url} answered {exc.code}: {detail}") from None
