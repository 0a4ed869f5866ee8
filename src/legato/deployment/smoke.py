"""Smoke tests: :func:`legato.deploy` runs one on the candidate version *before* the alias
moves to it, so a server following the alias never serves a version that failed one.

:class:`SmokeTest` sends example rows to the candidate and checks the answer, in one of two
places:

- **in-process** (no ``url``): the version is loaded from the registry (checksum verified)
  in the task's process, and the rows go the way a request to ``legato serve`` goes: the
  JSON body :meth:`SmokeTest.body` (the one the ``url`` form sends) is read, checked against
  the version's signature and converted by :func:`legato.serve.inputs.model_input`, the
  model predicts, and its answer is written by :func:`legato.serve.answers.encode` and read
  back. Rows pass or fail here as on a server with the
  default limits (``--max-body`` is not applied), and the checks see the predictions a
  client of the server would see.
- **on a server** (``url``): a running ``legato serve`` of the model is asked
  ``POST {url}/versions/{n}/predict``, which loads version ``n`` in that server (checksum
  verified) and predicts with it without serving it; the answer must come from that model
  and version. The server may follow the alias or not, and the alias need not name a
  version yet (a first deployment): the candidate is tried on the server's code, packages
  and machine.

It never raises: it returns what went wrong, or ``""``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from legato.errors import ParameterError
from legato.model.registry import ModelVersion
from legato.registry.registry import Registry
from legato.serve.answers import encode, jsonable
from legato.serve.holder import load_version
from legato.serve.inputs import MAX_ROWS, RequestError, model_input

__all__ = ["SmokeTest"]

_TOKEN = "LEGATO_SERVE_TOKEN"


@dataclass(frozen=True, slots=True, kw_only=True)
class SmokeTest:
    """Example rows a candidate version must answer well before :func:`legato.deploy` moves
    the alias to it, and where to ask: in-process, or a ``legato serve`` at ``url`` (see
    :mod:`legato.deployment.smoke`)."""

    rows: Sequence[Any]
    """Example input, sent as a ``/predict`` body is (:meth:`body`): rows of numbers (a
    tensor model), records ``{column: value}`` or lists of the column values in the
    signature's order (a columns model)."""
    url: str | None = None
    """Base URL of a running ``legato serve`` of the model (``http://127.0.0.1:8000``), which
    loads the candidate to answer; None: load the version in-process."""
    expect: Callable[[list[Any]], bool] | None = None
    """Checks the predictions (one per row, as JSON values: NaN and infinities are None);
    default: any answer with one per row."""
    allowed: tuple[Any, ...] | None = None
    """Values every prediction must be one of (class labels): a check that is plain data,
    so a stored smoke test loads anywhere (``expect`` pickles a function by reference)."""
    token: str | None = None
    """Bearer token for the server (default: ``LEGATO_SERVE_TOKEN``)."""
    timeout: float = 30.0
    """Seconds to wait for the server's answer (it loads the candidate first)."""

    def __post_init__(self) -> None:
        if isinstance(self.rows, str | bytes) or not isinstance(self.rows, Sequence):
            raise ParameterError("SmokeTest rows must be a list of example rows")
        if not self.rows:
            raise ParameterError("SmokeTest needs at least one example row")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ParameterError(f"SmokeTest url must be http:// or https://, not {self.url!r}")

    def body(self) -> bytes:
        """The request both forms send: ``{"rows": rows}`` when the rows are records, else
        ``{"inputs": rows}`` (arrays and NumPy numbers in them become JSON lists and
        numbers)."""
        key = "rows" if isinstance(self.rows[0], Mapping) else "inputs"
        return json.dumps({key: jsonable(list(self.rows))}).encode()

    def run(self, registry: Registry, mv: ModelVersion) -> str:
        """What went wrong when version ``mv`` answered the rows, or ``""`` when it answered
        well. The alias is not looked at: ``mv`` is tried whatever it names."""
        try:
            predictions = self._remote(mv) if self.url else self._local(registry, mv)
        except RequestError as exc:
            return f"a server would refuse the rows ({exc.status}): {exc.message}"
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
        """The predictions, in-process, through the server's own path (see the module)."""
        loaded = load_version(registry, mv)
        data = model_input(self.body(), mv.signature, max_rows=MAX_ROWS)
        return json.loads(encode(loaded.predict(data)))

    def _remote(self, mv: ModelVersion) -> Any:
        assert self.url is not None
        base = self.url.rstrip("/")
        token = self.token or os.environ.get(_TOKEN)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{base}/versions/{mv.version}/predict"
        answer = _call(url, self.body(), headers, self.timeout)
        if (answer.get("model"), answer.get("version")) != (mv.name, mv.version):
            raise RuntimeError(
                f"{url} answered as {answer.get('model')}:{answer.get('version')}, not "
                f"{mv.ref}: that server serves another model"
            )
        return answer.get("predictions")


def _call(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Any:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode(errors="replace")
        raise RuntimeError(f"{url} answered {exc.code}: {detail}") from None
