"""Run the report pipeline once per step: ``python -m cache_app STEPS``, where STEPS is a JSON
list of ``{"params": {...}, "cache": bool, "refresh": bool | [names], "write": {file: text},
"remove": [file]}`` (files relative to the working folder, written before the step's run).
Prints one JSON line per run: its id, state and output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import legato

from .pipelines import report


def main(argv: list[str]) -> None:
    for step in json.loads(argv[1]):
        for name, text in step.get("write", {}).items():
            Path(name).parent.mkdir(parents=True, exist_ok=True)
            Path(name).write_text(text)
        for name in step.get("remove", []):
            Path(name).unlink()
        refresh = step.get("refresh", False)
        result = legato.run(
            report,
            step["params"],
            cache=step.get("cache", True),
            refresh=refresh if isinstance(refresh, bool) else set(refresh),
            executor=step.get("executor"),
        )
        state = result.record.state.value
        output = result.output if result.ok else None
        print(json.dumps({"run_id": result.run_id, "state": state, "output": output}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
