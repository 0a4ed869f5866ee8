"""The engine: plan, rules, reducer (pure) and the loop (the only I/O)."""
