"""The engine: plan, rules, reducer and scheduler (pure), and the driver (the only I/O)."""
