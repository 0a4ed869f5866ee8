"""Pure data: ids, specs, states, events, calls and outcomes; and the task fold, what an
event does to a task's record."""
