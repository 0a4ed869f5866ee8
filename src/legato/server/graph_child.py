"""``python -m legato.server.graph_child TARGET``: a pipeline's shape as JSON on standard
output — its fingerprint (the version runs record), its nodes in topological order, its
edges, its name and its run parameters as form fields. The API server runs it as a child
process: defining a pipeline runs the user's module, which never happens in the server's
own process. A target that cannot be loaded
ends it with status 2 and the reason on standard error."""

from __future__ import annotations

import dataclasses
import json
import sys

from legato.define.fingerprint import Fingerprinter
from legato.define.loader import load_pipeline
from legato.errors import LegatoError
from legato.query.param_types import form_field, parameter_types

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Print the shape of ``argv[0]``'s pipeline; the exit status."""
    if len(argv) != 1:
        print("usage: python -m legato.server.graph_child TARGET", file=sys.stderr)
        return 2
    try:
        pipeline = load_pipeline(argv[0])
        graph = pipeline.graph
    except LegatoError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    types = parameter_types(pipeline)
    shape = {
        "name": pipeline.name,
        "params": [dataclasses.asdict(form_field(p, types[p.name])) for p in pipeline.params],
        "fingerprint": Fingerprinter().graph(graph),
        "nodes": [
            {"key": n.key, "name": n.spec.name, "mapped": n.mapped is not None}
            for n in graph.nodes.values()
        ],
        "edges": [list(edge) for edge in graph.edges],
    }
    json.dump(shape, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
