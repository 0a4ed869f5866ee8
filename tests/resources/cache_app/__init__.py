"""A small user package for the end-to-end cache tests: tasks, the helpers they call, the
constants they read and a pipeline that reads data files. Tests copy it to a temporary folder,
edit one thing and run it again in a fresh process (``python -m cache_app``), so it uses
relative imports only and keeps its data files beside its code."""
