"""Pure data: ids, specs, states, events, calls and outcomes."""
