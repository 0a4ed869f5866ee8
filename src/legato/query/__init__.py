"""The read model: what the edges (the API server, the CLI, the Python client) show about
runs, as pure functions of a run store and plain arguments. No web framework is imported
here (an import-linter contract keeps it so), and nothing is unpickled: outputs are
described by their artifact metadata."""
