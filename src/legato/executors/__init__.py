"""Executors carry task calls out and outcomes back: inline, threads, processes."""
