"""A small user package for the code-fingerprint tests: tasks, the helpers they call and the
constants they read. Tests copy it under new names and edit one line at a time, so it uses
relative imports only."""
