"""Durable state: the run store (SQL or in memory) and the artifact store."""
