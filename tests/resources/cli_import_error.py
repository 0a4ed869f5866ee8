"""A pipeline module that fails while it is imported."""

raise RuntimeError("cannot import me")
