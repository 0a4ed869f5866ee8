"""One task attempt inside a worker: input binding, context, the user-code error boundary."""
